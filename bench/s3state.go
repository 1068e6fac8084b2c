//go:build linux

package main

// Measurement 7: state bytes, objects and revisions written to S3 per apply and per destroy.
// The shapes of measurement 5 (cli.go: independent, layers, chain) at 1,000 and 5,000 components
// (-large adds 20,000) are applied and then destroyed in-process, through the panka API, with the
// sim provider at zero latency, the state in S3 (backend/s3state, journaled) and the lock in
// DynamoDB (lock/dynamolock), both on the in-process emulator (remote.go's), and the engine's
// default state write interval (200ms), as the CLI runs it.
//
// The HTTP client counts every request (remote.go's callCounter) and the request body bytes of
// every PutObject, split by the object written: state documents (<env>.json, whole revisions)
// and journal entries (<env>.journal/…). The figures are those bytes against the final state:
// the document's length (what the state is) and the object's stored length (gzip-compressed
// above s3state.DefaultGzipThreshold, 256 KiB); and Result.StateBytes (the uncompressed bytes the
// engine handed the backend: the file backend's figure in measurement 5) against the document.
// For a destroy, the final state is the one it started from (the state after it is empty).
//
// Journal entries are stored as they are, never compressed: when a run writes entries, they
// can outweigh the compressed revisions many times over (bytes PUT ÷ stored object). And at zero
// latency the number of writes depends on how long the apply takes against the write interval
// (a 1,000-component apply is done in 3 writes: a revision, an entry, the closing revision), so
// the figures, and the growth between sizes, vary with the machine's speed: Result.StateBytes
// and the writes are shown next to the growth for that reason.
//
// The goal (issue 9): bytes written by one apply ≤ 3 × the final state + O(changed records), and
// linear growth, 20,000 ÷ 5,000 ≤ 4.5. The O(changed records) allowance is s3PerChange bytes per
// resource changed (see there).

import (
	"context"
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
)

// s3PerChange is the allowance of the goal per resource changed, about two encodings of a
// record (a record of this bench's kinds encodes to about 750 bytes: the final state ÷ N): one
// for the journal entry recording the change, one for its share of the revisions that compact
// the journal (the engine writes one when the journal has grown: see maxJournalEntries and the
// stateWriter in commit.go).
const s3PerChange = 2048

// goalS3Written is the multiple of the final state the goal allows, before the allowance.
const goalS3Written = 3.0

// s3Bound is the most an apply or destroy changing changes resources of a final state of
// docBytes may write, by the goal.
func s3Bound(docBytes int64, changes int) int64 {
	return int64(goalS3Written*float64(docBytes)) + int64(changes)*s3PerChange
}

// s3Run is one apply or destroy with state in S3.
type s3Run struct {
	Wall    time.Duration
	Calls   callCounts
	Result  *panka.Result
	Doc     int64 // the final state document's length (for a destroy: the state it started from)
	Stored  int64 // and its object's stored length (compressed above the gzip threshold)
	Changes int   // resources changed: Result.Counts.Succeeded
}

// put returns the bytes and objects PUT to class.
func (r s3Run) put(class string) putStat { return r.Calls.puts[class] }

// written is the request body bytes PUT to the state's objects, documents and journal.
func (r s3Run) written() int64 { return r.put(putState).Bytes + r.put(putJournal).Bytes }

// service returns the calls made to one service.
func (r s3Run) service(name string) int {
	n := 0
	for k, v := range r.Calls.ops {
		if k.Service == name {
			n += v.Calls
		}
	}
	return n
}

// noJournal hides a backend's Journaler, so that the engine writes a whole document every time:
// the experiment that shows what the journal saves (TestS3StateBytes).
type noJournal struct{ backend.StateBackend }

// s3Options tune runS3State.
type s3Options struct {
	interval  time.Duration // Options.StateWriteInterval; 0: the engine's default
	noJournal bool          // hide the backend's journal (noJournal)
	latency   time.Duration // the sim's per-operation latency
}

