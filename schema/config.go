package schema

import (
	"maps"
	"slices"
	"strings"

	"github.com/panka/panka/graph"
)

// APIVersion is the only apiVersion Panka reads.
const APIVersion = "panka.io/v1"

// SupportedAPIVersions lists the apiVersions Parse accepts, for error messages.
var SupportedAPIVersions = []string{APIVersion}

// DefaultEnvironment names the environment used when a stack declares none and none is chosen.
const DefaultEnvironment = "default"

// Config is a parsed set of documents: exactly one Stack (after Validate), its Services and their
// Components. Parse fills it; Validate checks it for every environment the stack declares and
// builds its dependency graph.
//
// A Config is written only by Parse and Validate. After Validate it is read-only: nothing in
// Panka modifies it, so one validated Config may be planned and applied for any number of tenants
// and environments from any number of goroutines at once. Whatever depends on the tenant or the
// environment (physical names, variables, the state key) is derived from it, never stored in it.
type Config struct {
	Files      []string
	Stacks     []*Stack // every Stack document; Validate requires exactly one
	Services   []*Service
	Components []*Component

	graph *graph.Graph // built by Validate
	valid bool         // the last Validate found no error
	src   source       // where the files were read from (see ResolvePath); set by Parse
}

// Validated reports whether Validate has checked c and found no error.
func (c *Config) Validated() bool { return c.valid && c.graph != nil }

// Stack returns the config's stack, or nil if it has none.
func (c *Config) Stack() *Stack {
	if len(c.Stacks) == 0 {
		return nil
	}
	return c.Stacks[0]
}

// Service returns the service named name, or nil.
func (c *Config) Service(name string) *Service {
	for _, s := range c.Services {
		if s.Metadata.Name == name {
			return s
		}
	}
	return nil
}

// Component returns the component at address "service/component", or nil.
func (c *Config) Component(addr string) *Component {
	for _, comp := range c.Components {
		if comp.Address() == addr {
			return comp
		}
	}
	return nil
}

// Environments returns the environments the stack declares, sorted, or DefaultEnvironment if it
// declares none.
func (c *Config) Environments() []string {
	if st := c.Stack(); st != nil && len(st.Spec.Environments) > 0 {
		envs := make([]string, 0, len(st.Spec.Environments))
		for e := range st.Spec.Environments {
			envs = append(envs, e)
		}
		slices.Sort(envs)
		return envs
	}
	return []string{DefaultEnvironment}
}

// Metadata is the metadata block of every document.
type Metadata struct {
	Name        string            `yaml:"name" panka:"required"`
	Service     string            `yaml:"service"` // components only: the owning service
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// Document holds what every document has: kind, metadata and where each value came from.
type Document struct {
	Kind     string
	Metadata Metadata
	Pos      Pos // where the document starts
	pos      map[string]Pos
}

// PosOf returns the source position of the value at path ("spec.ports[0].port",
// "metadata.name"), or of its nearest ancestor that was written, or of the document.
func (d *Document) PosOf(path string) Pos {
	for path != "" {
		if p, ok := d.pos[path]; ok {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return d.Pos
}

// KeyPosOf returns the position of the map key at path ("metadata.labels.team" → where "team"
// is written), falling back to PosOf.
func (d *Document) KeyPosOf(path string) Pos {
	if p, ok := d.pos[keyMarker+path]; ok {
		return p
	}
	return d.PosOf(path)
}

// Has reports whether the value at path was written in the source (not filled by a default).
func (d *Document) Has(path string) bool {
	_, ok := d.pos[path]
	return ok
}

// Stack is the root document: the cloud provider and the variables every service sees.
type Stack struct {
	Document
	Spec StackSpec
}

type StackSpec struct {
	Provider     ProviderSpec                `yaml:"provider" panka:"required"`
	Variables    map[string]string           `yaml:"variables"`
	Environments map[string]*EnvironmentSpec `yaml:"environments"`
	// Network is where every environment's networked components run, unless the environment
	// declares its own (see NetworkSpec).
	Network *NetworkSpec `yaml:"network"`
}

type ProviderSpec struct {
	Name      string `yaml:"name" panka:"required"`
	Region    string `yaml:"region" panka:"required"`
	AccountID string `yaml:"accountId"`
}

// EnvironmentSpec overrides stack settings for one environment (dev, staging, prod...).
type EnvironmentSpec struct {
	Variables map[string]string `yaml:"variables"`
	Region    string            `yaml:"region"`
	AccountID string            `yaml:"accountId"`
	Network   *NetworkSpec      `yaml:"network"`
}

// Target returns the region and account a deployment to env goes to: the provider's, overridden
// by env's own where it sets them.
func (s *Stack) Target(env string) (region, account string) {
	region, account = s.Spec.Provider.Region, s.Spec.Provider.AccountID
	if e := s.Spec.Environments[env]; e != nil {
		if e.Region != "" {
			region = e.Region
		}
		if e.AccountID != "" {
			account = e.AccountID
		}
	}
	return region, account
}

// Variables returns the stack variables in effect for env: the base ones overlaid with env's.
func (s *Stack) Variables(env string) map[string]string {
	out := make(map[string]string, len(s.Spec.Variables))
	maps.Copy(out, s.Spec.Variables)
	if e := s.Spec.Environments[env]; e != nil {
		maps.Copy(out, e.Variables)
	}
	return out
}

// Service groups components; its dependsOn orders whole services.
type Service struct {
	Document
	Spec ServiceSpec
}

type ServiceSpec struct {
	Stack     string            `yaml:"stack"`
	Variables map[string]string `yaml:"variables"`
	DependsOn []string          `yaml:"dependsOn"`
}

// Component is one deployable resource of some kind, owned by a service.
type Component struct {
	Document
	Common ComponentCommon
	Spec   Spec
}

// ComponentCommon holds the spec fields every kind has.
type ComponentCommon struct {
	// DependsOn names components ("name" in the same service, or "service/name") that must be
	// applied first.
	DependsOn []string `yaml:"dependsOn"`
}

// Address is the component's stable identity: "service/component".
func (c *Component) Address() string { return c.Metadata.Service + "/" + c.Metadata.Name }

// Service returns the owning service's name.
func (c *Component) Service() string { return c.Metadata.Service }

// Name returns the component's name.
func (c *Component) Name() string { return c.Metadata.Name }
