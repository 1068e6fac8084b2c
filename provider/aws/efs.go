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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"

	"github.com/panka/panka/provider"
)

// EFS: an Elastic File System file system (ID its fs- ID) with, as parts, a mount target in each
// subnet of the injected network and its access points. The fields of schema.EFSSpec:
//
//	performanceMode          PerformanceMode (ForceNew)
//	throughputMode,          ThroughputMode, ProvisionedThroughputInMibps (UpdateFileSystem in
//	  provisionedThroughput  place; 0 unless provisioned)
//	encrypted, kmsKey        Encrypted, KmsKeyId (ForceNew). EFS reports its own default key for
//	                         an encrypted file system without one; the key the spec gave is kept in
//	                         the tag panka-kms-key (not one of the engine's tags: Read leaves it
//	                         out of Observed.Tags) and read back from there
//	lifecycle                PutLifecycleConfiguration: transitionToIA, transitionToArchive,
//	                         transitionToPrimary (TransitionToPrimaryStorageClass); all empty
//	                         removes the configuration
//	backup                   PutBackupPolicy ENABLED or DISABLED (AWS Backup's daily backups)
//	accessPoints[]           access points (parts, AWS::EFS::AccessPoint), tagged Name = the
//	                         access point's name and the component's tags: path is
//	                         RootDirectory.Path, uid and gid the PosixUser and the root
//	                         directory's owner when EFS creates it, with permissions. EFS cannot
//	                         change an access point: one whose settings differ is deleted and
//	                         made again
//	network                  a mount target (part, AWS::EFS::MountTarget) in each of
//	                         network.subnets with network.securityGroups
//	                         (ModifyMountTargetSecurityGroups in place); vpcId reads back as the
//	                         mount targets' VPC
//
// The file system is created with CreationToken = the component's name and the tag Name = the
// same, and looked up by its creation token, so a create killed at any point is found again
// (Find adopts it, and Update, waiting for it to be available, makes what is missing: one file
// system, never two). Create waits until the file system is available, reporting progress, then
// makes the lifecycle configuration, the mount targets (waiting until they are available) and
// the access points. A crash between leaves a file system without some of them: Read reports
// the missing ones (no network, fewer access points), drift the next Update makes good. Access
// points are made with a ClientToken derived from the file system and the access point's name,
// so an access point created twice (a retried call) is one.
//
// Delete deletes the access points, the mount targets (waiting until they are gone: EFS refuses
// to delete a file system with mount targets), then the file system, and waits until it is gone.
// Read reports a file system that is deleting as not found. Outputs: fileSystemId, dnsName
// (FS-ID.efs.REGION.amazonaws.com: the name the mount helper resolves in the VPC), arn.
//
// Limits: lifecycle and backup reads are separate calls, so a change behind Panka's back between
// them is read as it lands. Parts keep the tags they were made with (Update retags the file
// system only).

// efsKMSTag keeps the KMS key the spec gave (see above).
const efsKMSTag = "panka-kms-key"

type efsKind struct {
	p *Provider
	c *efs.Client
}

func newEFS(p *Provider) kind { return &efsKind{p: p, c: efs.NewFromConfig(p.cfg)} }

// efsRaw is a file system as read, with its parts.
type efsRaw struct {
	fs      efstypes.FileSystemDescription
	mounts  []efstypes.MountTargetDescription
	groups  map[string][]string // each mount target's security groups, by mount target ID
	points  []efstypes.AccessPointDescription
	kmsSpec string
}

func (k *efsKind) lookup(ctx context.Context, name string) (string, error) {
	out, err := k.c.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{CreationToken: aws.String(name)})
	if err != nil {
		return "", err
	}
	for _, f := range out.FileSystems {
		if f.LifeCycleState != efstypes.LifeCycleStateDeleting && f.LifeCycleState != efstypes.LifeCycleStateDeleted {
			return aws.ToString(f.FileSystemId), nil
		}
	}
	return "", fmt.Errorf("%w: no file system with creation token %s", provider.ErrNotFound, name)
}

