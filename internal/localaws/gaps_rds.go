package localaws

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// RDS and DocumentDB (gaps_rds.go): kumo v0.33.1 keeps DB instances and clusters but has no DB
// subnet groups, no tagging operations, no DescribeDBSnapshots or cluster snapshots, and drops
// most settings (ManageMasterUserPassword, MaxAllocatedStorage, Iops, KmsKeyId, an instance's
// Port, its security groups as the SDK sends them). The DocumentDB SDK client signs as "rds"
// and speaks the same Query API. The layer owns all of it: it answers every request signed for
// "rds" from its own state (kumo's RDS and DocumentDB are never asked; an operation it does not
// emulate fails with InvalidAction naming it). DocumentDB clusters and instances are RDS ones
// with engine docdb, as in AWS.
//
// Simulated: an instance or cluster is "creating" for rdsDelay (PANKA_LOCALAWS_RDS_DELAY, else
// 300ms) after its create, "modifying" for rdsDelay after a change applied at once, "deleting"
// for rdsDelay after its delete, then gone. ModifyDBInstance without ApplyImmediately keeps the
// class, storage, IOPS, engine version and Multi-AZ as PendingModifiedValues (no maintenance
// window ever comes); the other settings apply at once, as in RDS. A managed master password is
// a secret made in kumo's Secrets Manager (rds!db-... / rds!cluster-...), deleted with its
// database. Deletion protection refuses deletes (InvalidParameterCombination); a delete without
// SkipFinalSnapshot needs a final snapshot identifier and makes that snapshot (available at
// once, with the database's tags if it copies them to snapshots). A subnet group's subnets must
// exist in kumo's EC2, be in one VPC and cover two zones. A modify to a setting's current value
// cancels its pending change. ModifyDBCluster applies an engine version at once, with or
// without ApplyImmediately (no pending values for clusters). Automatic minor version upgrades
// are recorded (on by default), never made. Not emulated: parameter and option groups, read
// replicas, restores, manual snapshots (CreateDBSnapshot), DescribeDB* filters, stopping and
// starting, failover: each fails loudly.

const (
	rdsGapsFile = "panka-gaps-rds.json"
	rdsXMLNS    = "http://rds.amazonaws.com/doc/2014-10-31/"
	rdsAccount  = "000000000000"
	rdsRegion   = "us-east-1"
)

// rdsDelay is how long an instance or cluster is creating, modifying or deleting.
var rdsDelay = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("PANKA_LOCALAWS_RDS_DELAY")); err == nil && d > 0 {
		return d
	}
	return 300 * time.Millisecond
}()

type rdsTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type rdsSGMember struct {
	VpcSecurityGroupID string `xml:"VpcSecurityGroupId"`
	Status             string `xml:"Status"`
}

type rdsSubnet struct {
	SubnetIdentifier       string `xml:"SubnetIdentifier"`
	SubnetAvailabilityZone struct {
		Name string `xml:"Name"`
	} `xml:"SubnetAvailabilityZone"`
	SubnetStatus string `xml:"SubnetStatus"`
}

type rdsSubnetGroup struct {
	DBSubnetGroupName        string      `xml:"DBSubnetGroupName"`
	DBSubnetGroupDescription string      `xml:"DBSubnetGroupDescription"`
	VpcID                    string      `xml:"VpcId"`
	SubnetGroupStatus        string      `xml:"SubnetGroupStatus"`
	Subnets                  []rdsSubnet `xml:"Subnets>Subnet"`
	DBSubnetGroupArn         string      `xml:"DBSubnetGroupArn"`
	Tags                     []rdsTag    `xml:"-" json:"tags"`
}

type rdsSecret struct {
	SecretArn    string `xml:"SecretArn"`
	SecretStatus string `xml:"SecretStatus"`
}

type rdsEndpoint struct {
	Address string `xml:"Address"`
	Port    int    `xml:"Port"`
}

type rdsPending struct {
	DBInstanceClass  string `xml:"DBInstanceClass,omitempty" json:",omitempty"`
	AllocatedStorage int    `xml:"AllocatedStorage,omitempty" json:",omitempty"`
	StorageType      string `xml:"StorageType,omitempty" json:",omitempty"`
	Iops             int    `xml:"Iops,omitempty" json:",omitempty"`
	EngineVersion    string `xml:"EngineVersion,omitempty" json:",omitempty"`
	MultiAZ          *bool  `xml:"MultiAZ,omitempty" json:",omitempty"`
}

// rdsTimes are when an instance or cluster was created, last changed at once, and deleted.
type rdsTimes struct {
	Created  time.Time `xml:"-"`
	Modified time.Time `xml:"-"`
	Deleted  time.Time `xml:"-"`
}

func (t *rdsTimes) status(now time.Time) string {
	switch {
	case !t.Deleted.IsZero():
		return "deleting"
	case now.Sub(t.Created) < rdsDelay:
		return "creating"
	case !t.Modified.IsZero() && now.Sub(t.Modified) < rdsDelay:
		return "modifying"
	}
	return "available"
}

func (t *rdsTimes) gone(now time.Time) bool {
	return !t.Deleted.IsZero() && now.Sub(t.Deleted) >= rdsDelay
}

type rdsInstance struct {
	rdsTimes
	DBInstanceIdentifier       string          `xml:"DBInstanceIdentifier"`
	DBInstanceClass            string          `xml:"DBInstanceClass"`
	Engine                     string          `xml:"Engine"`
	EngineVersion              string          `xml:"EngineVersion"`
	DBInstanceStatus           string          `xml:"DBInstanceStatus"`
	MasterUsername             string          `xml:"MasterUsername,omitempty"`
	DBName                     string          `xml:"DBName,omitempty"`
	Endpoint                   *rdsEndpoint    `xml:"Endpoint,omitempty"`
	AllocatedStorage           int             `xml:"AllocatedStorage"`
	MaxAllocatedStorage        int             `xml:"MaxAllocatedStorage,omitempty"`
	StorageType                string          `xml:"StorageType,omitempty"`
	Iops                       int             `xml:"Iops,omitempty"`
	MultiAZ                    bool            `xml:"MultiAZ"`
	AvailabilityZone           string          `xml:"AvailabilityZone,omitempty"`
	BackupRetentionPeriod      int             `xml:"BackupRetentionPeriod"`
	PreferredBackupWindow      string          `xml:"PreferredBackupWindow,omitempty"`
	PreferredMaintenanceWindow string          `xml:"PreferredMaintenanceWindow,omitempty"`
	DeletionProtection         bool            `xml:"DeletionProtection"`
	StorageEncrypted           bool            `xml:"StorageEncrypted"`
	KmsKeyID                   string          `xml:"KmsKeyId,omitempty"`
	PubliclyAccessible         bool            `xml:"PubliclyAccessible"`
	PerformanceInsights        bool            `xml:"PerformanceInsightsEnabled"`
	AutoMinorVersionUpgrade    bool            `xml:"AutoMinorVersionUpgrade"`
	CopyTagsToSnapshot         bool            `xml:"CopyTagsToSnapshot"`
	DBInstanceArn              string          `xml:"DBInstanceArn"`
	DbiResourceID              string          `xml:"DbiResourceId"`
	DBClusterIdentifier        string          `xml:"DBClusterIdentifier,omitempty"`
	DBSubnetGroup              *rdsSubnetGroup `xml:"DBSubnetGroup,omitempty"`
	SubnetGroupName            string          `xml:"-"`
	VpcSecurityGroups          []rdsSGMember   `xml:"VpcSecurityGroups>VpcSecurityGroupMembership"`
	MasterUserSecret           *rdsSecret      `xml:"MasterUserSecret,omitempty"`
	Pending                    rdsPending      `xml:"PendingModifiedValues"`
	Tags                       []rdsTag        `xml:"TagList>Tag"`
	InstanceCreateTime         string          `xml:"InstanceCreateTime"`
}

