package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/panka/panka/provider"
)

// MSK: an Amazon MSK cluster, provisioned or serverless (CreateClusterV2). The physical ID is the
// cluster's ARN; its name is the component's physical name, unique in the account and region
// (lookup by ListClustersV2, a DELETING cluster not counted). The spec, as the engine hands it
// over:
//
//	serverless           Serverless (VpcConfigs, IAM client authentication) instead of Provisioned
//	kafkaVersion         KafkaVersion (UpdateClusterKafkaVersion)
//	brokerNodes          NumberOfBrokerNodes (UpdateBrokerCount; MSK only adds brokers)
//	availabilityZones    how many of network.subnets (the first) hold brokers
//	instanceType         BrokerNodeGroupInfo.InstanceType (UpdateBrokerType)
//	storageGiB           EBS volume size per broker (UpdateBrokerStorage; MSK only grows it)
//	encryptionInTransit  EncryptionInTransit.ClientBroker, in-cluster TLS on (UpdateSecurity)
//	kmsKey               EncryptionAtRest.DataVolumeKMSKeyId; none: the AWS-managed key aws/kafka
//	authentication       ClientAuthentication: sasl.iam, sasl.scram, tls (ACM PCA ARNs),
//	                     unauthenticated (UpdateSecurity)
//	network              subnets (client subnets), securityGroups; vpcId (the subnets' VPC)
//
// A serverless cluster has none of the provisioned fields: it reads them back as the schema's
// defaults, the only values the schema lets a serverless spec have, and IAM authentication.
// Outputs: clusterName, arn, bootstrapBrokers (plaintext, 9092), bootstrapBrokersTls (9094),
// bootstrapBrokersScram (SASL/SCRAM, 9096), bootstrapBrokersIam (9098) from GetBootstrapBrokers, each empty when the cluster's
// authentication and encryption in transit do not offer it, and zookeeperConnect (empty for
// serverless clusters and KRaft ones).
//
// Create waits until the cluster is ACTIVE, reporting progress. A run interrupted meanwhile
// leaves a CREATING cluster with its tags: the next run's Create finds it by name
// (ErrAlreadyExists), Find adopts it, and reading it waits until it is ACTIVE: one cluster, never
// two. MSK changes a provisioned cluster through cluster operations, one at a time and each
// against the cluster's current version: Update makes them in a fixed order (security, Kafka
// version, broker type, storage, broker count), each waited for until UPDATE_COMPLETE with
// progress; an interrupted Update leaves the cluster UPDATING, and the next read waits for it,
// so the next Update starts from what was done. Refused in place, with the reason: fewer
// brokers and less storage (at plan time already: kindTable's limits), other subnets or security
// groups (MSK cannot), and any change of a serverless cluster but its tags. Delete waits until the cluster is gone. An MSK cluster has no
// parts.
//
// Limits: when network.subnets has more subnets than availabilityZones, the cluster reads back
// only the subnets its brokers are in, a difference the engine shows as drift.

type mskKind struct {
	p   *Provider
	c   *kafka.Client
	kms *kms.Client
}

func newMSK(p *Provider) kind {
	return &mskKind{p: p, c: kafka.NewFromConfig(p.cfg), kms: kms.NewFromConfig(p.cfg)}
}

// mskLive is what read keeps of a cluster for update and delete.
type mskLive struct {
	cluster *kafkatypes.Cluster
}

func (k *mskKind) lookup(ctx context.Context, name string) (string, error) {
	in := &kafka.ListClustersV2Input{ClusterNameFilter: aws.String(name)}
	for {
		out, err := k.c.ListClustersV2(ctx, in)
		if err != nil {
			return "", err
		}
		for _, c := range out.ClusterInfoList {
			if aws.ToString(c.ClusterName) == name && c.State != kafkatypes.ClusterStateDeleting {
				return aws.ToString(c.ClusterArn), nil
			}
		}
		if out.NextToken == nil {
			return "", fmt.Errorf("%w: MSK cluster %s", provider.ErrNotFound, name)
		}
		in.NextToken = out.NextToken
	}
}

