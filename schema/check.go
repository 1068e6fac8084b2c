package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/panka/panka/graph"
	"github.com/panka/panka/internal/interp"
)

// Graph returns the dependency graph built by the last Validate: one node per component address
// ("service/component"), plus one node per service that others depend on (its ID is the bare
// service name). Nil before Validate.
func (c *Config) Graph() *graph.Graph { return c.graph }

// Check is what a kind's Validate method sees: the component being checked and ways to report
// problems at the position of a spec field. Field paths are relative to spec: "memory",
// "ports[1].port".
type Check struct {
	v    *validator
	comp *Component
	info KindInfo
}

// Component returns the component being checked.
func (c *Check) Component() *Component { return c.comp }

// Environments returns the environments being validated.
func (c *Check) Environments() []string { return c.v.envs }

func (c *Check) path(field string) string {
	if field == "" {
		return "spec"
	}
	if strings.HasPrefix(field, "[") {
		return "spec" + field
	}
	return "spec." + field
}

// Errorf reports an error at field.
func (c *Check) Errorf(field, format string, args ...any) {
	c.v.diags.add(c.comp.PosOf(c.path(field)), Error, format, args...)
}

// KeyErrorf reports an error at the key of a map entry (field "env.FOO" → where FOO is written),
// for rules about the key itself.
func (c *Check) KeyErrorf(field, format string, args ...any) {
	c.v.diags.add(c.comp.KeyPosOf(c.path(field)), Error, format, args...)
}

// NameErrorf reports an error at metadata.name, for rules about the component's physical name.
func (c *Check) NameErrorf(format string, args ...any) {
	c.v.diags.add(c.comp.PosOf("metadata.name"), Error, format, args...)
}

