package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gofrs/flock"
	"github.com/sivchari/kumo"

	"github.com/panka/panka/internal/atomicfile"
)

// One emulator per data directory: the protocol.
//
// The files below, next to kumo's own in the data directory, coordinate every process that uses
// it. flock(2) locks go with their process, so a process killed at any point leaves no lock held.
//
// Connect takes clients.lock shared (which waits while an emulator is stopping, see below). If
// server.json names a URL on 127.0.0.1 that answers, and server.lock is held, an emulator serves
// the directory: Connect returns a Client that keeps clients.lock until Close. Otherwise it lets
// clients.lock go and, if server.lock is free (no emulator), reads the generation while holding
// server.lock and starts a detached emulator process with it (see ConnectOptions.Command); then
// it tries again, until an emulator answers or the timeout.
//
// Serve takes server.lock for the life of the process. Kumo loads its data when its process
// starts, before Serve runs, so the generation (the number of emulators that have served the
// directory) must still be the one its starter read while no emulator ran: if it is not, another
// emulator has served since, this process's copy of the data may be stale, and Serve returns
// ErrNotNeeded without serving. Otherwise it bumps the generation, starts kumo on 127.0.0.1,
// writes server.json and serves. Every tick it tries to take clients.lock exclusively: it gets it
// only when no client is connected. Once that has lasted ServeOptions.Idle, or at once when asked
// to stop (Stop, SIGTERM), it keeps clients.lock, so that no client can connect, stops serving,
// flushes the data to disk, removes server.json, and lets server.lock and then clients.lock go. A
// client that was waiting then finds no emulator and starts the next one, which loads all of
// the data.
//
// A killed emulator leaves server.json behind, but its URL no longer answers and server.lock is
// free, so the next Connect starts a new one; it loads what the dead one last flushed (kumo
// writes each file atomically; the emulator flushes every FlushInterval). Clients connected to it
// fail their requests. A killed client only releases its share of clients.lock.
const (
	serverLockFile  = "server.lock"
	clientsLockFile = "clients.lock"
	infoFile        = "server.json"
	generationFile  = "generation"
	stopFile        = "server.stop"
	// LogFile, in the data directory, receives the emulator process's stdout and stderr.
	LogFile = "server.log"
)

const (
	// FlushInterval is how often a shared emulator writes changed data to disk. A client that
	// waits this long a few times after its last request before it exits has its changes on disk
	// even if the emulator is then killed.
	FlushInterval = 25 * time.Millisecond
	// DefaultIdle is how long a shared emulator keeps running with no client.
	DefaultIdle = 10 * time.Second

	// generationEnv passes the generation read by Connect to Serve.
	generationEnv = "PANKA_LOCALAWS_GENERATION"
	// kumoFlushOff is the flush interval of kumo's own background loop in a shared emulator, in
	// milliseconds: a day, so that it never runs and Serve does all the flushing (see flush.go).
	kumoFlushOff = "86400000"

	poll           = 20 * time.Millisecond
	defaultTimeout = time.Minute
	// serveLockWait is how long Serve waits for server.lock, held by a Connect reading the
	// generation, or by an emulator that is serving (then this process is not needed).
	serveLockWait = 5 * time.Second
	probeTimeout  = 2 * time.Second
	// maxFailedStarts is how many emulator processes Connect starts that fail (exit with a
	// status other than 0) before it gives up.
	maxFailedStarts = 3
)

// ErrNotNeeded is returned by Serve when another emulator serves the data directory, or has
// served it since this process loaded its data: this process must not serve, and exits (with
// status 0: it is not a failure).
var ErrNotNeeded = errors.New("local aws: another emulator serves the data directory, or has served it since this process loaded its data")

// Info is what server.json records about the emulator serving a data directory.
type Info struct {
	URL        string    `json:"url"`
	PID        int       `json:"pid"`
	Generation int64     `json:"generation"` // 1 for the first emulator to serve the directory
	Started    time.Time `json:"started"`
}

// Client is a connection to the emulator serving a data directory. The emulator keeps serving
// until every Client has been closed.
type Client struct {
	Info
	// Launched is true when this Connect started the emulator process.
	Launched bool

	lock *flock.Flock
}

