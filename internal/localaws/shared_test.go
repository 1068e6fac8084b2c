package localaws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The test binary is also the emulator process of the tests: with testServeEnv set to a data
// directory, TestMain runs Serve on it (idle after testIdleEnv) instead of the tests.
const (
	testServeEnv = "LOCALAWS_TEST_SERVE"
	testIdleEnv  = "LOCALAWS_TEST_IDLE"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(testServeEnv); dir != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		idle, _ := time.ParseDuration(os.Getenv(testIdleEnv))
		err := Serve(ctx, dir, ServeOptions{Idle: idle, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
		stop()
		switch {
		case errors.Is(err, ErrNotNeeded):
			fmt.Fprintln(os.Stderr, "not needed:", err)
		case err != nil:
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// sharedDir returns a data directory whose emulators, started by connect, stop after idle; the
// test's cleanup stops the one still running and waits for it to exit.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		if _, _, err := Stop(context.Background(), dir); err != nil {
			t.Error(err)
		}
	})
	return dir
}

func connect(t *testing.T, dir string, idle time.Duration) *Client {
	t.Helper()
	c, err := Connect(t.Context(), dir, ConnectOptions{Command: func(dataDir string) (*exec.Cmd, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), testServeEnv+"="+dataDir, testIdleEnv+"="+idle.String())
		return cmd, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func s3Client(t *testing.T, c *Client) *s3.Client {
	t.Helper()
	cfg, err := c.Config(t.Context(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(poll)
	}
}

func generation(t *testing.T, dir string) int64 {
	t.Helper()
	g, err := readGeneration(dir)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Connects racing on a fresh directory all reach one emulator, which one of them started, and
// see each other's data.
func TestConnectSharesOneEmulator(t *testing.T) {
	const n = 6
	dir := sharedDir(t)
	clients := make([]*Client, n)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { clients[i] = connect(t, dir, time.Minute) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	launched := 0
	for i, c := range clients {
		defer c.Close()
		if c.URL != clients[0].URL || c.PID != clients[0].PID {
			t.Errorf("client %d reached %s (pid %d), client 0 %s (pid %d)", i, c.URL, c.PID, clients[0].URL, clients[0].PID)
		}
		if c.Launched {
			launched++
		}
		if err := checkLoopback(c.URL); err != nil {
			t.Error(err)
		}
	}
	if launched != 1 {
		t.Errorf("%d clients say they started the emulator, want 1", launched)
	}
	if g := generation(t, dir); g != 1 {
		t.Errorf("generation %d: %d emulators served the directory, want 1", g, g)
	}
	info, err := ReadInfo(dir)
	if err != nil || info.URL != clients[0].URL || info.PID != clients[0].PID || info.Generation != 1 {
		t.Errorf("server.json: %+v, %v; want the clients' emulator, generation 1", info, err)
	}
	if info.PID == os.Getpid() {
		t.Errorf("the emulator runs in the test process")
	}

	ctx := t.Context()
	if _, err := s3Client(t, clients[0]).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	out, err := s3Client(t, clients[n-1]).ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != "shared" {
		t.Errorf("another client lists %v, %v; want the bucket the first created", out, err)
	}
}

// An emulator with no client exits after its idle period, its data on disk: the next Connect
// starts a new one (the next generation) that has it.
func TestDataSurvivesTheEmulator(t *testing.T) {
	dir := sharedDir(t)
	ctx := t.Context()
	c := connect(t, dir, 100*time.Millisecond)
	first := c.Info
	if _, err := s3Client(t, c).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3Client(t, c).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("kept"), Key: aws.String("k"), Body: strings.NewReader("body")}); err != nil {
		t.Fatal(err)
	}
	// A setting the gap layer keeps (gaps_s3.go) survives too.
	if _, err := s3Client(t, c).PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("kept"),
		CORSConfiguration: &s3types.CORSConfiguration{CORSRules: []s3types.CORSRule{corsRule}}}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitFor(t, "the idle emulator exits", func() bool { return !serving(dir) })
	if _, err := os.Stat(filepath.Join(dir, infoFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the emulator exited and left %s (%v)", infoFile, err)
	}

	c = connect(t, dir, time.Minute)
	defer c.Close()
	if c.PID == first.PID || c.Generation != 2 || !c.Launched {
		t.Errorf("second emulator %+v, first %+v: want a new process, generation 2", c.Info, first)
	}
	got, err := s3Client(t, c).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("kept"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("the object written through the first emulator: %v", err)
	}
	defer got.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(got.Body); err != nil || body.String() != "body" {
		t.Errorf("body %q, %v", body.String(), err)
	}
	cors, err := s3Client(t, c).GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("kept")})
	if err != nil || len(cors.CORSRules) != 1 || aws.ToString(cors.CORSRules[0].ID) != "web" {
		t.Errorf("the CORS rule written through the first emulator: %+v, %v", cors, err)
	}
}

// A killed emulator (its clients' requests fail) is replaced by the next Connect, with the data
// it had flushed.
func TestKilledEmulatorIsReplaced(t *testing.T) {
	dir := sharedDir(t)
	ctx := t.Context()
	c := connect(t, dir, time.Minute)
	defer c.Close()
	if _, err := s3Client(t, c).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("before-kill")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bucket is flushed", func() bool {
		data, _ := os.ReadFile(filepath.Join(dir, "s3.json"))
		return bytes.Contains(data, []byte("before-kill"))
	})
	p, err := os.FindProcess(c.PID)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the killed emulator's lock is released", func() bool { return !serving(dir) })
	if _, err := s3Client(t, c).ListBuckets(ctx, &s3.ListBucketsInput{}); err == nil {
		t.Errorf("a client of the killed emulator still gets answers")
	}
	if _, err := ReadInfo(dir); err != nil {
		t.Fatalf("the killed emulator's server.json: %v", err)
	}

	c2 := connect(t, dir, time.Minute)
	defer c2.Close()
	if c2.PID == c.PID || c2.URL == c.URL || c2.Generation != 2 || !c2.Launched {
		t.Errorf("after the kill: %+v, before: %+v; want a new emulator, generation 2", c2.Info, c.Info)
	}
	out, err := s3Client(t, c2).ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != "before-kill" {
		t.Errorf("the new emulator lists %v, %v; want the bucket created before the kill", out, err)
	}
}

