package localaws

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// IAM role tags and AWS-managed policies. Kumo v0.33.1 has TagRole (GetRole reports the tags)
// but no ListRoleTags or UntagRole (InvalidAction), and no AWS-managed policy at all: GetPolicy
// and AttachRolePolicy of arn:aws:iam::aws:policy/... answer NoSuchEntity, and it has no
// GetPolicyVersion for any policy.
//
// The layer owns role tags: CreateRole's tags are kept by the layer (kumo gets the request
// without them), TagRole, UntagRole and ListRoleTags are answered from them (NoSuchEntity for a
// role kumo does not have), GetRole's answer carries them, and DeleteRole forgets them. A role
// the layer has no record of (made before the layer kept tags) starts from the tags kumo has.
//
// The layer also knows the AWS-managed policies in awsManagedPolicies: GetPolicy and
// GetPolicyVersion of them are answered from the table, AttachRolePolicy and DetachRolePolicy
// of them are kept by the layer (per role), ListAttachedRolePolicies adds them to kumo's answer,
// and DeleteRole of a role with one attached fails DeleteConflict as IAM's does. An AWS-managed
// ARN not in the table is NoSuchEntity, as kumo says. Customer policies stay kumo's.

const iamGapsFile = "panka-gaps-iam.json"

const iamXMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"

// awsManagedPrefix begins the ARN of every AWS-managed IAM policy.
const awsManagedPrefix = "arn:aws:iam::aws:policy"

// managedPolicy is an AWS-managed policy as the layer answers it (version v1 of the document:
// the layer does not track AWS's version history).
type managedPolicy struct {
	Path, Description, Document string
}

