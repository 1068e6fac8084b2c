package schema

import (
	"slices"
	"testing"
)

// skipFinalSnapshot and applyImmediately: booleans of RDS and DocumentDB, false unless set,
// changed in place (not ForceNew), listed in the reference.
func TestDatabaseSettings(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "RDS with both", docs: dataDoc("RDS", "db", "  engine: postgres\n  managePassword: true\n  skipFinalSnapshot: true\n  applyImmediately: true\n")},
		{name: "Aurora with both", docs: dataDoc("RDS", "db", "  engine: aurora-postgresql\n  managePassword: true\n  skipFinalSnapshot: true\n  applyImmediately: true\n")},
		{name: "DocumentDB with both", docs: dataDoc("DocumentDB", "docs", "  masterUsername: docs\n  managePassword: true\n  skipFinalSnapshot: true\n  applyImmediately: true\n")},
		{name: "RDS skipFinalSnapshot not a bool", docs: dataDoc("RDS", "db", "  managePassword: true\n  skipFinalSnapshot: sometimes\n"),
			want: []string{`spec.skipFinalSnapshot must be true or false, not "sometimes"`}},
		{name: "DocumentDB applyImmediately not a bool", docs: dataDoc("DocumentDB", "docs", "  masterUsername: docs\n  managePassword: true\n  applyImmediately: 3\n"),
			want: []string{`spec.applyImmediately must be true or false, not "3"`}},
	})

	cfg, err := ParseBytes("test.yaml", []byte(prelude+"---\n"+dataDoc("RDS", "pg", "  managePassword: true\n")+"---\n"+
		dataDoc("DocumentDB", "docs", "  masterUsername: docs\n  managePassword: true\n")+"---\n"+
		dataDoc("RDS", "set", "  managePassword: true\n  skipFinalSnapshot: true\n  applyImmediately: true\n")))
	if err != nil {
		t.Fatal(err)
	}
	if ds := Validate(cfg); len(ds) > 0 {
		t.Fatalf("want no diagnostics, got:\n%v", ds)
	}
	if pg := cfg.Component("data/pg").Spec.(*RDSSpec); pg.SkipFinalSnapshot || pg.ApplyImmediately {
		t.Errorf("RDS defaults: skipFinalSnapshot %v, applyImmediately %v; want false", pg.SkipFinalSnapshot, pg.ApplyImmediately)
	}
	if docs := cfg.Component("data/docs").Spec.(*DocumentDBSpec); docs.SkipFinalSnapshot || docs.ApplyImmediately {
		t.Errorf("DocumentDB defaults: skipFinalSnapshot %v, applyImmediately %v; want false", docs.SkipFinalSnapshot, docs.ApplyImmediately)
	}
	set := ToMap(cfg.Component("data/set").Spec)
	if set["skipFinalSnapshot"] != true || set["applyImmediately"] != true {
		t.Errorf("ToMap of a spec with both: %v", set)
	}
	for _, kind := range []string{"RDS", "DocumentDB"} {
		for _, f := range []string{"skipFinalSnapshot", "applyImmediately"} {
			if slices.Contains(ForceNewFields(kind), f) {
				t.Errorf("%s.%s replaces the resource; want an in-place change", kind, f)
			}
			i := slices.IndexFunc(Fields(kind), func(x Field) bool { return x.Path == f })
			if i < 0 {
				t.Errorf("%s has no field %s", kind, f)
			} else if fl := Fields(kind)[i]; fl.Type != "bool" || fl.Default != "" || fl.Required || fl.Secret {
				t.Errorf("%s.%s: %+v", kind, f, fl)
			}
		}
	}
}
