package aws

import (
	"fmt"
	"strings"
)

// References. A spec names another component ("dlq" in its own service, or "service/dlq") where
// AWS wants an ARN. The engine names every component [tenant-]stack-environment-service-component
// (plus a kind suffix such as ".fifo"), so the component's physical name follows from the
// referring resource's own name and address; the provider then asks AWS for the ARN. Reading
// back, an ARN whose resource carries a panka:address tag of the same deployment is reported as
// that address: short ("dlq") in the referring resource's own service, qualified
// ("service/dlq") in another. Any other ARN is reported as it is.

// deployment is what a resource's physical name and address say about the deployment it is in.
type deployment struct {
	prefix  string // "[tenant-]stack-environment"
	service string
}

// deploymentOf returns the deployment of the resource named name (without its kind suffix) at
// address "service/component".
func deploymentOf(name, address string) (deployment, error) {
	svc, comp, ok := strings.Cut(address, "/")
	if !ok || svc == "" || comp == "" {
		return deployment{}, fmt.Errorf("address %q is not service/component", address)
	}
	prefix, ok := strings.CutSuffix(name, "-"+svc+"-"+comp)
	if !ok || prefix == "" {
		return deployment{}, fmt.Errorf("physical name %q does not end in -%s-%s, as the engine names %s", name, svc, comp, address)
	}
	return deployment{prefix: prefix, service: svc}, nil
}

// physicalName returns the physical name of the component ref ("component" in the deployment's
// service, or "service/component"), plus suffix.
func (d deployment) physicalName(ref, suffix string) string {
	svc, comp, ok := strings.Cut(ref, "/")
	if !ok {
		svc, comp = d.service, ref
	}
	return d.prefix + "-" + svc + "-" + comp + suffix
}

// ref returns how a component of this deployment's service refers to the component at address.
func (d deployment) ref(address string) string {
	if comp, ok := strings.CutPrefix(address, d.service+"/"); ok {
		return comp
	}
	return address
}

// isARN reports whether s is an ARN rather than a component reference.
func isARN(s string) bool { return strings.HasPrefix(s, "arn:") }

// arnResource returns the last ":"-separated part of an ARN (a queue's or topic's name).
func arnResource(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }
