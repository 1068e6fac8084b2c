package backend

import (
	"cmp"
	"fmt"
	"strings"
)

// MaxNameLen is the longest tenant, stack or environment name.
const MaxNameLen = 63

// Key names one state document: a tenant's stack in one environment. Each name matches
// ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ and is at most MaxNameLen long, so a key maps safely onto file
// paths and object names: it cannot contain "/", "." or "..", and lowercase-only names cannot
// collide on case-insensitive file systems.
type Key struct {
	Tenant      string
	Stack       string
	Environment string
}

// ParseKey parses "tenant/stack/environment", as printed by Key.String, and validates it.
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return Key{}, fmt.Errorf("%w: %q: want tenant/stack/environment", ErrInvalidKey, s)
	}
	k := Key{Tenant: parts[0], Stack: parts[1], Environment: parts[2]}
	if err := k.Validate(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// String returns "tenant/stack/environment".
func (k Key) String() string {
	return k.Tenant + "/" + k.Stack + "/" + k.Environment
}

// Validate reports, wrapping ErrInvalidKey, the first name of k that is not valid and why.
func (k Key) Validate() error {
	if err := validateName("tenant", k.Tenant); err != nil {
		return err
	}
	if err := validateName("stack", k.Stack); err != nil {
		return err
	}
	return validateName("environment", k.Environment)
}

// Compare orders keys by tenant, then stack, then environment; List returns keys in this order.
// It differs from comparing String()s: "a/x/y" sorts before "a-b/x/y".
func (k Key) Compare(o Key) int {
	if c := cmp.Compare(k.Tenant, o.Tenant); c != 0 {
		return c
	}
	if c := cmp.Compare(k.Stack, o.Stack); c != 0 {
		return c
	}
	return cmp.Compare(k.Environment, o.Environment)
}

// Prefix selects the keys a List returns: all keys (zero Prefix), one tenant's, one stack's, or
// a single key. A field is only set if the fields before it are.
type Prefix struct {
	Tenant      string
	Stack       string
	Environment string
}

// ParsePrefix parses a List prefix: "", "tenant", "tenant/stack" or "tenant/stack/environment".
// Each name must be valid as in Key; a trailing or doubled "/" is an error, not a wildcard.
func ParsePrefix(s string) (Prefix, error) {
	if s == "" {
		return Prefix{}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) > 3 {
		return Prefix{}, fmt.Errorf("%w: prefix %q has more than three names", ErrInvalidKey, s)
	}
	for i, name := range parts {
		if err := validateName([]string{"tenant", "stack", "environment"}[i], name); err != nil {
			return Prefix{}, fmt.Errorf("prefix %q: %w", s, err)
		}
	}
	parts = append(parts, "", "")
	return Prefix{Tenant: parts[0], Stack: parts[1], Environment: parts[2]}, nil
}

// Match reports whether k lies under p: every name p sets equals k's.
func (p Prefix) Match(k Key) bool {
	return (p.Tenant == "" || p.Tenant == k.Tenant) &&
		(p.Stack == "" || p.Stack == k.Stack) &&
		(p.Environment == "" || p.Environment == k.Environment)
}

// String returns the prefix as ParsePrefix accepts it.
func (p Prefix) String() string {
	s := p.Tenant
	if p.Stack != "" {
		s += "/" + p.Stack
	}
	if p.Environment != "" {
		s += "/" + p.Environment
	}
	return s
}

func validateName(part, name string) error {
	bad := func(reason string, args ...any) error {
		return fmt.Errorf("%w: %s %q %s", ErrInvalidKey, part, name, fmt.Sprintf(reason, args...))
	}
	if name == "" {
		return fmt.Errorf("%w: %s name is empty", ErrInvalidKey, part)
	}
	if len(name) > MaxNameLen {
		return bad("is %d bytes long; the maximum is %d", len(name), MaxNameLen)
	}
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		case 'A' <= c && c <= 'Z':
			return bad("contains uppercase %q; names are lowercase", c)
		default:
			return bad("contains %q; only a-z, 0-9 and '-' are allowed", c)
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return bad("must start and end with a letter or digit")
	}
	return nil
}
