package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/panka/panka/internal/atomicfile"
)

// fileStore keeps the cloud in three files beside Options.Path, shared by any number of
// processes:
//
//   - Path, the snapshot: the whole cloud as of log entry number seq, as
//     {"version":1,"seq":N,"resources":[...]} with one resource a line. A file written before
//     the log existed has no seq and loads as the snapshot at 0.
//   - Path+".log", the log: one JSON line per update since the snapshot,
//     {"crc":C,"entry":{"seq":N,"put":[records],"del":[{"kind":K,"id":I}]}}, where C is the
//     CRC-32C of the entry's bytes and N counts on from the snapshot's seq. A put holds the
//     whole record, so replaying an entry needs nothing but the entries before it.
//   - Path+".lock", locked with flock(2) (see lockPath): exclusively to write, shared to read.
//
// Each fileStore keeps the cloud in memory, with the identity of the snapshot and of the log it
// was loaded from (inode, size and time of the snapshot; inode of the log and the start of its
// first line, which holds a seq and checksum no other log starts with) and the offset up to
// which it has applied the log. Under the lock it checks both: if either was replaced it loads
// them again, otherwise it reads and applies only the bytes appended since its offset. An operation therefore costs a few system calls, the
// entries that other processes appended since (which any design must read), and, to write,
// encoding and appending the records the update changed plus one fsync: nothing that grows
// with the number of resources.
//
// Updates are group-committed inside a process (see update): concurrent updates queue, one of
// their goroutines takes the exclusive lock for the whole queue, runs each update in turn,
// appends all their entries in one write, fsyncs the log once, unlocks, and lets them all
// return. Under Apply's parallelism the fsync, the dominant cost, is shared; a caller still
// returns only once its change is durable, and no process can read a change before it is
// durable. (Per-update fsync would make N concurrent updates pay N fsyncs in a row under the
// lock; fsyncing after unlocking would let another process see, and act on, a change that a
// power cut could still take back.)
//
// When the log grows past compactRatio times the snapshot (and past compactMinBytes), the
// writer compacts while it holds the lock: it writes the whole cloud as a new snapshot with
// internal/atomicfile (temporary file, fsync, rename, fsync of the directory), then replaces
// the log with an empty file the same way. The snapshot's rename is the commit point. A process
// killed before it leaves the old snapshot and the whole log; one killed after it leaves a log
// of entries that the new snapshot already holds, which readers recognise by their seq and
// skip, and the next compaction drops. A compaction costs O(cloud) once per O(cloud) bytes of
// log, so its cost per update is constant too, and a process opening the cloud reads at most
// (1 + compactRatio) times the snapshot. An update that the compaction after it fails to make
// is not failed for that: its entry is durable, and the next writer tries again.
//
// A process killed while appending can leave a partial last line. A line that does not end in a
// newline, or whose checksum does not match, ends the log: readers stop before it, and the next
// writer truncates the log there before appending. Only the last batch, which no caller was
// told is done, can be torn, since each batch is fsynced before the next begins. A checksummed
// entry whose seq does not follow, or whose records do not fit the cloud, and a snapshot that
// is not a cloud, are corruption: every operation fails with an error naming the file, and
// nothing is written.
type fileStore struct {
	path, logPath, lockPath  string
	compactMin, compactRatio int64

	// The queue of updates waiting to be committed (see update), guarded by qmu.
	qmu     sync.Mutex
	queue   []*pendingUpdate
	leading bool          // a goroutine is committing the queue, or waiting for the lock to
	turn    chan struct{} // closed, and replaced, when a leader is done

	// The reads in progress under a shared lock (see view), guarded by rmu: their number, and
	// the unlock functions of those that took a file lock, called when the last one leaves.
	rmu     sync.Mutex
	readers int
	since   time.Time // when readers last went from 0 to 1
	unlocks []func()

	// The cache: the cloud as the snapshot snap and the first off bytes of the log file log
	// left it. Guarded by mu, and read or changed only with the lock held (shared or
	// exclusive): while shared holders use c, the files cannot change, so only the first of
	// them changes it.
	mu       sync.Mutex
	c        *cloud      // nil until loaded, and after an error: load everything again
	snap     os.FileInfo // nil if there was no snapshot
	snapSize int64       // 0 if there was none, or it was empty
	snapSeq  uint64      // the snapshot's seq
	seq      uint64      // the seq of the last entry applied to c, or snapSeq
	log      os.FileInfo // nil if there was no log
	off      int64       // where the next entry starts in log
	head     []byte      // the start of log's first line, once off is past it
	swept    bool        // temporary files left by killed processes removed
}

