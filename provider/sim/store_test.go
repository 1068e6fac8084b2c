package sim_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/panka/panka/internal/atomicfile"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
)

// TestPersistence: two Providers on one Path see one cloud, each other's changes included, and
// values keep their types through the file.
func TestPersistence(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nested", "cloud.json")
	p1, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	p2, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)

	r := sqs("orders")
	r.Spec = map[string]any{"int": int64(1), "float": 1.0, "list": []any{int64(2), 2.5, "x"}, "obj": map[string]any{"b": false}}
	created, err := p1.Create(ctx, r)
	require.NoError(t, err)

	got, err := p2.Read(ctx, "SQS", created.ID)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(created, got), "p2 reads what p1 created, types included")

	_, err = p2.Create(ctx, sqs("orders"))
	require.ErrorIs(t, err, provider.ErrAlreadyExists, "p2 sees p1's name")

	r.Spec = map[string]any{"int": int64(2)}
	_, err = p2.Update(ctx, created.ID, r, []string{"int"})
	require.NoError(t, err)
	got, err = p1.Read(ctx, "SQS", created.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"int": int64(2)}, got.Spec, "p1 sees p2's update")

	// A third Provider opened later sees the same cloud.
	p3, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	s1, err := p1.Snapshot()
	require.NoError(t, err)
	s3, err := p3.Snapshot()
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(s1, s3))

	require.NoError(t, p3.Remove(created.ID))
	n, err := p1.Count("")
	require.NoError(t, err)
	require.Zero(t, n, "p1 sees p3's Remove")

	// The file is plain JSON, and no temporary file is left behind.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(data, &doc))
	require.EqualValues(t, 1, doc["version"])
	tmps, err := filepath.Glob(atomicfile.TempGlob(path))
	require.NoError(t, err)
	require.Empty(t, tmps)
}

