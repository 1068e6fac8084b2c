package localaws

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// ELBv2 load balancer network (gaps_elbv2_lb.go): kumo v0.33.1 has no SetSecurityGroups or
// SetSubnets (InvalidAction): a load balancer keeps the security groups and subnets it was
// created with. The layer answers both itself for load balancers kumo has (LoadBalancerNotFound
// otherwise), keeps each load balancer's security groups and subnets from then on, writes them
// into DescribeLoadBalancers' answers (gaps_elbv2.go calls lbNetworks), and forgets them when the
// load balancer is deleted. Subnets are given kumo's zones (the region's a, b, c in order), as
// kumo's CreateLoadBalancer does. No check of the groups' or subnets' existence is made.

const elbNetGapsFile = "panka-gaps-elbv2-lb.json"

// elbNetState is the security groups and subnets set on load balancers after their create.
type elbNetState struct {
	mu  sync.Mutex
	dir string
	// SecurityGroups and Subnets are by load balancer ARN: set by SetSecurityGroups, SetSubnets.
	SecurityGroups map[string][]string `json:"securityGroups"`
	Subnets        map[string][]string `json:"subnets"`
}

var elbNetGaps = newELBNetState(os.Getenv("KUMO_DATA_DIR"))

func newELBNetState(dir string) *elbNetState {
	g := &elbNetState{dir: dir}
	loadGapFile(dir, elbNetGapsFile, g)
	if g.SecurityGroups == nil {
		g.SecurityGroups = map[string][]string{}
	}
	if g.Subnets == nil {
		g.Subnets = map[string][]string{}
	}
	return g
}

func (g *elbNetState) update(change func(*elbNetState)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	change(g)
	return saveGapFile(g.dir, elbNetGapsFile, g)
}

// forget drops what the layer keeps of the load balancer arn (deleted).
func (g *elbNetState) forget(arn string) error {
	return g.update(func(g *elbNetState) {
		delete(g.SecurityGroups, arn)
		delete(g.Subnets, arn)
	})
}

func init() {
	gapHandlers["elasticloadbalancing.SetSecurityGroups"] = gapHandler{answer: elbAnswer(elbSetSecurityGroups)}
	gapHandlers["elasticloadbalancing.SetSubnets"] = gapHandler{answer: elbAnswer(elbSetSubnets)}
}

func elbSetSecurityGroups(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	arn := form.Get("LoadBalancerArn")
	if !s.elbCheckLB(w, r, arn) {
		return
	}
	groups := members(form, "SecurityGroups")
	if err := elbNetGaps.update(func(g *elbNetState) { g.SecurityGroups[arn] = groups }); err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	writeELB(w, fmt.Appendf(nil, `<SetSecurityGroupsResponse xmlns=%q><SetSecurityGroupsResult><SecurityGroupIds>%s</SecurityGroupIds></SetSecurityGroupsResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></SetSecurityGroupsResponse>`,
		elbXMLNS, memberXML(groups), uuid.NewString()))
}

func elbSetSubnets(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	arn := form.Get("LoadBalancerArn")
	if !s.elbCheckLB(w, r, arn) {
		return
	}
	subnets := members(form, "Subnets")
	for i := 1; form.Has(fmt.Sprintf("SubnetMappings.member.%d.SubnetId", i)); i++ {
		subnets = append(subnets, form.Get(fmt.Sprintf("SubnetMappings.member.%d.SubnetId", i)))
	}
	if len(subnets) == 0 {
		writeELBError(w, http.StatusBadRequest, "ValidationError", "Subnets or SubnetMappings must be given")
		return
	}
	if err := elbNetGaps.update(func(g *elbNetState) { g.Subnets[arn] = subnets }); err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	writeELB(w, fmt.Appendf(nil, `<SetSubnetsResponse xmlns=%q><SetSubnetsResult><AvailabilityZones>%s</AvailabilityZones></SetSubnetsResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></SetSubnetsResponse>`,
		elbXMLNS, zonesXML(arn, subnets), uuid.NewString()))
}

func memberXML(values []string) string {
	var b strings.Builder
	for _, v := range values {
		b.WriteString("<member>" + xmlEscape(v) + "</member>")
	}
	return b.String()
}

// zonesXML renders subnets as a load balancer's AvailabilityZones, in kumo's zones: the region
// of arn's a, b, c, by position.
func zonesXML(arn string, subnets []string) string {
	region := "us-east-1"
	if parts := strings.Split(arn, ":"); len(parts) > 3 && parts[3] != "" {
		region = parts[3]
	}
	var b strings.Builder
	for i, s := range subnets {
		fmt.Fprintf(&b, "<member><ZoneName>%s%c</ZoneName><SubnetId>%s</SubnetId></member>", region, 'a'+byte(i%3), xmlEscape(s))
	}
	return b.String()
}

var lbNetDoc = regexp.MustCompile(`(?s)<LoadBalancerArn>([^<]*)</LoadBalancerArn>(.*?)<AvailabilityZones>(.*?)</AvailabilityZones>(\s*)<SecurityGroups>(.*?)</SecurityGroups>`)

// lbNetworks writes the security groups and subnets the layer keeps of each load balancer into
// kumo's DescribeLoadBalancers answer.
func lbNetworks(data []byte) []byte {
	elbNetGaps.mu.Lock()
	defer elbNetGaps.mu.Unlock()
	return lbNetDoc.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := lbNetDoc.FindSubmatch(m)
		arn := xmlUnescape(string(sub[1]))
		if strings.Contains(string(sub[2]), "<LoadBalancerArn>") { // not this one's
			return m
		}
		zones, groups := string(sub[3]), string(sub[5])
		if s, ok := elbNetGaps.Subnets[arn]; ok {
			zones = zonesXML(arn, s)
		}
		if g, ok := elbNetGaps.SecurityGroups[arn]; ok {
			groups = memberXML(slices.Clone(g))
		}
		return fmt.Appendf(nil, "<LoadBalancerArn>%s</LoadBalancerArn>%s<AvailabilityZones>%s</AvailabilityZones>%s<SecurityGroups>%s</SecurityGroups>",
			sub[1], sub[2], zones, sub[4], groups)
	})
}
