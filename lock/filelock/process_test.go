package filelock_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/filelock"
)

// The cross-process tests run this test binary again as helper processes:
// os.Args[0] with helperRole set in the
// environment. Each helper opens its own filelock.Locker on the shared directory.
const (
	helperRole       = "PANKA_LOCK_HELPER_ROLE"       // "churn" or "hold"
	helperDir        = "PANKA_LOCK_HELPER_DIR"        // lock directory
	helperLog        = "PANKA_LOCK_HELPER_LOG"        // churn: file to append to
	helperIterations = "PANKA_LOCK_HELPER_ITERATIONS" // churn: lock cycles
	helperTTL        = "PANKA_LOCK_HELPER_TTL"        // hold: lease TTL

	processKey = "acme/web/prod"
)

// TestMain runs the body of a helper process when the test binary is
// started as one (helperRole set), and the tests otherwise.
func TestMain(m *testing.M) {
	if role := os.Getenv(helperRole); role != "" {
		helperMain(role)
	}
	os.Exit(m.Run())
}

// helperMain is the body of a helper process; it exits the process.
func helperMain(role string) {
	var err error
	switch role {
	case "churn":
		err = helperChurn()
	case "hold":
		err = helperHold()
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %d (%s): %v\n", os.Getpid(), role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// helperChurn waits for "go" on stdin, then repeatedly takes the lock and,
// while holding it, appends a "start" and an "end" line to the log.
func helperChurn() error {
	ctx := context.Background()
	l, err := filelock.New(os.Getenv(helperDir), filelock.Options{})
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(os.Getenv(helperIterations))
	if err != nil {
		return err
	}
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for go: %w", err)
	}
	pid := os.Getpid()
	for i := range n {
		info, err := l.Acquire(ctx, processKey, lock.AcquireOptions{
			Owner: fmt.Sprintf("pid-%d", pid), Operation: "churn", TTL: time.Minute, Wait: 30 * time.Second,
		})
		if err != nil {
			return err
		}
		f, err := os.OpenFile(os.Getenv(helperLog), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		fmt.Fprintf(f, "start %d %d\n", pid, i)
		// Hold the lock for a moment, as a run would: without mutual
		// exclusion other processes would write their lines in between.
		time.Sleep(time.Millisecond)
		fmt.Fprintf(f, "end %d %d\n", pid, i)
		if err := f.Close(); err != nil {
			return err
		}
		if err := l.Release(ctx, info); err != nil {
			return err
		}
	}
	return nil
}

// helperHold takes the lock, prints "lease <json>", then answers "renew"
// commands on stdin with "ok", "lost" or "error: ...". It exits when stdin
// closes, without releasing the lease.
func helperHold() error {
	ctx := context.Background()
	l, err := filelock.New(os.Getenv(helperDir), filelock.Options{})
	if err != nil {
		return err
	}
	ttl, err := time.ParseDuration(os.Getenv(helperTTL))
	if err != nil {
		return err
	}
	info, err := l.Acquire(ctx, processKey, lock.AcquireOptions{
		Owner: fmt.Sprintf("pid-%d", os.Getpid()), Operation: "hold", TTL: ttl,
	})
	if err != nil {
		return err
	}
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	fmt.Printf("lease %s\n", data)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() != "renew" {
			return fmt.Errorf("unknown command %q", sc.Text())
		}
		_, err := l.Renew(ctx, info, ttl)
		switch {
		case err == nil:
			fmt.Println("ok")
		case errors.Is(err, lock.ErrLockLost):
			fmt.Println("lost")
		default:
			fmt.Printf("error: %v\n", err)
		}
	}
	return sc.Err()
}

// helper is a running helper process.
type helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line; closed at EOF
	stderr *bytes.Buffer

	waitOnce sync.Once
	waitErr  error
}

func startHelper(t *testing.T, role, dir string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.timeout=60s")
	cmd.Env = append(os.Environ(), append([]string{helperRole + "=" + role, helperDir + "=" + dir}, env...)...)
	h := &helper{cmd: cmd, lines: make(chan string, 16), stderr: new(bytes.Buffer)}
	cmd.Stderr = h.stderr
	var err error
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = h.wait()
	})
	return h
}

// wait waits for the process to exit; safe to call more than once. It
// returns the exit error with the helper's stderr.
func (h *helper) wait() error {
	h.waitOnce.Do(func() {
		_ = h.stdin.Close()
		for range h.lines { // drain stdout so that Wait can return
		}
		if err := h.cmd.Wait(); err != nil {
			h.waitErr = fmt.Errorf("helper %d: %w\n%s", h.cmd.Process.Pid, err, h.stderr)
		}
	})
	return h.waitErr
}

// readLine returns the next stdout line that starts with prefix.
func (h *helper) readLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-h.lines:
			if !ok {
				t.Fatalf("helper exited before printing %q: %v", prefix, h.wait())
			}
			if rest, found := strings.CutPrefix(line, prefix); found {
				return rest
			}
		case <-timeout:
			t.Fatalf("helper did not print %q", prefix)
		}
	}
}

func (h *helper) lease(t *testing.T) *lock.Info {
	t.Helper()
	var info lock.Info
	if err := json.Unmarshal([]byte(h.readLine(t, "lease ")), &info); err != nil {
		t.Fatal(err)
	}
	return &info
}