// brokerSubnets are the subnets of spec s that hold brokers: the first availabilityZones of
// network.subnets.
func brokerSubnets(s map[string]any) ([]string, error) {
	subnets := specStrings(specMap(s, "network"), "subnets")
	n := int(specInt(s, "availabilityZones", 3))
	if len(subnets) < n || n < 2 {
		return nil, fmt.Errorf("MSK puts brokers in %d subnets of different zones, and the network has %d (network.subnets: the engine injects the environment's private subnets)", n, len(subnets))
	}
	return subnets[:n], nil
}

func mskAuth(s map[string]any) *kafkatypes.ClientAuthentication {
	a := specMap(s, "authentication")
	out := &kafkatypes.ClientAuthentication{
		Sasl: &kafkatypes.Sasl{Iam: &kafkatypes.Iam{Enabled: aws.Bool(specBool(a, "iam"))},
			Scram: &kafkatypes.Scram{Enabled: aws.Bool(specBool(a, "scram"))}},
		Unauthenticated: &kafkatypes.Unauthenticated{Enabled: aws.Bool(specBool(a, "unauthenticated"))},
		Tls:             &kafkatypes.Tls{Enabled: aws.Bool(false)},
	}
	if t := specMap(a, "tls"); t != nil {
		out.Tls = &kafkatypes.Tls{Enabled: aws.Bool(true), CertificateAuthorityArnList: specStrings(t, "certificateAuthorities")}
	}
	return out
}

func mskTransit(s map[string]any) *kafkatypes.EncryptionInTransit {
	cb := specString(s, "encryptionInTransit")
	if cb == "" {
		cb = "TLS"
	}
	return &kafkatypes.EncryptionInTransit{ClientBroker: kafkatypes.ClientBroker(cb), InCluster: aws.Bool(true)}
}

func (k *mskKind) create(ctx context.Context, r provider.Resource) (string, error) {
	s := r.Spec
	net := specMap(s, "network")
	in := &kafka.CreateClusterV2Input{ClusterName: aws.String(r.Name), Tags: cloneTags(r.Tags)}
	if specBool(s, "serverless") {
		subnets := specStrings(net, "subnets")
		if len(subnets) < 2 {
			return "", fmt.Errorf("MSK Serverless needs subnets in at least two zones, and the network has %d (the engine injects the environment's private subnets)", len(subnets))
		}
		in.Serverless = &kafkatypes.ServerlessRequest{
			VpcConfigs:           []kafkatypes.VpcConfig{{SubnetIds: subnets, SecurityGroupIds: specStrings(net, "securityGroups")}},
			ClientAuthentication: &kafkatypes.ServerlessClientAuthentication{Sasl: &kafkatypes.ServerlessSasl{Iam: &kafkatypes.Iam{Enabled: aws.Bool(true)}}},
		}
	} else {
		subnets, err := brokerSubnets(s)
		if err != nil {
			return "", err
		}
		enc := &kafkatypes.EncryptionInfo{EncryptionInTransit: mskTransit(s)}
		if key := specString(s, "kmsKey"); key != "" {
			enc.EncryptionAtRest = &kafkatypes.EncryptionAtRest{DataVolumeKMSKeyId: aws.String(key)}
		}
		in.Provisioned = &kafkatypes.ProvisionedRequest{
			KafkaVersion:        aws.String(specString(s, "kafkaVersion")),
			NumberOfBrokerNodes: aws.Int32(int32(specInt(s, "brokerNodes", 3))),
			BrokerNodeGroupInfo: &kafkatypes.BrokerNodeGroupInfo{
				ClientSubnets: subnets, SecurityGroups: specStrings(net, "securityGroups"),
				InstanceType: aws.String(specString(s, "instanceType")),
				StorageInfo:  &kafkatypes.StorageInfo{EbsStorageInfo: &kafkatypes.EBSStorageInfo{VolumeSize: aws.Int32(int32(specInt(s, "storageGiB", 100)))}},
			},
			EncryptionInfo:       enc,
			ClientAuthentication: mskAuth(s),
		}
	}
	out, err := k.c.CreateClusterV2(ctx, in)
	if err != nil {
		return "", err
	}
	arn := aws.ToString(out.ClusterArn)
	if _, err := k.waitSettled(ctx, arn); err != nil {
		return "", fmt.Errorf("waiting for cluster %s to be ACTIVE: %w", r.Name, err)
	}
	return arn, nil
}

