package aws

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The Description records the code's source and location and the secrets' names, escaped, and
// leaves the location out when it does not fit.
func TestLambdaDescription(t *testing.T) {
	w := &lambdaWant{source: "s3:0011223344556677", src: []string{"my bucket", "dir/a,b=c.zip", ""}, secretNames: []string{"A_KEY", "B_TOKEN"}}
	d, err := w.description()
	if err != nil {
		t.Fatal(err)
	}
	got := parseDescription(d)
	want := fnRecord{source: w.source, src: w.src, secrets: w.secretNames}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(fnRecord{})); diff != "" {
		t.Errorf("%q read back (-want +got):\n%s", d, diff)
	}
	w.src = []string{strings.Repeat("k", 300)}
	if d, err = w.description(); err != nil || len(d) > 256 || parseDescription(d).src != nil || parseDescription(d).source != w.source {
		t.Errorf("a location too long: %q, %v", d, err)
	}
	w.secretNames = []string{strings.Repeat("S", 250)}
	if _, err := w.description(); err == nil {
		t.Error("secret names over 256 characters: no error")
	}
	if got := parseDescription("a description someone wrote"); got.source != "" || got.secrets != nil {
		t.Errorf("a foreign description reads as %+v", got)
	}
}
