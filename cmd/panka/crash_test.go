package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/filestate"
	"github.com/panka/panka/provider/sim"
	"github.com/panka/panka/state"
)

// TestCrashRecovery kills `panka apply` and `panka destroy` (separate OS processes, SIGKILL, at
// random points of the run) over and over, and checks after each kill that nothing is
// duplicated or orphaned, and after each recovery run that the stack converged: the state
// records every resource of the config exactly once, the simulated cloud holds exactly those
// resources, the next plan is empty and the lock is free.
//
// The seed is logged; PANKA_CRASH_SEED=N replays the same sequence of operations and delays.
func TestCrashRecovery(t *testing.T) {
	rng := crashRand(t)

	dir := t.TempDir()
	addrs := writeCrashStack(t, filepath.Join(dir, "stack.yaml"))
	// A short lease, so that the lease a killed run leaves behind expires soon.
	c := &cli{t: t, dir: dir, env: []string{"PANKA_SIM_LATENCY=5ms", "PANKA_LOCK_TTL=1s"}}
	args := []string{"--auto-approve", "--parallelism", "4", "--lock-timeout", "30s", "--state-dir", "st", "stack.yaml"}
	w := &crashWorld{t: t, c: c, dir: dir, addrs: addrs}

	// Uninterrupted runs first: they must work, and they time a full run.
	start := time.Now()
	c.must(append([]string{"apply"}, args...)...)
	full := map[string]time.Duration{"apply": time.Since(start)}
	w.checkConverged("first apply")
	start = time.Now()
	c.must(append([]string{"destroy"}, args...)...)
	full["destroy"] = time.Since(start)
	w.checkEmpty("first destroy")
	t.Logf("full run: apply %s, destroy %s", full["apply"].Round(time.Millisecond), full["destroy"].Round(time.Millisecond))

	const wantInterrupted = 20
	converged := false // the state of the stack after the last recovery
	interrupted, kills, byOp := 0, 0, map[string]int{}
	for round := 0; interrupted < wantInterrupted; round++ {
		if round == 40 {
			t.Fatalf("only %d of %d kills interrupted a run", interrupted, kills)
		}
		// Kill the operation that has work to do, one to three times in a row: mostly an apply
		// (after a full or a targeted destroy), sometimes a destroy.
		op := "apply"
		if converged {
			if rng.IntN(3) == 0 {
				op = "destroy"
			} else {
				target := fmt.Sprintf("data/q%d", rng.IntN(6))
				c.must(append([]string{"destroy", "--target", target}, args...)...)
				w.checkNoDuplicates(fmt.Sprintf("round %d: after destroy --target %s", round, target))
			}
		}
		n := 1 + rng.IntN(3)
		for i := range n {
			// Half the kills come at a random time; the others right after the n'th operation
			// completed, before its result can have been saved: where durability bugs hide. n
			// is biased to small numbers: the first operations of a run are the riskiest.
			delay := time.Duration(rng.Int64N(int64(full[op])))
			afterOps := 0
			when := fmt.Sprintf("round %d: %s killed after %s", round, op, delay.Round(time.Microsecond))
			if rng.IntN(2) == 0 {
				afterOps = 1 + rng.IntN(1+rng.IntN(len(addrs)))
				when = fmt.Sprintf("round %d: %s killed when operation #%d completed", round, op, afterOps)
			}
			killed, _, _ := w.killAt(kill{delay: max(delay, 1), afterOps: afterOps}, append([]string{op}, args...))
			kills++
			if killed {
				interrupted++
				byOp[op]++
			}
			w.checkNoDuplicates(when)
			// An operator clears the dead run's lock, or (sometimes, before the recovery run)
			// the next run waits for the lease to expire.
			if i < n-1 || rng.IntN(3) > 0 {
				w.forceUnlock()
			}
		}
		// Recover: run to completion. A killed destroy is sometimes followed by an apply.
		recovery := op
		if op == "destroy" && rng.IntN(3) == 0 {
			recovery = "apply"
		}
		w.recover(append([]string{recovery}, args...))
		what := fmt.Sprintf("round %d: %s after a killed %s", round, recovery, op)
		if recovery == "apply" {
			w.checkConverged(what)
		} else {
			w.checkEmpty(what)
		}
		converged = recovery == "apply"
		if t.Failed() {
			t.Fatalf("stopping at round %d (replay with the seed logged above)", round)
		}
	}
	t.Logf("%d kills, %d of them interrupted a run (apply %d, destroy %d)", kills, interrupted, byOp["apply"], byOp["destroy"])
	if byOp["apply"] == 0 || byOp["destroy"] == 0 {
		t.Errorf("want interrupted applies and destroys, got %v", byOp)
	}
}