// TestPersistenceConcurrent: Providers on one Path, used from many goroutines, lose no change.
func TestPersistenceConcurrent(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cloud.json")
	const providers, each = 4, 10
	var wg sync.WaitGroup
	for i := range providers {
		p, err := sim.New(sim.Options{Path: path})
		require.NoError(t, err)
		for j := range each {
			wg.Go(func() {
				if _, err := p.Create(ctx, sqs(fmt.Sprintf("q-%d-%d", i, j))); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	p, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	n, err := p.Count("SQS")
	require.NoError(t, err)
	require.Equal(t, providers*each, n)
}

// TestStaleTempFiles: a temporary file left by a process killed mid-write is removed by the
// next write.
func TestStaleTempFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cloud.json")
	stale := filepath.Join(filepath.Dir(path), ".cloud.json.tmp-123456")
	require.NoError(t, os.WriteFile(stale, []byte(`{"version":1`), 0o600))
	p, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	_, err = p.Create(t.Context(), sqs("q"))
	require.NoError(t, err)
	_, err = os.Stat(stale)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestCorruptFile: a file that is not a cloud is an error naming it, from New and from every
// operation; an empty file is an empty cloud.
func TestCorruptFile(t *testing.T) {
	ctx := t.Context()
	for name, content := range map[string]string{
		"not json":      "{not json",
		"truncated":     `{"version":1,"resources":[{"kind":"SQS"`,
		"wrong version": `{"version":99,"resources":[]}`,
		"not an object": `[1,2,3]`,
		"no id":         `{"version":1,"resources":[{"kind":"SQS","name":"a","spec":null}]}`,
		"bad spec":      `{"version":1,"resources":[{"kind":"SQS","name":"a","id":"a","spec":[1]}]}`,
		"duplicate": `{"version":1,"resources":[{"kind":"SQS","name":"a","id":"1","spec":null},` +
			`{"kind":"SQS","name":"a","id":"2","spec":null}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cloud.json")
			require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
			_, err := sim.New(sim.Options{Path: path})
			require.ErrorContains(t, err, path)
			require.ErrorContains(t, err, "corrupt")
		})
	}

	t.Run("after New", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cloud.json")
		p, err := sim.New(sim.Options{Path: path})
		require.NoError(t, err)
		obs, err := p.Create(ctx, sqs("q"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, []byte("garbage"), 0o644))

		_, err = p.Create(ctx, sqs("r"))
		require.ErrorContains(t, err, path)
		_, err = p.Read(ctx, "SQS", obs.ID)
		require.ErrorContains(t, err, path)
		_, err = p.Find(ctx, sqs("q"))
		require.ErrorContains(t, err, path)
		_, err = p.Update(ctx, obs.ID, sqs("q"), nil)
		require.ErrorContains(t, err, path)
		require.ErrorContains(t, p.Delete(ctx, obs.ID, provider.Resource{Kind: "SQS"}), path)
		require.ErrorContains(t, p.Remove(obs.ID), path)
		_, err = p.Count("")
		require.ErrorContains(t, err, path)
		_, err = p.Resources()
		require.ErrorContains(t, err, path)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, "garbage", string(data), "a corrupt file is never overwritten")
	})

	t.Run("empty", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cloud.json")
		require.NoError(t, os.WriteFile(path, nil, 0o644))
		p, err := sim.New(sim.Options{Path: path})
		require.NoError(t, err)
		_, err = p.Create(ctx, sqs("q"))
		require.NoError(t, err)
	})
}

// The cross-process tests run this test binary again as helper processes: os.Args[0]
// with helperRole set in the environment.
const (
	helperRole    = "PANKA_SIM_HELPER_ROLE" // "create", "churn" or "count"
	helperPath    = "PANKA_SIM_HELPER_PATH" // the cloud file
	helperIndex   = "PANKA_SIM_HELPER_INDEX"
	helperCompact = "PANKA_SIM_HELPER_COMPACT" // set: compact the log as soon as it passes 2 KiB
)

// TestMain runs the body of a helper process when the test binary is started as one (helperRole
// set), and the tests otherwise.
func TestMain(m *testing.M) {
	if role := os.Getenv(helperRole); role != "" {
		helperMain(role)
	}
	os.Exit(m.Run())
}

// helperMain is the body of a helper process; it exits the process.
func helperMain(role string) {
	if os.Getenv(helperCompact) != "" {
		sim.SetCompaction(2<<10, 1)
	}
	p, err := sim.New(sim.Options{Path: os.Getenv(helperPath)})
	if err == nil {
		switch role {
		case "count":
			err = helperCount(p)
		case "create":
			err = helperCreate(p, os.Getenv(helperIndex))
		case "churn":
			err = helperChurn(p)
		default:
			err = fmt.Errorf("unknown role %q", role)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %d (%s): %v\n", os.Getpid(), role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// helperCreate creates 25 resources from 5 goroutines, after "go" on stdin.
func helperCreate(p *sim.Provider, index string) error {
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for go: %w", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 25)
	for g := range 5 {
		wg.Go(func() {
			for i := range 5 {
				if _, err := p.Create(context.Background(), sqs(fmt.Sprintf("p%s-%d", index, g*5+i))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// helperChurn creates resources from 4 goroutines until killed, printing each name once its
// Create has returned.
func helperChurn(p *sim.Provider) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("churn-%d-%d", g, i)
				if _, err := p.Create(context.Background(), sqs(name)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Println("created", name)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return nil
}

// helperCount increments the spec field n of the SQS queue "counter" 50 times, from 2
// goroutines.
func helperCount(p *sim.Provider) error {
	obs, err := p.Find(context.Background(), sqs("counter"))
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			for range 25 {
				err := p.Mutate(obs.ID, func(spec map[string]any) { spec["n"] = spec["n"].(int64) + 1 })
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func helperCommand(role, path string, extraEnv ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append([]string{helperRole + "=" + role, helperPath + "=" + path}, extraEnv...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestCrossProcess: 4 processes creating 25 resources each on one Path, all at once, lose none.
func TestCrossProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cloud.json")
	const procs = 4
	var gos []*os.File
	var cmds []*exec.Cmd
	for i := range procs {
		cmd := helperCommand("create", path, helperIndex+"="+strconv.Itoa(i))
		r, w, err := os.Pipe()
		require.NoError(t, err)
		cmd.Stdin = r
		require.NoError(t, cmd.Start())
		r.Close()
		gos = append(gos, w)
		cmds = append(cmds, cmd)
	}
	for _, w := range gos {
		_, err := w.WriteString("go\n")
		require.NoError(t, err)
		w.Close()
	}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "helper %d", i)
	}

	p, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	recs, err := p.Snapshot()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, r := range recs {
		names[r.Name] = true
	}
	require.Len(t, names, procs*25)
	for i := range procs {
		for j := range 25 {
			require.True(t, names[fmt.Sprintf("p%d-%d", i, j)], "p%d-%d missing", i, j)
		}
	}
}

// TestCrashConsistency: a process SIGKILLed while creating leaves a readable cloud holding every
// resource whose Create had returned.
func TestCrashConsistency(t *testing.T) {
	t.Run("log", func(t *testing.T) { crashRounds(t) })
	// With compaction every few creates, kills land while compacting too.
	t.Run("compacting", func(t *testing.T) { crashRounds(t, helperCompact+"=1") })
}

func crashRounds(t *testing.T, extraEnv ...string) {
	for round := range 3 {
		path := filepath.Join(t.TempDir(), "cloud.json")
		cmd := helperCommand("churn", path, extraEnv...)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())

		killAfter := 5 + rand.IntN(40)
		var acked []string
		sc := bufio.NewScanner(out)
		for len(acked) < killAfter && sc.Scan() {
			name, ok := strings.CutPrefix(sc.Text(), "created ")
			require.True(t, ok, "unexpected helper output %q", sc.Text())
			acked = append(acked, name)
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		require.Len(t, acked, killAfter, "round %d: the helper stopped early", round)

		p, err := sim.New(sim.Options{Path: path})
		require.NoError(t, err, "round %d", round)
		for _, name := range acked {
			_, err := p.Find(t.Context(), sqs(name))
			require.NoError(t, err, "round %d: acknowledged create of %s lost", round, name)
		}
		// And the cloud is still usable, without stray temporary files once written again.
		_, err = p.Create(t.Context(), sqs("after-crash"))
		require.NoError(t, err)
		tmps, err := filepath.Glob(path + ".tmp-*")
		require.NoError(t, err)
		require.Empty(t, tmps)
	}
}

// logLines returns the lines of the cloud's log, without their newlines.
func logLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path + ".log")
	require.NoError(t, err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// snapshotSeq returns the seq of the cloud's snapshot, the number of the last log entry it holds.
func snapshotSeq(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc struct{ Seq int }
	require.NoError(t, json.Unmarshal(data, &doc))
	return doc.Seq
}

func names(t *testing.T, p *sim.Provider) []string {
	t.Helper()
	recs, err := p.Snapshot()
	require.NoError(t, err)
	var out []string
	for _, r := range recs {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

// TestTornLogTail: a process killed while appending leaves a partial or garbled last line. The
// cloud opens without it (the change it held never happened), and the next write truncates it.
func TestTornLogTail(t *testing.T) {
	for name, tear := range map[string]func(last []byte) []byte{
		"cut in half":  func(last []byte) []byte { return last[:len(last)/2] },
		"no newline":   func(last []byte) []byte { return last[:len(last)-1] },
		"bad checksum": func(last []byte) []byte { return bytes.Replace(last, []byte(`"c"`), []byte(`"x"`), 1) },
		"zeros":        func(last []byte) []byte { return make([]byte, len(last)) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "cloud.json")
			p, err := sim.New(sim.Options{Path: path})
			require.NoError(t, err)
			for _, n := range []string{"a", "b", "c"} {
				_, err := p.Create(ctx, sqs(n))
				require.NoError(t, err)
			}
			lines := logLines(t, path)
			require.NotEmpty(t, lines)
			last := lines[len(lines)-1]
			require.Contains(t, string(last), `"c"`, "the last entry creates c")
			torn := append(bytes.Join(lines[:len(lines)-1], nil), tear(slices.Clone(last))...)
			require.NoError(t, os.WriteFile(path+".log", torn, 0o600))

			p2, err := sim.New(sim.Options{Path: path})
			require.NoError(t, err)
			require.Equal(t, []string{"a", "b"}, names(t, p2), "the torn entry is ignored")
			_, err = p2.Create(ctx, sqs("d"))
			require.NoError(t, err)

			for _, line := range logLines(t, path) {
				require.True(t, json.Valid(line), "the torn line is gone from the log: %q", line)
			}
			p3, err := sim.New(sim.Options{Path: path})
			require.NoError(t, err)
			require.Equal(t, []string{"a", "b", "d"}, names(t, p3))
			// (p itself is not asked: it read c whole, and a whole line is never torn.)
		})
	}
}

// TestCompaction: the log is folded into the snapshot once it outgrows it, so neither grows
// with the number of updates, and Providers opened before, during and after see one cloud.
func TestCompaction(t *testing.T) {
	defer sim.SetCompaction(4<<10, 1)()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cloud.json")
	p1, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	p2, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)

	const queues, rounds = 10, 30
	ids := make([]string, queues)
	for i := range ids {
		obs, err := p1.Create(ctx, sqs(fmt.Sprintf("q%d", i)))
		require.NoError(t, err)
		ids[i] = obs.ID
	}
	maxLog := int64(0)
	for round := range rounds {
		for i, id := range ids {
			p := []*sim.Provider{p1, p2}[(round+i)%2]
			r := sqs(fmt.Sprintf("q%d", i))
			r.Spec = map[string]any{"round": int64(round)}
			_, err := p.Update(ctx, id, r, []string{"round"})
			require.NoError(t, err)
			info, err := os.Stat(path + ".log")
			require.NoError(t, err)
			maxLog = max(maxLog, info.Size())
		}
	}
	updates := queues + queues*rounds
	require.Greater(t, snapshotSeq(t, path), updates/2, "the snapshot holds most updates")
	require.Less(t, len(logLines(t, path)), updates/4, "the log holds few")
	snap, err := os.Stat(path)
	require.NoError(t, err)
	require.LessOrEqual(t, maxLog, max(4<<10, snap.Size())+2<<10, "the log never grew much past the snapshot")

	want, err := p1.Snapshot()
	require.NoError(t, err)
	for i, r := range want {
		require.Equal(t, map[string]any{"round": int64(rounds - 1)}, r.Spec, "resource %d", i)
		require.Equal(t, rounds+1, r.Revision, "resource %d", i)
	}
	got, err := p2.Snapshot()
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(want, got))
	tmps, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".cloud.json*tmp-*"))
	require.NoError(t, err)
	require.Empty(t, tmps)
}

// TestReopenAfterCompaction: a Provider opened on a compacted cloud, with changes in the log since,
// sees what the Provider that wrote it sees, and can go on changing it.
func TestReopenAfterCompaction(t *testing.T) {
	defer sim.SetCompaction(2<<10, 1)()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cloud.json")
	p, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	for i := 0; i == 0 || snapshotSeq(t, path) < 5 || len(logLines(t, path)) == 0; i++ {
		require.Less(t, i, 100, "no compaction after 100 creates")
		_, err := p.Create(ctx, sqs(fmt.Sprintf("q%03d", i)))
		require.NoError(t, err)
	}
	obs, err := p.Find(ctx, sqs("q000"))
	require.NoError(t, err)
	require.NoError(t, p.Remove(obs.ID))

	again, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	want, err := p.Snapshot()
	require.NoError(t, err)
	got, err := again.Snapshot()
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(want, got))
	_, err = again.Find(ctx, sqs("q000"))
	require.ErrorIs(t, err, provider.ErrNotFound)

	_, err = again.Create(ctx, sqs("q000"))
	require.NoError(t, err)
	_, err = p.Find(ctx, sqs("q000"))
	require.NoError(t, err, "the writer sees the reopened Provider's change")
}

// TestInterleavedProviders: two Providers on one Path, as two processes would be, changing the
// same resource from several goroutines each, lose no update, and each reads the other's
// changes, across compactions.
func TestInterleavedProviders(t *testing.T) {
	defer sim.SetCompaction(2<<10, 1)()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cloud.json")
	p1, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	p2, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	r := sqs("counter")
	r.Spec = map[string]any{"n": int64(0)}
	counter, err := p1.Create(ctx, r)
	require.NoError(t, err)
	increment := func(spec map[string]any) { spec["n"] = spec["n"].(int64) + 1 }

	// In turn: each sees the other's last change.
	for i := range 20 {
		p, other := p1, p2
		if i%2 == 1 {
			p, other = p2, p1
		}
		require.NoError(t, p.Mutate(counter.ID, increment))
		got, err := other.Read(ctx, "SQS", counter.ID)
		require.NoError(t, err)
		require.Equal(t, int64(i+1), got.Spec["n"])
	}

	// At once, from 4 goroutines a Provider, with creates and deletes in between.
	const goroutines, each = 4, 24 // each creates each resources and deletes every other one
	var wg sync.WaitGroup
	for pi, p := range []*sim.Provider{p1, p2} {
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					if err := p.Mutate(counter.ID, increment); err != nil {
						t.Error(err)
						return
					}
					obs, err := p.Create(ctx, sqs(fmt.Sprintf("tmp-%d-%d-%d", pi, g, i)))
					if err == nil && i%2 == 0 {
						err = p.Delete(ctx, obs.ID, sqs(obs.Name))
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()

	want := int64(20 + 2*goroutines*each)
	p3, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	for _, p := range []*sim.Provider{p1, p2, p3} {
		got, err := p.Read(ctx, "SQS", counter.ID)
		require.NoError(t, err)
		require.Equal(t, want, got.Spec["n"])
		n, err := p.Count("SQS")
		require.NoError(t, err)
		require.Equal(t, 1+2*goroutines*each/2, n)
	}
	require.Positive(t, snapshotSeq(t, path), "the cloud was compacted on the way")
}

// TestLegacyCloudFile: a cloud file written before the log existed (no seq) loads, and changes
// to it are kept.
func TestLegacyCloudFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sim-cloud.json")
	require.NoError(t, os.WriteFile(path, []byte(`{
  "version": 1,
  "resources": [
    {
      "kind": "SQS",
      "name": "legacy",
      "id": "https://sqs.us-east-1.amazonaws.com/000000000000/legacy",
      "arn": "arn:aws:sqs:us-east-1:000000000000:legacy",
      "region": "us-east-1",
      "account": "000000000000",
      "spec": {"visibilityTimeout": 30, "ratio": 0.5},
      "tags": {"panka:address": "svc/legacy"},
      "outputs": {"url": "https://sqs.us-east-1.amazonaws.com/000000000000/legacy"},
      "revision": 3,
      "created": "2025-01-02T03:04:05Z",
      "updated": "2025-01-02T03:04:05Z"
    }
  ]
}
`), 0o600))
	p, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	got, err := p.Find(ctx, sqs("legacy"))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"visibilityTimeout": int64(30), "ratio": 0.5}, got.Spec)
	_, err = p.Create(ctx, sqs("new"))
	require.NoError(t, err)

	again, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	require.Equal(t, []string{"legacy", "new"}, names(t, again))
}

// TestCorruptLog: a log entry that passes its checksum but does not follow the cloud is an error
// naming the log, from New and from every operation, and nothing is written over it.
func TestCorruptLog(t *testing.T) {
	entry := func(body string) string {
		return fmt.Sprintf(`{"crc":%d,"entry":%s}`+"\n", crc32.Checksum([]byte(body), crc32.MakeTable(crc32.Castagnoli)), body)
	}
	for name, line := range map[string]string{
		"seq skips":         entry(`{"seq":99}`),
		"deletes a ghost":   entry(`{"seq":3,"del":[{"kind":"SQS","id":"nope"}]}`),
		"name taken":        entry(`{"seq":3,"put":[{"kind":"SQS","name":"a","id":"other","spec":null}]}`),
		"record without id": entry(`{"seq":3,"put":[{"kind":"SQS","name":"z","spec":null}]}`),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "cloud.json")
			p, err := sim.New(sim.Options{Path: path})
			require.NoError(t, err)
			for _, n := range []string{"a", "b"} {
				_, err := p.Create(ctx, sqs(n))
				require.NoError(t, err)
			}
			require.Equal(t, 1, snapshotSeq(t, path))
			f, err := os.OpenFile(path+".log", os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteString(line)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			before, err := os.ReadFile(path + ".log")
			require.NoError(t, err)

			_, err = sim.New(sim.Options{Path: path})
			require.ErrorContains(t, err, path+".log")
			require.ErrorContains(t, err, "corrupt")
			_, err = p.Create(ctx, sqs("c"))
			require.ErrorContains(t, err, path+".log")
			_, err = p.Find(ctx, sqs("a"))
			require.ErrorContains(t, err, path+".log")
			after, err := os.ReadFile(path + ".log")
			require.NoError(t, err)
			require.Equal(t, string(before), string(after), "a corrupt log is never written to")
		})
	}
}

// TestCrossProcessCounter: 4 processes incrementing one counter, with the log compacted every few
// updates, lose no increment.
func TestCrossProcessCounter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cloud.json")
	p, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	r := sqs("counter")
	r.Spec = map[string]any{"n": int64(0)}
	counter, err := p.Create(t.Context(), r)
	require.NoError(t, err)

	const procs = 4
	var cmds []*exec.Cmd
	for range procs {
		cmd := helperCommand("count", path, helperCompact+"=1")
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "helper %d", i)
	}
	got, err := p.Read(t.Context(), "SQS", counter.ID)
	require.NoError(t, err)
	require.Equal(t, int64(procs*50), got.Spec["n"])
	require.Positive(t, snapshotSeq(t, path), "the helpers compacted the log")
}

// TestLogReplacedInPlace: a Provider whose log is replaced by another one that is as long, in the
// same file (as a file system reusing a replaced log's inode number would present it), reads the
// new log from its start, not from where it stopped in the old one.
func TestLogReplacedInPlace(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path, other := filepath.Join(dir, "cloud.json"), filepath.Join(dir, "other.json")
	p, err := sim.New(sim.Options{Path: path})
	require.NoError(t, err)
	_, err = p.Create(ctx, sqs("a")) // compacts: the snapshot holds a, the log nothing
	require.NoError(t, err)
	snap, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, n := range []string{"b", "c"} {
		_, err := p.Create(ctx, sqs(n))
		require.NoError(t, err)
	}

	// Another history from the same snapshot, with a longer log.
	require.NoError(t, os.WriteFile(other, snap, 0o600))
	q, err := sim.New(sim.Options{Path: other})
	require.NoError(t, err)
	for _, n := range []string{"x", "y", "z"} {
		_, err := q.Create(ctx, sqs(n))
		require.NoError(t, err)
	}
	log, err := os.ReadFile(other + ".log")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".log", log, 0o600))

	require.Equal(t, []string{"a", "x", "y", "z"}, names(t, p))
}
