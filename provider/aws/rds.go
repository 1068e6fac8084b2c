package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/schema"
)

// RDS and DocumentDB (rds.go, docdb.go) are one kind implementation, dbKind: DocumentDB's API is
// RDS's Query API (same endpoint, same signing name, same operations and shapes; the docdb SDK
// client is a smaller model of it), so the provider drives both with the rds client, a
// DocumentDB cluster being a DB cluster of engine docdb.
//
// What a component is:
//
//   - RDS with engine postgres, mysql or mariadb: a DB instance named after the component (ID and
//     ARN its ARN). Aurora (aurora-postgresql, aurora-mysql) and DocumentDB: a DB cluster named
//     after the component (ID its ARN) and `instances` DB instances NAME-1 ... NAME-N in it
//     (parts, AWS::RDS::DBInstance / AWS::DocDB::DBInstance; NAME-1 is created first and is the
//     writer).
//   - Always a DB subnet group named after the component in network.subnets (a part,
//     AWS::RDS::DBSubnetGroup / AWS::DocDB::DBSubnetGroup), made before the database; the
//     database's VPC security groups are network.securityGroups (the engine's "svc/name--sg",
//     which admits the components that reference it on the database's port).
//
// Passwords: managePassword is ManageMasterUserPassword (RDS keeps the password in Secrets
// Manager; the secret's ARN is the masterSecretArn output). masterPassword is a secret
// reference read at deploy time (secretsmanager:/ssm: or an ARN, as Lambda's secrets) and sent
// in the one create or modify call that needs it; it is never stored, logged or reported. A
// spec with masterPassword sends it again at every Update (a rotated secret reaches the database
// then), because the provider cannot read the password back to compare.
//
// Changes: applyImmediately (default false) is sent as ApplyImmediately with every modify of the
// database and of a cluster's instances. False: the instance class, storage (allocated, type,
// IOPS), engine version and Multi-AZ of an instance change in the next maintenance window,
// without an outage now; AWS applies the rest at once (backup retention and windows, maintenance
// window, deletion protection, storage autoscaling limit, security groups, subnets, port,
// passwords). A change AWS has scheduled reads back as the spec (Read lays
// PendingModifiedValues over the live values), so the next plan is empty while it waits. True:
// every change is made at once (which may restart the database now); Read then reports the live
// values, not the pending ones, so a change still scheduled (made before applyImmediately was
// turned on) reads as drift and Update sends it again with ApplyImmediately. An engineVersion change is an in-place
// update (AllowMajorVersionUpgrade set: the spec names the version); engine, databaseName,
// masterUsername, storageEncrypted and kmsKey are ForceNew. A pinned engineVersion turns off
// automatic minor version upgrades (otherwise AWS would move the database off the spec).
//
// Defaults: the engine hands over the spec with engine-dependent fields at zero (port,
// instanceClass, storageType, allocatedStorage, masterUsername, instances: schema's Resolved
// says what they become) and fields AWS chooses unset (engineVersion, the backup and
// maintenance windows). The provider records which fields the spec left so in a tag of its own,
// panka:defaults, which Read hides from the tags it reports; Read reports such a field as left
// (zero, or absent for AWS's choices) while the live value is the one it stood for, and the live
// value (drift) otherwise. A database whose panka:defaults tag is gone reads every field live.
// kmsKey is not read back (ForceNew, and RDS cannot change it: AWS reports its default key's ARN
// for a database encrypted without one). With storage autoscaling on (maxAllocatedStorage), the
// tag records the spec's allocatedStorage too: storage AWS grew beyond it reads as the spec's,
// and Update never tries to shrink it.
//
// Waiting: Create waits until the database (and each instance) is available, Update waits until
// it is available before and after a change, Delete until it is gone; each reports the status
// while it waits (provider.ReportProgress), bounded by ctx. A create interrupted while the
// database is still creating leaves it to be found by name: Find adopts it (one database, not
// two), and Update waits for it before changing anything.
//
// Deletion: Delete refuses a database with deletion protection on (apply deletionProtection:
// false first; Panka never turns it off itself). Unless skipFinalSnapshot is set, every Delete
// of an RDS instance or cluster and of a DocumentDB cluster takes a final snapshot named
// NAME-final-YYYYMMDDHHMMSS (UTC), which outlives the component (deleting it is the user's
// call); with it set, the database goes with no snapshot (SkipFinalSnapshot on the instance or
// cluster). A cluster's instances go first (no snapshot of their own), then the cluster, then
// the subnet group.
//
// Panka's own settings: skipFinalSnapshot and applyImmediately are no AWS settings. The
// provider keeps each one that is true as a tag of the database (panka:skipFinalSnapshot=true,
// panka:applyImmediately=true, written by Create and Update, hidden from Observed.Tags) and Read
// reports it from there, so changing one is an in-place update that touches only the tag, and
// Delete, which gets no spec, reads skipFinalSnapshot from the database itself. A database
// without the tags (made before them, or by hand) reads them as false: a final snapshot. So
// skipFinalSnapshot counts once applied: setting it in the same change that removes the
// component still takes the snapshot (the safe side), as Terraform's does.
//
// What a crash leaves: the subnet group is made before the database, found again by name, and
// deleted again when AWS refuses the database; a Create killed before the database leaves it, which the next Create reuses (made the spec's
// subnets) and DeleteParts removes (unless a database uses it or its tags name another owner).
// A cluster whose instances were not all made reads with fewer instances (drift), and Update
// makes the rest.
//
// Outputs: endpoint and port (a cluster's writer endpoint), readerEndpoint (a cluster's reader
// endpoint; an RDS instance's own endpoint, having no reader), identifier / clusterIdentifier,
// masterSecretArn ("" with masterPassword).
type dbKind struct {
	p *Provider
	c *rds.Client
	secretReader
	doc bool // DocumentDB
}

func newRDS(p *Provider) kind {
	return &dbKind{p: p, c: rds.NewFromConfig(p.cfg), secretReader: newSecretReader(p)}
}

// defaultsTag is the provider's own tag recording the spec's fields left to the engine or AWS
// (hidden from Observed.Tags), and, with storage autoscaling on, the spec's allocatedStorage
// (autoscaledToken + GiB).
const (
	defaultsTag     = "panka:defaults"
	autoscaledToken = "autoscaled="
)

// The tags keeping Panka's own settings of a database (present only when true; see the
// package doc of rds.go).
const (
	skipFinalSnapshotTag = "panka:skipFinalSnapshot"
	applyImmediatelyTag  = "panka:applyImmediately"
)

