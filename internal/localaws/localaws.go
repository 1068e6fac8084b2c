// Package localaws runs the embedded AWS emulator (github.com/sivchari/kumo) on 127.0.0.1 and
// builds AWS SDK configurations that talk to it.
//
// Two ways to run it:
//
//   - Start runs an emulator in this process. Tests use it for the S3 backend and DynamoDB locker
//     conformance suites, in memory (Start("")).
//   - Connect shares one emulator per data directory between processes: the CLI's --local uses
//     it. The first process to need the directory starts a detached emulator process (a program
//     that calls Serve); every process, the first included, connects to it over 127.0.0.1 and
//     holds it open while it runs; the emulator exits after an idle period with no client,
//     flushing its data first. Two emulators never serve one directory: each would keep its own
//     copy of the data in memory and overwrite the other's (lost updates, locks that exclude
//     nothing, object bodies deleted under the other's index). See shared.go for the protocol.
//
// # The gap layer
//
// Both put a small HTTP layer (gaps.go) in front of kumo: the URL clients get is the layer's.
// It answers exactly the operations below, which kumo v0.33.1 lacks or gets wrong, and passes
// every other request to kumo unchanged. Each gap has a test that calls kumo directly, without
// the layer, and asserts the wrong behaviour: it fails once kumo answers correctly, and then the
// gap's handler (one row of gapHandlers) and its test are removed.
//
//   - SQS server-side encryption: CreateQueue and SetQueueAttributes accept KmsMasterKeyId,
//     KmsDataKeyReusePeriodSeconds and SqsManagedSseEnabled, and kumo drops them:
//     GetQueueAttributes never reports them. The layer records them (CreateQueue of a new queue,
//     SetQueueAttributes), reports them in GetQueueAttributes as SQS does (SqsManagedSseEnabled
//     always, true for a new queue without a KMS key; the KMS key and the reuse period, default
//     300, when a key is set) and forgets them at DeleteQueue. Pinned by
//     TestKumoDropsSQSEncryptionAttributes.
//   - SNS tags: kumo fails CreateTopic and TagResource when a tag value reads as a JSON number
//     or boolean ("42", "true": "Failed to parse request body"), answers TagResource and
//     UntagResource with a document without the TagResourceResult element, which the SDK fails
//     to parse ("deserialization failed, EOF"), and lists a missing topic's tags as none. The
//     layer keeps the tags of the topics made through it: CreateTopic's tags (kumo gets the
//     request without them), TagResource, UntagResource and ListTagsForResource answered from
//     them (ResourceNotFound for a topic kumo does not have), DeleteTopic forgets them. Pinned
//     by TestKumoSNSNumericTagValueFails, TestKumoSNSTagReplyDoesNotParse and
//     TestKumoSNSListsTagsOfMissingTopic.
//   - S3 bucket ACLs, ownership controls and CORS (gaps_s3.go): kumo takes PutBucketAcl and
//     PutBucketOwnershipControls for CreateBucket (BucketAlreadyOwnedByYou, MalformedXML), keeps
//     no ownership controls (not even CreateBucket's x-amz-object-ownership), drops a CORS rule's
//     ID, and answers DeleteBucketCors by deleting the bucket. The layer keeps these settings of
//     each bucket (canned ACLs only; BucketOwnerEnforced by default, refusing a non-private ACL
//     under it as S3 does), answers their Put, Get and Delete itself for buckets kumo has,
//     records CreateBucket's ownership and forgets a bucket at DeleteBucket. Pinned by
//     TestKumoS3PutBucketAclIsCreateBucket, TestKumoS3OwnershipControls,
//     TestKumoS3DropsCORSRuleID and TestKumoS3DeleteBucketCorsDeletesBucket.
//   - DynamoDB table settings (gaps_dynamodb.go): kumo answers UpdateTable with success and ignores
//     its billing mode, provisioned throughput, global index changes, stream, SSE and deletion
//     protection; drops CreateTable's SSE specification; and has no UpdateContinuousBackups
//     (UnknownOperationException). The layer keeps an overlay per table (what kumo ignored,
//     nothing else), lays it over kumo's DescribeTable, CreateTable and UpdateTable answers and
//     DescribeContinuousBackups, answers UpdateContinuousBackups itself (TableNotFoundException
//     for a table kumo does not have), and forgets the table at DeleteTable. Index changes
//     take effect at once (ACTIVE, no backfill). Pinned by
//     TestKumoDynamoDBUpdateTableIgnoresSettings (one subtest per setting),
//     TestKumoDynamoDBCreateTableDropsSSE and TestKumoDynamoDBNoUpdateContinuousBackups.
//   - EventBridge bus tags: kumo drops CreateEventBus's Tags, and keeps a deleted bus's tags for
//     the next bus of its name. After kumo creates a bus the layer makes its tags exactly the
//     request's with kumo's own TagResource and UntagResource (gaps_events.go). Pinned by
//     TestKumoEventBusDropsCreateTags.
//   - EventBridge archives: kumo has none (InvalidAction). The layer answers CreateArchive,
//     DescribeArchive, UpdateArchive and DeleteArchive from its own state (the source bus must
//     exist in kumo); no event is archived or replayed. Pinned by TestKumoHasNoArchives.
//   - EventBridge target fields: kumo's PutTargets drops SqsParameters (a FIFO queue's message
//     group) and DeadLetterConfig. The layer records them, adds them to ListTargetsByRule's
//     answer, and forgets them with the target, its rule or its bus. Pinned by
//     TestKumoDropsTargetSQSParametersAndDeadLetterConfig.
//   - Lambda (gaps_lambda.go): kumo has no Put/Get/DeleteFunctionConcurrency, drops a function's
//     EphemeralStorage, leaves ImageUri out of GetFunction, drops an event source mapping's
//     StartingPosition, and gives a stream mapping without a BatchSize 10 (Lambda: 100). The
//     layer keeps them (per function, per mapping UUID), adds them to kumo's function and
//     mapping answers, answers the concurrency operations itself, sends kumo a stream mapping's
//     default batch size, and forgets them at DeleteFunction and DeleteEventSourceMapping.
//     Pinned by TestKumoLambdaDropsEphemeralStorage, TestKumoLambdaGetFunctionOmitsImageUri,
//     TestKumoLambdaNoFunctionConcurrency, TestKumoLambdaDropsStartingPosition and
//     TestKumoLambdaStreamMappingDefaultBatchSize.
//   - CloudWatch Logs log group ARNs (gaps_logs.go): kumo's DescribeLogGroups leaves out
//     logGroupArn (the ARN the tagging operations take) and ends arn without ":*". The layer adds
//     them to its answer. Pinned by TestKumoLogsDescribeLogGroupsOmitsLogGroupArn.
//   - API Gateway v2 custom domains and CORS removal (gaps_apigw.go): kumo has no domain names,
//     API mappings or DeleteCorsConfiguration (it answers with an HTML page). The layer keeps
//     domain names, their tags and API mappings itself (create, get, list, update, delete; a
//     mapping's API stage must exist in kumo), and answers DeleteCorsConfiguration by emptying
//     the API's CORS in kumo, which it leaves out of GetApi, GetApis and UpdateApi answers.
//     Pinned by TestKumoHasNoAPIGatewayDomainNames and TestKumoHasNoDeleteCorsConfiguration.
//   - API Gateway v2 VPC links (gaps_apigw_vpclink.go): kumo has none. The layer keeps them
//     (create, get, list, rename, delete, tags): PENDING for 300ms
//     (PANKA_LOCALAWS_APIGW_VPCLINK_DELAY), then AVAILABLE; DELETING as long, then gone;
//     DeleteVpcLink refused (BadRequestException) while an integration of one of kumo's APIs
//     uses the link. Integrations through a link stay kumo's (it keeps connectionType,
//     connectionId and tlsConfig). Pinned by TestKumoHasNoVPCLinks and
//     TestKumoKeepsVPCLinkIntegrations.
//   - CloudFront deletion (gaps_cloudfront.go): kumo deletes an enabled distribution, which
//     CloudFront refuses (DistributionNotDisabled). The layer refuses it too. Pinned by
//     TestKumoDeletesEnabledDistribution.
//   - ECS (gaps_ecs.go): kumo keeps clusters, task definitions, services and tasks but has no
//     DescribeServices, ListServices, DescribeTaskDefinition, ListTaskDefinitions,
//     DeleteTaskDefinitions, ListTasks or tagging operations (so the SDK's waiters fail), and
//     answers a duplicate CreateService with ServiceAlreadyExistsException (ECS:
//     InvalidParameterException). The layer owns all of ECS: it answers every ECS request from
//     its own state (kumo's ECS is never asked; an operation it does not emulate fails with
//     UnknownOperationException naming it): clusters, task definitions (revisions; ACTIVE,
//     INACTIVE, DELETE_IN_PROGRESS), services with deployments and events, tasks, and tags. Tasks
//     are simulated from the time since they started: RUNNING after a start delay (300ms;
//     PANKA_LOCALAWS_ECS_START_DELAY) or, when an essential container's image tag contains
//     "broken" (ECSBrokenImageMarker), STOPPED ("Essential container in task exited", exit code
//     1); a service's deployment is COMPLETED when its tasks run, and FAILED after 3 failed tasks
//     (rolled back if its circuit breaker says so). Pinned by TestKumoHasNoECSReadBack (one
//     subtest per operation) and TestKumoECSDuplicateServiceCode.
//   - ECS cluster settings (gaps_ecs_ecs.go): kumo has no UpdateClusterSettings, nor had the
//     ECS layer; the layer answers it on its own clusters (containerInsights only, as ECS).
//     Pinned by TestKumoHasNoUpdateClusterSettings.
//   - ELBv2 (gaps_elbv2.go): kumo has no ModifyTargetGroup; keeps only the type (and a forward's
//     target groups) of a listener's or rule's actions, dropping redirect and fixed-response
//     settings; drops a listener's certificates, SSL policy and ALPN policy, as created and as
//     modified; answers DescribeLoadBalancers, DescribeTargetGroups and DescribeListeners of load
//     balancers and target groups it does not have with empty lists; gives a load balancer a random
//     VpcId; reports no target group's load balancers (LoadBalancerArns, and DescribeTargetGroups
//     of a load balancer); deletes a load balancer with deletion protection and a target group a
//     listener or rule uses; and refuses a CreateLoadBalancer or CreateTargetGroup of a name it has
//     even with the same settings, which ELBv2 answers with the existing resource (a create retried
//     after a crash). The layer answers these operations itself, passing each to kumo: it keeps
//     what kumo drops (by listener, rule and target group ARN) and writes it into kumo's answers (a
//     listener's default rule reports its default actions), answers ModifyTargetGroup's health
//     check settings, LoadBalancerNotFound, TargetGroupNotFound and ListenerNotFound,
//     OperationNotPermitted and ResourceInUse as ELBv2 does, reports the VPC of a load balancer's
//     subnets (kumo's EC2 DescribeSubnets) and a target group's load balancers (those whose
//     listeners or rules forward to it), and answers a create of an existing name with the existing
//     resource when its type, scheme and subnets (a load balancer) or protocol, port, VPC and
//     target type (a target group) are the request's. Pinned by TestKumoELBNoModifyTargetGroup,
//     TestKumoELBListenerDropsSettings, TestKumoELBRuleDropsActionSettings,
//     TestKumoELBDescribesMissingAsEmpty, TestKumoELBTargetGroupHasNoLoadBalancers,
//     TestKumoELBRandomVpcId, TestKumoELBDeletesProtectedAndInUse and
//     TestKumoELBCreateIsNotIdempotent.
//   - ELBv2 load balancer network (gaps_elbv2_lb.go): kumo has no SetSecurityGroups or SetSubnets
//     (InvalidAction), so a load balancer keeps the groups and subnets of its create. The layer
//     answers both for load balancers kumo has (LoadBalancerNotFound otherwise), keeps what they
//     set by load balancer ARN, writes it into DescribeLoadBalancers' answers (subnets in kumo's
//     zones: the region's a, b, c by position) and forgets it at DeleteLoadBalancer. It checks
//     neither the groups nor the subnets exist. Pinned by TestKumoELBNoSetSecurityGroupsOrSubnets.
//   - MSK (gaps_msk.go): kumo has only the v1 CreateCluster, ListClusters, DescribeCluster,
//     DeleteCluster, GetBootstrapBrokers and UpdateClusterConfiguration, makes clusters ACTIVE at
//     once and names account 123456789012 in their ARNs; it has no v2 API, no serverless
//     clusters, no updates, no cluster operations, no tags (ListTagsForResource answers without
//     the create's) and no topics. The layer owns all of MSK (kumo's is never asked; an
//     operation it does not emulate fails with UnknownOperationException): CreateClusterV2
//     (provisioned or serverless), DescribeClusterV2, ListClustersV2, DeleteCluster,
//     GetBootstrapBrokers (per client authentication and encryption in transit: 9092 plaintext,
//     9094 TLS, 9096 SASL/SCRAM, 9098 IAM; serverless IAM only), UpdateBrokerCount,
//     UpdateBrokerStorage, UpdateBrokerType, UpdateClusterKafkaVersion and UpdateSecurity as
//     cluster operations (ListClusterOperationsV2, DescribeClusterOperationV2; the current
//     version checked), tags, and CreateTopic, DescribeTopic, ListTopics, UpdateTopic (partitions
//     only grow) and DeleteTopic. ARNs are in account 000000000000 (STS's). Clusters are CREATING,
//     UPDATING and DELETING, topics CREATING and UPDATING, for PANKA_LOCALAWS_MSK_DELAY (300ms);
//     no broker runs. A cluster made without a KMS key names the AWS-managed key aws/kafka, which
//     kumo's KMS does not have: the layer answers KMS DescribeKey of it (by ID, ARN or alias;
//     KeyManager AWS) and passes every other KMS request to kumo. Pinned by
//     TestKumoMSKLacksV2UpdatesTagsTopics (one subtest per operation) and
//     TestKumoHasNoAWSManagedKafkaKey.
//   - Application Auto Scaling (gaps_autoscaling.go): kumo has none. The layer answers
//     RegisterScalableTarget, DescribeScalableTargets, DeregisterScalableTarget,
//     PutScalingPolicy, DescribeScalingPolicies, DeleteScalingPolicy, TagResource, UntagResource
//     and ListTagsForResource from its own state (ARNs in account 000000000000 and us-east-1,
//     kumo's) and fails any other operation of the service (UnknownOperationException naming
//     it); nothing is scaled and no alarm is made. Pinned by TestKumoHasNoApplicationAutoScaling.
//   - IAM role tags and AWS-managed policies (gaps_iam.go): kumo has no ListRoleTags or UntagRole,
//     no AWS-managed policy (GetPolicy and AttachRolePolicy of arn:aws:iam::aws:policy/... are
//     NoSuchEntity) and no GetPolicyVersion. The layer owns role tags (CreateRole's, TagRole,
//     UntagRole, ListRoleTags, GetRole's answer; DeleteRole forgets them), and knows a table of
//     the managed policies ECS and Lambda deployers attach (AWSLambdaBasicExecutionRole,
//     AWSLambdaSQSQueueExecutionRole, AWSLambdaDynamoDBExecutionRole, AWSLambdaKinesisExecutionRole,
//     AWSLambdaVPCAccessExecutionRole, AmazonECSTaskExecutionRolePolicy, AWSXRayDaemonWriteAccess,
//     CloudWatchAgentServerPolicy; version v1 only): GetPolicy, GetPolicyVersion, Attach and
//     DetachRolePolicy of them, ListAttachedRolePolicies with them, DeleteRole refused
//     (DeleteConflict) while one is attached. Pinned by TestKumoIAMNoListRoleTagsOrUntagRole and
//     TestKumoIAMNoAWSManagedPolicies.
//   - EventBridge Scheduler tags and ECS targets (gaps_scheduler.go): kumo has no TagResource,
//     UntagResource or ListTagsForResource, drops CreateScheduleGroup's tags, and keeps four
//     fields of a target's EcsParameters (NetworkConfiguration and the rest are dropped; the other
//     schedule fields are kept). The layer keeps schedule groups' tags (only groups take tags, as
//     in AWS: a schedule's ARN is a ValidationException) and each schedule's EcsParameters as
//     given, put back in GetSchedule's target and forgotten at DeleteSchedule and
//     DeleteScheduleGroup. Pinned by TestKumoSchedulerHasNoTags and
//     TestKumoSchedulerDropsECSNetworkConfiguration.
//   - Account IDs (gaps_iam.go, gaps_scheduler.go): kumo's STS (and Lambda, SQS, SNS, EC2) say
//     account 000000000000, its IAM and Scheduler 123456789012. The layer answers with STS's
//     account in IAM's ARN elements (Arn, PolicyArn, OpenIDConnectProviderArn) and Scheduler's
//     ARN fields (Arn, ScheduleArn, ScheduleGroupArn), and maps IAM ARNs of STS's account in
//     requests back to kumo's before kumo sees them. Policy documents and schedule targets are
//     the client's data and are never rewritten. MSK (kafka) ARNs still say 123456789012: no
//     Panka kind uses MSK yet, and its ARNs travel in request paths. Data written before this
//     layer kept IAM ARNs of 123456789012 in other services (a function's role): a client sees
//     that once as drift. Pinned by TestKumoIAMAndSchedulerAccountIsNotSTSAccount.
//   - EC2 default VPC and filters (gaps_ec2.go): kumo has no default VPC, ignores DescribeVpcs'
//     and DescribeSecurityGroups' filters and all of DescribeSubnets' but vpc-id and
//     availability-zone, has no defaultForAz, and no DescribeAvailabilityZones. The first time
//     a client describes VPCs, subnets, security groups, internet gateways or route tables, the
//     layer makes a default VPC in kumo through kumo's API unless the one it recorded is still
//     there (172.31.0.0/16; a subnet per zone us-east-1a/b/c with mapPublicIpOnLaunch; an
//     internet gateway attached; a "default" security group; a route table with 0.0.0.0/0 to
//     the gateway; its main route table), marks it isDefault and its subnets defaultForAz,
//     applies DescribeVpcs', DescribeSubnets', DescribeSecurityGroups', DescribeInternetGateways'
//     and DescribeRouteTables' filters itself (an unknown filter fails the request), and answers
//     DescribeAvailabilityZones. Pinned by TestKumoEC2NoDefaultVPCAndNoVPCFilters.
//   - EC2 security group rules (gaps_ec2_rules.go): kumo gives a new group no rule (EC2: all
//     traffic out to 0.0.0.0/0, which the layer adds through kumo), and keeps a rule's protocol,
//     ports and CIDRs only, dropping its referenced groups (UserIdGroupPairs: the rule reads back
//     with no source, and goes at the group's next revoke). The layer takes the group pairs out of
//     AuthorizeSecurityGroupIngress/Egress and RevokeSecurityGroupIngress/Egress before kumo sees
//     them, keeps them by group ID, adds them to DescribeSecurityGroups' answers (merged into the
//     permission of the same protocol and ports), answers InvalidGroup.NotFound for a rule naming
//     a missing group, InvalidPermission.Duplicate for a rule the group has, and
//     DependencyViolation for DeleteSecurityGroup of a group another group's rule names, and
//     forgets a group's rules with it. Kumo has no DescribeSecurityGroupRules. Pinned by
//     TestKumoEC2DropsSecurityGroupReferences.
//   - EC2 network teardown (gaps_ec2_network.go): kumo has no AllocateAddress, ReleaseAddress,
//     DescribeAddresses, DeleteNatGateway, DeleteRouteTable, DeleteRoute or
//     DisassociateRouteTable; makes a NAT gateway available at once (and drops its tags, which the
//     layer sets through kumo's CreateTags); deletes a subnet a NAT gateway is in (and keeps its
//     route table associations), and a VPC with route tables, security groups or NAT gateways;
//     makes no default security group or main route table with a new VPC. The layer owns Elastic
//     IP addresses (domain vpc, tags: AllocateAddress's, CreateTags, DeleteTags;
//     InvalidAllocationID.NotFound, InvalidIPAddress.InUse while a NAT gateway uses one);
//     simulates NAT gateway states from the time (pending then available, deleting then deleted,
//     300ms each; PANKA_LOCALAWS_NAT_DELAY) with their address; records deleted routes,
//     associations and route tables (kumo keeps them) and leaves them out of DescribeRouteTables
//     (InvalidRouteTableID.NotFound, InvalidRoute.NotFound, InvalidAssociationID.NotFound,
//     RouteAlreadyExists as EC2); refuses DeleteRouteTable while associated (a deleted subnet's
//     association goes with it), DeleteSubnet while a NAT gateway is in it and DeleteVpc while it
//     has NAT gateways, route tables other than its main one or security groups other than its
//     default one (DependencyViolation); and gives a VPC made through it a default security group
//     (all out, all in from itself; CannotDelete) and a main route table, deleted with the VPC.
//     Pinned by TestKumoEC2NetworkTeardownGaps (one subtest per gap).
//   - EC2 rule descriptions, route replacement and failing NAT gateways (gaps_ec2_net.go): kumo
//     drops the descriptions of a rule's CIDR ranges (it reads IpRanges.N.CidrIp only), has no
//     ReplaceRoute or ReplaceRouteTableAssociation, associates a subnet with a second route
//     table, and makes a public NAT gateway available in a VPC without an internet gateway. The
//     layer records the CIDR ranges' descriptions of the Authorize and Revoke requests kumo
//     accepts (by group, direction, protocol, ports and CIDR), puts them into
//     DescribeSecurityGroups' answers and forgets them with their rule or group; answers
//     ReplaceRoute (to an internet or NAT gateway; InvalidRoute.NotFound, a local route refused)
//     with the route overrides of gaps_ec2_network.go; answers ReplaceRouteTableAssociation of a
//     subnet's association by ending it and associating the subnet anew through kumo (a main
//     association fails loudly: not emulated); and refuses AssociateRouteTable of a subnet that
//     has an association (Resource.AlreadyAssociated); a public NAT gateway made through it in a
//     VPC with no internet gateway attached is pending, then failed (Gateway.NotAttached, "Network
//     VPC has no Internet gateway attached") instead of available, holding no address. Pinned by
//     TestKumoEC2DropsCIDRDescriptions and TestKumoEC2RouteReplacementGaps (one subtest per gap).
//   - EFS (gaps_efs.go): kumo has no Elastic File System at all. The layer owns it whole (kumo's
//     is never asked; an operation it does not emulate fails with NotImplemented naming it): file
//     systems (performance and throughput modes, encryption with EFS's default key or the one
//     given, lifecycle configuration, backup policy; FileSystemAlreadyExists with the ID for a
//     creation token that exists), mount targets (a subnet and one to five security groups kumo's
//     EC2 has, in one VPC; one per zone; ModifyMountTargetSecurityGroups), access points (POSIX
//     user, root directory; a retried ClientToken answers the same one) and tags (TagResource,
//     UntagResource, ListTagsForResource). A file system or mount target is creating, then
//     available, and deleting, then gone, for 300ms each (PANKA_LOCALAWS_EFS_DELAY);
//     DeleteFileSystem is refused while mount targets remain (FileSystemInUse) and takes its
//     access points with it. No data is kept, no network interface is made, and a security group
//     a mount target uses can still be deleted. Pinned by TestKumoHasNoEFS.
//   - EC2 volumes (gaps_ebs.go): kumo has no CreateVolume, DescribeVolumes, ModifyVolume,
//     DescribeVolumesModifications or DeleteVolume, and cannot tag a vol- ID. The layer owns
//     volumes: sizes, types, IOPS and throughput checked per type as EC2 does (gp3's defaults
//     3000 and 125), encryption with the default key or the one given, tag specifications and
//     CreateTags/DeleteTags (through the owners of gaps_ec2_network.go's ec2ChangeTags), a
//     retried ClientToken answering the same volume, DescribeVolumes' IDs and filters; a volume
//     is creating, then available, and deleting, then gone, 300ms each
//     (PANKA_LOCALAWS_EBS_DELAY); ModifyVolume (no shrinking, one modification at a time) goes
//     modifying, optimizing, completed, 300ms each. Snapshots are not emulated (a snapshotId is
//     InvalidSnapshot.NotFound) and nothing attaches a volume. Pinned by TestKumoHasNoEC2Volumes.
//   - RDS and DocumentDB (gaps_rds.go): kumo has no DB subnet groups, no tagging operations
//     (ListTagsForResource, AddTagsToResource, RemoveTagsFromResource), no DescribeDBSnapshots or
//     cluster snapshots, and drops ManageMasterUserPassword (and MaxAllocatedStorage, Iops,
//     KmsKeyId, an instance's port and security groups as the SDK sends them). The DocumentDB
//     client signs as rds and speaks the same Query API. The layer owns both: it answers every
//     request signed for rds from its own state (kumo's RDS and DocumentDB are never asked; any
//     other operation fails with InvalidAction naming it): subnet groups (subnets checked in
//     kumo's EC2: one VPC, at least two zones), instances (an Aurora or DocumentDB one in its
//     cluster), clusters (aurora-*, docdb), final snapshots, tags. Instances and clusters are
//     creating, modifying (a change applied at once) and deleting for 300ms
//     (PANKA_LOCALAWS_RDS_DELAY), then available or gone; an instance's class, storage, IOPS,
//     engine version and Multi-AZ change without ApplyImmediately stays in
//     PendingModifiedValues (no maintenance window comes); a managed master password is a
//     secret in kumo's Secrets Manager, deleted with its database; deletion protection refuses
//     deletes; a delete without SkipFinalSnapshot needs FinalDBSnapshotIdentifier and makes that
//     snapshot. Pinned by TestKumoRDSGaps (one subtest per gap).
//
// The layer's own state (SQS encryption settings, SNS tags; S3 bucket settings, DynamoDB table
// overlays, EventBridge archives and target fields, Lambda settings, API Gateway domain names,
// ECS, ELBv2 settings, Application Auto Scaling, IAM role tags and managed attachments, Scheduler
// group tags and ECS targets, the default VPC's IDs, security group rules naming groups, Elastic
// IP addresses, NAT gateway times and what was deleted of route tables, CIDR rule descriptions
// and NAT gateway failures, in files of their own; log
// group ARNs and account IDs need none) is global to the process, like kumo's, and kept in the
// data directory kumo was started with (panka-gaps.json, panka-gaps-s3.json,
// panka-gaps-dynamodb.json, panka-gaps-events.json, panka-gaps-lambda.json, panka-gaps-apigw.json, panka-gaps-apigw-vpclink.json,
// panka-gaps-ecs.json, panka-gaps-elbv2.json, panka-gaps-autoscaling.json, panka-gaps-iam.json,
// panka-gaps-scheduler.json, panka-gaps-ec2.json, panka-gaps-ec2-net.json, panka-gaps-efs.json, panka-gaps-ebs.json, panka-gaps-rds.json), written on every
// change.
//
// Known differences the layer does not fill, because nothing Panka does depends on them yet: kumo
// names every SQS and SNS ARN with region us-east-1 and account 000000000000, and every queue URL
// with host localhost:4566, whatever the client's region (the SDK sends requests to its endpoint,
// not to the queue URL's host); CreateQueue and CreateTopic of an existing name return it without
// comparing attributes; Subscribe of an existing topic, protocol and endpoint makes a second
// subscription instead of returning the first; email subscriptions need no confirmation; S3
// GetBucketLocation answers us-east-1 whatever CreateBucket's location constraint; DynamoDB
// DeleteTable deletes a table with deletion protection (the AWS provider refuses to ask); IAM
// deletes a role that still has inline policies; Lambda does not check that a function's role
// exists and reads a permission's principal "*" back as {"Service": "*"}; EC2 keeps security group
// names unique across VPCs (kumo knows a VPC's default group as default-VPCID; the layer answers
// "default"), has no DescribeSecurityGroupRules or network interfaces (a NAT gateway's is named,
// not made; DeleteSubnet is refused for NAT gateways only), revokes a rule the group does not have
// without InvalidPermission.NotFound, checks no route target, answers a deleted NAT gateway as
// deleted for ever, and gives VPCs made before the layer made default groups none; a CloudFront
// distribution is Deployed at once, and ListCachePolicies lists no managed policy (the AWS
// provider uses their well-known IDs); API Gateway UpdateRoute keeps a route's authorizer ID when
// asked to clear it (the AWS provider ignores it on a route without JWT or CUSTOM authorization);
// an EventBridge rule on the default bus is named arn:...:rule/default/NAME where AWS says
// rule/NAME (the AWS provider takes the ARN the service gives, so its policy statements name the
// rule either way); resource policies are kept but not enforced (a delivery without its statement
// still succeeds); ELBv2 does not check that security groups, certificates or a target group's VPC
// exist, reports every registered target healthy, and answers ModifyListenerAttributes as
// DescribeListenerAttributes (nothing Panka does sets listener attributes); Application Auto
// Scaling does not check that the scalable resource (an ECS service) exists, and scales nothing.
// Clients read back what they write: an emulator that answers success and changes nothing shows up
// there.
//
// Resource policies need no gap: kumo keeps and answers SQS's and SNS's Policy attributes, S3
// bucket policies (NoSuchBucketPolicy for none) and Lambda permissions (AddPermission,
// GetPolicy, RemovePermission) as AWS does, in its data directory too (policies_test.go).
package localaws

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/sivchari/kumo"
)