// writeCrashStack writes a stack of 30 components with dependencies (a service dependency,
// output references and dependsOn chains) and returns their addresses.
func writeCrashStack(t *testing.T, path string) []string {
	docs := []string{
		"kind: Stack\nmetadata: {name: crash}\nspec:\n  provider: {name: aws, region: eu-west-1}\n  variables: {TAG: \"1\"}",
		"kind: Service\nmetadata: {name: data}",
		"kind: Service\nmetadata: {name: app}\nspec: {dependsOn: [data]}",
	}
	var addrs []string
	for i := range 6 {
		docs = append(docs,
			fmt.Sprintf("kind: S3\nmetadata: {name: b%d, service: data}", i),
			fmt.Sprintf("kind: SQS\nmetadata: {name: q%d, service: data}", i))
		addrs = append(addrs, fmt.Sprintf("data/b%d", i), fmt.Sprintf("data/q%d", i))
	}
	for i := range 10 {
		docs = append(docs, fmt.Sprintf("kind: Worker\nmetadata: {name: w%d, service: app}\nspec:\n  image: busybox:${TAG}\n"+
			"  env: {QUEUE: \"${data.q%d.queueUrl}\", BUCKET: \"${data.b%d.bucketName}\"}", i, i%6, (i+1)%6))
		addrs = append(addrs, fmt.Sprintf("app/w%d", i))
	}
	for i := range 8 {
		doc := fmt.Sprintf("kind: MicroService\nmetadata: {name: m%d, service: app}\nspec:\n  image: nginx:${TAG}\n"+
			"  env: {W1: \"${w%d.serviceName}\", W2: \"${w%d.serviceName}\"}", i, i, i+2)
		if i%3 != 0 {
			doc += fmt.Sprintf("\n  dependsOn: [m%d]", i-1)
		}
		docs = append(docs, doc)
		addrs = append(addrs, fmt.Sprintf("app/m%d", i))
	}
	for i, d := range docs {
		docs[i] = "apiVersion: panka.io/v1\n" + d + "\n"
	}
	if err := os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	slices.Sort(addrs)
	return addrs
}

