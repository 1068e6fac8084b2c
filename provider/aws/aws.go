// Package aws is the provider.Provider that deploys to AWS with aws-sdk-go-v2.
//
// A Provider is built from an aws.Config (the SDK's own loading chain: profiles, AWS_REGION,
// AWS_ENDPOINT_URL or BaseEndpoint, so the same code talks to AWS and to an emulator) and a
// target region and account. It supports the kinds in its table (kinds.go), each in a file of
// its own (sqs.go, sns.go, s3.go, dynamodb.go, eventbridge.go, lambda.go, apigateway.go,
// cloudfront.go, loadbalancer.go, ecs.go, service.go, cronjob.go, efs.go, ebs.go, rds.go, docdb.go; the network kinds in network.go and securitygroup.go): a kind is a small value with create, read, lookup, update, tag and delete
// against the SDK clients, nothing more. What every kind shares is here and beside it:
//
//   - Names (names.go): a resource is created under the engine's deterministic physical name
//     (provider.Resource.Name). A reference in a spec to another component ("dlq", or
//     "service/dlq") is resolved through the same naming rule, so a crashed run finds
//     everything again by name, and read back as the component's address from its panka:address
//     tag.
//   - Tags (tags.go): every tag the engine gives (panka:tenant, panka:stack, panka:environment,
//     panka:address, and panka:lineage where the engine sets it, plus the component's labels)
//     goes on the resource at create; Update makes the live tags exactly r.Tags (tags the cloud
//     manages, "aws:*", are left alone), or leaves them when r.Tags is nil.
//   - Ownership: Update and Delete read the resource first and refuse, before changing anything,
//     one whose panka:* tags name another owner (provider.CheckOwner). Find adopts a resource by
//     name only if its ownership tags do not disagree with the caller's.
//   - Errors (errors.go): every failure is an *Error naming the operation, kind and resource,
//     with the AWS error code, message and request ID, and wrapping provider.ErrNotFound,
//     ErrAlreadyExists, ErrThrottled or ErrTransient where the code says so.
//   - Retries: the SDK clients run with aws.NopRetryer, one attempt per call. The engine retries
//     ErrThrottled and ErrTransient with its own backoff; a retrying SDK under it would multiply
//     the attempts (and hide throttling from the engine's rate control).
//   - Waiting (wait.go): where AWS is eventually consistent (a queue being deleted reads for up to
//     a minute), the provider polls under ctx until it sees what it did: Create returns what Read
//     reads back, and Delete returns once the resource no longer reads.
//   - Concurrency: the methods are safe for concurrent use. Create checks that the name is free
//     and creates under a lock on the name, so concurrent Creates of one name in one process
//     give one success and ErrAlreadyExists for the rest. Across processes AWS's create calls of
//     SQS and SNS are idempotent (CreateQueue and CreateTopic of an existing name return it), so
//     two processes could both succeed (CreateEventBus is not: the second fails): Panka's state
//     lock keeps them apart.
//   - Resource policies (policy.go): a component that delivers to another writes the statement
//     AWS needs in the target's resource policy, and owns it: an SNS topic in the Policy of
//     each queue it has a subscription of (sns.amazonaws.com may sqs:SendMessage, aws:SourceArn
//     the topic), and a permission on each function it has a subscription of (sns.amazonaws.com
//     may lambda:InvokeFunction); an EventBridge rule in the policy of each queue (its targets'
//     and their dead-letter queues'), topic and function it targets (events.amazonaws.com may
//     sqs:SendMessage, sns:Publish, lambda:InvokeFunction, aws:SourceArn the rule); a
//     CloudFront distribution in the bucket policy of each S3 origin it reads through its OAC
//     (cloudfront.amazonaws.com may s3:GetObject on BUCKET/*, AWS:SourceArn the distribution);
//     an ALB in the policy of its access-logs bucket (logdelivery.elasticloadbalancing.amazonaws.com
//     may s3:PutObject on BUCKET/PREFIX/AWSLogs/ACCOUNT/*; AWS requires it before access logs go
//     on, so the ALB orders its calls otherwise: loadbalancer.go).
//     Each statement has a Sid of its own, "Panka" + the consumer's service + a hash of the
//     consumer's ARN, so every consumer of one target has its own and finds it again;
//     statements with other Sids are never touched, and a policy left without statements is
//     removed (a topic's goes back to SNS's default). The consumer adds its statements after it
//     starts delivering and removes them before it stops (Update, and Delete before the
//     consumer goes), so a crash halfway leaves a missing statement (drift), never one nobody
//     owns; DeleteParts removes those of a consumer that is gone. Each statement is a part
//     (Observed.Parts: AWS::SQS::QueuePolicy "QUEUE_URL#SID", AWS::SNS::TopicPolicy
//     "TOPIC_ARN#SID", AWS::S3::BucketPolicy "BUCKET#SID", AWS::Lambda::Permission
//     "FUNCTION_ARN#SID"); Read checks that each is there (by Sid: a statement changed behind
//     Panka's back reads as there) and reports a reference whose target lacks it marked
//     " (without its policy statement)", which no spec says, so the engine sees drift and the
//     next Update adds it again. A target's policy is edited whoever owns the target,
//     another stack's queue given by ARN included: the spec naming it as a target is the user
//     asking for the delivery. A target in another account (by ARN) is its owner's to grant:
//     Panka adds no statement there, nor reads one. Policy changes are a read-modify-write
//     under a lock per target in the Provider; Panka's state lock serializes runs of one stack,
//     but two stacks changing one target's policy at the same moment can lose one's statement
//     (AWS has no conditional policy write), which that stack's next plan shows as drift.
//     Lambda permissions are added and removed one by one by AWS (AddPermission,
//     RemovePermission), without that race.
//
// Specs are read back as the engine writes them (every field, defaults included), with
// component references as addresses. A list or block of parts that the resource has none of
// (an SNS topic's subscriptions, an EventBridge component's rules and archive) is read back as
// nil, not left out, so that parts deleted behind Panka's back (or by a destroy killed halfway)
// read as drift and the next apply makes them again. Specs are not validated here: that is the schema
// package's job.
//
// Lists AWS keeps no order of (an SNS topic's subscriptions, EventBridge rules, API routes) are
// read back sorted, and declared unordered (provider.KindSchema.Unordered), so a spec listing
// them in another order is no change.
//
// Limits, for now: a reference written "service/name" to a
// component of the referring one's own service reads back as "name"; an SQS queue with no
// encryption at all (SSE-SQS turned off behind Panka's back) has no spelling in the schema and
// reads as SSE-SQS. EventBridge rules are read back sorted
// by name (targets keep their order); a component on the default event bus needs at least one
// rule (its tags live on its rules).
//
// Lambda is a composite kind: the function and, as Observed.Parts, its execution role, log
// group, event source mappings, schedules (with their role) and URL, each found again by a name
// derived from the function's (lambda.go says how, and what a failure halfway leaves). Read
// cannot give back everything a spec says: code.path and the S3 code fields are read back from
// what Panka recorded in the function's Description (code from a path also as its live
// code.sha256), as is the order of the event sources; secrets and the variables they set are
// not reported; AWS's default batch size and starting position read as not given. Changing
// between an image and a zip package needs a replacement, which the schema does not force:
// Update refuses it. A secret's new value reaches the function with its next update. Schedules
// carry no tags (EventBridge Scheduler tags schedule groups only), and parts keep the tags they
// were created with.
//
// APIGateway is an API Gateway v2 API with its integrations, authorizers, routes, stage, custom
// domain and the lambda:InvokeFunction permissions it adds to the functions it invokes, all
// parts of the component (Observed.Parts); Update changes only the parts that differ. A route's
// target must be a Lambda function (by component name or ARN): a MicroService target needs a VPC
// link, which comes with the container kinds, and is an error. Routes read back sorted by route
// key; a function reads back by its panka:address tag, else by name in the API's own service,
// else as its ARN; removing throttling makes the stage anew (AWS cannot unset it); a permission
// removed behind Panka's back is a lost part (drift), and the next apply adds it again.
//
// CloudFront is a distribution (CallerReference and Comment the component's name) and the origin
// access control its S3 origins sign with; Create, Update and Delete wait until the change is
// deployed, and Delete disables the distribution first, as AWS requires. An ALB origin cannot be
// built yet (an error). The distribution adds to the bucket policy of each S3 origin read
// through the OAC the statement letting it read (above: Resource policies), and removes it
// before the origin goes or the distribution is deleted. A behavior's origin reads back only when
// the distribution has more than one; allowed methods read back in CloudFront's order and a
// managed cache policy by its name without "Managed-". Both kinds are found by name, so a
// replacement deletes the old one first (UniqueName).
//
// ALB and NLB are an Elastic Load Balancing v2 load balancer (ID its ARN, found by name) in the
// subnets and security groups of the network the engine injects; internal is ForceNew, and
// everything else changes in place (attributes, SetSecurityGroups, SetSubnets, an ALB's
// listeners). Create waits until the load balancer is active, reporting progress; Delete refuses
// one with deletion protection on (apply deletionProtection: false first: Panka never turns it
// off itself). What is whose, with the MicroService (the contract loadbalancer.go spells out): a
// service attached to a load balancer owns its target group and its listener rule. An ALB owns
// its listeners (parts, AWS::ElasticLoadBalancingV2::Listener); one whose defaultAction forwards
// to a service is made with a placeholder fixed response (503 "no service attached"), which the
// service points at its target group once it has one, and back when it goes. The ALB reads such
// a listener as forward: the target group's panka:address tag, and the placeholder as a
// defaultAction without forward (drift until the service attaches); its Update never replaces a
// forward to a target group the spec says to forward. An NLB's listeners are made by the
// services they target: the NLB makes the load balancer only, reads back the live listeners
// (sorted by port, targets by address, nil when no service has attached yet) and changes none;
// its Schema declares them External.
// Listeners, subnets and security groups read back in AWS's order and are declared unordered.
// The network kinds (network.go, securitygroup.go) are the internal kinds the engine derives for
// networked components: VPC (DNS support and hostnames on), Subnet (zone: an index into the
// region's available zones sorted by name; public: MapPublicIpOnLaunch), InternetGateway
// (attached to its VPC), NATGateway (with an Elastic IP of its own, a part found again by its
// Name tag and reused after a crash; Create waits until the gateway is available), RouteTable
// (routes to an internet or NAT gateway, subnet associations as parts) and SecurityGroup (AWS's
// default egress, ingress rules by CIDR or group). EC2 names them by ID: each carries the tag
// Name = the component's name from its create call on and is found by it. EC2 keeps no tag
// unique, so Find adopts, of the resources carrying a name, the one whose ownership tags agree
// with the caller's most (taggedNames); the kinds are not UniqueName, and the engine replaces
// them create-before-destroy under a generation name of their own. Lists (routes, subnets,
// ingress) read back sorted and are unordered; a route, association or rule removed behind
// Panka's back reads as drift. Delete waits out DependencyViolation (network interfaces AWS
// releases late, a group another group's rule names) for up to five minutes, reporting progress
// (provider.ReportProgress), then fails with ErrTransient for the engine to retry.
// The databases (rds.go says the whole contract): RDS is a DB instance or, for aurora-* engines,
// a DB cluster with instances NAME-1..N; DocumentDB a DocumentDB cluster with instances, driven
// through the RDS API it shares. Each has a DB subnet group of its name in network.subnets (a
// part, made first) and network.securityGroups. Passwords are managed by RDS (masterSecretArn)
// or read from a secret reference at deploy time, never stored. Changes use ApplyImmediately
// false (the schema has no field for it): what RDS schedules reads back as the spec. Create waits
// until available, Delete until gone, reporting progress; Delete refuses deletion protection and
// always takes a final snapshot NAME-final-TIMESTAMP (the schema has no field to skip it).
// The container kinds (ecs.go, service.go, cronjob.go) run on ECS Fargate. ECSCluster is the
// stack's cluster (containerInsights); its Delete refuses while ACTIVE services remain, naming
// them, and waits for services being deleted and tasks stopping. MicroService and Worker are an
// ECS service (ID its ARN, looked up by name in the spec's cluster), CronJob an EventBridge
// Scheduler schedule (ID its ARN) running a task in the cluster. Each has, as parts under names
// derived from its own, a task definition family (AWS::ECS::TaskDefinition, one container named
// after the component), an execution role <name>-exec (AmazonECSTaskExecutionRolePolicy plus
// reading exactly its secrets), a task role <name>-task (exactly what the injected access list
// implies, no inline policy without access), and a log group /ecs/<name>; a MicroService on a
// load balancer a target group with, on an ALB, a listener rule and the default actions of
// defaultForward (set back to the ALB's fixed-response 503 placeholder when it goes), on an
// NLB its listeners; a scaled service its scalable target and target tracking policies; a
// CronJob its scheduler role <name>-scheduler. Secrets are container secrets (valueFrom an ARN),
// not reported by Read. Create and every Update that changes a service wait until it is
// stable (one deployment running its desired count), reporting progress; a task of the new
// deployment that stops fails at once with its stopped reasons, a permanent error. A change of
// the task registers a new revision and moves the service (or schedule) to it, then deletes the
// old revisions; nothing of this recreates the service. While autoscaling is active the
// desired count the autoscaler set reads as the spec's (within [min, max]). Parts made before
// the service or schedule are deleted again when it cannot be made, and DeleteParts finds what
// a killed Create or Delete left by name. An efs volume mounts the file system with transit
// encryption and IAM authorization, the task role granted ClientMount (and ClientWrite) on it
// (ecs.go). Limits: an ebs volume is an error (Fargate mounts no existing EBS volume);
// a CronJob's concurrencyPolicy Forbid is recorded but not enforced (Scheduler has no such
// setting; runs can overlap); a CronJob's tags are its task definition's (schedules take
// none); a non-load-balanced MicroService's url output is "".
// MSK (msk.go) is an MSK cluster, provisioned or serverless (ID its ARN, looked up by name);
// Create waits until it is ACTIVE and reading waits out CREATING and UPDATING (so a run
// interrupted while it was being created adopts it); Update changes a provisioned cluster
// through cluster operations (security, Kafka version, broker type, storage, broker count, each
// waited for), refusing what MSK cannot do (fewer brokers, less storage, other subnets or groups).
// Kafka (kafka.go) is a topic made through MSK's topic API (ID its ARN, looked up on the spec's
// cluster); MSK topics take no tags, so a topic's tags are on a part, an SSM parameter
// /panka/kafka-topics/CLUSTER/TOPIC; fewer partitions and another replication factor are refused.
//
// EFS (efs.go) is a file system found by its creation token (the component's name), with its
// mount targets (one per injected subnet, with the injected security groups) and access points
// as parts; Create and Update wait until it and its mount targets are available, Delete until
// all are gone, reporting progress. EBS (ebs.go) is a volume named by its Name tag like the
// network kinds, grown and retyped in place (ModifyVolume, waiting for the modification),
// never shrunk (Update refuses: replace it). Both keep a KMS key the spec gave in a tag of their
// own (panka-kms-key), since AWS reports its default key for an encrypted one without.
package aws

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/schema"
)

