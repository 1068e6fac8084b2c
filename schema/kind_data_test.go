package schema

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// dataDoc returns a component document of kind named name in service data with spec (indented
// lines, or a flow mapping after "spec: ").
func dataDoc(kind, name, spec string) string {
	return fmt.Sprintf("apiVersion: panka.io/v1\nkind: %s\nmetadata: {name: %s, service: data}\nspec:\n%s", kind, name, spec)
}

// dataMany returns n flow-style list items built by item(i), indented for a spec-level list.
func dataMany(n int, item func(i int) string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("    - " + item(i) + "\n")
	}
	return b.String()
}

func TestRDSRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "valid postgres instance", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  engine: postgres
  engineVersion: "16.4"
  instanceClass: db.r6g.large
  allocatedStorage: 500
  maxAllocatedStorage: 1000
  storageType: gp3
  iops: 12000
  multiAZ: true
  backupRetention: 14
  preferredBackupWindow: "03:00-03:30"
  maintenanceWindow: "sun:04:00-sun:04:30"
  deletionProtection: true
  databaseName: shop
  masterUsername: shop_admin
  masterPassword: ${DB_SECRET}
  kmsKey: alias/shop-db
`},
		{name: "valid aurora cluster", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: cluster, service: data}
spec:
  engine: aurora-mysql
  engineVersion: 8.0.mysql_aurora.3.08.0
  instanceClass: db.r7g.large
  instances: 2
  storageType: aurora-iopt1
  backupRetention: 1
  preferredBackupWindow: "01:00-01:30"
  maintenanceWindow: "Sun:23:30-Mon:00:30"
  databaseName: shop
  managePassword: true
`},
		{name: "valid mysql on io1", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  engine: mysql
  storageType: io1
  allocatedStorage: 100
  iops: 3000
  backupRetention: 0
  managePassword: true
`},
		{name: "unknown engine", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  engine: oracle
  managePassword: true
`, want: []string{`5:11: error: spec.engine: "oracle" is not allowed; expected one of: postgres, mysql, mariadb, aurora-postgresql, aurora-mysql`}},
		{name: "a password is required", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  engine: postgres
`, want: []string{"5:3: error: spec needs a master password: set masterPassword to a secret reference, or managePassword: true"}},
		{name: "password literal, and both ways at once", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  masterPassword: hunter2
  managePassword: true
`, want: []string{
			"5:19: error: spec.masterPassword is not a secret reference",
			"6:19: error: set either spec.masterPassword or managePassword: true, not both",
		}},
		{name: "storage size per storage type", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  managePassword: true
  storageType: io1
  allocatedStorage: 50
---
apiVersion: panka.io/v1
kind: RDS
metadata: {name: db2, service: data}
spec:
  managePassword: true
  allocatedStorage: 10
  storageType: magnetic
`, want: []string{
			"7:21: error: spec.allocatedStorage must be between 100 and 65536, not 50",
			`15:16: error: spec.storageType: "magnetic" is not allowed; expected one of: gp2, gp3, io1, io2`,
		}},
		{name: "gp3 default size range", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  managePassword: true
  allocatedStorage: 10
`, want: []string{"6:21: error: spec.allocatedStorage must be between 20 and 65536, not 10"}},
		{name: "autoscaling limit at least 10% above", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  managePassword: true
  allocatedStorage: 100
  maxAllocatedStorage: 105
---
apiVersion: panka.io/v1
kind: RDS
metadata: {name: db2, service: data}
spec:
  managePassword: true
  maxAllocatedStorage: 70000
`, want: []string{
			"7:24: error: spec.maxAllocatedStorage 105 GiB must be at least 10% above allocatedStorage (100 GiB), or 0 to turn storage autoscaling off",
			"14:24: error: spec.maxAllocatedStorage 70000 GiB is over the 65536 GiB limit",
		}},
		{name: "provisioned IOPS", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db1, service: data}
spec:
  managePassword: true
  storageType: io1
  allocatedStorage: 100
---
apiVersion: panka.io/v1
kind: RDS
metadata: {name: db2, service: data}
spec:
  managePassword: true
  storageType: io1
  allocatedStorage: 100
  iops: 6000
---
apiVersion: panka.io/v1
kind: RDS
metadata: {name: db3, service: data}
spec:
  managePassword: true
  allocatedStorage: 100
  iops: 12000
---
apiVersion: panka.io/v1
kind: RDS
metadata: {name: db4, service: data}
spec:
  managePassword: true
  storageType: gp2
  iops: 1000
---
apiVersion: panka.io/v1
kind: RDS
metadata: {name: db5, service: data}
spec:
  managePassword: true
  allocatedStorage: 400
  iops: 3000
`, want: []string{
			"6:16: error: io1 storage needs spec.iops (1000–256000)",
			"16:9: error: spec.iops 6000 must be between 0.5 and 50 times allocatedStorage (100 GiB) for io1",
			"24:9: error: gp3 storage under 400 GiB has a fixed baseline of 3000 IOPS",
			"32:9: error: spec.iops is for io1, io2 and gp3 storage, not gp2; remove it",
			"40:9: error: spec.iops must be between 12000 and 64000, not 3000",
		}},
		{name: "aurora manages storage and availability", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: cluster, service: data}
spec:
  engine: aurora-mysql
  managePassword: true
  allocatedStorage: 100
  iops: 1000
  multiAZ: true
  backupRetention: 0
  storageType: gp3
  instances: 17