// awsManagedPolicies are the AWS-managed policies ECS and Lambda deployers attach, by name.
var awsManagedPolicies = map[string]managedPolicy{
	"AWSLambdaBasicExecutionRole": {"/service-role/", "Provides write permissions to CloudWatch Logs.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`},
	"AWSLambdaSQSQueueExecutionRole": {"/service-role/", "Provides receive message, delete message, and read attribute access to SQS queues, and write permissions to CloudWatch logs.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes","logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`},
	"AWSLambdaDynamoDBExecutionRole": {"/service-role/", "Provides list and read access to DynamoDB streams and write permissions to CloudWatch logs.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator","dynamodb:ListStreams","logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`},
	"AWSLambdaKinesisExecutionRole": {"/service-role/", "Provides list and read access to Kinesis streams and write permissions to CloudWatch logs.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kinesis:DescribeStream","kinesis:DescribeStreamSummary","kinesis:GetRecords","kinesis:GetShardIterator","kinesis:ListShards","kinesis:ListStreams","kinesis:SubscribeToShard","logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`},
	"AWSLambdaVPCAccessExecutionRole": {"/service-role/", "Provides minimum permissions for a Lambda function to execute while accessing a resource within a VPC.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents","ec2:CreateNetworkInterface","ec2:DescribeNetworkInterfaces","ec2:DescribeSubnets","ec2:DeleteNetworkInterface","ec2:AssignPrivateIpAddresses","ec2:UnassignPrivateIpAddresses"],"Resource":"*"}]}`},
	"AmazonECSTaskExecutionRolePolicy": {"/service-role/", "Provides access to other AWS service resources that are required to run Amazon ECS tasks",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`},
	"AWSXRayDaemonWriteAccess": {"/", "Allow the AWS X-Ray Daemon to relay raw trace segments data to the service's API and retrieve sampling data (rules, targets, etc.) to be used by the X-Ray SDK.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["xray:PutTraceSegments","xray:PutTelemetryRecords","xray:GetSamplingRules","xray:GetSamplingTargets","xray:GetSamplingStatisticSummaries"],"Resource":"*"}]}`},
	"CloudWatchAgentServerPolicy": {"/", "Permissions required to use AmazonCloudWatchAgent on servers",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudwatch:PutMetricData","ec2:DescribeVolumes","ec2:DescribeTags","logs:PutLogEvents","logs:DescribeLogStreams","logs:DescribeLogGroups","logs:CreateLogStream","logs:CreateLogGroup"],"Resource":"*"}]}`},
}

// managedPolicyARN returns the ARN of the AWS-managed policy name.
func managedPolicyARN(name string) string {
	return awsManagedPrefix + awsManagedPolicies[name].Path + name
}

// lookupManaged returns the name and policy of an AWS-managed policy ARN in the table.
func lookupManaged(arn string) (string, managedPolicy, bool) {
	if !strings.HasPrefix(arn, awsManagedPrefix+"/") {
		return "", managedPolicy{}, false
	}
	name := arn[strings.LastIndex(arn, "/")+1:]
	p, ok := awsManagedPolicies[name]
	if !ok || managedPolicyARN(name) != arn {
		return "", managedPolicy{}, false
	}
	return name, p, true
}

type iamRole struct {
	Tags    map[string]string `json:"tags"`
	Managed []string          `json:"managed,omitempty"` // attached AWS-managed policy ARNs
}

type iamGapState struct {
	mu sync.Mutex
	// edit serialises the layer's read-modify-write changes of a role (TagRole, UntagRole,
	// Attach/DetachRolePolicy of a managed policy), which ask kumo in between.
	edit  sync.Mutex
	dir   string
	Roles map[string]*iamRole `json:"roles"` // by role name
}

var iamGaps = newIAMGapState(os.Getenv("KUMO_DATA_DIR"))

func newIAMGapState(dir string) *iamGapState {
	g := &iamGapState{dir: dir}
	loadGapFile(dir, iamGapsFile, g)
	if g.Roles == nil {
		g.Roles = map[string]*iamRole{}
	}
	return g
}

// role returns a copy of the record of the role name, or nil.
func (g *iamGapState) role(name string) *iamRole {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.Roles[name]
	if r == nil {
		return nil
	}
	return &iamRole{Tags: maps.Clone(r.Tags), Managed: slices.Clone(r.Managed)}
}

// set records the role name, or forgets it (r nil).
func (g *iamGapState) set(name string, r *iamRole) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r == nil {
		delete(g.Roles, name)
	} else {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		g.Roles[name] = r
	}
	return saveGapFile(g.dir, iamGapsFile, g)
}

// operationReaders name the requests of a service whose gap handlers read the request
// themselves, by the service's signing name: they return the operation ("service.Operation",
// "" for one the layer does not answer) and the body, leaving r.Body readable.
var operationReaders = map[string]func(*http.Request) (string, []byte, error){}

// queryOperation names a Query-protocol request by its Action.
func queryOperation(service string) func(*http.Request) (string, []byte, error) {
	return func(r *http.Request) (string, []byte, error) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return "", nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", nil, err
		}
		for k, v := range r.URL.Query() { // a GET request carries its form in the URL
			if !form.Has(k) {
				form[k] = v
			}
		}
		if form.Get("Action") == "" {
			return "", body, nil
		}
		return service + "." + form.Get("Action"), []byte(form.Encode()), nil
	}
}

func init() {
	operationReaders["iam"] = queryOperation("iam")
	for op, h := range map[string]gapHandler{
		"CreateRole":               {before: iamCreateRoleBefore, after: iamCreateRoleAfter},
		"GetRole":                  {after: iamGetRoleAfter},
		"DeleteRole":               {answer: iamDeleteRole},
		"TagRole":                  {answer: iamTagRole},
		"UntagRole":                {answer: iamUntagRole},
		"ListRoleTags":             {answer: iamListRoleTags},
		"GetPolicy":                {answer: iamGetPolicy},
		"GetPolicyVersion":         {answer: iamGetPolicyVersion},
		"AttachRolePolicy":         {answer: iamAttachRolePolicy},
		"DetachRolePolicy":         {answer: iamDetachRolePolicy},
		"ListAttachedRolePolicies": {after: iamListAttachedRolePoliciesAfter},
	} {
		gapHandlers["iam."+op] = h
	}
}

func parseForm(body []byte) url.Values {
	form, _ := url.ParseQuery(string(body))
	return form
}

func iamCreateRoleBefore(_ context.Context, _ *gapServer, body []byte) ([]byte, any, error) {
	form := parseForm(body)
	tags := formTags(form)
	for k := range form {
		if strings.HasPrefix(k, "Tags.") {
			delete(form, k)
		}
	}
	return []byte(form.Encode()), tags, nil
}

