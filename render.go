package panka

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WritePlanText renders p for people, like `terraform plan`: one block per changed resource with
// its fields (old → new), secrets masked, unknown values as "(known after apply)", then the
// summary line "Plan: 3 to add, 1 to change, 0 to replace, 2 to destroy."
func WritePlanText(w io.Writer, p *PlanResult) error {
	var b strings.Builder
	if len(p.Drift) > 0 {
		b.WriteString("Changes outside Panka since the last apply:\n\n")
		for _, c := range p.Drift {
			writeDrift(&b, c)
		}
		b.WriteString("\n")
	}
	if p.Mode == ModeRefreshOnly {
		if len(p.Drift) == 0 {
			b.WriteString("No changes. The recorded state matches the infrastructure.\n")
		} else {
			noun := "resources"
			if len(p.Drift) == 1 {
				noun = "resource"
			}
			fmt.Fprintf(&b, "Refresh: %d %s changed outside Panka; applying records it in the state.\n", len(p.Drift), noun)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	if !p.HasChanges() {
		b.WriteString("No changes. Your infrastructure matches the configuration.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "Panka will perform the following actions on %s (environment %s, tenant %s):\n\n", p.Stack, p.Environment, p.Tenant)
	for _, c := range p.Changes {
		if c.Action == ActionNoop {
			continue
		}
		writeChange(&b, c)
	}
	s := p.Summary
	fmt.Fprintf(&b, "\nPlan: %d to add, %d to change, %d to replace, %d to destroy.\n", s.Add, s.Change, s.Replace, s.Destroy)
	_, err := io.WriteString(w, b.String())
	return err
}

var actionSymbol = map[Action]string{
	ActionCreate: "+", ActionUpdate: "~", ActionReplace: "-/+", ActionDelete: "-", ActionForget: "x",
}

func writeChange(b *strings.Builder, c *Change) {
	head := fmt.Sprintf("  %s %s (%s)", actionSymbol[c.Action], c.Address, c.Kind)
	switch c.Action {
	case ActionCreate:
		head += " will be created"
	case ActionUpdate:
		head += " will be updated in place"
	case ActionReplace:
		if c.DestroyFirst {
			head += " must be replaced (destroy, then create)"
		} else {
			head += " must be replaced (create, then destroy)"
		}
	case ActionDelete:
		head += " will be destroyed"
	case ActionForget:
		head += " will be removed from the state"
	}
	if c.Reason != "" {
		head += ": " + c.Reason
	}
	if c.Protected {
		head += " [refused: deletion protection is on; turn it off first]"
	}
	b.WriteString(head + "\n")
	for _, f := range c.Fields {
		switch {
		case c.Action == ActionCreate:
			fmt.Fprintf(b, "      + %s = %s\n", f.Path, showValue(f, f.After))
		case c.Action == ActionDelete:
			fmt.Fprintf(b, "      - %s = %s\n", f.Path, showValue(f, f.Before))
		default:
			line := fmt.Sprintf("      ~ %s: %s → %s", f.Path, showValue(f, f.Before), showValue(f, f.After))
			if f.ForceNew {
				line += " (forces replacement)"
			}
			b.WriteString(line + "\n")
			if f.Note != "" {
				b.WriteString("        # " + f.Note + "\n")
			}
		}
	}
}

// writeDrift describes a change that already happened outside Panka.
func writeDrift(b *strings.Builder, c *Change) {
	if c.Action == ActionDelete {
		fmt.Fprintf(b, "  - %s (%s) has been deleted\n", c.Address, c.Kind)
		return
	}
	fmt.Fprintf(b, "  ~ %s (%s) has changed\n", c.Address, c.Kind)
	for _, f := range c.Fields {
		fmt.Fprintf(b, "      ~ %s: %s → %s\n", f.Path, showValue(f, f.Before), showValue(f, f.After))
	}
}

func showValue(f FieldDiff, v any) string {
	switch {
	case v == nil:
		return "(none)"
	case f.Sensitive:
		return "(sensitive)"
	case v == unknown:
		return unknown
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// WritePlanJSON renders p as indented JSON for bots (the same document as a saved plan).
func WritePlanJSON(w io.Writer, p *PlanResult) error { return WritePlan(w, p) }
