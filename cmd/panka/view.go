package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/panka/panka"
)

// view renders the event stream of a run: JSON lines (--json), a live status line on a terminal,
// or one plain line per operation otherwise. Its methods are safe for concurrent use.
type view struct {
	e       *env
	json    bool
	mu      sync.Mutex
	total   int
	done    int
	running map[string]time.Time
	start   time.Time
	stop    chan struct{}
	stopped chan struct{}
	status  bool // a status line is on screen
}

func newView(e *env, asJSON bool) *view {
	v := &view{e: e, json: asJSON, running: map[string]time.Time{}, start: time.Now(), stop: make(chan struct{}), stopped: make(chan struct{})}
	if e.tty && !asJSON {
		go v.tick()
	} else {
		close(v.stopped)
	}
	return v
}

func (v *view) tick() {
	defer close(v.stopped)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			v.mu.Lock()
			v.drawStatus()
			v.mu.Unlock()
		case <-v.stop:
			return
		}
	}
}

func (v *view) close() {
	close(v.stop)
	<-v.stopped
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clearStatus()
}

func (v *view) event(ev panka.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.json {
		data, _ := json.Marshal(ev)
		fmt.Fprintf(v.e.stdout, "%s\n", data)
		return
	}
	switch ev.Type {
	case panka.EventPlan:
		s := ev.Summary
		v.total = s.Add + s.Change + s.Replace + s.Destroy
		if v.total > 0 {
			v.println(fmt.Sprintf("Plan: %d to add, %d to change, %d to replace, %d to destroy.", s.Add, s.Change, s.Replace, s.Destroy))
		}
	case panka.EventRefresh:
		v.println(fmt.Sprintf("%s: %s", ev.Address, ev.Message))
	case panka.EventStart:
		v.running[ev.Address] = ev.Time
		if !v.e.tty {
			v.println(fmt.Sprintf("%s: %s...", ev.Address, progressive(ev.Action)))
		}
	case panka.EventProgress:
		if ev.Address == "" {
			v.println(ev.Message)
		} else {
			v.println(fmt.Sprintf("%s: %s", ev.Address, ev.Message))
		}
	case panka.EventComplete:
		delete(v.running, ev.Address)
		v.done++
		v.println(fmt.Sprintf("%s: %s (%s) [%d/%d]", ev.Address, past(ev.Action), ev.Elapsed.Round(time.Millisecond), v.done, v.total))
	case panka.EventError:
		delete(v.running, ev.Address)
		v.done++
		v.println(fmt.Sprintf("%s: %s FAILED after %s: %s", ev.Address, ev.Action, ev.Elapsed.Round(time.Millisecond), ev.Error))
	case panka.EventSkipped:
		v.println(fmt.Sprintf("%s: skipped (%s)", ev.Address, ev.Message))
	}
	if v.e.tty {
		v.drawStatus()
	}
}

// println prints a line above the status line.
func (v *view) println(s string) {
	v.clearStatus()
	fmt.Fprintln(v.e.stdout, s)
}

func (v *view) clearStatus() {
	if v.status {
		fmt.Fprint(v.e.stdout, "\r\033[K")
		v.status = false
	}
}

func (v *view) drawStatus() {
	if !v.e.tty || v.json {
		return
	}
	names := make([]string, 0, len(v.running))
	for a := range v.running {
		names = append(names, a)
	}
	slices.Sort(names)
	var parts []string
	for i, a := range names {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("+%d more", len(names)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", a, time.Since(v.running[a]).Round(time.Second)))
	}
	line := fmt.Sprintf("[%d/%d done, %s elapsed]", v.done, v.total, time.Since(v.start).Round(time.Second))
	if len(parts) > 0 {
		line += " running: " + strings.Join(parts, ", ")
	}
	fmt.Fprint(v.e.stdout, "\r\033[K"+line)
	v.status = true
}

func progressive(a panka.Action) string {
	switch a {
	case panka.ActionCreate:
		return "creating"
	case panka.ActionUpdate:
		return "updating"
	case panka.ActionReplace:
		return "replacing"
	case panka.ActionDelete:
		return "destroying"
	}
	return string(a)
}

func past(a panka.Action) string {
	switch a {
	case panka.ActionCreate:
		return "created"
	case panka.ActionUpdate:
		return "updated"
	case panka.ActionReplace:
		return "replaced"
	case panka.ActionDelete:
		return "destroyed"
	}
	return string(a)
}