// dbSettingTags maps Panka's own settings to their tags.
var dbSettingTags = map[string]string{"skipFinalSnapshot": skipFinalSnapshotTag, "applyImmediately": applyImmediatelyTag}

// finalSnapshotName is the name of the final snapshot Delete takes of name at t.
func finalSnapshotName(name string, t time.Time) string {
	return cutName(name, 200) + "-final-" + t.UTC().Format("20060102150405")
}

// dbIdentifierLimit is the length limit of RDS and DocumentDB instance identifiers.
const dbIdentifierLimit = 63

// instanceName is the name of a cluster's i-th instance (from 1): CLUSTER-i, or, when that
// would pass the identifier limit, the cluster's name cut and a hash of it before "-i" (never
// "--" or a trailing '-', which identifiers may not have).
func instanceName(cluster string, i int) string {
	suffix := "-" + strconv.Itoa(i)
	if len(cluster)+len(suffix) <= dbIdentifierLimit {
		return cluster + suffix
	}
	h := fnv.New32a()
	h.Write([]byte(cluster))
	return fmt.Sprintf("%s-%08x%s", strings.TrimRight(cluster[:dbIdentifierLimit-len(suffix)-9], "-"), h.Sum32(), suffix)
}

func (k *dbKind) partType(what string) string {
	if k.doc {
		return "AWS::DocDB::" + what
	}
	return "AWS::RDS::" + what
}

func (k *dbKind) what() string {
	if k.doc {
		return "DocumentDB cluster"
	}
	return "RDS database"
}

// dbSpec is a spec as the provider applies it: engine defaults resolved.
type dbSpec struct {
	engine, version, class    string
	instances                 int
	allocated, maxAlloc, iops int
	storageType               string
	multiAZ                   bool
	retention                 int
	backupWindow, maintWindow string
	deletionProtection        bool
	skipFinalSnapshot         bool   // Panka's own, kept as a tag
	applyImmediately          bool   // Panka's own, kept as a tag
	dbName, user, password    string // password: the secret reference
	manage                    bool
	port                      int
	public, encrypted         bool
	kmsKey                    string
	subnets, groups           []string
	// defaults are the fields the spec left to the engine or AWS (sorted).
	defaults []string
	// resolved are the values the engine-dependent defaults stand for.
	resolved map[string]any
}

// cluster reports whether the spec is a DB cluster (Aurora, DocumentDB).
func (s *dbSpec) cluster() bool { return s.engine == "docdb" || strings.HasPrefix(s.engine, "aurora-") }

func (k *dbKind) parse(spec map[string]any) *dbSpec {
	net := specMap(spec, "network")
	s := &dbSpec{
		version: specString(spec, "engineVersion"), class: specString(spec, "instanceClass"),
		instances: int(specInt(spec, "instances", 0)), storageType: specString(spec, "storageType"),
		retention:    int(specInt(spec, "backupRetention", 0)),
		backupWindow: specString(spec, "preferredBackupWindow"), maintWindow: specString(spec, "maintenanceWindow"),
		deletionProtection: specBool(spec, "deletionProtection"),
		skipFinalSnapshot:  specBool(spec, "skipFinalSnapshot"), applyImmediately: specBool(spec, "applyImmediately"),
		user: specString(spec, "masterUsername"), password: specString(spec, "masterPassword"),
		manage: specBool(spec, "managePassword"), port: int(specInt(spec, "port", 0)),
		encrypted: specBool(spec, "storageEncrypted"), kmsKey: specString(spec, "kmsKey"),
		subnets: strs(specList(net, "subnets")), groups: strs(specList(net, "securityGroups")),
		resolved: map[string]any{},
	}
	for _, f := range []string{"engineVersion", "preferredBackupWindow", "maintenanceWindow"} {
		if specString(spec, f) == "" {
			s.defaults = append(s.defaults, f)
		}
	}
	if k.doc {
		s.engine = "docdb"
		slices.Sort(s.defaults)
		return s
	}
	s.engine = specString(spec, "engine")
	s.allocated, s.maxAlloc, s.iops = int(specInt(spec, "allocatedStorage", 0)), int(specInt(spec, "maxAllocatedStorage", 0)), int(specInt(spec, "iops", 0))
	s.multiAZ, s.public, s.dbName = specBool(spec, "multiAZ"), specBool(spec, "publiclyAccessible"), specString(spec, "databaseName")
	given := schema.RDSSpec{Engine: s.engine, InstanceClass: s.class, Instances: s.instances, AllocatedStorage: s.allocated,
		StorageType: s.storageType, MasterUsername: s.user, Port: s.port}
	r := given.Resolved()
	for f, v := range map[string][2]any{
		"port": {s.port, r.Port}, "instanceClass": {s.class, r.InstanceClass}, "storageType": {s.storageType, r.StorageType},
		"allocatedStorage": {s.allocated, r.AllocatedStorage}, "masterUsername": {s.user, r.MasterUsername}, "instances": {s.instances, r.Instances},
	} {
		if v[0] == 0 || v[0] == "" {
			s.defaults = append(s.defaults, f)
			s.resolved[f] = v[1]
		}
	}
	s.port, s.class, s.storageType, s.allocated, s.user, s.instances = r.Port, r.InstanceClass, r.StorageType, r.AllocatedStorage, r.MasterUsername, r.Instances
	if s.cluster() {
		s.allocated = 0
	}
	slices.Sort(s.defaults)
	if s.maxAlloc > 0 && !s.cluster() {
		// Storage autoscaling grows allocatedStorage: recorded, so that growth is no drift.
		s.defaults = append(s.defaults, autoscaledToken+strconv.Itoa(s.allocated))
	}
	return s
}

