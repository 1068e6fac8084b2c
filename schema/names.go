package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// MaxNameLen is the longest stack, service, component or environment name: a DNS label.
const MaxNameLen = 63

var (
	dnsLabel = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
	varName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// checkName returns why name is not a valid lowercase DNS label, or "" if it is.
func checkName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > MaxNameLen:
		return fmt.Sprintf("is %d characters; the limit is %d", len(name), MaxNameLen)
	case !dnsLabel.MatchString(name):
		return "must be a lowercase DNS label: start with a letter, then letters a-z, digits and '-', not ending with '-'"
	case strings.Contains(name, "--"):
		return "must not contain \"--\" (it is reserved as a separator in physical names)"
	}
	return ""
}

// PhysicalName is the AWS name Panka derives for a component:
// [tenant-]stack-environment-service-component. It is deterministic, so a crashed create can be
// found again by name.
func PhysicalName(tenant, stack, env, service, component string) string {
	parts := make([]string, 0, 5)
	for _, p := range []string{tenant, stack, env, service, component} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "-")
}

// suggest returns `; did you mean "x"?` for the candidate closest to s, or "" if none is close.
func suggest(s string, candidates []string) string {
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		dist := levenshtein(strings.ToLower(s), strings.ToLower(c))
		if len(s) >= 3 && strings.HasPrefix(strings.ToLower(c), strings.ToLower(s)) {
			dist = min(dist, 1) // an abbreviation: "prod" for "production"
		}
		if dist < bestDist || (dist == bestDist && c < best) {
			best, bestDist = c, dist
		}
	}
	limit := max(1, min(3, len(s)/3))
	if best != "" && bestDist <= limit {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	if len(candidates) > 0 && len(candidates) <= 30 {
		sorted := slices.Clone(candidates)
		slices.Sort(sorted)
		return "; expected one of: " + strings.Join(sorted, ", ")
	}
	return ""
}

func levenshtein(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	// Optimal string alignment distance: edits plus adjacent transpositions ("imgae" → "image" is 1).
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
