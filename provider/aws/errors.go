package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/panka/panka/provider"
)

// Error is a failed operation of the provider: what it was doing, to which resource, and, when
// AWS answered, the error code, message and request ID (quote it to AWS support). It wraps the
// provider's sentinel the code stands for (errors.Is(err, provider.ErrThrottled)...), and the
// underlying error (the SDK's, a context's, or an *provider.OwnershipError).
type Error struct {
	Op       string // "create", "read", "find", "update", "delete"
	Kind     string // "SQS"
	Resource string // the physical name or ID

	Code       string // AWS error code, "" if AWS did not answer with one
	Message    string // AWS error message
	RequestID  string // AWS request ID, "" if none
	StatusCode int    // HTTP status, 0 if none

	class error // provider.ErrNotFound ... or nil
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s: ", e.Op, e.Kind, e.Resource)
	if e.Code == "" {
		b.WriteString(e.Err.Error())
		return b.String()
	}
	// The SDK's text repeats the operation and status; say what AWS said, once.
	if prefix := ownWords(e.Err); prefix != "" {
		b.WriteString(prefix + ": ")
	}
	fmt.Fprintf(&b, "%s: %s", e.Code, e.Message)
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request ID %s)", e.RequestID)
	}
	if e.class != nil {
		fmt.Fprintf(&b, " [%v]", e.class)
	}
	return b.String()
}

// ownWords returns the provider's own words ahead of the SDK's error in err ("set attributes"),
// if it added any with fmt.Errorf("...: %w").
func ownWords(err error) string {
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return ""
	}
	s := err.Error()
	if i := strings.Index(s, op.Error()); i > 0 {
		return strings.TrimSuffix(s[:i], ": ")
	}
	return op.OperationName
}

// Unwrap returns the sentinel (if any) and the underlying error.
func (e *Error) Unwrap() []error {
	if e.class != nil {
		return []error{e.class, e.Err}
	}
	return []error{e.Err}
}

// opError wraps err, the failure of op on the resource res of kind, into an *Error.
func opError(op, kind, res string, err error) error {
	e := &Error{Op: op, Kind: kind, Resource: res, Err: err, class: classify(err)}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code, e.Message = api.ErrorCode(), api.ErrorMessage()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.RequestID, e.StatusCode = re.ServiceRequestID(), re.HTTPStatusCode()
	}
	return e
}

// AWS error codes by what they mean to the engine. Services spell the same thing differently
// (SQS keeps its Query-era codes alongside the JSON ones).
var (
	notFoundCodes = codes(
		"NotFound", "NotFoundException", "ResourceNotFound", "ResourceNotFoundException", "NoSuchEntity",
		"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NoSuchBucket",
		"NoSuchDistribution", "NoSuchOriginAccessControl", "NoSuchResource",
		"LoadBalancerNotFound", "ListenerNotFound", "TargetGroupNotFound",
		// EC2 names the missing thing.
		"InvalidVpcID.NotFound", "InvalidSubnetID.NotFound", "InvalidInternetGatewayID.NotFound",
		"NatGatewayNotFound", "InvalidNatGatewayID.NotFound", "InvalidRouteTableID.NotFound", "InvalidGroup.NotFound",
		"InvalidGroupId.NotFound", "InvalidAllocationID.NotFound", "InvalidAssociationID.NotFound",
		"FileSystemNotFound", "MountTargetNotFound", "AccessPointNotFound", "InvalidVolume.NotFound",
		// RDS and DocumentDB, with and without "Fault".
		"DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault", "DBSubnetGroupNotFoundFault",
		"DBSnapshotNotFound", "DBSnapshotNotFoundFault", "DBClusterSnapshotNotFoundFault",
	)
	alreadyExistsCodes = codes(
		"AlreadyExists", "AlreadyExistsException", "ResourceAlreadyExistsException", "EntityAlreadyExists",
		"QueueAlreadyExists", "QueueNameExists", "AWS.SimpleQueueService.QueueNameExists",
		"BucketAlreadyExists", "BucketAlreadyOwnedByYou", "DistributionAlreadyExists",
		"DuplicateLoadBalancerName",
		"InvalidGroup.Duplicate",  // a security group's name is taken in its VPC
		"FileSystemAlreadyExists", // EFS: the creation token is taken
		"DBInstanceAlreadyExists", "DBInstanceAlreadyExistsFault", "DBClusterAlreadyExistsFault",
		"DBSubnetGroupAlreadyExists", "DBSubnetGroupAlreadyExistsFault",
	)
	throttledCodes = codes(
		"ThrottlingException", "Throttling", "ThrottledException", "Throttled", "TooManyRequestsException",
		"RequestLimitExceeded", "SlowDown", "RequestThrottled", "RequestThrottledException",
		"KMSThrottlingException", "AWS.SimpleQueueService.RequestThrottled",
	)
	transientCodes = codes(
		"RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "InternalServerError",
		"ServiceUnavailable", "ServiceUnavailableException", "ServiceFailure",
		// SQS refuses to create a queue under the name of one deleted in the last 60 seconds.
		"QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently",
		// IAM and Lambda refuse a change while another to the same resource is under way.
		"ConcurrentModificationException",
		// RDS refuses a change while a database is creating, modifying or backing up.
		"InvalidDBInstanceState", "InvalidDBInstanceStateFault", "InvalidDBClusterStateFault",
	)
)

