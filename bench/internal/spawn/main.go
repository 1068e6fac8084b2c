//go:build linux

// Command spawn runs a command and reports what it cost, for the bench program's measurements
// of whole processes (bench/cli.go):
//
//	spawn COMMAND [ARG...]
//
// It runs COMMAND with spawn's stdin, stdout, stderr, environment and directory, waits for it,
// and writes one line to file descriptor 3: "wall_ns user_ns sys_ns maxrss_kb status". It exits 0
// whatever the command's status (status is the command's exit code, or -1 if a signal ended it),
// and non-zero only if it could not run it.
//
// Why a process of its own: on Linux a child's ru_maxrss is never less than the peak RSS of the
// process that started it (the kernel folds the high-water mark of the address space a process
// leaves at exec into the process's record, and the child leaves a copy of its parent's). The
// bench program holds configs and outputs of tens of megabytes; this program holds almost
// nothing, so the figure is the command's own.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: spawn COMMAND [ARG...]")
		os.Exit(2)
	}
	report := os.NewFile(3, "report")
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// If spawn is killed (the bench was interrupted), so is the command.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "spawn:", err)
		os.Exit(1)
	}
	ps := cmd.ProcessState
	ru, _ := ps.SysUsage().(*syscall.Rusage)
	if ru == nil {
		ru = &syscall.Rusage{}
	}
	if _, err := fmt.Fprintf(report, "%d %d %d %d %d\n", wall.Nanoseconds(), ps.UserTime().Nanoseconds(), ps.SystemTime().Nanoseconds(), ru.Maxrss, ps.ExitCode()); err != nil {
		fmt.Fprintln(os.Stderr, "spawn: fd 3:", err)
		os.Exit(1)
	}
}
