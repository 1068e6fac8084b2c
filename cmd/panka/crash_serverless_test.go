package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/panka/panka/backend"
)

// TestCrashRecoveryServerless runs the AWS crash test on examples/serverless: its first,
// uninterrupted apply is the example's end-to-end check (every resource and part found through
// the SDK with its tags, the next plan empty), its first destroy leaves nothing behind (no
// function, role, log group, schedule, permission, API, distribution or origin access control
// either), and the kills at random points of apply and destroy leave no duplicate and no
// orphan.
func TestCrashRecoveryServerless(t *testing.T) {
	crashAWS(t, serverlessStack)
}

// serverlessStack copies examples/serverless into dir and lists what its dev environment makes.
func serverlessStack(t *testing.T, dir string) awsCrashStack {
	t.Helper()
	if err := os.CopyFS(dir, os.DirFS(mustAbs("../../examples/serverless"))); err != nil {
		t.Fatal(err)
	}
	p := "orders-dev-"
	fn := p + "orders-handler"
	return awsCrashStack{
		config: dir,
		key:    backend.Key{Tenant: "default", Stack: "orders", Environment: "dev"},
		prefix: p,
		flags:  []string{"--env", "dev"},
		want: []awsWant{
			{address: "orders/api", kind: "APIGateway", name: p + "orders-api",
				parts: []string{"integration " + fn, "route GET /orders/{id}", "route POST /orders", "stage $default"}},
			{address: "orders/audit", kind: "SQS", name: p + "orders-audit"},
			{address: "orders/bus", kind: "EventBridge", name: p + "orders-bus", parts: []string{"rule order-placed"}},
			{address: "orders/events", kind: "SNS", name: p + "orders-events", parts: []string{"sqs " + p + "orders-audit"}},
			{address: "orders/handler", kind: "Lambda", name: fn, parts: []string{
				"log-group /aws/lambda/" + fn, "permission panka-apigw-" + p + "orders-api",
				"role " + fn + "-lambda", "role " + fn + "-scheduler", "schedule " + fn + "-schedule-0",
			}},
			{address: "orders/orders", kind: "DynamoDB", name: p + "orders-orders"},
			{address: "orders/work", kind: "SQS", name: p + "orders-work"},
			{address: "orders/work-dlq", kind: "SQS", name: p + "orders-work-dlq"},
			{address: "web/assets", kind: "S3", name: p + "web-assets"},
			{address: "web/cdn", kind: "CloudFront", name: p + "web-cdn", parts: []string{"oac " + p + "web-cdn", "origin assets"}},
		},
		targetable: []string{"orders/api", "orders/bus", "web/cdn"},
	}
}

// The parts of a function are found by their names, which start with the function's (the
// provider cuts long names with a hash; the example's are short): its roles
// (FUNCTION-lambda, FUNCTION-scheduler), its log group (/aws/lambda/FUNCTION) and its schedules
// (FUNCTION-schedule-N); and on the function itself: its event source mappings, its URL and the
// statements of its resource policy (the permissions an API gives itself).
var (
	roleSuffix     = regexp.MustCompile(`-(lambda|scheduler)$`)
	scheduleSuffix = regexp.MustCompile(`-schedule-\d+$`)
)

