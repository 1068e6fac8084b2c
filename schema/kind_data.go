package schema

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/panka/panka/internal/interp"
)

// This file holds the data kinds: RDS, DocumentDB, DynamoDB, S3, EFS, EBS and Lambda (which
// lives here because its event sources are the data kinds' queues, tables and schedules).

// ---------------------------------------------------------------------------------------------
// Helpers shared by the data kinds.

// dataLiteral reports whether s is set and written without ${...}, so its format can be checked
// now rather than after interpolation.
func dataLiteral(s string) bool { return s != "" && !interp.HasRefs(s) }

// dataCheckPassword enforces "exactly one of masterPassword (a secret reference, checked by the
// generic validator) and managePassword: true".
func dataCheckPassword(c *Check, password string, manage bool) {
	switch {
	case password != "" && manage:
		c.Errorf("managePassword", "set either spec.masterPassword or managePassword: true, not both: with managePassword the service creates and rotates the password in Secrets Manager")
	case password == "" && !manage:
		c.Errorf("", "spec needs a master password: set masterPassword to a secret reference, or managePassword: true to let AWS keep it in Secrets Manager")
	}
}

// dataCheckUsername checks a master user name: a letter, then letters, digits (and underscores
// where allowed), at most max characters, and not a name the engine reserves.
func dataCheckUsername(c *Check, name string, max int, underscore bool, reserved ...string) {
	if !dataLiteral(name) {
		return
	}
	re := dataUserRe
	what := "letters and digits"
	if underscore {
		re = dataUserUnderscoreRe
		what = "letters, digits and '_'"
	}
	if !re.MatchString(name) || len(name) > max {
		c.Errorf("masterUsername", "spec.masterUsername %q must be 1 to %d %s, starting with a letter", name, max, what)
		return
	}
	if slices.Contains(reserved, strings.ToLower(name)) {
		c.Errorf("masterUsername", "spec.masterUsername %q is reserved by the engine; choose another name", name)
	}
}

var (
	dataUserRe           = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
	dataUserUnderscoreRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	dataInstanceClassRe  = regexp.MustCompile(`^db\.[a-z0-9-]+\.[a-z0-9]+$`)
)

// dataCheckIdentifier checks the physical name against the RDS and DocumentDB identifier rules
// beyond its length: a letter first, no trailing '-' and no "--".
func dataCheckIdentifier(c *Check, what string) {
	for _, env := range c.Environments() {
		name := c.PhysicalName(env)
		if name == "" {
			continue
		}
		if name[0] < 'a' || name[0] > 'z' || strings.HasSuffix(name, "-") || strings.Contains(name, "--") {
			c.NameErrorf("physical name %q is not a valid %s: it must start with a letter, not end with '-' and not contain \"--\"", name, what)
			return
		}
	}
}

// Backup and maintenance windows, as RDS and DocumentDB write them (UTC).
var (
	dataBackupWindowRe = regexp.MustCompile(`^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$`)
	dataMaintWindowRe  = regexp.MustCompile(`(?i)^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$`)
	dataWeekdays       = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
)

const (
	dataMinutesPerDay  = 24 * 60
	dataMinutesPerWeek = 7 * dataMinutesPerDay
)

// dataWindow is a recurring window: its start (minutes into the day or week) and its length.
type dataWindow struct{ start, length int }

func dataMinutes(hh, mm string) int {
	h, _ := strconv.Atoi(hh)
	m, _ := strconv.Atoi(mm)
	return h*60 + m
}

func dataMod(a, n int) int { return (a%n + n) % n }

// dataOverlaps reports whether two windows on a cycle of period minutes share a minute.
func dataOverlaps(a, b dataWindow, period int) bool {
	return dataMod(b.start-a.start, period) < a.length || dataMod(a.start-b.start, period) < b.length
}

// dataCheckWindows checks preferredBackupWindow (daily, hh:mm-hh:mm) and maintenanceWindow
// (weekly, ddd:hh:mm-ddd:hh:mm): each at least 30 minutes, and not overlapping each other.
func dataCheckWindows(c *Check, backup, maint string) {
	var bw, mw dataWindow
	bok, mok := false, false
	if dataLiteral(backup) {
		if m := dataBackupWindowRe.FindStringSubmatch(backup); m == nil {
			c.Errorf("preferredBackupWindow", "spec.preferredBackupWindow %q must be hh:mm-hh:mm in UTC, like 03:00-03:30", backup)
		} else {
			start := dataMinutes(m[1], m[2])
			bw = dataWindow{start, dataMod(dataMinutes(m[3], m[4])-start, dataMinutesPerDay)}
			if bw.length < 30 {
				c.Errorf("preferredBackupWindow", "spec.preferredBackupWindow %s is %d minutes; it must be at least 30", backup, bw.length)
			} else {
				bok = true
			}
		}
	}
	if dataLiteral(maint) {
		if m := dataMaintWindowRe.FindStringSubmatch(maint); m == nil {
			c.Errorf("maintenanceWindow", "spec.maintenanceWindow %q must be ddd:hh:mm-ddd:hh:mm in UTC, like sun:04:00-sun:04:30", maint)
		} else {
			day := func(d string) int { return slices.Index(dataWeekdays, strings.ToLower(d)) * dataMinutesPerDay }
			start := day(m[1]) + dataMinutes(m[2], m[3])
			mw = dataWindow{start, dataMod(day(m[4])+dataMinutes(m[5], m[6])-start, dataMinutesPerWeek)}
			if mw.length < 30 {
				c.Errorf("maintenanceWindow", "spec.maintenanceWindow %s is %d minutes; it must be at least 30", maint, mw.length)
			} else {
				mok = true
			}
		}
	}
	if !bok || !mok {
		return
	}
	for d := range 7 {
		daily := dataWindow{d*dataMinutesPerDay + bw.start, bw.length}
		if dataOverlaps(daily, mw, dataMinutesPerWeek) {
			c.Errorf("preferredBackupWindow", "spec.preferredBackupWindow %s overlaps spec.maintenanceWindow %s; move one of them", backup, maint)
			return
		}
	}
}

// ---------------------------------------------------------------------------------------------
// RDS

// RDSSpec is an RDS DB instance (postgres, mysql, mariadb) or an Aurora cluster
// (aurora-postgresql, aurora-mysql) with its instances.
//
// Port, instanceClass, masterUsername, storageType, allocatedStorage and instances depend on the
// engine; left at zero they take the engine's default (see Resolved), because defaults are filled
// before the engine is read.
type RDSSpec struct {
	Engine        string `yaml:"engine" panka:"forcenew"`
	EngineVersion string `yaml:"engineVersion"` // empty: the engine's default version
	InstanceClass string `yaml:"instanceClass"` // db.t4g.micro; Aurora db.t4g.medium
	// Instances is the number of Aurora instances (a writer and readers), 1–16. Not for RDS
	// instances, which use multiAZ for a standby.
	Instances int `yaml:"instances"`

	// Storage, for RDS instances only: Aurora manages its cluster volume.
	AllocatedStorage    int    `yaml:"allocatedStorage"`    // GiB; 20 by default
	MaxAllocatedStorage int    `yaml:"maxAllocatedStorage"` // GiB; storage autoscaling limit, 0 = off
	StorageType         string `yaml:"storageType"`         // gp2, gp3, io1, io2; Aurora: aurora or aurora-iopt1
	IOPS                int    `yaml:"iops"`                // io1/io2, and gp3 from 400 GiB

	MultiAZ               bool   `yaml:"multiAZ"`
	BackupRetention       int    `yaml:"backupRetention"`       // days, 0–35 (Aurora 1–35)
	PreferredBackupWindow string `yaml:"preferredBackupWindow"` // hh:mm-hh:mm UTC
	MaintenanceWindow     string `yaml:"maintenanceWindow"`     // ddd:hh:mm-ddd:hh:mm UTC
	DeletionProtection    bool   `yaml:"deletionProtection"`
	// SkipFinalSnapshot deletes the database without the final snapshot Panka otherwise takes
	// (NAME-final-TIMESTAMP, kept after the delete): its data is lost with it. Panka's own
	// setting, changed in place without touching the database.
	SkipFinalSnapshot bool `yaml:"skipFinalSnapshot"`
	// ApplyImmediately makes changes AWS would hold until the next maintenance window (instance
	// class, storage, IOPS, engine version, Multi-AZ) happen at once, which may restart the
	// database now. Off, they wait for the window and read back as the spec meanwhile.
	ApplyImmediately bool `yaml:"applyImmediately"`

	DatabaseName   string `yaml:"databaseName" panka:"forcenew"`
	MasterUsername string `yaml:"masterUsername" panka:"forcenew"` // postgres or admin by default
	MasterPassword string `yaml:"masterPassword" panka:"secret"`
	ManagePassword bool   `yaml:"managePassword"` // RDS keeps the password in Secrets Manager

	Port               int    `yaml:"port"` // 5432 or 3306 by default
	PubliclyAccessible bool   `yaml:"publiclyAccessible"`
	StorageEncrypted   bool   `yaml:"storageEncrypted" panka:"forcenew"`
	KMSKey             string `yaml:"kmsKey" panka:"forcenew"`
}