func strs(l []any) []string {
	var out []string
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (k *dbKind) tagsOf(r provider.Resource, s *dbSpec) []rdstypes.Tag {
	var tags []rdstypes.Tag
	for _, key := range slices.Sorted(maps.Keys(r.Tags)) {
		tags = append(tags, rdstypes.Tag{Key: aws.String(key), Value: aws.String(r.Tags[key])})
	}
	if s != nil {
		tags = append(tags, rdstypes.Tag{Key: aws.String(defaultsTag), Value: aws.String(strings.Join(s.defaults, " "))})
		for _, key := range slices.Sorted(maps.Values(dbSettingTags)) {
			if s.settings()[key] {
				tags = append(tags, rdstypes.Tag{Key: aws.String(key), Value: aws.String("true")})
			}
		}
	}
	return tags
}

// settings returns Panka's own settings of the spec by their tags.
func (s *dbSpec) settings() map[string]bool {
	return map[string]bool{skipFinalSnapshotTag: s.skipFinalSnapshot, applyImmediatelyTag: s.applyImmediately}
}

// setSettingTags makes the tags of Panka's own settings on the database arn (whose tags are
// have) the spec's: written when true, removed when false.
func (k *dbKind) setSettingTags(ctx context.Context, arn string, have map[string]string, s *dbSpec) error {
	var add []rdstypes.Tag
	var remove []string
	for _, key := range slices.Sorted(maps.Values(dbSettingTags)) {
		switch want := s.settings()[key]; {
		case want && have[key] != "true":
			add = append(add, rdstypes.Tag{Key: aws.String(key), Value: aws.String("true")})
		case !want && have[key] != "":
			remove = append(remove, key)
		}
	}
	if len(add) > 0 {
		if _, err := k.c.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(arn), Tags: add}); err != nil {
			return fmt.Errorf("tag Panka's settings: %w", err)
		}
	}
	if len(remove) > 0 {
		if _, err := k.c.RemoveTagsFromResource(ctx, &rds.RemoveTagsFromResourceInput{ResourceName: aws.String(arn), TagKeys: remove}); err != nil {
			return fmt.Errorf("untag Panka's settings: %w", err)
		}
	}
	return nil
}

// ---- Lookup and read.

func (k *dbKind) lookup(ctx context.Context, name string) (string, error) {
	cl, err := k.describeCluster(ctx, name)
	if err == nil && (!k.doc || aws.ToString(cl.Engine) == "docdb") {
		return aws.ToString(cl.DBClusterArn), nil
	}
	if err != nil && !isNotFound(err) {
		return "", err
	}
	if k.doc {
		return "", fmt.Errorf("%w: no DocumentDB cluster %s", provider.ErrNotFound, name)
	}
	in, err := k.describeInstance(ctx, name)
	if err != nil {
		return "", err
	}
	return aws.ToString(in.DBInstanceArn), nil
}

func (k *dbKind) describeCluster(ctx context.Context, name string) (*rdstypes.DBCluster, error) {
	out, err := k.c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(name)})
	if err != nil {
		return nil, err
	}
	if len(out.DBClusters) != 1 {
		return nil, fmt.Errorf("%w: DB cluster %s", provider.ErrNotFound, name)
	}
	return &out.DBClusters[0], nil
}

func (k *dbKind) describeInstance(ctx context.Context, name string) (*rdstypes.DBInstance, error) {
	out, err := k.c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(name)})
	if err != nil {
		return nil, err
	}
	if len(out.DBInstances) != 1 {
		return nil, fmt.Errorf("%w: DB instance %s", provider.ErrNotFound, name)
	}
	return &out.DBInstances[0], nil
}

// dbLive is a database as read: an instance, or a cluster and its instances (by name).
type dbLive struct {
	arn, name string
	instance  *rdstypes.DBInstance
	cluster   *rdstypes.DBCluster
	members   []*rdstypes.DBInstance // a cluster's, sorted by name
	group     *rdstypes.DBSubnetGroup
	tags      map[string]string // with defaultsTag
}

// splitARN returns the resource type ("db", "cluster") and name of an RDS ARN.
func splitARN(arn string) (typ, name string, err error) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[2] != "rds" {
		return "", "", fmt.Errorf("%q is not an RDS ARN", arn)
	}
	return parts[5], parts[6], nil
}

func (k *dbKind) read(ctx context.Context, id string) (*live, error) {
	typ, name, err := splitARN(id)
	if err != nil {
		return nil, err
	}
	l := &dbLive{arn: id, name: name}
	switch typ {
	case "cluster":
		if l.cluster, err = k.describeCluster(ctx, name); err != nil {
			return nil, err
		}
		if k.doc != (aws.ToString(l.cluster.Engine) == "docdb") {
			return nil, fmt.Errorf("%w: %s is a cluster of engine %s", provider.ErrNotFound, id, aws.ToString(l.cluster.Engine))
		}
		for _, m := range l.cluster.DBClusterMembers {
			in, err := k.describeInstance(ctx, aws.ToString(m.DBInstanceIdentifier))
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			l.members = append(l.members, in)
		}
		slices.SortFunc(l.members, func(a, b *rdstypes.DBInstance) int {
			return cmp.Compare(aws.ToString(a.DBInstanceIdentifier), aws.ToString(b.DBInstanceIdentifier))
		})
	case "db":
		if k.doc {
			return nil, fmt.Errorf("%w: %s is not a DocumentDB cluster", provider.ErrNotFound, id)
		}
		if l.instance, err = k.describeInstance(ctx, name); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: %s is not a DB instance or cluster", provider.ErrNotFound, id)
	}
	tags, err := k.c.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	l.tags = map[string]string{}
	for _, t := range tags.TagList {
		l.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if g := k.groupName(l); g != "" {
		out, err := k.c.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(g)})
		if err != nil && !isNotFound(err) {
			return nil, fmt.Errorf("subnet group %s: %w", g, err)
		}
		if err == nil && len(out.DBSubnetGroups) == 1 {
			l.group = &out.DBSubnetGroups[0]
		}
	}
	return &live{obs: k.observed(l), raw: l}, nil
}

func (k *dbKind) groupName(l *dbLive) string {
	if l.cluster != nil {
		return aws.ToString(l.cluster.DBSubnetGroup)
	}
	if l.instance.DBSubnetGroup != nil {
		return aws.ToString(l.instance.DBSubnetGroup.DBSubnetGroupName)
	}
	return ""
}

// status is the database's status: a cluster's, or "creating" while one of its instances is not
// available yet; an instance's.
func (l *dbLive) status() string {
	if l.instance != nil {
		return aws.ToString(l.instance.DBInstanceStatus)
	}
	st := aws.ToString(l.cluster.Status)
	if st != "available" {
		return st
	}
	for _, m := range l.members {
		if s := aws.ToString(m.DBInstanceStatus); s != "available" {
			return "instance " + aws.ToString(m.DBInstanceIdentifier) + " " + s
		}
	}
	return st
}

func sgIDs(ms []rdstypes.VpcSecurityGroupMembership) []any {
	out := []any{}
	for _, m := range ms {
		out = append(out, aws.ToString(m.VpcSecurityGroupId))
	}
	return out
}

