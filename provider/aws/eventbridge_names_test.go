package aws

import (
	"strings"
	"testing"
)

// The names of a component's parts fit EventBridge's limits (rules 64, archives 48), stay
// deterministic, and a rule's name on the default bus keeps the component's prefix, by which Read
// lists them.
func TestEventBridgePartNames(t *testing.T) {
	short := "acme-shop-dev-orders-bus"
	long := strings.Repeat("x", 64)
	for _, tc := range []struct{ name, rule string }{
		{short, "paid"}, {short, strings.Repeat("r", 64)}, {long, "paid"}, {strings.Repeat("y", 54), "paid"}, {strings.Repeat("y", 55), "p"},
	} {
		got := ruleName(tc.name, tc.rule)
		if len(got) > ruleNameLimit {
			t.Errorf("ruleName(%q, %q) = %q: %d characters", tc.name, tc.rule, got, len(got))
		}
		if !strings.HasPrefix(got, rulePrefix(tc.name)) {
			t.Errorf("ruleName(%q, %q) = %q does not start with %q", tc.name, tc.rule, got, rulePrefix(tc.name))
		}
		if got != ruleName(tc.name, tc.rule) {
			t.Errorf("ruleName(%q, %q) is not deterministic", tc.name, tc.rule)
		}
		if len(tc.name)+1+len(tc.rule) <= ruleNameLimit && got != tc.name+"."+tc.rule {
			t.Errorf("ruleName(%q, %q) = %q, want it whole", tc.name, tc.rule, got)
		}
	}
	if got := ruleName(long, "a"); got == ruleName(long, "b") {
		t.Errorf("two rules of a long-named component share the name %q", got)
	}
	if got := archiveName(short); got != short {
		t.Errorf("archiveName(%q) = %q", short, got)
	}
	if got := archiveName(long); len(got) != archiveLimit || !strings.HasPrefix(got, long[:archiveLimit-9]) {
		t.Errorf("archiveName(%q) = %q", long, got)
	}
}