type rdsClusterMember struct {
	DBInstanceIdentifier string `xml:"DBInstanceIdentifier"`
	IsClusterWriter      bool   `xml:"IsClusterWriter"`
}

type rdsCluster struct {
	rdsTimes
	DBClusterIdentifier        string             `xml:"DBClusterIdentifier"`
	DBClusterArn               string             `xml:"DBClusterArn"`
	DbClusterResourceID        string             `xml:"DbClusterResourceId"`
	Engine                     string             `xml:"Engine"`
	EngineVersion              string             `xml:"EngineVersion"`
	Status                     string             `xml:"Status"`
	MasterUsername             string             `xml:"MasterUsername"`
	DatabaseName               string             `xml:"DatabaseName,omitempty"`
	Endpoint                   string             `xml:"Endpoint"`
	ReaderEndpoint             string             `xml:"ReaderEndpoint"`
	Port                       int                `xml:"Port"`
	StorageType                string             `xml:"StorageType,omitempty"`
	BackupRetentionPeriod      int                `xml:"BackupRetentionPeriod"`
	PreferredBackupWindow      string             `xml:"PreferredBackupWindow"`
	PreferredMaintenanceWindow string             `xml:"PreferredMaintenanceWindow"`
	DeletionProtection         bool               `xml:"DeletionProtection"`
	StorageEncrypted           bool               `xml:"StorageEncrypted"`
	KmsKeyID                   string             `xml:"KmsKeyId,omitempty"`
	CopyTagsToSnapshot         bool               `xml:"CopyTagsToSnapshot"`
	DBSubnetGroup              string             `xml:"DBSubnetGroup"`
	VpcSecurityGroups          []rdsSGMember      `xml:"VpcSecurityGroups>VpcSecurityGroupMembership"`
	MasterUserSecret           *rdsSecret         `xml:"MasterUserSecret,omitempty"`
	DBClusterMembers           []rdsClusterMember `xml:"DBClusterMembers>DBClusterMember"`
	Tags                       []rdsTag           `xml:"TagList>Tag"`
	ClusterCreateTime          string             `xml:"ClusterCreateTime"`
}

type rdsSnapshot struct {
	ID                   string   `xml:"-" json:"id"`
	Cluster              bool     `xml:"-" json:"cluster"`
	DBSnapshotIdentifier string   `xml:"DBSnapshotIdentifier,omitempty"`
	DBInstanceIdentifier string   `xml:"DBInstanceIdentifier,omitempty"`
	DBSnapshotArn        string   `xml:"DBSnapshotArn,omitempty"`
	ClusterSnapshotID    string   `xml:"DBClusterSnapshotIdentifier,omitempty"`
	DBClusterIdentifier  string   `xml:"DBClusterIdentifier,omitempty"`
	ClusterSnapshotArn   string   `xml:"DBClusterSnapshotArn,omitempty"`
	Engine               string   `xml:"Engine"`
	EngineVersion        string   `xml:"EngineVersion"`
	Status               string   `xml:"Status"`
	SnapshotType         string   `xml:"SnapshotType"`
	SnapshotCreateTime   string   `xml:"SnapshotCreateTime"`
	Tags                 []rdsTag `xml:"TagList>Tag"`
}

type rdsGapState struct {
	mu           sync.Mutex
	dir          string
	Instances    map[string]*rdsInstance    `json:"instances"`
	Clusters     map[string]*rdsCluster     `json:"clusters"`
	SubnetGroups map[string]*rdsSubnetGroup `json:"subnetGroups"`
	Snapshots    map[string]*rdsSnapshot    `json:"snapshots"` // by "db:ID" or "cluster:ID"
}

var rdsGaps = newRDSGapState(os.Getenv("KUMO_DATA_DIR"))

func newRDSGapState(dir string) *rdsGapState {
	g := &rdsGapState{dir: dir}
	loadGapFile(dir, rdsGapsFile, g)
	if g.Instances == nil {
		g.Instances = map[string]*rdsInstance{}
	}
	if g.Clusters == nil {
		g.Clusters = map[string]*rdsCluster{}
	}
	if g.SubnetGroups == nil {
		g.SubnetGroups = map[string]*rdsSubnetGroup{}
	}
	if g.Snapshots == nil {
		g.Snapshots = map[string]*rdsSnapshot{}
	}
	return g
}

func (g *rdsGapState) saveLocked() error { return saveGapFile(g.dir, rdsGapsFile, g) }

// purgeLocked forgets what finished deleting.
func (g *rdsGapState) purgeLocked(now time.Time) {
	for id, in := range g.Instances {
		if in.gone(now) {
			delete(g.Instances, id)
			if c := g.Clusters[in.DBClusterIdentifier]; c != nil {
				c.DBClusterMembers = slices.DeleteFunc(c.DBClusterMembers, func(m rdsClusterMember) bool { return m.DBInstanceIdentifier == id })
			}
		}
	}
	for id, c := range g.Clusters {
		if c.gone(now) {
			delete(g.Clusters, id)
		}
	}
}

func init() {
	operationReaders["rds"] = queryOperation("rds")
	for op, h := range map[string]func(*rdsCall) error{
		"CreateDBSubnetGroup":        rdsCreateDBSubnetGroup,
		"DescribeDBSubnetGroups":     rdsDescribeDBSubnetGroups,
		"ModifyDBSubnetGroup":        rdsModifyDBSubnetGroup,
		"DeleteDBSubnetGroup":        rdsDeleteDBSubnetGroup,
		"CreateDBInstance":           rdsCreateDBInstance,
		"DescribeDBInstances":        rdsDescribeDBInstances,
		"ModifyDBInstance":           rdsModifyDBInstance,
		"DeleteDBInstance":           rdsDeleteDBInstance,
		"CreateDBCluster":            rdsCreateDBCluster,
		"DescribeDBClusters":         rdsDescribeDBClusters,
		"ModifyDBCluster":            rdsModifyDBCluster,
		"DeleteDBCluster":            rdsDeleteDBCluster,
		"DescribeDBSnapshots":        rdsDescribeSnapshots(false),
		"DescribeDBClusterSnapshots": rdsDescribeSnapshots(true),
		"DeleteDBSnapshot":           rdsDeleteSnapshot(false),
		"DeleteDBClusterSnapshot":    rdsDeleteSnapshot(true),
		"ListTagsForResource":        rdsListTags,
		"AddTagsToResource":          rdsAddTags,
		"RemoveTagsFromResource":     rdsRemoveTags,
	} {
		gapHandlers["rds."+op] = gapHandler{answer: rdsAnswer(op, h)}
	}
	gapHandlers["rds.*"] = gapHandler{answer: func(w http.ResponseWriter, r *http.Request, _ *gapServer, req []byte) {
		writeRDSError(w, http.StatusBadRequest, "InvalidAction", "local aws: RDS operation "+parseForm(req).Get("Action")+" is not emulated")
	}}
}