// mskSettling are the states a cluster leaves by itself soon: reading waits them out.
var mskSettling = []kafkatypes.ClusterState{kafkatypes.ClusterStateCreating, kafkatypes.ClusterStateUpdating, kafkatypes.ClusterStateRebootingBroker}

// waitSettled waits, reporting progress, until the cluster arn is in no settling state, and
// returns it.
func (k *mskKind) waitSettled(ctx context.Context, arn string) (*kafkatypes.Cluster, error) {
	var c *kafkatypes.Cluster
	err := waitFor(ctx, func(ctx context.Context) (bool, error) {
		out, err := k.c.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: aws.String(arn)})
		if err != nil {
			return false, err
		}
		c = out.ClusterInfo
		if slices.Contains(mskSettling, c.State) {
			provider.ReportProgress(ctx, fmt.Sprintf("MSK cluster %s is %s", aws.ToString(c.ClusterName), c.State))
			return false, nil
		}
		return true, nil
	})
	return c, err
}

func (k *mskKind) read(ctx context.Context, id string) (*live, error) {
	c, err := k.waitSettled(ctx, id)
	if err != nil {
		return nil, err
	}
	name := aws.ToString(c.ClusterName)
	spec := map[string]any{"serverless": c.ClusterType == kafkatypes.ClusterTypeServerless}
	outputs := map[string]string{"clusterName": name, "arn": id, "bootstrapBrokers": "", "bootstrapBrokersTls": "",
		"bootstrapBrokersScram": "", "bootstrapBrokersIam": "", "zookeeperConnect": ""}
	var subnets, groups []string
	if p := c.Provisioned; p != nil {
		b := p.BrokerNodeGroupInfo
		subnets, groups = b.ClientSubnets, b.SecurityGroups
		spec["kafkaVersion"] = aws.ToString(p.CurrentBrokerSoftwareInfo.KafkaVersion)
		spec["brokerNodes"] = int64(aws.ToInt32(p.NumberOfBrokerNodes))
		spec["availabilityZones"] = int64(len(subnets))
		spec["instanceType"] = aws.ToString(b.InstanceType)
		if si := b.StorageInfo; si != nil && si.EbsStorageInfo != nil {
			spec["storageGiB"] = int64(aws.ToInt32(si.EbsStorageInfo.VolumeSize))
		}
		if e := p.EncryptionInfo; e != nil {
			if e.EncryptionInTransit != nil {
				spec["encryptionInTransit"] = string(e.EncryptionInTransit.ClientBroker)
			}
			if e.EncryptionAtRest != nil {
				key, err := k.customerKey(ctx, aws.ToString(e.EncryptionAtRest.DataVolumeKMSKeyId))
				if err != nil {
					return nil, err
				}
				if key != "" {
					spec["kmsKey"] = key
				}
			}
		}
		spec["authentication"] = mskAuthSpec(p.ClientAuthentication)
		outputs["zookeeperConnect"] = aws.ToString(p.ZookeeperConnectString)
	} else if sv := c.Serverless; sv != nil {
		for _, v := range sv.VpcConfigs {
			subnets, groups = append(subnets, v.SubnetIds...), append(groups, v.SecurityGroupIds...)
		}
		// The schema's defaults: a serverless spec cannot have other values (schema.MSKSpec).
		spec["kafkaVersion"], spec["brokerNodes"], spec["availabilityZones"] = "3.6.0", int64(3), int64(3)
		spec["instanceType"], spec["storageGiB"], spec["encryptionInTransit"] = "kafka.m5.large", int64(100), "TLS"
		spec["authentication"] = map[string]any{"iam": true, "scram": false, "unauthenticated": false}
	}
	vpc, err := k.vpcOf(ctx, subnets)
	if err != nil {
		return nil, err
	}
	spec["network"] = map[string]any{"vpcId": vpc, "subnets": anyList(subnets), "securityGroups": anyList(groups)}
	if c.State != kafkatypes.ClusterStateDeleting && c.State != kafkatypes.ClusterStateFailed {
		bb, err := k.c.GetBootstrapBrokers(ctx, &kafka.GetBootstrapBrokersInput{ClusterArn: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("bootstrap brokers: %w", err)
		}
		outputs["bootstrapBrokers"] = aws.ToString(bb.BootstrapBrokerString)
		outputs["bootstrapBrokersTls"] = aws.ToString(bb.BootstrapBrokerStringTls)
		outputs["bootstrapBrokersScram"] = aws.ToString(bb.BootstrapBrokerStringSaslScram)
		outputs["bootstrapBrokersIam"] = aws.ToString(bb.BootstrapBrokerStringSaslIam)
	}
	return &live{obs: &provider.Observed{ID: id, Name: name, ARN: id, Spec: spec, Tags: c.Tags, Outputs: outputs},
		raw: &mskLive{cluster: c}}, nil
}

// mskAuthSpec is the spec's authentication of MSK's client authentication (none: unauthenticated).
func mskAuthSpec(a *kafkatypes.ClientAuthentication) map[string]any {
	out := map[string]any{"iam": false, "scram": false, "unauthenticated": a == nil}
	if a == nil {
		return out
	}
	if s := a.Sasl; s != nil {
		out["iam"] = s.Iam != nil && aws.ToBool(s.Iam.Enabled)
		out["scram"] = s.Scram != nil && aws.ToBool(s.Scram.Enabled)
	}
	if u := a.Unauthenticated; u != nil {
		out["unauthenticated"] = aws.ToBool(u.Enabled)
	}
	if t := a.Tls; t != nil && aws.ToBool(t.Enabled) {
		out["tls"] = map[string]any{"certificateAuthorities": anyList(t.CertificateAuthorityArnList)}
	}
	return out
}

// customerKey is the KMS key id unless it is an AWS-managed key (aws/kafka, what MSK uses when
// no key is given), which reads as "" (kmsKey unset). A key KMS cannot find reads as id.
func (k *mskKind) customerKey(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	out, err := k.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if isNotFound(err) {
		// A key KMS does not know (deleted since, or out of the credentials' sight) is not an
		// AWS-managed one; and its not-found is not the cluster's, which would make a read
		// after create wait for ever.
		return id, nil
	}
	if err != nil {
		return "", fmt.Errorf("the cluster's KMS key %s: %w", id, err)
	}
	if out.KeyMetadata.KeyManager == kmstypes.KeyManagerTypeAws {
		return "", nil
	}
	return id, nil
}

// vpcOf is the VPC of the subnets ("" without subnets).
func (k *mskKind) vpcOf(ctx context.Context, subnets []string) (string, error) {
	if len(subnets) == 0 {
		return "", nil
	}
	out, err := k.p.ec2Client().DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: subnets[:1]})
	if err != nil {
		return "", fmt.Errorf("the VPC of subnet %s: %w", subnets[0], err)
	}
	if len(out.Subnets) == 0 {
		return "", fmt.Errorf("subnet %s of the cluster is gone", subnets[0])
	}
	return aws.ToString(out.Subnets[0].VpcId), nil
}