// Options bind a Provider to its target.
type Options struct {
	// Region is where resources are created; empty means the aws.Config's region.
	Region string
	// Account is the AWS account resources must be in; empty means the credentials' account.
	// Before its first change (Create, Update, Delete, DeleteParts) the provider asks STS whose
	// credentials it has, and refuses (an error wrapping provider.ErrWrongTarget) to change
	// anything in another account than Account.
	Account string
	// Emulated says the endpoint is an emulator of a single account and region (the local AWS):
	// its account, whatever number STS gives it, stands for Account, and its region (the
	// aws.Config's) for Region, its zones for Region's zones (us-east-1b for eu-west-1b). Calls
	// go to the emulator's region, and ARNs are built and compared with its region and the
	// number STS gives, as the emulator names its resources with them; Target keeps Account and
	// Region, so that plans for the stack's target are served.
	Emulated bool
}

// Provider deploys to one region and account of AWS. Create one with New.
type Provider struct {
	cfg    aws.Config // its Region is where calls go and what ARNs name (see Options.Emulated)
	target provider.Target
	kinds  map[string]kind
	// schemas are computed once by New from the schema package.
	schemas map[string]provider.KindSchema

	names [64]sync.Mutex // Create holds the one its kind and name hash to

	accountMu sync.Mutex
	account   string // the credentials' account, once STS said it
	emulated  bool

	pol *policies   // the resource policy statements consumers add to their targets (policy.go)
	elb *elb.Client // Elastic Load Balancing v2: the load balancer kinds, and the services attached to them

	ec2Once sync.Once
	ec2     *ec2.Client // the network kinds' (network.go), made on first use
}