// pendingOf returns the changes AWS has scheduled for the instance in (none when it has none,
// or when now: with applyImmediately, a scheduled change is not yet the spec).
func pendingOf(in *rdstypes.DBInstance, now bool) *rdstypes.PendingModifiedValues {
	if in.PendingModifiedValues == nil || now {
		return &rdstypes.PendingModifiedValues{}
	}
	return in.PendingModifiedValues
}

func (k *dbKind) observed(l *dbLive) *provider.Observed {
	spec := map[string]any{}
	outputs := map[string]string{}
	var defaults []string
	if v, ok := l.tags[defaultsTag]; ok {
		defaults = strings.Fields(v)
	}
	var groups []any
	now := l.tags[applyImmediatelyTag] == "true"
	if l.instance != nil {
		in := l.instance
		p := pendingOf(in, now)
		spec["engine"] = aws.ToString(in.Engine)
		spec["engineVersion"] = cmp.Or(aws.ToString(p.EngineVersion), aws.ToString(in.EngineVersion))
		spec["instanceClass"] = cmp.Or(aws.ToString(p.DBInstanceClass), aws.ToString(in.DBInstanceClass))
		spec["instances"] = int64(0)
		spec["allocatedStorage"] = int64(cmp.Or(aws.ToInt32(p.AllocatedStorage), aws.ToInt32(in.AllocatedStorage)))
		spec["maxAllocatedStorage"] = int64(aws.ToInt32(in.MaxAllocatedStorage))
		spec["storageType"] = cmp.Or(aws.ToString(p.StorageType), aws.ToString(in.StorageType))
		spec["iops"] = int64(cmp.Or(aws.ToInt32(p.Iops), aws.ToInt32(in.Iops)))
		spec["multiAZ"] = aws.ToBool(in.MultiAZ)
		if p.MultiAZ != nil {
			spec["multiAZ"] = *p.MultiAZ
		}
		spec["backupRetention"] = int64(aws.ToInt32(in.BackupRetentionPeriod))
		spec["preferredBackupWindow"] = aws.ToString(in.PreferredBackupWindow)
		spec["maintenanceWindow"] = aws.ToString(in.PreferredMaintenanceWindow)
		spec["deletionProtection"] = aws.ToBool(in.DeletionProtection)
		spec["databaseName"] = aws.ToString(in.DBName)
		spec["masterUsername"] = aws.ToString(in.MasterUsername)
		spec["managePassword"] = in.MasterUserSecret != nil
		port := int64(0)
		if in.Endpoint != nil {
			port = int64(aws.ToInt32(in.Endpoint.Port))
			outputs["endpoint"] = aws.ToString(in.Endpoint.Address)
		}
		spec["port"] = port
		spec["publiclyAccessible"] = aws.ToBool(in.PubliclyAccessible)
		spec["storageEncrypted"] = aws.ToBool(in.StorageEncrypted)
		groups = sgIDs(in.VpcSecurityGroups)
		outputs["readerEndpoint"] = outputs["endpoint"]
		outputs["identifier"] = l.name
		if in.MasterUserSecret != nil {
			outputs["masterSecretArn"] = aws.ToString(in.MasterUserSecret.SecretArn)
		}
	} else {
		cl := l.cluster
		spec["engineVersion"] = aws.ToString(cl.EngineVersion)
		if p := cl.PendingModifiedValues; p != nil && p.EngineVersion != nil && !now {
			spec["engineVersion"] = aws.ToString(p.EngineVersion)
		}
		spec["instances"] = int64(len(l.members))
		if len(l.members) > 0 {
			w := l.members[0]
			spec["instanceClass"] = cmp.Or(aws.ToString(pendingOf(w, now).DBInstanceClass), aws.ToString(w.DBInstanceClass))
		}
		spec["storageType"] = aws.ToString(cl.StorageType)
		spec["backupRetention"] = int64(aws.ToInt32(cl.BackupRetentionPeriod))
		spec["preferredBackupWindow"] = aws.ToString(cl.PreferredBackupWindow)
		spec["maintenanceWindow"] = aws.ToString(cl.PreferredMaintenanceWindow)
		spec["deletionProtection"] = aws.ToBool(cl.DeletionProtection)
		spec["masterUsername"] = aws.ToString(cl.MasterUsername)
		spec["managePassword"] = cl.MasterUserSecret != nil
		spec["port"] = int64(aws.ToInt32(cl.Port))
		spec["storageEncrypted"] = aws.ToBool(cl.StorageEncrypted)
		if !k.doc {
			spec["engine"] = aws.ToString(cl.Engine)
			spec["allocatedStorage"], spec["maxAllocatedStorage"], spec["iops"] = int64(0), int64(0), int64(0)
			spec["multiAZ"] = false
			spec["databaseName"] = aws.ToString(cl.DatabaseName)
			public := false
			for _, m := range l.members {
				public = public || aws.ToBool(m.PubliclyAccessible)
			}
			spec["publiclyAccessible"] = public
			outputs["identifier"] = l.name
		} else {
			outputs["clusterIdentifier"] = l.name
		}
		groups = sgIDs(cl.VpcSecurityGroups)
		outputs["endpoint"] = aws.ToString(cl.Endpoint)
		outputs["readerEndpoint"] = aws.ToString(cl.ReaderEndpoint)
		if cl.MasterUserSecret != nil {
			outputs["masterSecretArn"] = aws.ToString(cl.MasterUserSecret.SecretArn)
		}
	}
	outputs["arn"] = l.arn
	outputs["port"] = strconv.FormatInt(spec["port"].(int64), 10)
	if _, ok := outputs["masterSecretArn"]; !ok {
		outputs["masterSecretArn"] = ""
	}
	net := map[string]any{"securityGroups": groups}
	if l.group != nil {
		net["vpcId"] = aws.ToString(l.group.VpcId)
		subnets := []any{}
		for _, s := range l.group.Subnets {
			subnets = append(subnets, aws.ToString(s.SubnetIdentifier))
		}
		net["subnets"] = subnets
	}
	spec["network"] = net
	for f, tag := range dbSettingTags {
		spec[f] = l.tags[tag] == "true"
	}
	// Fields the spec left: reported as left while live is what they stood for.
	var resolved map[string]any
	if e, _ := spec["engine"].(string); e != "" {
		given := schema.RDSSpec{Engine: e}
		r := given.Resolved()
		resolved = map[string]any{"port": int64(r.Port), "instanceClass": r.InstanceClass, "storageType": r.StorageType,
			"allocatedStorage": int64(r.AllocatedStorage), "masterUsername": r.MasterUsername, "instances": int64(r.Instances)}
		if !given.IsAurora() {
			resolved["instances"] = int64(0)
		}
	}
	for _, f := range defaults {
		if n, ok := strings.CutPrefix(f, autoscaledToken); ok {
			// Storage autoscaling grew the storage: the spec's size still stands.
			if want := atoi(n, 0); spec["maxAllocatedStorage"] != int64(0) && spec["allocatedStorage"].(int64) > want {
				spec["allocatedStorage"] = want
			}
		}
	}
	for _, f := range defaults {
		switch f {
		case "engineVersion", "preferredBackupWindow", "maintenanceWindow":
			delete(spec, f) // AWS's choice
		default:
			if v, ok := resolved[f]; ok && spec[f] == v {
				switch v.(type) {
				case string:
					delete(spec, f)
				default:
					spec[f] = int64(0)
				}
			}
		}
	}
	for f, v := range spec {
		if v == "" {
			delete(spec, f) // the engine's specs omit empty strings
		}
	}
	tags := maps.Clone(l.tags)
	delete(tags, defaultsTag)
	for _, tag := range dbSettingTags {
		delete(tags, tag)
	}
	obs := &provider.Observed{ID: l.arn, ARN: l.arn, Spec: spec, Outputs: outputs, Tags: tags}
	if l.group != nil {
		obs.Parts = append(obs.Parts, provider.Part{Type: k.partType("DBSubnetGroup"), ID: aws.ToString(l.group.DBSubnetGroupName)})
	}
	for _, m := range l.members {
		obs.Parts = append(obs.Parts, provider.Part{Type: k.partType("DBInstance"), ID: aws.ToString(m.DBInstanceIdentifier)})
	}
	return obs
}

