package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/filestate"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
	"github.com/panka/panka/state"
)

// scriptCommands lets scripts look at, and change behind Panka's back, the simulated cloud that the
// CLI keeps in STATE_DIR/sim-cloud.json:
//
//	simcloud STATE_DIR                    one line per resource: ADDRESS KIND NAME ID
//	simcreate STATE_DIR KIND NAME [PATH=JSON|tag:KEY=VALUE...]
//	                                      create a resource as a console user would (no panka:* tags
//	                                      unless given), and print its ID
//	simmutate STATE_DIR ADDRESS PATH=JSON  set a spec field (dotted PATH) as a console user would
//	simremove STATE_DIR ADDRESS            delete the resource as a console user would
//
// and to edit the state as no command does:
//
//	statesecret STATE_DIR TENANT/STACK/ENV ADDRESS.OUTPUT
//	                                      mark a recorded output sensitive, as a provider that
//	                                      declares it secret would have (the sim declares none)
//
// and general helpers:
//
//	replace FILE OLD NEW     replace the first OLD in FILE by NEW (OLD must be there)
//	exitcode N CMD ARGS...   run CMD like exec and require exit status N exactly
//	jsonvalid FILE           FILE holds exactly one JSON value
//	jsonlines FILE           every line of FILE is a JSON object (and there is at least one)
var scriptCommands = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"capture":     cmdCapture,
	"simcloud":    cmdSimCloud,
	"simcreate":   cmdSimCreate,
	"simmutate":   cmdSimMutate,
	"simremove":   cmdSimRemove,
	"statesecret": cmdStateSecret,
	"replace":     cmdReplace,
	"exitcode":    cmdExitCode,
	"jsonvalid":   cmdJSONValid,
	"jsonlines":   cmdJSONLines,
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N CMD ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

func cmdJSONValid(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: jsonvalid FILE")
	}
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile(args[0])))
	var v any
	if err := dec.Decode(&v); err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
	if err := dec.Decode(&v); err != io.EOF {
		ts.Fatalf("%s: more than one JSON value (%v)", args[0], err)
	}
}

func cmdJSONLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: jsonlines FILE")
	}
	text := ts.ReadFile(args[0])
	if text == "" || !strings.HasSuffix(text, "\n") {
		ts.Fatalf("%s: empty, or its last line is not terminated", args[0])
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			ts.Fatalf("%s:%d: not a JSON object: %v: %q", args[0], i+1, err, line)
		}
	}
}

// cmdCapture sets VAR to the first group of REGEXP's first match in FILE ("stdout" for the last
// command's): capture VAR FILE REGEXP.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: capture VAR FILE REGEXP")
	}
	text := ts.ReadFile(args[1])
	m := regexp.MustCompile(args[2]).FindStringSubmatch(text)
	if len(m) < 2 {
		ts.Fatalf("capture: no match for %s (with a group) in %s", args[2], args[1])
	}
	ts.Setenv(args[0], m[1])
}

func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: replace FILE OLD NEW")
	}
	name := ts.MkAbs(args[0])
	data, err := os.ReadFile(name)
	ts.Check(err)
	if !bytes.Contains(data, []byte(args[1])) {
		ts.Fatalf("replace: %s does not contain %q", args[0], args[1])
	}
	ts.Check(os.WriteFile(name, bytes.Replace(data, []byte(args[1]), []byte(args[2]), 1), 0o666))
}

func openSim(ts *testscript.TestScript, stateDir string) *sim.Provider {
	p, err := sim.New(sim.Options{Path: filepath.Join(ts.MkAbs(stateDir), "sim-cloud.json")})
	ts.Check(err)
	return p
}

func cmdSimCloud(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: simcloud STATE_DIR")
	}
	recs, err := openSim(ts, args[0]).Snapshot()
	ts.Check(err)
	var lines []string
	for _, r := range recs {
		lines = append(lines, fmt.Sprintf("%s %s %s %s\n", r.Tags["panka:address"], r.Kind, r.Name, r.ID))
	}
	slices.Sort(lines)
	fmt.Fprint(ts.Stdout(), strings.Join(lines, ""))
}

// simID returns the physical ID of the one resource tagged with address.
func simID(ts *testscript.TestScript, p *sim.Provider, address string) string {
	recs, err := p.Snapshot()
	ts.Check(err)
	var ids []string
	for _, r := range recs {
		if r.Tags["panka:address"] == address {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) != 1 {
		ts.Fatalf("simulated cloud: %d resources tagged %s, want 1", len(ids), address)
	}
	return ids[0]
}

func cmdSimCreate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: simcreate STATE_DIR KIND NAME [PATH=JSON|tag:KEY=VALUE...]")
	}
	r := provider.Resource{Kind: args[1], Name: args[2], Spec: map[string]any{}, Tags: map[string]string{}}
	for _, kv := range args[3:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			ts.Fatalf("simcreate: %q is not PATH=JSON or tag:KEY=VALUE", kv)
		}
		if tag, ok := strings.CutPrefix(k, "tag:"); ok {
			r.Tags[tag] = v
			continue
		}
		setPath(r.Spec, k, v)
	}
	obs, err := openSim(ts, args[0]).Create(context.Background(), r)
	ts.Check(err)
	fmt.Fprintln(ts.Stdout(), obs.ID)
}

