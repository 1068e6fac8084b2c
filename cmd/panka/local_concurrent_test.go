package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/s3state"
	"github.com/panka/panka/internal/localaws"
	"github.com/panka/panka/state"
)

// localQueues is a stack of six queues; each process of TestLocalConcurrentApplies adds one.
const localQueues = `apiVersion: panka.io/v1
kind: Stack
metadata: {name: busy}
spec:
  provider: {name: aws, region: us-east-1}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q0, service: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q1, service: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q2, service: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q3, service: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q4, service: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q5, service: api}
`

// emulatorRE matches the line a --local command logs (at level info) about the emulator it used.
var emulatorRE = regexp.MustCompile(`local AWS emulator url=(\S+) pid=(\d+) started_here=(true|false)`)

// localEmulator is the emulator a --local process said it used.
type localEmulator struct {
	url     string
	pid     int
	started bool
}

func emulatorOf(t *testing.T, name string, r result) localEmulator {
	t.Helper()
	m := emulatorRE.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Errorf("%s: no emulator logged on stderr:\n%s", name, r.stderr)
		return localEmulator{}
	}
	pid, _ := strconv.Atoi(m[2])
	return localEmulator{url: m[1], pid: pid, started: m[3] == "true"}
}

// localDir returns the test's directory for --local runs with state dir "st", whose emulator
// the test's cleanup stops (waiting for it to exit, before the directory is removed).
func localDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		if _, _, err := localaws.Stop(context.Background(), filepath.Join(dir, "st", "local-aws")); err != nil {
			t.Error(err)
		}
	})
	return dir
}