// Server is an emulator running in this process. Its URL is http://127.0.0.1:PORT: the gap
// layer, in front of kumo.
type Server struct {
	URL string
	srv *kumo.Server
	gap *gapServer
}

// envMu serialises changes to KUMO_DATA_DIR, which the emulator reads when it starts.
var envMu sync.Mutex

// Start starts an emulator in this process, keeping its data in memory. Kumo reads its data
// directory (KUMO_DATA_DIR) once, when the process starts, so a non-empty dataDir is only created
// and exported for the duration of the call: the data persists there only if the process was
// started with KUMO_DATA_DIR set to it. Nothing stops another process from running its own
// emulator on the same directory; processes that share a directory use Connect instead.
func Start(dataDir string) (*Server, error) {
	envMu.Lock()
	defer envMu.Unlock()
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("local aws: %w", err)
		}
		old, had := os.LookupEnv("KUMO_DATA_DIR")
		os.Setenv("KUMO_DATA_DIR", dataDir)
		defer func() {
			if had {
				os.Setenv("KUMO_DATA_DIR", old)
			} else {
				os.Unsetenv("KUMO_DATA_DIR")
			}
		}()
	}
	s := kumo.NewServer()
	g, err := startGaps(s.URL)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &Server{URL: g.URL, srv: s, gap: g}, nil
}

