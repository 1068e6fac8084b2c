package filestate

// NoSync turns off fsync for tests of behaviour that a sync cannot change (only a power loss
// could tell the difference), so that they do not wait on a busy shared disk.
func (b *Backend) NoSync() { b.disk.noSync = true }
