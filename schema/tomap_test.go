package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ToMap spells a default written out as AWS reads it back (unset): a queue's batchSize 10, a
// stream's 100 and startingPosition LATEST; other values are kept as written.
func TestToMapCanonicalDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   LambdaEventSource
		want map[string]any
	}{
		{"queue default", LambdaEventSource{Queue: "q", BatchSize: 10}, map[string]any{"queue": "q", "batchSize": int64(0), "batchWindow": int64(0)}},
		{"queue other", LambdaEventSource{Queue: "q", BatchSize: 5}, map[string]any{"queue": "q", "batchSize": int64(5), "batchWindow": int64(0)}},
		{"stream defaults", LambdaEventSource{Table: "t", BatchSize: 100, StartingPosition: "LATEST", BatchWindow: 30},
			map[string]any{"table": "t", "batchSize": int64(0), "batchWindow": int64(30)}},
		{"stream other", LambdaEventSource{Table: "t", BatchSize: 10, StartingPosition: "TRIM_HORIZON"},
			map[string]any{"table": "t", "batchSize": int64(10), "batchWindow": int64(0), "startingPosition": "TRIM_HORIZON"}},
	} {
		spec := &LambdaSpec{EventSources: []LambdaEventSource{tc.in}}
		got := ToMap(spec)["eventSources"].([]any)[0].(map[string]any)
		delete(got, "schedule")
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// An ALB listener's fixed 404 in plain text without a body is no default action; paths ["/*"]
// without hosts are no paths. Other values stay.
func TestToMapCanonicalLoadBalancing(t *testing.T) {
	notFound := &ALBSpec{Listeners: []ALBListener{
		{Port: 80, DefaultAction: &ALBAction{FixedResponse: &ALBFixedResponse{StatusCode: 404, ContentType: "text/plain"}}},
		{Port: 81, DefaultAction: &ALBAction{FixedResponse: &ALBFixedResponse{StatusCode: 404, ContentType: "text/plain", Body: "gone"}}},
	}}
	ls := ToMap(notFound)["listeners"].([]any)
	if _, ok := ls[0].(map[string]any)["defaultAction"]; ok {
		t.Errorf("a plain 404 stays as a default action: %v", ls[0])
	}
	if _, ok := ls[1].(map[string]any)["defaultAction"]; !ok {
		t.Errorf("a 404 with a body is dropped: %v", ls[1])
	}
	every := ToMap(&MicroServiceSpec{ComponentInfra: ComponentInfra{LoadBalancer: &LoadBalancer{Target: "lb", Paths: []string{"/*"}}}})["loadBalancer"].(map[string]any)
	if _, ok := every["paths"]; ok {
		t.Errorf("paths [/*] stay: %v", every)
	}
	hosted := ToMap(&MicroServiceSpec{ComponentInfra: ComponentInfra{LoadBalancer: &LoadBalancer{Target: "lb", Paths: []string{"/*"}, Hosts: []string{"a.example"}}}})["loadBalancer"].(map[string]any)
	if _, ok := hosted["paths"]; !ok {
		t.Errorf("paths [/*] with hosts are dropped: %v", hosted)
	}
}
