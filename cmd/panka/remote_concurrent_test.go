package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/smithy-go/logging"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/s3state"
	"github.com/panka/panka/internal/localaws"
	"github.com/panka/panka/state"
)

// The AWS emulator of this test binary. Two kumo servers in one process race with each other
// inside kumo, so every test of the package that needs one shares this one (see testEmulator);
// each test uses its own bucket and lock table in it (see remoteNames).
var (
	emulatorOnce sync.Once
	emulatorSrv  *localaws.Server
	emulatorErr  error
	remoteNames  atomic.Int64
)

// testEmulator returns the package's AWS emulator, started on first use and left running until
// the test binary exits.
func testEmulator(t testing.TB) *localaws.Server {
	t.Helper()
	emulatorOnce.Do(func() { emulatorSrv, emulatorErr = localaws.Start("") })
	if emulatorErr != nil {
		t.Fatalf("start the AWS emulator: %v", emulatorErr)
	}
	return emulatorSrv
}

// remoteCLI runs the CLI as a separate OS process against the S3 backend and DynamoDB locker of
// the emulator: flags are appended to every command line, and the environment has fixed test
// credentials and region and no other AWS_ (or PANKA_, see cli.command) variable. HOME is the
// test's directory, so that no ~/.aws file of the user's is read.
type remoteCLI struct {
	cli   *cli
	flags []string
}

func (r *remoteCLI) command(args ...string) *exec.Cmd {
	cmd := r.cli.command(append(slices.Clip(args), r.flags...)...)
	cmd.Env = slices.DeleteFunc(cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, "AWS_") })
	cmd.Env = append(cmd.Env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "HOME="+r.cli.dir)
	return cmd
}