func iamCreateRoleAfter(_ *gapServer, body, resp []byte, _ http.Header, state any) ([]byte, error) {
	tags := state.(map[string]string)
	if err := iamGaps.set(parseForm(body).Get("RoleName"), &iamRole{Tags: tags}); err != nil {
		return nil, err
	}
	return withRoleTags(resp, tags), nil
}

var roleTagsRE = regexp.MustCompile(`(?s)<Tags>.*?</Tags>`)

// withRoleTags replaces the tags of the Role element of kumo's answer with tags.
func withRoleTags(resp []byte, tags map[string]string) []byte {
	i := bytes.Index(resp, []byte("</Role>"))
	if i < 0 {
		return nil
	}
	head := roleTagsRE.ReplaceAll(resp[:i], nil)
	var b bytes.Buffer
	b.Write(head)
	if len(tags) > 0 {
		b.WriteString("<Tags>")
		writeTagMembers(&b, tags)
		b.WriteString("</Tags>")
	}
	b.Write(resp[i:])
	return b.Bytes()
}

func writeTagMembers(b *bytes.Buffer, tags map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		b.WriteString("<member><Key>")
		_ = xml.EscapeText(b, []byte(k))
		b.WriteString("</Key><Value>")
		_ = xml.EscapeText(b, []byte(tags[k]))
		b.WriteString("</Value></member>")
	}
}

func iamGetRoleAfter(_ *gapServer, body, resp []byte, _ http.Header, _ any) ([]byte, error) {
	r := iamGaps.role(parseForm(body).Get("RoleName"))
	if r == nil {
		return nil, nil // kumo's own tags
	}
	return withRoleTags(resp, r.Tags), nil
}

// kumoRole asks kumo for the role name: its tags, or exists false.
func (s *gapServer) kumoRole(ctx context.Context, name string) (tags map[string]string, exists bool, err error) {
	form := url.Values{"Action": {"GetRole"}, "Version": {"2010-05-08"}, "RoleName": {name}}
	status, data, err := s.askKumo(ctx, "iam", "", []byte(form.Encode()))
	switch {
	case err != nil:
		return nil, false, err
	case status == http.StatusNotFound || bytes.Contains(data, []byte("NoSuchEntity")):
		return nil, false, nil
	case status != http.StatusOK:
		return nil, false, fmt.Errorf("GetRole %s: kumo answered %d %s", name, status, bytes.TrimSpace(data))
	}
	var out struct {
		Tags []struct{ Key, Value string } `xml:"GetRoleResult>Role>Tags>member"`
	}
	if err := xml.Unmarshal(data, &out); err != nil {
		return nil, false, err
	}
	tags = map[string]string{}
	for _, t := range out.Tags {
		tags[t.Key] = t.Value
	}
	return tags, true, nil
}

// roleRecord returns the layer's record of an existing role (started from kumo's tags if the
// layer has none), or answers NoSuchEntity and returns nil.
func (s *gapServer) roleRecord(w http.ResponseWriter, r *http.Request, name string) *iamRole {
	kumoTags, exists, err := s.kumoRole(r.Context(), name)
	switch {
	case err != nil:
		writeIAMError(w, http.StatusInternalServerError, "ServiceFailure", "local aws: "+err.Error())
		return nil
	case !exists:
		writeIAMError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The role with name %s cannot be found.", name))
		return nil
	}
	rec := iamGaps.role(name)
	if rec == nil {
		rec = &iamRole{Tags: kumoTags}
	}
	return rec
}

func iamTagRole(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	form := parseForm(body)
	s.changeRole(w, r, form.Get("RoleName"), "TagRole", func(rec *iamRole) { maps.Copy(rec.Tags, formTags(form)) })
}

func iamUntagRole(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	form := parseForm(body)
	s.changeRole(w, r, form.Get("RoleName"), "UntagRole", func(rec *iamRole) {
		for i := 1; form.Has(fmt.Sprintf("TagKeys.member.%d", i)); i++ {
			delete(rec.Tags, form.Get(fmt.Sprintf("TagKeys.member.%d", i)))
		}
	})
}