`, want: []string{
			"7:21: error: Aurora manages its cluster volume's size and IOPS; remove spec.allocatedStorage",
			"8:9: error: Aurora manages its cluster volume's size and IOPS; remove spec.iops",
			"9:12: error: an Aurora cluster is made highly available by its replicas: set instances: 2 or more instead of multiAZ",
			"10:20: error: spec.backupRetention must be between 1 and 35, not 0",
			`11:16: error: spec.storageType: "gp3" is not allowed; expected one of: aurora, aurora-iopt1`,
			"12:14: error: spec.instances must be between 1 and 16, not 17",
		}},
		{name: "instances only for aurora; retention and port ranges", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  managePassword: true
  instances: 2
  backupRetention: 36
  port: 80
`, want: []string{
			"6:14: error: spec.instances is for Aurora clusters; an RDS instance gets a standby with multiAZ: true",
			"7:20: error: spec.backupRetention must be between 0 and 35, not 36",
			"8:9: error: spec.port must be between 1150 and 65535, not 80",
		}},
		{name: "window formats", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  managePassword: true
  preferredBackupWindow: "3:00-4:00"
  maintenanceWindow: sunday 04:00
`, want: []string{
			`6:27: error: spec.preferredBackupWindow "3:00-4:00" must be hh:mm-hh:mm in UTC`,
			`7:22: error: spec.maintenanceWindow "sunday 04:00" must be ddd:hh:mm-ddd:hh:mm in UTC`,
		}},
		{name: "windows at least 30 minutes and apart", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  managePassword: true
  preferredBackupWindow: "03:00-03:15"
  maintenanceWindow: "mon:03:10-mon:03:20"
---
apiVersion: panka.io/v1
kind: RDS
metadata: {name: db2, service: data}
spec:
  managePassword: true
  preferredBackupWindow: "23:45-00:30"
  maintenanceWindow: "tue:00:00-tue:00:30"
`, want: []string{
			"6:27: error: spec.preferredBackupWindow 03:00-03:15 is 15 minutes; it must be at least 30",
			"7:23: error: spec.maintenanceWindow mon:03:10-mon:03:20 is 10 minutes; it must be at least 30",
			"14:27: error: spec.preferredBackupWindow 23:45-00:30 overlaps spec.maintenanceWindow tue:00:00-tue:00:30; move one of them",
		}},
		{name: "database and user names per engine", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  managePassword: true
  databaseName: my-db
  masterUsername: admin
---
apiVersion: panka.io/v1
kind: RDS
metadata: {name: db2, service: data}
spec:
  engine: mysql
  managePassword: true
  databaseName: mysql
  masterUsername: averyveryverylongname
`, want: []string{
			`6:17: error: spec.databaseName "my-db" must be 1 to 63 letters, digits and '_', starting with a letter`,
			`7:19: error: spec.masterUsername "admin" is reserved by the engine; choose another name`,
			`15:17: error: spec.databaseName "mysql" is reserved by mysql; choose another name`,
			`16:19: error: spec.masterUsername "averyveryverylongname" must be 1 to 16 letters, digits and '_', starting with a letter`,
		}},
		{name: "engine version and instance class", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  engine: aurora-mysql
  engineVersion: "8.0.35"
  instanceClass: t3.micro
  managePassword: true
---
apiVersion: panka.io/v1
kind: RDS
metadata: {name: db2, service: data}
spec:
  engineVersion: latest
  managePassword: true
`, want: []string{
			`6:19: error: spec.engineVersion "8.0.35" does not belong to engine aurora-mysql`,
			`7:18: error: spec.instanceClass "t3.micro" is not a DB instance class`,
			`14:18: error: spec.engineVersion "latest" is not an engine version`,
		}},
		{name: "public access and KMS key", docs: `apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  managePassword: true
  publiclyAccessible: true
  storageEncrypted: false
  kmsKey: my-key
`, want: []string{
			"6:23: warning: publiclyAccessible: true gives the database a public IP address",
			`8:11: error: spec.kmsKey "my-key" is not a KMS key`,
			"8:11: error: spec.kmsKey encrypts storage, but storageEncrypted is false",
		}},
	})
}