func (r *remoteCLI) start(args ...string) *runningCLI {
	r.cli.t.Helper()
	p := &runningCLI{cmd: r.command(args...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		r.cli.t.Fatal(err)
	}
	return p
}

func (r *remoteCLI) run(args ...string) result {
	r.cli.t.Helper()
	cmd := r.command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		r.cli.t.Fatalf("panka %s: %v", strings.Join(args, " "), err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

func (r *remoteCLI) must(args ...string) result {
	r.cli.t.Helper()
	res := r.run(args...)
	if res.code != 0 {
		r.cli.t.Fatalf("panka %s: %s", strings.Join(args, " "), res)
	}
	return res
}

var (
	lockAcquiredRE = regexp.MustCompile(`lock acquired .*\bid=(\S+)`)
	stateWritesRE  = regexp.MustCompile(`run finished .*\bstate_writes=(\d+) state_revisions=(\d+)`)
	waitingRE      = regexp.MustCompile(`^waiting .*held by .*lock ID (\S+)$`)
)

// TestRemoteConcurrentApplies starts eight `panka apply` processes at once on the same stack,
// with the state in S3 and the lock in DynamoDB (one emulator, one bucket, one table) and one
// simulated cloud, each process with its own image tag. The DynamoDB lease must serialise them:
// all succeed, their locked intervals do not overlap, those that waited name a holder that is
// another of the processes, every state write is one S3 object version with serials 1..N and
// no gaps, each process's writes build on the last one's (no lost update), and the final state
// and cloud are the last process's.
func TestRemoteConcurrentApplies(t *testing.T) {
	const n = 8
	srv := testEmulator(t)
	id := remoteNames.Add(1)
	bucket, table := fmt.Sprintf("panka-concurrent-%d", id), fmt.Sprintf("panka-concurrent-locks-%d", id)
	dir := t.TempDir()
	rc := &remoteCLI{cli: &cli{t: t, dir: dir}, flags: []string{
		"--backend", "s3", "--bucket", bucket, "--lock-table", table, "--endpoint", srv.URL, "--region", "us-east-1",
		"--state-dir", "st",
	}}

	if out := rc.must("init").stdout; !strings.Contains(out, "Ready: state bucket "+bucket) {
		t.Fatalf("init:\n%s", out)
	}

	runs := make([]*concurrentRun, n)
	for i := range runs {
		runs[i] = &concurrentRun{tag: fmt.Sprintf("p%d", i)}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("stack-%d.yaml", i)), fmt.Appendf(nil, concurrentStack, runs[i].tag), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Start them all before waiting for any, so that they contend.
	procs := make([]*runningCLI, n)
	for i := range procs {
		procs[i] = rc.start("apply", "--auto-approve", "--lock-timeout", "60s", "--json", "--log-level", "info", fmt.Sprintf("stack-%d.yaml", i))
	}
	leaseIDs := make([]string, n) // the lock ID each process held
	waitedFor := make([][]string, n)
	for i, p := range procs {
		r := runs[i]
		r.res = p.wait()
		if r.res.code != 0 {
			t.Errorf("apply %s: %s", r.tag, r.res)
			continue
		}
		r.start, r.end, _ = checkEventStream(t, r.tag, r.res.stdout)
		waitedFor[i] = lockWaits(t, r.tag, r.res.stdout)
		m := stateWritesRE.FindStringSubmatch(r.res.stderr)
		if m == nil {
			t.Errorf("apply %s: no state_writes logged on stderr:\n%s", r.tag, r.res.stderr)
			continue
		}
		r.writes, _ = strconv.Atoi(m[1])
		r.revisions, _ = strconv.Atoi(m[2])
		if m := lockAcquiredRE.FindStringSubmatch(r.res.stderr); m != nil {
			leaseIDs[i] = m[1]
		} else {
			t.Errorf("apply %s: no lock acquisition logged on stderr:\n%s", r.tag, r.res.stderr)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Waiting processes said whom they waited for: another of the processes, which got the lock
	// before them.
	waiters := 0
	for i, ids := range waitedFor {
		if len(ids) > 0 {
			waiters++
		}
		for _, id := range ids {
			holder := slices.Index(leaseIDs, id)
			switch {
			case holder < 0:
				t.Errorf("%s waited for lock ID %s, which none of the processes held (they held %v)", runs[i].tag, id, leaseIDs)
			case holder == i:
				t.Errorf("%s waited for its own lock ID %s", runs[i].tag, id)
			case !runs[holder].start.Before(runs[i].start):
				t.Errorf("%s waited for %s's lock ID %s but got the lock first", runs[i].tag, runs[holder].tag, id)
			}
		}
	}
	t.Logf("%d of %d processes waited for the lock", waiters, n)
	if waiters == 0 {
		t.Errorf("no process reported waiting for the lock (a progress event \"waiting ... held by ...\"): they did not contend")
	}
	if len(slices.Compact(slices.Sorted(slices.Values(leaseIDs)))) != n {
		t.Errorf("the processes did not each hold a lease of their own: %v", leaseIDs)
	}

	// The locked intervals, in the order the processes got the lock, do not overlap.
	order := slices.Clone(runs)
	slices.SortFunc(order, func(a, b *concurrentRun) int { return a.start.Compare(b.start) })
	totalWrites, totalRevisions := 0, 0
	for i, r := range order {
		totalWrites += r.writes
		totalRevisions += r.revisions
		t.Logf("%s held the lock %s – %s, %d state writes", r.tag, r.start.Format("15:04:05.000"), r.end.Format("15:04:05.000"), r.writes)
		if r.writes == 0 {
			t.Errorf("%s changed the image and wrote no state", r.tag)
		}
		if i > 0 && !order[i-1].end.Before(r.start) {
			t.Errorf("overlap: %s ran %s – %s, %s started at %s", order[i-1].tag, order[i-1].start.Format(time.StampMicro),
				order[i-1].end.Format(time.StampMicro), r.tag, r.start.Format(time.StampMicro))
		}
	}
	last := order[n-1]

	// `state history` lists the revisions: the whole documents among the writes (the others are
	// journal entries, folded into the run's last revision).
	history := rc.must("state", "history", "stack-0.yaml").stdout
	if got := strings.Count(history, "\n"); got != totalRevisions || strings.Count(history, "(current)") != 1 {
		t.Errorf("state history prints %d lines, want the %d revisions the runs logged, one current:\n%s", got, totalRevisions, history)
	}

	// Every revision is one S3 object version: serials increase, one lineage, and the revisions
	// of each process, in lock order, start from the state the previous one left.
	ctx := t.Context()
	cfg, err := srv.Config(ctx, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = logging.Nop{} // kumo sends no response checksums, which the SDK logs about
	b, err := s3state.New(ctx, s3state.NewClient(cfg), s3state.Options{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	key := backend.Key{Tenant: "default", Stack: "busy", Environment: "default"}
	revs, err := b.History(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != totalRevisions {
		t.Errorf("the state object has %d versions, the runs logged %d revisions", len(revs), totalRevisions)
	}
	slices.Reverse(revs) // oldest first
	// The web image recorded by each revision.
	images := make([]string, len(revs))
	lineage := ""
	var serials []int64
	for i, rev := range revs {
		data, err := b.ReadRevision(ctx, key, rev.ID)
		if err != nil {
			t.Fatal(err)
		}
		st, err := state.Decode(data)
		if err != nil {
			t.Fatalf("revision %d (%s): %v", i+1, rev.ID, err)
		}
		if i == 0 && st.Serial != 1 || i > 0 && st.Serial <= serials[i-1] {
			t.Errorf("revision %d (%s) has serial %d, after %v", i+1, rev.ID, st.Serial, serials)
		}
		serials = append(serials, st.Serial)
		if lineage == "" {
			lineage = st.Lineage
		} else if st.Lineage != lineage {
			t.Errorf("revision %d (%s) has lineage %s, the first one %s", i+1, rev.ID, st.Lineage, lineage)
		}
		if rev.Current != (i == len(revs)-1) {
			t.Errorf("revision %d (%s): current = %v", i+1, rev.ID, rev.Current)
		}
		if web := st.Lookup("api/web"); web != nil && web.Status == state.StatusCreated {
			images[i], _ = web.Spec["image"].(string)
		}
	}
	if len(images) == totalRevisions {
		// No lost update: in lock order, each process's writes are the next block of
		// revisions; a block records the image the previous process left (none, for the first
		// one's pending records) until this process changes it, and ends with this process's
		// image. So every tag appears, in the order the processes held the lock, and the
		// last revision has the last one's.
		next, prev := 0, ""
		for _, r := range order {
			want := "nginx:" + r.tag
			block := images[next : next+r.revisions]
			i := slices.IndexFunc(block, func(img string) bool { return img != prev })
			if i < 0 || slices.ContainsFunc(block[i:], func(img string) bool { return img != want }) {
				t.Errorf("revisions %d–%d, the writes of %s (lock order %v), record images %q: want %q, then %q",
					next+1, next+r.revisions, r.tag, tagsOf(order), block, prev, want)
			}
			next, prev = next+r.revisions, want
		}
	}

	// The final state is the last run's, serial N; the cloud matches it; nothing is left to do,
	// the lock is free, and the file backend was not used.
	st, err := state.Decode([]byte(rc.must("state", "pull", "stack-0.yaml").stdout))
	if err != nil {
		t.Fatal(err)
	}
	if st.Serial != int64(totalWrites) {
		t.Errorf("final serial %d, want %d writes", st.Serial, totalWrites)
	}
	if web := st.Lookup("api/web"); web == nil || web.Spec["image"] != "nginx:"+last.tag {
		t.Errorf("final web record %+v, want the last run's image nginx:%s", web, last.tag)
	}
	checkCloudMatchesState(t, filepath.Join(dir, "st", "sim-cloud.json"), st, "nginx:"+last.tag)
	if r := rc.run("plan", "--detailed-exitcode", "stack-"+strings.TrimPrefix(last.tag, "p")+".yaml"); r.code != 0 {
		t.Errorf("plan of the last run's config: %s", r)
	}
	if out := rc.must("lock", "info", "stack-0.yaml").stdout; !strings.Contains(out, "is not locked") {
		t.Errorf("lock info:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "st", "state")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file backend's state dir exists (%v): the runs did not use S3", err)
	}
}

// lockWaits returns the lock IDs named by the progress events of an event stream that say the
// run is waiting for a lock held by someone ("waiting ... held by ... lock ID ID").
func lockWaits(t *testing.T, name, stdout string) []string {
	t.Helper()
	var ids []string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev panka.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Errorf("%s: stdout line %q is not an event: %v", name, sc.Text(), err)
			return nil
		}
		if ev.Type != panka.EventProgress || !strings.Contains(ev.Message, "waiting") {
			continue
		}
		m := waitingRE.FindStringSubmatch(ev.Message)
		if m == nil {
			t.Errorf("%s: a progress event about waiting that names no holder: %q", name, ev.Message)
			continue
		}
		ids = append(ids, m[1])
	}
	return ids
}

func tagsOf(runs []*concurrentRun) []string {
	var tags []string
	for _, r := range runs {
		tags = append(tags, r.tag)
	}
	return tags
}