// ---- Create.

// masterPassword reads the spec's masterPassword secret reference ("" when it has none).
func (k *dbKind) masterPassword(ctx context.Context, s *dbSpec) (*string, error) {
	if s.password == "" {
		return nil, nil
	}
	v, err := k.secret(ctx, s.password)
	if err != nil {
		return nil, fmt.Errorf("masterPassword: %w", err)
	}
	return aws.String(v), nil
}

func (k *dbKind) create(ctx context.Context, r provider.Resource) (string, error) {
	s := k.parse(r.Spec)
	password, err := k.masterPassword(ctx, s)
	if err != nil {
		return "", err
	}
	if err := k.ensureSubnetGroup(ctx, r.Name, s.subnets, r.Tags); err != nil {
		return "", err
	}
	tags := k.tagsOf(r, s)
	if !s.cluster() {
		in := &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(r.Name), DBInstanceClass: aws.String(s.class), Engine: aws.String(s.engine),
			AllocatedStorage: aws.Int32(int32(s.allocated)), StorageType: aws.String(s.storageType),
			MultiAZ: aws.Bool(s.multiAZ), BackupRetentionPeriod: aws.Int32(int32(s.retention)),
			DeletionProtection: aws.Bool(s.deletionProtection), MasterUsername: aws.String(s.user),
			Port: aws.Int32(int32(s.port)), PubliclyAccessible: aws.Bool(s.public), StorageEncrypted: aws.Bool(s.encrypted),
			DBSubnetGroupName: aws.String(r.Name), VpcSecurityGroupIds: s.groups, Tags: tags,
			AutoMinorVersionUpgrade: aws.Bool(s.version == ""), CopyTagsToSnapshot: aws.Bool(true),
		}
		if s.manage {
			in.ManageMasterUserPassword = aws.Bool(true)
		} else {
			in.MasterUserPassword = password
		}
		in.EngineVersion = optString(s.version)
		in.PreferredBackupWindow, in.PreferredMaintenanceWindow = optString(s.backupWindow), optString(s.maintWindow)
		in.DBName, in.KmsKeyId = optString(s.dbName), optString(s.kmsKey)
		if s.maxAlloc > 0 {
			in.MaxAllocatedStorage = aws.Int32(int32(s.maxAlloc))
		}
		if s.iops > 0 {
			in.Iops = aws.Int32(int32(s.iops))
		}
		out, err := k.c.CreateDBInstance(ctx, in)
		if err != nil {
			return "", k.undoSubnetGroup(ctx, r, fmt.Errorf("create DB instance: %w", err))
		}
		arn := aws.ToString(out.DBInstance.DBInstanceArn)
		return arn, k.waitAvailable(ctx, arn)
	}
	in := &rds.CreateDBClusterInput{
		DBClusterIdentifier: aws.String(r.Name), Engine: aws.String(s.engine), EngineVersion: optString(s.version),
		MasterUsername: aws.String(s.user), Port: aws.Int32(int32(s.port)), BackupRetentionPeriod: aws.Int32(int32(s.retention)),
		PreferredBackupWindow: optString(s.backupWindow), PreferredMaintenanceWindow: optString(s.maintWindow),
		DeletionProtection: aws.Bool(s.deletionProtection), StorageEncrypted: aws.Bool(s.encrypted), KmsKeyId: optString(s.kmsKey),
		StorageType: optString(s.storageType), DatabaseName: optString(s.dbName),
		DBSubnetGroupName: aws.String(r.Name), VpcSecurityGroupIds: s.groups, Tags: tags,
	}
	in.CopyTagsToSnapshot = aws.Bool(true)
	if s.manage {
		in.ManageMasterUserPassword = aws.Bool(true)
	} else {
		in.MasterUserPassword = password
	}
	out, err := k.c.CreateDBCluster(ctx, in)
	if err != nil {
		return "", k.undoSubnetGroup(ctx, r, fmt.Errorf("create DB cluster: %w", err))
	}
	arn := aws.ToString(out.DBCluster.DBClusterArn)
	if err := k.setInstances(ctx, r, s, nil); err != nil {
		return "", err
	}
	return arn, k.waitAvailable(ctx, arn)
}

