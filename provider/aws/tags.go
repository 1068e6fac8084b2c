package aws

import (
	"maps"
	"slices"
	"strings"
)

// Tag keys Panka reads back from a resource to tell which deployment and component it is.
const (
	tagTenant  = "panka:tenant"
	tagStack   = "panka:stack"
	tagEnv     = "panka:environment"
	tagAddress = "panka:address"
)

// tagChanges returns what makes the live tags want: the tags to set (new or changed) and the
// keys to remove. Tags the cloud manages itself ("aws:*") are never touched.
func tagChanges(live, want map[string]string) (set map[string]string, remove []string) {
	set = map[string]string{}
	for k, v := range want {
		if lv, ok := live[k]; (!ok || lv != v) && !cloudTag(k) {
			set[k] = v
		}
	}
	for k := range live {
		if _, ok := want[k]; !ok && !cloudTag(k) {
			remove = append(remove, k)
		}
	}
	slices.Sort(remove)
	return set, remove
}

func cloudTag(k string) bool { return strings.HasPrefix(k, "aws:") }

// sameDeployment reports whether two resources' tags name the same tenant, stack and
// environment.
func sameDeployment(a, b map[string]string) bool {
	for _, k := range []string{tagTenant, tagStack, tagEnv} {
		if a[k] != b[k] {
			return false
		}
	}
	return a[tagStack] != ""
}

// cloneTags copies tags, keeping nil as nil.
func cloneTags(tags map[string]string) map[string]string { return maps.Clone(tags) }