func (s *RDSSpec) SetDefaults() {
	*s = RDSSpec{Engine: "postgres", BackupRetention: 7, StorageEncrypted: true}
}

// IsAurora reports whether the spec is an Aurora cluster rather than a DB instance.
func (s *RDSSpec) IsAurora() bool { return strings.HasPrefix(s.Engine, "aurora-") }

func (s *RDSSpec) isPostgres() bool { return s.Engine == "postgres" || s.Engine == "aurora-postgresql" }

// Resolved returns a copy of the spec with the engine-dependent fields that were left at zero
// set to the engine's defaults.
func (s *RDSSpec) Resolved() RDSSpec {
	r := *s
	if r.Port == 0 {
		r.Port = 3306
		if s.isPostgres() {
			r.Port = 5432
		}
	}
	if r.MasterUsername == "" {
		r.MasterUsername = "admin"
		if s.isPostgres() {
			r.MasterUsername = "postgres"
		}
	}
	if s.IsAurora() {
		r.InstanceClass = cmp.Or(r.InstanceClass, "db.t4g.medium")
		r.StorageType = cmp.Or(r.StorageType, "aurora")
		if r.Instances == 0 {
			r.Instances = 1
		}
	} else {
		r.InstanceClass = cmp.Or(r.InstanceClass, "db.t4g.micro")
		r.StorageType = cmp.Or(r.StorageType, "gp3")
		if r.AllocatedStorage == 0 {
			r.AllocatedStorage = 20
		}
	}
	return r
}

var (
	rdsEngines        = []string{"postgres", "mysql", "mariadb", "aurora-postgresql", "aurora-mysql"}
	rdsEngineVerRe    = regexp.MustCompile(`^\d+(\.[0-9A-Za-z_]+)*$`)
	rdsDBNameRe       = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	rdsReservedUsers  = []string{"rdsadmin", "rdsrepladmin", "rds_superuser"}
	rdsReservedDBName = map[string][]string{
		"postgres":          {"template0", "template1", "rdsadmin"},
		"aurora-postgresql": {"template0", "template1", "rdsadmin"},
		"mysql":             {"mysql", "sys", "information_schema", "performance_schema"},
		"mariadb":           {"mysql", "sys", "information_schema", "performance_schema"},
		"aurora-mysql":      {"mysql", "sys", "information_schema", "performance_schema"},
	}
)

// ValidateName checks the physical name (see NameValidator).
func (s *RDSSpec) ValidateName(c *Check) { dataCheckIdentifier(c, "RDS DB identifier") }

func (s *RDSSpec) Validate(c *Check) {
	dataCheckWindows(c, s.PreferredBackupWindow, s.MaintenanceWindow)
	dataCheckPassword(c, s.MasterPassword, s.ManagePassword)
	checkKMSKey(c, "kmsKey", s.KMSKey)
	if s.KMSKey != "" && !s.StorageEncrypted {
		c.Errorf("kmsKey", "spec.kmsKey encrypts storage, but storageEncrypted is false; remove kmsKey or set storageEncrypted: true")
	}
	if s.PubliclyAccessible {
		c.Warnf("publiclyAccessible", "publiclyAccessible: true gives the database a public IP address; keep databases private and reach them from inside the VPC")
	}
	if c.Has("port") {
		c.Range("port", s.Port, 1150, 65535)
	}
	if !c.OneOf("engine", s.Engine, rdsEngines...) {
		return
	}
	r := s.Resolved()
	aurora := s.IsAurora()

	if dataLiteral(s.EngineVersion) {
		if !rdsEngineVerRe.MatchString(s.EngineVersion) {
			c.Errorf("engineVersion", "spec.engineVersion %q is not an engine version (like 16.4, 8.0.39 or 8.0.mysql_aurora.3.08.0)", s.EngineVersion)
		} else if strings.Contains(s.EngineVersion, "mysql_aurora") != (s.Engine == "aurora-mysql") {
			c.Errorf("engineVersion", "spec.engineVersion %q does not belong to engine %s; Aurora MySQL versions look like 8.0.mysql_aurora.3.08.0, other engines' like 16.4", s.EngineVersion, s.Engine)
		}
	}
	if dataLiteral(r.InstanceClass) && !dataInstanceClassRe.MatchString(r.InstanceClass) {
		c.Errorf("instanceClass", "spec.instanceClass %q is not a DB instance class (like db.t4g.micro or db.r6g.large)", r.InstanceClass)
	}

	if aurora {
		for _, f := range []string{"allocatedStorage", "maxAllocatedStorage", "iops"} {
			if c.Has(f) {
				c.Errorf(f, "Aurora manages its cluster volume's size and IOPS; remove spec.%s", f)
			}
		}
		if c.Has("storageType") {
			c.OneOf("storageType", s.StorageType, "aurora", "aurora-iopt1")
		}
		if s.MultiAZ {
			c.Errorf("multiAZ", "an Aurora cluster is made highly available by its replicas: set instances: 2 or more instead of multiAZ")
		}
		if c.Has("instances") {
			c.Range("instances", s.Instances, 1, 16)
		}
		c.Range("backupRetention", s.BackupRetention, 1, 35)
	} else {
		if c.Has("instances") {
			c.Errorf("instances", "spec.instances is for Aurora clusters; an RDS instance gets a standby with multiAZ: true")
		}
		c.Range("backupRetention", s.BackupRetention, 0, 35)
		s.validateStorage(c, r)
	}

	// Names the engine creates.
	nameMax := 64
	if s.isPostgres() {
		nameMax = 63
	}
	if dataLiteral(s.DatabaseName) {
		switch {
		case !rdsDBNameRe.MatchString(s.DatabaseName) || len(s.DatabaseName) > nameMax:
			c.Errorf("databaseName", "spec.databaseName %q must be 1 to %d letters, digits and '_', starting with a letter", s.DatabaseName, nameMax)
		case slices.Contains(rdsReservedDBName[s.Engine], strings.ToLower(s.DatabaseName)):
			c.Errorf("databaseName", "spec.databaseName %q is reserved by %s; choose another name", s.DatabaseName, s.Engine)
		}
	}
	reserved := rdsReservedUsers
	if s.isPostgres() {
		reserved = append(slices.Clone(reserved), "admin")
	}
	dataCheckUsername(c, r.MasterUsername, 16, true, reserved...)
}