// syncLog fsyncs the log; tests replace it to count fsyncs.
var syncLog = (*os.File).Sync

// Compaction thresholds for the file stores New opens; tests lower them.
var (
	compactMinBytes int64 = 1 << 20
	compactRatio    int64 = 2
)

func newFileStore(path string) (*fileStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s := &fileStore{
		path: path, logPath: path + ".log", lockPath: path + ".lock",
		compactMin: compactMinBytes, compactRatio: compactRatio,
		turn: make(chan struct{}),
	}
	// Fail now, not on the first operation, if the files are unreadable.
	if err := s.view(context.Background(), func(*cloud) error { return nil }); err != nil {
		return nil, err
	}
	return s, nil
}

// view runs fn on the cloud under the shared lock. Reads overlapping in one process share one
// file lock: while any goroutine of the process holds the shared lock, no process can have
// written since it was taken, so a read that begins then needs neither the lock nor a look at
// the files (the cache is as fresh as a read of its own would make it). A read waits its turn
// instead when an update of this process is waiting for the exclusive lock, so that reads
// never starve it.
func (s *fileStore) view(ctx context.Context, fn func(*cloud) error) error {
	if c := s.joinReaders(); c != nil {
		defer s.leaveReaders(nil)
		return fn(c)
	}
	unlock, err := lockPath(ctx, s.lockPath, false)
	if err != nil {
		return err
	}
	c, err := s.load()
	if err != nil {
		unlock()
		return err
	}
	s.rmu.Lock()
	if s.readers++; s.readers == 1 {
		s.since = time.Now()
	}
	s.rmu.Unlock()
	defer s.leaveReaders(unlock)
	return fn(c)
}

// readGroupWindow bounds how long reads keep joining the shared lock of the reads in progress:
// past it, a read takes the lock itself, and once the reads in progress are done the lock is
// free for a moment, so that writers of other stores and processes (which the store cannot see
// waiting) are not kept out by a stream of overlapping reads.
const readGroupWindow = 5 * time.Millisecond

// joinReaders returns the cloud if a read holding the shared lock is in progress, began taking
// readers less than readGroupWindow ago, and no update of this process waits, counting the
// caller as a reader; nil otherwise.
func (s *fileStore) joinReaders() *cloud {
	s.qmu.Lock()
	writing := s.leading
	s.qmu.Unlock()
	if writing {
		return nil
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.readers == 0 || time.Since(s.since) > readGroupWindow {
		return nil
	}
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	if c != nil {
		s.readers++
	}
	return c
}

// leaveReaders ends a read; unlock, if not nil, is the reader's own file lock, which is released
// with the others' once the last reader leaves.
func (s *fileStore) leaveReaders(unlock func()) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if unlock != nil {
		s.unlocks = append(s.unlocks, unlock)
	}
	if s.readers--; s.readers == 0 {
		for _, u := range s.unlocks {
			u()
		}
		s.unlocks = s.unlocks[:0]
	}
}

// load brings the cache up to date and returns the cloud. With the lock held.
func (s *fileStore) load() (*cloud, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	log, err := os.Open(s.logPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log = nil
	case err != nil:
		return nil, fmt.Errorf("sim: %w", err)
	default:
		defer log.Close()
	}
	if _, err := s.refresh(log); err != nil {
		return nil, err
	}
	return s.c, nil
}

// A pendingUpdate is an update in the queue. state is guarded by qmu; err and before belong to
// the leader while it commits the update, and err to the caller once it is done.
type pendingUpdate struct {
	fn     func(*cloud) error
	state  int             // queued, committing or done
	err    error           // the outcome, once done
	before map[key]*Record // while committing: what fn changed, to undo it if the write fails
}