// undoSubnetGroup deletes the subnet group of r after AWS refused to make the database, and
// returns err (with what the deletion failed of, if it did: DeleteParts finds the group later).
func (k *dbKind) undoSubnetGroup(ctx context.Context, r provider.Resource, err error) error {
	if derr := k.deleteSubnetGroup(ctx, r.Name, r.Tags); derr != nil {
		return fmt.Errorf("%w (and the subnet group made for it is left: %v)", err, derr)
	}
	return err
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// ensureSubnetGroup makes the subnet group name in subnets, or makes the one a crashed run left
// (with tags agreeing with tags) have them.
func (k *dbKind) ensureSubnetGroup(ctx context.Context, name string, subnets []string, tags map[string]string) error {
	var ts []rdstypes.Tag
	for _, key := range slices.Sorted(maps.Keys(tags)) {
		ts = append(ts, rdstypes.Tag{Key: aws.String(key), Value: aws.String(tags[key])})
	}
	_, err := k.c.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String(name),
		DBSubnetGroupDescription: aws.String("panka: " + name), SubnetIds: subnets, Tags: ts})
	if err == nil {
		return nil
	}
	if !errors.Is(classify(err), provider.ErrAlreadyExists) {
		return fmt.Errorf("create DB subnet group %s: %w", name, err)
	}
	g, err := k.subnetGroup(ctx, name)
	if err != nil {
		return err
	}
	if err := k.checkGroupOwner(ctx, g, tags); err != nil {
		return err
	}
	return k.setSubnets(ctx, g, subnets)
}

func (k *dbKind) subnetGroup(ctx context.Context, name string) (*rdstypes.DBSubnetGroup, error) {
	out, err := k.c.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("DB subnet group %s: %w", name, err)
	}
	if len(out.DBSubnetGroups) != 1 {
		return nil, fmt.Errorf("%w: DB subnet group %s", provider.ErrNotFound, name)
	}
	return &out.DBSubnetGroups[0], nil
}

func (k *dbKind) checkGroupOwner(ctx context.Context, g *rdstypes.DBSubnetGroup, want map[string]string) error {
	out, err := k.c.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: g.DBSubnetGroupArn})
	if err != nil {
		return fmt.Errorf("tags of DB subnet group %s: %w", aws.ToString(g.DBSubnetGroupName), err)
	}
	have := map[string]string{}
	for _, t := range out.TagList {
		have[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return provider.CheckOwner("DBSubnetGroup", aws.ToString(g.DBSubnetGroupName), have, want)
}

func (k *dbKind) setSubnets(ctx context.Context, g *rdstypes.DBSubnetGroup, subnets []string) error {
	var have []string
	for _, s := range g.Subnets {
		have = append(have, aws.ToString(s.SubnetIdentifier))
	}
	if sameSet(have, subnets) {
		return nil
	}
	_, err := k.c.ModifyDBSubnetGroup(ctx, &rds.ModifyDBSubnetGroupInput{DBSubnetGroupName: g.DBSubnetGroupName, SubnetIds: subnets})
	if err != nil {
		return fmt.Errorf("set the subnets of DB subnet group %s: %w", aws.ToString(g.DBSubnetGroupName), err)
	}
	return nil
}

// setInstances makes the cluster r.Name have s.instances instances of class s.class, NAME-1 to
// NAME-N: it makes the missing ones (waiting for each) and deletes those above N (the highest
// first), and modifies the class and publicity of the others. have are the live instances.
func (k *dbKind) setInstances(ctx context.Context, r provider.Resource, s *dbSpec, have []*rdstypes.DBInstance) error {
	byName := map[string]*rdstypes.DBInstance{}
	for _, in := range have {
		byName[aws.ToString(in.DBInstanceIdentifier)] = in
	}
	for i := 1; i <= s.instances; i++ {
		name := instanceName(r.Name, i)
		if in := byName[name]; in != nil {
			delete(byName, name)
			mod := &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(name), ApplyImmediately: aws.Bool(s.applyImmediately)}
			changed := false
			cls := cmp.Or(aws.ToString(pendingOf(in, s.applyImmediately).DBInstanceClass), aws.ToString(in.DBInstanceClass))
			if cls != s.class {
				mod.DBInstanceClass, changed = aws.String(s.class), true
			}
			if !k.doc && aws.ToBool(in.PubliclyAccessible) != s.public {
				mod.PubliclyAccessible, changed = aws.Bool(s.public), true
			}
			if changed {
				if _, err := k.c.ModifyDBInstance(ctx, mod); err != nil {
					return fmt.Errorf("modify instance %s: %w", name, err)
				}
			}
			continue
		}
		in := &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(name), DBClusterIdentifier: aws.String(r.Name),
			Engine: aws.String(s.engine), DBInstanceClass: aws.String(s.class), Tags: k.tagsOf(r, nil),
			PreferredMaintenanceWindow: optString(s.maintWindow)}
		if !k.doc {
			in.PubliclyAccessible = aws.Bool(s.public)
		}
		provider.ReportProgress(ctx, fmt.Sprintf("creating instance %d of %d", i, s.instances))
		if _, err := k.c.CreateDBInstance(ctx, in); err != nil && !errors.Is(classify(err), provider.ErrAlreadyExists) {
			return fmt.Errorf("create instance %s: %w", name, err)
		}
	}
	// Instances above N (and any other the cluster has), highest name first.
	for _, name := range slices.Backward(slices.Sorted(maps.Keys(byName))) {
		if err := k.deleteInstance(ctx, name, nil); err != nil {
			return err
		}
	}
	return nil
}

// waitAvailable waits until the database arn (and each of a cluster's instances) is available,
// reporting its status; a status AWS gives a database that cannot come up fails at once.
func (k *dbKind) waitAvailable(ctx context.Context, arn string) error {
	last := ""
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		l, err := k.read(ctx, arn)
		if isNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		st := l.raw.(*dbLive).status()
		switch st {
		case "available":
			return true, nil
		case "failed", "incompatible-parameters", "incompatible-network", "incompatible-restore", "inaccessible-encryption-credentials",
			"storage-full", "incompatible-option-group":
			return false, fmt.Errorf("%s %s is %s", k.what(), arn, st)
		}
		if st != last {
			last = st
			provider.ReportProgress(ctx, k.what()+" "+st)
		}
		return false, nil
	})
}

// ---- Update.

