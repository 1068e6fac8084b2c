package aws

import (
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// DocumentDB is dbKind (rds.go) with engine docdb: a DocumentDB cluster, its instances NAME-1 ...
// NAME-N (AWS::DocDB::DBInstance parts) and its subnet group (AWS::DocDB::DBSubnetGroup), driven
// through the rds client (DocumentDB's API is RDS's, at the same endpoint). Its spec has no
// engine, databaseName, storage size or publicity; the rest is as RDS's Aurora clusters,
// ManageMasterUserPassword included. Its outputs name the cluster clusterIdentifier.
func newDocumentDB(p *Provider) kind {
	return &dbKind{p: p, c: rds.NewFromConfig(p.cfg), secretReader: newSecretReader(p), doc: true}
}