// An emulator process whose data was loaded before another emulator served the directory (its
// generation is behind) exits without serving: it would overwrite newer data with its own.
func TestStaleEmulatorDoesNotServe(t *testing.T) {
	dir := sharedDir(t)
	c := connect(t, dir, time.Minute)
	c.Close()
	if _, ok, err := Stop(t.Context(), dir); err != nil || !ok {
		t.Fatalf("Stop = %v, %v", ok, err)
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=10", testServeEnv+"="+dir, "KUMO_DATA_DIR="+dir,
		"KUMO_PERSIST_FLUSH_INTERVAL_MS="+kumoFlushOff, generationEnv+"=0")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "not needed: "+ErrNotNeeded.Error()) {
		t.Errorf("an emulator process of generation 0 after generation 1: %v\n%s", err, out)
	}
	if g := generation(t, dir); g != 1 {
		t.Errorf("generation %d after the stale process, want 1", g)
	}
	if _, err := os.Stat(filepath.Join(dir, infoFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale process wrote %s (%v)", infoFile, err)
	}
}

// Stop lets the emulator finish serving its clients: it stops once the last one has gone.
func TestStopWaitsForClients(t *testing.T) {
	dir := sharedDir(t)
	ctx := t.Context()
	c := connect(t, dir, time.Minute)
	stopped := make(chan bool, 1)
	go func() {
		_, ok, err := Stop(ctx, dir)
		if err != nil {
			t.Error(err)
		}
		stopped <- ok
	}()
	waitFor(t, "Stop asks the emulator to stop", func() bool { return exists(filepath.Join(dir, stopFile)) })
	if _, err := s3Client(t, c).ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Errorf("a connected client, once Stop was called: %v", err)
	}
	select {
	case <-stopped:
		t.Fatal("Stop returned while a client was connected")
	case <-time.After(200 * time.Millisecond):
	}
	c.Close()
	if ok := <-stopped; !ok {
		t.Errorf("Stop found no emulator")
	}
	if serving(dir) {
		t.Errorf("the emulator still holds its lock after Stop")
	}
}