// Regions returns the AWS regions the validated environments deploy to (the stack's region,
// overridden per environment), without duplicates.
func (c *Check) Regions() []string {
	st := c.v.stack
	if st == nil {
		return nil
	}
	var out []string
	for _, env := range c.v.envs {
		r, _ := st.Target(env)
		if r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// Warnf reports a warning at field.
func (c *Check) Warnf(field, format string, args ...any) {
	c.v.diags.add(c.comp.PosOf(c.path(field)), Warning, format, args...)
}

// Has reports whether field was written in the YAML (rather than defaulted).
func (c *Check) Has(field string) bool { return c.comp.Has(c.path(field)) }

// Required reports an error if field is empty.
func (c *Check) Required(field, value string) bool {
	if value == "" {
		c.Errorf(field, "spec.%s is required for %s; add it", field, c.comp.Kind)
		return false
	}
	return true
}

// Range reports an error unless lo <= val <= hi.
func (c *Check) Range(field string, val, lo, hi int) bool {
	if val < lo || val > hi {
		c.Errorf(field, "spec.%s must be between %d and %d, not %d", field, lo, hi, val)
		return false
	}
	return true
}

// OneOf reports an error unless val is one of allowed (empty val is allowed only if "" is).
func (c *Check) OneOf(field, val string, allowed ...string) bool {
	if slices.Contains(allowed, val) {
		return true
	}
	shown := slices.DeleteFunc(slices.Clone(allowed), func(s string) bool { return s == "" })
	hint := suggest(val, shown)
	if !strings.HasPrefix(hint, "; did you mean") {
		hint = "; expected one of: " + strings.Join(shown, ", ")
	}
	c.Errorf(field, "spec.%s: %q is not allowed%s", field, val, hint)
	return false
}

// Ref resolves a reference to another component written at field: "name" (same service) or
// "service/name". It reports an error if there is no such component or if its kind is not one of
// kinds (when given), and records that the checked component depends on it. It returns nil if the
// reference does not resolve.
func (c *Check) Ref(field, name string, kinds ...string) *Component {
	target := c.ref(field, name, false, kinds...)
	return target
}

// RefDependent is Ref for a reference in the other direction: the referenced component depends
// on the checked one (an ALB listener naming the service it forwards to, whose target group the
// ALB creates).
func (c *Check) RefDependent(field, name string, kinds ...string) *Component {
	return c.ref(field, name, true, kinds...)
}

func (c *Check) ref(field, name string, reverse bool, kinds ...string) *Component {
	v := c.v
	pos := c.comp.PosOf(c.path(field))
	svc, compName, qualified := strings.Cut(name, "/")
	if !qualified {
		svc, compName = c.comp.Metadata.Service, name
	}
	comps := v.byService[svc]
	if comps == nil {
		v.errorf(pos, "spec.%s refers to %q, but there is no service %q%s", field, name, svc, suggest(svc, sortedKeys(v.services)))
		return nil
	}
	target := comps[compName]
	if target == nil {
		v.errorf(pos, "spec.%s refers to unknown component %q in service %s%s", field, compName, svc, suggest(compName, sortedKeys(comps)))
		return nil
	}
	if target == c.comp {
		v.errorf(pos, "spec.%s refers to the component itself; a component cannot depend on itself", field)
		return nil
	}
	if len(kinds) > 0 && !slices.Contains(kinds, target.Kind) {
		v.errorf(pos, "spec.%s refers to %s, %s; it must be %s", field, target.Address(), withArticle(target.Kind), orList(kinds))
		return nil
	}
	if reverse {
		v.edge(target.Address(), c.comp.Address(), pos)
	} else {
		v.edge(c.comp.Address(), target.Address(), pos)
	}
	return target
}

func orList(kinds []string) string {
	if len(kinds) == 1 {
		return withArticle(kinds[0])
	}
	return fmt.Sprintf("one of %s", strings.Join(kinds, ", "))
}

// PhysicalName returns the component's derived AWS name for env, for the tenant being checked
// (Validate checks the default tenant, whose names have no prefix; CheckTarget a given one).
func (c *Check) PhysicalName(env string) string {
	st := c.v.stack
	if st == nil {
		return ""
	}
	return PhysicalName(c.v.tenant, st.Metadata.Name, env, c.comp.Metadata.Service, c.comp.Metadata.Name)
}

// PhysicalName returns the deterministic AWS name of comp in env for tenant ("" for the default
// tenant, whose names have no prefix), including any kind suffix (".fifo").
func (c *Config) PhysicalName(comp *Component, tenant, env string) string {
	st := c.Stack()
	if st == nil {
		return ""
	}
	name := PhysicalName(tenant, st.Metadata.Name, env, comp.Metadata.Service, comp.Metadata.Name)
	if sf, ok := comp.Spec.(nameSuffixer); ok {
		name += sf.PhysicalNameSuffix()
	}
	return name
}

// withArticle prefixes a kind with "a" or "an" as it is read aloud: "an SQS", "an MSK", "a Lambda".
func withArticle(kind string) string {
	acronym := len(kind) > 1 && strings.ToUpper(kind[:2]) == kind[:2]
	if strings.ContainsAny(kind[:1], "AEIOU") || acronym && strings.ContainsAny(kind[:1], "FHLMNRSX") {
		return "an " + kind
	}
	return "a " + kind
}

// kmsKeyRe is the one rule for a KMS key reference, as the KMS API accepts it in a KeyId
// parameter (AWS KMS Developer Guide, "Key identifiers"; API reference, CreateAlias):
//
//	key ID      a lowercase UUID (1234abcd-12ab-34cd-56ef-1234567890ab), or, for a multi-Region
//	            key, mrk- and 32 lowercase hex digits (mrk-1234abcd12ab34cd56ef1234567890ab)
//	key ARN     arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID
//	alias name  alias/NAME, at most 256 characters in all, NAME of A-Z a-z 0-9 / _ -
//	            (alias/aws/... names an AWS managed key, which may be referenced but not created)
//	alias ARN   arn:PARTITION:kms:REGION:ACCOUNT:alias/NAME
var kmsKeyRe = func() *regexp.Regexp {
	const (
		keyID = `([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})`
		alias = `alias/[A-Za-z0-9/_-]{1,250}`
		arn   = `arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:`
	)
	return regexp.MustCompile(`^(` + keyID + `|` + alias + `|` + arn + `(key/` + keyID + `|` + alias + `))$`)
}()

// checkKMSKey reports an error at field unless key is empty, contains ${...} (resolved later) or
// is a KMS key reference (see kmsKeyRe). Every kind with a KMS key field uses it.
func checkKMSKey(c *Check, field, key string) {
	if key == "" || interp.HasRefs(key) || kmsKeyRe.MatchString(key) {
		return
	}
	c.Errorf(field, "spec.%s %q is not a KMS key: use a key ID, a key ARN, alias/NAME (at most 256 characters in all) or an alias ARN", field, key)
}