// changeRole changes the layer's record of an existing role and answers op with an empty result.
func (s *gapServer) changeRole(w http.ResponseWriter, r *http.Request, name, op string, change func(*iamRole)) {
	iamGaps.edit.Lock()
	defer iamGaps.edit.Unlock()
	rec := s.roleRecord(w, r, name)
	if rec == nil {
		return
	}
	change(rec)
	if err := iamGaps.set(name, rec); err != nil {
		writeIAMError(w, http.StatusInternalServerError, "ServiceFailure", "local aws: "+err.Error())
		return
	}
	writeIAM(w, op, "")
}

func iamListRoleTags(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	rec := s.roleRecord(w, r, parseForm(body).Get("RoleName"))
	if rec == nil {
		return
	}
	var b bytes.Buffer
	b.WriteString("<Tags>")
	writeTagMembers(&b, rec.Tags)
	b.WriteString("</Tags><IsTruncated>false</IsTruncated>")
	writeIAM(w, "ListRoleTags", b.String())
}

// iamDeleteRole refuses to delete a role with an AWS-managed policy attached, passes the rest
// to kumo, and forgets the role once kumo has deleted it.
func iamDeleteRole(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	name := parseForm(body).Get("RoleName")
	if rec := iamGaps.role(name); rec != nil && len(rec.Managed) > 0 {
		writeIAMError(w, http.StatusConflict, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	s.proxy.ServeHTTP(sw, r)
	if sw.status/100 == 2 {
		_ = iamGaps.set(name, nil)
	}
}

func iamGetPolicy(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	arn := parseForm(body).Get("PolicyArn")
	if !strings.HasPrefix(arn, awsManagedPrefix+"/") {
		s.proxyIAM(w, r, body)
		return
	}
	name, p, ok := lookupManaged(arn)
	if !ok {
		writeIAMError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("Policy %s does not exist or is not attachable.", arn))
		return
	}
	var b bytes.Buffer
	b.WriteString("<Policy><PolicyName>" + name + "</PolicyName><PolicyId>" + managedPolicyID(name) + "</PolicyId><Arn>")
	_ = xml.EscapeText(&b, []byte(arn))
	fmt.Fprintf(&b, "</Arn><Path>%s</Path><DefaultVersionId>v1</DefaultVersionId><AttachmentCount>%d</AttachmentCount>", p.Path, iamGaps.attachments(arn))
	b.WriteString("<PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount><IsAttachable>true</IsAttachable><Description>")
	_ = xml.EscapeText(&b, []byte(p.Description))
	b.WriteString("</Description><CreateDate>2015-04-09T15:03:43Z</CreateDate><UpdateDate>2015-04-09T15:03:43Z</UpdateDate></Policy>")
	writeIAM(w, "GetPolicy", b.String())
}

// managedPolicyID is a stable policy ID for the AWS-managed policy name.
func managedPolicyID(name string) string {
	id := strings.ToUpper(strings.ReplaceAll(uuid.NewSHA1(uuid.NameSpaceURL, []byte(name)).String(), "-", ""))
	return "ANPA" + id[:17]
}

func iamGetPolicyVersion(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	form := parseForm(body)
	arn := form.Get("PolicyArn")
	if !strings.HasPrefix(arn, awsManagedPrefix+"/") {
		s.proxy.ServeHTTP(w, r) // kumo has no GetPolicyVersion: its error says so
		return
	}
	_, p, ok := lookupManaged(arn)
	if !ok || form.Get("VersionId") != "v1" {
		writeIAMError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("Policy %s version %s does not exist or is not attachable.", arn, form.Get("VersionId")))
		return
	}
	var b bytes.Buffer
	b.WriteString("<PolicyVersion><Document>")
	_ = xml.EscapeText(&b, []byte(url.QueryEscape(p.Document))) // IAM answers the document URL-encoded
	b.WriteString("</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>2015-04-09T15:03:43Z</CreateDate></PolicyVersion>")
	writeIAM(w, "GetPolicyVersion", b.String())
}

func (g *iamGapState) attachments(arn string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, r := range g.Roles {
		if slices.Contains(r.Managed, arn) {
			n++
		}
	}
	return n
}

func iamAttachRolePolicy(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	s.changeManaged(w, r, body, "AttachRolePolicy", func(rec *iamRole, arn string) bool {
		if !slices.Contains(rec.Managed, arn) {
			rec.Managed = append(rec.Managed, arn)
		}
		return true
	})
}

