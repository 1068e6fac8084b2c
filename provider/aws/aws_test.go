package aws_test

import (
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/panka/panka/internal/localaws"
	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
	"github.com/panka/panka/provider/providertest"
)

// The tests run the provider against the local AWS (kumo and its gap layer) over HTTP on
// 127.0.0.1, one emulator for the package: kumo's data is global to the process.
var emulator = sync.OnceValues(func() (*localaws.Server, error) { return localaws.Start("") })

const region = "us-east-1" // kumo names every ARN in us-east-1

func sdkConfig(t *testing.T) aws.Config {
	t.Helper()
	srv, err := emulator()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := srv.Config(t.Context(), region)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newProvider(t *testing.T) *pankaaws.Provider {
	t.Helper()
	p, err := pankaaws.New(sdkConfig(t), pankaaws.Options{Region: region})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) provider.Provider { return newProvider(t) })
}
