package lock_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/panka/panka/lock"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"tenant/stack/env", true},
		{"a", true},
		{"team-1/web-app/prod-eu-1", true},
		{strings.Repeat("a", lock.MaxKeyLen), true},
		{"", false},
		{"/tenant/stack", false},
		{"tenant/stack/", false},
		{"tenant//stack", false},
		{"..", false},
		{"tenant/../x", false},
		{"./x", false},
		{"Tenant", false},
		{"tenant_stack", false},
		{"tenant stack", false},
		{"tenant\\stack", false},
		{"stäck", false},
		{"tenant\x00", false},
		{strings.Repeat("a", lock.MaxKeyLen+1), false},
	}
	for _, tc := range tests {
		err := lock.ValidateKey(tc.key)
		if tc.ok && err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", tc.key, err)
		}
		if !tc.ok && !errors.Is(err, lock.ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", tc.key, err)
		}
	}
}

func TestLockedError(t *testing.T) {
	created := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	holder := lock.Info{
		ID: "3f1c1e9e-8d7c-4c1b-9a51-1a2b3c4d5e6f", Key: "acme/web/prod", Owner: "alice@laptop",
		Operation: "apply", Created: created, Expires: created.Add(30 * time.Second),
	}
	err := fmt.Errorf("acquire lock acme/web/prod: %w", &lock.LockedError{Holder: holder})

	want := "acquire lock acme/web/prod: locked by alice@laptop (apply) since 2025-03-01T10:00:00Z, " +
		"lock ID 3f1c1e9e-8d7c-4c1b-9a51-1a2b3c4d5e6f; the lease expires at 2025-03-01T10:00:30Z unless its holder renews it"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	// A library error names the problem; which command to run is the CLI's to say.
	if strings.Contains(err.Error(), "panka ") {
		t.Errorf("Error() gives command-line advice: %s", err)
	}
	if !errors.Is(err, lock.ErrLocked) {
		t.Error("errors.Is(err, ErrLocked) = false")
	}
	for _, other := range []error{lock.ErrNotOwner, lock.ErrLockLost, lock.ErrNotLocked} {
		if errors.Is(err, other) {
			t.Errorf("errors.Is(err, %v) = true", other)
		}
	}
	var le *lock.LockedError
	if !errors.As(err, &le) || le.Holder != holder {
		t.Errorf("errors.As did not recover the holder: %+v", le)
	}
}

func TestNotOwnerError(t *testing.T) {
	holder := lock.Info{ID: "held-id", Key: "acme/web/prod", Owner: "bob@ci", Operation: "destroy",
		Expires: time.Date(2025, 3, 1, 10, 0, 30, 0, time.UTC)}
	err := fmt.Errorf("force-unlock acme/web/prod: %w", &lock.NotOwnerError{ID: "stale-id", Holder: holder})
	want := "force-unlock acme/web/prod: lock acme/web/prod is held by lock ID held-id " +
		"(bob@ci, destroy, expires 2025-03-01T10:00:30Z), not by lock ID stale-id"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if !errors.Is(err, lock.ErrNotOwner) || errors.Is(err, lock.ErrLocked) {
		t.Error("NotOwnerError must match ErrNotOwner and only that")
	}
	var ne *lock.NotOwnerError
	if !errors.As(err, &ne) || ne.Holder.ID != "held-id" {
		t.Errorf("errors.As did not recover the holder: %+v", ne)
	}
}

func TestTTLOrDefault(t *testing.T) {
	for ttl, want := range map[time.Duration]time.Duration{
		0: lock.DefaultTTL, -time.Second: lock.DefaultTTL, time.Second: time.Second,
	} {
		if got := lock.TTLOrDefault(ttl); got != want {
			t.Errorf("TTLOrDefault(%s) = %s, want %s", ttl, got, want)
		}
	}
}