func listFunctions(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	c := lambda.NewFromConfig(cfg)
	fns := map[string]*awsRes{}
	var names []string
	p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListFunctions: %w", err)
		}
		for _, f := range page.Functions {
			name := aws.ToString(f.FunctionName)
			tags, err := c.ListTags(ctx, &lambda.ListTagsInput{Resource: f.FunctionArn})
			if isGone(err) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("Lambda ListTags %s: %w", name, err)
			}
			if !scope.ours(name, tags.Tags) {
				continue
			}
			r := &awsRes{kind: "Lambda", name: name, id: name, tags: tags.Tags}
			if err := functionParts(ctx, c, r); err != nil {
				return nil, nil, err
			}
			fns[name] = r
			names = append(names, name)
		}
	}
	var stray []string
	// part adds a part named by a resource whose name starts with the function's, or reports it
	// stray if its function is gone.
	part := func(fn, what, name string) {
		if r := fns[fn]; r != nil {
			r.parts = append(r.parts, what+" "+name)
		} else if scope.ours(name, nil) || scope.ours(fn, nil) {
			stray = append(stray, fmt.Sprintf("%s %s of function %s, which does not exist", what, name, fn))
		}
	}
	roles := iam.NewListRolesPaginator(iam.NewFromConfig(cfg), &iam.ListRolesInput{})
	for roles.HasMorePages() {
		page, err := roles.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListRoles: %w", err)
		}
		for _, r := range page.Roles {
			name := aws.ToString(r.RoleName)
			if !scope.ours(name, nil) || !roleSuffix.MatchString(name) {
				continue // not a function's role (a container's: listContainers)
			}
			fn := roleSuffix.ReplaceAllString(name, "")
			if strings.HasSuffix(name, "-scheduler") && fns[fn] == nil && scheduleOf(ctx, cfg, fn) {
				continue // a CronJob's (listContainers)
			}
			part(fn, "role", name)
		}
	}
	groups := cloudwatchlogs.NewDescribeLogGroupsPaginator(cloudwatchlogs.NewFromConfig(cfg),
		&cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/")})
	for groups.HasMorePages() {
		page, err := groups.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("DescribeLogGroups: %w", err)
		}
		for _, g := range page.LogGroups {
			if name := aws.ToString(g.LogGroupName); scope.ours(strings.TrimPrefix(name, "/aws/lambda/"), nil) {
				part(strings.TrimPrefix(name, "/aws/lambda/"), "log-group", name)
			}
		}
	}
	schedules := scheduler.NewListSchedulesPaginator(scheduler.NewFromConfig(cfg), &scheduler.ListSchedulesInput{})
	for schedules.HasMorePages() {
		page, err := schedules.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListSchedules: %w", err)
		}
		for _, s := range page.Schedules {
			if name := aws.ToString(s.Name); scope.ours(name, nil) && scheduleSuffix.MatchString(name) {
				part(scheduleSuffix.ReplaceAllString(name, ""), "schedule", name)
			}
		}
	}
	var out []awsRes
	for _, name := range names {
		slices.Sort(fns[name].parts)
		out = append(out, *fns[name])
	}
	return out, stray, nil
}

// functionParts adds to r the parts that live on its function: mappings, URL, permissions.
func functionParts(ctx context.Context, c *lambda.Client, r *awsRes) error {
	fn := aws.String(r.name)
	maps, err := c.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: fn})
	if err != nil && !isGone(err) {
		return fmt.Errorf("ListEventSourceMappings %s: %w", r.name, err)
	}
	if err == nil {
		for _, m := range maps.EventSourceMappings {
			source := aws.ToString(m.EventSourceArn)
			if table, _, stream := strings.Cut(source, "/stream/"); stream {
				// A table's stream, whose label is the time it began: named by the table.
				source = "table " + table[strings.LastIndex(table, "/")+1:]
			} else {
				source = arnName(source)
			}
			r.parts = append(r.parts, "mapping "+source)
		}
	}
	if _, err := c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: fn}); err == nil {
		r.parts = append(r.parts, "url")
	} else if !isGone(err) {
		return fmt.Errorf("GetFunctionUrlConfig %s: %w", r.name, err)
	}
	pol, err := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: fn})
	if isGone(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("Lambda GetPolicy %s: %w", r.name, err)
	}
	var doc struct{ Statement []struct{ Sid string } }
	if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil {
		return fmt.Errorf("policy of %s: %w", r.name, err)
	}
	for _, s := range doc.Statement {
		r.parts = append(r.parts, "permission "+s.Sid)
	}
	return nil
}