var _ provider.Provider = (*Provider)(nil)
var _ provider.Targeted = (*Provider)(nil)

// New returns a Provider for cfg bound to opts' region and account. It makes no call to AWS.
func New(cfg aws.Config, opts Options) (*Provider, error) {
	region := cmp.Or(opts.Region, cfg.Region)
	if region == "" {
		return nil, fmt.Errorf("aws provider: no region: set Options.Region or the SDK's (AWS_REGION)")
	}
	cfg = cfg.Copy()
	if !opts.Emulated || cfg.Region == "" {
		cfg.Region = region // an emulator serves its own region, which stands for region
	}
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	p := &Provider{
		cfg:      cfg,
		target:   provider.Target{Provider: "aws", Region: region, Account: opts.Account},
		kinds:    map[string]kind{},
		schemas:  map[string]provider.KindSchema{},
		emulated: opts.Emulated,
	}
	p.pol = newPolicies(p)
	p.elb = elb.NewFromConfig(p.cfg)
	for _, row := range kindTable {
		var secret []string
		for _, f := range schema.Fields(row.name) {
			if f.Secret {
				secret = append(secret, f.Path)
			}
		}
		p.schemas[row.name] = provider.KindSchema{
			ForceNew:     schema.ForceNewFields(row.name),
			Secret:       secret,
			UniqueName:   row.uniqueName,
			Unordered:    row.unordered,
			External:     row.external,
			NeedsNetwork: row.needsNetwork,

			ShrinkForcesNew: row.shrinkForcesNew,
			Limits:          row.limits,
			Notes:           row.notes,
		}
		p.kinds[row.name] = row.new(p)
	}
	return p, nil
}