// TestCrossProcessMutualExclusion: four processes take turns on one lock;
// the lines each writes while holding it never interleave.
func TestCrossProcessMutualExclusion(t *testing.T) {
	const procs, iterations = 4, 10
	dir := t.TempDir()
	logPath := filepath.Join(dir, "log")
	var helpers []*helper
	for range procs {
		helpers = append(helpers, startHelper(t, "churn", filepath.Join(dir, "locks"),
			helperLog+"="+logPath, helperIterations+"="+strconv.Itoa(iterations)))
	}
	// Start them all at once so that they contend.
	for _, h := range helpers {
		if _, err := io.WriteString(h.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range helpers {
		if err := h.wait(); err != nil {
			t.Fatal(err)
		}
	}

	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2*procs*iterations {
		t.Fatalf("log has %d lines, want %d:\n%s", len(lines), 2*procs*iterations, data)
	}
	perProcess := map[string]int{}
	handoffs := 0
	for i := 0; i < len(lines); i += 2 {
		start, end := lines[i], lines[i+1]
		who, ok := strings.CutPrefix(start, "start ")
		if !ok || end != "end "+who {
			t.Fatalf("critical sections overlap at line %d: %q then %q\n%s", i+1, start, end, data)
		}
		pid := strings.Fields(who)[0]
		if i > 0 && !strings.HasPrefix(lines[i-1], "end "+pid+" ") {
			handoffs++
		}
		perProcess[pid]++
	}
	if len(perProcess) != procs {
		t.Fatalf("log has entries from %d processes, want %d", len(perProcess), procs)
	}
	for pid, n := range perProcess {
		if n != iterations {
			t.Errorf("process %s has %d critical sections, want %d", pid, n, iterations)
		}
	}
	t.Logf("%d hand-offs between processes", handoffs)
}

// TestCrossProcessKilledHolder: a lease whose process was SIGKILLed stays
// held until it expires, and is then taken over.
func TestCrossProcessKilledHolder(t *testing.T) {
	dir := t.TempDir()
	h := startHelper(t, "hold", dir, helperTTL+"=1500ms")
	held := h.lease(t)
	l := newLocker(t, dir)
	ctx := t.Context()

	if got, err := l.Inspect(ctx, processKey); err != nil || got.ID != held.ID {
		t.Fatalf("Inspect = %+v, %v; want the helper's lease %s", got, err, held.ID)
	}
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := h.wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper was not killed by SIGKILL: %v", err)
	}

	// The process is gone (and with it its flock), but not its lease.
	_, err = l.Acquire(ctx, processKey, lock.AcquireOptions{Owner: "parent"})
	var le *lock.LockedError
	if !errors.As(err, &le) || le.Holder.ID != held.ID {
		t.Fatalf("Acquire right after the kill = %v, want ErrLocked by %s", err, held.ID)
	}

	taken, err := l.Acquire(ctx, processKey, lock.AcquireOptions{Owner: "parent", TTL: time.Minute, Wait: 10 * time.Second})
	if err != nil {
		t.Fatalf("the dead holder's lease was not taken over after its TTL: %v", err)
	}
	if taken.Created.Before(held.Expires) {
		t.Fatalf("taken over at %s, before the dead holder's lease expired at %s", taken.Created, held.Expires)
	}
	if _, err := l.Renew(ctx, held, time.Minute); !errors.Is(err, lock.ErrLockLost) {
		t.Fatalf("Renew of the dead holder's lease = %v, want ErrLockLost", err)
	}
}

// TestCrossProcessForceUnlock: one process breaks another's live lock by ID;
// the holder's next Renew reports the loss.
func TestCrossProcessForceUnlock(t *testing.T) {
	dir := t.TempDir()
	h := startHelper(t, "hold", dir, helperTTL+"=1m")
	held := h.lease(t)
	l := newLocker(t, dir)
	ctx := t.Context()

	if err := l.ForceUnlock(ctx, processKey, "not-"+held.ID); !errors.Is(err, lock.ErrNotOwner) {
		t.Fatalf("ForceUnlock with a wrong ID = %v, want ErrNotOwner", err)
	}
	if _, err := io.WriteString(h.stdin, "renew\n"); err != nil {
		t.Fatal(err)
	}
	if got := h.readLine(t, ""); got != "ok" {
		t.Fatalf("helper's Renew before the force-unlock: %s", got)
	}

	if err := l.ForceUnlock(ctx, processKey, held.ID); err != nil {
		t.Fatal(err)
	}
	mine, err := l.Acquire(ctx, processKey, lock.AcquireOptions{Owner: "parent", TTL: time.Minute})
	if err != nil {
		t.Fatalf("Acquire after force-unlock: %v", err)
	}
	if _, err := io.WriteString(h.stdin, "renew\n"); err != nil {
		t.Fatal(err)
	}
	if got := h.readLine(t, ""); got != "lost" {
		t.Fatalf("helper's Renew after the force-unlock: %s, want lost", got)
	}
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Inspect(ctx, processKey); err != nil || got.ID != mine.ID {
		t.Fatalf("Inspect = %+v, %v; want lock ID %s", got, err, mine.ID)
	}
}