func (k *efsKind) create(ctx context.Context, r provider.Resource) (string, error) {
	s := r.Spec
	tags := []efstypes.Tag{{Key: aws.String(tagName), Value: aws.String(r.Name)}}
	for _, key := range slices.Sorted(maps.Keys(r.Tags)) {
		if key != tagName && key != efsKMSTag {
			tags = append(tags, efstypes.Tag{Key: aws.String(key), Value: aws.String(r.Tags[key])})
		}
	}
	in := &efs.CreateFileSystemInput{
		CreationToken:   aws.String(r.Name),
		PerformanceMode: efstypes.PerformanceMode(specString(s, "performanceMode")),
		ThroughputMode:  efstypes.ThroughputMode(specString(s, "throughputMode")),
		Encrypted:       aws.Bool(specBool(s, "encrypted")),
		Backup:          aws.Bool(specBool(s, "backup")),
	}
	if in.ThroughputMode == efstypes.ThroughputModeProvisioned {
		in.ProvisionedThroughputInMibps = aws.Float64(float64(specInt(s, "provisionedThroughput", 0)))
	}
	if key := specString(s, "kmsKey"); key != "" {
		in.KmsKeyId = aws.String(key)
		tags = append(tags, efstypes.Tag{Key: aws.String(efsKMSTag), Value: aws.String(key)})
	}
	in.Tags = tags
	out, err := k.c.CreateFileSystem(ctx, in)
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.FileSystemId)
	l, err := k.read(ctx, id)
	if err != nil {
		return id, err
	}
	return id, k.converge(ctx, l, r)
}

// waitAvailable waits until the file system id is available, reporting progress.
func (k *efsKind) waitAvailable(ctx context.Context, id string) error {
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		f, err := k.describe(ctx, id)
		if err != nil {
			return false, err
		}
		switch f.LifeCycleState {
		case efstypes.LifeCycleStateAvailable:
			return true, nil
		case efstypes.LifeCycleStateError:
			return false, fmt.Errorf("file system %s is in state error", id)
		case efstypes.LifeCycleStateDeleting, efstypes.LifeCycleStateDeleted:
			return false, fmt.Errorf("%w: file system %s is %s", provider.ErrNotFound, id, f.LifeCycleState)
		}
		provider.ReportProgress(ctx, fmt.Sprintf("file system %s is %s", id, f.LifeCycleState))
		return false, nil
	})
}

// describe returns the file system id in whatever state, or a not-found error.
func (k *efsKind) describe(ctx context.Context, id string) (efstypes.FileSystemDescription, error) {
	out, err := k.c.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{FileSystemId: aws.String(id)})
	if err != nil {
		return efstypes.FileSystemDescription{}, err
	}
	if len(out.FileSystems) != 1 {
		return efstypes.FileSystemDescription{}, fmt.Errorf("%w: file system %s", provider.ErrNotFound, id)
	}
	return out.FileSystems[0], nil
}