// Target returns the region and account the provider deploys to (Account is empty when the
// Options named none).
func (p *Provider) Target() provider.Target { return p.target }

// Schema returns the planning schema of kind: ForceNew and Secret from the schema package's
// field flags, UniqueName from the kind table; false for a kind this provider does not build
// yet. The slices are the caller's to keep.
func (p *Provider) Schema(kind string) (provider.KindSchema, bool) {
	s, ok := p.schemas[kind]
	if !ok {
		return provider.KindSchema{}, false
	}
	s.ForceNew = slices.Clone(s.ForceNew)
	s.Secret = slices.Clone(s.Secret)
	s.Unordered = slices.Clone(s.Unordered)
	s.External = slices.Clone(s.External)
	s.ShrinkForcesNew = slices.Clone(s.ShrinkForcesNew)
	s.Limits = slices.Clone(s.Limits)
	s.Notes = maps.Clone(s.Notes)
	return s, true
}

// begin is every operation's prologue: a done context or an unsupported kind ends the call.
func (p *Provider) begin(ctx context.Context, kindName string) (kind, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, ok := p.kinds[kindName]
	if !ok {
		return nil, fmt.Errorf("%w: %s (the AWS provider supports %v)", provider.ErrUnsupportedKind, kindName, p.supported())
	}
	return k, nil
}