func iamDetachRolePolicy(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	s.changeManaged(w, r, body, "DetachRolePolicy", func(rec *iamRole, arn string) bool {
		i := slices.Index(rec.Managed, arn)
		if i < 0 {
			return false
		}
		rec.Managed = slices.Delete(rec.Managed, i, i+1)
		return true
	})
}

// changeManaged answers an Attach/DetachRolePolicy of an AWS-managed policy (change false: it
// is not attached); kumo answers the rest.
func (s *gapServer) changeManaged(w http.ResponseWriter, r *http.Request, body []byte, op string, change func(*iamRole, string) bool) {
	form := parseForm(body)
	arn, name := form.Get("PolicyArn"), form.Get("RoleName")
	if !strings.HasPrefix(arn, awsManagedPrefix+"/") {
		s.proxy.ServeHTTP(w, r)
		return
	}
	iamGaps.edit.Lock()
	defer iamGaps.edit.Unlock()
	rec := s.roleRecord(w, r, name)
	if rec == nil {
		return
	}
	if _, _, ok := lookupManaged(arn); !ok {
		writeIAMError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("Policy %s does not exist or is not attachable.", arn))
		return
	}
	if !change(rec, arn) {
		writeIAMError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("Policy %s was not found.", arn))
		return
	}
	if err := iamGaps.set(name, rec); err != nil {
		writeIAMError(w, http.StatusInternalServerError, "ServiceFailure", "local aws: "+err.Error())
		return
	}
	writeIAM(w, op, "")
}