func TestDataIdentifierRules(t *testing.T) {
	// The tenant prefixes the physical name; one starting with a digit is reported for the tenant,
	// and again where it breaks an RDS or DocumentDB identifier.
	docs := dataDoc("RDS", "db", "  managePassword: true\n") + "---\n" +
		dataDoc("DocumentDB", "docs", "  masterUsername: docs\n  managePassword: true\n")
	cfg, err := ParseBytes("test.yaml", []byte(prelude+"---\n"+docs))
	if err != nil {
		t.Fatal(err)
	}
	if diags := Validate(cfg); diags.HasErrors() {
		t.Fatalf("valid for the default tenant, got:\n%s", diags)
	}
	var got []string
	for _, d := range CheckTarget(cfg, "9acme", "default") {
		got = append(got, d.String())
	}
	want := []string{
		`test.yaml:1:1: error: tenant name "9acme"`,
		`test.yaml:20:18: error: physical name "9acme-shop-default-data-db" is not a valid RDS DB identifier`,
		`test.yaml:26:18: error: physical name "9acme-shop-default-data-docs" is not a valid DocumentDB cluster identifier`,
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("want a diagnostic starting %q, got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestDocumentDBRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "valid cluster", docs: `apiVersion: panka.io/v1
kind: DocumentDB
metadata: {name: docs, service: data}
spec:
  engineVersion: "8.0.0"
  instanceClass: db.r6g.large
  instances: 3
  storageType: iopt1
  masterUsername: docdbadmin
  managePassword: true
  backupRetention: 14
  preferredBackupWindow: "02:00-02:30"
  maintenanceWindow: "sat:05:00-sat:05:30"
  deletionProtection: true
  kmsKey: arn:aws:kms:eu-west-1:123456789012:alias/docdb
`},
		{name: "ranges and names", docs: `apiVersion: panka.io/v1
kind: DocumentDB
metadata: {name: docs, service: data}
spec:
  engineVersion: "6.0.0"
  instanceClass: r6g.large
  instances: 17
  masterUsername: doc_admin
  masterPassword: ${DB_SECRET}
  managePassword: true
  backupRetention: 0
  port: 80
`, want: []string{
			`5:19: error: spec.engineVersion: "6.0.0" is not allowed`,
			`6:18: error: spec.instanceClass "r6g.large" is not a DocumentDB instance class`,
			"7:14: error: spec.instances must be between 1 and 16, not 17",
			`8:19: error: spec.masterUsername "doc_admin" must be 1 to 63 letters and digits, starting with a letter`,
			"10:19: error: set either spec.masterPassword or managePassword: true, not both",
			"11:20: error: spec.backupRetention must be between 1 and 35, not 0",
			"12:9: error: spec.port must be between 1150 and 65535, not 80",
		}},
		{name: "old engine, reserved user, encryption", docs: `apiVersion: panka.io/v1
kind: DocumentDB
metadata: {name: docs, service: data}
spec:
  engineVersion: 3.6.0
  storageType: iopt1
  masterUsername: admin
  masterPassword: ${DB_SECRET}
  storageEncrypted: false
  kmsKey: alias/docdb
`, want: []string{
			"5:18: warning: DocumentDB 3.6 reached the end of standard support",
			"6:16: error: I/O-optimized storage (iopt1) needs DocumentDB 5.0.0 or later, not 3.6.0",
			`7:19: error: spec.masterUsername "admin" is reserved by the engine`,
			"10:11: error: spec.kmsKey encrypts storage, but storageEncrypted is false",
		}},
		{name: "user and password required", docs: `apiVersion: panka.io/v1
kind: DocumentDB
metadata: {name: docs, service: data}
spec:
  instances: 2
`, want: []string{
			"5:3: error: masterUsername is required in spec; add it",
			"5:3: error: spec needs a master password",
		}},
	})
}

func TestDynamoDBRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "valid provisioned table with indexes", docs: `apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec:
  billingMode: PROVISIONED
  readCapacity: 5
  writeCapacity: 5
  attributes:
    - {name: pk, type: S}
    - {name: sk, type: S}
    - {name: gsi1pk, type: S}
    - {name: created, type: N}
  hashKey: pk
  rangeKey: sk
  globalIndexes:
    - {name: by-customer, hashKey: gsi1pk, rangeKey: sk, projection: INCLUDE, nonKeyAttributes: [total], readCapacity: 1, writeCapacity: 1}
  localIndexes:
    - {name: by-created, rangeKey: created, projection: KEYS_ONLY}
  ttl: {attribute: expiresAt}
  stream: {viewType: NEW_IMAGE}
  pointInTimeRecovery: true
  deletionProtection: true
  tableClass: STANDARD_INFREQUENT_ACCESS
  kmsKey: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
`},
		{name: "keys name declared attributes, every attribute is used", docs: `apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec:
  attributes:
    - {name: pk, type: S}
    - {name: pk, type: X}
    - {name: unused, type: N}
  hashKey: pkk
  rangeKey: pkk
`, want: []string{
			`6:14: error: attribute "pk" is not a key of the table or of an index; DynamoDB rejects unused attribute declarations`,
			`7:14: error: attribute "pk" is declared twice (also attributes[0])`,
			`8:14: error: attribute "unused" is not a key of the table or of an index`,
			`9:12: error: key attribute "pkk" is not declared in spec.attributes; add {name: pkk, type: S|N|B}; did you mean "pk"?`,
			`10:13: error: key attribute "pkk" is not declared in spec.attributes`,
			`10:13: error: spec.rangeKey must differ from hashKey "pkk"`,
		}},
		{name: "attribute types and hash key required", docs: `apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec:
  attributes:
    - {name: pk, type: X}
`, want: []string{
			"5:3: error: hashKey is required in spec; add it",
			`6:14: error: attribute "pk" is not a key of the table or of an index`,
			`6:24: error: spec.attributes[0].type: "X" is not allowed`,
		}},
		{name: "global indexes on an on-demand table", docs: `apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec:
  readCapacity: 5
  attributes:
    - {name: pk, type: S}
    - {name: g, type: B}
  hashKey: pk
  globalIndexes:
    - {name: ab, hashKey: g, projection: INCLUDE}
    - {name: ab, hashKey: g, rangeKey: g, projection: ALL, nonKeyAttributes: [x], readCapacity: 1}
`, want: []string{
			"5:17: error: spec.readCapacity is only for billingMode PROVISIONED; remove it",
			`11:14: error: index name "ab" must be 3 to 255 letters, digits, '_', '-' or '.'`,
			"11:42: error: projection INCLUDE needs nonKeyAttributes",
			`12:14: error: duplicate index name "ab" (also globalIndexes[0])`,
			`12:14: error: index name "ab" must be 3 to 255`,
			`12:40: error: the index's rangeKey must differ from its hashKey "g"`,
			"12:78: error: nonKeyAttributes is only for projection INCLUDE, not ALL",
			"12:97: error: spec.globalIndexes[1].readCapacity is only for billingMode PROVISIONED",
		}},
		{name: "provisioned capacity on table and global indexes", docs: `apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec:
  billingMode: PROVISIONED
  attributes: [{name: pk, type: S}]
  hashKey: pk
  globalIndexes:
    - {name: by-pk, hashKey: pk, readCapacity: 0}
`, want: []string{
			"5:3: error: billingMode PROVISIONED needs spec.readCapacity of at least 1, not 0",
			"5:3: error: billingMode PROVISIONED needs spec.writeCapacity of at least 1, not 0",
			"9:7: error: billingMode PROVISIONED needs spec.globalIndexes[0].writeCapacity of at least 1, not 0",
			"9:48: error: billingMode PROVISIONED needs spec.globalIndexes[0].readCapacity of at least 1, not 0",
		}},
		{name: "local indexes need the table's range key and another one", docs: `apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec:
  attributes:
    - {name: pk, type: S}
    - {name: sk, type: S}
  hashKey: pk
  localIndexes:
    - {name: by-sk, rangeKey: sk}
    - {name: by-pk, rangeKey: pk}
---
apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: events, service: data}
spec:
  attributes: [{name: pk, type: S}, {name: sk, type: S}]
  hashKey: pk
  rangeKey: sk
  localIndexes: [{name: by-sk, rangeKey: sk}]
`, want: []string{
			"10:5: error: local secondary indexes need a table with a rangeKey; add one, or use globalIndexes",
			`11:31: error: a local index shares the table's hashKey "pk"; its rangeKey must be another attribute`,
			`20:42: error: the index's rangeKey "sk" is the table's own rangeKey; a local index needs a different one`,
		}},
		{name: "at most 20 global and 5 local indexes", docs: `apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec:
  hashKey: pk
  rangeKey: sk
  attributes:
    - {name: pk, type: S}
    - {name: sk, type: S}
` + dataMany(21, func(i int) string { return fmt.Sprintf("{name: g%d, type: S}", i) }) +
			dataMany(6, func(i int) string { return fmt.Sprintf("{name: l%d, type: S}", i) }) + `  globalIndexes:
` + dataMany(21, func(i int) string { return fmt.Sprintf("{name: index-g%d, hashKey: g%d}", i, i) }) + `  localIndexes:
` + dataMany(6, func(i int) string { return fmt.Sprintf("{name: index-l%d, rangeKey: l%d}", i, i) }),
			want: []string{
				"38:5: error: a table has at most 20 global secondary indexes, not 21",
				"60:5: error: a table has at most 5 local secondary indexes, not 6",
			}},
		{name: "at most 100 projected attributes", docs: fmt.Sprintf(`apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec:
  hashKey: pk
  attributes: [{name: pk, type: S}, {name: g, type: S}]
  globalIndexes:
    - {name: by-g, hashKey: g, projection: INCLUDE, nonKeyAttributes: [%s]}
`, strings.Repeat("a, ", 100)+"b"), want: []string{
			"5:3: error: the indexes project 101 non-key attributes in total; DynamoDB allows at most 100",
		}},
		{name: "billing, class, ttl and stream", docs: `apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec:
  billingMode: ON_DEMAND
  tableClass: IA
  attributes: [{name: pk, type: S}]
  hashKey: pk
  ttl: {enabled: true}
  stream: {viewType: NEW}
`, want: []string{
			`5:16: error: spec.billingMode: "ON_DEMAND" is not allowed`,
			`6:15: error: spec.tableClass: "IA" is not allowed`,
			"9:8: error: spec.ttl needs attribute",
			`10:22: error: spec.stream.viewType: "NEW" is not allowed`,
		}},
	})
}