func (p *Provider) supported() []string {
	var out []string
	for _, row := range kindTable {
		out = append(out, row.name)
	}
	slices.Sort(out)
	return out
}

// Create makes the resource r.Name of kind r.Kind with r.Spec and r.Tags, and returns it as Read
// reads it back. If a resource of that name exists it fails with an error wrapping
// provider.ErrAlreadyExists, and changes nothing.
func (p *Provider) Create(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	k, err := p.changing(ctx, r.Kind)
	if err != nil {
		return nil, opError("create", r.Kind, r.Name, err)
	}
	if r.Name == "" {
		return nil, opError("create", r.Kind, r.Name, fmt.Errorf("empty name"))
	}
	mu := &p.names[nameHash(r.Kind, r.Name)]
	mu.Lock()
	defer mu.Unlock()
	switch id, err := lookupOf(ctx, k, r); {
	case err == nil:
		return nil, opError("create", r.Kind, r.Name, fmt.Errorf("%w: %s", provider.ErrAlreadyExists, id))
	case !isNotFound(err):
		return nil, opError("create", r.Kind, r.Name, err)
	}
	id, err := k.create(ctx, r)
	if err != nil {
		return nil, opError("create", r.Kind, r.Name, err)
	}
	var obs *provider.Observed
	err = waitFor(ctx, func(ctx context.Context) (bool, error) {
		l, err := k.read(ctx, id)
		if isNotFound(err) {
			return false, nil
		}
		if err == nil {
			obs = l.obs
		}
		return err == nil, err
	})
	if err != nil {
		return nil, opError("create", r.Kind, r.Name, fmt.Errorf("reading back %s: %w", id, err))
	}
	return obs, nil
}

