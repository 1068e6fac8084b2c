package panka_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRootDependencies keeps the root package light enough for a small bot to import: the AWS
// SDK and the emulator belong to the packages that need them (backend/s3state, lock/dynamolock,
// bootstrap, internal/localaws), never to the root.
func TestRootDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %d packages: %q", len(deps), deps)
	}
	forbidden := []string{"github.com/aws/", "github.com/sivchari/kumo", "github.com/panka/panka/internal/localaws"}
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("the root package depends on %s; keep AWS and emulator code out of it", d)
			}
		}
	}
}