// rdsCall is one request: its form, the server (for kumo's EC2 and Secrets Manager), and the
// result document the handler writes.
type rdsCall struct {
	ctx    context.Context
	s      *gapServer
	form   url.Values
	now    time.Time
	result any
}

// rdsError is an RDS fault answered to the client.
type rdsError struct {
	status    int
	code, msg string
}

func (e *rdsError) Error() string { return e.code + ": " + e.msg }

func rdsFault(code, format string, args ...any) error {
	status := http.StatusBadRequest
	if strings.HasSuffix(code, "NotFound") || strings.HasSuffix(code, "NotFoundFault") {
		status = http.StatusNotFound
	}
	return &rdsError{status, code, fmt.Sprintf(format, args...)}
}

func rdsAnswer(op string, h func(*rdsCall) error) func(http.ResponseWriter, *http.Request, *gapServer, []byte) {
	return func(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
		c := &rdsCall{ctx: r.Context(), s: s, form: parseForm(req), now: time.Now()}
		if err := h(c); err != nil {
			if re, ok := err.(*rdsError); ok {
				writeRDSError(w, re.status, re.code, re.msg)
				return
			}
			writeRDSError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
			return
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s<%sResponse xmlns=%q><%sResult>", xml.Header, op, rdsXMLNS, op)
		if c.result != nil {
			data, err := xml.Marshal(c.result)
			if err != nil {
				writeRDSError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
				return
			}
			b.Write(data)
		}
		id := uuid.NewString()
		fmt.Fprintf(&b, "</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", op, id, op)
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("x-amzn-RequestId", id)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b.Bytes())
	}
}