// Read returns the live resource of kind with physical ID id, or an error wrapping
// provider.ErrNotFound.
func (p *Provider) Read(ctx context.Context, kindName, id string) (*provider.Observed, error) {
	k, err := p.begin(ctx, kindName)
	if err != nil {
		return nil, opError("read", kindName, id, err)
	}
	l, err := k.read(ctx, id)
	if err != nil {
		return nil, opError("read", kindName, id, err)
	}
	return l.obs, nil
}

// Find returns the resource of kind r.Kind named r.Name, unless its ownership tags name
// another owner than r.Tags (provider.CheckOwner): then, as when there is none, the error wraps
// provider.ErrNotFound.
func (p *Provider) Find(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	k, err := p.begin(ctx, r.Kind)
	if err != nil {
		return nil, opError("find", r.Kind, r.Name, err)
	}
	if tn, ok := k.(taggedNames); ok {
		obs, err := p.findNamed(ctx, k, tn, r)
		if err != nil {
			return nil, opError("find", r.Kind, r.Name, err)
		}
		return obs, nil
	}
	id, err := lookupOf(ctx, k, r)
	if err != nil {
		return nil, opError("find", r.Kind, r.Name, err)
	}
	l, err := k.read(ctx, id)
	if err != nil {
		return nil, opError("find", r.Kind, r.Name, err)
	}
	if err := provider.CheckOwner(r.Kind, id, l.obs.Tags, r.Tags); err != nil {
		return nil, opError("find", r.Kind, r.Name, fmt.Errorf("%w: %v", provider.ErrNotFound, err))
	}
	return l.obs, nil
}