// messageRules classify codes that stand for different things by their message: Lambda answers
// ResourceConflictException both for a name in use and for an update in progress, and Lambda
// and EventBridge Scheduler answer a role (or a role's policy) IAM has not propagated yet as an
// invalid parameter.
var messageRules = []struct {
	code, contains string
	class          error
}{
	{"ResourceConflictException", "already exist", provider.ErrAlreadyExists},
	{"ResourceConflictException", "", provider.ErrTransient}, // "An update is in progress"
	{"InvalidParameterValueException", iamPropagation[0], provider.ErrTransient},
	{"InvalidParameterValueException", iamPropagation[1], provider.ErrTransient},
	{"ValidationException", iamPropagation[2], provider.ErrTransient},
}

// iamPropagation are what Lambda and EventBridge Scheduler say of a new role, or a new policy of
// a role, that IAM has not propagated to them yet (it takes seconds).
var iamPropagation = []string{
	"cannot be assumed by Lambda",                             // CreateFunction, UpdateFunctionConfiguration
	"execution role does not have permissions",                // CreateEventSourceMapping
	"must allow AWS EventBridge Scheduler to assume the role", // CreateSchedule, UpdateSchedule
}

func codes(cs ...string) map[string]bool {
	m := make(map[string]bool, len(cs))
	for _, c := range cs {
		m[c] = true
	}
	return m
}

// classify returns the provider sentinel err stands for: ErrNotFound, ErrAlreadyExists,
// ErrThrottled (throttling codes, HTTP 429), ErrTransient (5xx, timeouts, a broken connection),
// or nil for a permanent error. A context's error is nil: the caller's own deadline or
// cancellation is not the cloud's failure.
func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	for _, s := range []error{provider.ErrNotFound, provider.ErrAlreadyExists, provider.ErrThrottled, provider.ErrTransient} {
		if errors.Is(err, s) {
			return nil // already said
		}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch {
		case notFoundCodes[code]:
			return provider.ErrNotFound
		case alreadyExistsCodes[code]:
			return provider.ErrAlreadyExists
		case throttledCodes[code]:
			return provider.ErrThrottled
		case transientCodes[code]:
			return provider.ErrTransient
		}
		for _, r := range messageRules {
			if code == r.code && strings.Contains(api.ErrorMessage(), r.contains) {
				return r.class
			}
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch s := re.HTTPStatusCode(); {
		case s == 429:
			return provider.ErrThrottled
		case s >= 500:
			return provider.ErrTransient
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return provider.ErrTransient
	}
	var op *net.OpError
	if errors.As(err, &op) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return provider.ErrTransient
	}
	return nil
}

// isNotFound reports whether err says the resource does not exist.
func isNotFound(err error) bool {
	return err != nil && (errors.Is(err, provider.ErrNotFound) || classify(err) == provider.ErrNotFound)
}
