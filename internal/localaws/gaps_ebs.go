package localaws

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// ---------------------------------------------------------------------------------------------
// EC2 volumes. Kumo v0.33.1 has no EBS volume operations (CreateVolume, DescribeVolumes,
// ModifyVolume, DescribeVolumesModifications and DeleteVolume answer InvalidAction) and cannot
// tag a vol- ID. The layer owns volumes: CreateVolume (availability zone, size, type, IOPS,
// throughput, encryption with the default EBS key or the one given, tag specifications, a
// ClientToken answering the same volume again; a snapshot ID is not emulated and fails with
// InvalidSnapshot.NotFound), DescribeVolumes (IDs, and the filters volume-id, status,
// availability-zone, volume-type, tag:K and tag-key), ModifyVolume (size up only, type, IOPS,
// throughput; one modification at a time: IncorrectModificationState), the modification's states
// modifying then optimizing then completed, DescribeVolumesModifications, DeleteVolume, and
// CreateTags/DeleteTags of its volumes. A volume is creating for ebsDelay after CreateVolume
// (PANKA_LOCALAWS_EBS_DELAY, default 300ms), then available; deleting for ebsDelay, then gone;
// a modification is modifying for ebsDelay, optimizing for another, then completed. Nothing
// attaches volumes (no instances): every volume is available. Limits checked: the sizes and
// IOPS of each type as CreateVolume and ModifyVolume check them (InvalidParameterValue).

const ebsGapsFile = "panka-gaps-ebs.json"

const ebsDelayDefault = 300 * time.Millisecond

// ebsDelay is how long a volume is creating or deleting, and a modification in each state.
var ebsDelay = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("PANKA_LOCALAWS_EBS_DELAY")); err == nil && d > 0 {
		return d
	}
	return ebsDelayDefault
}()

// EBSDelay is how long a volume of this process's local AWS is creating or deleting, and a
// modification modifying or optimizing (PANKA_LOCALAWS_EBS_DELAY, else 300ms).
func EBSDelay() time.Duration { return ebsDelay }

type ebsVolume struct {
	ID          string    `json:"id"`
	Zone        string    `json:"zone"`
	Size        int       `json:"size"`
	Type        string    `json:"type"`
	IOPS        int       `json:"iops,omitempty"`
	Throughput  int       `json:"throughput,omitempty"`
	Encrypted   bool      `json:"encrypted"`
	KMSKey      string    `json:"kmsKey,omitempty"`
	ClientToken string    `json:"clientToken,omitempty"`
	Tags        []ec2Tag  `json:"tags,omitempty"`
	Created     time.Time `json:"created"`
	Deleted     time.Time `json:"deleted,omitzero"`
	// Mod is the volume's last modification.
	Mod *ebsModification `json:"modification,omitempty"`
}

type ebsModification struct {
	Started                            time.Time `json:"started"`
	OrigSize, OrigIOPS, OrigThroughput int
	OrigType                           string
}

func (v *ebsVolume) state(now time.Time) string {
	switch {
	case !v.Deleted.IsZero() && now.Sub(v.Deleted) >= ebsDelay:
		return "deleted"
	case !v.Deleted.IsZero():
		return "deleting"
	case now.Sub(v.Created) >= ebsDelay:
		return "available"
	}
	return "creating"
}

func (m *ebsModification) state(now time.Time) string {
	switch d := now.Sub(m.Started); {
	case d < ebsDelay:
		return "modifying"
	case d < 2*ebsDelay:
		return "optimizing"
	}
	return "completed"
}

type ebsGapState struct {
	mu      sync.Mutex
	dir     string
	Volumes map[string]*ebsVolume `json:"volumes"`
}

var ebsGaps = newEBSGapState(os.Getenv("KUMO_DATA_DIR"))

func newEBSGapState(dir string) *ebsGapState {
	g := &ebsGapState{dir: dir}
	loadGapFile(dir, ebsGapsFile, g)
	if g.Volumes == nil {
		g.Volumes = map[string]*ebsVolume{}
	}
	return g
}

