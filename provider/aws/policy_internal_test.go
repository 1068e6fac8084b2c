package aws

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func policyStatements(t *testing.T, doc string) []any {
	t.Helper()
	if doc == "" {
		return nil
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("%q: %v", doc, err)
	}
	list, _ := p["Statement"].([]any)
	return list
}

// putStatement and removeStatement change one statement, by Sid, and leave the rest alone.
func TestPolicyStatements(t *testing.T) {
	mine := map[string]any{"Sid": "PankaSNS1", "Effect": "Allow", "Action": "sqs:SendMessage"}
	other := map[string]any{"Sid": "Other", "Effect": "Deny", "Action": "sqs:*", "Principal": "*"}

	// Into no policy.
	doc, changed, err := putStatement("", mine)
	if err != nil || !changed || !cmp.Equal(policyStatements(t, doc), []any{mine}) {
		t.Errorf("into no policy: %s %v %v", doc, changed, err)
	}
	// Again: unchanged.
	if again, changed, err := putStatement(doc, mine); err != nil || changed || again != doc {
		t.Errorf("put again: %s %v %v", again, changed, err)
	}
	// Beside another statement, given as a single object, the policy's other fields kept.
	single := `{"Version":"2012-10-17","Id":"mine","Statement":{"Sid":"Other","Effect":"Deny","Action":"sqs:*","Principal":"*"}}`
	doc, _, err = putStatement(single, mine)
	if err != nil || !cmp.Equal(policyStatements(t, doc), []any{other, mine}) {
		t.Errorf("beside another: %s %v", doc, err)
	}
	var fields map[string]any
	_ = json.Unmarshal([]byte(doc), &fields)
	if fields["Id"] != "mine" || fields["Version"] != "2012-10-17" {
		t.Errorf("fields lost: %s", doc)
	}
	// A changed statement of the Sid replaces it, in place.
	changedMine := map[string]any{"Sid": "PankaSNS1", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "q"}
	doc2, changed, err := putStatement(doc, changedMine)
	if err != nil || !changed || !cmp.Equal(policyStatements(t, doc2), []any{other, changedMine}) {
		t.Errorf("replace: %s %v %v", doc2, changed, err)
	}
	// Remove: the other statement stays; removing what is not there changes nothing.
	doc3, changed, err := removeStatement(doc2, "PankaSNS1")
	if err != nil || !changed || !cmp.Equal(policyStatements(t, doc3), []any{other}) {
		t.Errorf("remove: %s %v %v", doc3, changed, err)
	}
	if same, changed, err := removeStatement(doc3, "PankaSNS1"); err != nil || changed || same != doc3 {
		t.Errorf("remove again: %s %v %v", same, changed, err)
	}
	// The last statement gone: no policy.
	if empty, changed, err := removeStatement(`{"Statement":[{"Sid":"PankaSNS1"}]}`, "PankaSNS1"); err != nil || !changed || empty != "" {
		t.Errorf("remove the last: %q %v %v", empty, changed, err)
	}
	if _, _, err := putStatement("not json", mine); err == nil {
		t.Error("a policy that is no JSON: no error")
	}
}

// Sids are deterministic, differ by consumer, and keep to IAM's and Lambda's rules.
func TestPolicySid(t *testing.T) {
	a, b := policySid("Events", "arn:aws:events:us-east-1:1:rule/a"), policySid("Events", "arn:aws:events:us-east-1:1:rule/b")
	if a == b || a != policySid("Events", "arn:aws:events:us-east-1:1:rule/a") {
		t.Errorf("sids %s %s", a, b)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9]{1,100}$`).MatchString(a) {
		t.Errorf("sid %s", a)
	}
}
