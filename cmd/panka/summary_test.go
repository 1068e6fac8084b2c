package main

import (
	"testing"

	"github.com/panka/panka"
)

// The summary line counts what a run did: a change counts as added, changed, replaced or
// destroyed only if it succeeded, a no-op (or a forget) counts nowhere, and what was left undone
// comes from Result.Counts.
func TestSummaryLine(t *testing.T) {
	rr := func(a panka.Action, o panka.Outcome) panka.ResourceResult {
		return panka.ResourceResult{Address: "svc/x", Action: a, Outcome: o}
	}
	tests := []struct {
		name    string
		res     panka.Result
		destroy bool
		failed  bool
		want    string
	}{{
		name: "no-ops are not successes",
		res: panka.Result{
			Resources: []panka.ResourceResult{
				rr(panka.ActionNoop, panka.OutcomeUnchanged), rr(panka.ActionNoop, panka.OutcomeUnchanged),
				rr(panka.ActionUpdate, panka.OutcomeSucceeded), rr(panka.ActionForget, panka.OutcomeSucceeded),
			},
			Counts: panka.Counts{Succeeded: 2, Unchanged: 2},
		},
		want: "Apply complete! Resources: 0 added, 1 changed, 0 replaced, 0 destroyed; 0 failed, 0 skipped.",
	}, {
		name: "failures, skips and cancellations",
		res: panka.Result{
			Resources: []panka.ResourceResult{
				rr(panka.ActionCreate, panka.OutcomeSucceeded), rr(panka.ActionCreate, panka.OutcomeFailed),
				rr(panka.ActionReplace, panka.OutcomeSkipped), rr(panka.ActionUpdate, panka.OutcomeCanceled),
				rr(panka.ActionNoop, panka.OutcomeUnchanged),
			},
			Counts: panka.Counts{Succeeded: 1, Failed: 1, Skipped: 1, Canceled: 1, Unchanged: 1},
		},
		failed: true,
		want:   "Apply failed! Resources: 1 added, 0 changed, 0 replaced, 0 destroyed; 1 failed, 2 skipped.",
	}, {
		name: "destroy",
		res: panka.Result{
			Resources: []panka.ResourceResult{rr(panka.ActionDelete, panka.OutcomeSucceeded), rr(panka.ActionDelete, panka.OutcomeSucceeded)},
			Counts:    panka.Counts{Succeeded: 2},
		},
		destroy: true,
		want:    "Destroy complete! Resources: 0 added, 0 changed, 0 replaced, 2 destroyed; 0 failed, 0 skipped.",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := summaryLine(&tc.res, tc.destroy, tc.failed); got != tc.want {
				t.Errorf("summaryLine:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