// setPath sets the field at the dotted path in spec to raw, read as JSON if it is JSON and as a
// bare string otherwise.
func setPath(spec map[string]any, path, raw string) {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		v = raw
	}
	keys := strings.Split(path, ".")
	m := spec
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

func cmdSimMutate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: simmutate STATE_DIR ADDRESS PATH=JSON...")
	}
	p := openSim(ts, args[0])
	id := simID(ts, p, args[1])
	ts.Check(p.Mutate(id, func(spec map[string]any) {
		for _, kv := range args[2:] {
			path, raw, ok := strings.Cut(kv, "=")
			if !ok {
				ts.Fatalf("simmutate: %q is not PATH=JSON", kv)
			}
			setPath(spec, path, raw)
		}
	}))
}

func cmdSimRemove(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: simremove STATE_DIR ADDRESS")
	}
	p := openSim(ts, args[0])
	ts.Check(p.Remove(simID(ts, p, args[1])))
}

func cmdStateSecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: statesecret STATE_DIR TENANT/STACK/ENV ADDRESS.OUTPUT")
	}
	parts := strings.Split(args[1], "/")
	if len(parts) != 3 {
		ts.Fatalf("statesecret: %q is not TENANT/STACK/ENV", args[1])
	}
	key := backend.Key{Tenant: parts[0], Stack: parts[1], Environment: parts[2]}
	addr, name, ok := strings.Cut(args[2], ".")
	if !ok {
		ts.Fatalf("statesecret: %q is not ADDRESS.OUTPUT", args[2])
	}
	b, err := filestate.New(filepath.Join(ts.MkAbs(args[0]), "state"))
	ts.Check(err)
	ctx := context.Background()
	data, version, err := b.Read(ctx, key)
	ts.Check(err)
	st, err := state.Decode(data)
	ts.Check(err)
	r := st.Lookup(addr)
	if r == nil || r.Outputs[name] == "" {
		ts.Fatalf("statesecret: the state of %s records no output %s", key, args[2])
	}
	r = r.Clone()
	r.Sensitive = append(r.Sensitive, name)
	slices.Sort(r.Sensitive)
	st.Put(r)
	st.Serial++
	data, err = st.Encode()
	ts.Check(err)
	_, err = b.Write(ctx, key, data, version)
	ts.Check(err)
}

// cli runs the CLI as a separate OS process (this test binary, see TestMain) in dir, with extra
// environment variables such as PANKA_SIM_LATENCY.
type cli struct {
	t   testing.TB
	dir string
	env []string
}

// command returns the command line args, not started.
func (p *cli) command(args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = p.dir
	// The CLI reads settings from PANKA_* variables: only the test's own count.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PANKA_") })
	// The simulated cloud unless a test asks for AWS: the default provider is aws.
	cmd.Env = append(cmd.Env, cliMainEnv+"=1", "GORACE="+childGORACE(), "PANKA_PROVIDER=sim")
	cmd.Env = append(cmd.Env, p.env...)
	return cmd
}

// result is what a finished CLI process reported.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit status %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs the CLI to completion.
func (p *cli) run(args ...string) result {
	p.t.Helper()
	cmd := p.command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		p.t.Fatalf("panka %s: %v", strings.Join(args, " "), err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// must runs the CLI and fails the test unless it exits 0.
func (p *cli) must(args ...string) result {
	p.t.Helper()
	r := p.run(args...)
	if r.code != 0 {
		p.t.Fatalf("panka %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// childGORACE is GORACE for the CLI processes the tests start: under the race detector a process
// sleeps a second before it exits (atexit_sleep_ms, to let other goroutines report races), which
// would make every CLI call a second long. Races are still reported; the exit status of a racy
// process is 66.
func childGORACE() string {
	return strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=10")
}

// checkCloudMatchesState checks that the simulated cloud at simPath holds exactly the resources
// st records (same IDs), and that its MicroServices run image.
func checkCloudMatchesState(t *testing.T, simPath string, st *state.State, image string) {
	t.Helper()
	p, err := sim.New(sim.Options{Path: simPath})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(st.Resources) {
		t.Errorf("the cloud holds %d resources, the state records %d", len(recs), len(st.Resources))
	}
	for _, rec := range recs {
		if r := st.Lookup(rec.Tags["panka:address"]); r == nil || r.ID != rec.ID {
			t.Errorf("the cloud holds %s %s, not as recorded", rec.Kind, rec.ID)
		}
		if rec.Kind == "MicroService" && rec.Spec["image"] != image {
			t.Errorf("the cloud runs %v, want %s", rec.Spec["image"], image)
		}
	}
}
