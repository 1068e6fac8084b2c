package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/filestate"
	"github.com/panka/panka/state"
)

const concurrentStack = `apiVersion: panka.io/v1
kind: Stack
metadata: {name: busy}
spec:
  provider: {name: aws, region: eu-west-1}
  variables: {TAG: "%s"}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: jobs, service: api}
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: uploads, service: api}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: worker, service: api}
spec:
  image: busybox:1
  env: {QUEUE_URL: "${jobs.queueUrl}"}
---
apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  image: nginx:${TAG}
  env: {WORKER: "${worker.serviceName}", BUCKET: "${uploads.bucketName}"}
`

// concurrentRun is what one of the concurrent processes did.
type concurrentRun struct {
	tag        string
	res        result
	start, end time.Time // of its first event under the lock and of its summary
	writes     int       // state writes, as logged ("run finished ... state_writes=N")
	revisions  int       // whole revisions among them ("state_revisions=N")
}

// TestConcurrentApplies starts six `panka apply` processes at once on one state dir, each with
// its own image tag, and checks that the lock serialised them: all succeed, their locked
// intervals do not overlap, each wrote the state once it held the lock, based on the state the
// previous one left (no lost update), and the final state is the last one's.
func TestConcurrentApplies(t *testing.T) {
	const n = 6
	dir := t.TempDir()
	c := &cli{t: t, dir: dir, env: []string{"PANKA_SIM_LATENCY=20ms"}}
	runs := make([]*concurrentRun, n)
	var cmds []*runningCLI
	for i := range runs {
		runs[i] = &concurrentRun{tag: fmt.Sprintf("p%d", i)}
		file := fmt.Sprintf("stack-%d.yaml", i)
		if err := os.WriteFile(filepath.Join(dir, file), fmt.Appendf(nil, concurrentStack, runs[i].tag), 0o644); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c.start("apply", "--auto-approve", "--json", "--log-level", "info", "--lock-timeout", "60s", "--state-dir", "st", file))
	}
	waiters := 0
	for i, cmd := range cmds {
		r := runs[i]
		r.res = cmd.wait()
		if r.res.code != 0 {
			t.Errorf("apply %s: %s", r.tag, r.res)
			continue
		}
		var waited bool
		r.start, r.end, waited = checkEventStream(t, r.tag, r.res.stdout)
		if waited {
			waiters++
		}
		m := regexp.MustCompile(`run finished .*state_writes=(\d+) state_revisions=(\d+)`).FindStringSubmatch(r.res.stderr)
		if m == nil {
			t.Errorf("apply %s: no state_writes logged on stderr:\n%s", r.tag, r.res.stderr)
			continue
		}
		r.writes, _ = strconv.Atoi(m[1])
		r.revisions, _ = strconv.Atoi(m[2])
	}
	if t.Failed() {
		t.FailNow()
	}
	if waiters == 0 {
		t.Errorf("no run reported waiting for the lock: the runs did not contend")
	}

	// The locked intervals, in the order the processes got the lock, do not overlap.
	order := slices.Clone(runs)
	slices.SortFunc(order, func(a, b *concurrentRun) int { return a.start.Compare(b.start) })
	var tags []string
	totalWrites, totalRevisions := 0, 0
	for i, r := range order {
		tags = append(tags, r.tag)
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

	// The whole documents among the writes are the revisions, with increasing serials; the final
	// serial is the sum of the writes (revisions and journal entries each raise it by one).
	key := backend.Key{Tenant: "default", Stack: "busy", Environment: "default"}
	b, err := filestate.New(filepath.Join(dir, "st", "state"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	revs, err := b.History(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(revs) // oldest first
	var images []string  // the web image after each write, oldest first
	var serial int64
	for i, rev := range revs {
		data, err := b.ReadRevision(ctx, key, rev.ID)
		if err != nil {
			t.Fatal(err)
		}
		st, err := state.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && st.Serial != 1 || st.Serial <= serial {
			t.Errorf("revision %d (%s) has serial %d, after %d", i+1, rev.ID, st.Serial, serial)
		}
		serial = st.Serial
		if rev.Current != (i == len(revs)-1) {
			t.Errorf("revision %d (%s): current = %v", i+1, rev.ID, rev.Current)
		}
		image := ""
		if web := st.Lookup("api/web"); web != nil && web.Status == state.StatusCreated {
			image, _ = web.Spec["image"].(string)
		}
		if len(images) == 0 || images[len(images)-1] != image {
			images = append(images, image)
		}
	}
	if len(revs) != totalRevisions {
		t.Errorf("state history has %d revisions, the runs logged %d", len(revs), totalRevisions)
	}
	history := c.must("state", "history", "--state-dir", "st", "stack-0.yaml").stdout
	if got := strings.Count(history, "\n"); got != totalRevisions || strings.Count(history, "(current)") != 1 {
		t.Errorf("state history prints %d lines, want %d with one current:\n%s", got, totalRevisions, history)
	}
	// No lost update: the image went through every tag, in the order the runs held the lock.
	var want []string
	for _, tag := range tags {
		want = append(want, "nginx:"+tag)
	}
	if images[0] == "" {
		images = images[1:] // the first run's pending records
	}
	if !slices.Equal(images, want) {
		t.Errorf("the state's web image went through\n%v\nwant, in lock order,\n%v", images, want)
	}

	// The final state is the last run's, serial N; the cloud matches it; nothing is left to do.
	last := order[n-1]
	final := c.must("state", "pull", "--state-dir", "st", "stack-0.yaml").stdout
	st, err := state.Decode([]byte(final))
	if err != nil {
		t.Fatal(err)
	}
	if st.Serial != int64(totalWrites) {
		t.Errorf("final serial %d, want %d writes", st.Serial, totalWrites)
	}
	if img := st.Lookup("api/web").Spec["image"]; img != "nginx:"+last.tag {
		t.Errorf("final image %v, want the last run's nginx:%s", img, last.tag)
	}
	checkCloudMatchesState(t, filepath.Join(dir, "st", "sim-cloud.json"), st, "nginx:"+last.tag)
	if r := c.run("plan", "--detailed-exitcode", "--state-dir", "st", fmt.Sprintf("stack-%s.yaml", strings.TrimPrefix(last.tag, "p"))); r.code != 0 {
		t.Errorf("plan of the last run's config: %s", r)
	}
	if out := c.must("lock", "info", "--state-dir", "st", "stack-0.yaml").stdout; !strings.Contains(out, "is not locked") {
		t.Errorf("lock info:\n%s", out)
	}
}

// checkEventStream checks that stdout is nothing but JSON lines of events numbered from 1: maybe
// progress events while waiting for the lock, then the run under the lock: maybe refresh events,
// the plan, the operations, and the summary of a successful run last. It returns the times of
// the first and last events under the lock, and whether the run waited for the lock.
func checkEventStream(t *testing.T, name, stdout string) (start, end time.Time, waited bool) {
	t.Helper()
	var events []panka.Event
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev panka.Event
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Errorf("%s: stdout line %q is not an event: %v", name, sc.Text(), err)
			return
		}
		if ev.Seq != int64(len(events)+1) {
			t.Errorf("%s: event %d has seq %d", name, len(events)+1, ev.Seq)
		}
		events = append(events, ev)
	}
	// Waiting for the lock is reported by progress events; the run under the lock starts with
	// refresh events or the plan.
	locked := slices.IndexFunc(events, func(ev panka.Event) bool { return ev.Type != panka.EventProgress })
	for _, ev := range events[:max(locked, 0)] {
		if ev.Address != "" || !strings.Contains(ev.Message, "for the lock held by") {
			t.Errorf("%s: before the plan, a progress event that is not about the lock: %+v", name, ev)
		}
		waited = true
	}
	plan := slices.IndexFunc(events, func(ev panka.Event) bool { return ev.Type == panka.EventPlan })
	if locked < 0 || plan < 0 || slices.ContainsFunc(events[locked:plan], func(ev panka.Event) bool { return ev.Type != panka.EventRefresh }) ||
		events[len(events)-1].Type != panka.EventSummary {
		t.Errorf("%s: want (lock waits, refresh events and) a plan event first and a summary last:\n%s", name, stdout)
		return
	}
	for _, ev := range events {
		if ev.Type == panka.EventError || ev.Type == panka.EventSkipped {
			t.Errorf("%s: %s event: %+v", name, ev.Type, ev)
		}
	}
	if s, c := events[len(events)-1].Summary, events[len(events)-1].Counts; s == nil || c == nil || c.Failed+c.Skipped > 0 || s.Change+s.Add == 0 {
		t.Errorf("%s: summary %+v, want changes and no failures", name, s)
	}
	return events[locked].Time, events[len(events)-1].Time, waited
}

// runningCLI is a CLI process started by cli.start.
type runningCLI struct {
	cmd            *exec.Cmd
	stdout, stderr strings.Builder
}

// start starts the CLI with args and returns at once.
func (p *cli) start(args ...string) *runningCLI {
	p.t.Helper()
	r := &runningCLI{cmd: p.command(args...)}
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	return r
}

// wait waits for the process to exit and returns what it did.
func (r *runningCLI) wait() result {
	_ = r.cmd.Wait() // the exit status is in ProcessState
	return result{code: r.cmd.ProcessState.ExitCode(), stdout: r.stdout.String(), stderr: r.stderr.String()}
}