// Config returns an AWS SDK configuration for the emulator, as Server.Config does.
func (c *Client) Config(ctx context.Context, region string) (aws.Config, error) {
	return sdkConfig(ctx, c.URL, region)
}

// Close disconnects: the emulator may stop once no client is connected.
func (c *Client) Close() error { return c.lock.Close() }

// ConnectOptions tune Connect.
type ConnectOptions struct {
	// Command returns the command of an emulator process for dataDir (an absolute path): a
	// program that calls Serve(ctx, dataDir, ...). The CLI runs itself as `panka local-aws serve
	// DIR`. Connect sets its environment (adding to cmd.Env, or to this process's if nil), its
	// standard streams (LogFile; no stdin) and detaches it from this process's session, so that
	// a Ctrl-C in the terminal, or this process's end, does not stop it.
	Command func(dataDir string) (*exec.Cmd, error)
	// Timeout bounds the wait for an emulator to answer. Zero means a minute.
	Timeout time.Duration
}

// Connect connects to the emulator serving dataDir, starting one if none does (see the protocol
// above). The Client must be closed.
func Connect(ctx context.Context, dataDir string, opts ConnectOptions) (*Client, error) {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("local aws: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local aws: %w", err)
	}
	if opts.Command == nil {
		return nil, errors.New("local aws: ConnectOptions.Command is required")
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var (
		child  *process // the emulator process this call started last
		failed []string // how the ones that failed ended
	)
	for {
		c, err := attach(ctx, dir)
		if err != nil {
			return nil, err
		}
		if c != nil {
			c.Launched = child != nil && child.pid == c.PID
			return c, nil
		}
		if child != nil && child.exited() {
			if child.err != nil {
				failed = append(failed, child.err.Error())
				if len(failed) >= maxFailedStarts {
					return nil, fmt.Errorf("local aws: the emulator for %s failed to start (%s); see %s",
						dir, strings.Join(failed, "; "), filepath.Join(dir, LogFile))
				}
			}
			child = nil
		}
		if child == nil {
			if child, err = launch(dir, opts.Command); err != nil {
				return nil, err
			}
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return nil, fmt.Errorf("local aws: no emulator answered for %s within %s; see %s", dir, timeout, filepath.Join(dir, LogFile))
			}
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// attach connects to the emulator serving dir, if one does: it returns a nil Client if none
// does, and an error only when the directory cannot be used at all.
func attach(ctx context.Context, dir string) (*Client, error) {
	cl := flock.New(filepath.Join(dir, clientsLockFile), flock.SetPermissions(0o600))
	if _, err := cl.TryRLockContext(ctx, poll); err != nil {
		_ = cl.Close()
		if ctx.Err() != nil {
			return nil, nil // Connect reports the timeout
		}
		return nil, fmt.Errorf("local aws: %w", err)
	}
	info, err := ReadInfo(dir)
	if err == nil && serving(dir) && probe(ctx, info.URL) == nil {
		return &Client{Info: info, lock: cl}, nil
	}
	_ = cl.Close()
	return nil, nil
}

// serving reports whether an emulator holds dir's server.lock.
func serving(dir string) bool {
	sl := flock.New(filepath.Join(dir, serverLockFile), flock.SetPermissions(0o600))
	defer sl.Close()
	ok, err := sl.TryLock()
	return err == nil && !ok
}

// ReadInfo reads what the emulator serving dir recorded (or the last one, if it was killed).
func ReadInfo(dataDir string) (Info, error) {
	var info Info
	data, err := os.ReadFile(filepath.Join(dataDir, infoFile))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dataDir, infoFile), err)
	}
	if err := checkLoopback(info.URL); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dataDir, infoFile), err)
	}
	return info, nil
}

func checkLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("emulator URL %q is not http://127.0.0.1:PORT", rawURL)
	}
	return nil
}

// probeClient talks to 127.0.0.1 only: no proxy.
var probeClient = &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{}).DialContext}}

