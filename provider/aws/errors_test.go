package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/panka/panka/provider"
)

// sdkError builds an error as the SDK returns it: an operation error around a response error
// (HTTP status, request ID) around the API error (code, message).
func sdkError(status int, code, msg, requestID string) error {
	var inner error = &smithy.GenericAPIError{Code: code, Message: msg}
	if code == "" {
		inner = errors.New("http response error")
	}
	return &smithy.OperationError{ServiceID: "SQS", OperationName: "CreateQueue", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: inner},
		RequestID:     requestID,
	}}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"missing queue", sdkError(400, "AWS.SimpleQueueService.NonExistentQueue", "no queue", "r1"), provider.ErrNotFound},
		{"missing queue, JSON code", sdkError(400, "QueueDoesNotExist", "no queue", "r1"), provider.ErrNotFound},
		{"missing topic", sdkError(404, "NotFound", "Topic does not exist", "r1"), provider.ErrNotFound},
		{"queue exists", sdkError(400, "QueueAlreadyExists", "exists", "r1"), provider.ErrAlreadyExists},
		{"ThrottlingException", sdkError(400, "ThrottlingException", "slow down", "r1"), provider.ErrThrottled},
		{"TooManyRequestsException", sdkError(429, "TooManyRequestsException", "", "r1"), provider.ErrThrottled},
		{"RequestLimitExceeded", sdkError(503, "RequestLimitExceeded", "", "r1"), provider.ErrThrottled},
		{"SlowDown", sdkError(503, "SlowDown", "", "r1"), provider.ErrThrottled},
		{"429 without a code", sdkError(429, "", "", "r1"), provider.ErrThrottled},
		{"500", sdkError(500, "InternalError", "oops", "r1"), provider.ErrTransient},
		{"503 without a code", sdkError(503, "", "", ""), provider.ErrTransient},
		{"queue deleted recently", sdkError(400, "AWS.SimpleQueueService.QueueDeletedRecently", "wait 60s", "r1"), provider.ErrTransient},
		{"timeout", &smithy.OperationError{Err: fmt.Errorf("send: %w", timeoutErr{})}, provider.ErrTransient},
		{"connection refused", &smithy.OperationError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, provider.ErrTransient},
		{"IAM concurrent modification", sdkError(409, "ConcurrentModificationException", "try again", "r1"), provider.ErrTransient},
		{"Lambda update in progress", sdkError(409, "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: arn:f", "r1"), provider.ErrTransient},
		{"Lambda function exists", sdkError(409, "ResourceConflictException", "Function already exist: f", "r1"), provider.ErrAlreadyExists},
		{"role not yet assumable", sdkError(400, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.", "r1"), provider.ErrTransient},
		{"mapping role not yet allowed", sdkError(400, "InvalidParameterValueException", "The provided execution role does not have permissions to call ReceiveMessage on SQS", "r1"), provider.ErrTransient},
		{"scheduler role not yet assumable", sdkError(400, "ValidationException", "The execution role you provide must allow AWS EventBridge Scheduler to assume the role.", "r1"), provider.ErrTransient},
		{"other invalid parameter", sdkError(400, "InvalidParameterValueException", "Unsupported runtime", "r1"), nil},
		{"access denied", sdkError(403, "AccessDenied", "no", "r1"), nil},
		{"invalid attribute", sdkError(400, "InvalidAttributeValue", "bad", "r1"), nil},
		{"canceled", &smithy.OperationError{Err: context.Canceled}, nil},
		{"deadline", &smithy.OperationError{Err: context.DeadlineExceeded}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err); got != tc.want {
				t.Errorf("classify = %v, want %v", got, tc.want)
			}
			err := opError("create", "SQS", "q", tc.err)
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("opError does not wrap %v: %v", tc.want, err)
			}
			if tc.want != nil && provider.Retryable(err) != (tc.want == provider.ErrThrottled || tc.want == provider.ErrTransient) {
				t.Errorf("Retryable = %v", provider.Retryable(err))
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("opError does not wrap the SDK's error")
			}
		})
	}
}

// A permanent error names the operation, kind and resource, and keeps AWS's code, message and
// request ID.
func TestErrorKeepsWhatAWSSaid(t *testing.T) {
	err := opError("update", "SQS", "https://sqs/123/q", fmt.Errorf("set attributes: %w", sdkError(403, "AccessDenied", "not allowed to SetQueueAttributes", "req-42")))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T is not an *Error", err)
	}
	if e.Code != "AccessDenied" || e.RequestID != "req-42" || e.StatusCode != 403 || e.Message != "not allowed to SetQueueAttributes" {
		t.Errorf("Error = %+v", e)
	}
	want := "update SQS https://sqs/123/q: set attributes: AccessDenied: not allowed to SetQueueAttributes (request ID req-42)"
	if err.Error() != want {
		t.Errorf("Error() =\n%q, want\n%q", err.Error(), want)
	}
	for _, s := range []error{provider.ErrNotFound, provider.ErrThrottled, provider.ErrTransient, provider.ErrAlreadyExists} {
		if errors.Is(err, s) {
			t.Errorf("a permanent error wraps %v", s)
		}
	}
	nf := opError("read", "SNS", "arn:t", sdkError(404, "NotFound", "Topic does not exist", "req-7"))
	if !strings.Contains(nf.Error(), "NotFound") || !strings.Contains(nf.Error(), "req-7") || !errors.Is(nf, provider.ErrNotFound) {
		t.Errorf("not found: %v", nf)
	}
}