// change runs fn under the lock at now (forgetting deleted volumes first) and saves the state.
func (g *ebsGapState) change(fn func(now time.Time) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	for id, v := range g.Volumes {
		if v.state(now) == "deleted" {
			delete(g.Volumes, id)
		}
	}
	if err := fn(now); err != nil {
		return err
	}
	return saveGapFile(g.dir, ebsGapsFile, g)
}

func init() {
	for op, h := range map[string]gapHandler{
		"CreateVolume":                 {answer: ebsCreateVolume},
		"DescribeVolumes":              {answer: ebsDescribeVolumes},
		"ModifyVolume":                 {answer: ebsModifyVolume},
		"DescribeVolumesModifications": {answer: ebsDescribeModifications},
		"DeleteVolume":                 {answer: ebsDeleteVolume},
	} {
		gapHandlers["ec2."+op] = h
	}
	ec2TagOwners["vol-"] = ec2TagOwner{
		exists: func(id string) error {
			return ebsGaps.change(func(time.Time) error {
				if ebsGaps.Volumes[id] == nil {
					return ebsNotFound(id)
				}
				return nil
			})
		},
		change: func(id string, fn func(tags *[]ec2Tag)) error {
			return ebsGaps.change(func(time.Time) error {
				if v := ebsGaps.Volumes[id]; v != nil {
					fn(&v.Tags)
				}
				return nil
			})
		},
	}
}

func ebsNotFound(id string) error {
	return &ec2Error{"InvalidVolume.NotFound", fmt.Sprintf("The volume '%s' does not exist.", id)}
}

func ebsInvalid(format string, args ...any) error {
	return &ec2Error{"InvalidParameterValue", fmt.Sprintf(format, args...)}
}

// ebsLimits are CreateVolume's per type: size in GiB, IOPS, the most IOPS per GiB (0: IOPS
// cannot be set), and the default IOPS and throughput.
var ebsLimits = map[string]struct{ minSize, maxSize, minIOPS, maxIOPS, perGiB, defIOPS, defThroughput int }{
	"gp2":      {1, 16384, 0, 0, 0, 0, 0},
	"gp3":      {1, 16384, 3000, 16000, 500, 3000, 125},
	"io1":      {4, 16384, 100, 64000, 50, 0, 0},
	"io2":      {4, 65536, 100, 256000, 1000, 0, 0},
	"st1":      {125, 16384, 0, 0, 0, 0, 0},
	"sc1":      {125, 16384, 0, 0, 0, 0, 0},
	"standard": {1, 1024, 0, 0, 0, 0, 0},
}

// check checks v's size, IOPS and throughput for its type, filling in the type's defaults where
// iops or throughput is 0 (not given).
func (v *ebsVolume) check() error {
	lim, ok := ebsLimits[v.Type]
	if !ok {
		return ebsInvalid("The volume type '%s' is not valid.", v.Type)
	}
	if v.Size < lim.minSize || v.Size > lim.maxSize {
		return ebsInvalid("Volume of %d GiB is not valid for volume type %s: it must be %d to %d GiB.", v.Size, v.Type, lim.minSize, lim.maxSize)
	}
	switch {
	case lim.perGiB == 0 && v.IOPS != 0:
		return ebsInvalid("IOPS cannot be specified for volume type %s.", v.Type)
	case lim.perGiB > 0 && v.IOPS == 0 && lim.defIOPS == 0:
		return &ec2Error{"MissingParameter", fmt.Sprintf("The request must contain the parameter iops for volume type %s.", v.Type)}
	case lim.perGiB > 0 && v.IOPS == 0:
		v.IOPS = lim.defIOPS
	}
	if lim.perGiB > 0 {
		most := max(lim.perGiB*v.Size, lim.defIOPS)
		if v.IOPS < lim.minIOPS || v.IOPS > min(lim.maxIOPS, most) {
			return ebsInvalid("IOPS %d is not valid for a %d GiB %s volume.", v.IOPS, v.Size, v.Type)
		}
	}
	switch {
	case v.Type != "gp3" && v.Throughput != 0:
		return ebsInvalid("Throughput can only be specified for gp3 volumes.")
	case v.Type == "gp3" && v.Throughput == 0:
		v.Throughput = lim.defThroughput
	case v.Type == "gp3" && (v.Throughput < 125 || v.Throughput > 1000):
		return ebsInvalid("Throughput %d MiB/s is not valid: it must be 125 to 1000.", v.Throughput)
	}
	return nil
}

// emulatedZone reports whether z is a zone the local AWS serves (its region's, as
// DescribeAvailabilityZones lists them): a zone of another region is refused, as AWS does.
func emulatedZone(z string) bool {
	return slices.ContainsFunc(defaultSubnets, func(s struct{ AZ, CIDR string }) bool { return s.AZ == z })
}

func ebsFormInt(form url.Values, name string) (int, error) {
	s := form.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, ebsInvalid("Value (%s) for parameter %s is invalid.", s, name)
	}
	return n, nil
}

type ebsVolumeItem struct {
	VolumeID           string    `xml:"volumeId"`
	Size               int       `xml:"size"`
	SnapshotID         string    `xml:"snapshotId"`
	AvailabilityZone   string    `xml:"availabilityZone"`
	Status             string    `xml:"status"`
	CreateTime         string    `xml:"createTime"`
	VolumeType         string    `xml:"volumeType"`
	IOPS               int       `xml:"iops,omitempty"`
	Throughput         int       `xml:"throughput,omitempty"`
	Encrypted          bool      `xml:"encrypted"`
	KMSKeyID           string    `xml:"kmsKeyId,omitempty"`
	MultiAttachEnabled bool      `xml:"multiAttachEnabled"`
	TagSet             ec2TagSet `xml:"tagSet"`
}

func (v *ebsVolume) item(now time.Time) ebsVolumeItem {
	return ebsVolumeItem{VolumeID: v.ID, Size: v.Size, AvailabilityZone: v.Zone, Status: v.state(now), CreateTime: v.Created.UTC().Format(time.RFC3339),
		VolumeType: v.Type, IOPS: v.IOPS, Throughput: v.Throughput, Encrypted: v.Encrypted, KMSKeyID: v.KMSKey, TagSet: ec2TagSet{Items: v.Tags}}
}

