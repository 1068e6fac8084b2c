package localaws

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func gapLambdaClient(t *testing.T, endpoint string) *lambda.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return lambda.NewFromConfig(cfg)
}

const gapImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag"

// newFunction creates an image function with 1024 MiB of /tmp.
func newFunction(t *testing.T, c *lambda.Client) *string {
	t.Helper()
	name := aws.String(uniqueName("gap-fn"))
	_, err := c.CreateFunction(t.Context(), &lambda.CreateFunctionInput{
		FunctionName: name, Role: aws.String("arn:aws:iam::000000000000:role/r"), PackageType: ltypes.PackageTypeImage,
		Code: &ltypes.FunctionCode{ImageUri: aws.String(gapImage)}, EphemeralStorage: &ltypes.EphemeralStorage{Size: aws.Int32(1024)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func getFunction(t *testing.T, c *lambda.Client, name *string) *lambda.GetFunctionOutput {
	t.Helper()
	out, err := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: name})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Lambda keeps a function's /tmp size; kumo v0.33.1 drops it.
func TestKumoLambdaDropsEphemeralStorage(t *testing.T) {
	c := gapLambdaClient(t, gapEmulator(t).srv.URL)
	name := newFunction(t, c)
	if e := getFunction(t, c, name).Configuration.EphemeralStorage; e != nil && aws.ToInt32(e.Size) == 1024 {
		t.Fatal("kumo keeps EphemeralStorage: the layer need not")
	}
	if _, err := c.UpdateFunctionConfiguration(t.Context(), &lambda.UpdateFunctionConfigurationInput{FunctionName: name, EphemeralStorage: &ltypes.EphemeralStorage{Size: aws.Int32(2048)}}); err != nil {
		t.Fatalf("kumo refuses the update (%v): check what it does now", err)
	}
	if e := getFunction(t, c, name).Configuration.EphemeralStorage; e != nil && aws.ToInt32(e.Size) == 2048 {
		t.Fatal("kumo applies UpdateFunctionConfiguration's EphemeralStorage: the layer need not")
	}
}

// GetFunction reports an image function's ImageUri; kumo v0.33.1 does not.
func TestKumoLambdaGetFunctionOmitsImageUri(t *testing.T) {
	c := gapLambdaClient(t, gapEmulator(t).srv.URL)
	if got := getFunction(t, c, newFunction(t, c)).Code; got != nil && aws.ToString(got.ImageUri) != "" {
		t.Fatalf("kumo reports ImageUri %s: the layer need not", aws.ToString(got.ImageUri))
	}
}

// Kumo v0.33.1 has no function concurrency operations: a 404 page the SDK cannot parse.
func TestKumoLambdaNoFunctionConcurrency(t *testing.T) {
	c := gapLambdaClient(t, gapEmulator(t).srv.URL)
	name := newFunction(t, c)
	if _, err := c.PutFunctionConcurrency(t.Context(), &lambda.PutFunctionConcurrencyInput{FunctionName: name, ReservedConcurrentExecutions: aws.Int32(5)}); err == nil {
		t.Fatal("kumo answers PutFunctionConcurrency: the layer need not")
	}
	if _, err := c.GetFunctionConcurrency(t.Context(), &lambda.GetFunctionConcurrencyInput{FunctionName: name}); err == nil {
		t.Fatal("kumo answers GetFunctionConcurrency: the layer need not")
	}
}

// Lambda keeps a stream mapping's StartingPosition; kumo v0.33.1 drops it.
func TestKumoLambdaDropsStartingPosition(t *testing.T) {
	c := gapLambdaClient(t, gapEmulator(t).srv.URL)
	name := newFunction(t, c)
	out, err := c.CreateEventSourceMapping(t.Context(), &lambda.CreateEventSourceMappingInput{FunctionName: name,
		EventSourceArn: aws.String("arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2020"), StartingPosition: ltypes.EventSourcePositionTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetEventSourceMapping(t.Context(), &lambda.GetEventSourceMappingInput{UUID: out.UUID})
	if err != nil {
		t.Fatal(err)
	}
	if got.StartingPosition != "" {
		t.Fatalf("kumo keeps StartingPosition %s: the layer need not", got.StartingPosition)
	}
}

// Lambda gives a stream mapping without a BatchSize 100 records a batch; kumo v0.33.1 gives 10.
func TestKumoLambdaStreamMappingDefaultBatchSize(t *testing.T) {
	c := gapLambdaClient(t, gapEmulator(t).srv.URL)
	out, err := c.CreateEventSourceMapping(t.Context(), &lambda.CreateEventSourceMappingInput{FunctionName: newFunction(t, c),
		EventSourceArn: aws.String("arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2020"), StartingPosition: ltypes.EventSourcePositionLatest})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.BatchSize) == 100 {
		t.Fatal("kumo gives a stream mapping Lambda's default batch size: the layer need not")
	}
}

func TestGapLambda(t *testing.T) {
	c := gapLambdaClient(t, gapEmulator(t).URL)
	name := newFunction(t, c)

	t.Run("ephemeral storage and image", func(t *testing.T) {
		out := getFunction(t, c, name)
		if e := out.Configuration.EphemeralStorage; e == nil || aws.ToInt32(e.Size) != 1024 {
			t.Errorf("EphemeralStorage after create = %+v, want 1024", e)
		}
		if out.Code == nil || aws.ToString(out.Code.ImageUri) != gapImage {
			t.Errorf("Code = %+v, want ImageUri %s", out.Code, gapImage)
		}
		up, err := c.UpdateFunctionConfiguration(t.Context(), &lambda.UpdateFunctionConfigurationInput{FunctionName: name, EphemeralStorage: &ltypes.EphemeralStorage{Size: aws.Int32(2048)}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(up.EphemeralStorage.Size) != 2048 {
			t.Errorf("UpdateFunctionConfiguration answers EphemeralStorage %+v", up.EphemeralStorage)
		}
		conf, err := c.GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: name})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(conf.EphemeralStorage.Size) != 2048 {
			t.Errorf("EphemeralStorage after update = %+v, want 2048", conf.EphemeralStorage)
		}
		const other = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:v2"
		if _, err := c.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: name, ImageUri: aws.String(other)}); err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(getFunction(t, c, name).Code.ImageUri); got != other {
			t.Errorf("ImageUri after UpdateFunctionCode = %s, want %s", got, other)
		}
		// A zip function has the default /tmp and no image.
		zip := aws.String(uniqueName("gap-zip"))
		if _, err := c.CreateFunction(t.Context(), &lambda.CreateFunctionInput{FunctionName: zip, Role: aws.String("arn:aws:iam::000000000000:role/r"),
			Runtime: ltypes.RuntimePython312, Handler: aws.String("a.b"), Code: &ltypes.FunctionCode{ZipFile: []byte("zip")}}); err != nil {
			t.Fatal(err)
		}
		z := getFunction(t, c, zip)
		if aws.ToInt32(z.Configuration.EphemeralStorage.Size) != 512 || (z.Code != nil && aws.ToString(z.Code.ImageUri) != "") {
			t.Errorf("zip function: EphemeralStorage %+v, Code %+v", z.Configuration.EphemeralStorage, z.Code)
		}
	})

	t.Run("concurrency", func(t *testing.T) {
		got, err := c.GetFunctionConcurrency(t.Context(), &lambda.GetFunctionConcurrencyInput{FunctionName: name})
		if err != nil || got.ReservedConcurrentExecutions != nil {
			t.Fatalf("GetFunctionConcurrency of a new function: %+v, %v", got, err)
		}
		if _, err := c.PutFunctionConcurrency(t.Context(), &lambda.PutFunctionConcurrencyInput{FunctionName: name, ReservedConcurrentExecutions: aws.Int32(7)}); err != nil {
			t.Fatal(err)
		}
		got, err = c.GetFunctionConcurrency(t.Context(), &lambda.GetFunctionConcurrencyInput{FunctionName: name})
		if err != nil || aws.ToInt32(got.ReservedConcurrentExecutions) != 7 {
			t.Fatalf("GetFunctionConcurrency after Put 7: %+v, %v", got, err)
		}
		if c := getFunction(t, c, name).Concurrency; c == nil || aws.ToInt32(c.ReservedConcurrentExecutions) != 7 {
			t.Errorf("GetFunction's Concurrency = %+v, want 7", c)
		}
		if _, err := c.DeleteFunctionConcurrency(t.Context(), &lambda.DeleteFunctionConcurrencyInput{FunctionName: name}); err != nil {
			t.Fatal(err)
		}
		got, err = c.GetFunctionConcurrency(t.Context(), &lambda.GetFunctionConcurrencyInput{FunctionName: name})
		if err != nil || got.ReservedConcurrentExecutions != nil {
			t.Fatalf("GetFunctionConcurrency after Delete: %+v, %v", got, err)
		}
		_, err = c.PutFunctionConcurrency(t.Context(), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("no-such-function"), ReservedConcurrentExecutions: aws.Int32(1)})
		if errorCode(err) != "ResourceNotFoundException" {
			t.Errorf("PutFunctionConcurrency of a missing function: %v", err)
		}
	})

	t.Run("starting position", func(t *testing.T) {
		out, err := c.CreateEventSourceMapping(t.Context(), &lambda.CreateEventSourceMappingInput{FunctionName: name,
			EventSourceArn: aws.String("arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2020"), StartingPosition: ltypes.EventSourcePositionTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		if out.StartingPosition != ltypes.EventSourcePositionTrimHorizon || aws.ToInt32(out.BatchSize) != 100 {
			t.Errorf("CreateEventSourceMapping answers StartingPosition %q, BatchSize %d; want TRIM_HORIZON, 100", out.StartingPosition, aws.ToInt32(out.BatchSize))
		}
		queue, err := c.CreateEventSourceMapping(t.Context(), &lambda.CreateEventSourceMappingInput{FunctionName: name,
			EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:q")})
		if err != nil || aws.ToInt32(queue.BatchSize) != 10 || queue.StartingPosition != "" {
			t.Errorf("a queue mapping: BatchSize %d, StartingPosition %q, %v; want 10 and none", aws.ToInt32(queue.BatchSize), queue.StartingPosition, err)
		}
		got, err := c.GetEventSourceMapping(t.Context(), &lambda.GetEventSourceMappingInput{UUID: out.UUID})
		if err != nil || got.StartingPosition != ltypes.EventSourcePositionTrimHorizon {
			t.Errorf("GetEventSourceMapping: %q, %v", got.StartingPosition, err)
		}
		list, err := c.ListEventSourceMappings(t.Context(), &lambda.ListEventSourceMappingsInput{FunctionName: name})
		if err != nil || len(list.EventSourceMappings) != 2 || !slices.ContainsFunc(list.EventSourceMappings, func(m ltypes.EventSourceMappingConfiguration) bool {
			return m.StartingPosition == ltypes.EventSourcePositionTrimHorizon
		}) {
			t.Errorf("ListEventSourceMappings: %+v, %v", list, err)
		}
		if _, err := c.DeleteEventSourceMapping(t.Context(), &lambda.DeleteEventSourceMappingInput{UUID: out.UUID}); err != nil {
			t.Fatal(err)
		}
		if lambdaGaps.mapping(aws.ToString(out.UUID)) != "" {
			t.Error("DeleteEventSourceMapping left the mapping's record")
		}
	})

	t.Run("delete forgets", func(t *testing.T) {
		if _, err := c.PutFunctionConcurrency(t.Context(), &lambda.PutFunctionConcurrencyInput{FunctionName: name, ReservedConcurrentExecutions: aws.Int32(3)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteFunction(t.Context(), &lambda.DeleteFunctionInput{FunctionName: name}); err != nil {
			t.Fatal(err)
		}
		lambdaGaps.mu.Lock()
		_, kept := lambdaGaps.Functions[aws.ToString(name)]
		lambdaGaps.mu.Unlock()
		if kept {
			t.Error("DeleteFunction left the function's record")
		}
	})
}

// The layer's Lambda records persist in the data directory.
func TestGapLambdaStatePersists(t *testing.T) {
	dir := t.TempDir()
	g := newLambdaGapState(dir)
	n := int64(4)
	if err := g.change("f", func(f *lambdaFunction) { f.EphemeralStorage, f.ImageURI, f.Concurrency = 2048, gapImage, &n }); err != nil {
		t.Fatal(err)
	}
	if err := g.setMapping("u", "LATEST"); err != nil {
		t.Fatal(err)
	}
	again := newLambdaGapState(dir)
	got := again.function("f")
	if got.EphemeralStorage != 2048 || got.ImageURI != gapImage || got.Concurrency == nil || *got.Concurrency != 4 || again.mapping("u") != "LATEST" {
		t.Errorf("read back %+v, mapping %q", got, again.mapping("u"))
	}
}
