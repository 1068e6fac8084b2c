// Package localaws runs the embedded AWS emulator (github.com/sivchari/kumo) in-process on
// 127.0.0.1 and builds AWS SDK configurations that talk to it. Tests use it for the S3 backend and
// DynamoDB locker conformance suites; the CLI's --local uses it to try Panka without an account.
package localaws

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/sivchari/kumo"
)

// Server is a running emulator. Its URL is http://127.0.0.1:PORT.
type Server struct {
	URL string
	srv *kumo.Server
}

// envMu serialises changes to KUMO_DATA_DIR, which the emulator reads when it starts.
var envMu sync.Mutex

// Start starts an emulator. If dataDir is not empty, the emulator keeps its data there
// (KUMO_DATA_DIR), so separate runs see the same buckets and tables.
func Start(dataDir string) (*Server, error) {
	envMu.Lock()
	defer envMu.Unlock()
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("local aws: %w", err)
		}
		old, had := os.LookupEnv("KUMO_DATA_DIR")
		os.Setenv("KUMO_DATA_DIR", dataDir)
		defer func() {
			if had {
				os.Setenv("KUMO_DATA_DIR", old)
			} else {
				os.Unsetenv("KUMO_DATA_DIR")
			}
		}()
	}
	s := kumo.NewServer()
	return &Server{URL: s.URL, srv: s}, nil
}

// Close stops the emulator.
func (s *Server) Close() { s.srv.Close() }

// Config returns an AWS SDK configuration for the emulator: fixed test credentials, the given
// region, and the emulator's URL as the base endpoint of every service. S3 clients must also set
// UsePathStyle (bucket names do not resolve as hosts on 127.0.0.1).
func (s *Server) Config(ctx context.Context, region string) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(s.URL),
	)
}
