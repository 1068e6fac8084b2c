package aws

import (
	"regexp"
	"strings"
	"testing"
)

// Instance names stay valid identifiers of at most 63 characters, distinct per cluster and
// index, even for a cluster name at the limit.
func TestInstanceName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	if got := instanceName("shop-dev-api-db", 2); got != "shop-dev-api-db-2" {
		t.Errorf("instanceName = %q", got)
	}
	long := strings.Repeat("a", 52) + "-b-c-d-e-f" // 62 characters, '-' where the cut falls
	other := strings.Repeat("a", 52) + "-b-c-d-e-g"
	seen := map[string]bool{}
	for _, cluster := range []string{long, other} {
		for i := 1; i <= 16; i++ {
			n := instanceName(cluster, i)
			if len(n) > dbIdentifierLimit || !valid.MatchString(n) || strings.Contains(n, "--") {
				t.Errorf("instanceName(%q, %d) = %q: not a valid identifier", cluster, i, n)
			}
			if seen[n] {
				t.Errorf("instanceName(%q, %d) = %q twice", cluster, i, n)
			}
			seen[n] = true
		}
	}
}
