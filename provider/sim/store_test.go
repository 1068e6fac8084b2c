package sim_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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
	helperRole  = "PANKA_SIM_HELPER_ROLE" // "create" or "churn"
	helperPath  = "PANKA_SIM_HELPER_PATH" // the cloud file
	helperIndex = "PANKA_SIM_HELPER_INDEX"
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
	p, err := sim.New(sim.Options{Path: os.Getenv(helperPath)})
	if err == nil {
		switch role {
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
	for round := range 3 {
		path := filepath.Join(t.TempDir(), "cloud.json")
		cmd := helperCommand("churn", path)
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