// validateStorage checks the storage of an RDS DB instance (r is the resolved spec).
func (s *RDSSpec) validateStorage(c *Check, r RDSSpec) {
	if c.Has("storageType") && !c.OneOf("storageType", s.StorageType, "gp2", "gp3", "io1", "io2") {
		return
	}
	provisioned := r.StorageType == "io1" || r.StorageType == "io2"
	lo := 20
	if provisioned {
		lo = 100
	}
	if !c.Range("allocatedStorage", r.AllocatedStorage, lo, 65536) {
		return
	}
	if c.Has("maxAllocatedStorage") && s.MaxAllocatedStorage != 0 {
		switch {
		case s.MaxAllocatedStorage > 65536:
			c.Errorf("maxAllocatedStorage", "spec.maxAllocatedStorage %d GiB is over the 65536 GiB limit", s.MaxAllocatedStorage)
		case s.MaxAllocatedStorage*10 < r.AllocatedStorage*11:
			c.Errorf("maxAllocatedStorage", "spec.maxAllocatedStorage %d GiB must be at least 10%% above allocatedStorage (%d GiB), or 0 to turn storage autoscaling off", s.MaxAllocatedStorage, r.AllocatedStorage)
		}
	}
	switch r.StorageType {
	case "io1", "io2":
		if s.IOPS == 0 {
			c.Errorf("storageType", "%s storage needs spec.iops (1000–256000)", r.StorageType)
			return
		}
		ratio := 50
		if r.StorageType == "io2" {
			ratio = 1000
		}
		if c.Range("iops", s.IOPS, 1000, 256000) && (s.IOPS*2 < r.AllocatedStorage || s.IOPS > ratio*r.AllocatedStorage) {
			c.Errorf("iops", "spec.iops %d must be between 0.5 and %d times allocatedStorage (%d GiB) for %s", s.IOPS, ratio, r.AllocatedStorage, r.StorageType)
		}
	case "gp3":
		if s.IOPS == 0 {
			return
		}
		if r.AllocatedStorage < 400 {
			c.Errorf("iops", "gp3 storage under 400 GiB has a fixed baseline of 3000 IOPS; remove spec.iops or allocate at least 400 GiB")
			return
		}
		c.Range("iops", s.IOPS, 12000, 64000)
	default:
		if s.IOPS != 0 {
			c.Errorf("iops", "spec.iops is for io1, io2 and gp3 storage, not %s; remove it", r.StorageType)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// DocumentDB

// DocumentDBSpec is an Amazon DocumentDB (MongoDB-compatible) cluster and its instances.
type DocumentDBSpec struct {
	EngineVersion string `yaml:"engineVersion"` // 4.0.0, 5.0.0 or 8.0.0 (3.6.0 is past end of support)
	InstanceClass string `yaml:"instanceClass"`
	Instances     int    `yaml:"instances"`   // 1–16: a primary and up to 15 replicas
	StorageType   string `yaml:"storageType"` // standard or iopt1 (I/O-optimized)

	MasterUsername string `yaml:"masterUsername" panka:"required,forcenew"`
	MasterPassword string `yaml:"masterPassword" panka:"secret"`
	ManagePassword bool   `yaml:"managePassword"`

	BackupRetention       int    `yaml:"backupRetention"` // days, 1–35
	PreferredBackupWindow string `yaml:"preferredBackupWindow"`
	MaintenanceWindow     string `yaml:"maintenanceWindow"`
	Port                  int    `yaml:"port"`
	DeletionProtection    bool   `yaml:"deletionProtection"`
	// SkipFinalSnapshot deletes the cluster without the final cluster snapshot Panka otherwise
	// takes (NAME-final-TIMESTAMP, kept): its data is lost with it. Panka's own setting.
	SkipFinalSnapshot bool `yaml:"skipFinalSnapshot"`
	// ApplyImmediately makes changes AWS would hold until the next maintenance window (instance
	// class, engine version) happen at once, which may restart instances now.
	ApplyImmediately bool   `yaml:"applyImmediately"`
	StorageEncrypted bool   `yaml:"storageEncrypted" panka:"forcenew"`
	KMSKey           string `yaml:"kmsKey" panka:"forcenew"`
}

func (s *DocumentDBSpec) SetDefaults() {
	*s = DocumentDBSpec{
		EngineVersion: "5.0.0", InstanceClass: "db.t4g.medium", Instances: 1, StorageType: "standard",
		BackupRetention: 7, Port: 27017, StorageEncrypted: true,
	}
}

// ValidateName checks the physical name (see NameValidator).
func (s *DocumentDBSpec) ValidateName(c *Check) {
	dataCheckIdentifier(c, "DocumentDB cluster identifier")
}

func (s *DocumentDBSpec) Validate(c *Check) {
	if dataLiteral(s.EngineVersion) && c.OneOf("engineVersion", s.EngineVersion, "3.6.0", "4.0.0", "5.0.0", "8.0.0") && s.EngineVersion == "3.6.0" {
		c.Warnf("engineVersion", "DocumentDB 3.6 reached the end of standard support in March 2026; use 5.0.0 or 8.0.0")
	}
	if dataLiteral(s.InstanceClass) && !dataInstanceClassRe.MatchString(s.InstanceClass) {
		c.Errorf("instanceClass", "spec.instanceClass %q is not a DocumentDB instance class (like db.t4g.medium or db.r6g.large)", s.InstanceClass)
	}
	c.Range("instances", s.Instances, 1, 16)
	if c.OneOf("storageType", s.StorageType, "standard", "iopt1") && s.StorageType == "iopt1" && (s.EngineVersion == "3.6.0" || s.EngineVersion == "4.0.0") {
		c.Errorf("storageType", "I/O-optimized storage (iopt1) needs DocumentDB 5.0.0 or later, not %s", s.EngineVersion)
	}
	dataCheckUsername(c, s.MasterUsername, 63, false, "admin")
	dataCheckPassword(c, s.MasterPassword, s.ManagePassword)
	c.Range("backupRetention", s.BackupRetention, 1, 35)
	dataCheckWindows(c, s.PreferredBackupWindow, s.MaintenanceWindow)
	c.Range("port", s.Port, 1150, 65535)
	checkKMSKey(c, "kmsKey", s.KMSKey)
	if s.KMSKey != "" && !s.StorageEncrypted {
		c.Errorf("kmsKey", "spec.kmsKey encrypts storage, but storageEncrypted is false; remove kmsKey or set storageEncrypted: true")
	}
}

// ---------------------------------------------------------------------------------------------
// DynamoDB

// DynamoDBSpec is a DynamoDB table. Only key attributes (of the table and its indexes) are
// declared in attributes; DynamoDB is schemaless for the rest and rejects unused declarations.
type DynamoDBSpec struct {
	BillingMode   string              `yaml:"billingMode"` // PAY_PER_REQUEST or PROVISIONED
	Attributes    []DynamoDBAttribute `yaml:"attributes"`
	HashKey       string              `yaml:"hashKey" panka:"required,forcenew"`
	RangeKey      string              `yaml:"rangeKey" panka:"forcenew"`
	ReadCapacity  int                 `yaml:"readCapacity"`  // PROVISIONED only
	WriteCapacity int                 `yaml:"writeCapacity"` // PROVISIONED only

	GlobalIndexes []DynamoDBGlobalIndex `yaml:"globalIndexes"`
	// LocalIndexes can only be created with the table.
	LocalIndexes []DynamoDBLocalIndex `yaml:"localIndexes" panka:"forcenew"`

	TTL                 *DynamoDBTTL    `yaml:"ttl"`
	Stream              *DynamoDBStream `yaml:"stream"`
	PointInTimeRecovery bool            `yaml:"pointInTimeRecovery"`
	DeletionProtection  bool            `yaml:"deletionProtection"`
	TableClass          string          `yaml:"tableClass"` // STANDARD or STANDARD_INFREQUENT_ACCESS
	KMSKey              string          `yaml:"kmsKey"`     // customer managed key; empty: AWS owned key
}

// DynamoDBAttribute declares a key attribute: S (string), N (number) or B (binary).
type DynamoDBAttribute struct {
	Name string `yaml:"name" panka:"required"`
	Type string `yaml:"type" panka:"required"`
}

// DynamoDBGlobalIndex is a global secondary index.
type DynamoDBGlobalIndex struct {
	Name             string   `yaml:"name" panka:"required"`
	HashKey          string   `yaml:"hashKey" panka:"required"`
	RangeKey         string   `yaml:"rangeKey"`
	Projection       string   `yaml:"projection"` // ALL, KEYS_ONLY or INCLUDE
	NonKeyAttributes []string `yaml:"nonKeyAttributes"`
	ReadCapacity     int      `yaml:"readCapacity"`
	WriteCapacity    int      `yaml:"writeCapacity"`
}

func (g *DynamoDBGlobalIndex) SetDefaults() { g.Projection = "ALL" }

// DynamoDBLocalIndex is a local secondary index: the table's hash key with another range key.
type DynamoDBLocalIndex struct {
	Name             string   `yaml:"name" panka:"required"`
	RangeKey         string   `yaml:"rangeKey" panka:"required"`
	Projection       string   `yaml:"projection"`
	NonKeyAttributes []string `yaml:"nonKeyAttributes"`
}

func (l *DynamoDBLocalIndex) SetDefaults() { l.Projection = "ALL" }

// DynamoDBTTL expires items whose attribute (epoch seconds) is in the past.
type DynamoDBTTL struct {
	Enabled   bool   `yaml:"enabled"`
	Attribute string `yaml:"attribute"`
}

func (t *DynamoDBTTL) SetDefaults() { t.Enabled = true }

// DynamoDBStream is the table's change stream, which Lambda event sources can read.
type DynamoDBStream struct {
	Enabled  bool   `yaml:"enabled"`
	ViewType string `yaml:"viewType"` // NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES or KEYS_ONLY
}

func (s *DynamoDBStream) SetDefaults() {
	*s = DynamoDBStream{Enabled: true, ViewType: "NEW_AND_OLD_IMAGES"}
}

// StreamEnabled reports whether the table has a change stream.
func (s *DynamoDBSpec) StreamEnabled() bool { return s.Stream != nil && s.Stream.Enabled }

func (s *DynamoDBSpec) SetDefaults() {
	*s = DynamoDBSpec{BillingMode: "PAY_PER_REQUEST", TableClass: "STANDARD"}
}

var dynamoIndexNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

const (
	dynamoMaxGSIs        = 20
	dynamoMaxLSIs        = 5
	dynamoMaxProjections = 100 // non-key attributes summed over all indexes
)

func (s *DynamoDBSpec) Validate(c *Check) {
	provisioned := s.BillingMode == "PROVISIONED"
	c.OneOf("billingMode", s.BillingMode, "PAY_PER_REQUEST", "PROVISIONED")
	c.OneOf("tableClass", s.TableClass, "STANDARD", "STANDARD_INFREQUENT_ACCESS")
	checkKMSKey(c, "kmsKey", s.KMSKey)

	declared := map[string]int{}
	var names []string
	for i, a := range s.Attributes {
		field := fmt.Sprintf("attributes[%d]", i)
		if prev, dup := declared[a.Name]; dup {
			c.Errorf(field+".name", "attribute %q is declared twice (also attributes[%d])", a.Name, prev)
			continue
		}
		declared[a.Name] = i
		names = append(names, a.Name)
		if len(a.Name) > 255 {
			c.Errorf(field+".name", "attribute name %q is over 255 characters", a.Name)
		}
		c.OneOf(field+".type", a.Type, "S", "N", "B")
	}
	used := map[string]bool{}
	// key checks that field names a declared attribute.
	key := func(field, name string) {
		if name == "" {
			return
		}
		used[name] = true
		if _, ok := declared[name]; !ok {
			c.Errorf(field, "key attribute %q is not declared in spec.attributes; add {name: %s, type: S|N|B}%s", name, name, dataSuggestIfClose(name, names))
		}
	}
	key("hashKey", s.HashKey)
	key("rangeKey", s.RangeKey)
	if s.RangeKey != "" && s.RangeKey == s.HashKey {
		c.Errorf("rangeKey", "spec.rangeKey must differ from hashKey %q", s.HashKey)
	}
	capacity := func(prefix string, read, write int) {
		if provisioned {
			for _, f := range []struct {
				name string
				val  int
			}{{"readCapacity", read}, {"writeCapacity", write}} {
				if f.val < 1 {
					c.Errorf(prefix+f.name, "billingMode PROVISIONED needs spec.%s%s of at least 1, not %d", prefix, f.name, f.val)
				}
			}
			return
		}
		for _, f := range []string{"readCapacity", "writeCapacity"} {
			if c.Has(prefix + f) {
				c.Errorf(prefix+f, "spec.%s%s is only for billingMode PROVISIONED; remove it (on-demand tables scale by themselves)", prefix, f)
			}
		}
	}
	capacity("", s.ReadCapacity, s.WriteCapacity)

	indexNames := map[string]string{}
	projected := 0
	index := func(field, name, projection string, nonKey []string) {
		if !dynamoIndexNameRe.MatchString(name) {
			c.Errorf(field+".name", "index name %q must be 3 to 255 letters, digits, '_', '-' or '.'", name)
		}
		if prev, dup := indexNames[name]; dup {
			c.Errorf(field+".name", "duplicate index name %q (also %s); index names are unique across global and local indexes", name, prev)
		} else {
			indexNames[name] = field
		}
		if c.OneOf(field+".projection", projection, "ALL", "KEYS_ONLY", "INCLUDE") {
			switch {
			case projection == "INCLUDE" && len(nonKey) == 0:
				c.Errorf(field+".projection", "projection INCLUDE needs nonKeyAttributes: the attributes to copy into the index")
			case projection != "INCLUDE" && len(nonKey) > 0:
				c.Errorf(field+".nonKeyAttributes", "nonKeyAttributes is only for projection INCLUDE, not %s", projection)
			}
		}
		projected += len(nonKey)
	}
	if len(s.GlobalIndexes) > dynamoMaxGSIs {
		c.Errorf("globalIndexes", "a table has at most %d global secondary indexes, not %d", dynamoMaxGSIs, len(s.GlobalIndexes))
	}
	for i, g := range s.GlobalIndexes {
		field := fmt.Sprintf("globalIndexes[%d]", i)
		index(field, g.Name, g.Projection, g.NonKeyAttributes)
		key(field+".hashKey", g.HashKey)
		key(field+".rangeKey", g.RangeKey)
		if g.RangeKey != "" && g.RangeKey == g.HashKey {
			c.Errorf(field+".rangeKey", "the index's rangeKey must differ from its hashKey %q", g.HashKey)
		}
		capacity(field+".", g.ReadCapacity, g.WriteCapacity)
	}
	if len(s.LocalIndexes) > dynamoMaxLSIs {
		c.Errorf("localIndexes", "a table has at most %d local secondary indexes, not %d", dynamoMaxLSIs, len(s.LocalIndexes))
	}
	if len(s.LocalIndexes) > 0 && s.RangeKey == "" {
		c.Errorf("localIndexes", "local secondary indexes need a table with a rangeKey; add one, or use globalIndexes")
	}
	for i, l := range s.LocalIndexes {
		field := fmt.Sprintf("localIndexes[%d]", i)
		index(field, l.Name, l.Projection, l.NonKeyAttributes)
		key(field+".rangeKey", l.RangeKey)
		switch l.RangeKey {
		case "":
		case s.HashKey:
			c.Errorf(field+".rangeKey", "a local index shares the table's hashKey %q; its rangeKey must be another attribute", s.HashKey)
		case s.RangeKey:
			c.Errorf(field+".rangeKey", "the index's rangeKey %q is the table's own rangeKey; a local index needs a different one", l.RangeKey)
		}
	}
	if projected > dynamoMaxProjections {
		c.Errorf("", "the indexes project %d non-key attributes in total; DynamoDB allows at most %d across all indexes", projected, dynamoMaxProjections)
	}
	for i, a := range s.Attributes {
		if !used[a.Name] && declared[a.Name] == i {
			c.Errorf(fmt.Sprintf("attributes[%d].name", i), "attribute %q is not a key of the table or of an index; DynamoDB rejects unused attribute declarations: remove it (other attributes need no declaration)", a.Name)
		}
	}

	if t := s.TTL; t != nil && t.Enabled {
		if t.Attribute == "" {
			c.Errorf("ttl", "spec.ttl needs attribute: the item attribute holding the expiry time in epoch seconds")
		} else if len(t.Attribute) > 255 {
			c.Errorf("ttl.attribute", "spec.ttl.attribute is over 255 characters")
		}
	}
	if st := s.Stream; st != nil && st.Enabled {
		c.OneOf("stream.viewType", st.ViewType, "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
	}
}

// dataSuggestIfClose is suggest without the "expected one of" fallback.
func dataSuggestIfClose(s string, candidates []string) string {
	if hint := suggest(s, candidates); strings.HasPrefix(hint, "; did you mean") {
		return hint
	}
	return ""
}

// ---------------------------------------------------------------------------------------------
// S3

// S3Spec is an S3 bucket. Its name is the physical name, so it must follow the bucket naming rules.
type S3Spec struct {
	ACL               string              `yaml:"acl"`             // canned ACL; needs objectOwnership other than BucketOwnerEnforced
	ObjectOwnership   string              `yaml:"objectOwnership"` // BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter
	Versioning        bool                `yaml:"versioning"`
	Encryption        S3Encryption        `yaml:"encryption"`
	BlockPublicAccess S3BlockPublicAccess `yaml:"blockPublicAccess"`
	LifecycleRules    []S3LifecycleRule   `yaml:"lifecycleRules"`
	CORS              []S3CORSRule        `yaml:"cors"`
	// ForceDestroy lets Panka empty the bucket when deleting it.
	ForceDestroy bool `yaml:"forceDestroy"`
}

// S3Encryption is the bucket's default encryption.
type S3Encryption struct {
	Type      string `yaml:"type"` // SSE-S3 or SSE-KMS
	KMSKey    string `yaml:"kmsKey"`
	BucketKey bool   `yaml:"bucketKey"` // SSE-KMS: cut KMS requests with an S3 Bucket Key
}

// S3BlockPublicAccess is the bucket's public access block; every setting defaults to true.
type S3BlockPublicAccess struct {
	BlockPublicAcls       bool `yaml:"blockPublicAcls"`
	IgnorePublicAcls      bool `yaml:"ignorePublicAcls"`
	BlockPublicPolicy     bool `yaml:"blockPublicPolicy"`
	RestrictPublicBuckets bool `yaml:"restrictPublicBuckets"`
}

// S3LifecycleRule moves objects under Prefix to cheaper storage classes and expires them.
type S3LifecycleRule struct {
	ID          string         `yaml:"id" panka:"required"`
	Prefix      string         `yaml:"prefix"`
	Enabled     bool           `yaml:"enabled"`
	Transitions []S3Transition `yaml:"transitions"`
	Expiration  *S3Expiration  `yaml:"expiration"`
}

func (r *S3LifecycleRule) SetDefaults() { r.Enabled = true }

// S3Transition moves objects to StorageClass Days days after creation.
type S3Transition struct {
	Days         int    `yaml:"days" panka:"required"`
	StorageClass string `yaml:"storageClass" panka:"required"`
}

// S3Expiration deletes objects Days days after creation.
type S3Expiration struct {
	Days int `yaml:"days" panka:"required"`
}

// S3CORSRule is one cross-origin rule.
type S3CORSRule struct {
	ID             string   `yaml:"id"`
	AllowedMethods []string `yaml:"allowedMethods"`
	AllowedOrigins []string `yaml:"allowedOrigins"`
	AllowedHeaders []string `yaml:"allowedHeaders"`
	ExposeHeaders  []string `yaml:"exposeHeaders"`
	MaxAgeSeconds  int      `yaml:"maxAgeSeconds"`
}

func (s *S3Spec) SetDefaults() {
	*s = S3Spec{
		ACL: "private", ObjectOwnership: "BucketOwnerEnforced",
		Encryption:        S3Encryption{Type: "SSE-S3", BucketKey: true},
		BlockPublicAccess: S3BlockPublicAccess{true, true, true, true},
	}
}

var (
	s3ACLs        = []string{"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"}
	s3PublicACLs  = []string{"public-read", "public-read-write", "authenticated-read"}
	s3ClassOrder  = []string{"STANDARD_IA", "INTELLIGENT_TIERING", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"}
	s3CORSMethods = []string{"GET", "PUT", "POST", "DELETE", "HEAD"}
	s3IPRe        = regexp.MustCompile(`^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$`)
)

const (
	s3MaxLifecycleRules = 1000
	s3MaxCORSRules      = 100
	s3IAMinDays         = 30 // objects stay in STANDARD 30 days before an infrequent-access class, and 30 days there
)

// s3BucketNameProblem returns why name breaks a bucket naming rule other than its length and
// character set (which Panka's physical names already meet), or "".
func s3BucketNameProblem(name string) string {
	switch {
	case s3IPRe.MatchString(name):
		return "looks like an IP address"
	case strings.HasPrefix(name, "xn--"):
		return `starts with "xn--", which S3 reserves`
	case strings.HasPrefix(name, "sthree-"):
		return `starts with "sthree-", which S3 reserves`
	case strings.HasPrefix(name, "amzn-s3-demo-"):
		return `starts with "amzn-s3-demo-", which S3 reserves`
	case strings.HasSuffix(name, "-s3alias"):
		return `ends with "-s3alias", which S3 reserves for access point aliases`
	case strings.HasSuffix(name, "--ol-s3"):
		return `ends with "--ol-s3", which S3 reserves for Object Lambda access point aliases`
	case strings.HasSuffix(name, ".mrap"), strings.HasSuffix(name, "--x-s3"), strings.HasSuffix(name, "--table-s3"):
		return "ends with a suffix S3 reserves"
	}
	return ""
}

// ValidateName checks the physical name (see NameValidator).
func (s *S3Spec) ValidateName(c *Check) {
	for _, env := range c.Environments() {
		if name := c.PhysicalName(env); name != "" {
			if why := s3BucketNameProblem(name); why != "" {
				c.NameErrorf("bucket name %q %s; rename the component, service or stack", name, why)
				break
			}
		}
	}
}

func (s *S3Spec) Validate(c *Check) {
	c.OneOf("objectOwnership", s.ObjectOwnership, "BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter")
	if c.OneOf("acl", s.ACL, s3ACLs...) && s.ACL != "private" {
		if s.ObjectOwnership == "BucketOwnerEnforced" {
			c.Errorf("acl", "objectOwnership BucketOwnerEnforced disables ACLs, so acl %s cannot be applied; use bucket policies, or set objectOwnership: BucketOwnerPreferred", s.ACL)
		}
		if slices.Contains(s3PublicACLs, s.ACL) {
			if s.BlockPublicAccess.BlockPublicAcls {
				c.Errorf("acl", "acl %s is public, and blockPublicAccess.blockPublicAcls rejects public ACLs; make the bucket private or turn that block off", s.ACL)
			} else {
				c.Warnf("acl", "acl %s makes the bucket's objects readable by anyone; serve public content through CloudFront instead", s.ACL)
			}
		}
	}

	e := s.Encryption
	if c.OneOf("encryption.type", e.Type, "SSE-S3", "SSE-KMS") {
		switch {
		case e.Type == "SSE-KMS" && e.KMSKey == "":
			c.Errorf("encryption", "encryption type SSE-KMS needs encryption.kmsKey")
		case e.Type == "SSE-S3" && e.KMSKey != "":
			c.Errorf("encryption.kmsKey", "encryption.kmsKey is only used with type SSE-KMS; set type: SSE-KMS or remove it")
		}
	}
	checkKMSKey(c, "encryption.kmsKey", e.KMSKey)

	if len(s.LifecycleRules) > s3MaxLifecycleRules {
		c.Errorf("lifecycleRules", "a bucket has at most %d lifecycle rules, not %d", s3MaxLifecycleRules, len(s.LifecycleRules))
	}
	ids := map[string]int{}
	for i, r := range s.LifecycleRules {
		s.validateRule(c, fmt.Sprintf("lifecycleRules[%d]", i), r, i, ids)
	}

	if len(s.CORS) > s3MaxCORSRules {
		c.Errorf("cors", "a bucket has at most %d CORS rules, not %d", s3MaxCORSRules, len(s.CORS))
	}
	for i, r := range s.CORS {
		field := fmt.Sprintf("cors[%d]", i)
		if len(r.ID) > 255 {
			c.Errorf(field+".id", "a CORS rule id is at most 255 characters")
		}
		if len(r.AllowedMethods) == 0 {
			c.Errorf(field, "CORS rule needs allowedMethods (from %s)", strings.Join(s3CORSMethods, ", "))
		}
		for k, m := range r.AllowedMethods {
			c.OneOf(fmt.Sprintf("%s.allowedMethods[%d]", field, k), m, s3CORSMethods...)
		}
		if len(r.AllowedOrigins) == 0 {
			c.Errorf(field, "CORS rule needs allowedOrigins, like https://example.com or *")
		}
		for k, o := range r.AllowedOrigins {
			if o == "" || strings.Count(o, "*") > 1 {
				c.Errorf(fmt.Sprintf("%s.allowedOrigins[%d]", field, k), "allowed origin %q must be non-empty with at most one '*' wildcard", o)
			}
		}
		for k, h := range r.AllowedHeaders {
			if strings.Count(h, "*") > 1 {
				c.Errorf(fmt.Sprintf("%s.allowedHeaders[%d]", field, k), "allowed header %q may contain at most one '*' wildcard", h)
			}
		}
		if r.MaxAgeSeconds < 0 {
			c.Errorf(field+".maxAgeSeconds", "maxAgeSeconds must be 0 or more, not %d", r.MaxAgeSeconds)
		}
	}
}

// validateRule checks one lifecycle rule: transitions in storage-class order with strictly
// increasing days, the 30-day minimums around the infrequent-access classes, and an expiration
// after the last transition.
func (s *S3Spec) validateRule(c *Check, field string, r S3LifecycleRule, i int, ids map[string]int) {
	if prev, dup := ids[r.ID]; dup {
		c.Errorf(field+".id", "duplicate lifecycle rule id %q (also lifecycleRules[%d])", r.ID, prev)
	} else {
		ids[r.ID] = i
	}
	if len(r.ID) > 255 {
		c.Errorf(field+".id", "a lifecycle rule id is at most 255 characters, not %d", len(r.ID))
	}
	if len(r.Transitions) == 0 && r.Expiration == nil {
		c.Errorf(field, "lifecycle rule %q does nothing: add transitions or an expiration", r.ID)
	}
	lastDays, lastClass := -1, -1
	for k, t := range r.Transitions {
		tf := fmt.Sprintf("%s.transitions[%d]", field, k)
		if !c.OneOf(tf+".storageClass", t.StorageClass, s3ClassOrder...) {
			continue
		}
		class := slices.Index(s3ClassOrder, t.StorageClass)
		ia := t.StorageClass == "STANDARD_IA" || t.StorageClass == "ONEZONE_IA"
		switch {
		case t.Days < 0:
			c.Errorf(tf+".days", "transition days must be 0 or more, not %d", t.Days)
		case ia && t.Days < s3IAMinDays:
			c.Errorf(tf+".days", "objects can move to %s only after %d days in S3, not %d", t.StorageClass, s3IAMinDays, t.Days)
		case lastDays >= 0 && t.Days <= lastDays:
			c.Errorf(tf+".days", "transition days must increase within a rule: %d is not after the previous transition's %d", t.Days, lastDays)
		case lastClass >= 0 && (s3ClassOrder[lastClass] == "STANDARD_IA" || s3ClassOrder[lastClass] == "ONEZONE_IA") && t.Days < lastDays+s3IAMinDays:
			c.Errorf(tf+".days", "objects must stay %d days in %s before moving on: use at least %d days, not %d", s3IAMinDays, s3ClassOrder[lastClass], lastDays+s3IAMinDays, t.Days)
		}
		if lastClass >= 0 && class <= lastClass {
			c.Errorf(tf+".storageClass", "S3 cannot move objects from %s to %s; order transitions %s", s3ClassOrder[lastClass], t.StorageClass, strings.Join(s3ClassOrder, " → "))
		}
		lastDays, lastClass = max(lastDays, t.Days), max(lastClass, class)
	}
	if x := r.Expiration; x != nil {
		switch {
		case x.Days < 1:
			c.Errorf(field+".expiration.days", "expiration days must be at least 1, not %d", x.Days)
		case lastDays >= 0 && x.Days <= lastDays:
			c.Errorf(field+".expiration.days", "expiration after %d days comes before or with the last transition (day %d); expire later or drop the transition", x.Days, lastDays)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// EFS

// EFSSpec is an EFS file system and its access points.
type EFSSpec struct {
	PerformanceMode string `yaml:"performanceMode" panka:"forcenew"` // generalPurpose or maxIO
	ThroughputMode  string `yaml:"throughputMode"`                   // bursting, provisioned or elastic
	// ProvisionedThroughput is in MiB/s, with throughputMode provisioned only.
	ProvisionedThroughput int              `yaml:"provisionedThroughput"`
	Encrypted             bool             `yaml:"encrypted" panka:"forcenew"`
	KMSKey                string           `yaml:"kmsKey" panka:"forcenew"`
	Lifecycle             EFSLifecycle     `yaml:"lifecycle"`
	Backup                bool             `yaml:"backup"` // AWS Backup automatic daily backups
	AccessPoints          []EFSAccessPoint `yaml:"accessPoints"`
}

// EFSLifecycle moves files between storage classes by last access.
type EFSLifecycle struct {
	TransitionToIA      string `yaml:"transitionToIA"`      // AFTER_N_DAY(S); empty: never
	TransitionToArchive string `yaml:"transitionToArchive"` // AFTER_N_DAY(S); elastic throughput only
	TransitionToPrimary string `yaml:"transitionToPrimary"` // AFTER_1_ACCESS; empty: never
}

// EFSAccessPoint is an application entry point: a root directory, created with the POSIX owner
// and permissions if missing, and the user every request runs as.
type EFSAccessPoint struct {
	Name        string `yaml:"name" panka:"required"`
	Path        string `yaml:"path"`
	UID         *int   `yaml:"uid"`
	GID         *int   `yaml:"gid"`
	Permissions string `yaml:"permissions"` // octal, for a created root directory
}

func (a *EFSAccessPoint) SetDefaults() { a.Path, a.Permissions = "/", "0755" }

func (s *EFSSpec) SetDefaults() {
	*s = EFSSpec{PerformanceMode: "generalPurpose", ThroughputMode: "elastic", Encrypted: true, Backup: true}
}

var (
	efsTransitions  = []string{"", "AFTER_1_DAY", "AFTER_7_DAYS", "AFTER_14_DAYS", "AFTER_30_DAYS", "AFTER_60_DAYS", "AFTER_90_DAYS", "AFTER_180_DAYS", "AFTER_270_DAYS", "AFTER_365_DAYS"}
	efsPathBadChars = "$#<>;`|&?{}^*\n"
	efsPermsRe      = regexp.MustCompile(`^[0-7]{3,4}$`)
)

const efsMaxPOSIXID = 1<<32 - 1

func (s *EFSSpec) Validate(c *Check) {
	c.OneOf("performanceMode", s.PerformanceMode, "generalPurpose", "maxIO")
	if c.OneOf("throughputMode", s.ThroughputMode, "bursting", "provisioned", "elastic") {
		if s.ThroughputMode == "elastic" && s.PerformanceMode == "maxIO" {
			field := "throughputMode"
			if !c.Has(field) {
				field = "performanceMode"
			}
			c.Errorf(field, "elastic throughput needs performanceMode generalPurpose; use bursting or provisioned with maxIO")
		}
		if s.ThroughputMode == "provisioned" {
			if !c.Has("provisionedThroughput") {
				c.Errorf("throughputMode", "throughputMode provisioned needs spec.provisionedThroughput in MiB/s (1–3414)")
			} else {
				c.Range("provisionedThroughput", s.ProvisionedThroughput, 1, 3414)
			}
		} else if c.Has("provisionedThroughput") {
			c.Errorf("provisionedThroughput", "spec.provisionedThroughput is only for throughputMode provisioned, not %s", s.ThroughputMode)
		}
	}
	checkKMSKey(c, "kmsKey", s.KMSKey)
	if s.KMSKey != "" && !s.Encrypted {
		c.Errorf("kmsKey", "spec.kmsKey encrypts the file system, but encrypted is false; remove kmsKey or set encrypted: true")
	}
	l := s.Lifecycle
	c.OneOf("lifecycle.transitionToIA", l.TransitionToIA, efsTransitions...)
	if c.OneOf("lifecycle.transitionToArchive", l.TransitionToArchive, efsTransitions...) && l.TransitionToArchive != "" && s.ThroughputMode != "elastic" {
		c.Errorf("lifecycle.transitionToArchive", "the Archive storage class needs throughputMode elastic")
	}
	c.OneOf("lifecycle.transitionToPrimary", l.TransitionToPrimary, "", "AFTER_1_ACCESS")

	names := map[string]int{}
	for i, ap := range s.AccessPoints {
		field := fmt.Sprintf("accessPoints[%d]", i)
		if prev, dup := names[ap.Name]; dup {
			c.Errorf(field+".name", "duplicate access point name %q (also accessPoints[%d])", ap.Name, prev)
		} else {
			names[ap.Name] = i
		}
		if why := checkName(ap.Name); why != "" {
			c.Errorf(field+".name", "access point name %q %s", ap.Name, why)
		}
		if why := efsPathProblem(ap.Path); why != "" {
			c.Errorf(field+".path", "access point path %q %s", ap.Path, why)
		}
		if (ap.UID == nil) != (ap.GID == nil) {
			c.Errorf(field, "access point %q needs both uid and gid (the POSIX user of every request), or neither", ap.Name)
		}
		for _, id := range []struct {
			name string
			val  *int
		}{{"uid", ap.UID}, {"gid", ap.GID}} {
			if id.val != nil && (*id.val < 0 || *id.val > efsMaxPOSIXID) {
				c.Errorf(field+"."+id.name, "%s must be between 0 and %d, not %d", id.name, efsMaxPOSIXID, *id.val)
			}
		}
		if !efsPermsRe.MatchString(ap.Permissions) {
			c.Errorf(field+".permissions", "permissions %q must be octal, like 0755", ap.Permissions)
		}
	}
}

// efsPathProblem checks an access point root directory as EFS does: absolute, at most 100
// characters and 4 levels, no component starting with '.' and none of $#<>;`|&?{}^*.
func efsPathProblem(p string) string {
	if p == "/" {
		return ""
	}
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return "must be an absolute path without a trailing '/', like /app/data"
	}
	if len(p) > 100 {
		return "is over 100 characters"
	}
	parts := strings.Split(p[1:], "/")
	if len(parts) > 4 {
		return "is more than 4 directories deep"
	}
	for _, part := range parts {
		if part == "" || strings.HasPrefix(part, ".") || strings.ContainsAny(part, efsPathBadChars) {
			return "has an empty component, one starting with '.', or one of $#<>;`|&?{}^*"
		}
	}
	return ""
}

// ---------------------------------------------------------------------------------------------
// EBS

// EBSSpec is an EBS volume in one availability zone.
type EBSSpec struct {
	SizeGiB          int    `yaml:"sizeGiB"`    // required unless snapshotId gives the size
	VolumeType       string `yaml:"volumeType"` // gp2, gp3, io1, io2, st1, sc1 or standard
	IOPS             int    `yaml:"iops"`       // gp3 (default 3000), io1 and io2 (required)
	Throughput       int    `yaml:"throughput"` // MiB/s, gp3 only (default 125)
	AvailabilityZone string `yaml:"availabilityZone" panka:"required,forcenew"`
	Encrypted        bool   `yaml:"encrypted" panka:"forcenew"`
	KMSKey           string `yaml:"kmsKey" panka:"forcenew"`
	SnapshotID       string `yaml:"snapshotId" panka:"forcenew"`
}

func (s *EBSSpec) SetDefaults() { *s = EBSSpec{VolumeType: "gp3", Encrypted: true} }

// ebsVolumeLimits are the per-type limits of CreateVolume: size in GiB, IOPS and the maximum
// IOPS per GiB (0: IOPS cannot be set).
var ebsVolumeLimits = map[string]struct{ minSize, maxSize, minIOPS, maxIOPS, perGiB int }{
	"gp2":      {1, 16384, 0, 0, 0},
	"gp3":      {1, 16384, 3000, 16000, 500},
	"io1":      {4, 16384, 100, 64000, 50},
	"io2":      {4, 65536, 100, 256000, 1000},
	"st1":      {125, 16384, 0, 0, 0},
	"sc1":      {125, 16384, 0, 0, 0},
	"standard": {1, 1024, 0, 0, 0},
}

var (
	ebsAZRe       = regexp.MustCompile(`^[a-z]{2}-[a-z]+-\d[a-z]$`)
	ebsSnapshotRe = regexp.MustCompile(`^snap-([0-9a-f]{8}|[0-9a-f]{17})$`)
)

const (
	ebsGP3BaseIOPS      = 3000
	ebsGP3MinThroughput = 125
	ebsGP3MaxThroughput = 1000
)

func (s *EBSSpec) Validate(c *Check) {
	if dataLiteral(s.AvailabilityZone) && !ebsAZRe.MatchString(s.AvailabilityZone) {
		c.Errorf("availabilityZone", "spec.availabilityZone %q is not an availability zone name (like eu-west-1a)", s.AvailabilityZone)
	}
	if dataLiteral(s.SnapshotID) && !ebsSnapshotRe.MatchString(s.SnapshotID) {
		c.Errorf("snapshotId", "spec.snapshotId %q is not a snapshot ID (snap- and 8 or 17 hex digits)", s.SnapshotID)
	}
	checkKMSKey(c, "kmsKey", s.KMSKey)
	if s.KMSKey != "" && !s.Encrypted {
		c.Errorf("kmsKey", "spec.kmsKey encrypts the volume, but encrypted is false; remove kmsKey or set encrypted: true")
	}
	types := sortedKeys(ebsVolumeLimits)
	if !c.OneOf("volumeType", s.VolumeType, types...) {
		return
	}
	lim := ebsVolumeLimits[s.VolumeType]
	sizeOK := false
	switch {
	case !c.Has("sizeGiB") && s.SnapshotID == "":
		c.Errorf("", "spec.sizeGiB is required unless the volume is created from a snapshotId; add it")
	case c.Has("sizeGiB"):
		if s.SizeGiB < lim.minSize || s.SizeGiB > lim.maxSize {
			c.Errorf("sizeGiB", "%s volumes are %d–%d GiB, not %d", s.VolumeType, lim.minSize, lim.maxSize, s.SizeGiB)
		} else {
			sizeOK = true
		}
	}
	iops := s.IOPS
	switch {
	case lim.perGiB == 0:
		if c.Has("iops") {
			c.Errorf("iops", "IOPS cannot be set on %s volumes; remove spec.iops", s.VolumeType)
		}
	case s.VolumeType != "gp3" && !c.Has("iops"):
		c.Errorf("volumeType", "%s volumes need spec.iops (%d–%d)", s.VolumeType, lim.minIOPS, lim.maxIOPS)
	case c.Has("iops"):
		if !c.Range("iops", s.IOPS, lim.minIOPS, lim.maxIOPS) || !sizeOK {
			break
		}
		maxIOPS := lim.perGiB * s.SizeGiB
		if s.VolumeType == "gp3" {
			maxIOPS = max(maxIOPS, ebsGP3BaseIOPS) // the baseline holds at any size
		}
		if s.IOPS > maxIOPS {
			c.Errorf("iops", "spec.iops %d is over %d per GiB for a %d GiB %s volume (at most %d)", s.IOPS, lim.perGiB, s.SizeGiB, s.VolumeType, maxIOPS)
		}
	default:
		iops = ebsGP3BaseIOPS
	}
	if c.Has("throughput") {
		if s.VolumeType != "gp3" {
			c.Errorf("throughput", "spec.throughput is only set on gp3 volumes, not %s", s.VolumeType)
		} else if c.Range("throughput", s.Throughput, ebsGP3MinThroughput, ebsGP3MaxThroughput) && s.Throughput*4 > iops {
			c.Errorf("throughput", "spec.throughput %d MiB/s needs at least %d IOPS (0.25 MiB/s per IOPS); raise iops or lower throughput", s.Throughput, s.Throughput*4)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Lambda

// LambdaSpec is a Lambda function, deployed from a zip (runtime, handler, code) or a container
// image, with its triggers.
type LambdaSpec struct {
	Runtime string      `yaml:"runtime"`
	Handler string      `yaml:"handler"` // zip runtimes other than provided.*
	Code    *LambdaCode `yaml:"code"`
	// Image is an ECR image URI; the function then has package type Image and no runtime,
	// handler or code.
	Image string `yaml:"image"`

	Memory           int    `yaml:"memory"`           // MiB, 128–10240
	Timeout          int    `yaml:"timeout"`          // seconds, 1–900
	EphemeralStorage int    `yaml:"ephemeralStorage"` // /tmp in MiB, 512–10240
	Architecture     string `yaml:"architecture"`     // x86_64 or arm64

	Env map[string]string `yaml:"env"`
	// Secrets maps environment variable names to secret references, resolved at deploy time.
	Secrets map[string]string `yaml:"secrets" panka:"secret"`
	// ReservedConcurrency caps (and reserves) concurrent executions; unset: unreserved.
	ReservedConcurrency *int `yaml:"reservedConcurrency"`

	EventSources []LambdaEventSource `yaml:"eventSources"`
	URL          *LambdaURL          `yaml:"url"`
}

// LambdaCode is where a zip package comes from: a local path Panka uploads, or an S3 object.
type LambdaCode struct {
	// Path is a file or directory, relative to the declaring file's directory (see
	// Config.ResolvePath); Plan zips it and adds its digest as code.sha256.
	Path            string `yaml:"path"`
	S3Bucket        string `yaml:"s3Bucket"`
	S3Key           string `yaml:"s3Key"`
	S3ObjectVersion string `yaml:"s3ObjectVersion"`
}

// canonical spells AWS's defaults as unset, as they read back: a queue's batchSize 10, a
// stream's 100, and startingPosition LATEST.
func (e LambdaEventSource) canonical(m map[string]any) {
	if e.Queue != "" && e.BatchSize == 10 || e.Table != "" && e.BatchSize == 100 {
		m["batchSize"] = int64(0)
	}
	if e.StartingPosition == "LATEST" {
		delete(m, "startingPosition")
	}
}

// LambdaEventSource triggers the function: exactly one of an SQS queue, a DynamoDB table's stream
// (event source mappings) or a schedule (EventBridge Scheduler).
type LambdaEventSource struct {
	Queue    string `yaml:"queue"`    // an SQS component
	Table    string `yaml:"table"`    // a DynamoDB component with a stream
	Schedule string `yaml:"schedule"` // cron(...) or rate(...)
	// BatchSize is the records per invocation, 1–10000 (10 for FIFO queues); 0: the AWS default
	// (10 for queues, 100 for streams).
	BatchSize   int `yaml:"batchSize"`
	BatchWindow int `yaml:"batchWindow"` // seconds to gather a batch, 0–300
	// StartingPosition is where a stream is first read: LATEST (default) or TRIM_HORIZON.
	StartingPosition string `yaml:"startingPosition"`
}

// LambdaURL is a function URL (an HTTPS endpoint invoking the function).
type LambdaURL struct {
	Enabled  bool   `yaml:"enabled"`
	AuthType string `yaml:"authType"` // AWS_IAM or NONE
}

func (u *LambdaURL) SetDefaults() { *u = LambdaURL{Enabled: true, AuthType: "AWS_IAM"} }

func (s *LambdaSpec) SetDefaults() {
	*s = LambdaSpec{Memory: 128, Timeout: 3, EphemeralStorage: 512, Architecture: "x86_64"}
}

var (
	lambdaRuntimes = []string{
		"nodejs20.x", "nodejs22.x", "nodejs24.x", "python3.11", "python3.12", "python3.13", "python3.14",
		"java17", "java21", "dotnet8", "ruby3.3", "ruby3.4", "provided.al2023", "provided.al2",
	}
	// Environment variable names: a letter, then letters, digits and '_' (the Lambda API pattern).
	lambdaEnvNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]+$`)
	lambdaImageRe   = regexp.MustCompile(`^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[A-Za-z0-9_.-]+|@sha256:[0-9a-f]{64})$`)
	// lambdaReservedEnv are set by the Lambda runtime and cannot be overridden.
	lambdaReservedEnv = []string{
		"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
		"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
		"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
	}
)

const lambdaMaxEnvBytes = 4096 // all variables together

func (s *LambdaSpec) Validate(c *Check) {
	s.validatePackage(c)
	c.Range("memory", s.Memory, 128, 10240)
	c.Range("timeout", s.Timeout, 1, 900)
	c.Range("ephemeralStorage", s.EphemeralStorage, 512, 10240)
	c.OneOf("architecture", s.Architecture, "x86_64", "arm64")
	if rc := s.ReservedConcurrency; rc != nil {
		if *rc < 0 {
			c.Errorf("reservedConcurrency", "spec.reservedConcurrency must be 0 or more, not %d; leave it out for unreserved concurrency", *rc)
		} else if *rc == 0 {
			c.Warnf("reservedConcurrency", "reservedConcurrency: 0 throttles every invocation: the function never runs")
		}
	}
	s.validateEnv(c)
	s.validateEventSources(c)
	if u := s.URL; u != nil && u.Enabled && c.OneOf("url.authType", u.AuthType, "AWS_IAM", "NONE") && u.AuthType == "NONE" {
		c.Warnf("url.authType", "url.authType NONE lets anyone on the internet invoke the function; use AWS_IAM unless the function authenticates callers itself")
	}
}

func (s *LambdaSpec) validatePackage(c *Check) {
	if s.Image != "" {
		if dataLiteral(s.Image) && !lambdaImageRe.MatchString(s.Image) {
			c.Errorf("image", "spec.image %q must be an ECR image URI in the function's account (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG or @sha256:DIGEST)", s.Image)
		}
		for _, f := range []string{"runtime", "handler", "code"} {
			if c.Has(f) {
				c.Errorf(f, "a function deployed from spec.image has no %s; remove it (or remove image to deploy a zip)", f)
			}
		}
		return
	}
	if !c.Has("runtime") {
		c.Errorf("", "spec needs runtime and code for a zip package, or image for a container image")
		return
	}
	if !c.OneOf("runtime", s.Runtime, lambdaRuntimes...) {
		return
	}
	if strings.HasPrefix(s.Runtime, "provided.") {
		if c.Has("handler") {
			c.Warnf("handler", "an OS-only runtime (%s) runs the package's bootstrap and ignores handler", s.Runtime)
		}
	} else if c.Required("handler", s.Handler) && (len(s.Handler) > 128 || strings.ContainsAny(s.Handler, " \t")) {
		c.Errorf("handler", "spec.handler %q must be at most 128 characters without spaces, like index.handler", s.Handler)
	}
	code := s.Code
	if code == nil {
		c.Errorf("runtime", "a %s function needs code: a local path, or s3Bucket and s3Key", s.Runtime)
		return
	}
	s3 := code.S3Bucket != "" || code.S3Key != ""
	switch {
	case code.Path != "" && s3:
		c.Errorf("code", "spec.code takes either path or s3Bucket and s3Key, not both")
	case s3 && (code.S3Bucket == "" || code.S3Key == ""):
		c.Errorf("code", "spec.code needs both s3Bucket and s3Key")
	case !s3 && code.Path == "":
		c.Errorf("code", "spec.code needs a local path, or s3Bucket and s3Key")
	}
	if code.S3ObjectVersion != "" && !s3 {
		c.Errorf("code.s3ObjectVersion", "s3ObjectVersion is only for code from s3Bucket and s3Key")
	}
}

func (s *LambdaSpec) validateEnv(c *Check) {
	size := 0
	for _, k := range sortedKeys(s.Env) {
		v := s.Env[k]
		size += len(k) + len(v)
		field := "env." + k
		switch {
		case !lambdaEnvNameRe.MatchString(k):
			c.KeyErrorf(field, "environment variable name %q must be a letter then letters, digits and '_', at least 2 characters", k)
		case slices.Contains(lambdaReservedEnv, k):
			c.KeyErrorf(field, "%s is set by the Lambda runtime and cannot be overridden; rename it", k)
		}
		if _, dup := s.Secrets[k]; dup {
			c.KeyErrorf("secrets."+k, "%s is set in both spec.env and spec.secrets; keep one", k)
		}
		warnPlaintextSecret(c, k, v)
	}
	for _, k := range sortedKeys(s.Secrets) {
		size += len(k) + len(s.Secrets[k])
		switch {
		case !lambdaEnvNameRe.MatchString(k):
			c.KeyErrorf("secrets."+k, "environment variable name %q must be a letter then letters, digits and '_', at least 2 characters", k)
		case slices.Contains(lambdaReservedEnv, k):
			c.KeyErrorf("secrets."+k, "%s is set by the Lambda runtime and cannot be overridden; rename it", k)
		}
	}
	if size > lambdaMaxEnvBytes {
		c.Errorf("env", "the function's environment variables total %d bytes; Lambda allows %d: move large values to S3 or Parameter Store", size, lambdaMaxEnvBytes)
	}
}

func (s *LambdaSpec) validateEventSources(c *Check) {
	seen := map[string]int{}
	for i, es := range s.EventSources {
		field := fmt.Sprintf("eventSources[%d]", i)
		n := 0
		for _, v := range []string{es.Queue, es.Table, es.Schedule} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			c.Errorf(field, "an event source needs exactly one of queue, table or schedule")
			continue
		}
		if es.Schedule != "" {
			if err := ValidateSchedule(es.Schedule); err != nil {
				c.Errorf(field+".schedule", "spec.%s.schedule: %v", field, err)
			}
			for _, f := range []string{"batchSize", "batchWindow", "startingPosition"} {
				if c.Has(field + "." + f) {
					c.Errorf(field+"."+f, "%s is for queue and table event sources, not schedules; remove it", f)
				}
			}
			continue
		}
		target, ref := es.Queue, field+".queue"
		kind := "SQS"
		if es.Table != "" {
			target, ref, kind = es.Table, field+".table", "DynamoDB"
		}
		comp := c.Ref(ref, target, kind)
		if comp != nil {
			if prev, dup := seen[comp.Address()]; dup {
				c.Errorf(ref, "%s already triggers the function (eventSources[%d]); Lambda allows one mapping per source", comp.Address(), prev)
			}
			seen[comp.Address()] = i
		}
		if es.BatchSize != 0 {
			c.Range(field+".batchSize", es.BatchSize, 1, 10000)
		}
		c.Range(field+".batchWindow", es.BatchWindow, 0, 300)
		if es.Queue != "" {
			if c.Has(field + ".startingPosition") {
				c.Errorf(field+".startingPosition", "startingPosition is for table streams; a queue delivers each message once")
			}
			if fifo := comp != nil && lambdaIsFIFO(comp); fifo && es.BatchSize > 10 {
				c.Errorf(field+".batchSize", "a FIFO queue delivers at most 10 messages per batch, not %d", es.BatchSize)
			} else if fifo && es.BatchWindow > 0 {
				c.Errorf(field+".batchWindow", "a FIFO queue source cannot wait for a batch; remove batchWindow")
			} else if es.BatchSize > 10 && es.BatchWindow < 1 {
				c.Errorf(field+".batchSize", "a queue batchSize over 10 needs batchWindow of at least 1 second")
			}
			continue
		}
		c.OneOf(field+".startingPosition", es.StartingPosition, "", "LATEST", "TRIM_HORIZON")
		if comp != nil {
			if t, ok := comp.Spec.(*DynamoDBSpec); ok && !t.StreamEnabled() {
				c.Errorf(ref, "table %s has no stream to read; add stream: {enabled: true} to it", comp.Address())
			}
		}
	}
}

// lambdaIsFIFO reports whether an SQS component is a FIFO queue: its physical name ends in
// ".fifo".
func lambdaIsFIFO(comp *Component) bool {
	sf, ok := comp.Spec.(nameSuffixer)
	return ok && sf.PhysicalNameSuffix() == ".fifo"
}

func init() {
	RegisterKind(KindInfo{
		Name: "RDS", New: func() Spec { return &RDSSpec{} },
		Outputs:   []string{"endpoint", "port", "readerEndpoint", "identifier", "masterSecretArn"},
		NameLimit: 63, NameWhat: "an RDS DB identifier",
	})
	RegisterKind(KindInfo{
		Name: "DocumentDB", New: func() Spec { return &DocumentDBSpec{} },
		Outputs:   []string{"endpoint", "readerEndpoint", "port", "clusterIdentifier", "masterSecretArn"},
		NameLimit: 63, NameWhat: "a DocumentDB cluster identifier",
	})
	RegisterKind(KindInfo{
		Name: "DynamoDB", New: func() Spec { return &DynamoDBSpec{} },
		Outputs:   []string{"tableName", "streamArn"},
		NameLimit: 255, NameWhat: "a DynamoDB table name",
	})
	RegisterKind(KindInfo{
		Name: "S3", New: func() Spec { return &S3Spec{} },
		Outputs:   []string{"bucketName", "domainName", "regionalDomainName"},
		NameLimit: 63, NameWhat: "an S3 bucket name",
	})
	RegisterKind(KindInfo{
		Name: "EFS", New: func() Spec { return &EFSSpec{} },
		Outputs:   []string{"fileSystemId", "dnsName"},
		NameLimit: 64, NameWhat: "an EFS creation token",
	})
	RegisterKind(KindInfo{
		Name: "EBS", New: func() Spec { return &EBSSpec{} },
		Outputs:   []string{"volumeId"},
		NameLimit: 255, NameWhat: "an EBS volume Name tag",
	})
	RegisterKind(KindInfo{
		Name: "Lambda", New: func() Spec { return &LambdaSpec{} },
		Outputs:   []string{"functionName", "invokeArn", "functionUrl"},
		NameLimit: 64, NameWhat: "a Lambda function name",
	})
}