func (k *dbKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have := l.raw.(*dbLive)
	s := k.parse(r.Spec)
	if err := k.waitAvailable(ctx, have.arn); err != nil {
		return fmt.Errorf("waiting before the change: %w", err)
	}
	fresh, err := k.read(ctx, have.arn)
	if err != nil {
		return err
	}
	have = fresh.raw.(*dbLive)
	obs := fresh.obs.Spec
	password, err := k.masterPassword(ctx, s)
	if err != nil {
		return err
	}
	if have.group == nil {
		if err := k.ensureSubnetGroup(ctx, have.name, s.subnets, r.Tags); err != nil {
			return err
		}
	} else if err := k.setSubnets(ctx, have.group, s.subnets); err != nil {
		return err
	}
	liveGroups := strs(specList(specMap(obs, "network"), "securityGroups"))
	if have.instance != nil {
		in := have.instance
		mod := &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(have.name), ApplyImmediately: aws.Bool(s.applyImmediately)}
		changed := false
		set := func(differs bool, apply func()) {
			if differs {
				apply()
				changed = true
			}
		}
		// With applyImmediately, a change still scheduled is sent again, to be made now.
		p := pendingOf(in, s.applyImmediately)
		set(cmp.Or(aws.ToString(p.DBInstanceClass), aws.ToString(in.DBInstanceClass)) != s.class, func() { mod.DBInstanceClass = aws.String(s.class) })
		liveAlloc := int(cmp.Or(aws.ToInt32(p.AllocatedStorage), aws.ToInt32(in.AllocatedStorage)))
		// Storage autoscaling may have grown the storage past the spec's: that is no change.
		grown := s.maxAlloc > 0 && aws.ToInt32(in.MaxAllocatedStorage) > 0 && liveAlloc > s.allocated
		set(liveAlloc != s.allocated && !grown, func() { mod.AllocatedStorage = aws.Int32(int32(s.allocated)) })
		set(cmp.Or(aws.ToString(p.StorageType), aws.ToString(in.StorageType)) != s.storageType, func() { mod.StorageType = aws.String(s.storageType) })
		set(int(cmp.Or(aws.ToInt32(p.Iops), aws.ToInt32(in.Iops))) != s.iops && s.iops > 0, func() { mod.Iops = aws.Int32(int32(s.iops)) })
		liveMulti := aws.ToBool(in.MultiAZ)
		if p.MultiAZ != nil {
			liveMulti = *p.MultiAZ
		}
		set(liveMulti != s.multiAZ, func() { mod.MultiAZ = aws.Bool(s.multiAZ) })
		set(s.version != "" && cmp.Or(aws.ToString(p.EngineVersion), aws.ToString(in.EngineVersion)) != s.version, func() {
			mod.EngineVersion, mod.AllowMajorVersionUpgrade = aws.String(s.version), aws.Bool(true)
		})
		set(aws.ToBool(in.AutoMinorVersionUpgrade) != (s.version == ""), func() { mod.AutoMinorVersionUpgrade = aws.Bool(s.version == "") })
		set(int(aws.ToInt32(in.MaxAllocatedStorage)) != s.maxAlloc, func() { mod.MaxAllocatedStorage = aws.Int32(int32(s.maxAlloc)) })
		set(int(aws.ToInt32(in.BackupRetentionPeriod)) != s.retention, func() { mod.BackupRetentionPeriod = aws.Int32(int32(s.retention)) })
		set(s.backupWindow != "" && aws.ToString(in.PreferredBackupWindow) != s.backupWindow, func() { mod.PreferredBackupWindow = aws.String(s.backupWindow) })
		set(s.maintWindow != "" && !strings.EqualFold(aws.ToString(in.PreferredMaintenanceWindow), s.maintWindow), func() {
			mod.PreferredMaintenanceWindow = aws.String(s.maintWindow)
		})
		set(aws.ToBool(in.DeletionProtection) != s.deletionProtection, func() { mod.DeletionProtection = aws.Bool(s.deletionProtection) })
		set(aws.ToBool(in.PubliclyAccessible) != s.public, func() { mod.PubliclyAccessible = aws.Bool(s.public) })
		set(in.Endpoint != nil && int(aws.ToInt32(in.Endpoint.Port)) != s.port, func() { mod.DBPortNumber = aws.Int32(int32(s.port)) })
		set(!sameSet(liveGroups, s.groups), func() { mod.VpcSecurityGroupIds = s.groups })
		set(have.group == nil, func() { mod.DBSubnetGroupName = aws.String(have.name) })
		set((in.MasterUserSecret != nil) != s.manage, func() { mod.ManageMasterUserPassword = aws.Bool(s.manage) })
		set(password != nil, func() { mod.MasterUserPassword = password })
		if changed {
			if _, err := k.c.ModifyDBInstance(ctx, mod); err != nil {
				return fmt.Errorf("modify DB instance: %w", err)
			}
		}
	} else {
		cl := have.cluster
		mod := &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(have.name), ApplyImmediately: aws.Bool(s.applyImmediately)}
		changed := false
		set := func(differs bool, apply func()) {
			if differs {
				apply()
				changed = true
			}
		}
		liveVersion := aws.ToString(cl.EngineVersion)
		if p := cl.PendingModifiedValues; p != nil && p.EngineVersion != nil && !s.applyImmediately {
			liveVersion = aws.ToString(p.EngineVersion)
		}
		set(s.version != "" && liveVersion != s.version, func() {
			mod.EngineVersion, mod.AllowMajorVersionUpgrade = aws.String(s.version), aws.Bool(true)
		})
		set(int(aws.ToInt32(cl.BackupRetentionPeriod)) != s.retention, func() { mod.BackupRetentionPeriod = aws.Int32(int32(s.retention)) })
		set(s.backupWindow != "" && aws.ToString(cl.PreferredBackupWindow) != s.backupWindow, func() { mod.PreferredBackupWindow = aws.String(s.backupWindow) })
		set(s.maintWindow != "" && !strings.EqualFold(aws.ToString(cl.PreferredMaintenanceWindow), s.maintWindow), func() {
			mod.PreferredMaintenanceWindow = aws.String(s.maintWindow)
		})
		set(aws.ToBool(cl.DeletionProtection) != s.deletionProtection, func() { mod.DeletionProtection = aws.Bool(s.deletionProtection) })
		set(int(aws.ToInt32(cl.Port)) != s.port, func() { mod.Port = aws.Int32(int32(s.port)) })
		set(s.storageType != "" && aws.ToString(cl.StorageType) != s.storageType, func() { mod.StorageType = aws.String(s.storageType) })
		set(!sameSet(liveGroups, s.groups), func() { mod.VpcSecurityGroupIds = s.groups })
		set((cl.MasterUserSecret != nil) != s.manage, func() { mod.ManageMasterUserPassword = aws.Bool(s.manage) })
		set(password != nil, func() { mod.MasterUserPassword = password })
		if changed {
			if _, err := k.c.ModifyDBCluster(ctx, mod); err != nil {
				return fmt.Errorf("modify DB cluster: %w", err)
			}
		}
		if err := k.setInstances(ctx, r, s, have.members); err != nil {
			return err
		}
	}
	if want := strings.Join(s.defaults, " "); have.tags[defaultsTag] != want {
		if _, err := k.c.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(have.arn),
			Tags: []rdstypes.Tag{{Key: aws.String(defaultsTag), Value: aws.String(want)}}}); err != nil {
			return fmt.Errorf("tag %s: %w", defaultsTag, err)
		}
	}
	if err := k.setSettingTags(ctx, have.arn, have.tags, s); err != nil {
		return err
	}
	return k.waitAvailable(ctx, have.arn)
}