func writeRDSError(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<ErrorResponse xmlns=%q><Error><Type>Sender</Type><Code>%s</Code><Message>", rdsXMLNS, code)
	_ = xml.EscapeText(&b, []byte(msg))
	id := uuid.NewString()
	fmt.Fprintf(&b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>", id)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header+b.String())
}

// rdsList returns a Query list whatever its member name (NAME.X.1, NAME.X.2, ...).
func rdsList(form url.Values, name string) []string {
	type item struct {
		n int
		v string
	}
	var items []item
	for k, v := range form {
		rest, ok := strings.CutPrefix(k, name+".")
		if !ok {
			continue
		}
		_, num, ok := strings.Cut(rest, ".")
		if !ok || strings.Contains(num, ".") {
			continue
		}
		n, err := strconv.Atoi(num)
		if err == nil {
			items = append(items, item{n, v[0]})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return a.n - b.n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// rdsFormTags returns Tags.Tag.N.Key/Value.
func rdsFormTags(form url.Values) []rdsTag {
	var out []rdsTag
	for i := 1; ; i++ {
		k := form.Get(fmt.Sprintf("Tags.Tag.%d.Key", i))
		if k == "" {
			k = form.Get(fmt.Sprintf("Tags.member.%d.Key", i))
			if k == "" {
				return out
			}
			out = append(out, rdsTag{k, form.Get(fmt.Sprintf("Tags.member.%d.Value", i))})
			continue
		}
		out = append(out, rdsTag{k, form.Get(fmt.Sprintf("Tags.Tag.%d.Value", i))})
	}
}

func formInt(form url.Values, name string) (int, bool) {
	if !form.Has(name) {
		return 0, false
	}
	n, err := strconv.Atoi(form.Get(name))
	return n, err == nil
}

func formBool(form url.Values, name string) (bool, bool) {
	if !form.Has(name) {
		return false, false
	}
	return form.Get(name) == "true", true
}

func rdsARN(kind, id string) string {
	return fmt.Sprintf("arn:aws:rds:%s:%s:%s:%s", rdsRegion, rdsAccount, kind, id)
}

var rdsIdentRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{0,62}$`)

func rdsCheckIdent(what, id string) error {
	if !rdsIdentRe.MatchString(id) || strings.HasSuffix(id, "-") || strings.Contains(id, "--") {
		return rdsFault("InvalidParameterValue", "The parameter %s is not a valid identifier: %q", what, id)
	}
	return nil
}

// rdsDefaults are each engine's default version and port.
var rdsDefaults = map[string]struct {
	version string
	port    int
}{
	"postgres": {"16.4", 5432}, "mysql": {"8.0.39", 3306}, "mariadb": {"10.11.9", 3306},
	"aurora-postgresql": {"16.4", 5432}, "aurora-mysql": {"8.0.mysql_aurora.3.08.0", 3306},
	"docdb": {"5.0.0", 27017},
}

func rdsDomain(engine string) string {
	if engine == "docdb" {
		return "docdb.amazonaws.com"
	}
	return "rds.amazonaws.com"
}

// ---- Subnet groups.

// subnetsOf asks kumo's EC2 for the subnets' VPC and zones.
func (c *rdsCall) subnetsOf(ids []string) (string, []rdsSubnet, error) {
	if len(ids) == 0 {
		return "", nil, rdsFault("InvalidParameterValue", "SubnetIds must name at least one subnet")
	}
	form := url.Values{"Action": {"DescribeSubnets"}, "Version": {"2016-11-15"}}
	for i, id := range ids {
		form.Set(fmt.Sprintf("SubnetId.%d", i+1), id)
	}
	status, data, err := c.s.askKumo(c.ctx, "ec2", "", []byte(form.Encode()))
	if err != nil {
		return "", nil, err
	}
	if status != http.StatusOK {
		return "", nil, rdsFault("InvalidSubnet", "subnets %v: %s", ids, data)
	}
	var out struct {
		Items []struct {
			SubnetID string `xml:"subnetId"`
			VpcID    string `xml:"vpcId"`
			AZ       string `xml:"availabilityZone"`
		} `xml:"subnetSet>item"`
	}
	if err := xml.Unmarshal(data, &out); err != nil {
		return "", nil, err
	}
	var vpc string
	var subnets []rdsSubnet
	zones := map[string]bool{}
	for _, id := range ids {
		i := slices.IndexFunc(out.Items, func(it struct {
			SubnetID string `xml:"subnetId"`
			VpcID    string `xml:"vpcId"`
			AZ       string `xml:"availabilityZone"`
		}) bool {
			return it.SubnetID == id
		})
		if i < 0 {
			return "", nil, rdsFault("InvalidSubnet", "The subnet %s does not exist", id)
		}
		it := out.Items[i]
		if vpc != "" && it.VpcID != vpc {
			return "", nil, rdsFault("InvalidParameterValue", "Some of the subnets are in different VPCs: %s is in %s, not %s", id, it.VpcID, vpc)
		}
		vpc = it.VpcID
		sn := rdsSubnet{SubnetIdentifier: id, SubnetStatus: "Active"}
		sn.SubnetAvailabilityZone.Name = it.AZ
		subnets = append(subnets, sn)
		zones[it.AZ] = true
	}
	if len(zones) < 2 {
		return "", nil, rdsFault("DBSubnetGroupDoesNotCoverEnoughAZs", "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. Current AZ coverage: %d. Add subnets to cover at least 2 AZs.", len(zones))
	}
	return vpc, subnets, nil
}

func rdsCreateDBSubnetGroup(c *rdsCall) error {
	name := strings.ToLower(c.form.Get("DBSubnetGroupName"))
	if name == "" {
		return rdsFault("InvalidParameterValue", "DBSubnetGroupName is required")
	}
	vpc, subnets, err := c.subnetsOf(rdsList(c.form, "SubnetIds"))
	if err != nil {
		return err
	}
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.SubnetGroups[name] != nil {
		return rdsFault("DBSubnetGroupAlreadyExists", "DB subnet group %s already exists", name)
	}
	sg := &rdsSubnetGroup{DBSubnetGroupName: name, DBSubnetGroupDescription: c.form.Get("DBSubnetGroupDescription"), VpcID: vpc,
		SubnetGroupStatus: "Complete", Subnets: subnets, DBSubnetGroupArn: rdsARN("subgrp", name), Tags: rdsFormTags(c.form)}
	g.SubnetGroups[name] = sg
	c.result = struct {
		XMLName xml.Name `xml:"DBSubnetGroup"`
		*rdsSubnetGroup
	}{rdsSubnetGroup: sg}
	return g.saveLocked()
}

func rdsModifyDBSubnetGroup(c *rdsCall) error {
	name := strings.ToLower(c.form.Get("DBSubnetGroupName"))
	vpc, subnets, err := c.subnetsOf(rdsList(c.form, "SubnetIds"))
	if err != nil {
		return err
	}
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	sg := g.SubnetGroups[name]
	if sg == nil {
		return rdsFault("DBSubnetGroupNotFoundFault", "DB subnet group %s not found", name)
	}
	if vpc != sg.VpcID {
		return rdsFault("InvalidParameterValue", "The new subnets are in VPC %s, the group's in %s", vpc, sg.VpcID)
	}
	sg.Subnets = subnets
	if c.form.Has("DBSubnetGroupDescription") {
		sg.DBSubnetGroupDescription = c.form.Get("DBSubnetGroupDescription")
	}
	c.result = struct {
		XMLName xml.Name `xml:"DBSubnetGroup"`
		*rdsSubnetGroup
	}{rdsSubnetGroup: sg}
	return g.saveLocked()
}

func rdsDescribeDBSubnetGroups(c *rdsCall) error {
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*rdsSubnetGroup
	if name := strings.ToLower(c.form.Get("DBSubnetGroupName")); name != "" {
		sg := g.SubnetGroups[name]
		if sg == nil {
			return rdsFault("DBSubnetGroupNotFoundFault", "DB subnet group %s not found", name)
		}
		out = append(out, sg)
	} else {
		for _, name := range sortedKeys(g.SubnetGroups) {
			out = append(out, g.SubnetGroups[name])
		}
	}
	c.result = struct {
		XMLName xml.Name          `xml:"DBSubnetGroups"`
		Groups  []*rdsSubnetGroup `xml:"DBSubnetGroup"`
	}{Groups: out}
	return nil
}

func rdsDeleteDBSubnetGroup(c *rdsCall) error {
	name := strings.ToLower(c.form.Get("DBSubnetGroupName"))
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	if g.SubnetGroups[name] == nil {
		return rdsFault("DBSubnetGroupNotFoundFault", "DB subnet group %s not found", name)
	}
	for _, in := range g.Instances {
		if in.SubnetGroupName == name {
			return rdsFault("InvalidDBSubnetGroupStateFault", "Cannot delete the subnet group '%s' because at least one database instance: %s is still using it.", name, in.DBInstanceIdentifier)
		}
	}
	for _, cl := range g.Clusters {
		if cl.DBSubnetGroup == name {
			return rdsFault("InvalidDBSubnetGroupStateFault", "Cannot delete the subnet group '%s' because at least one database cluster: %s is still using it.", name, cl.DBClusterIdentifier)
		}
	}
	delete(g.SubnetGroups, name)
	return g.saveLocked()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ---- Managed master passwords.

// makeSecret makes the managed master password's secret in kumo's Secrets Manager.
func (c *rdsCall) makeSecret(kind, resourceID, user string) (*rdsSecret, error) {
	body, _ := json.Marshal(map[string]string{
		"Name":         fmt.Sprintf("rds!%s-%s", kind, resourceID),
		"SecretString": fmt.Sprintf(`{"username":%q,"password":%q}`, user, uuid.NewString()),
		"Description":  "Secret associated with primary RDS DB " + kind + ": " + resourceID,
	})
	status, data, err := c.s.askKumo(c.ctx, "secretsmanager", "secretsmanager.CreateSecret", body)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("secrets manager: %s", data)
	}
	var out struct{ ARN string }
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return &rdsSecret{SecretArn: out.ARN, SecretStatus: "active"}, nil
}

// modifySecret turns a managed master password on or off as a Modify request f asks
// (ManageMasterUserPassword), for an instance or a cluster whose secret is *sec.
func (c *rdsCall) modifySecret(f url.Values, kind, resourceID, user string, sec **rdsSecret) error {
	manage, set := formBool(f, "ManageMasterUserPassword")
	switch {
	case set && manage && *sec == nil:
		made, err := c.makeSecret(kind, resourceID, user)
		if err != nil {
			return err
		}
		*sec = made
	case set && !manage && *sec != nil:
		if f.Get("MasterUserPassword") == "" {
			return rdsFault("InvalidParameterCombination", "To turn off ManageMasterUserPassword, specify MasterUserPassword.")
		}
		c.dropSecret(*sec)
		*sec = nil
	}
	return nil
}

func (c *rdsCall) dropSecret(sec *rdsSecret) {
	if sec == nil {
		return
	}
	body, _ := json.Marshal(map[string]any{"SecretId": sec.SecretArn, "ForceDeleteWithoutRecovery": true})
	_, _, _ = c.s.askKumo(c.ctx, "secretsmanager", "secretsmanager.DeleteSecret", body)
}

// password checks a create's master password settings: exactly one of them.
func rdsPassword(form url.Values, need bool) (manage bool, err error) {
	manage, _ = formBool(form, "ManageMasterUserPassword")
	pw := form.Get("MasterUserPassword")
	switch {
	case manage && pw != "":
		return false, rdsFault("InvalidParameterCombination", "You can't specify MasterUserPassword and ManageMasterUserPassword together.")
	case need && !manage && pw == "":
		return false, rdsFault("InvalidParameterValue", "The parameter MasterUserPassword must be provided and must not be blank.")
	case pw != "" && len(pw) < 8:
		return false, rdsFault("InvalidParameterValue", "The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.")
	}
	return manage, nil
}

func (g *rdsGapState) sgMembers(ids []string) []rdsSGMember {
	var out []rdsSGMember
	for _, id := range ids {
		out = append(out, rdsSGMember{id, "active"})
	}
	return out
}

// ---- DB instances.

// view returns the instance as DescribeDBInstances answers at now.
func (in *rdsInstance) view(now time.Time, g *rdsGapState) *rdsInstance {
	v := *in
	v.DBInstanceStatus = in.status(now)
	if sg := g.SubnetGroups[in.SubnetGroupName]; sg != nil {
		v.DBSubnetGroup = sg
	}
	if c := g.Clusters[in.DBClusterIdentifier]; c != nil {
		v.VpcSecurityGroups = c.VpcSecurityGroups
		if sg := g.SubnetGroups[c.DBSubnetGroup]; sg != nil {
			v.DBSubnetGroup = sg
		}
	}
	return &v
}

func rdsCreateDBInstance(c *rdsCall) error {
	f := c.form
	id := strings.ToLower(f.Get("DBInstanceIdentifier"))
	if err := rdsCheckIdent("DBInstanceIdentifier", id); err != nil {
		return err
	}
	engine := f.Get("Engine")
	def, ok := rdsDefaults[engine]
	if !ok {
		return rdsFault("InvalidParameterValue", "Invalid DB engine: %s", engine)
	}
	class := f.Get("DBInstanceClass")
	if class == "" {
		return rdsFault("InvalidParameterValue", "DBInstanceClass is required")
	}
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	if g.Instances[id] != nil {
		return rdsFault("DBInstanceAlreadyExists", "DB instance already exists")
	}
	in := &rdsInstance{
		rdsTimes:             rdsTimes{Created: c.now},
		DBInstanceIdentifier: id, DBInstanceClass: class, Engine: engine,
		DBInstanceArn: rdsARN("db", id), DbiResourceID: "db-" + strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", "")[:26]),
		Tags:               rdsFormTags(f),
		InstanceCreateTime: c.now.UTC().Format(time.RFC3339),
		AvailabilityZone:   rdsRegion + "a",
	}
	in.PubliclyAccessible, _ = formBool(f, "PubliclyAccessible")
	in.PerformanceInsights, _ = formBool(f, "EnablePerformanceInsights")
	in.AutoMinorVersionUpgrade = true
	if b, ok := formBool(f, "AutoMinorVersionUpgrade"); ok {
		in.AutoMinorVersionUpgrade = b
	}
	in.CopyTagsToSnapshot, _ = formBool(f, "CopyTagsToSnapshot")
	port := def.port
	if n, ok := formInt(f, "Port"); ok {
		port = n
	}
	if cid := strings.ToLower(f.Get("DBClusterIdentifier")); cid != "" {
		cl := g.Clusters[cid]
		if cl == nil || !cl.Deleted.IsZero() {
			return rdsFault("DBClusterNotFoundFault", "DBCluster %s not found.", cid)
		}
		if cl.Engine != engine {
			return rdsFault("InvalidParameterCombination", "The engine name requested for your DB instance (%s) doesn't match the engine name of your DB cluster (%s).", engine, cl.Engine)
		}
		in.DBClusterIdentifier, in.EngineVersion, in.MasterUsername, in.DBName = cid, cl.EngineVersion, cl.MasterUsername, cl.DatabaseName
		in.StorageEncrypted, in.KmsKeyID, in.StorageType, in.BackupRetentionPeriod = cl.StorageEncrypted, cl.KmsKeyID, cl.StorageType, cl.BackupRetentionPeriod
		in.PreferredBackupWindow = cl.PreferredBackupWindow
		in.PreferredMaintenanceWindow = cmp.Or(f.Get("PreferredMaintenanceWindow"), cl.PreferredMaintenanceWindow)
		in.AllocatedStorage = 1
		port = cl.Port
		cl.DBClusterMembers = append(cl.DBClusterMembers, rdsClusterMember{id, len(cl.DBClusterMembers) == 0})
	} else {
		if engine == "docdb" || strings.HasPrefix(engine, "aurora-") {
			return rdsFault("InvalidParameterCombination", "A %s DB instance must belong to a DB cluster: set DBClusterIdentifier", engine)
		}
		manage, err := rdsPassword(f, true)
		if err != nil {
			return err
		}
		in.EngineVersion = cmp.Or(f.Get("EngineVersion"), def.version)
		in.MasterUsername = f.Get("MasterUsername")
		in.DBName = f.Get("DBName")
		in.AllocatedStorage, _ = formInt(f, "AllocatedStorage")
		if in.AllocatedStorage == 0 {
			return rdsFault("InvalidParameterValue", "AllocatedStorage is required")
		}
		in.MaxAllocatedStorage, _ = formInt(f, "MaxAllocatedStorage")
		if in.MaxAllocatedStorage != 0 && in.MaxAllocatedStorage <= in.AllocatedStorage {
			return rdsFault("InvalidParameterCombination", "Max storage size must be greater than storage size")
		}
		in.StorageType = cmp.Or(f.Get("StorageType"), "gp2")
		in.Iops, _ = formInt(f, "Iops")
		in.MultiAZ, _ = formBool(f, "MultiAZ")
		in.BackupRetentionPeriod = 1
		if n, ok := formInt(f, "BackupRetentionPeriod"); ok {
			in.BackupRetentionPeriod = n
		}
		in.PreferredBackupWindow = cmp.Or(f.Get("PreferredBackupWindow"), "07:00-07:30")
		in.PreferredMaintenanceWindow = cmp.Or(strings.ToLower(f.Get("PreferredMaintenanceWindow")), "sun:05:00-sun:05:30")
		in.DeletionProtection, _ = formBool(f, "DeletionProtection")
		in.StorageEncrypted, _ = formBool(f, "StorageEncrypted")
		in.KmsKeyID = f.Get("KmsKeyId")
		if in.KmsKeyID != "" && !in.StorageEncrypted {
			return rdsFault("InvalidParameterCombination", "Encryption must be enabled if KmsKeyId is specified")
		}
		if name := strings.ToLower(f.Get("DBSubnetGroupName")); name != "" {
			if g.SubnetGroups[name] == nil {
				return rdsFault("DBSubnetGroupNotFoundFault", "DBSubnetGroup %s not found.", name)
			}
			in.SubnetGroupName = name
		}
		in.VpcSecurityGroups = g.sgMembers(rdsList(f, "VpcSecurityGroupIds"))
		if manage {
			sec, err := c.makeSecret("db", in.DbiResourceID, in.MasterUsername)
			if err != nil {
				return err
			}
			in.MasterUserSecret = sec
		}
	}
	in.Endpoint = &rdsEndpoint{Address: id + ".c0panka0local." + rdsRegion + "." + rdsDomain(engine), Port: port}
	g.Instances[id] = in
	c.result = struct {
		XMLName xml.Name `xml:"DBInstance"`
		*rdsInstance
	}{rdsInstance: in.view(c.now, g)}
	return g.saveLocked()
}

// pendingString is a pending change to v of a setting that is now cur ("" when none).
func pendingString(v, cur string) string {
	if v == cur {
		return ""
	}
	return v
}

func pendingInt(v, cur int) int {
	if v == cur {
		return 0
	}
	return v
}

func rdsDescribeDBInstances(c *rdsCall) error {
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	var out []*rdsInstance
	if id := strings.ToLower(c.form.Get("DBInstanceIdentifier")); id != "" {
		in := g.Instances[id]
		if in == nil {
			return rdsFault("DBInstanceNotFound", "DBInstance %s not found.", id)
		}
		out = append(out, in.view(c.now, g))
	} else {
		if filters := rdsList(c.form, "Filters"); len(filters) > 0 || c.form.Has("Filters.Filter.1.Name") {
			return rdsFault("InvalidParameterValue", "local aws: DescribeDBInstances filters are not emulated")
		}
		for _, id := range sortedKeys(g.Instances) {
			out = append(out, g.Instances[id].view(c.now, g))
		}
	}
	c.result = struct {
		XMLName   xml.Name       `xml:"DBInstances"`
		Instances []*rdsInstance `xml:"DBInstance"`
	}{Instances: out}
	return nil
}

func rdsModifyDBInstance(c *rdsCall) error {
	f := c.form
	id := strings.ToLower(f.Get("DBInstanceIdentifier"))
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	in := g.Instances[id]
	if in == nil {
		return rdsFault("DBInstanceNotFound", "DBInstance %s not found.", id)
	}
	if st := in.status(c.now); st != "available" {
		return rdsFault("InvalidDBInstanceState", "Database instance is not in available state (%s).", st)
	}
	now, _ := formBool(f, "ApplyImmediately")
	applied := false
	// Settings RDS applies at the next maintenance window unless ApplyImmediately: a value other
	// than the current one is pending (replacing what was), the current one cancels the pending.
	if v := f.Get("DBInstanceClass"); v != "" {
		in.Pending.DBInstanceClass = pendingString(v, in.DBInstanceClass)
	}
	if n, ok := formInt(f, "AllocatedStorage"); ok {
		if n < in.AllocatedStorage {
			return rdsFault("InvalidParameterCombination", "Invalid storage size for engine name %s and storage type %s: %d (storage cannot shrink)", in.Engine, in.StorageType, n)
		}
		in.Pending.AllocatedStorage = pendingInt(n, in.AllocatedStorage)
	}
	if v := f.Get("StorageType"); v != "" {
		in.Pending.StorageType = pendingString(v, in.StorageType)
	}
	if n, ok := formInt(f, "Iops"); ok {
		in.Pending.Iops = pendingInt(n, in.Iops)
	}
	if v := f.Get("EngineVersion"); v != "" {
		if in.DBClusterIdentifier != "" && v != in.EngineVersion {
			return rdsFault("InvalidParameterCombination", "The engine version of an instance in a DB cluster is the cluster's: modify the cluster")
		}
		in.Pending.EngineVersion = pendingString(v, in.EngineVersion)
	}
	if b, ok := formBool(f, "MultiAZ"); ok {
		in.Pending.MultiAZ = nil
		if b != in.MultiAZ {
			in.Pending.MultiAZ = &b
		}
	}
	if now {
		p := in.Pending
		if p.DBInstanceClass != "" {
			in.DBInstanceClass = p.DBInstanceClass
		}
		if p.AllocatedStorage != 0 {
			in.AllocatedStorage = p.AllocatedStorage
		}
		if p.StorageType != "" {
			in.StorageType = p.StorageType
		}
		if p.Iops != 0 {
			in.Iops = p.Iops
		}
		if p.EngineVersion != "" {
			in.EngineVersion = p.EngineVersion
		}
		if p.MultiAZ != nil {
			in.MultiAZ = *p.MultiAZ
		}
		applied = p != (rdsPending{})
		in.Pending = rdsPending{}
	}
	// Settings RDS applies at once.
	if n, ok := formInt(f, "MaxAllocatedStorage"); ok {
		if n != 0 && n <= max(in.AllocatedStorage, in.Pending.AllocatedStorage) {
			return rdsFault("InvalidParameterCombination", "Max storage size must be greater than storage size")
		}
		in.MaxAllocatedStorage = n
	}
	if n, ok := formInt(f, "BackupRetentionPeriod"); ok {
		in.BackupRetentionPeriod = n
	}
	if v := f.Get("PreferredBackupWindow"); v != "" {
		in.PreferredBackupWindow = v
	}
	if v := f.Get("PreferredMaintenanceWindow"); v != "" {
		in.PreferredMaintenanceWindow = strings.ToLower(v)
	}
	if b, ok := formBool(f, "DeletionProtection"); ok {
		in.DeletionProtection = b
	}
	if b, ok := formBool(f, "PubliclyAccessible"); ok {
		in.PubliclyAccessible = b
	}
	if b, ok := formBool(f, "EnablePerformanceInsights"); ok {
		in.PerformanceInsights = b
	}
	if b, ok := formBool(f, "AutoMinorVersionUpgrade"); ok {
		in.AutoMinorVersionUpgrade = b
	}
	if b, ok := formBool(f, "CopyTagsToSnapshot"); ok {
		in.CopyTagsToSnapshot = b
	}
	if n, ok := formInt(f, "DBPortNumber"); ok && in.DBClusterIdentifier == "" {
		in.Endpoint.Port = n
		applied = true
	}
	if ids := rdsList(f, "VpcSecurityGroupIds"); len(ids) > 0 && in.DBClusterIdentifier == "" {
		in.VpcSecurityGroups = g.sgMembers(ids)
	}
	if name := strings.ToLower(f.Get("DBSubnetGroupName")); name != "" && name != in.SubnetGroupName {
		if g.SubnetGroups[name] == nil {
			return rdsFault("DBSubnetGroupNotFoundFault", "DBSubnetGroup %s not found.", name)
		}
		in.SubnetGroupName = name
		applied = true
	}
	if in.DBClusterIdentifier == "" {
		if err := c.modifySecret(f, "db", in.DbiResourceID, in.MasterUsername, &in.MasterUserSecret); err != nil {
			return err
		}
	}
	if applied {
		in.Modified = c.now
	}
	c.result = struct {
		XMLName xml.Name `xml:"DBInstance"`
		*rdsInstance
	}{rdsInstance: in.view(c.now, g)}
	return g.saveLocked()
}

// finalSnapshot checks a delete's snapshot settings and returns the snapshot to make (nil: none).
// tags are the database's when it copies its tags to snapshots (CopyTagsToSnapshot), else nil.
func (c *rdsCall) finalSnapshot(g *rdsGapState, cluster bool, of, engine, version string, tags []rdsTag) (*rdsSnapshot, error) {
	skip, _ := formBool(c.form, "SkipFinalSnapshot")
	name := c.form.Get("FinalDBSnapshotIdentifier")
	switch {
	case skip && name != "":
		return nil, rdsFault("InvalidParameterCombination", "FinalDBSnapshotIdentifier can not be specified when deleting with SkipFinalSnapshot enabled")
	case skip:
		return nil, nil
	case name == "":
		return nil, rdsFault("InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
	}
	name = strings.ToLower(name)
	if err := rdsCheckIdent("FinalDBSnapshotIdentifier", name); err != nil {
		return nil, err
	}
	key := "db:" + name
	if cluster {
		key = "cluster:" + name
	}
	if g.Snapshots[key] != nil {
		if cluster {
			return nil, rdsFault("DBClusterSnapshotAlreadyExistsFault", "Cannot create the cluster snapshot because one with the identifier %s already exists.", name)
		}
		return nil, rdsFault("DBSnapshotAlreadyExists", "Cannot create the snapshot because a snapshot with the identifier %s already exists.", name)
	}
	s := &rdsSnapshot{ID: name, Cluster: cluster, Engine: engine, EngineVersion: version, Status: "available", SnapshotType: "manual",
		SnapshotCreateTime: c.now.UTC().Format(time.RFC3339), Tags: slices.Clone(tags)}
	if cluster {
		s.ClusterSnapshotID, s.DBClusterIdentifier, s.ClusterSnapshotArn = name, of, rdsARN("cluster-snapshot", name)
	} else {
		s.DBSnapshotIdentifier, s.DBInstanceIdentifier, s.DBSnapshotArn = name, of, rdsARN("snapshot", name)
	}
	return s, nil
}

func rdsDeleteDBInstance(c *rdsCall) error {
	id := strings.ToLower(c.form.Get("DBInstanceIdentifier"))
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	in := g.Instances[id]
	if in == nil {
		return rdsFault("DBInstanceNotFound", "DBInstance %s not found.", id)
	}
	if !in.Deleted.IsZero() {
		return rdsFault("InvalidDBInstanceState", "Instance %s is already being deleted.", id)
	}
	if in.DeletionProtection {
		return rdsFault("InvalidParameterCombination", "Cannot delete protected DB Instance, please disable deletion protection and try again.")
	}
	if in.DBClusterIdentifier == "" {
		var tags []rdsTag
		if in.CopyTagsToSnapshot {
			tags = in.Tags
		}
		snap, err := c.finalSnapshot(g, false, id, in.Engine, in.EngineVersion, tags)
		if err != nil {
			return err
		}
		if snap != nil {
			g.Snapshots["db:"+snap.ID] = snap
		}
		c.dropSecret(in.MasterUserSecret)
	}
	in.Deleted = c.now
	c.result = struct {
		XMLName xml.Name `xml:"DBInstance"`
		*rdsInstance
	}{rdsInstance: in.view(c.now, g)}
	return g.saveLocked()
}

// ---- DB clusters (Aurora and DocumentDB).

func (cl *rdsCluster) view(now time.Time) *rdsCluster {
	v := *cl
	v.Status = cl.status(now)
	v.DBClusterMembers = slices.Clone(cl.DBClusterMembers)
	return &v
}

func rdsCreateDBCluster(c *rdsCall) error {
	f := c.form
	id := strings.ToLower(f.Get("DBClusterIdentifier"))
	if err := rdsCheckIdent("DBClusterIdentifier", id); err != nil {
		return err
	}
	engine := f.Get("Engine")
	def, ok := rdsDefaults[engine]
	if !ok || (engine != "docdb" && !strings.HasPrefix(engine, "aurora-")) {
		return rdsFault("InvalidParameterValue", "local aws: DB cluster engine %q is not emulated (aurora-postgresql, aurora-mysql, docdb)", engine)
	}
	manage, err := rdsPassword(f, true)
	if err != nil {
		return err
	}
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	if g.Clusters[id] != nil {
		return rdsFault("DBClusterAlreadyExistsFault", "DB Cluster already exists")
	}
	cl := &rdsCluster{
		rdsTimes:            rdsTimes{Created: c.now},
		DBClusterIdentifier: id, DBClusterArn: rdsARN("cluster", id), Engine: engine,
		DbClusterResourceID: "cluster-" + strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", "")[:26]),
		EngineVersion:       cmp.Or(f.Get("EngineVersion"), def.version),
		MasterUsername:      f.Get("MasterUsername"), DatabaseName: f.Get("DatabaseName"),
		Port: def.port, BackupRetentionPeriod: 1,
		PreferredBackupWindow:      cmp.Or(f.Get("PreferredBackupWindow"), "07:00-07:30"),
		PreferredMaintenanceWindow: cmp.Or(strings.ToLower(f.Get("PreferredMaintenanceWindow")), "sun:05:00-sun:05:30"),
		KmsKeyID:                   f.Get("KmsKeyId"),
		StorageType:                f.Get("StorageType"),
		VpcSecurityGroups:          g.sgMembers(rdsList(f, "VpcSecurityGroupIds")),
		Tags:                       rdsFormTags(f),
		ClusterCreateTime:          c.now.UTC().Format(time.RFC3339),
	}
	if cl.StorageType == "" {
		cl.StorageType = "aurora"
		if engine == "docdb" {
			cl.StorageType = "standard"
		}
	}
	if n, ok := formInt(f, "Port"); ok {
		cl.Port = n
	}
	if n, ok := formInt(f, "BackupRetentionPeriod"); ok {
		cl.BackupRetentionPeriod = n
	}
	cl.DeletionProtection, _ = formBool(f, "DeletionProtection")
	cl.StorageEncrypted, _ = formBool(f, "StorageEncrypted")
	cl.CopyTagsToSnapshot, _ = formBool(f, "CopyTagsToSnapshot")
	if cl.KmsKeyID != "" && !cl.StorageEncrypted {
		return rdsFault("InvalidParameterCombination", "Encryption must be enabled if KmsKeyId is specified")
	}
	if name := strings.ToLower(f.Get("DBSubnetGroupName")); name != "" {
		if g.SubnetGroups[name] == nil {
			return rdsFault("DBSubnetGroupNotFoundFault", "DBSubnetGroup %s not found.", name)
		}
		cl.DBSubnetGroup = name
	}
	domain := rdsDomain(engine)
	cl.Endpoint = id + ".cluster-c0panka0local." + rdsRegion + "." + domain
	cl.ReaderEndpoint = id + ".cluster-ro-c0panka0local." + rdsRegion + "." + domain
	if manage {
		sec, err := c.makeSecret("cluster", cl.DbClusterResourceID, cl.MasterUsername)
		if err != nil {
			return err
		}
		cl.MasterUserSecret = sec
	}
	g.Clusters[id] = cl
	c.result = struct {
		XMLName xml.Name `xml:"DBCluster"`
		*rdsCluster
	}{rdsCluster: cl.view(c.now)}
	return g.saveLocked()
}

func rdsDescribeDBClusters(c *rdsCall) error {
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	var out []*rdsCluster
	if id := strings.ToLower(c.form.Get("DBClusterIdentifier")); id != "" {
		cl := g.Clusters[id]
		if cl == nil {
			return rdsFault("DBClusterNotFoundFault", "DBCluster %s not found.", id)
		}
		out = append(out, cl.view(c.now))
	} else {
		if c.form.Has("Filters.Filter.1.Name") || c.form.Has("Filters.member.1.Name") {
			return rdsFault("InvalidParameterValue", "local aws: DescribeDBClusters filters are not emulated")
		}
		for _, id := range sortedKeys(g.Clusters) {
			out = append(out, g.Clusters[id].view(c.now))
		}
	}
	c.result = struct {
		XMLName  xml.Name      `xml:"DBClusters"`
		Clusters []*rdsCluster `xml:"DBCluster"`
	}{Clusters: out}
	return nil
}

func rdsModifyDBCluster(c *rdsCall) error {
	f := c.form
	id := strings.ToLower(f.Get("DBClusterIdentifier"))
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	cl := g.Clusters[id]
	if cl == nil {
		return rdsFault("DBClusterNotFoundFault", "DBCluster %s not found.", id)
	}
	if st := cl.status(c.now); st != "available" {
		return rdsFault("InvalidDBClusterStateFault", "DB cluster is not in available state (%s).", st)
	}
	applied := false
	if v := f.Get("EngineVersion"); v != "" && v != cl.EngineVersion {
		// RDS upgrades a cluster's engine at once only with ApplyImmediately; the layer applies
		// it either way (no maintenance window comes) and to its instances.
		cl.EngineVersion = v
		for _, m := range cl.DBClusterMembers {
			if in := g.Instances[m.DBInstanceIdentifier]; in != nil {
				in.EngineVersion = v
			}
		}
		applied = true
	}
	if n, ok := formInt(f, "Port"); ok && n != cl.Port {
		cl.Port = n
		for _, m := range cl.DBClusterMembers {
			if in := g.Instances[m.DBInstanceIdentifier]; in != nil {
				in.Endpoint.Port = n
			}
		}
		applied = true
	}
	if n, ok := formInt(f, "BackupRetentionPeriod"); ok {
		cl.BackupRetentionPeriod = n
	}
	if v := f.Get("PreferredBackupWindow"); v != "" {
		cl.PreferredBackupWindow = v
	}
	if v := f.Get("PreferredMaintenanceWindow"); v != "" {
		cl.PreferredMaintenanceWindow = strings.ToLower(v)
	}
	if b, ok := formBool(f, "DeletionProtection"); ok {
		cl.DeletionProtection = b
	}
	if v := f.Get("StorageType"); v != "" {
		cl.StorageType = v
	}
	if ids := rdsList(f, "VpcSecurityGroupIds"); len(ids) > 0 {
		cl.VpcSecurityGroups = g.sgMembers(ids)
	}
	if err := c.modifySecret(f, "cluster", cl.DbClusterResourceID, cl.MasterUsername, &cl.MasterUserSecret); err != nil {
		return err
	}
	if applied {
		cl.Modified = c.now
	}
	c.result = struct {
		XMLName xml.Name `xml:"DBCluster"`
		*rdsCluster
	}{rdsCluster: cl.view(c.now)}
	return g.saveLocked()
}

func rdsDeleteDBCluster(c *rdsCall) error {
	id := strings.ToLower(c.form.Get("DBClusterIdentifier"))
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	cl := g.Clusters[id]
	if cl == nil {
		return rdsFault("DBClusterNotFoundFault", "DBCluster %s not found.", id)
	}
	if !cl.Deleted.IsZero() {
		return rdsFault("InvalidDBClusterStateFault", "Cluster %s is already being deleted.", id)
	}
	if cl.DeletionProtection {
		return rdsFault("InvalidParameterCombination", "Cannot delete protected Cluster, please disable deletion protection and try again.")
	}
	for _, m := range cl.DBClusterMembers {
		if in := g.Instances[m.DBInstanceIdentifier]; in != nil && in.Deleted.IsZero() {
			return rdsFault("InvalidDBClusterStateFault", "Cluster cannot be deleted, it still contains DB instances in non-deleting state.")
		}
	}
	var tags []rdsTag
	if cl.CopyTagsToSnapshot {
		tags = cl.Tags
	}
	snap, err := c.finalSnapshot(g, true, id, cl.Engine, cl.EngineVersion, tags)
	if err != nil {
		return err
	}
	if snap != nil {
		g.Snapshots["cluster:"+snap.ID] = snap
	}
	c.dropSecret(cl.MasterUserSecret)
	cl.Deleted = c.now
	c.result = struct {
		XMLName xml.Name `xml:"DBCluster"`
		*rdsCluster
	}{rdsCluster: cl.view(c.now)}
	return g.saveLocked()
}

// ---- Snapshots.

func rdsDescribeSnapshots(cluster bool) func(*rdsCall) error {
	return func(c *rdsCall) error {
		g := rdsGaps
		g.mu.Lock()
		defer g.mu.Unlock()
		idField, ofField, prefix := "DBSnapshotIdentifier", "DBInstanceIdentifier", "db:"
		if cluster {
			idField, ofField, prefix = "DBClusterSnapshotIdentifier", "DBClusterIdentifier", "cluster:"
		}
		want, of := strings.ToLower(c.form.Get(idField)), strings.ToLower(c.form.Get(ofField))
		var out []*rdsSnapshot
		for _, key := range sortedKeys(g.Snapshots) {
			s := g.Snapshots[key]
			if !strings.HasPrefix(key, prefix) || (want != "" && s.ID != want) ||
				(of != "" && s.DBInstanceIdentifier != of && s.DBClusterIdentifier != of) {
				continue
			}
			out = append(out, s)
		}
		if want != "" && len(out) == 0 {
			if cluster {
				return rdsFault("DBClusterSnapshotNotFoundFault", "DBClusterSnapshot %s not found.", want)
			}
			return rdsFault("DBSnapshotNotFound", "DBSnapshot %s not found.", want)
		}
		if cluster {
			c.result = struct {
				XMLName   xml.Name       `xml:"DBClusterSnapshots"`
				Snapshots []*rdsSnapshot `xml:"DBClusterSnapshot"`
			}{Snapshots: out}
		} else {
			c.result = struct {
				XMLName   xml.Name       `xml:"DBSnapshots"`
				Snapshots []*rdsSnapshot `xml:"DBSnapshot"`
			}{Snapshots: out}
		}
		return nil
	}
}

func rdsDeleteSnapshot(cluster bool) func(*rdsCall) error {
	return func(c *rdsCall) error {
		g := rdsGaps
		g.mu.Lock()
		defer g.mu.Unlock()
		key, wrap := "db:"+strings.ToLower(c.form.Get("DBSnapshotIdentifier")), "DBSnapshot"
		if cluster {
			key, wrap = "cluster:"+strings.ToLower(c.form.Get("DBClusterSnapshotIdentifier")), "DBClusterSnapshot"
		}
		s := g.Snapshots[key]
		if s == nil {
			if cluster {
				return rdsFault("DBClusterSnapshotNotFoundFault", "DBClusterSnapshot %s not found.", key)
			}
			return rdsFault("DBSnapshotNotFound", "DBSnapshot %s not found.", key)
		}
		delete(g.Snapshots, key)
		c.result = struct {
			XMLName xml.Name
			*rdsSnapshot
		}{xml.Name{Local: wrap}, s}
		return g.saveLocked()
	}
}

// ---- Tags.

// tagsOf returns the tag list of the resource arn.
func (g *rdsGapState) tagsOf(arn string) (*[]rdsTag, error) {
	rest, ok := strings.CutPrefix(arn, fmt.Sprintf("arn:aws:rds:%s:%s:", rdsRegion, rdsAccount))
	kind, id, _ := strings.Cut(rest, ":")
	if ok {
		switch kind {
		case "db":
			if in := g.Instances[id]; in != nil {
				return &in.Tags, nil
			}
			return nil, rdsFault("DBInstanceNotFound", "DBInstance %s not found.", id)
		case "cluster":
			if cl := g.Clusters[id]; cl != nil {
				return &cl.Tags, nil
			}
			return nil, rdsFault("DBClusterNotFoundFault", "DBCluster %s not found.", id)
		case "subgrp":
			if sg := g.SubnetGroups[id]; sg != nil {
				return &sg.Tags, nil
			}
			return nil, rdsFault("DBSubnetGroupNotFoundFault", "DBSubnetGroup %s not found.", id)
		case "snapshot", "cluster-snapshot":
			key := "db:" + id
			if kind == "cluster-snapshot" {
				key = "cluster:" + id
			}
			if s := g.Snapshots[key]; s != nil {
				return &s.Tags, nil
			}
			return nil, rdsFault("DBSnapshotNotFound", "DBSnapshot %s not found.", id)
		}
	}
	return nil, rdsFault("InvalidParameterValue", "local aws: tags of %q are not emulated", arn)
}

func rdsListTags(c *rdsCall) error {
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	tags, err := g.tagsOf(c.form.Get("ResourceName"))
	if err != nil {
		return err
	}
	c.result = struct {
		XMLName xml.Name `xml:"TagList"`
		Tags    []rdsTag `xml:"Tag"`
	}{Tags: *tags}
	return nil
}

func rdsAddTags(c *rdsCall) error {
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	tags, err := g.tagsOf(c.form.Get("ResourceName"))
	if err != nil {
		return err
	}
	for _, t := range rdsFormTags(c.form) {
		if i := slices.IndexFunc(*tags, func(x rdsTag) bool { return x.Key == t.Key }); i >= 0 {
			(*tags)[i].Value = t.Value
		} else {
			*tags = append(*tags, t)
		}
	}
	return g.saveLocked()
}

func rdsRemoveTags(c *rdsCall) error {
	g := rdsGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.purgeLocked(c.now)
	tags, err := g.tagsOf(c.form.Get("ResourceName"))
	if err != nil {
		return err
	}
	keys := rdsList(c.form, "TagKeys")
	*tags = slices.DeleteFunc(*tags, func(t rdsTag) bool { return slices.Contains(keys, t.Key) })
	return g.saveLocked()
}
