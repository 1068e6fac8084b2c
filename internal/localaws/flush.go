package localaws

import _ "unsafe" // for go:linkname

// flushSnapshots writes every changed piece of the emulator's data to the data directory, now,
// and returns when it is written.
//
// Kumo has no public flush: this is its internal storage.FlushSnapshots, which kumo's own
// background loop calls every KUMO_PERSIST_FLUSH_INTERVAL_MS. That loop gives no way to know when
// a flush has finished, so a process that exits after "waiting long enough" can still cut a
// write short. A shared emulator therefore sets the interval to a day (its loop never runs) and
// calls this from one goroutine of its own: every FlushInterval while it serves, and once more
// after its last request, before it exits. The link pins kumo's internals (v0.33.1): if a new
// version renames the function, the build fails rather than the flush silently stopping;
// TestDataSurvivesTheEmulator checks the data still reaches the disk.
//
//go:linkname flushSnapshots github.com/sivchari/kumo/internal/storage.FlushSnapshots
func flushSnapshots()
