// Package provider defines what Panka needs from a cloud: per-kind create, read, update and
// delete of resources, plus a schema saying which fields force replacement and which are secret.
// Implementations: provider/sim (in-memory, deterministic, with latency and fault injection) and,
// later, provider/aws. Every implementation runs provider/providertest.
package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Resource is the desired state of one component, as the engine hands it to a provider: the spec
// is fully interpolated (every ${...} resolved) and uses the YAML field names.
type Resource struct {
	Address string // "service/component", stable across runs
	Kind    string // "SQS", "MicroService", ...
	// Name is the deterministic physical name ([tenant-]stack-env-service-component, plus any
	// kind suffix such as ".fifo"). A provider must create the resource under this name (or tag
	// it with it, for kinds AWS names by ID) so that Find can locate it after a crash.
	Name string
	// Spec is the applied spec: JSON-compatible values (map[string]any, []any, string, int64,
	// float64, bool) keyed by YAML field names.
	Spec map[string]any
	// Tags are ownership tags to put on the resource (panka:stack, panka:address, ...).
	Tags map[string]string
	// Files are the local files the spec names, packaged by the engine for upload, keyed by the
	// spec field that names them: "code" is a Lambda's zip of spec code.path (whose base64
	// SHA-256 the spec carries as code.sha256). Nil when the spec names none. Never recorded in
	// state; the provider must not keep or modify them.
	Files map[string][]byte
}

// Observed is what a provider reports about a live resource.
type Observed struct {
	ID   string // physical ID (queue URL, bucket name, instance ID...)
	Name string // physical name, where it differs from the ID or the ID has none ("" if unknown)
	ARN  string // "" where the kind has none
	// Spec is the resource's current spec, as far as the provider can read it: a field left out
	// is one the provider cannot read (the engine keeps what it recorded); a field reported
	// nil, or as an empty list or mapping, is one it read and found unset (a recorded value is
	// then drift).
	Spec    map[string]any
	Outputs map[string]string // every output the kind declares
	// Tags are the resource's tags as they are now, nil if the provider cannot read them (the
	// engine then assumes the tags it last applied). Tags the cloud manages itself ("aws:*")
	// are ignored.
	Tags map[string]string
	// Parts are the other cloud resources the component is made of (a Lambda's role, log group
	// and event source mappings; an API's routes and stage): recorded in state beside the
	// resource, so that nothing a component creates is hidden. Nil for a kind made of one
	// resource.
	Parts []Part
}

// PartDeleter is implemented by a provider whose parts can outlive their resource (a
// distribution's origin access control, which AWS deletes only after the distribution; a
// permission an API put on a function; the role a function's create made before it was killed).
// When a resource the state records is found gone, or its create was interrupted before the
// resource existed, the engine calls DeleteParts before it forgets the record or creates the
// resource again, so that none is left behind.
type PartDeleter interface {
	// DeleteParts deletes what is left of r (Address, Kind, Name and the ownership Tags), a
	// resource that does not exist: parts, the parts the state recorded of it (nil for an
	// interrupted create), and the parts the kind makes under names derived from r.Name whose
	// tags do not name another owner. A part already gone, or one deleted with its resource,
	// is not an error.
	DeleteParts(ctx context.Context, r Resource, parts []Part) error
}

// Part is one cloud resource a component is made of besides its main one.
type Part struct {
	// Type is the resource's CloudFormation type name: "AWS::IAM::Role", "AWS::Logs::LogGroup".
	Type string `json:"type"`
	ID   string `json:"id"`            // the ID AWS names it by (role name, mapping UUID, ...)
	ARN  string `json:"arn,omitempty"` // "" where it has none
}

// Target is where a provider deploys: the stack's provider, with the environment's region and
// account overrides applied. A saved plan records it, and applying the plan uses exactly it.
type Target struct {
	Provider string `json:"provider"`          // "aws"
	Region   string `json:"region"`            // "eu-west-1"
	Account  string `json:"account,omitempty"` // "" when the stack names none: the credentials' account
}

// String returns "aws eu-west-1/123456789012".
func (t Target) String() string {
	s := t.Provider + " " + t.Region
	if t.Account != "" {
		s += "/" + t.Account
	}
	return s
}