func (k *mskKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have, want := l.obs.Spec, r.Spec
	c := l.raw.(*mskLive).cluster
	arn := l.obs.ID
	hn, wn := specMap(have, "network"), specMap(want, "network")
	if specBool(want, "serverless") {
		if !sameSet(specStrings(hn, "subnets"), specStrings(wn, "subnets")) || !sameSet(specStrings(hn, "securityGroups"), specStrings(wn, "securityGroups")) {
			return errors.New("MSK Serverless cannot move a cluster to other subnets or security groups: replace the cluster (a new name) to move it")
		}
		return nil // nothing else of a serverless cluster changes
	}
	wantSubnets, err := brokerSubnets(want)
	if err != nil {
		return err
	}
	switch {
	case !sameSet(specStrings(hn, "subnets"), wantSubnets):
		return fmt.Errorf("MSK cannot move brokers to other subnets (%s, now %s): replace the cluster (a new name) to move it",
			strings.Join(wantSubnets, ", "), strings.Join(specStrings(hn, "subnets"), ", "))
	case !sameSet(specStrings(hn, "securityGroups"), specStrings(wn, "securityGroups")):
		return errors.New("MSK cannot change a provisioned cluster's security groups: change the rules of the cluster's security group instead, or replace the cluster")
	case specInt(want, "brokerNodes", 3) < specInt(have, "brokerNodes", 3):
		return fmt.Errorf("MSK cannot remove brokers (%d now, %d wanted): keep brokerNodes at least %d, or replace the cluster",
			specInt(have, "brokerNodes", 3), specInt(want, "brokerNodes", 3), specInt(have, "brokerNodes", 3))
	case specInt(want, "storageGiB", 100) < specInt(have, "storageGiB", 100):
		return fmt.Errorf("MSK cannot shrink broker storage (%d GiB now, %d wanted): keep storageGiB at least %d, or replace the cluster",
			specInt(have, "storageGiB", 100), specInt(want, "storageGiB", 100), specInt(have, "storageGiB", 100))
	}
	// The cluster operations, in order; each starts from the current version the last left.
	type operation struct {
		what  string
		start func(version *string) (opARN *string, err error)
	}
	var ops []operation
	cluster := aws.String(arn)
	if !equalSpec(specMap(have, "authentication"), specMap(want, "authentication")) || specString(have, "encryptionInTransit") != specString(want, "encryptionInTransit") {
		ops = append(ops, operation{"update security", func(v *string) (*string, error) {
			out, err := k.c.UpdateSecurity(ctx, &kafka.UpdateSecurityInput{ClusterArn: cluster, CurrentVersion: v,
				ClientAuthentication: mskAuth(want), EncryptionInfo: &kafkatypes.EncryptionInfo{EncryptionInTransit: mskTransit(want)}})
			return opARN(out, err, func(o *kafka.UpdateSecurityOutput) *string { return o.ClusterOperationArn })
		}})
	}
	if v := specString(want, "kafkaVersion"); v != specString(have, "kafkaVersion") {
		ops = append(ops, operation{"update Kafka version to " + v, func(cv *string) (*string, error) {
			out, err := k.c.UpdateClusterKafkaVersion(ctx, &kafka.UpdateClusterKafkaVersionInput{ClusterArn: cluster, CurrentVersion: cv, TargetKafkaVersion: aws.String(v)})
			return opARN(out, err, func(o *kafka.UpdateClusterKafkaVersionOutput) *string { return o.ClusterOperationArn })
		}})
	}
	if t := specString(want, "instanceType"); t != specString(have, "instanceType") {
		ops = append(ops, operation{"update broker type to " + t, func(cv *string) (*string, error) {
			out, err := k.c.UpdateBrokerType(ctx, &kafka.UpdateBrokerTypeInput{ClusterArn: cluster, CurrentVersion: cv, TargetInstanceType: aws.String(t)})
			return opARN(out, err, func(o *kafka.UpdateBrokerTypeOutput) *string { return o.ClusterOperationArn })
		}})
	}
	if g := specInt(want, "storageGiB", 100); g != specInt(have, "storageGiB", 100) {
		ops = append(ops, operation{fmt.Sprintf("update broker storage to %d GiB", g), func(cv *string) (*string, error) {
			out, err := k.c.UpdateBrokerStorage(ctx, &kafka.UpdateBrokerStorageInput{ClusterArn: cluster, CurrentVersion: cv,
				TargetBrokerEBSVolumeInfo: []kafkatypes.BrokerEBSVolumeInfo{{KafkaBrokerNodeId: aws.String("ALL"), VolumeSizeGB: aws.Int32(int32(g))}}})
			return opARN(out, err, func(o *kafka.UpdateBrokerStorageOutput) *string { return o.ClusterOperationArn })
		}})
	}
	if n := specInt(want, "brokerNodes", 3); n != specInt(have, "brokerNodes", 3) {
		ops = append(ops, operation{fmt.Sprintf("update broker count to %d", n), func(cv *string) (*string, error) {
			out, err := k.c.UpdateBrokerCount(ctx, &kafka.UpdateBrokerCountInput{ClusterArn: cluster, CurrentVersion: cv, TargetNumberOfBrokerNodes: aws.Int32(int32(n))})
			return opARN(out, err, func(o *kafka.UpdateBrokerCountOutput) *string { return o.ClusterOperationArn })
		}})
	}
	version := c.CurrentVersion
	for _, op := range ops {
		a, err := op.start(version)
		if err == nil {
			err = k.waitOperation(ctx, op.what, aws.ToString(a))
		}
		var settled *kafkatypes.Cluster
		if err == nil {
			settled, err = k.waitSettled(ctx, arn)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op.what, err)
		}
		version = settled.CurrentVersion
	}
	return nil
}