// Close stops the emulator.
func (s *Server) Close() {
	s.gap.close()
	s.srv.Close()
}

// Config returns an AWS SDK configuration for the emulator: fixed test credentials, the given
// region, and the emulator's URL as the base endpoint of every service. S3 clients must also set
// UsePathStyle (bucket names do not resolve as hosts on 127.0.0.1).
func (s *Server) Config(ctx context.Context, region string) (aws.Config, error) {
	return sdkConfig(ctx, s.URL, region)
}

func sdkConfig(ctx context.Context, url, region string) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(url),
	)
}

// ECSStartDelay is how long a simulated ECS task of this process's local AWS takes to reach
// RUNNING (PANKA_LOCALAWS_ECS_START_DELAY, else 300ms); NATDelay how long a NAT gateway is
// pending or deleting (PANKA_LOCALAWS_NAT_DELAY, else 300ms). Benchmarks use them for the
// ideal bound of a deployment that waits on them.
func ECSStartDelay() time.Duration { return ecsTaskStartDelay }

// NATDelay: see ECSStartDelay.
func NATDelay() time.Duration { return ec2NatDelay }

// RDSDelay is how long a DB instance or cluster (RDS, DocumentDB) of this process's local AWS is
// creating, modifying or deleting (PANKA_LOCALAWS_RDS_DELAY, else 300ms).
func RDSDelay() time.Duration { return rdsDelay }

// MSKDelay is how long an MSK cluster of this process's local AWS is creating, updating or
// deleting, and a topic creating or updating (PANKA_LOCALAWS_MSK_DELAY, else 300ms).
func MSKDelay() time.Duration { return mskDelay }
