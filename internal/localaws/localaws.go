// Package localaws runs the embedded AWS emulator (github.com/sivchari/kumo) on 127.0.0.1 and
// builds AWS SDK configurations that talk to it.
//
// Two ways to run it:
//
//   - Start runs an emulator in this process. Tests use it for the S3 backend and DynamoDB locker
//     conformance suites, in memory (Start("")).
//   - Connect shares one emulator per data directory between processes: the CLI's --local uses
//     it. The first process to need the directory starts a detached emulator process (a program
//     that calls Serve); every process, the first included, connects to it over 127.0.0.1 and
//     holds it open while it runs; the emulator exits after an idle period with no client,
//     flushing its data first. Two emulators never serve one directory: each would keep its own
//     copy of the data in memory and overwrite the other's (lost updates, locks that exclude
//     nothing, object bodies deleted under the other's index). See shared.go for the protocol.
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

// Server is an emulator running in this process. Its URL is http://127.0.0.1:PORT.
type Server struct {
	URL string
	srv *kumo.Server
}

// envMu serialises changes to KUMO_DATA_DIR, which the emulator reads when it starts.
var envMu sync.Mutex

// Start starts an emulator in this process, keeping its data in memory. Kumo reads its data
// directory (KUMO_DATA_DIR) once, when the process starts, so a non-empty dataDir is only created
// and exported for the duration of the call: the data persists there only if the process was
// started with KUMO_DATA_DIR set to it. Nothing stops another process from running its own
// emulator on the same directory; processes that share a directory use Connect instead.
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
	return sdkConfig(ctx, s.URL, region)
}

func sdkConfig(ctx context.Context, url, region string) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(url),
	)
}