// emulatorGeneration is how many emulators have served the --local data dir under dir.
func emulatorGeneration(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "st", "local-aws", "generation"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// TestLocalConcurrentApplies starts six `panka apply --local` processes at once on one state dir
// and one stack, each adding its own queue (--target). They must share one emulator (issue 8:
// each used to run its own on the same data, so the DynamoDB lock excluded nothing, updates were
// lost, resources orphaned and the state left unreadable): all succeed, all report the same
// emulator, one of them started it, their locked intervals do not overlap, every state revision
// is readable with serials 1..N, no revision drops a queue an earlier one recorded (no lost
// update), the final state has the six queues, the simulated cloud exactly those (no orphan), and
// a plan of the stack says No changes.
func TestLocalConcurrentApplies(t *testing.T) {
	const n = 6
	dir := localDir(t)
	c := &cli{t: t, dir: dir, env: []string{"PANKA_SIM_LATENCY=30ms"}}
	if err := os.WriteFile(filepath.Join(dir, "stack.yaml"), []byte(localQueues), 0o644); err != nil {
		t.Fatal(err)
	}
	procs := make([]*runningCLI, n)
	for i := range procs {
		procs[i] = c.start("apply", "--local", "--auto-approve", "--json", "--log-level", "info", "--lock-timeout", "120s",
			"--state-dir", "st", "--target", fmt.Sprintf("api/q%d", i), "stack.yaml")
	}
	runs := make([]*concurrentRun, n)
	emulators := make([]localEmulator, n)
	waiters, totalWrites, totalRevisions := 0, 0, 0
	for i, p := range procs {
		r := &concurrentRun{tag: fmt.Sprintf("q%d", i), res: p.wait()}
		runs[i] = r
		if r.res.code != 0 {
			t.Errorf("apply %s: %s", r.tag, r.res)
			continue
		}
		var waited bool
		r.start, r.end, waited = checkEventStream(t, r.tag, r.res.stdout)
		if waited {
			waiters++
		}
		m := stateWritesRE.FindStringSubmatch(r.res.stderr)
		if m == nil {
			t.Errorf("apply %s: no state_writes logged on stderr:\n%s", r.tag, r.res.stderr)
			continue
		}
		r.writes, _ = strconv.Atoi(m[1])
		r.revisions, _ = strconv.Atoi(m[2])
		totalWrites += r.writes
		totalRevisions += r.revisions
		emulators[i] = emulatorOf(t, r.tag, r.res)
	}
	if t.Failed() {
		t.FailNow()
	}

	// One emulator served them all, started by one of them.
	started := 0
	for i, e := range emulators {
		if e.url != emulators[0].url || e.pid != emulators[0].pid {
			t.Errorf("%s used the emulator %s (pid %d), %s %s (pid %d)", runs[i].tag, e.url, e.pid, runs[0].tag, emulators[0].url, emulators[0].pid)
		}
		if e.started {
			started++
		}
	}
	if started != 1 {
		t.Errorf("%d processes say they started the emulator, want 1", started)
	}
	if g := emulatorGeneration(t, dir); g != "1" {
		t.Errorf("%s emulators served the data dir, want 1", g)
	}
	t.Logf("%d of %d processes waited for the lock", waiters, n)
	if waiters == 0 {
		t.Errorf("no process reported waiting for the lock: they did not contend")
	}

	// The locked intervals, in the order the processes got the lock, do not overlap.
	order := slices.Clone(runs)
	slices.SortFunc(order, func(a, b *concurrentRun) int { return a.start.Compare(b.start) })
	for i, r := range order {
		if i > 0 && !order[i-1].end.Before(r.start) {
			t.Errorf("overlap: %s held the lock until %s, %s got it at %s", order[i-1].tag,
				order[i-1].end.Format("15:04:05.000000"), r.tag, r.start.Format("15:04:05.000000"))
		}
	}

	// Every revision is readable; serials 1..N; a queue once recorded is never dropped.
	conn, err := localaws.Connect(t.Context(), filepath.Join(dir, "st", "local-aws"), localaws.ConnectOptions{
		Command: func(dataDir string) (*exec.Cmd, error) { return c.command("local-aws", "serve", dataDir), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.PID != emulators[0].pid {
		t.Errorf("the test reached the emulator pid %d, the processes used pid %d", conn.PID, emulators[0].pid)
	}
	cfg, err := conn.Config(t.Context(), localRegion)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = logging.Nop{} // kumo sends no response checksums, which the SDK logs about
	b, err := s3state.New(t.Context(), s3state.NewClient(cfg), s3state.Options{Bucket: localBucket})
	if err != nil {
		t.Fatal(err)
	}
	key := backend.Key{Tenant: "default", Stack: "busy", Environment: "default"}
	revs, err := b.History(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != totalRevisions {
		t.Errorf("the state has %d revisions, the runs logged %d", len(revs), totalRevisions)
	}
	slices.Reverse(revs) // oldest first
	recorded := map[string]bool{}
	var serial int64
	for i, rev := range revs {
		data, err := b.ReadRevision(t.Context(), key, rev.ID)
		if err != nil {
			t.Fatalf("revision %d (%s): %v", i+1, rev.ID, err)
		}
		st, err := state.Decode(data)
		if err != nil {
			t.Fatalf("revision %d (%s): %v", i+1, rev.ID, err)
		}
		if i == 0 && st.Serial != 1 || st.Serial <= serial {
			t.Errorf("revision %d (%s) has serial %d, after %d", i+1, rev.ID, st.Serial, serial)
		}
		serial = st.Serial
		for addr := range recorded {
			if st.Lookup(addr) == nil {
				t.Errorf("revision %d (%s) lost %s, recorded by an earlier revision", i+1, rev.ID, addr)
			}
		}
		for _, r := range st.Resources {
			recorded[r.Address] = true
		}
	}

	// The final state has every queue, the cloud exactly those, and nothing is left to do.
	st, err := state.Decode([]byte(c.must("state", "pull", "--local", "--state-dir", "st", "stack.yaml").stdout))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if r := st.Lookup(fmt.Sprintf("api/q%d", i)); r == nil || r.Status != state.StatusCreated {
			t.Errorf("the final state records api/q%d as %+v", i, r)
		}
	}
	if len(st.Resources) != n {
		t.Errorf("the final state records %d resources, want %d", len(st.Resources), n)
	}
	if st.Serial != int64(totalWrites) {
		t.Errorf("final serial %d, want the %d writes the runs logged (none lost)", st.Serial, totalWrites)
	}
	checkCloudMatchesState(t, filepath.Join(dir, "st", "sim-cloud.json"), st, "")
	if r := c.run("plan", "--local", "--detailed-exitcode", "--state-dir", "st", "stack.yaml"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Errorf("plan after the applies: %s", r)
	}
	if out := c.must("lock", "info", "--local", "--state-dir", "st", "stack.yaml").stdout; !strings.Contains(out, "is not locked") {
		t.Errorf("lock info:\n%s", out)
	}
}

// TestLocalProcessesShareOneEmulator starts six `panka init --local` at once on a fresh state dir:
// one emulator serves them all; `local-aws stop` stops it, and the next command starts the next
// one.
func TestLocalProcessesShareOneEmulator(t *testing.T) {
	const n = 6
	dir := localDir(t)
	c := &cli{t: t, dir: dir}
	procs := make([]*runningCLI, n)
	for i := range procs {
		procs[i] = c.start("init", "--local", "--log-level", "info", "--state-dir", "st")
	}
	var first localEmulator
	started := 0
	for i, p := range procs {
		r := p.wait()
		if r.code != 0 {
			t.Errorf("init %d: %s", i, r)
			continue
		}
		e := emulatorOf(t, fmt.Sprintf("init %d", i), r)
		if i == 0 {
			first = e
		} else if e.url != first.url || e.pid != first.pid {
			t.Errorf("init %d used the emulator %s (pid %d), init 0 %s (pid %d)", i, e.url, e.pid, first.url, first.pid)
		}
		if e.started {
			started++
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if started != 1 {
		t.Errorf("%d processes say they started the emulator, want 1", started)
	}
	if g := emulatorGeneration(t, dir); g != "1" {
		t.Errorf("%s emulators served the data dir, want 1", g)
	}
	if out := c.must("local-aws", "stop", "--state-dir", "st").stdout; !strings.Contains(out, fmt.Sprintf("(pid %d)", first.pid)) {
		t.Errorf("local-aws stop: %s", out)
	}
	r := c.must("init", "--local", "--log-level", "info", "--state-dir", "st")
	if e := emulatorOf(t, "init after stop", r); e.pid == first.pid || !e.started {
		t.Errorf("after stop, init used %+v, want a new emulator it started", e)
	}
	if g := emulatorGeneration(t, dir); g != "2" {
		t.Errorf("%s emulators served the data dir, want 2", g)
	}
}

// TestLocalKilledEmulatorIsReplaced kills the emulator (SIGKILL) after an apply: the next
// command starts a new one, which has the state, and the stack's lock is free.
func TestLocalKilledEmulatorIsReplaced(t *testing.T) {
	dir := localDir(t)
	c := &cli{t: t, dir: dir}
	if err := os.WriteFile(filepath.Join(dir, "stack.yaml"), []byte(localQueues), 0o644); err != nil {
		t.Fatal(err)
	}
	r := c.must("apply", "--local", "--auto-approve", "--log-level", "info", "--state-dir", "st", "--target", "api/q0", "stack.yaml")
	first := emulatorOf(t, "apply", r)
	p, err := os.FindProcess(first.pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatalf("kill the emulator (pid %d): %v", first.pid, err)
	}

	r = c.must("apply", "--local", "--auto-approve", "--log-level", "info", "--lock-timeout", "30s", "--state-dir", "st", "--target", "api/q1", "stack.yaml")
	if e := emulatorOf(t, "apply after the kill", r); e.pid == first.pid || e.url == first.url || !e.started {
		t.Errorf("after the kill, apply used %+v (the killed one: %+v), want a new emulator it started", e, first)
	}
	if !strings.Contains(r.stdout, "Apply complete! Resources: 1 added") {
		t.Errorf("apply after the kill:\n%s", r.stdout)
	}
	if g := emulatorGeneration(t, dir); g != "2" {
		t.Errorf("%s emulators served the data dir, want 2", g)
	}
	if out := c.must("state", "list", "--local", "--state-dir", "st", "stack.yaml").stdout; out != "api/q0\napi/q1\n" {
		t.Errorf("state list after the kill:\n%s", out)
	}
}
