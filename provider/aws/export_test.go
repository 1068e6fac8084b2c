package aws

import "time"

// SetDependencyWait bounds how long Delete waits out DependencyViolation, until the returned
// function restores the bound. Tests using it must not run in parallel with other Deletes.
func SetDependencyWait(d time.Duration) (restore func()) {
	old := dependencyWait
	dependencyWait = d
	return func() { dependencyWait = old }
}
