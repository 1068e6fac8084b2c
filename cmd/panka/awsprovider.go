package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/panka/panka/provider"
	awsprovider "github.com/panka/panka/provider/aws"
)

// awsProvider builds provider/aws bound to target's region and account. Its SDK configuration is
// the SDK's own chain (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL...) or, with --local, the
// embedded emulator's (the state backend's endpoint and credentials). The emulator serves one
// account and one region (us-east-1), which stand for the stack's: a stack in eu-west-1 is
// deployed to the emulator's us-east-1, its zones to the emulator's of the same letter.
func (c *common) awsProvider(ctx context.Context, logger *slog.Logger, target provider.Target) (provider.Provider, error) {
	if c.localCfg != nil {
		// The emulator's one account and region stand for the stack's.
		return awsprovider.New(*c.localCfg, awsprovider.Options{Region: cmp.Or(target.Region, localRegion), Account: target.Account, Emulated: true})
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("provider aws: aws configuration: %w", err)
	}
	cfg.Logger = sdkLogger(logger)
	region := target.Region
	if target == (provider.Target{}) {
		// Outside runs nothing is deployed: any region the SDK names will do.
		region = cmp.Or(cfg.Region, localRegion)
	}
	p, err := awsprovider.New(cfg, awsprovider.Options{Region: region, Account: target.Account})
	if err != nil {
		return nil, fmt.Errorf("provider aws: %w", err)
	}
	return p, nil
}
