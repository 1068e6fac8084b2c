package panka

import (
	"sync"
	"time"
)

// EventType says what an Event reports.
type EventType string

const (
	EventPlan     EventType = "plan"     // the plan is ready: Summary set
	EventRefresh  EventType = "refresh"  // a prior resource was read back (Message says what was found)
	EventStart    EventType = "start"    // an operation on Address started
	EventProgress EventType = "progress" // an operation is retrying or waiting (Message)
	EventComplete EventType = "complete" // an operation succeeded
	EventError    EventType = "error"    // an operation failed (Error)
	EventSkipped  EventType = "skipped"  // not run: a dependency failed, or the run was stopped
	EventSummary  EventType = "summary"  // the run ended: Summary set
)

// Event is one item of the progress stream of Plan, Apply, Destroy and Refresh.
type Event struct {
	Seq     int64         `json:"seq"`
	Time    time.Time     `json:"time"`
	Type    EventType     `json:"type"`
	Address string        `json:"address,omitempty"`
	Kind    string        `json:"kind,omitempty"`
	Action  Action        `json:"action,omitempty"`
	Elapsed time.Duration `json:"elapsed,omitempty"` // since the operation (or run) started
	Attempt int           `json:"attempt,omitempty"`
	Message string        `json:"message,omitempty"`
	Error   string        `json:"error,omitempty"`
	// Summary counts the plan's actions (EventPlan, EventSummary); Counts, the run's outcomes
	// (EventSummary of a run).
	Summary *Summary `json:"summary,omitempty"`
	Counts  *Counts  `json:"counts,omitempty"`
}

// emitter numbers events and delivers them one at a time, in order.
type emitter struct {
	mu  sync.Mutex
	seq int64
	fn  func(Event)
}

func (e *emitter) emit(ev Event) {
	if e == nil || e.fn == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	ev.Seq = e.seq
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	e.fn(ev)
}
