//go:build !windows

package localaws

import (
	"os/exec"
	"syscall"
)

// detach puts the emulator process in a session of its own: a Ctrl-C in the terminal (SIGINT to
// the foreground process group) does not reach it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