// crashRand returns the crash tests' random source, seeded from the clock or, to replay a run,
// from PANKA_CRASH_SEED; the seed is logged.
func crashRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PANKA_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("PANKA_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with PANKA_CRASH_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// crashWorld is the directory the crash test runs the CLI in, and what it checks there.
type crashWorld struct {
	t     *testing.T
	c     *cli
	dir   string
	addrs []string // every component address of the config, sorted
}

var crashKey = backend.Key{Tenant: "default", Stack: "crash", Environment: "default"}

// opDone matches the line the CLI prints when an operation has completed.
var opDone = regexp.MustCompile(`^\S+: (created|destroyed) \(`)

// kill says when to kill a run: delay after it started or, with fromOps, after its first
// operation started; or, if afterOps > 0, as soon as it reports that many operations complete.
// The zero kill lets the run finish.
type kill struct {
	delay    time.Duration
	fromOps  bool
	afterOps int
}

// opStart matches the line the CLI prints when an operation starts.
var opStart = regexp.MustCompile(`^\S+: (creating|updating|replacing|destroying)\.\.\.$`)

// killAt runs the CLI with args and sends it SIGKILL as k says. It reports whether the kill
// interrupted the run (false: it had finished, and must have succeeded), how long the run took
// and how long after its first operation started it ended.
func (w *crashWorld) killAt(k kill, args []string) (killed bool, took, ops time.Duration) {
	w.t.Helper()
	cmd := w.c.command(args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	// Read stdout until it closes; signal when the first operation starts, and when the
	// afterOps'th completes.
	var out strings.Builder
	started, reported := make(chan struct{}), make(chan struct{})
	var opsStart time.Time
	stdoutDone := make(chan struct{})
	go func() {
		defer close(stdoutDone)
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if opsStart.IsZero() && opStart.MatchString(sc.Text()) {
				opsStart = time.Now()
				close(started)
			}
			if opDone.MatchString(sc.Text()) {
				if n++; n == k.afterOps {
					close(reported)
				}
			}
		}
	}()
	done := make(chan error, 1)
	go func() {
		<-stdoutDone // Wait closes the pipe: read it all first
		done <- cmd.Wait()
	}()
	var timeout <-chan time.Time
	switch {
	case k.afterOps > 0:
	case k.fromOps:
		select {
		case <-started:
			timer := time.NewTimer(k.delay)
			defer timer.Stop()
			timeout = timer.C
		case err := <-done:
			done <- err
		}
	case k.delay > 0:
		timer := time.NewTimer(k.delay)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case err := <-done:
		took = time.Since(start)
		if !opsStart.IsZero() {
			ops = time.Since(opsStart)
		}
		if err != nil {
			w.t.Errorf("panka %s failed: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), stderr.String())
		}
		return false, took, ops
	case <-timeout:
	case <-reported:
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		w.t.Fatal(err)
	}
	err = <-done
	took = time.Since(start)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return true, took, 0
	}
	if err != nil {
		w.t.Errorf("panka %s failed: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), stderr.String())
	}
	return false, took, 0
}

// recover runs args until they succeed (at most three times); a failure is an error, since
// nothing but the lock should stand in the way of a run after a crash.
func (w *crashWorld) recover(args []string) {
	w.t.Helper()
	for attempt := 1; ; attempt++ {
		r := w.c.run(args...)
		if r.code == 0 {
			return
		}
		w.t.Errorf("recovery attempt %d: panka %s: %s", attempt, strings.Join(args, " "), r)
		if attempt == 3 {
			w.t.FailNow()
		}
	}
}

var lockIDLine = regexp.MustCompile(`(?m)^  ID: +(\S+)$`)

// forceUnlock releases the lock a killed run left behind, as an operator would.
func (w *crashWorld) forceUnlock() {
	w.t.Helper()
	info := w.c.must("lock", "info", "--state-dir", "st", "stack.yaml").stdout
	if strings.Contains(info, "is not locked") {
		return
	}
	m := lockIDLine.FindStringSubmatch(info)
	if m == nil {
		w.t.Fatalf("lock info: no ID in\n%s", info)
	}
	w.c.must("lock", "force-unlock", m[1], "--state-dir", "st", "stack.yaml")
}

// readState returns the recorded state (empty if none was written yet).
func (w *crashWorld) readState() *state.State {
	w.t.Helper()
	b, err := filestate.New(filepath.Join(w.dir, "st", "state"))
	if err != nil {
		w.t.Fatal(err)
	}
	// With its journal applied: a run whose last changes are journal entries has no reason to
	// write another revision.
	st, err := panka.ReadState(context.Background(), b, crashKey)
	if errors.Is(err, backend.ErrNotFound) {
		return state.New(crashKey.Tenant, crashKey.Stack, crashKey.Environment)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// cloud returns the simulated cloud's resources.
func (w *crashWorld) cloud() []sim.Record {
	w.t.Helper()
	p, err := sim.New(sim.Options{Path: filepath.Join(w.dir, "st", "sim-cloud.json")})
	if err != nil {
		w.t.Fatal(err)
	}
	recs, err := p.Snapshot()
	if err != nil {
		w.t.Fatal(err)
	}
	return recs
}

// checkNoDuplicates checks what must hold at any instant, even right after a crash: each
// resource in the cloud belongs to the stack and is known to the state, by its ID (current or
// deposed by a replacement) or as a pending create under its name, so the next run can find
// it; and, but for a deposed one, the cloud holds at most one resource per address.
func (w *crashWorld) checkNoDuplicates(when string) {
	w.t.Helper()
	st := w.readState()
	recs := w.cloud()
	pending := 0
	for _, r := range st.Resources {
		if r.Status == state.StatusPending {
			pending++
		}
	}
	w.t.Logf("%s: state serial %d records %d resources (%d pending), the cloud holds %d", when, st.Serial, len(st.Resources), pending, len(recs))
	seen := map[string]string{}
	for _, r := range st.Resources {
		if _, dup := seen[r.Address]; dup {
			w.t.Errorf("%s: state records %s twice", when, r.Address)
		}
		seen[r.Address] = r.ID
	}
	perAddr := map[string][]string{}
	for _, rec := range recs {
		addr := rec.Tags["panka:address"]
		if r := st.Lookup(addr); r == nil || !slices.Contains(r.Deposed, rec.ID) {
			perAddr[addr] = append(perAddr[addr], rec.ID)
		}
		if !slices.Contains(w.addrs, addr) || rec.Tags["panka:stack"] != "crash" {
			w.t.Errorf("%s: the cloud holds %s %s, tagged %v, which is not a resource of the stack", when, rec.Kind, rec.ID, rec.Tags)
			continue
		}
		r := st.Lookup(addr)
		switch {
		case r == nil:
			w.t.Errorf("%s: orphan: the cloud holds %s (%s %s), the state does not record it", when, addr, rec.Kind, rec.ID)
		case r.ID == rec.ID, slices.Contains(r.Deposed, rec.ID):
		case r.Status == state.StatusPending && r.Name == rec.Name:
		default:
			w.t.Errorf("%s: orphan: the cloud holds %s as %s %s, the state records %s (%s) %q", when, addr, rec.Kind, rec.ID, r.ID, r.Status, r.Name)
		}
	}
	for addr, ids := range perAddr {
		if len(ids) > 1 {
			w.t.Errorf("%s: duplicates: the cloud holds %d resources for %s: %v", when, len(ids), addr, ids)
		}
	}
}

// checkConverged checks the stack after a successful apply.
func (w *crashWorld) checkConverged(when string) {
	w.t.Helper()
	st := w.readState()
	var got []string
	stateIDs := map[string]string{}
	for _, r := range st.Resources {
		got = append(got, r.Address)
		stateIDs[r.Address] = r.ID
		if r.Status != state.StatusCreated || r.ID == "" || len(r.Deposed) > 0 {
			w.t.Errorf("%s: state records %s as %s with ID %q, deposed %v; want created", when, r.Address, r.Status, r.ID, r.Deposed)
		}
	}
	if !slices.Equal(got, w.addrs) {
		w.t.Errorf("%s: state records\n%v\nwant every address of the config once:\n%v", when, got, w.addrs)
	}
	cloudIDs := map[string]string{}
	for _, rec := range w.cloud() {
		addr := rec.Tags["panka:address"]
		if prev, dup := cloudIDs[addr]; dup {
			w.t.Errorf("%s: duplicates: the cloud holds %s twice: %s and %s", when, addr, prev, rec.ID)
		}
		cloudIDs[addr] = rec.ID
	}
	for addr, id := range cloudIDs {
		if stateIDs[addr] != id {
			w.t.Errorf("%s: the cloud holds %s as %s, the state records %q", when, addr, id, stateIDs[addr])
		}
	}
	for addr, id := range stateIDs {
		if _, ok := cloudIDs[addr]; !ok {
			w.t.Errorf("%s: the state records %s as %s, the cloud does not hold it", when, addr, id)
		}
	}
	if r := w.c.run("plan", "--detailed-exitcode", "--state-dir", "st", "stack.yaml"); r.code != 0 {
		w.t.Errorf("%s: the next plan is not empty: %s", when, r)
	}
	w.checkUnlocked(when)
}

// checkEmpty checks the stack after a successful destroy.
func (w *crashWorld) checkEmpty(when string) {
	w.t.Helper()
	for _, r := range w.readState().Resources {
		w.t.Errorf("%s: state still records %s (%s, %s)", when, r.Address, r.Status, r.ID)
	}
	for _, rec := range w.cloud() {
		w.t.Errorf("%s: the cloud still holds %s (%s %s)", when, rec.Tags["panka:address"], rec.Kind, rec.ID)
	}
	if out := w.c.must("state", "list", "--state-dir", "st", "stack.yaml").stdout; out != "" {
		w.t.Errorf("%s: state list prints\n%s", when, out)
	}
	w.checkUnlocked(when)
}

func (w *crashWorld) checkUnlocked(when string) {
	w.t.Helper()
	if out := w.c.must("lock", "info", "--state-dir", "st", "stack.yaml").stdout; !strings.Contains(out, "is not locked") {
		w.t.Errorf("%s: the lock is still held:\n%s", when, out)
	}
}

const ebsStack = `apiVersion: panka.io/v1
kind: Stack
metadata: {name: crash}
spec:
  provider: {name: aws, region: us-east-1}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: api}
---
apiVersion: panka.io/v1
kind: EBS
metadata: {name: data, service: api}
spec: {sizeGiB: 20, availabilityZone: AZ}
`

// TestInterruptedCreateBeforeDestroyConverges kills an apply in the middle of a
// create-before-destroy replacement: after the old volume was deposed (recorded durably) and
// before its replacement was created. The next apply must converge: one volume, in the new zone,
// recorded in the state, and nothing left to do.
func TestInterruptedCreateBeforeDestroyConverges(t *testing.T) {
	dir := t.TempDir()
	w := &crashWorld{t: t, c: &cli{t: t, dir: dir}, dir: dir, addrs: []string{"api/data"}}
	writeEBS := func(az string) {
		if err := os.WriteFile(filepath.Join(dir, "stack.yaml"), []byte(strings.Replace(ebsStack, "AZ", az, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeEBS("us-east-1a")
	w.c.must("apply", "--auto-approve", "--state-dir", "st", "stack.yaml")
	w.checkConverged("first apply")
	oldID := w.readState().Lookup("api/data").ID

	// A slow cloud, so that the replacement's create is still in flight when the kill comes.
	writeEBS("us-east-1b")
	slow := &cli{t: t, dir: dir, env: []string{"PANKA_SIM_LATENCY=500ms"}}
	cmd := slow.command("apply", "--auto-approve", "--state-dir", "st", "stack.yaml")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // in case the test fails before the kill
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "api/data: replacing..." {
	}
	if sc.Err() != nil || sc.Text() != "api/data: replacing..." {
		t.Fatalf("apply did not start the replacement (%v)", sc.Err())
	}
	// The old volume is deposed durably before the create starts; the state file is written by
	// the other process, so poll it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := w.readState().Lookup("api/data")
		if r != nil && r.Status == state.StatusPending && slices.Equal(r.Deposed, []string{oldID}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old volume was not deposed in time: %+v", r)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, stdout)
	_ = cmd.Wait()
	w.checkNoDuplicates("killed during the replacement")
	w.forceUnlock()

	// Recover. One operation at a time makes the order of the create and of the deposed
	// volume's deletion deterministic (the create sorts first).
	r := w.c.must("apply", "--auto-approve", "--parallelism", "1", "--state-dir", "st", "stack.yaml")
	t.Logf("recovery:\n%s", r.stdout)
	w.checkConverged("recovery after the interrupted replacement")
	for _, rec := range w.cloud() {
		if az := rec.Spec["availabilityZone"]; az != "us-east-1b" {
			t.Errorf("the cloud holds %s in %v, want us-east-1b", rec.ID, az)
		}
	}
}

// startKilledHolder starts `panka apply` on a slow cloud, waits until it holds the lock, kills
// it, and returns the ID of the lease it left behind.
func (w *crashWorld) startKilledHolder(env ...string) string {
	w.t.Helper()
	slow := &cli{t: w.t, dir: w.dir, env: append([]string{"PANKA_SIM_LATENCY=10s"}, env...)}
	cmd := slow.command("apply", "--auto-approve", "--log-level", "info", "--state-dir", "st", "stack.yaml")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	defer cmd.Wait()         // killed: the error is the signal
	defer cmd.Process.Kill() // in case the test fails before the kill
	sc := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`lock acquired .* id=(\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				w.t.Fatal(err)
			}
			go io.Copy(io.Discard, stderr) // drain until the pipe closes
			return m[1]
		}
	}
	w.t.Fatalf("apply exited without taking the lock")
	return ""
}

// TestLockOfAKilledRun checks what an operator sees and can do about the lock of a run that
// was killed: lock info shows the holder, a run without --lock-timeout fails naming it,
// force-unlock needs the right ID and frees it; an expired lease is taken over by a waiting run.
func TestLockOfAKilledRun(t *testing.T) {
	dir := t.TempDir()
	w := &crashWorld{t: t, c: &cli{t: t, dir: dir}, dir: dir, addrs: []string{"api/data"}}
	if err := os.WriteFile(filepath.Join(dir, "stack.yaml"), []byte(strings.Replace(ebsStack, "AZ", "us-east-1a", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	id := w.startKilledHolder() // the default lease: 30s
	info := w.c.must("lock", "info", "--state-dir", "st", "stack.yaml").stdout
	for _, want := range []string{"default/crash/default is locked (held)\n", "  ID:        " + id + "\n", "  Operation: apply\n", "  Version:   "} {
		if !strings.Contains(info, want) {
			t.Errorf("lock info: no %q in\n%s", want, info)
		}
	}
	r := w.c.run("apply", "--auto-approve", "--state-dir", "st", "stack.yaml")
	if r.code != 1 || !strings.Contains(r.stderr, "locked by ") || !strings.Contains(r.stderr, "panka lock force-unlock "+id) {
		t.Errorf("apply while locked: want exit 1 naming the holder and how to unlock; got %s", r)
	}
	if r := w.c.run("lock", "force-unlock", "--state-dir", "st", "not-"+id, "stack.yaml"); r.code != 1 {
		t.Errorf("force-unlock with a wrong ID: %s", r)
	}
	if out := w.c.must("lock", "force-unlock", id, "--state-dir", "st", "stack.yaml").stdout; out != "Lock "+id+" on default/crash/default released.\n" {
		t.Errorf("force-unlock prints %q", out)
	}
	w.checkUnlocked("after force-unlock")
	w.checkNoDuplicates("after the first kill")

	// A short lease expires by itself: a waiting run takes it over.
	id = w.startKilledHolder("PANKA_LOCK_TTL=1s")
	if r := w.c.run("lock", "info", "--state-dir", "st", "stack.yaml"); !strings.Contains(r.stdout, id) {
		t.Errorf("lock info after the second kill: %s", r)
	}
	w.c.must("apply", "--auto-approve", "--lock-timeout", "30s", "--state-dir", "st", "stack.yaml")
	w.checkConverged("after taking over the expired lease")
}

// TestInterruptStopsGracefully sends SIGINT (Ctrl-C) to an apply: it starts no new operation,
// lets those in flight finish, records every one of them, releases the lock and fails; the next
// apply completes the stack.
func TestInterruptStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	w := &crashWorld{t: t, c: &cli{t: t, dir: dir}, dir: dir}
	w.addrs = writeCrashStack(t, filepath.Join(dir, "stack.yaml"))
	slow := &cli{t: t, dir: dir, env: []string{"PANKA_SIM_LATENCY=100ms"}}
	cmd := slow.command("apply", "--auto-approve", "--parallelism", "4", "--state-dir", "st", "stack.yaml")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // in case the test fails before the end
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), ": created (") {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	_ = cmd.Wait()
	t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), stderr.String())
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	for _, want := range []string{"Stopping: no new operations will start", "apply stopped: context canceled"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr: no %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^Apply failed! Resources: [1-9]\d* added, .* skipped\.$`).MatchString(out.String()) {
		t.Errorf("stdout: no summary of a partial apply")
	}
	w.checkNoDuplicates("after Ctrl-C")
	w.checkUnlocked("after Ctrl-C")
	// Every operation that finished is recorded as done.
	st := w.readState()
	recs := w.cloud()
	if len(recs) == 0 || len(recs) == len(w.addrs) {
		t.Errorf("the cloud holds %d resources after Ctrl-C, want some but not all %d", len(recs), len(w.addrs))
	}
	for _, rec := range recs {
		if r := st.Lookup(rec.Tags["panka:address"]); r == nil || r.Status != state.StatusCreated || r.ID != rec.ID {
			t.Errorf("the cloud holds %s, the state records %+v", rec.ID, r)
		}
	}
	w.c.must("apply", "--auto-approve", "--state-dir", "st", "stack.yaml")
	w.checkConverged("apply after Ctrl-C")
}
