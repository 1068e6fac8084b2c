package aws

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The Description records the code's source and location and the secrets' names, escaped, and
// leaves the location out when it does not fit.
func TestLambdaDescription(t *testing.T) {
	w := &lambdaWant{source: "s3:0011223344556677", src: []string{"my bucket", "dir/a,b=c.zip", ""}, secretNames: []string{"A_KEY", "B_TOKEN"}, order: []int{2, 0, 1}}
	d, err := w.description()
	if err != nil {
		t.Fatal(err)
	}
	got := parseDescription(d)
	want := fnRecord{source: w.source, src: w.src, secrets: w.secretNames, order: w.order}
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

// Read gives back the spec's order of event sources: the order a Description records places the
// mappings (by source ARN) and schedules where the spec had them; one that does not fit the
// sources read is ignored.
func TestLambdaSourceOrder(t *testing.T) {
	mappings := []wantMapping{{index: 1, arn: "arn:aws:sqs:q"}, {index: 3, arn: "arn:aws:dynamodb:t"}}
	order := sourceOrder(mappings, []int{0, 2})
	if want := []int{3, 1, 0, 2}; !cmp.Equal(order, want) {
		t.Fatalf("sourceOrder = %v, want %v", order, want)
	}
	read := []any{"table", "queue", "schedule 0", "schedule 1"} // as Read lists them
	if got, want := inOrder(read, order), []any{"schedule 0", "queue", "schedule 1", "table"}; !cmp.Equal(got, want) {
		t.Errorf("inOrder = %v, want %v", got, want)
	}
	if got := inOrder(read[:3], order); !cmp.Equal(got, read[:3]) {
		t.Errorf("an order for other sources reorders them: %v", got)
	}
	if got := sourceOrder(nil, nil); got != nil {
		t.Errorf("no sources: order %v, want none", got)
	}
}
