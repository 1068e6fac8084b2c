package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// The inventory of the stateful kinds (part 3 of the AWS provider): databases, file systems,
// volumes, Kafka clusters and topics, as the SDK shows them, independently of Panka.

func init() {
	awsListers = append(awsListers, listDatabases, listFileSystems, listVolumes, listKafka)
}

// listDatabases lists the deployment's RDS instances (kind RDS; parts: "subnet-group NAME")
// and DB clusters (kind RDS for Aurora, DocumentDB for engine docdb; parts: their instances
// "instance NAME" and "subnet-group NAME"). Strays: a subnet group or a cluster's instance whose
// database is gone.
func listDatabases(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	c := rds.NewFromConfig(cfg)
	tagsOf := func(arn string) (map[string]string, error) {
		out, err := c.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String(arn)})
		if err != nil {
			return nil, fmt.Errorf("ListTagsForResource %s: %w", arn, err)
		}
		return rdsTags(out.TagList), nil
	}
	var out []awsRes
	dbs := map[string]*awsRes{} // by name: what a subnet group belongs to
	clusters, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeDBClusters: %w", err)
	}
	for _, cl := range clusters.DBClusters {
		name, arn := aws.ToString(cl.DBClusterIdentifier), aws.ToString(cl.DBClusterArn)
		tags, err := tagsOf(arn)
		if err != nil {
			return nil, nil, err
		}
		if !scope.ours(name, tags) {
			continue
		}
		kind := "RDS"
		if aws.ToString(cl.Engine) == "docdb" {
			kind = "DocumentDB"
		}
		out = append(out, awsRes{kind: kind, name: name, id: arn, tags: tags})
	}
	for i := range out {
		dbs[out[i].name] = &out[i]
	}
	var stray []string
	instances, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeDBInstances: %w", err)
	}
	var single []awsRes
	for _, in := range instances.DBInstances {
		name, arn := aws.ToString(in.DBInstanceIdentifier), aws.ToString(in.DBInstanceArn)
		tags, err := tagsOf(arn)
		if err != nil {
			return nil, nil, err
		}
		if cluster := aws.ToString(in.DBClusterIdentifier); cluster != "" {
			if db := dbs[cluster]; db != nil {
				db.parts = append(db.parts, "instance "+name)
			} else if scope.ours(name, tags) {
				stray = append(stray, fmt.Sprintf("DB instance %s of cluster %s, which is gone", name, cluster))
			}
			continue
		}
		if scope.ours(name, tags) {
			single = append(single, awsRes{kind: "RDS", name: name, id: arn, tags: tags})
		}
	}
	out = append(out, single...)
	for i := range out {
		dbs[out[i].name] = &out[i]
	}
	groups, err := c.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeDBSubnetGroups: %w", err)
	}
	for _, g := range groups.DBSubnetGroups {
		name := aws.ToString(g.DBSubnetGroupName)
		if !strings.HasPrefix(name, scope.prefix) {
			continue
		}
		if db := dbs[name]; db != nil {
			db.parts = append(db.parts, "subnet-group "+name)
		} else {
			stray = append(stray, "DB subnet group "+name+", whose database is gone")
		}
	}
	for i := range out {
		slices.Sort(out[i].parts)
	}
	return out, stray, nil
}