func (k *efsKind) read(ctx context.Context, id string) (*live, error) {
	f, err := k.describe(ctx, id)
	if err != nil {
		return nil, err
	}
	if f.LifeCycleState == efstypes.LifeCycleStateDeleting || f.LifeCycleState == efstypes.LifeCycleStateDeleted {
		return nil, fmt.Errorf("%w: file system %s is %s", provider.ErrNotFound, id, f.LifeCycleState)
	}
	raw := &efsRaw{fs: f, groups: map[string][]string{}}
	tags := map[string]string{}
	name := aws.ToString(f.CreationToken)
	for _, t := range f.Tags {
		switch key := aws.ToString(t.Key); {
		case key == efsKMSTag:
			raw.kmsSpec = aws.ToString(t.Value)
		case key == tagName:
			name = aws.ToString(t.Value)
		case !cloudTag(key):
			tags[key] = aws.ToString(t.Value)
		}
	}
	spec := map[string]any{
		"performanceMode":       string(f.PerformanceMode),
		"throughputMode":        string(f.ThroughputMode),
		"provisionedThroughput": int64(0),
		"encrypted":             aws.ToBool(f.Encrypted),
	}
	if f.ThroughputMode == efstypes.ThroughputModeProvisioned {
		spec["provisionedThroughput"] = int64(aws.ToFloat64(f.ProvisionedThroughputInMibps))
	}
	if raw.kmsSpec != "" {
		spec["kmsKey"] = raw.kmsSpec
	}
	var parts []provider.Part
	if f.LifeCycleState == efstypes.LifeCycleStateAvailable {
		// A file system still creating has no configuration yet: the spec reads what is there.
		lc, err := k.c.DescribeLifecycleConfiguration(ctx, &efs.DescribeLifecycleConfigurationInput{FileSystemId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("lifecycle configuration: %w", err)
		}
		lifecycle := map[string]any{}
		for _, p := range lc.LifecyclePolicies {
			if p.TransitionToIA != "" {
				lifecycle["transitionToIA"] = string(p.TransitionToIA)
			}
			if p.TransitionToArchive != "" {
				lifecycle["transitionToArchive"] = string(p.TransitionToArchive)
			}
			if p.TransitionToPrimaryStorageClass != "" {
				lifecycle["transitionToPrimary"] = string(p.TransitionToPrimaryStorageClass)
			}
		}
		spec["lifecycle"] = lifecycle
		bp, err := k.c.DescribeBackupPolicy(ctx, &efs.DescribeBackupPolicyInput{FileSystemId: aws.String(id)})
		var none *efstypes.PolicyNotFound
		switch {
		case errors.As(err, &none):
			spec["backup"] = false
		case err != nil:
			return nil, fmt.Errorf("backup policy: %w", err)
		default:
			spec["backup"] = bp.BackupPolicy != nil && (bp.BackupPolicy.Status == efstypes.StatusEnabled || bp.BackupPolicy.Status == efstypes.StatusEnabling)
		}
	} else {
		spec["lifecycle"] = map[string]any{}
		spec["backup"] = false
	}
	if raw.mounts, err = k.mountTargets(ctx, id); err != nil {
		return nil, err
	}
	if len(raw.mounts) > 0 {
		var subnets, groups []any
		vpc := aws.ToString(raw.mounts[0].VpcId)
		seen := map[string]bool{}
		for _, m := range raw.mounts {
			mid := aws.ToString(m.MountTargetId)
			sg, err := k.c.DescribeMountTargetSecurityGroups(ctx, &efs.DescribeMountTargetSecurityGroupsInput{MountTargetId: m.MountTargetId})
			if err != nil && !isNotFound(err) {
				return nil, fmt.Errorf("security groups of mount target %s: %w", mid, err)
			}
			if sg != nil {
				raw.groups[mid] = sg.SecurityGroups
			}
			subnets = append(subnets, aws.ToString(m.SubnetId))
			for _, g := range raw.groups[mid] {
				if !seen[g] {
					seen[g] = true
					groups = append(groups, g)
				}
			}
			parts = append(parts, provider.Part{Type: "AWS::EFS::MountTarget", ID: mid})
		}
		slices.SortFunc(groups, func(a, b any) int { return cmp.Compare(a.(string), b.(string)) })
		spec["network"] = map[string]any{"vpcId": vpc, "subnets": subnets, "securityGroups": groups}
	}
	aps, err := k.c.DescribeAccessPoints(ctx, &efs.DescribeAccessPointsInput{FileSystemId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("access points: %w", err)
	}
	raw.points = aps.AccessPoints
	slices.SortFunc(raw.points, func(a, b efstypes.AccessPointDescription) int { return cmp.Compare(apName(a), apName(b)) })
	var points []any
	for _, ap := range raw.points {
		points = append(points, accessPointSpec(ap))
		parts = append(parts, provider.Part{Type: "AWS::EFS::AccessPoint", ID: aws.ToString(ap.AccessPointId)})
	}
	spec["accessPoints"] = points
	if points == nil {
		spec["accessPoints"] = nil
	}
	arn := aws.ToString(f.FileSystemArn)
	return &live{raw: raw, obs: &provider.Observed{
		ID: id, Name: name, ARN: arn, Spec: spec, Tags: tags, Parts: parts,
		Outputs: map[string]string{"fileSystemId": id, "dnsName": fmt.Sprintf("%s.efs.%s.amazonaws.com", id, k.p.cfg.Region), "arn": arn},
	}}, nil
}

// mountTargets returns the file system's mount targets that are not being deleted, sorted by
// subnet.
func (k *efsKind) mountTargets(ctx context.Context, id string) ([]efstypes.MountTargetDescription, error) {
	out, err := k.c.DescribeMountTargets(ctx, &efs.DescribeMountTargetsInput{FileSystemId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("mount targets: %w", err)
	}
	var mts []efstypes.MountTargetDescription
	for _, m := range out.MountTargets {
		if m.LifeCycleState != efstypes.LifeCycleStateDeleting && m.LifeCycleState != efstypes.LifeCycleStateDeleted {
			mts = append(mts, m)
		}
	}
	slices.SortFunc(mts, func(a, b efstypes.MountTargetDescription) int {
		return cmp.Compare(aws.ToString(a.SubnetId), aws.ToString(b.SubnetId))
	})
	return mts, nil
}

// apName returns an access point's name: its Name tag.
func apName(ap efstypes.AccessPointDescription) string {
	for _, t := range ap.Tags {
		if aws.ToString(t.Key) == tagName {
			return aws.ToString(t.Value)
		}
	}
	return aws.ToString(ap.Name)
}

// accessPointSpec reads an access point back as the spec writes it.
func accessPointSpec(ap efstypes.AccessPointDescription) map[string]any {
	m := map[string]any{"name": apName(ap), "path": "/", "permissions": "0755"}
	if rd := ap.RootDirectory; rd != nil {
		if p := aws.ToString(rd.Path); p != "" {
			m["path"] = p
		}
		if ci := rd.CreationInfo; ci != nil {
			m["permissions"] = aws.ToString(ci.Permissions)
		}
	}
	if u := ap.PosixUser; u != nil {
		m["uid"], m["gid"] = aws.ToInt64(u.Uid), aws.ToInt64(u.Gid)
	}
	return m
}

// accessPointInput is the CreateAccessPoint of the spec's access point m on file system id.
func accessPointInput(id string, m map[string]any, tags map[string]string) *efs.CreateAccessPointInput {
	name := specString(m, "name")
	h := fnv.New64a()
	h.Write([]byte(id + "/" + name))
	in := &efs.CreateAccessPointInput{
		ClientToken:   aws.String("panka-" + strconv.FormatUint(h.Sum64(), 16)),
		FileSystemId:  aws.String(id),
		RootDirectory: &efstypes.RootDirectory{Path: aws.String(cmp.Or(specString(m, "path"), "/"))},
		Tags:          []efstypes.Tag{{Key: aws.String(tagName), Value: aws.String(name)}},
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if k != tagName {
			in.Tags = append(in.Tags, efstypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
	}
	perms := cmp.Or(specString(m, "permissions"), "0755")
	if _, ok := m["uid"]; ok {
		uid, gid := specInt(m, "uid", 0), specInt(m, "gid", 0)
		in.PosixUser = &efstypes.PosixUser{Uid: aws.Int64(uid), Gid: aws.Int64(gid)}
		in.RootDirectory.CreationInfo = &efstypes.CreationInfo{OwnerUid: aws.Int64(uid), OwnerGid: aws.Int64(gid), Permissions: aws.String(perms)}
	} else {
		// EFS needs an owner to create a missing root directory: root's, with the permissions.
		in.RootDirectory.CreationInfo = &efstypes.CreationInfo{OwnerUid: aws.Int64(0), OwnerGid: aws.Int64(0), Permissions: aws.String(perms)}
	}
	return in
}

func (k *efsKind) update(ctx context.Context, l *live, r provider.Resource) error {
	for _, f := range []string{"performanceMode", "encrypted"} {
		if fmt.Sprint(l.obs.Spec[f]) != fmt.Sprint(r.Spec[f]) {
			return fmt.Errorf("%s cannot change in place (it is %v): replace the file system", f, l.obs.Spec[f])
		}
	}
	if want := specString(r.Spec, "kmsKey"); want != specString(l.obs.Spec, "kmsKey") {
		return fmt.Errorf("kmsKey cannot change in place: replace the file system")
	}
	return k.converge(ctx, l, r)
}

// converge makes the file system of l (just created, adopted while creating, or live) match
// r.Spec: it waits until it is available, then sets its throughput, lifecycle and backup where
// they differ, its mount targets and its access points.
func (k *efsKind) converge(ctx context.Context, l *live, r provider.Resource) error {
	id := l.obs.ID
	if err := k.waitAvailable(ctx, id); err != nil {
		return err
	}
	l, err := k.read(ctx, id) // now available: its configuration reads
	if err != nil {
		return err
	}
	have, want := l.obs.Spec, r.Spec
	if have["throughputMode"] != want["throughputMode"] || specInt(have, "provisionedThroughput", 0) != specInt(want, "provisionedThroughput", 0) {
		in := &efs.UpdateFileSystemInput{FileSystemId: aws.String(id), ThroughputMode: efstypes.ThroughputMode(specString(want, "throughputMode"))}
		if in.ThroughputMode == efstypes.ThroughputModeProvisioned {
			in.ProvisionedThroughputInMibps = aws.Float64(float64(specInt(want, "provisionedThroughput", 0)))
		}
		if _, err := k.c.UpdateFileSystem(ctx, in); err != nil {
			return fmt.Errorf("throughput: %w", err)
		}
		if err := k.waitAvailable(ctx, id); err != nil {
			return err
		}
	}
	if wl := lifecycleOf(specMap(want, "lifecycle")); !equalSpec(lifecycleOf(specMap(have, "lifecycle")), wl) {
		var policies []efstypes.LifecyclePolicy
		if v := specString(wl, "transitionToIA"); v != "" {
			policies = append(policies, efstypes.LifecyclePolicy{TransitionToIA: efstypes.TransitionToIARules(v)})
		}
		if v := specString(wl, "transitionToArchive"); v != "" {
			policies = append(policies, efstypes.LifecyclePolicy{TransitionToArchive: efstypes.TransitionToArchiveRules(v)})
		}
		if v := specString(wl, "transitionToPrimary"); v != "" {
			policies = append(policies, efstypes.LifecyclePolicy{TransitionToPrimaryStorageClass: efstypes.TransitionToPrimaryStorageClassRules(v)})
		}
		if policies == nil {
			policies = []efstypes.LifecyclePolicy{}
		}
		if _, err := k.c.PutLifecycleConfiguration(ctx, &efs.PutLifecycleConfigurationInput{FileSystemId: aws.String(id), LifecyclePolicies: policies}); err != nil {
			return fmt.Errorf("lifecycle: %w", err)
		}
	}
	if hb, wb := specBool(have, "backup"), specBool(want, "backup"); hb != wb {
		status := efstypes.StatusDisabled
		if wb {
			status = efstypes.StatusEnabled
		}
		if _, err := k.c.PutBackupPolicy(ctx, &efs.PutBackupPolicyInput{FileSystemId: aws.String(id), BackupPolicy: &efstypes.BackupPolicy{Status: status}}); err != nil {
			return fmt.Errorf("backup policy: %w", err)
		}
	}
	if err := k.convergeMounts(ctx, l.raw.(*efsRaw), specMap(want, "network")); err != nil {
		return err
	}
	return k.convergeAccessPoints(ctx, id, l.raw.(*efsRaw), specList(want, "accessPoints"), r.Tags)
}

// lifecycleOf returns a lifecycle block with its empty fields left out.
func lifecycleOf(m map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range []string{"transitionToIA", "transitionToArchive", "transitionToPrimary"} {
		if v := specString(m, f); v != "" {
			out[f] = v
		}
	}
	return out
}

// convergeMounts makes the mount targets one per subnet of network with its security groups:
// it deletes those in other subnets (waiting until they are gone: a new one in the same zone
// would conflict), changes the groups of those that differ, creates the missing ones, and waits
// until all are available.
func (k *efsKind) convergeMounts(ctx context.Context, raw *efsRaw, network map[string]any) error {
	id := aws.ToString(raw.fs.FileSystemId)
	subnets, groups := specStrings(network, "subnets"), specStrings(network, "securityGroups")
	slices.Sort(groups)
	bySubnet := map[string]efstypes.MountTargetDescription{}
	var gone []string
	for _, m := range raw.mounts {
		if slices.Contains(subnets, aws.ToString(m.SubnetId)) {
			bySubnet[aws.ToString(m.SubnetId)] = m
		} else {
			gone = append(gone, aws.ToString(m.MountTargetId))
		}
	}
	for _, mid := range gone {
		if err := k.deleteMountTarget(ctx, mid); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		if err := k.waitMountsGone(ctx, id, gone); err != nil {
			return err
		}
	}
	for _, sn := range subnets {
		m, ok := bySubnet[sn]
		if !ok {
			out, err := k.c.CreateMountTarget(ctx, &efs.CreateMountTargetInput{FileSystemId: aws.String(id), SubnetId: aws.String(sn), SecurityGroups: groups})
			if err != nil {
				return fmt.Errorf("mount target in %s: %w", sn, err)
			}
			provider.ReportProgress(ctx, fmt.Sprintf("mount target %s in %s created", aws.ToString(out.MountTargetId), sn))
			continue
		}
		have := slices.Sorted(slices.Values(raw.groups[aws.ToString(m.MountTargetId)]))
		if !slices.Equal(have, groups) {
			if err := k.waitMountsAvailable(ctx, id); err != nil {
				return err
			}
			if _, err := k.c.ModifyMountTargetSecurityGroups(ctx, &efs.ModifyMountTargetSecurityGroupsInput{MountTargetId: m.MountTargetId, SecurityGroups: groups}); err != nil {
				return fmt.Errorf("security groups of mount target %s: %w", aws.ToString(m.MountTargetId), err)
			}
		}
	}
	return k.waitMountsAvailable(ctx, id)
}

func (k *efsKind) deleteMountTarget(ctx context.Context, mid string) error {
	_, err := k.c.DeleteMountTarget(ctx, &efs.DeleteMountTargetInput{MountTargetId: aws.String(mid)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete mount target %s: %w", mid, err)
	}
	return nil
}

// waitMountsAvailable waits until every mount target of the file system id is available,
// reporting progress.
func (k *efsKind) waitMountsAvailable(ctx context.Context, id string) error {
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		mts, err := k.mountTargets(ctx, id)
		if err != nil {
			return false, err
		}
		for _, m := range mts {
			switch m.LifeCycleState {
			case efstypes.LifeCycleStateAvailable:
			case efstypes.LifeCycleStateError:
				return false, fmt.Errorf("mount target %s in %s is in state error", aws.ToString(m.MountTargetId), aws.ToString(m.SubnetId))
			default:
				provider.ReportProgress(ctx, fmt.Sprintf("mount target %s in %s is %s", aws.ToString(m.MountTargetId), aws.ToString(m.SubnetId), m.LifeCycleState))
				return false, nil
			}
		}
		return true, nil
	})
}

// waitMountsGone waits until none of the mount targets mids (all of the file system's when mids
// is nil) is listed any more, reporting progress.
func (k *efsKind) waitMountsGone(ctx context.Context, id string, mids []string) error {
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		out, err := k.c.DescribeMountTargets(ctx, &efs.DescribeMountTargetsInput{FileSystemId: aws.String(id)})
		if isNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("mount targets: %w", err)
		}
		for _, m := range out.MountTargets {
			if mids == nil || slices.Contains(mids, aws.ToString(m.MountTargetId)) {
				provider.ReportProgress(ctx, fmt.Sprintf("mount target %s is %s", aws.ToString(m.MountTargetId), m.LifeCycleState))
				return false, nil
			}
		}
		return true, nil
	})
}

// convergeAccessPoints makes the file system's access points the spec's: those whose settings
// differ or that the spec no longer names are deleted, missing ones created.
func (k *efsKind) convergeAccessPoints(ctx context.Context, id string, raw *efsRaw, want []any, tags map[string]string) error {
	wanted := map[string]map[string]any{}
	for _, a := range want {
		if m, ok := a.(map[string]any); ok {
			wanted[specString(m, "name")] = m
		}
	}
	have := map[string]bool{}
	for _, ap := range raw.points {
		name := apName(ap)
		w, ok := wanted[name]
		if ok && !have[name] && equalSpec(accessPointSpec(ap), normalAccessPoint(w)) {
			have[name] = true
			continue
		}
		if err := k.deleteAccessPoint(ctx, aws.ToString(ap.AccessPointId)); err != nil {
			return err
		}
	}
	for _, a := range want {
		m, ok := a.(map[string]any)
		if !ok || have[specString(m, "name")] {
			continue
		}
		if _, err := k.c.CreateAccessPoint(ctx, accessPointInput(id, m, tags)); err != nil {
			return fmt.Errorf("access point %s: %w", specString(m, "name"), err)
		}
	}
	return nil
}

// normalAccessPoint is the spec's access point with its defaults, as accessPointSpec reads one.
func normalAccessPoint(m map[string]any) map[string]any {
	out := map[string]any{"name": specString(m, "name"), "path": cmp.Or(specString(m, "path"), "/"), "permissions": cmp.Or(specString(m, "permissions"), "0755")}
	if _, ok := m["uid"]; ok {
		out["uid"], out["gid"] = specInt(m, "uid", 0), specInt(m, "gid", 0)
	}
	return out
}

func (k *efsKind) deleteAccessPoint(ctx context.Context, apID string) error {
	_, err := k.c.DeleteAccessPoint(ctx, &efs.DeleteAccessPointInput{AccessPointId: aws.String(apID)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete access point %s: %w", apID, err)
	}
	return nil
}

func (k *efsKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	id := l.obs.ID
	if len(set) > 0 {
		var ts []efstypes.Tag
		for _, key := range slices.Sorted(maps.Keys(set)) {
			if key != tagName && key != efsKMSTag {
				ts = append(ts, efstypes.Tag{Key: aws.String(key), Value: aws.String(set[key])})
			}
		}
		if _, err := k.c.TagResource(ctx, &efs.TagResourceInput{ResourceId: aws.String(id), Tags: ts}); err != nil {
			return fmt.Errorf("tag %s: %w", id, err)
		}
	}
	remove = slices.DeleteFunc(slices.Clone(remove), func(key string) bool { return key == tagName || key == efsKMSTag })
	if len(remove) > 0 {
		if _, err := k.c.UntagResource(ctx, &efs.UntagResourceInput{ResourceId: aws.String(id), TagKeys: remove}); err != nil {
			return fmt.Errorf("untag %s: %w", id, err)
		}
	}
	return nil
}

func (k *efsKind) delete(ctx context.Context, l *live) error {
	raw := l.raw.(*efsRaw)
	id := l.obs.ID
	for _, ap := range raw.points {
		if err := k.deleteAccessPoint(ctx, aws.ToString(ap.AccessPointId)); err != nil {
			return err
		}
	}
	// Every mount target, those still creating included (read leaves none out but deleting ones).
	for _, m := range raw.mounts {
		if err := k.deleteMountTarget(ctx, aws.ToString(m.MountTargetId)); err != nil {
			return err
		}
	}
	if err := k.waitMountsGone(ctx, id, nil); err != nil {
		return err
	}
	if _, err := k.c.DeleteFileSystem(ctx, &efs.DeleteFileSystemInput{FileSystemId: aws.String(id)}); err != nil {
		return err
	}
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		f, err := k.describe(ctx, id)
		if isNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		provider.ReportProgress(ctx, fmt.Sprintf("file system %s is %s", id, f.LifeCycleState))
		return false, nil
	})
}

// deletePart deletes a mount target (waiting until it is gone) or an access point recorded as a
// part of a file system Panka no longer has. A file system with mount targets cannot be
// deleted and its access points go with it, so after a Delete these find nothing; they matter
// when the file system itself is still there under a name Panka lost.
func (k *efsKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	switch p.Type {
	case "AWS::EFS::MountTarget":
		if err := k.deleteMountTarget(ctx, p.ID); err != nil {
			return true, err
		}
		return true, waitFor(ctx, func(ctx context.Context) (bool, error) { // until it is gone
			out, err := k.c.DescribeMountTargets(ctx, &efs.DescribeMountTargetsInput{MountTargetId: aws.String(p.ID)})
			if isNotFound(err) || err == nil && len(out.MountTargets) == 0 {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			provider.ReportProgress(ctx, fmt.Sprintf("mount target %s is %s", p.ID, out.MountTargets[0].LifeCycleState))
			return false, nil
		})
	case "AWS::EFS::AccessPoint":
		return true, k.deleteAccessPoint(ctx, p.ID)
	}
	return false, nil
}
