package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// startProfile starts a CPU profile of the whole command into the file named by
// $PANKA_CPUPROFILE (undocumented: for the bench program and for people chasing a slow run) and
// returns the function that stops it. With the variable unset it does nothing. A profile that
// cannot be started is reported on stderr and does not stop the command.
func startProfile(stderr io.Writer) (stop func()) {
	path := os.Getenv("PANKA_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "panka: PANKA_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(stderr, "panka: PANKA_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "panka: PANKA_CPUPROFILE: %v\n", err)
		}
	}
}