func iamListAttachedRolePoliciesAfter(_ *gapServer, body, resp []byte, _ http.Header, _ any) ([]byte, error) {
	rec := iamGaps.role(parseForm(body).Get("RoleName"))
	if rec == nil || len(rec.Managed) == 0 {
		return nil, nil
	}
	var out struct {
		Policies []struct {
			Name string `xml:"PolicyName"`
			ARN  string `xml:"PolicyArn"`
		} `xml:"ListAttachedRolePoliciesResult>AttachedPolicies>member"`
	}
	if err := xml.Unmarshal(resp, &out); err != nil {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	var b bytes.Buffer
	b.WriteString("<AttachedPolicies>")
	add := func(name, arn string) {
		b.WriteString("<member><PolicyName>")
		_ = xml.EscapeText(&b, []byte(name))
		b.WriteString("</PolicyName><PolicyArn>")
		_ = xml.EscapeText(&b, []byte(arn))
		b.WriteString("</PolicyArn></member>")
	}
	for _, p := range out.Policies {
		add(p.Name, p.ARN)
	}
	for _, arn := range rec.Managed {
		add(arn[strings.LastIndex(arn, "/")+1:], arn)
	}
	b.WriteString("</AttachedPolicies><IsTruncated>false</IsTruncated>")
	return iamDocument("ListAttachedRolePolicies", b.String()), nil
}

func iamDocument(op, result string) []byte {
	return fmt.Appendf(nil, "%s<%sResponse xmlns=%q><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>",
		xml.Header, op, iamXMLNS, op, result, op, uuid.NewString(), op)
}

func writeIAM(w http.ResponseWriter, op, result string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(iamDocument(op, result))
}

func writeIAMError(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s<ErrorResponse xmlns=%q><Error><Type>Sender</Type><Code>%s</Code><Message>", xml.Header, iamXMLNS, code)
	_ = xml.EscapeText(&b, []byte(msg))
	id := uuid.NewString()
	fmt.Fprintf(&b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>", id)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// ---------------------------------------------------------------------------------------------
// Account IDs: kumo v0.33.1's STS (and Lambda, SQS, SNS, EC2, ...) say account 000000000000;
// its IAM, Scheduler and MSK name their ARNs with 123456789012. The layer answers with STS's
// account in the ARN fields of IAM's and Scheduler's answers (the Arn, PolicyArn and
// OpenIDConnectProviderArn elements of IAM, the Arn, ScheduleArn and ScheduleGroupArn fields
// of Scheduler; never a policy document, never a schedule's target) and maps IAM ARNs given in
// requests back to kumo's account before kumo sees them (the ARN parameters only; tags and
// documents are left alone). Scheduler requests name schedules
// and groups by name, except the tagging operations, which the layer answers by group name.

const (
	// stsAccount is the account kumo's STS reports, and the layer's answers use.
	stsAccount = "000000000000"
	// kumoAccount is the account kumo's IAM, Scheduler and MSK put in their ARNs.
	kumoAccount = "123456789012"
)

var iamAnswerARN = regexp.MustCompile(`<(Arn|PolicyArn|OpenIDConnectProviderArn)>arn:aws:iam::` + kumoAccount + `:`)

// iamAccountAnswer gives the IAM ARNs of an IAM answer STS's account.
func iamAccountAnswer(resp []byte) []byte {
	return iamAnswerARN.ReplaceAll(resp, []byte(`<$1>arn:aws:iam::`+stsAccount+`:`))
}

// iamAccountRequest maps the IAM ARNs of STS's account in a request's ARN parameters (PolicyArn,
// OpenIDConnectProviderArn, PermissionsBoundary, ...) to kumo's account. Tags and documents are
// the client's data: left alone.
func iamAccountRequest(form url.Values) bool {
	changed := false
	for k, vs := range form {
		if !strings.HasSuffix(k, "Arn") && k != "PermissionsBoundary" {
			continue
		}
		for i, v := range vs {
			if rest, ok := strings.CutPrefix(v, "arn:aws:iam::"+stsAccount+":"); ok {
				vs[i] = "arn:aws:iam::" + kumoAccount + ":" + rest
				changed = true
			}
		}
	}
	return changed
}

// withAccountAnswer makes h give its answers' ARNs STS's account with rewrite: after h's own
// after, if any (answer handlers write their own answers).
func withAccountAnswer(h gapHandler, rewrite func([]byte) []byte) gapHandler {
	if h.answer != nil {
		return h
	}
	after := h.after
	h.after = func(s *gapServer, req, resp []byte, hdr http.Header, state any) ([]byte, error) {
		if after != nil {
			out, err := after(s, req, resp, hdr, state)
			if err != nil {
				return nil, err
			}
			if out != nil {
				resp = out
			}
		}
		return rewrite(resp), nil
	}
	return h
}

// kumoIAMActions are the IAM actions kumo v0.33.1 answers (its dispatcher's table): each answer
// goes through the layer to give its ARNs STS's account.
var kumoIAMActions = strings.Fields(`CreateUser DeleteUser GetUser ListUsers CreateRole DeleteRole GetRole ListRoles
	UpdateRole UpdateAssumeRolePolicy TagRole CreatePolicy DeletePolicy GetPolicy ListPolicies AttachUserPolicy
	DetachUserPolicy AttachRolePolicy DetachRolePolicy CreateAccessKey DeleteAccessKey ListAccessKeys PutRolePolicy
	GetRolePolicy DeleteRolePolicy ListRolePolicies ListAttachedRolePolicies ListInstanceProfilesForRole
	CreateOpenIDConnectProvider GetOpenIDConnectProvider DeleteOpenIDConnectProvider ListOpenIDConnectProviders
	UpdateOpenIDConnectProviderThumbprint CreateInstanceProfile DeleteInstanceProfile GetInstanceProfile
	ListInstanceProfiles AddRoleToInstanceProfile RemoveRoleFromInstanceProfile`)

func init() {
	for _, op := range kumoIAMActions {
		gapHandlers["iam."+op] = withAccountAnswer(gapHandlers["iam."+op], iamAccountAnswer)
	}
	read := operationReaders["iam"]
	operationReaders["iam"] = func(r *http.Request) (string, []byte, error) {
		op, body, err := read(r)
		if err != nil || op == "" {
			return op, body, err
		}
		form := parseForm(body)
		if iamAccountRequest(form) {
			body = []byte(form.Encode())
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Set("Content-Length", fmt.Sprint(len(body)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Method = http.MethodPost
			r.URL.RawQuery = ""
		}
		return op, body, nil
	}
}

// proxyIAM passes an IAM request the layer does not answer to kumo, with STS's account in the
// ARNs of its answer.
func (s *gapServer) proxyIAM(w http.ResponseWriter, r *http.Request, body []byte) {
	status, data, err := s.askKumo(r.Context(), "iam", "", body)
	if err != nil {
		writeIAMError(w, http.StatusBadGateway, "ServiceFailure", "local aws: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(iamAccountAnswer(data))
}