// probe checks that the emulator at rawURL answers an HTTP request (any status will do).
func probe(ctx context.Context, rawURL string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL+"/", nil)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// process is an emulator process started by Connect.
type process struct {
	pid  int
	done chan struct{}
	err  error // how it ended, once done is closed: nil for status 0
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// launch starts an emulator process for dir, unless an emulator (or a Connect about to start
// one) holds server.lock: then it returns nil.
func launch(dir string, command func(string) (*exec.Cmd, error)) (*process, error) {
	sl := flock.New(filepath.Join(dir, serverLockFile), flock.SetPermissions(0o600))
	ok, err := sl.TryLock()
	if err != nil {
		_ = sl.Close()
		return nil, fmt.Errorf("local aws: %w", err)
	}
	if !ok {
		_ = sl.Close()
		return nil, nil
	}
	// No emulator runs: the data on disk is complete, and the generation is current.
	gen, err := readGeneration(dir)
	_ = sl.Close()
	if err != nil {
		return nil, err
	}
	cmd, err := command(dir)
	if err != nil {
		return nil, fmt.Errorf("local aws: %w", err)
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env,
		"KUMO_DATA_DIR="+dir,
		"KUMO_PERSIST_FLUSH_INTERVAL_MS="+kumoFlushOff,
		generationEnv+"="+strconv.FormatInt(gen, 10))
	logf, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local aws: %w", err)
	}
	defer logf.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logf, logf
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("local aws: start the emulator: %w", err)
	}
	p := &process{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func readGeneration(dir string) (int64, error) {
	data, err := os.ReadFile(filepath.Join(dir, generationFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("local aws: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("local aws: %s: %w", filepath.Join(dir, generationFile), err)
	}
	return n, nil
}

// ServeOptions tune Serve.
type ServeOptions struct {
	// Idle is how long the emulator keeps running with no client. Zero means DefaultIdle.
	Idle time.Duration
	// Logger receives a line when the emulator starts and stops. Nil means none.
	Logger *slog.Logger
}

// Serve runs the emulator of dataDir until it has had no client for opts.Idle, it is asked to
// stop (Stop), or ctx is done, and then until its last client has gone; it flushes the data
// before it returns. It must run in a process started by Connect (which sets KUMO_DATA_DIR and
// the rest of its environment); it returns ErrNotNeeded when another emulator serves dataDir or
// has served it since this process started.
func Serve(ctx context.Context, dataDir string, opts ServeOptions) error {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return fmt.Errorf("local aws: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	idle := opts.Idle
	if idle <= 0 {
		idle = DefaultIdle
	}
	want, err := strconv.ParseInt(os.Getenv(generationEnv), 10, 64)
	if os.Getenv("KUMO_DATA_DIR") != dir || os.Getenv("KUMO_PERSIST_FLUSH_INTERVAL_MS") != kumoFlushOff || err != nil {
		return fmt.Errorf("local aws: the emulator of %s must be started by Connect (KUMO_DATA_DIR, KUMO_PERSIST_FLUSH_INTERVAL_MS and %s set)", dir, generationEnv)
	}

	sl := flock.New(filepath.Join(dir, serverLockFile), flock.SetPermissions(0o600))
	defer sl.Close()
	if err := lockServer(ctx, dir, sl, want); err != nil {
		return err
	}
	gen := want + 1
	if err := atomicfile.WriteFile(filepath.Join(dir, generationFile), []byte(strconv.FormatInt(gen, 10)+"\n"), atomicfile.Options{NoSync: true}); err != nil {
		return fmt.Errorf("local aws: %w", err)
	}
	if err := os.Remove(filepath.Join(dir, infoFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("local aws: %w", err)
	}
	// The log is this emulator's from here on.
	_ = os.Truncate(filepath.Join(dir, LogFile), 0)

	srv := kumo.NewServer()
	gap, err := startGaps(srv.URL)
	if err != nil {
		srv.Close()
		return err
	}
	stopFlushing, flushed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(flushed)
		t := time.NewTicker(FlushInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				flushSnapshots()
			case <-stopFlushing:
				return
			}
		}
	}()
	info := Info{URL: gap.URL, PID: os.Getpid(), Generation: gen, Started: time.Now().UTC()}
	data, err := json.Marshal(info)
	if err == nil {
		err = atomicfile.WriteFile(filepath.Join(dir, infoFile), append(data, '\n'), atomicfile.Options{NoSync: true})
	}
	if err != nil {
		err = fmt.Errorf("local aws: %w", err)
	} else {
		log.Info("local AWS emulator serving", "url", info.URL, "pid", info.PID, "generation", gen, "data", dir)
	}

	cl := flock.New(filepath.Join(dir, clientsLockFile), flock.SetPermissions(0o600))
	defer cl.Close()
	if err == nil {
		err = waitForQuiet(ctx, dir, cl, idle, log)
	}
	if err != nil {
		// Stop serving anyway, as cleanly as a stop (clients fail their next requests).
		log.Error("local AWS emulator failed", "err", err)
		_, _ = cl.TryLockContext(context.Background(), poll)
	}
	_ = os.Remove(filepath.Join(dir, infoFile))
	gap.close() // waits for the requests in flight …
	srv.Close() // … and so does kumo
	close(stopFlushing)
	<-flushed
	flushSnapshots() // after the last request: everything is on disk
	_ = os.Remove(filepath.Join(dir, stopFile))
	_ = sl.Unlock() // the next emulator may start (and load the data) …
	_ = cl.Unlock() // … and the clients waiting may start it
	return err
}

// lockServer takes server.lock for an emulator whose data was loaded at generation want. It
// returns ErrNotNeeded once the generation is another (an emulator has served since), or if the
// lock stays held (by a serving emulator, or a Connect reading the generation) for serveLockWait.
func lockServer(ctx context.Context, dir string, sl *flock.Flock, want int64) error {
	deadline := time.Now().Add(serveLockWait)
	for {
		ok, err := sl.TryLock()
		if err != nil {
			return fmt.Errorf("local aws: %w", err)
		}
		gen, err := readGeneration(dir)
		switch {
		case err != nil:
			return err
		case gen != want:
			return ErrNotNeeded
		case ok:
			return nil
		case ctx.Err() != nil || time.Now().After(deadline):
			return ErrNotNeeded
		}
		time.Sleep(poll)
	}
}

// waitForQuiet returns, holding cl (clients.lock) exclusively, once no client has been connected
// for idle, or none is connected and the emulator is asked to stop (ctx done or the stop file).
func waitForQuiet(ctx context.Context, dir string, cl *flock.Flock, idle time.Duration, log *slog.Logger) error {
	quiet := time.Now() // since when no client has been seen
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		stop := ctx.Err() != nil || exists(filepath.Join(dir, stopFile))
		ok, err := cl.TryLock()
		switch {
		case err != nil:
			return fmt.Errorf("local aws: %w", err)
		case !ok:
			quiet = time.Now()
		case stop || time.Since(quiet) >= idle:
			log.Info("local AWS emulator stopping", "asked", stop, "idle", time.Since(quiet).Round(time.Millisecond))
			return nil
		default:
			_ = cl.Unlock()
		}
		<-tick.C
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Stop asks the emulator serving dataDir to stop once its clients have gone, and waits until it
// has stopped (its data flushed, its lock let go; the process exits right after), or ctx is
// done. It returns the emulator's Info, and false if none was running.
func Stop(ctx context.Context, dataDir string) (Info, bool, error) {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return Info{}, false, fmt.Errorf("local aws: %w", err)
	}
	if !serving(dir) {
		return Info{}, false, nil
	}
	info, _ := ReadInfo(dir) // best effort: a starting emulator has not written it yet
	stop := filepath.Join(dir, stopFile)
	if err := os.WriteFile(stop, nil, 0o600); err != nil {
		return info, false, fmt.Errorf("local aws: %w", err)
	}
	sl := flock.New(filepath.Join(dir, serverLockFile), flock.SetPermissions(0o600))
	defer sl.Close()
	if _, err := sl.TryLockContext(ctx, poll); err != nil {
		return info, false, fmt.Errorf("local aws: waiting for the emulator (pid %d) to stop: %w", info.PID, err)
	}
	_ = os.Remove(stop) // the emulator removes it, unless it was killed
	return info, true, nil
}
