package localaws

import (
	"os/exec"
	"syscall"
)

// detachedProcess is DETACHED_PROCESS: the process has no console, so a Ctrl-C in the terminal
// does not reach it.
const detachedProcess = 0x00000008

// detach starts the emulator process without a console, in a process group of its own.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP | detachedProcess}
}
