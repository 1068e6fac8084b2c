package schema

import (
	"fmt"
	"slices"
	"sync"
)

// Spec is the typed spec of one component kind. Implementations are plain structs whose fields
// carry `yaml` tags (and `panka:"required|secret|forcenew"`); a SetDefaults method, if present,
// fills defaults before decoding so that written values (even zeros) win.
type Spec interface {
	// Validate reports the kind's own rules through c. It runs after the generic checks
	// (names, references, interpolation, secrets) and may resolve references to other
	// components with c.Ref, which also orders them in the graph.
	Validate(c *Check)
}

// NameValidator is implemented by kinds whose physical name has rules beyond its length (S3
// bucket names, RDS identifiers, load balancer names). The physical name depends on the tenant
// and the environment, so ValidateName runs in Validate (for the default tenant and every
// environment) and again in CheckTarget (for one tenant and environment).
type NameValidator interface {
	ValidateName(c *Check)
}

// KindInfo describes one component kind.
type KindInfo struct {
	Name string
	// New returns an empty spec with defaults filled in.
	New func() Spec
	// Outputs are the values other components can reference as ${component.output} once it is
	// applied. Every kind has "arn".
	Outputs []string
	// NameLimit is the AWS limit on the physical name derived for the component, and NameWhat
	// names that limit in messages ("S3 bucket name").
	NameLimit int
	NameWhat  string
	// Internal kinds are made by Panka from the stack (network parts, security groups, the ECS
	// cluster; see kind_infra.go): no document may declare one, and ComponentKinds leaves them
	// out.
	Internal bool
}

// nameSuffixer is implemented by specs whose physical name carries a suffix (".fifo").
type nameSuffixer interface{ PhysicalNameSuffix() string }

var (
	kindsMu sync.RWMutex
	kinds   = map[string]KindInfo{}
)

// RegisterKind adds a component kind. It panics on a duplicate name: kinds are registered from
// init functions, so that is a programming error caught by any test.
func RegisterKind(k KindInfo) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[k.Name]; dup {
		panic(fmt.Sprintf("schema: kind %s registered twice", k.Name))
	}
	if !slices.Contains(k.Outputs, "arn") {
		k.Outputs = append(k.Outputs, "arn")
	}
	slices.Sort(k.Outputs)
	kinds[k.Name] = k
}

// LookupKind returns the registered component kind called name.
func LookupKind(name string) (KindInfo, bool) {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	k, ok := kinds[name]
	return k, ok
}

// ComponentKinds returns the names of every component kind a document may declare, sorted.
func ComponentKinds() []string { return kindNames(false) }

// InternalKinds returns the names of the kinds Panka makes itself (KindInfo.Internal), sorted.
func InternalKinds() []string { return kindNames(true) }

func kindNames(internal bool) []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	var out []string
	for name, k := range kinds {
		if k.Internal == internal {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Kinds returns every document kind: Stack, Service and the component kinds.
func Kinds() []string {
	return append([]string{"Stack", "Service"}, ComponentKinds()...)
}