func listAPIs(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	c := apigatewayv2.NewFromConfig(cfg)
	var out []awsRes
	in := &apigatewayv2.GetApisInput{}
	for {
		page, err := c.GetApis(ctx, in)
		if err != nil {
			return nil, nil, fmt.Errorf("GetApis: %w", err)
		}
		for _, a := range page.Items {
			name := aws.ToString(a.Name)
			if !scope.ours(name, a.Tags) {
				continue
			}
			r := awsRes{kind: "APIGateway", name: name, id: aws.ToString(a.ApiId), tags: a.Tags}
			routes, err := c.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: a.ApiId})
			if err != nil {
				return nil, nil, fmt.Errorf("GetRoutes %s: %w", name, err)
			}
			for _, rt := range routes.Items {
				r.parts = append(r.parts, "route "+aws.ToString(rt.RouteKey))
			}
			stages, err := c.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: a.ApiId})
			if err != nil {
				return nil, nil, fmt.Errorf("GetStages %s: %w", name, err)
			}
			for _, st := range stages.Items {
				r.parts = append(r.parts, "stage "+aws.ToString(st.StageName))
			}
			ints, err := c.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: a.ApiId})
			if err != nil {
				return nil, nil, fmt.Errorf("GetIntegrations %s: %w", name, err)
			}
			for _, it := range ints.Items {
				uri := aws.ToString(it.IntegrationUri)
				if it.ConnectionType == agtypes.ConnectionTypeVpcLink {
					// A listener's ARN: .../listener/app/LB-NAME/LB-ID/LISTENER-ID.
					parts := strings.Split(uri, "/")
					r.parts = append(r.parts, "integration vpc-link "+parts[len(parts)-3])
					continue
				}
				r.parts = append(r.parts, "integration "+arnName(uri))
			}
			slices.Sort(r.parts)
			out = append(out, r)
		}
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	// VPC links, named as their API: its parts, or strays when the API is gone.
	links, err := c.GetVpcLinks(ctx, &apigatewayv2.GetVpcLinksInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("GetVpcLinks: %w", err)
	}
	var stray []string
	for _, l := range links.Items {
		name := aws.ToString(l.Name)
		if !scope.ours(name, l.Tags) {
			continue
		}
		i := slices.IndexFunc(out, func(r awsRes) bool { return r.name == name })
		if i < 0 {
			stray = append(stray, fmt.Sprintf("VPC link %s (%s), whose API is gone", name, aws.ToString(l.VpcLinkId)))
			continue
		}
		out[i].parts = append(out[i].parts, "vpc-link "+name)
		slices.Sort(out[i].parts)
	}
	return out, stray, nil
}

func listDistributions(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	c := cloudfront.NewFromConfig(cfg)
	byName := map[string]*awsRes{}
	var names []string
	p := cloudfront.NewListDistributionsPaginator(c, &cloudfront.ListDistributionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListDistributions: %w", err)
		}
		if page.DistributionList == nil {
			continue
		}
		for _, d := range page.DistributionList.Items {
			name := aws.ToString(d.Comment)
			out, err := c.ListTagsForResource(ctx, &cloudfront.ListTagsForResourceInput{Resource: d.ARN})
			if isGone(err) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("CloudFront ListTagsForResource %s: %w", name, err)
			}
			tags := map[string]string{}
			if out.Tags != nil {
				for _, tag := range out.Tags.Items {
					tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
				}
			}
			if !scope.ours(name, tags) {
				continue
			}
			r := &awsRes{kind: "CloudFront", name: name, id: aws.ToString(d.Id), tags: tags}
			if d.Origins != nil {
				for _, o := range d.Origins.Items {
					r.parts = append(r.parts, "origin "+aws.ToString(o.Id))
				}
			}
			byName[name] = r
			names = append(names, name)
		}
	}
	var stray []string
	oacs := cloudfront.NewListOriginAccessControlsPaginator(c, &cloudfront.ListOriginAccessControlsInput{})
	for oacs.HasMorePages() {
		page, err := oacs.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListOriginAccessControls: %w", err)
		}
		if page.OriginAccessControlList == nil {
			continue
		}
		for _, o := range page.OriginAccessControlList.Items {
			name := aws.ToString(o.Name)
			if r := byName[name]; r != nil {
				r.parts = append(r.parts, "oac "+name)
			} else if scope.ours(name, nil) {
				stray = append(stray, fmt.Sprintf("origin access control %s of distribution %s, which does not exist", aws.ToString(o.Id), name))
			}
		}
	}
	var out []awsRes
	for _, name := range names {
		slices.Sort(byName[name].parts)
		out = append(out, *byName[name])
	}
	return out, stray, nil
}

// scheduleOf reports whether the schedule name exists (a CronJob's).
func scheduleOf(ctx context.Context, cfg aws.Config, name string) bool {
	_, err := scheduler.NewFromConfig(cfg).GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name)})
	return err == nil
}