// findNamed is Find for a kind whose name is a tag AWS does not keep unique: of the resources
// carrying r.Name whose ownership tags do not disagree with r.Tags, the one agreeing with most
// of them and of the engine's panka:generation tag (the first by ID of those that tie).
func (p *Provider) findNamed(ctx context.Context, k kind, tn taggedNames, r provider.Resource) (*provider.Observed, error) {
	ids, err := tn.named(ctx, r.Name)
	if err != nil {
		return nil, err
	}
	var best *provider.Observed
	bestScore := -1
	var refused error
	for _, id := range ids {
		l, err := k.read(ctx, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := provider.CheckOwner(r.Kind, id, l.obs.Tags, r.Tags); err != nil {
			refused = err
			continue
		}
		score := 0
		for _, t := range append(slices.Clone(provider.OwnerTags), "panka:generation") {
			if v, ok := l.obs.Tags[t]; ok && v == r.Tags[t] {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = l.obs, score
		}
	}
	switch {
	case best != nil:
		return best, nil
	case refused != nil:
		return nil, fmt.Errorf("%w: %v", provider.ErrNotFound, refused)
	}
	return nil, fmt.Errorf("%w: none named %s", provider.ErrNotFound, r.Name)
}

// Update changes the live resource id to r.Spec and r.Tags (tags untouched when r.Tags is
// nil), after checking its ownership tags against r.Tags. It changes only what differs from the
// live resource, whatever changed says, so a change made behind Panka's back is undone too; a
// field the schema marks ForceNew that differs is an error (the engine replaces instead). It
// returns the resource as Read reads it back.
func (p *Provider) Update(ctx context.Context, id string, r provider.Resource, changed []string) (*provider.Observed, error) {
	k, err := p.changing(ctx, r.Kind)
	if err != nil {
		return nil, opError("update", r.Kind, id, err)
	}
	l, err := k.read(ctx, id)
	if err != nil {
		return nil, opError("update", r.Kind, id, err)
	}
	if err := provider.CheckOwner(r.Kind, id, l.obs.Tags, r.Tags); err != nil {
		return nil, opError("update", r.Kind, id, err)
	}
	if err := k.update(ctx, l, r); err != nil {
		return nil, opError("update", r.Kind, id, err)
	}
	if r.Tags != nil {
		set, remove := tagChanges(l.obs.Tags, r.Tags)
		if len(set) > 0 || len(remove) > 0 {
			if err := k.tag(ctx, l, set, remove); err != nil {
				return nil, opError("update", r.Kind, id, fmt.Errorf("tags: %w", err))
			}
		}
	}
	l, err = k.read(ctx, id)
	if err != nil {
		return nil, opError("update", r.Kind, id, fmt.Errorf("reading back: %w", err))
	}
	return l.obs, nil
}

// Delete removes the resource id of kind r.Kind and its parts, after checking its ownership tags
// against r.Tags, and returns once it no longer reads. Deleting a resource that does not exist
// succeeds.
func (p *Provider) Delete(ctx context.Context, id string, r provider.Resource) error {
	k, err := p.changing(ctx, r.Kind)
	if err != nil {
		return opError("delete", r.Kind, id, err)
	}
	l, err := k.read(ctx, id)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return opError("delete", r.Kind, id, err)
	}
	if err := provider.CheckOwner(r.Kind, id, l.obs.Tags, r.Tags); err != nil {
		return opError("delete", r.Kind, id, err)
	}
	if err := k.delete(ctx, l); err != nil && !isNotFound(err) {
		return opError("delete", r.Kind, id, err)
	}
	err = waitFor(ctx, func(ctx context.Context) (bool, error) {
		_, err := k.read(ctx, id)
		if isNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return opError("delete", r.Kind, id, fmt.Errorf("waiting for it to go: %w", err))
	}
	return nil
}

// accountID returns the account the provider deploys to, the credentials' (STS
// GetCallerIdentity, asked once). ARNs are built and compared with it: it is the number AWS (or
// the emulator) names resources with. When the provider is bound to an account (Options) and
// not Emulated, another account is an error wrapping provider.ErrWrongTarget: nothing is
// changed in an account the stack does not name.
func (p *Provider) accountID(ctx context.Context) (string, error) {
	p.accountMu.Lock()
	defer p.accountMu.Unlock()
	if p.account != "" {
		return p.account, nil
	}
	out, err := sts.NewFromConfig(p.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("account of the credentials: %w", err)
	}
	got := aws.ToString(out.Account)
	if want := p.target.Account; want != "" && got != want && !p.emulated {
		return "", fmt.Errorf("%w: the credentials are for account %s, and the stack deploys to %s", provider.ErrWrongTarget, got, want)
	}
	p.account = got
	return p.account, nil
}

// changing is the prologue of every operation that changes something: begin, and the check that
// the credentials are for the target account.
func (p *Provider) changing(ctx context.Context, kindName string) (kind, error) {
	k, err := p.begin(ctx, kindName)
	if err != nil {
		return nil, err
	}
	if _, err := p.accountID(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// zone is the zone of the stack's region z names where calls go: z itself, or for an emulator
// serving another region, its zone of the same letter (Options.Emulated).
func (p *Provider) zone(z string) string {
	if letter, ok := strings.CutPrefix(z, p.target.Region); ok && p.emulated {
		return p.cfg.Region + letter
	}
	return z
}

// stackZone is zone's inverse: the zone of the stack's region a zone where calls go stands for.
func (p *Provider) stackZone(z string) string {
	if letter, ok := strings.CutPrefix(z, p.cfg.Region); ok && p.emulated {
		return p.target.Region + letter
	}
	return z
}

// partition returns the ARN partition of the provider's region.
func (p *Provider) partition() string {
	switch r := p.target.Region; {
	case len(r) > 3 && r[:3] == "cn-":
		return "aws-cn"
	case len(r) > 7 && r[:7] == "us-gov-":
		return "aws-us-gov"
	}
	return "aws"
}

func nameHash(kind, name string) int {
	h := fnv.New32a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int(h.Sum32() % 64)
}