const (
	queued = iota
	committing
	done
)

// update queues fn and waits until it is committed. The first waiting goroutine that finds no
// leader becomes the leader: it takes the exclusive lock (honouring its own ctx), takes the
// whole queue and commits it, then hands over to the next. A caller whose ctx ends while its
// update is still queued leaves the queue and returns ctx's error; once its update is being
// committed, the update completes, as an operation in flight does. fn may therefore run on
// another caller's goroutine.
func (s *fileStore) update(ctx context.Context, fn func(*cloud) error) error {
	u := &pendingUpdate{fn: fn}
	s.qmu.Lock()
	s.queue = append(s.queue, u)
	for {
		switch {
		case u.state == done:
			s.qmu.Unlock()
			return u.err
		case !s.leading:
			s.leading = true
			s.qmu.Unlock()
			s.lead(ctx, u)
			s.qmu.Lock()
			continue
		case u.state == queued && ctx.Err() != nil:
			s.dequeue(u)
			s.qmu.Unlock()
			return ctx.Err()
		}
		turn, cancel := s.turn, ctx.Done()
		if u.state != queued {
			cancel = nil
		}
		s.qmu.Unlock()
		select {
		case <-turn:
		case <-cancel:
		}
		s.qmu.Lock()
	}
}

// lead commits the queue, which holds own, once it has the exclusive lock; if ctx ends first,
// it fails own alone. Either way it then lets the next leader take over.
func (s *fileStore) lead(ctx context.Context, own *pendingUpdate) {
	unlock, err := lockPath(ctx, s.lockPath, true)
	s.qmu.Lock()
	if err != nil {
		s.dequeue(own)
		own.state, own.err = done, err
		s.handOver()
		s.qmu.Unlock()
		return
	}
	batch := s.queue
	s.queue = nil
	for _, u := range batch {
		u.state = committing
	}
	s.qmu.Unlock()

	s.mu.Lock()
	s.commit(batch)
	s.mu.Unlock()
	unlock()

	s.qmu.Lock()
	for _, u := range batch {
		u.state, u.before = done, nil
	}
	s.handOver()
	s.qmu.Unlock()
}

// handOver ends a leader's turn and wakes the waiters. With qmu held.
func (s *fileStore) handOver() {
	s.leading = false
	close(s.turn)
	s.turn = make(chan struct{})
}

// dequeue removes u from the queue. With qmu held.
func (s *fileStore) dequeue(u *pendingUpdate) {
	for i, q := range s.queue {
		if q == u {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			return
		}
	}
}

// commit runs the updates of batch in order and appends what they changed to the log, as one
// write and one fsync, setting each update's err; then it compacts if the log has grown enough.
// With the exclusive lock and mu held.
func (s *fileStore) commit(batch []*pendingUpdate) {
	if !s.append(batch) {
		return
	}
	if s.snapSize == 0 || s.off > max(s.compactMin, s.compactRatio*s.snapSize) {
		_ = s.compact() // see fileStore: the next writer tries again
	}
}

// append runs the updates of batch in order and appends what they changed to the log, and
// reports whether it wrote anything. An update that fails is undone, and does not affect the
// others; if the write fails, every update that changed something is undone and fails.
func (s *fileStore) append(batch []*pendingUpdate) (wrote bool) {
	failAll := func(err error) {
		for _, u := range batch {
			u.err = err
		}
	}
	log, created, err := s.openLog()
	if err != nil {
		failAll(err)
		return false
	}
	defer log.Close() // before compact, which replaces it
	size, err := s.refresh(log)
	if err != nil {
		failAll(err)
		return false
	}
	s.sweep()

	var (
		lines   []byte
		applied []*pendingUpdate
		seq     = s.seq
	)
	for _, u := range batch {
		s.c.track()
		err := u.fn(s.c)
		before := s.c.untrack()
		if err != nil {
			s.c.undo(before)
			if !errors.Is(err, errNoChange) {
				u.err = err
			}
			continue
		}
		put, del := s.c.changed(before)
		if len(put)+len(del) == 0 {
			continue
		}
		line, err := encodeEntry(seq+1, put, del)
		if err != nil {
			s.c.undo(before)
			u.err = fmt.Errorf("sim: %w", err)
			continue
		}
		seq++
		lines = append(lines, line...)
		u.before = before
		applied = append(applied, u)
	}
	if len(lines) == 0 {
		return false
	}
	if err := s.write(log, created, size, lines); err != nil {
		for i := len(applied) - 1; i >= 0; i-- {
			s.c.undo(applied[i].before)
			applied[i].err = err
		}
		return false
	}
	if s.off == 0 {
		s.head = headOf(lines)
	}
	s.seq = seq
	s.off += int64(len(lines))
	return true
}