// runS3State applies data with a fresh S3 backend and the emulator's DynamoDB locker, then
// destroys it, and returns what each wrote.
func runS3State(ctx context.Context, data []byte, o s3Options) (apply, destroy s3Run, err error) {
	cfg, err := loadConfig(data)
	if err != nil {
		return apply, destroy, err
	}
	env, err := theRemote()
	if err != nil {
		return apply, destroy, err
	}
	be, err := env.backend(ctx)
	if err != nil {
		return apply, destroy, err
	}
	var sb backend.StateBackend = be
	if o.noJournal {
		sb = noJournal{be}
	}
	opts := panka.Options{Provider: newSim(o.latency), Backend: sb, Locker: env.locker, Parallelism: remoteParallelism,
		Who: "bench@local", StateWriteInterval: o.interval}
	// final returns the lengths of key's document and of its stored object; not measured.
	final := func(key backend.Key) (doc, stored int64, err error) {
		data, _, err := be.Read(ctx, key)
		if err != nil {
			return 0, 0, err
		}
		head, err := env.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(be.Bucket()), Key: aws.String(be.ObjectKey(key))})
		if err != nil {
			return 0, 0, err
		}
		env.calls.take()
		return int64(len(data)), aws.ToInt64(head.ContentLength), nil
	}
	run := func(mode string, fn func(context.Context, *panka.Config, panka.Options) (*panka.Result, error)) (s3Run, error) {
		env.calls.take() // what came before is not this run's
		start := time.Now()
		res, err := fn(ctx, cfg, opts)
		r := s3Run{Wall: time.Since(start), Calls: env.calls.take(), Result: res}
		if err != nil {
			return r, fmt.Errorf("%s: %w", mode, err)
		}
		if c := res.Counts; c.Failed+c.Skipped+c.Canceled > 0 {
			return r, fmt.Errorf("%s: %d failed, %d skipped, %d canceled", mode, c.Failed, c.Skipped, c.Canceled)
		}
		r.Changes = res.Counts.Succeeded
		return r, nil
	}
	if apply, err = run("apply", panka.Apply); err != nil {
		return apply, destroy, err
	}
	key := apply.Result.Plan.Key()
	if apply.Doc, apply.Stored, err = final(key); err != nil {
		return apply, destroy, err
	}
	if destroy, err = run("destroy", panka.Destroy); err != nil {
		return apply, destroy, err
	}
	destroy.Doc, destroy.Stored = apply.Doc, apply.Stored
	return apply, destroy, nil
}

// s3Case is one shape at one size, applied and destroyed.
type s3Case struct {
	shape          shape
	n              int
	apply, destroy s3Run
}

// measureS3State is measurement 7.
func measureS3State(ctx context.Context, t *table, sizes []int, shapeList []shape) error {
	env, err := theRemote()
	if err != nil {
		return err
	}
	for _, w := range env.warnings {
		fmt.Fprintln(os.Stderr, "  (emulator setup warning:", w+")")
	}
	var cases []*s3Case
	for _, s := range shapeList {
		for _, n := range sizes {
			start := time.Now()
			a, d, err := runS3State(ctx, s.config(n), s3Options{})
			if err != nil {
				return fmt.Errorf("%s n=%d: %w", s.name, n, err)
			}
			for _, m := range append(a.Calls.mismatches, d.Calls.mismatches...) {
				t.add("7 S3 state", "  WARNING operation misnamed", m, "", true)
			}
			cases = append(cases, &s3Case{shape: s, n: n, apply: a, destroy: d})
			fmt.Fprintf(os.Stderr, "  7 S3 state %-22s apply %s, destroy %s, written %s + %s (%.1fs)\n", fmt.Sprintf("%s n=%d", s.name, n),
				msFine(a.Wall), msFine(d.Wall), size(a.written()), size(d.written()), time.Since(start).Seconds())
		}
	}
	printS3Table(cases)
	for _, c := range cases {
		name := fmt.Sprintf("7 S3 state (%s)", c.shape.name)
		for _, r := range []struct {
			cmd string
			run s3Run
		}{{cmdApply, c.apply}, {cmdDestroy, c.destroy}} {
			w, bound := r.run.written(), s3Bound(r.run.Doc, r.run.Changes)
			t.add(name, fmt.Sprintf("n=%d %s: bytes PUT ÷ final state", c.n, r.cmd),
				fmt.Sprintf("%s (%s ÷ %s; bound %s)", ratio(float64(w)/float64(r.run.Doc)), size(w), size(r.run.Doc), ratio(float64(bound)/float64(r.run.Doc))),
				fmt.Sprintf("≤ %.0f× + %d B/change", goalS3Written, s3PerChange), w <= bound)
		}
	}
	if !slices.Contains(sizes, 5000) || !slices.Contains(sizes, 20000) {
		return nil
	}
	for _, s := range shapeList {
		get := func(n int) *s3Case {
			i := slices.IndexFunc(cases, func(c *s3Case) bool { return c.shape.name == s.name && c.n == n })
			return cases[i]
		}
		small, large := get(5000), get(20000)
		name := fmt.Sprintf("7 S3 state (%s)", s.name)
		for _, cmd := range []string{cmdApply, cmdDestroy} {
			a, b := small.apply, large.apply
			if cmd == cmdDestroy {
				a, b = small.destroy, large.destroy
			}
			r := float64(b.written()) / float64(a.written())
			t.add(name, cmd+" bytes PUT 20000÷5000", ratio(r), fmt.Sprintf("≤ %.1f", goalGrowth), r <= goalGrowth)
			e := float64(b.Result.StateBytes) / float64(a.Result.StateBytes)
			t.add(name, fmt.Sprintf("  Result.StateBytes 20000÷5000 (writes %d÷%d)", b.Result.StateWrites, a.Result.StateWrites), ratio(e), "", true)
		}
	}
	return nil
}