func TestS3Rules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "valid bucket", docs: `apiVersion: panka.io/v1
kind: S3
metadata: {name: assets, service: data}
spec:
  versioning: true
  encryption: {type: SSE-KMS, kmsKey: alias/shop-assets}
  lifecycleRules:
    - id: archive-logs
      prefix: logs/
      transitions:
        - {days: 30, storageClass: STANDARD_IA}
        - {days: 60, storageClass: INTELLIGENT_TIERING}
        - {days: 180, storageClass: DEEP_ARCHIVE}
      expiration: {days: 365}
    - id: tmp
      prefix: tmp/
      expiration: {days: 1}
    - id: glacier-now
      transitions: [{days: 0, storageClass: GLACIER}]
  cors:
    - {allowedMethods: [GET, HEAD], allowedOrigins: ["https://*.example.com"], allowedHeaders: ["*"], maxAgeSeconds: 3000}
  forceDestroy: true
`},
		{name: "ACLs need object ownership and no public ACL block", docs: `apiVersion: panka.io/v1
kind: S3
metadata: {name: logs, service: data}
spec:
  acl: log-delivery-write
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: site, service: data}
spec:
  acl: public-read
  objectOwnership: BucketOwnerPreferred
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: site2, service: data}
spec:
  acl: public-read
  objectOwnership: ObjectWriter
  blockPublicAccess: {blockPublicAcls: false}
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: site3, service: data}
spec:
  acl: public
  objectOwnership: Owner
`, want: []string{
			"5:8: error: objectOwnership BucketOwnerEnforced disables ACLs, so acl log-delivery-write cannot be applied",
			"11:8: error: acl public-read is public, and blockPublicAccess.blockPublicAcls rejects public ACLs",
			"18:8: warning: acl public-read makes the bucket's objects readable by anyone",
			`26:8: error: spec.acl: "public" is not allowed`,
			`27:20: error: spec.objectOwnership: "Owner" is not allowed`,
		}},
		{name: "encryption", docs: `apiVersion: panka.io/v1
kind: S3
metadata: {name: a, service: data}
spec:
  encryption: {type: SSE-KMS}
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: b, service: data}
spec:
  encryption: {kmsKey: alias/x}
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: c, service: data}
spec:
  encryption: {type: AES256, kmsKey: "key:1"}
`, want: []string{
			"5:15: error: encryption type SSE-KMS needs encryption.kmsKey",
			"11:24: error: encryption.kmsKey is only used with type SSE-KMS",
			`17:22: error: spec.encryption.type: "AES256" is not allowed`,
			`17:39: error: spec.encryption.kmsKey "key:1" is not a KMS key`,
		}},
		{name: "lifecycle rules are ordered", docs: `apiVersion: panka.io/v1
kind: S3
metadata: {name: assets, service: data}
spec:
  lifecycleRules:
    - id: a
      transitions:
        - {days: 10, storageClass: STANDARD_IA}
        - {days: 20, storageClass: GLACIER}
        - {days: 20, storageClass: GLACIER_IR}
      expiration: {days: 15}
    - id: a
    - id: b
      transitions:
        - {days: 30, storageClass: GLACIER}
        - {days: 60, storageClass: COLD}
      expiration: {days: 0}
`, want: []string{
			"8:18: error: objects can move to STANDARD_IA only after 30 days in S3, not 10",
			"9:18: error: objects must stay 30 days in STANDARD_IA before moving on: use at least 40 days, not 20",
			"10:18: error: transition days must increase within a rule: 20 is not after the previous transition's 20",
			"10:36: error: S3 cannot move objects from GLACIER to GLACIER_IR",
			"11:26: error: expiration after 15 days comes before or with the last transition (day 20)",
			`12:7: error: lifecycle rule "a" does nothing: add transitions or an expiration`,
			`12:11: error: duplicate lifecycle rule id "a" (also lifecycleRules[0])`,
			`16:36: error: spec.lifecycleRules[2].transitions[1].storageClass: "COLD" is not allowed`,
			"17:26: error: expiration days must be at least 1, not 0",
		}},
		{name: "lifecycle rule id length and count", docs: `apiVersion: panka.io/v1
kind: S3
metadata: {name: assets, service: data}
spec:
  lifecycleRules:
    - {id: ` + strings.Repeat("x", 256) + `, expiration: {days: 1}}
` + dataMany(1000, func(i int) string { return fmt.Sprintf("{id: r%d, expiration: {days: 1}}", i) }), want: []string{
			"6:5: error: a bucket has at most 1000 lifecycle rules, not 1001",
			"6:12: error: a lifecycle rule id is at most 255 characters, not 256",
		}},
		{name: "CORS rules", docs: `apiVersion: panka.io/v1
kind: S3
metadata: {name: assets, service: data}
spec:
  cors:
    - {allowedOrigins: ["*.*.example.com"], maxAgeSeconds: -1}
    - {allowedMethods: [GET, PATCH], allowedOrigins: [], allowedHeaders: ["x-*-*"]}
`, want: []string{
			"6:7: error: CORS rule needs allowedMethods (from GET, PUT, POST, DELETE, HEAD)",
			`6:26: error: allowed origin "*.*.example.com" must be non-empty with at most one '*' wildcard`,
			"6:60: error: maxAgeSeconds must be 0 or more, not -1",
			"7:7: error: CORS rule needs allowedOrigins",
			`7:30: error: spec.cors[1].allowedMethods[1]: "PATCH" is not allowed`,
			`7:76: error: allowed header "x-*-*" may contain at most one '*' wildcard`,
		}},
		{name: "at most 100 CORS rules", docs: `apiVersion: panka.io/v1
kind: S3
metadata: {name: assets, service: data}
spec:
  cors:
` + strings.Repeat("    - {allowedMethods: [GET], allowedOrigins: [\"*\"]}\n", 101),
			want: []string{"6:5: error: a bucket has at most 100 CORS rules, not 101"}},
		{name: "reserved bucket name suffix", docs: `apiVersion: panka.io/v1
kind: S3
metadata: {name: s3alias, service: data}
spec: {}
`, want: []string{`3:18: error: bucket name "shop-default-data-s3alias" ends with "-s3alias", which S3 reserves for access point aliases`}},
	})
	for name, want := range map[string]string{
		"192.168.5.4": "IP address", "xn--abc": "xn--", "sthree-x": "sthree-", "amzn-s3-demo-x": "amzn-s3-demo-",
		"a--ol-s3": "--ol-s3", "a--x-s3": "suffix", "a.mrap": "suffix", "shop-assets": "",
	} {
		if got := s3BucketNameProblem(name); !strings.Contains(got, want) || (want == "") != (got == "") {
			t.Errorf("s3BucketNameProblem(%q) = %q, want it to mention %q", name, got, want)
		}
	}
}

func TestEFSRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "valid file systems", docs: `apiVersion: panka.io/v1
kind: EFS
metadata: {name: shared, service: data}
spec:
  performanceMode: generalPurpose
  throughputMode: provisioned
  provisionedThroughput: 256
  kmsKey: alias/efs
  lifecycle: {transitionToIA: AFTER_30_DAYS, transitionToPrimary: AFTER_1_ACCESS}
  backup: false
  accessPoints:
    - {name: app, path: /app/data, uid: 1000, gid: 1000, permissions: "0750"}
    - {name: root}
---
apiVersion: panka.io/v1
kind: EFS
metadata: {name: archive, service: data}
spec:
  lifecycle: {transitionToIA: AFTER_7_DAYS, transitionToArchive: AFTER_90_DAYS}
`},
		{name: "provisioned throughput", docs: `apiVersion: panka.io/v1
kind: EFS
metadata: {name: a, service: data}
spec:
  throughputMode: provisioned
---
apiVersion: panka.io/v1
kind: EFS
metadata: {name: b, service: data}
spec:
  throughputMode: provisioned
  provisionedThroughput: 4000
---
apiVersion: panka.io/v1
kind: EFS
metadata: {name: c, service: data}
spec:
  throughputMode: bursting
  provisionedThroughput: 100
`, want: []string{
			"5:19: error: throughputMode provisioned needs spec.provisionedThroughput in MiB/s (1–3414)",
			"12:26: error: spec.provisionedThroughput must be between 1 and 3414, not 4000",
			"19:26: error: spec.provisionedThroughput is only for throughputMode provisioned, not bursting",
		}},
		{name: "modes and lifecycle", docs: `apiVersion: panka.io/v1
kind: EFS
metadata: {name: a, service: data}
spec:
  performanceMode: maxIO
---
apiVersion: panka.io/v1
kind: EFS
metadata: {name: b, service: data}
spec:
  performanceMode: fast
  throughputMode: bursting
  lifecycle: {transitionToIA: AFTER_2_DAYS, transitionToArchive: AFTER_1_DAY, transitionToPrimary: ALWAYS}
`, want: []string{
			"5:20: error: elastic throughput needs performanceMode generalPurpose",
			`11:20: error: spec.performanceMode: "fast" is not allowed`,
			`13:31: error: spec.lifecycle.transitionToIA: "AFTER_2_DAYS" is not allowed`,
			"13:66: error: the Archive storage class needs throughputMode elastic",
			`13:100: error: spec.lifecycle.transitionToPrimary: "ALWAYS" is not allowed`,
		}},
		{name: "access points and encryption", docs: `apiVersion: panka.io/v1
kind: EFS
metadata: {name: shared, service: data}
spec:
  encrypted: false
  kmsKey: alias/efs
  accessPoints:
    - {name: app, path: data, uid: 1000}
    - {name: app, path: /a/b/c/d/e, uid: -1, gid: 5000000000, permissions: "999"}
    - {name: Bad, path: /app/.git}
`, want: []string{
			"6:11: error: spec.kmsKey encrypts the file system, but encrypted is false",
			`8:7: error: access point "app" needs both uid and gid`,
			`8:25: error: access point path "data" must be an absolute path`,
			`9:14: error: duplicate access point name "app" (also accessPoints[0])`,
			`9:25: error: access point path "/a/b/c/d/e" is more than 4 directories deep`,
			"9:42: error: uid must be between 0 and 4294967295, not -1",
			"9:51: error: gid must be between 0 and 4294967295, not 5000000000",
			`9:77: error: permissions "999" must be octal, like 0755`,
			`10:14: error: access point name "Bad" must be a lowercase DNS label`,
			`10:25: error: access point path "/app/.git" has an empty component, one starting with '.'`,
		}},
	})
}

func TestEBSRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "valid volumes", docs: `apiVersion: panka.io/v1
kind: EBS
metadata: {name: data, service: data}
spec:
  sizeGiB: 100
  volumeType: gp3
  iops: 6000
  throughput: 500
  availabilityZone: eu-west-1a
  kmsKey: alias/ebs
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: restored, service: data}
spec:
  volumeType: io2
  iops: 20000
  availabilityZone: eu-west-1b
  snapshotId: snap-0123456789abcdef0
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: tiny, service: data}
spec: {sizeGiB: 1, iops: 3000, availabilityZone: eu-west-1c}
`},
		{name: "zone, snapshot and type", docs: `apiVersion: panka.io/v1
kind: EBS
metadata: {name: vol, service: data}
spec:
  availabilityZone: eu-west-1
  snapshotId: snap-123
  volumeType: gp4
`, want: []string{
			`5:21: error: spec.availabilityZone "eu-west-1" is not an availability zone name (like eu-west-1a)`,
			`6:15: error: spec.snapshotId "snap-123" is not a snapshot ID`,
			`7:15: error: spec.volumeType: "gp4" is not allowed`,
		}},
		{name: "size required, ranges per type", docs: `apiVersion: panka.io/v1
kind: EBS
metadata: {name: a, service: data}
spec:
  availabilityZone: eu-west-1a
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: b, service: data}
spec:
  availabilityZone: eu-west-1a
  volumeType: st1
  sizeGiB: 100
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: c, service: data}
spec:
  availabilityZone: eu-west-1a
  sizeGiB: 20000
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: d, service: data}
spec: {sizeGiB: 1}
`, want: []string{
			// The decoder's diagnostics come before Validate's.
			"25:7: error: availabilityZone is required in spec; add it",
			"5:3: error: spec.sizeGiB is required unless the volume is created from a snapshotId",
			"13:12: error: st1 volumes are 125–16384 GiB, not 100",
			"20:12: error: gp3 volumes are 1–16384 GiB, not 20000",
		}},
		{name: "IOPS per type and size", docs: `apiVersion: panka.io/v1
kind: EBS
metadata: {name: a, service: data}
spec:
  availabilityZone: eu-west-1a
  volumeType: io1
  sizeGiB: 10
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: b, service: data}
spec:
  availabilityZone: eu-west-1a
  volumeType: io1
  sizeGiB: 10
  iops: 1000
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: c, service: data}
spec:
  availabilityZone: eu-west-1a
  sizeGiB: 8
  iops: 4500
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: d, service: data}
spec:
  availabilityZone: eu-west-1a
  sizeGiB: 100
  iops: 20000
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: e, service: data}
spec:
  availabilityZone: eu-west-1a
  volumeType: gp2
  sizeGiB: 100
  iops: 3000
  throughput: 200
`, want: []string{
			"6:15: error: io1 volumes need spec.iops (100–64000)",
			"16:9: error: spec.iops 1000 is over 50 per GiB for a 10 GiB io1 volume (at most 500)",
			"24:9: error: spec.iops 4500 is over 500 per GiB for a 8 GiB gp3 volume (at most 4000)",
			"32:9: error: spec.iops must be between 3000 and 16000, not 20000",
			"41:9: error: IOPS cannot be set on gp2 volumes; remove spec.iops",
			"42:15: error: spec.throughput is only set on gp3 volumes, not gp2",
		}},
		{name: "gp3 throughput", docs: `apiVersion: panka.io/v1
kind: EBS
metadata: {name: a, service: data}
spec:
  availabilityZone: eu-west-1a
  sizeGiB: 100
  throughput: 800
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: b, service: data}
spec:
  availabilityZone: eu-west-1a
  sizeGiB: 100
  throughput: 100
`, want: []string{
			"7:15: error: spec.throughput 800 MiB/s needs at least 3200 IOPS (0.25 MiB/s per IOPS)",
			"15:15: error: spec.throughput must be between 125 and 1000, not 100",
		}},
	})
}

const lambdaImage = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1"

func TestLambdaRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "valid functions", docs: `apiVersion: panka.io/v1
kind: Lambda
metadata: {name: resize, service: api}
spec:
  runtime: python3.12
  handler: app.handler
  code: {path: ./functions/resize}
  memory: 1024
  timeout: 60
  ephemeralStorage: 1024
  architecture: arm64
  env:
    LOG_LEVEL: info
    API_TOKEN: ${DB_SECRET}
    TOKEN_URL: https://auth.example.com/token
    SIGNING_KEY: secretsmanager:shop/signing
  secrets:
    DB_PASSWORD: ${DB_SECRET}
  reservedConcurrency: 5
  eventSources:
    - schedule: rate(5 minutes)
    - {table: data/orders, batchSize: 500, startingPosition: TRIM_HORIZON}
  url: {authType: AWS_IAM}
---
apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec: {attributes: [{name: pk, type: S}], hashKey: pk, stream: {viewType: NEW_IMAGE}}
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: img, service: api}
spec: {image: "` + lambdaImage + `", memory: 2048}
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: go, service: api}
spec: {runtime: provided.al2023, code: {s3Bucket: "${data.assets.bucketName}", s3Key: fn/go.zip, s3ObjectVersion: "3"}}
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: assets, service: data}
spec: {}
`},
		{name: "image or zip package", docs: `apiVersion: panka.io/v1
kind: Lambda
metadata: {name: a, service: api}
spec:
  image: nginx:latest
  runtime: nodejs22.x
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: b, service: api}
spec: {memory: 256}
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: c, service: api}
spec: {runtime: python2.7}
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: d, service: api}
spec:
  runtime: python3.13
`, want: []string{
			`5:10: error: spec.image "nginx:latest" must be an ECR image URI`,
			"6:12: error: a function deployed from spec.image has no runtime; remove it",
			"11:7: error: spec needs runtime and code for a zip package, or image for a container image",
			`16:17: error: spec.runtime: "python2.7" is not allowed`,
			"22:3: error: spec.handler is required for Lambda; add it",
			"22:12: error: a python3.13 function needs code: a local path, or s3Bucket and s3Key",
		}},
		{name: "code location", docs: `apiVersion: panka.io/v1
kind: Lambda
metadata: {name: a, service: api}
spec: {runtime: nodejs20.x, handler: index.handler, code: {path: ., s3Bucket: b}}
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: b, service: api}
spec: {runtime: nodejs20.x, handler: index.handler, code: {s3Bucket: b}}
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: c, service: api}
spec: {runtime: java21, handler: "my handler", code: {path: x, s3ObjectVersion: "3"}}
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: d, service: api}
spec: {runtime: provided.al2, handler: bootstrap, code: {path: x}}
`, want: []string{
			"4:59: error: spec.code takes either path or s3Bucket and s3Key, not both",
			"9:59: error: spec.code needs both s3Bucket and s3Key",
			`14:35: error: spec.handler "my handler" must be at most 128 characters without spaces`,
			"14:82: error: s3ObjectVersion is only for code from s3Bucket and s3Key",
			"19:40: warning: an OS-only runtime (provided.al2) runs the package's bootstrap and ignores handler",
		}},
		{name: "sizes and concurrency", docs: `apiVersion: panka.io/v1
kind: Lambda
metadata: {name: a, service: api}
spec:
  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:` + strings.Repeat("ab", 32) + `
  memory: 64
  timeout: 901
  ephemeralStorage: 256
  architecture: arm
  reservedConcurrency: -1
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: b, service: api}
spec:
  image: ` + lambdaImage + `
  reservedConcurrency: 0
  url: {authType: NONE}
`, want: []string{
			"6:11: error: spec.memory must be between 128 and 10240, not 64",
			"7:12: error: spec.timeout must be between 1 and 900, not 901",
			"8:21: error: spec.ephemeralStorage must be between 512 and 10240, not 256",
			`9:17: error: spec.architecture: "arm" is not allowed`,
			"10:24: error: spec.reservedConcurrency must be 0 or more, not -1",
			"17:24: warning: reservedConcurrency: 0 throttles every invocation",
			"18:19: warning: url.authType NONE lets anyone on the internet invoke the function",
		}},
		{name: "environment", docs: `apiVersion: panka.io/v1
kind: Lambda
metadata: {name: a, service: api}
spec:
  image: ` + lambdaImage + `
  env:
    A: x
    AWS_REGION: eu-west-1
    DB_PASSWORD: hunter2
    SHARED: a
  secrets:
    SHARED: ${DB_SECRET}
    STRIPE_API_KEY: sk_live_123
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: b, service: api}
spec:
  image: ` + lambdaImage + `
  env:
    BIG: ` + strings.Repeat("x", 4100) + `
`, want: []string{
			`7:5: error: environment variable name "A" must be a letter then letters, digits and '_', at least 2 characters`,
			"8:5: error: AWS_REGION is set by the Lambda runtime and cannot be overridden",
			"9:18: warning: DB_PASSWORD looks like a credential written in plain text; move it to spec.secrets",
			"12:5: error: SHARED is set in both spec.env and spec.secrets; keep one",
			"13:21: error: spec.secrets.STRIPE_API_KEY is not a secret reference",
			"21:5: error: the function's environment variables total 4103 bytes; Lambda allows 4096",
		}},
		{name: "event sources", docs: `apiVersion: panka.io/v1
kind: Lambda
metadata: {name: a, service: api}
spec:
  image: ` + lambdaImage + `
  eventSources:
    - {}
    - {schedule: "rate(5 minute)", batchSize: 10}
    - {queue: data/orders}
    - {table: data/orders, batchSize: 20000, batchWindow: 301, startingPosition: EARLIEST}
    - {table: data/events}
    - {table: data/events}
---
apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: orders, service: data}
spec: {attributes: [{name: pk, type: S}], hashKey: pk}
---
apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: events, service: data}
spec: {attributes: [{name: pk, type: S}], hashKey: pk, stream: {}}
`, want: []string{
			"7:7: error: an event source needs exactly one of queue, table or schedule",
			"8:19: error: spec.eventSources[1].schedule: ",
			"8:47: error: batchSize is for queue and table event sources, not schedules; remove it",
			"9:15: error: spec.eventSources[2].queue refers to data/orders, a DynamoDB; it must be an SQS",
			"10:15: error: table data/orders has no stream to read; add stream: {enabled: true} to it",
			"10:39: error: spec.eventSources[3].batchSize must be between 1 and 10000, not 20000",
			"10:59: error: spec.eventSources[3].batchWindow must be between 0 and 300, not 301",
			`10:82: error: spec.eventSources[3].startingPosition: "EARLIEST" is not allowed`,
			"12:15: error: data/events already triggers the function (eventSources[4]); Lambda allows one mapping per source",
		}},
	})
}