// openLog opens the log to read and write, creating it if needed. With the exclusive lock held.
func (s *fileStore) openLog() (f *os.File, created bool, err error) {
	f, err = os.OpenFile(s.logPath, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(s.logPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		created = true
	}
	if err != nil {
		return nil, false, fmt.Errorf("sim: %w", err)
	}
	return f, created, nil
}

// write writes lines at s.off, where the log's last whole entry ends, dropping any torn tail
// (the log is size bytes long), and makes them durable. If it fails, it truncates the log back
// to s.off as far as it can.
func (s *fileStore) write(log *os.File, created bool, size int64, lines []byte) error {
	err := func() error {
		if size > s.off {
			if err := log.Truncate(s.off); err != nil {
				return err
			}
		}
		if _, err := log.WriteAt(lines, s.off); err != nil {
			return err
		}
		if err := syncLog(log); err != nil {
			return err
		}
		if created {
			return atomicfile.SyncDir(filepath.Dir(s.logPath))
		}
		return nil
	}()
	if err != nil {
		_ = log.Truncate(s.off)
		return fmt.Errorf("sim: write %s: %w", s.logPath, err)
	}
	return nil
}

// refresh brings the cache up to date with the snapshot and with log, the open log file (nil if
// there is none), and returns the log's size, which is more than s.off if it has a torn tail.
// If it fails, the cache is dropped. With the lock held, and mu.
func (s *fileStore) refresh(log *os.File) (size int64, err error) {
	defer func() {
		if err != nil {
			s.c = nil
		}
	}()
	snap, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		snap, err = nil, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sim: %w", err)
	}
	var logInfo os.FileInfo
	if log != nil {
		if logInfo, err = log.Stat(); err != nil {
			return 0, fmt.Errorf("sim: %w", err)
		}
		size = logInfo.Size()
	}
	if s.c == nil || !sameSnapshot(s.snap, snap) || !sameLog(s.log, logInfo, s.off) || !s.sameHead(log) {
		if err := s.loadSnapshot(); err != nil {
			return 0, err
		}
		s.off = 0
	}
	s.log = logInfo
	if size <= s.off {
		return size, nil
	}
	tail := make([]byte, size-s.off)
	if n, err := log.ReadAt(tail, s.off); n < len(tail) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("sim: read %s: %w", s.logPath, err)
	}
	return size, s.replay(tail)
}

// sameSnapshot reports whether the snapshot file is the one the cache was loaded from: the same
// file (a compaction renames a new one into place), with the same size and time (in case it
// was rewritten in place).
func sameSnapshot(cached, now os.FileInfo) bool {
	if cached == nil || now == nil {
		return cached == nil && now == nil
	}
	return os.SameFile(cached, now) && cached.Size() == now.Size() && cached.ModTime().Equal(now.ModTime())
}

// sameLog reports whether the cache can go on reading the log now at offset off: the log is the
// one it read (or it had none and read nothing), and no shorter than what it applied.
func sameLog(cached, now os.FileInfo, off int64) bool {
	switch {
	case now == nil:
		return cached == nil
	case cached == nil:
		return off == 0
	}
	return os.SameFile(cached, now) && now.Size() >= off
}

// headLen is how much of the log's first line identifies the log: its checksum and its seq,
// which no other log's first entry has, since every log starts with the entry after the
// snapshot it follows.
const headLen = 64

