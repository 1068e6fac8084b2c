package aws

import (
	"context"

	"github.com/panka/panka/provider"
)

// kind is what the provider needs of one component kind: its AWS calls, nothing more. Naming,
// ownership checks, tag diffs, error wrapping and waiting are the Provider's (aws.go).
type kind interface {
	// lookup returns the physical ID of the resource named name, or an error for which
	// isNotFound holds.
	lookup(ctx context.Context, name string) (id string, err error)
	// create makes the resource r.Name with r.Spec, its tags r.Tags, and the parts it is made of,
	// and returns its physical ID. The name is free when it is called.
	create(ctx context.Context, r provider.Resource) (id string, err error)
	// read returns the live resource id, or an error for which isNotFound holds.
	read(ctx context.Context, id string) (*live, error)
	// update makes the live resource match r.Spec, changing only what differs.
	update(ctx context.Context, l *live, r provider.Resource) error
	// tag sets and removes tags of the live resource.
	tag(ctx context.Context, l *live, set map[string]string, remove []string) error
	// delete removes the live resource, its parts first.
	delete(ctx context.Context, l *live) error
}

// resourceLookup is implemented by the kinds whose names are unique only within something the
// spec names (an ECS service in its cluster): Create and Find look them up by the resource.
type resourceLookup interface {
	lookupResource(ctx context.Context, r provider.Resource) (id string, err error)
}

// lookupOf returns the physical ID of the resource r of kind k (lookup, or lookupResource).
func lookupOf(ctx context.Context, k kind, r provider.Resource) (string, error) {
	if rl, ok := k.(resourceLookup); ok {
		return rl.lookupResource(ctx, r)
	}
	return k.lookup(ctx, r.Name)
}

// live is a resource as a kind read it: what the engine sees, and what the kind itself needs
// again to update or delete it (its raw attributes, its parts).
type live struct {
	obs *provider.Observed
	raw any
}

// kindTable is every kind the provider builds. Adding a kind is a file with its kind value and
// a row here.
// engineVersionNote is what a database's engine version change means.
const engineVersionNote = "an engine upgrade, in place: a major version cannot be downgraded afterwards, and AWS makes it in the next maintenance window unless applyImmediately is true"

var kindTable = []struct {
	name string
	new  func(*Provider) kind
	// uniqueName: the physical name is unique in the account and region, so a replacement
	// deletes the old resource before creating the new one (provider.KindSchema.UniqueName).
	// Kinds AWS names by ID that the provider finds by name (APIGateway, CloudFront) set it too:
	// Create refuses a name that is taken.
	uniqueName bool
	// unordered are the spec's lists AWS keeps no order of, which the kind reads back in an
	// order of its own (provider.KindSchema.Unordered).
	unordered []string
	// external are the spec's fields other components make (provider.KindSchema.External).
	external []string
	// needsNetwork: the kind runs in the environment's VPC (provider.KindSchema.NeedsNetwork).
	needsNetwork bool
	// shrinkForcesNew, limits, notes: provider.KindSchema's, for what AWS can change in place
	// only one way, cannot change at all without losing data, or changes with consequences.
	shrinkForcesNew []string
	limits          []provider.ChangeLimit
	notes           map[string]string
}{
	{name: "SQS", new: newSQS, uniqueName: true},
	{name: "SNS", new: newSNS, uniqueName: true, unordered: []string{"subscriptions"}},
	{name: "S3", new: newS3, uniqueName: true},
	{name: "DynamoDB", new: newDynamoDB, uniqueName: true},
	{name: "EventBridge", new: newEventBridge, uniqueName: true, unordered: []string{"rules"}},
	{name: "Lambda", new: newLambda, uniqueName: true},
	{name: "APIGateway", new: newAPIGateway, uniqueName: true, unordered: []string{"routes", "network.subnets", "network.securityGroups"}},
	{name: "CloudFront", new: newCloudFront, uniqueName: true},
	{name: "ALB", new: newALB, uniqueName: true, needsNetwork: true, unordered: []string{"listeners", "network.subnets", "network.securityGroups"}},
	{name: "NLB", new: newNLB, uniqueName: true, needsNetwork: true, unordered: []string{"listeners", "network.subnets", "network.securityGroups"},
		external: []string{"listeners"}},
	// The network kinds are named by a Name tag (network.go): replaced create-before-destroy.
	{name: "VPC", new: newVPC},
	{name: "Subnet", new: newSubnet},
	{name: "InternetGateway", new: newInternetGateway},
	{name: "NATGateway", new: newNATGateway},
	{name: "RouteTable", new: newRouteTable, unordered: []string{"routes", "subnets"}},
	{name: "SecurityGroup", new: newSecurityGroup, unordered: []string{"ingress"}},
	{name: "ECSCluster", new: newECSCluster, uniqueName: true},
	{name: "MicroService", new: newMicroService, uniqueName: true, needsNetwork: true, unordered: []string{"loadBalancer.listeners", "loadBalancer.defaultForward"}},
	{name: "Worker", new: newWorker, uniqueName: true, needsNetwork: true},
	{name: "CronJob", new: newCronJob, uniqueName: true, needsNetwork: true},
	// A Kafka topic's name is unique within its cluster, which is forcenew: a new topic of the
	// name on another cluster is made before the old one goes.
	{name: "Kafka", new: newKafka, limits: []provider.ChangeLimit{
		{Path: "partitions", GrowOnly: true, Reason: "Kafka cannot remove a topic's partitions; keep the count, or replace the topic and lose its messages (--replace)"},
		{Path: "replicationFactor", Reason: "MSK's topic API cannot reassign a topic's replicas; keep it, or replace the topic and lose its messages (--replace)"}}},
	{name: "MSK", new: newMSK, uniqueName: true, needsNetwork: true, unordered: []string{"network.subnets", "network.securityGroups"}, limits: []provider.ChangeLimit{
		{Path: "brokerNodes", GrowOnly: true, Reason: "MSK cannot remove brokers from a cluster; keep the count, or replace the cluster and lose its topics (--replace)"},
		{Path: "storageGiB", GrowOnly: true, Reason: "MSK cannot shrink its brokers' storage; keep the size, or replace the cluster and lose its topics (--replace)"}}},
	// EBS is named by a Name tag (ebs.go), like the network kinds: replaced create-before-destroy.
	{name: "EBS", new: newEBS, shrinkForcesNew: []string{"sizeGiB"}},
	// EFS is found by its creation token, the component's name: replaced destroy-before-create.
	{name: "EFS", new: newEFS, uniqueName: true, needsNetwork: true, unordered: []string{"accessPoints", "network.subnets", "network.securityGroups"}},
	// The databases (rds.go, docdb.go): named by identifier, unique in the account and region.
	{name: "RDS", new: newRDS, uniqueName: true, needsNetwork: true, unordered: []string{"network.subnets", "network.securityGroups"},
		limits: []provider.ChangeLimit{{Path: "allocatedStorage", GrowOnly: true,
			Reason: "RDS cannot shrink a database's storage; keep the size, or replace the database (--replace; its data goes, a final snapshot stays)"}},
		notes: map[string]string{"engineVersion": engineVersionNote}},
	{name: "DocumentDB", new: newDocumentDB, uniqueName: true, needsNetwork: true, unordered: []string{"network.subnets", "network.securityGroups"},
		notes: map[string]string{"engineVersion": engineVersionNote}},
}