func TestLambdaQueueSources(t *testing.T) {
	queue := func(name, spec string) string {
		return "---\napiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: " + name + ", service: api}\nspec: " + spec + "\n"
	}
	runRuleCases(t, []ruleCase{
		{name: "valid queue sources", docs: `apiVersion: panka.io/v1
kind: Lambda
metadata: {name: worker, service: api}
spec:
  image: ` + lambdaImage + `
  eventSources:
    - {queue: jobs, batchSize: 100, batchWindow: 5}
    - {queue: ordered, batchSize: 10}
` + queue("jobs", "{}") + queue("ordered", "{fifo: true}")},
		{name: "batching rules", docs: `apiVersion: panka.io/v1
kind: Lambda
metadata: {name: worker, service: api}
spec:
  image: ` + lambdaImage + `
  eventSources:
    - {queue: jobs, batchSize: 100}
    - {queue: ordered, batchSize: 20}
    - {queue: ordered2, batchWindow: 5}
    - {queue: jobs2, batchSize: 100, batchWindow: 5, startingPosition: LATEST}
` + queue("jobs", "{}") + queue("ordered", "{fifo: true}") + queue("ordered2", "{fifo: true}") + queue("jobs2", "{}"),
			want: []string{
				"7:32: error: a queue batchSize over 10 needs batchWindow of at least 1 second",
				"8:35: error: a FIFO queue delivers at most 10 messages per batch, not 20",
				"9:38: error: a FIFO queue source cannot wait for a batch; remove batchWindow",
				"10:72: error: startingPosition is for table streams; a queue delivers each message once",
			}},
	})
}

// TestDataDefaults checks the defaults the data kinds fill in, and that written values win.
func TestDataDefaults(t *testing.T) {
	docs := dataDoc("RDS", "pg", "  managePassword: true\n") + "---\n" +
		dataDoc("RDS", "aurora", "  engine: aurora-mysql\n  managePassword: true\n  port: 3307\n") + "---\n" +
		dataDoc("S3", "assets", "  blockPublicAccess: {blockPublicPolicy: false}\n") + "---\n" +
		dataDoc("DynamoDB", "t", "  attributes: [{name: pk, type: S}]\n  hashKey: pk\n  stream: {}\n  globalIndexes: [{name: idx, hashKey: pk}]\n") + "---\n" +
		dataDoc("EFS", "fs", "  accessPoints: [{name: app}]\n") + "---\n" +
		dataDoc("Lambda", "fn", "  image: "+lambdaImage+"\n  url: {}\n")
	cfg, err := ParseBytes("test.yaml", []byte(prelude+"---\n"+docs))
	if err != nil {
		t.Fatal(err)
	}
	if ds := Validate(cfg); len(ds) > 0 {
		t.Fatalf("want no diagnostics, got:\n%v", ds)
	}
	spec := func(addr string) Spec { return cfg.Component(addr).Spec }

	pg := spec("data/pg").(*RDSSpec).Resolved()
	if pg.Port != 5432 || pg.MasterUsername != "postgres" || pg.InstanceClass != "db.t4g.micro" || pg.StorageType != "gp3" || pg.AllocatedStorage != 20 || !pg.StorageEncrypted || pg.BackupRetention != 7 {
		t.Errorf("postgres defaults: %+v", pg)
	}
	au := spec("data/aurora").(*RDSSpec).Resolved()
	if au.Port != 3307 || au.MasterUsername != "admin" || au.InstanceClass != "db.t4g.medium" || au.Instances != 1 || au.AllocatedStorage != 0 {
		t.Errorf("aurora defaults: %+v", au)
	}
	s3 := spec("data/assets").(*S3Spec)
	if want := (S3BlockPublicAccess{true, true, false, true}); s3.BlockPublicAccess != want || s3.ACL != "private" || s3.Encryption.Type != "SSE-S3" {
		t.Errorf("S3 defaults: %+v", s3)
	}
	ddb := spec("data/t").(*DynamoDBSpec)
	if !ddb.StreamEnabled() || ddb.Stream.ViewType != "NEW_AND_OLD_IMAGES" || ddb.GlobalIndexes[0].Projection != "ALL" || ddb.BillingMode != "PAY_PER_REQUEST" {
		t.Errorf("DynamoDB defaults: %+v", ddb)
	}
	ap := spec("data/fs").(*EFSSpec).AccessPoints[0]
	if ap.Path != "/" || ap.Permissions != "0755" || ap.UID != nil {
		t.Errorf("EFS access point defaults: %+v", ap)
	}
	fn := spec("data/fn").(*LambdaSpec)
	if fn.Memory != 128 || fn.Timeout != 3 || fn.EphemeralStorage != 512 || fn.Architecture != "x86_64" || fn.URL.AuthType != "AWS_IAM" || !fn.URL.Enabled || fn.ReservedConcurrency != nil {
		t.Errorf("Lambda defaults: %+v", fn)
	}
}

func TestDataKindsRegistered(t *testing.T) {
	for kind, want := range map[string]struct {
		outputs []string
		limit   int
	}{
		"RDS":        {[]string{"arn", "endpoint", "identifier", "masterSecretArn", "port", "readerEndpoint"}, 63},
		"DocumentDB": {[]string{"arn", "clusterIdentifier", "endpoint", "masterSecretArn", "port", "readerEndpoint"}, 63},
		"DynamoDB":   {[]string{"arn", "streamArn", "tableName"}, 255},
		"S3":         {[]string{"arn", "bucketName", "domainName", "regionalDomainName"}, 63},
		"EFS":        {[]string{"arn", "dnsName", "fileSystemId"}, 64},
		"EBS":        {[]string{"arn", "volumeId"}, 255},
		"Lambda":     {[]string{"arn", "functionName", "functionUrl", "invokeArn"}, 64},
	} {
		info, ok := LookupKind(kind)
		if !ok {
			t.Errorf("kind %s is not registered", kind)
			continue
		}
		if strings.Join(info.Outputs, ",") != strings.Join(want.outputs, ",") || info.NameLimit != want.limit {
			t.Errorf("%s: outputs %v limit %d, want %v limit %d", kind, info.Outputs, info.NameLimit, want.outputs, want.limit)
		}
	}
}