// opARN is the cluster operation an update call started.
func opARN[T any](out *T, err error, arn func(*T) *string) (*string, error) {
	if err != nil {
		return nil, err
	}
	return arn(out), nil
}

// waitOperation waits, reporting progress, until the cluster operation arn is UPDATE_COMPLETE;
// UPDATE_FAILED is an error with MSK's reason.
func (k *mskKind) waitOperation(ctx context.Context, what, arn string) error {
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		out, err := k.c.DescribeClusterOperationV2(ctx, &kafka.DescribeClusterOperationV2Input{ClusterOperationArn: aws.String(arn)})
		if err != nil {
			return false, err
		}
		op := out.ClusterOperationInfo
		switch state := aws.ToString(op.OperationState); state {
		case "UPDATE_COMPLETE":
			return true, nil
		case "UPDATE_FAILED":
			reason := "no reason given"
			if e := op.ErrorInfo; e != nil {
				reason = aws.ToString(e.ErrorCode) + ": " + aws.ToString(e.ErrorString)
			}
			return false, fmt.Errorf("cluster operation %s failed: %s", arn, reason)
		default:
			provider.ReportProgress(ctx, fmt.Sprintf("%s: cluster operation %s", what, state))
			return false, nil
		}
	})
}

func (k *mskKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	if len(set) > 0 {
		if _, err := k.c.TagResource(ctx, &kafka.TagResourceInput{ResourceArn: aws.String(l.obs.ID), Tags: set}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if _, err := k.c.UntagResource(ctx, &kafka.UntagResourceInput{ResourceArn: aws.String(l.obs.ID), TagKeys: remove}); err != nil {
			return err
		}
	}
	return nil
}

// delete deletes the cluster and waits, reporting progress, until it is gone.
func (k *mskKind) delete(ctx context.Context, l *live) error {
	arn := l.obs.ID
	if _, err := k.c.DeleteCluster(ctx, &kafka.DeleteClusterInput{ClusterArn: aws.String(arn)}); err != nil {
		return err
	}
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		out, err := k.c.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: aws.String(arn)})
		if isNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		provider.ReportProgress(ctx, fmt.Sprintf("MSK cluster %s is %s", l.obs.Name, out.ClusterInfo.State))
		return false, nil
	})
}
