package sim

// SetCompaction makes the file stores that New opens from now on compact when the log grows
// past minBytes and ratio times the snapshot, and returns the function that restores the
// defaults. Tests that call it must not run in parallel with others.
func SetCompaction(minBytes, ratio int64) (restore func()) {
	oldMin, oldRatio := compactMinBytes, compactRatio
	compactMinBytes, compactRatio = minBytes, ratio
	return func() { compactMinBytes, compactRatio = oldMin, oldRatio }
}