// sameHead reports whether the log still starts as the one the cache read, if it read any: so
// that the cache goes on reading the same log even where a file system reuses the inode
// number of a replaced log.
func (s *fileStore) sameHead(log *os.File) bool {
	if s.off == 0 {
		return true
	}
	if log == nil {
		return false
	}
	buf := make([]byte, len(s.head))
	n, _ := log.ReadAt(buf, 0)
	return bytes.Equal(buf[:n], s.head)
}

// headOf returns the start of the first line of data, which must be whole, to keep as head.
func headOf(data []byte) []byte {
	line := data[:bytes.IndexByte(data, '\n')+1]
	return bytes.Clone(line[:min(len(line), headLen)])
}

// loadSnapshot replaces the cache by the cloud in the snapshot: an empty one if the file is
// missing or empty, an error naming the file if it is not a cloud file.
func (s *fileStore) loadSnapshot() error {
	s.c, s.snap, s.snapSize, s.snapSeq, s.seq, s.head = nil, nil, 0, 0, 0, nil
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.c = newCloud()
		return nil
	}
	if err != nil {
		return fmt.Errorf("sim: read %s: %w", s.path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("sim: read %s: %w", s.path, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("sim: read %s: %w", s.path, err)
	}
	c, seq := newCloud(), uint64(0)
	if len(bytes.TrimSpace(data)) > 0 {
		if c, seq, err = decodeSnapshot(data); err != nil {
			return fmt.Errorf("sim: cloud file %s is corrupt: %w", s.path, err)
		}
		s.snapSize = int64(len(data))
	}
	s.c, s.snap, s.snapSeq, s.seq = c, info, seq, seq
	return nil
}

// replay applies the whole entries at the start of tail, the log from s.off on, and stops at
// the end or at a torn line.
func (s *fileStore) replay(tail []byte) error {
	for {
		n := bytes.IndexByte(tail, '\n')
		if n < 0 {
			return nil
		}
		e, err := decodeEntry(tail[:n])
		if errors.Is(err, errTorn) {
			return nil
		}
		switch {
		case err != nil:
		case e.Seq <= s.snapSeq && s.seq == s.snapSeq:
			// Written before the snapshot, by a process killed while compacting.
		case e.Seq == s.seq+1:
			if err = s.c.apply(e); err == nil {
				s.seq = e.Seq
			}
		default:
			err = fmt.Errorf("entry %d follows entry %d", e.Seq, s.seq)
		}
		if err != nil {
			return fmt.Errorf("sim: cloud log %s is corrupt at byte %d: %w", s.logPath, s.off, err)
		}
		if s.off == 0 {
			s.head = headOf(tail)
		}
		s.off += int64(n + 1)
		tail = tail[n+1:]
	}
}

// compact writes the cloud as the new snapshot and empties the log (see fileStore). With the
// exclusive lock and mu held.
func (s *fileStore) compact() error {
	data, err := encodeSnapshot(s.c, s.seq)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path, data, atomicfile.Options{}); err != nil {
		return err
	}
	snap, err := os.Stat(s.path)
	if err != nil {
		s.c = nil
		return err
	}
	s.snap, s.snapSize, s.snapSeq = snap, int64(len(data)), s.seq
	// Every entry in the log is in the snapshot now: were the process killed here, readers
	// would skip them.
	if err := atomicfile.WriteFile(s.logPath, nil, atomicfile.Options{}); err != nil {
		return err
	}
	log, err := os.Stat(s.logPath)
	if err != nil {
		s.c = nil
		return err
	}
	s.log, s.off, s.head = log, 0, nil
	return nil
}

// sweep removes, once per fileStore, the temporary files of snapshots and logs that a process
// killed while compacting left behind. With the exclusive lock held: no one is writing one.
func (s *fileStore) sweep() {
	if s.swept {
		return
	}
	s.swept = true
	for _, p := range []string{s.path, s.logPath} {
		tmps, _ := filepath.Glob(atomicfile.TempGlob(p))
		for _, tmp := range tmps {
			_ = os.Remove(tmp)
		}
	}
}