// Targeted is implemented by a Provider bound to one region and account. The engine refuses to
// plan or apply for another target with it (an error wrapping ErrWrongTarget), so that a
// resource is never created in the wrong region or account.
type Targeted interface {
	Target() Target
}

// Serves reports whether a provider bound to t can deploy to want: same provider and region,
// and the same account unless want names none.
func (t Target) Serves(want Target) bool {
	return t.Provider == want.Provider && t.Region == want.Region && (want.Account == "" || t.Account == want.Account)
}

// KindSchema tells the engine how to plan changes to a kind.
type KindSchema struct {
	// ForceNew lists spec field paths whose change replaces the resource. List elements are
	// written with "[]": "attributes[].type".
	ForceNew []string
	// Secret lists field paths whose values are masked in plans and logs.
	Secret []string
	// SecretOutputs lists outputs whose values are secret: recorded in state, but marked
	// sensitive wherever they are shown (panka.Outputs, plans).
	SecretOutputs []string
	// UniqueName is true when the physical name must be unique in the account/region (SQS, S3,
	// RDS...), so a replacement must destroy the old resource before creating the new one. When
	// false (EBS, EFS, CloudFront...), replacement is create-before-destroy.
	UniqueName bool
	// Unordered lists the spec fields that are lists the cloud keeps no order of (an SNS topic's
	// subscriptions, an API's routes), as dotted paths of mappings: the engine compares them as
	// sets, so a provider that reads them back in its own order shows no change.
	Unordered []string
	// NeedsNetwork is true for kinds that run in a VPC (containers, load balancers, databases):
	// the engine refuses to plan one for an environment that declares no network.
	NeedsNetwork bool
	// External lists the top-level spec fields that other components create and own: an NLB's
	// listeners, each made by the MicroService it forwards to. The provider
	// reads them back as they live, so a resource whose owners have not made them yet reads them
	// unset (drift, until they do), and its Update leaves them alone.
	External []string
	// ShrinkForcesNew lists number fields that grow in place but shrink only by replacement (an
	// EBS volume's size): a smaller value plans a replacement, a larger one an update.
	ShrinkForcesNew []string
	// Limits are changes the cloud cannot make in place and the engine must not plan as a
	// replacement either (the resource's data would go: a Kafka topic's partitions, an MSK
	// cluster's storage): Plan refuses a config that makes one, with the limit's reason.
	Limits []ChangeLimit
	// Notes say what a change of a field means beyond its new value (an engine version's
	// upgrade): the plan shows the note beside the change. Keys are field paths as ForceNew's.
	Notes map[string]string
}

// ChangeLimit is a change of one field that Plan refuses (KindSchema.Limits).
type ChangeLimit struct {
	Path string // a field path, as in ForceNew
	// GrowOnly refuses only a decrease (the field is a number that grows in place); otherwise
	// any change of a set value is refused.
	GrowOnly bool
	Reason   string // why, and what to do instead
}

// Provider manages resources of every kind it supports. Implementations must be safe for
// concurrent use: the engine calls them from many goroutines at once. Every method honours ctx:
// when it is done, the call returns promptly with ctx's error (the operation may or may not have
// happened; the engine finds out with Read or Find).
type Provider interface {
	// Schema returns the planning schema of kind, and false if the provider does not support it.
	Schema(kind string) (KindSchema, bool)
	// Create makes a new resource. If one with r.Name already exists it returns an error
	// wrapping ErrAlreadyExists (the engine then uses Find to adopt it).
	Create(ctx context.Context, r Resource) (*Observed, error)
	// Read returns the live resource with physical ID id, or an error wrapping ErrNotFound.
	Read(ctx context.Context, kind, id string) (*Observed, error)
	// Find looks a resource up by the deterministic name and ownership tags of r, for adopting
	// resources whose creation was interrupted. It returns an error wrapping ErrNotFound if
	// there is none.
	Find(ctx context.Context, r Resource) (*Observed, error)
	// Update changes the live resource id in place to r.Spec and r.Tags. changed lists the
	// field paths that differ from the prior applied spec (none of them force replacement).
	// Before changing anything it checks ownership (see CheckOwner) against r.Tags.
	Update(ctx context.Context, id string, r Resource, changed []string) (*Observed, error)
	// Delete removes the resource id of kind r.Kind. Before deleting it checks ownership (see
	// CheckOwner) against r.Tags. Deleting a resource that does not exist succeeds.
	Delete(ctx context.Context, id string, r Resource) error
}