func rdsTags(tags []rdstypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// listFileSystems lists the deployment's EFS file systems (named by their creation token) with
// their mount targets ("mount-target ZONE") and access points ("access-point NAME").
func listFileSystems(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	c := efs.NewFromConfig(cfg)
	fss, err := c.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeFileSystems: %w", err)
	}
	var out []awsRes
	for _, fs := range fss.FileSystems {
		name, id := aws.ToString(fs.CreationToken), aws.ToString(fs.FileSystemId)
		tags := map[string]string{}
		for _, t := range fs.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if !scope.ours(name, tags) {
			continue
		}
		r := awsRes{kind: "EFS", name: name, id: id, tags: tags}
		mts, err := c.DescribeMountTargets(ctx, &efs.DescribeMountTargetsInput{FileSystemId: fs.FileSystemId})
		if err != nil {
			return nil, nil, fmt.Errorf("DescribeMountTargets %s: %w", id, err)
		}
		for _, mt := range mts.MountTargets {
			r.parts = append(r.parts, "mount-target "+aws.ToString(mt.AvailabilityZoneName))
		}
		aps, err := c.DescribeAccessPoints(ctx, &efs.DescribeAccessPointsInput{FileSystemId: fs.FileSystemId})
		if err != nil {
			return nil, nil, fmt.Errorf("DescribeAccessPoints %s: %w", id, err)
		}
		for _, ap := range aps.AccessPoints {
			r.parts = append(r.parts, "access-point "+aws.ToString(ap.Name))
		}
		slices.Sort(r.parts)
		out = append(out, r)
	}
	return out, nil, nil
}

// listVolumes lists the deployment's EBS volumes, named by their Name tag.
func listVolumes(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	vols, err := ec2.NewFromConfig(cfg).DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeVolumes: %w", err)
	}
	var out []awsRes
	for _, v := range vols.Volumes {
		name, tags := ec2Tags(v.Tags)
		if scope.ours(name, tags) {
			out = append(out, awsRes{kind: "EBS", name: name, id: aws.ToString(v.VolumeId), tags: tags})
		}
	}
	return out, nil, nil
}

// listKafka lists the deployment's MSK clusters (kind MSK) and the topics on them (kind Kafka,
// whose tags are the tags of their SSM parameter, a part: "parameter NAME"). Strays: a topic's
// parameter whose topic is gone.
func listKafka(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	c, s := kafka.NewFromConfig(cfg), ssm.NewFromConfig(cfg)
	params := map[string]map[string]string{} // the topic parameters' tags, by name
	pp := ssm.NewDescribeParametersPaginator(s, &ssm.DescribeParametersInput{ParameterFilters: []ssmtypes.ParameterStringFilter{
		{Key: aws.String("Name"), Option: aws.String("BeginsWith"), Values: []string{"/panka/kafka-topics/"}}}})
	for pp.HasMorePages() {
		page, err := pp.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("DescribeParameters: %w", err)
		}
		for _, p := range page.Parameters {
			name := aws.ToString(p.Name)
			tags, err := s.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name)})
			if err != nil {
				return nil, nil, fmt.Errorf("ListTagsForResource %s: %w", name, err)
			}
			m := map[string]string{}
			for _, t := range tags.TagList {
				m[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			params[name] = m
		}
	}
	var out []awsRes
	clusters, err := c.ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	if err != nil {
		return nil, nil, fmt.Errorf("ListClustersV2: %w", err)
	}
	for _, cl := range clusters.ClusterInfoList {
		name, arn := aws.ToString(cl.ClusterName), aws.ToString(cl.ClusterArn)
		if !scope.ours(name, cl.Tags) {
			continue
		}
		out = append(out, awsRes{kind: "MSK", name: name, id: arn, tags: cl.Tags})
		topics, err := c.ListTopics(ctx, &kafka.ListTopicsInput{ClusterArn: cl.ClusterArn})
		if err != nil {
			return nil, nil, fmt.Errorf("ListTopics %s: %w", name, err)
		}
		for _, tp := range topics.Topics {
			topic := aws.ToString(tp.TopicName)
			param := "/panka/kafka-topics/" + name + "/" + topic
			tags, ok := params[param]
			if !scope.ours(topic, tags) {
				continue
			}
			r := awsRes{kind: "Kafka", name: topic, id: aws.ToString(tp.TopicArn), tags: tags}
			if ok {
				r.parts = []string{"parameter " + param}
				delete(params, param)
			}
			out = append(out, r)
		}
	}
	var stray []string
	for name, tags := range params {
		if scope.ours("", tags) || strings.Contains(name, "/"+scope.prefix) {
			stray = append(stray, "SSM parameter "+name+", whose topic is gone")
		}
	}
	slices.Sort(stray)
	return out, stray, nil
}