// printS3Table prints measurement 7's figures, a row per case and command.
func printS3Table(cases []*s3Case) {
	fmt.Printf("\n7 S3 state: bytes and objects PUT per apply and destroy (sim 0ms, state in S3, lock in DynamoDB, emulator)\n")
	fmt.Printf("  STATE: the final state document (destroy: the one it started from) / its stored object (gzip above %d KiB)\n", 256)
	fmt.Printf("  DOCS, JOURNAL: PutObject request body bytes / objects stored, of state documents and of journal entries\n")
	fmt.Printf("  PUT ÷ STATE: (DOCS + JOURNAL bytes) ÷ the document, ÷ the stored object; ENGINE ÷ DOC: Result.StateBytes ÷ the document\n\n")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "SHAPE\tN\tCOMMAND\tWALL\tSTATE\tDOCS\tJOURNAL\tPUT ÷ DOC\tPUT ÷ STORED\tENGINE ÷ DOC\tREVISIONS\tWRITES\tS3 CALLS\tDDB CALLS\t")
	for _, c := range cases {
		for _, r := range []struct {
			cmd string
			run s3Run
		}{{cmdApply, c.apply}, {cmdDestroy, c.destroy}} {
			run := r.run
			docs, jr := run.put(putState), run.put(putJournal)
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s / %s\t%s / %d\t%s / %d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t\n",
				c.shape.name, c.n, r.cmd, msFine(run.Wall), size(run.Doc), size(run.Stored),
				size(docs.Bytes), docs.Objects, size(jr.Bytes), jr.Objects,
				ratio(float64(run.written())/float64(run.Doc)), ratio(float64(run.written())/float64(run.Stored)),
				ratio(float64(run.Result.StateBytes)/float64(run.Doc)),
				run.Result.StateRevisions, run.Result.StateWrites, run.service("S3"), run.service("DynamoDB"))
		}
	}
	w.Flush()
	fmt.Println()
	for _, c := range cases {
		for _, r := range []struct {
			cmd string
			run s3Run
		}{{cmdApply, c.apply}, {cmdDestroy, c.destroy}} {
			fmt.Printf("  %s n=%d %s calls per resource changed: %s\n", c.shape.name, c.n, r.cmd, r.run.Calls.per(max(r.run.Changes, 1)))
		}
	}
}

// s3Sizes returns the sizes of measurement 7: list, plus 20,000 with large.
func s3Sizes(list string, large bool) ([]int, error) {
	if large {
		list += ",20000"
	}
	return parseSizes(list)
}