// tag changes the tags of the database, its instances and its subnet group.
func (k *dbKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	have := l.raw.(*dbLive)
	arns := []string{have.arn}
	for _, m := range have.members {
		arns = append(arns, aws.ToString(m.DBInstanceArn))
	}
	if have.group != nil {
		arns = append(arns, aws.ToString(have.group.DBSubnetGroupArn))
	}
	var tags []rdstypes.Tag
	for _, key := range slices.Sorted(maps.Keys(set)) {
		tags = append(tags, rdstypes.Tag{Key: aws.String(key), Value: aws.String(set[key])})
	}
	for _, arn := range arns {
		if len(tags) > 0 {
			if _, err := k.c.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(arn), Tags: tags}); err != nil {
				return fmt.Errorf("tag %s: %w", arn, err)
			}
		}
		if len(remove) > 0 {
			if _, err := k.c.RemoveTagsFromResource(ctx, &rds.RemoveTagsFromResourceInput{ResourceName: aws.String(arn), TagKeys: remove}); err != nil {
				return fmt.Errorf("untag %s: %w", arn, err)
			}
		}
	}
	return nil
}

// ---- Delete.

func (k *dbKind) delete(ctx context.Context, l *live) error {
	have := l.raw.(*dbLive)
	// The final snapshot to take (nil: none, skipFinalSnapshot).
	var snapshot *string
	if have.tags[skipFinalSnapshotTag] != "true" {
		snapshot = aws.String(finalSnapshotName(have.name, time.Now()))
	}
	if have.instance != nil {
		if aws.ToBool(have.instance.DeletionProtection) {
			return fmt.Errorf("%s %s: %w", k.what(), have.name, errDeletionProtection)
		}
		if err := k.deleteInstance(ctx, have.name, snapshot); err != nil {
			return err
		}
	} else {
		if aws.ToBool(have.cluster.DeletionProtection) {
			return fmt.Errorf("%s %s: %w", k.what(), have.name, errDeletionProtection)
		}
		for _, m := range slices.Backward(have.members) {
			if err := k.deleteInstance(ctx, aws.ToString(m.DBInstanceIdentifier), nil); err != nil {
				return err
			}
		}
		_, err := k.c.DeleteDBCluster(ctx, &rds.DeleteDBClusterInput{DBClusterIdentifier: aws.String(have.name),
			FinalDBSnapshotIdentifier: snapshot, SkipFinalSnapshot: aws.Bool(snapshot == nil)})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("delete DB cluster (final snapshot %s): %w", cmp.Or(aws.ToString(snapshot), "none"), err)
		}
		if err := k.waitGone(ctx, "DB cluster "+have.name, func(ctx context.Context) (string, error) {
			cl, err := k.describeCluster(ctx, have.name)
			if err != nil {
				return "", err
			}
			return aws.ToString(cl.Status), nil
		}); err != nil {
			return err
		}
	}
	return k.deleteSubnetGroup(ctx, have.name, nil)
}

// deleteInstance deletes the DB instance name, with the final snapshot snapshot (nil: none, as a
// cluster's instance, which has no snapshot of its own, or with skipFinalSnapshot), and waits
// until it is gone.
func (k *dbKind) deleteInstance(ctx context.Context, name string, snapshot *string) error {
	in := &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(name), SkipFinalSnapshot: aws.Bool(snapshot == nil), FinalDBSnapshotIdentifier: snapshot}
	if _, err := k.c.DeleteDBInstance(ctx, in); err != nil && !isNotFound(err) && !strings.Contains(err.Error(), "already being deleted") {
		return fmt.Errorf("delete DB instance %s: %w", name, err)
	}
	return k.waitGone(ctx, "DB instance "+name, func(ctx context.Context) (string, error) {
		d, err := k.describeInstance(ctx, name)
		if err != nil {
			return "", err
		}
		return aws.ToString(d.DBInstanceStatus), nil
	})
}

// waitGone waits until status reports not found, reporting the status meanwhile.
func (k *dbKind) waitGone(ctx context.Context, what string, status func(context.Context) (string, error)) error {
	last := ""
	err := waitFor(ctx, func(ctx context.Context) (bool, error) {
		st, err := status(ctx)
		if isNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if st != last {
			last = st
			provider.ReportProgress(ctx, what+" "+st)
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s to go: %w", what, err)
	}
	return nil
}

// deleteSubnetGroup deletes the subnet group name if it exists and, when owner is set, its tags
// do not name another owner than owner's.
func (k *dbKind) deleteSubnetGroup(ctx context.Context, name string, owner map[string]string) error {
	if owner != nil {
		g, err := k.subnetGroup(ctx, name)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := k.checkGroupOwner(ctx, g, owner); err != nil {
			return nil // another deployment's: not ours to delete
		}
	}
	_, err := k.c.DeleteDBSubnetGroup(ctx, &rds.DeleteDBSubnetGroupInput{DBSubnetGroupName: aws.String(name)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete DB subnet group %s: %w", name, err)
	}
	return nil
}

// deletePart deletes a part of a database that is gone: its subnet group, or an instance a
// cluster delete killed halfway left (cluster instances cannot outlive their cluster in AWS, so
// this finds nothing unless the cluster's delete is still under way).
func (k *dbKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	switch p.Type {
	case k.partType("DBSubnetGroup"):
		return true, k.deleteSubnetGroup(ctx, p.ID, nil)
	case k.partType("DBInstance"):
		return true, k.deleteInstance(ctx, p.ID, nil)
	}
	return false, nil
}

// deleteLeftovers deletes the subnet group a Create killed before the database left.
func (k *dbKind) deleteLeftovers(ctx context.Context, r provider.Resource) error {
	return k.deleteSubnetGroup(ctx, r.Name, r.Tags)
}