// OwnerTags are the tags that say which deployment owns a resource. Panka puts them on every
// resource it creates, and no update or delete touches a resource whose tags name another owner.
var OwnerTags = []string{"panka:tenant", "panka:stack", "panka:environment", "panka:address"}

// OwnershipError says that a resource belongs to another deployment: its ownership tags name
// another tenant, stack, environment or address than the one acting on it. It satisfies
// errors.Is(err, ErrNotOwned).
type OwnershipError struct {
	Kind, ID string
	// Owner holds the resource's ownership tags that disagree, with their values; Want the
	// values the caller expected.
	Owner, Want map[string]string
}

func (e *OwnershipError) Error() string {
	var have, want []string
	for _, k := range OwnerTags {
		if v, ok := e.Owner[k]; ok {
			have = append(have, k+"="+v)
			want = append(want, k+"="+e.Want[k])
		}
	}
	return fmt.Sprintf("%s %s belongs to another deployment: its tags say %s, not %s", e.Kind, e.ID, strings.Join(have, ", "), strings.Join(want, ", "))
}

// Is reports whether target is ErrNotOwned.
func (e *OwnershipError) Is(target error) bool { return target == ErrNotOwned }

// CheckOwner compares the ownership tags of a live resource (live) with those of the deployment
// acting on it (want): a tag the resource lacks is no disagreement (a resource made by hand, or
// before Panka tagged), one it has with another value is. It returns nil or an *OwnershipError.
func CheckOwner(kind, id string, live, want map[string]string) error {
	var owner map[string]string
	for _, k := range OwnerTags {
		if v, ok := live[k]; ok && want[k] != "" && v != want[k] {
			if owner == nil {
				owner = map[string]string{}
			}
			owner[k] = v
		}
	}
	if owner == nil {
		return nil
	}
	w := map[string]string{}
	for k := range owner {
		w[k] = want[k]
	}
	return &OwnershipError{Kind: kind, ID: id, Owner: owner, Want: w}
}

var (
	// ErrNotFound: the resource does not exist.
	ErrNotFound = errors.New("resource not found")
	// ErrAlreadyExists: a resource with that physical name exists already.
	ErrAlreadyExists = errors.New("resource already exists")
	// ErrThrottled: the cloud asked us to slow down; retry with backoff.
	ErrThrottled = errors.New("request throttled")
	// ErrTransient: a temporary failure (5xx, timeout, eventual consistency); retry with backoff.
	ErrTransient = errors.New("transient failure")
	// ErrUnsupportedKind: the provider does not manage this kind.
	ErrUnsupportedKind = errors.New("unsupported kind")
	// ErrNotOwned: the resource's ownership tags name another deployment (see OwnershipError).
	ErrNotOwned = errors.New("resource owned by another deployment")
	// ErrWrongTarget: the provider is bound to another region or account than the plan's.
	ErrWrongTarget = errors.New("provider bound to another target")
)

// Retryable reports whether err is worth retrying with backoff (throttling or transient).
func Retryable(err error) bool {
	return errors.Is(err, ErrThrottled) || errors.Is(err, ErrTransient)
}

type progressKey struct{}

// WithProgress returns a context under which ReportProgress calls report. The engine puts one
// in every provider call, reporting through its event stream (an EventProgress of the resource).
func WithProgress(ctx context.Context, report func(msg string)) context.Context {
	return context.WithValue(ctx, progressKey{}, report)
}

// ReportProgress tells the caller how a long operation is getting on ("2 of 3 tasks running"),
// while the provider waits on the cloud. It does nothing when ctx carries no reporter; it must
// not block for long.
func ReportProgress(ctx context.Context, msg string) {
	if report, ok := ctx.Value(progressKey{}).(func(string)); ok && report != nil {
		report(msg)
	}
}