func ebsCreateVolume(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	form := parseForm(req)
	v := &ebsVolume{ID: ec2ID("vol"), Zone: form.Get("AvailabilityZone"), Type: cmp.Or(form.Get("VolumeType"), "gp2"),
		Encrypted: form.Get("Encrypted") == "true", KMSKey: form.Get("KmsKeyId"), ClientToken: form.Get("ClientToken"), Tags: specTags(form, "volume")}
	var err error
	for name, to := range map[string]*int{"Size": &v.Size, "Iops": &v.IOPS, "Throughput": &v.Throughput} {
		if *to, err = ebsFormInt(form, name); err != nil {
			writeEC2Err(w, err)
			return
		}
	}
	var item ebsVolumeItem
	err = ebsGaps.change(func(now time.Time) error {
		if v.ClientToken != "" {
			for _, o := range ebsGaps.Volumes {
				if o.ClientToken == v.ClientToken {
					item = o.item(now) // a retried create: the same volume
					return nil
				}
			}
		}
		switch {
		case form.Get("SnapshotId") != "":
			return &ec2Error{"InvalidSnapshot.NotFound", fmt.Sprintf("local aws: snapshots are not emulated: the snapshot '%s' does not exist.", form.Get("SnapshotId"))}
		case !emulatedZone(v.Zone):
			return &ec2Error{"InvalidParameterValue", fmt.Sprintf("Invalid availability zone: [%s]", v.Zone)}
		case v.KMSKey != "" && !v.Encrypted:
			return &ec2Error{"InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set."}
		case v.Size == 0:
			return &ec2Error{"MissingParameter", "The request must contain the parameter size or snapshotId."}
		}
		if err := v.check(); err != nil {
			return err
		}
		if v.Encrypted && v.KMSKey == "" {
			v.KMSKey = fmt.Sprintf("arn:aws:kms:%s:%s:key/aws-ebs-default", v.Zone[:len(v.Zone)-1], stsAccount)
		}
		v.Created = now
		ebsGaps.Volumes[v.ID] = v
		item = v.item(now)
		return nil
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, struct {
		XMLName   xml.Name `xml:"CreateVolumeResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		ebsVolumeItem
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", ebsVolumeItem: item})
}

func ebsDescribeVolumes(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	form := parseForm(req)
	ids, filters := indexed(form, "VolumeId"), ec2Filters(form)
	var items []ebsVolumeItem
	err := ebsGaps.change(func(now time.Time) error {
		for _, id := range ids {
			if ebsGaps.Volumes[id] == nil {
				return ebsNotFound(id)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(ebsGaps.Volumes)) {
			v := ebsGaps.Volumes[id]
			if len(ids) > 0 && !slices.Contains(ids, id) {
				continue
			}
			it := v.item(now)
			ok, err := matchFilters(filters, map[string][]string{"volume-id": one(id), "status": one(it.Status),
				"availability-zone": one(v.Zone), "volume-type": one(v.Type), "encrypted": one(strconv.FormatBool(v.Encrypted))}, it.TagSet)
			if err != nil {
				return &ec2Error{"InvalidParameterValue", err.Error()}
			}
			if ok {
				items = append(items, it)
			}
		}
		return nil
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, struct {
		XMLName   xml.Name        `xml:"DescribeVolumesResponse"`
		Xmlns     string          `xml:"xmlns,attr"`
		RequestID string          `xml:"requestId"`
		Items     []ebsVolumeItem `xml:"volumeSet>item"`
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", Items: items})
}

type ebsModItem struct {
	VolumeID            string `xml:"volumeId"`
	ModificationState   string `xml:"modificationState"`
	TargetSize          int    `xml:"targetSize"`
	TargetIOPS          int    `xml:"targetIops,omitempty"`
	TargetVolumeType    string `xml:"targetVolumeType"`
	TargetThroughput    int    `xml:"targetThroughput,omitempty"`
	TargetMultiAttach   bool   `xml:"targetMultiAttachEnabled"`
	OriginalSize        int    `xml:"originalSize"`
	OriginalIOPS        int    `xml:"originalIops,omitempty"`
	OriginalVolumeType  string `xml:"originalVolumeType"`
	OriginalThroughput  int    `xml:"originalThroughput,omitempty"`
	OriginalMultiAttach bool   `xml:"originalMultiAttachEnabled"`
	Progress            int    `xml:"progress"`
	StartTime           string `xml:"startTime"`
	EndTime             string `xml:"endTime,omitempty"`
}

func (v *ebsVolume) modItem(now time.Time) ebsModItem {
	m := v.Mod
	it := ebsModItem{VolumeID: v.ID, ModificationState: m.state(now), TargetSize: v.Size, TargetIOPS: v.IOPS, TargetVolumeType: v.Type,
		TargetThroughput: v.Throughput, OriginalSize: m.OrigSize, OriginalIOPS: m.OrigIOPS, OriginalVolumeType: m.OrigType,
		OriginalThroughput: m.OrigThroughput, StartTime: m.Started.UTC().Format(time.RFC3339)}
	switch it.ModificationState {
	case "modifying":
		it.Progress = 10
	case "optimizing":
		it.Progress = 50
	default:
		it.Progress = 100
		it.EndTime = m.Started.Add(2 * ebsDelay).UTC().Format(time.RFC3339)
	}
	return it
}

func ebsModifyVolume(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	form := parseForm(req)
	id := form.Get("VolumeId")
	var item ebsModItem
	err := ebsGaps.change(func(now time.Time) error {
		v := ebsGaps.Volumes[id]
		if v == nil {
			return ebsNotFound(id)
		}
		if st := v.state(now); st != "available" && st != "in-use" {
			return &ec2Error{"IncorrectState", fmt.Sprintf("The volume '%s' is %s.", id, st)}
		}
		if v.Mod != nil && v.Mod.state(now) != "completed" {
			return &ec2Error{"IncorrectModificationState", fmt.Sprintf("Volume %s is already being modified.", id)}
		}
		next := *v
		next.Type = cmp.Or(form.Get("VolumeType"), v.Type)
		size, err := ebsFormInt(form, "Size")
		if err != nil {
			return err
		}
		if size != 0 && size < v.Size {
			return ebsInvalid("New size cannot be smaller than existing size (%d GiB).", v.Size)
		}
		next.Size = cmp.Or(size, v.Size)
		iops, err := ebsFormInt(form, "Iops")
		if err != nil {
			return err
		}
		throughput, err := ebsFormInt(form, "Throughput")
		if err != nil {
			return err
		}
		if next.Type != v.Type {
			next.IOPS, next.Throughput = 0, 0 // the new type's defaults unless given
		}
		next.IOPS, next.Throughput = cmp.Or(iops, next.IOPS), cmp.Or(throughput, next.Throughput)
		if err := next.check(); err != nil {
			return err
		}
		if next.Size == v.Size && next.Type == v.Type && next.IOPS == v.IOPS && next.Throughput == v.Throughput {
			return &ec2Error{"InvalidParameterCombination", "New parameters must differ from the existing ones."}
		}
		next.Mod = &ebsModification{Started: now, OrigSize: v.Size, OrigIOPS: v.IOPS, OrigType: v.Type, OrigThroughput: v.Throughput}
		*v = next
		item = v.modItem(now)
		return nil
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, struct {
		XMLName   xml.Name   `xml:"ModifyVolumeResponse"`
		Xmlns     string     `xml:"xmlns,attr"`
		RequestID string     `xml:"requestId"`
		Mod       ebsModItem `xml:"volumeModification"`
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", Mod: item})
}

func ebsDescribeModifications(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	form := parseForm(req)
	ids := indexed(form, "VolumeId")
	var items []ebsModItem
	err := ebsGaps.change(func(now time.Time) error {
		for _, id := range ids {
			if ebsGaps.Volumes[id] == nil {
				return ebsNotFound(id)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(ebsGaps.Volumes)) {
			v := ebsGaps.Volumes[id]
			if (len(ids) > 0 && !slices.Contains(ids, id)) || v.Mod == nil {
				continue
			}
			items = append(items, v.modItem(now))
		}
		return nil
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, struct {
		XMLName   xml.Name     `xml:"DescribeVolumesModificationsResponse"`
		Xmlns     string       `xml:"xmlns,attr"`
		RequestID string       `xml:"requestId"`
		Items     []ebsModItem `xml:"volumeModificationSet>item"`
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", Items: items})
}

func ebsDeleteVolume(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	id := parseForm(req).Get("VolumeId")
	err := ebsGaps.change(func(now time.Time) error {
		v := ebsGaps.Volumes[id]
		if v == nil {
			return ebsNotFound(id)
		}
		switch v.state(now) {
		case "available":
			v.Deleted = now
			return nil
		case "deleting":
			return nil
		}
		return &ec2Error{"IncorrectState", fmt.Sprintf("The volume '%s' is %s.", id, v.state(now))}
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, ec2Return{XMLName: xml.Name{Local: "DeleteVolumeResponse"}, Xmlns: ec2XMLNS, RequestID: "panka-localaws", Return: true})
}
