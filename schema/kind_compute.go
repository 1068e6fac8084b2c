package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ComponentInfra is the compute block shared by MicroService, Worker and CronJob, which run as
// ECS Fargate tasks. It is written inline in their spec.
type ComponentInfra struct {
	// CPU is in ECS CPU units (1024 = 1 vCPU) and Memory in MiB; together they must be a
	// Fargate task size.
	CPU          int           `yaml:"cpu"`
	Memory       int           `yaml:"memory"`
	Architecture string        `yaml:"architecture" panka:"forcenew"` // X86_64 or ARM64
	Scaling      Scaling       `yaml:"scaling"`
	LoadBalancer *LoadBalancer `yaml:"loadBalancer"`
	Volumes      []Volume      `yaml:"volumes"`
}

// Scaling is ECS service auto scaling on average utilisation.
type Scaling struct {
	Min          int `yaml:"min"`
	Max          int `yaml:"max"`
	Desired      int `yaml:"desired"`
	TargetCPU    int `yaml:"targetCPU"`    // percent; 0 disables CPU scaling
	TargetMemory int `yaml:"targetMemory"` // percent; 0 disables memory scaling
}

// canonical spells paths ["/*"] without hosts as no paths: every path, as the rule reads back.
func (lb LoadBalancer) canonical(m map[string]any) {
	if len(lb.Hosts) == 0 && len(lb.Paths) == 1 && lb.Paths[0] == "/*" {
		delete(m, "paths")
	}
}

// LoadBalancer attaches the service to an ALB or NLB component: Panka creates a target group and
// a listener rule on it. The service depends on the load balancer.
type LoadBalancer struct {
	Target      string       `yaml:"target" panka:"required"` // an ALB or NLB component
	Port        string       `yaml:"port"`                    // container port name; default: the first port
	Listener    int          `yaml:"listener"`                // listener port on the load balancer; default: its first listener
	Paths       []string     `yaml:"paths"`                   // ALB path patterns
	Hosts       []string     `yaml:"hosts"`                   // ALB host headers
	Priority    int          `yaml:"priority"`                // ALB rule priority, 1–50000; 0 = derived
	HealthCheck *HealthCheck `yaml:"healthCheck"`
}

// HealthCheck is a target group health check.
type HealthCheck struct {
	Path               string `yaml:"path"`
	Interval           int    `yaml:"interval"` // seconds, 5–300
	Timeout            int    `yaml:"timeout"`  // seconds, 2–120, less than interval
	HealthyThreshold   int    `yaml:"healthyThreshold"`
	UnhealthyThreshold int    `yaml:"unhealthyThreshold"`
	Matcher            string `yaml:"matcher"` // HTTP codes: "200", "200-299", "200,302"
}

func (h *HealthCheck) SetDefaults() {
	*h = HealthCheck{Path: "/", Interval: 30, Timeout: 5, HealthyThreshold: 3, UnhealthyThreshold: 3, Matcher: "200-399"}
}

// Volume mounts storage into the task: an EFS or EBS component, or scratch space.
type Volume struct {
	Name      string `yaml:"name" panka:"required"`
	MountPath string `yaml:"mountPath" panka:"required"`
	EFS       string `yaml:"efs"`       // an EFS component
	EBS       string `yaml:"ebs"`       // an EBS component
	Ephemeral bool   `yaml:"ephemeral"` // task scratch storage
	ReadOnly  bool   `yaml:"readOnly"`
}

func (i *ComponentInfra) SetDefaults() {
	i.CPU, i.Memory, i.Architecture = 256, 512, "X86_64"
	i.Scaling = Scaling{Min: 1, Max: 1, Desired: 1}
}

// fargateMemory lists, per CPU value, the valid memory sizes in MiB (AWS ECS task size table).
func fargateMemory(cpu int) []int {
	span := func(lo, hi, step int) []int {
		var out []int
		for m := lo; m <= hi; m += step {
			out = append(out, m)
		}
		return out
	}
	switch cpu {
	case 256:
		return []int{512, 1024, 2048}
	case 512:
		return span(1024, 4096, 1024)
	case 1024:
		return span(2048, 8192, 1024)
	case 2048:
		return span(4096, 16384, 1024)
	case 4096:
		return span(8192, 30720, 1024)
	case 8192:
		return span(16384, 61440, 4096)
	case 16384:
		return span(32768, 122880, 8192)
	}
	return nil
}

// validate checks the block; scaled is false for kinds that run one task at a time (CronJob).
func (i *ComponentInfra) validate(c *Check, ports []Port, scaled bool) {
	mems := fargateMemory(i.CPU)
	if mems == nil {
		c.Errorf("cpu", "spec.cpu %d is not a Fargate CPU size; use 256, 512, 1024, 2048, 4096, 8192 or 16384", i.CPU)
	} else if !slices.Contains(mems, i.Memory) {
		c.Errorf("memory", "spec.memory %d MiB is not valid with cpu %d on Fargate; use %s MiB", i.Memory, i.CPU, describeInts(mems))
	}
	c.OneOf("architecture", i.Architecture, "X86_64", "ARM64")
	s := i.Scaling
	if !scaled {
		s = Scaling{}
	}
	if s.Min < 0 || s.Max < s.Min || s.Desired < s.Min || s.Desired > s.Max {
		c.Errorf("scaling", "spec.scaling needs 0 <= min <= desired <= max (min %d, desired %d, max %d)", s.Min, s.Desired, s.Max)
	}
	if s.Max > 5000 {
		c.Errorf("scaling.max", "spec.scaling.max %d is over the ECS limit of 5000 tasks per service", s.Max)
	}
	if s.TargetCPU != 0 {
		c.Range("scaling.targetCPU", s.TargetCPU, 1, 100)
	}
	if s.TargetMemory != 0 {
		c.Range("scaling.targetMemory", s.TargetMemory, 1, 100)
	}
	if lb := i.LoadBalancer; lb != nil {
		target := c.Ref("loadBalancer.target", lb.Target, "ALB", "NLB")
		if len(ports) == 0 {
			c.Errorf("loadBalancer", "spec.loadBalancer needs a container port: add spec.ports")
		} else if lb.Port != "" && !slices.ContainsFunc(ports, func(p Port) bool { return p.Name == lb.Port }) {
			names := make([]string, len(ports))
			for k, p := range ports {
				names[k] = p.Name
			}
			c.Errorf("loadBalancer.port", "spec.loadBalancer.port %q names no entry of spec.ports%s", lb.Port, suggest(lb.Port, names))
		}
		if target != nil && target.Kind == "NLB" && (len(lb.Paths) > 0 || len(lb.Hosts) > 0) {
			field := "loadBalancer.paths"
			if len(lb.Paths) == 0 {
				field = "loadBalancer.hosts"
			}
			c.Errorf(field, "paths and hosts are ALB listener rules; an NLB forwards a whole port — remove them")
		}
		if lb.Priority != 0 {
			c.Range("loadBalancer.priority", lb.Priority, 1, 50000)
		}
		for k, p := range lb.Paths {
			if !strings.HasPrefix(p, "/") || len(p) > 128 {
				c.Errorf(fmt.Sprintf("loadBalancer.paths[%d]", k), "path pattern %q must start with / and be at most 128 characters", p)
			}
		}
		if hc := lb.HealthCheck; hc != nil {
			c.Range("loadBalancer.healthCheck.interval", hc.Interval, 5, 300)
			c.Range("loadBalancer.healthCheck.timeout", hc.Timeout, 2, 120)
			if hc.Timeout >= hc.Interval {
				c.Errorf("loadBalancer.healthCheck.timeout", "the health check timeout (%ds) must be less than its interval (%ds)", hc.Timeout, hc.Interval)
			}
			c.Range("loadBalancer.healthCheck.healthyThreshold", hc.HealthyThreshold, 2, 10)
			c.Range("loadBalancer.healthCheck.unhealthyThreshold", hc.UnhealthyThreshold, 2, 10)
			if !strings.HasPrefix(hc.Path, "/") {
				c.Errorf("loadBalancer.healthCheck.path", "health check path %q must start with /", hc.Path)
			}
			if !httpMatcherRe.MatchString(hc.Matcher) {
				c.Errorf("loadBalancer.healthCheck.matcher", "matcher %q must be HTTP codes like 200, 200-299 or 200,302", hc.Matcher)
			}
		}
	}
	names := map[string]int{}
	for k, vol := range i.Volumes {
		field := fmt.Sprintf("volumes[%d]", k)
		if prev, dup := names[vol.Name]; dup {
			c.Errorf(field+".name", "duplicate volume name %q (also volumes[%d])", vol.Name, prev)
		}
		names[vol.Name] = k
		sources := 0
		if vol.EFS != "" {
			sources++
			c.Ref(field+".efs", vol.EFS, "EFS")
		}
		if vol.EBS != "" {
			sources++
			c.Ref(field+".ebs", vol.EBS, "EBS")
		}
		if vol.Ephemeral {
			sources++
		}
		if sources != 1 {
			c.Errorf(field, "volume %q needs exactly one source: efs, ebs or ephemeral: true", vol.Name)
		}
		if !strings.HasPrefix(vol.MountPath, "/") {
			c.Errorf(field+".mountPath", "mountPath %q must be an absolute path", vol.MountPath)
		}
	}
}

var httpMatcherRe = regexp.MustCompile(`^[1-5]\d\d(-[1-5]\d\d)?(,[1-5]\d\d(-[1-5]\d\d)?)*$`)

// Container is what every ECS-based kind runs.
type Container struct {
	Image      string            `yaml:"image" panka:"required"`
	Command    []string          `yaml:"command"`
	Entrypoint []string          `yaml:"entrypoint"`
	Env        map[string]string `yaml:"env"`
	// Secrets maps environment variable names to secret references, injected by ECS.
	Secrets     map[string]string `yaml:"secrets" panka:"secret"`
	HealthCheck *ContainerHealth  `yaml:"healthCheck"`
}

// ContainerHealth is the container's own health command.
type ContainerHealth struct {
	Command     []string `yaml:"command" panka:"required"`
	Interval    int      `yaml:"interval"`    // 5–300 s
	Timeout     int      `yaml:"timeout"`     // 2–60 s
	Retries     int      `yaml:"retries"`     // 1–10
	StartPeriod int      `yaml:"startPeriod"` // 0–300 s
}

func (h *ContainerHealth) SetDefaults() { h.Interval, h.Timeout, h.Retries = 30, 5, 3 }

// Port is a container port.
type Port struct {
	Name     string `yaml:"name" panka:"required"`
	Port     int    `yaml:"port" panka:"required"`
	Protocol string `yaml:"protocol"` // tcp or udp
}

func (p *Port) SetDefaults() { p.Protocol = "tcp" }

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (ct *Container) validate(c *Check) {
	if ct.Image != "" && (strings.ContainsAny(ct.Image, " \t") || len(ct.Image) > 255) {
		c.Errorf("image", "spec.image %q is not an image reference (like nginx:1.27 or 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1)", ct.Image)
	}
	for k, v := range ct.Env {
		if !envNameRe.MatchString(k) {
			c.KeyErrorf("env."+k, "environment variable name %q must be letters, digits and '_'", k)
		}
		warnPlaintextSecret(c, k, v)
		if _, dup := ct.Secrets[k]; dup {
			c.KeyErrorf("secrets."+k, "%s is set in both spec.env and spec.secrets; keep one", k)
		}
	}
	for k := range ct.Secrets {
		if !envNameRe.MatchString(k) {
			c.KeyErrorf("secrets."+k, "environment variable name %q must be letters, digits and '_'", k)
		}
	}
	if h := ct.HealthCheck; h != nil {
		c.Range("healthCheck.interval", h.Interval, 5, 300)
		c.Range("healthCheck.timeout", h.Timeout, 2, 60)
		c.Range("healthCheck.retries", h.Retries, 1, 10)
		c.Range("healthCheck.startPeriod", h.StartPeriod, 0, 300)
	}
}

// MicroServiceSpec is a long-running ECS Fargate service that serves traffic on ports.
type MicroServiceSpec struct {
	Container      `yaml:",inline"`
	ComponentInfra `yaml:",inline"`
	Ports          []Port `yaml:"ports"`
}

func (s *MicroServiceSpec) SetDefaults() { s.ComponentInfra.SetDefaults() }

func (s *MicroServiceSpec) Validate(c *Check) {
	s.Container.validate(c)
	validatePorts(c, s.Ports)
	s.ComponentInfra.validate(c, s.Ports, true)
}

func validatePorts(c *Check, ports []Port) {
	byName, byNumber := map[string]int{}, map[int]int{}
	for k, p := range ports {
		field := fmt.Sprintf("ports[%d]", k)
		if prev, dup := byName[p.Name]; dup {
			c.Errorf(field+".name", "duplicate port name %q (also ports[%d]); port names must be unique", p.Name, prev)
		}
		byName[p.Name] = k
		if prev, dup := byNumber[p.Port]; dup {
			c.Errorf(field+".port", "duplicate port number %d (also ports[%d]); port numbers must be unique", p.Port, prev)
		}
		byNumber[p.Port] = k
		c.Range(field+".port", p.Port, 1, 65535)
		c.OneOf(field+".protocol", p.Protocol, "tcp", "udp")
		if why := checkName(p.Name); why != "" {
			c.Errorf(field+".name", "port name %q %s", p.Name, why)
		}
	}
}

// WorkerSpec is a long-running ECS Fargate service with no inbound traffic (queue consumers).
type WorkerSpec struct {
	Container      `yaml:",inline"`
	ComponentInfra `yaml:",inline"`
}

func (s *WorkerSpec) SetDefaults() { s.ComponentInfra.SetDefaults() }

func (s *WorkerSpec) Validate(c *Check) {
	s.Container.validate(c)
	infra := s.ComponentInfra
	if infra.LoadBalancer != nil {
		c.Errorf("loadBalancer", "a Worker takes no inbound traffic; use a MicroService for a load-balanced service")
		infra.LoadBalancer = nil // reported; its own checks would only add noise
	}
	infra.validate(c, nil, true)
}

// CronJobSpec is an ECS Fargate task run on a schedule by EventBridge Scheduler.
type CronJobSpec struct {
	Container      `yaml:",inline"`
	ComponentInfra `yaml:",inline"`
	// Schedule is cron(min hour day-of-month month day-of-week year) or rate(N unit).
	Schedule          string `yaml:"schedule" panka:"required"`
	Timezone          string `yaml:"timezone"`
	Suspend           bool   `yaml:"suspend"`
	MaxRetries        int    `yaml:"maxRetries"`        // 0–185
	ConcurrencyPolicy string `yaml:"concurrencyPolicy"` // Allow or Forbid
}

func (s *CronJobSpec) SetDefaults() {
	s.ComponentInfra.SetDefaults()
	s.Timezone, s.ConcurrencyPolicy = "UTC", "Allow"
	s.Scaling = Scaling{}
}

func (s *CronJobSpec) Validate(c *Check) {
	s.Container.validate(c)
	infra := s.ComponentInfra
	if infra.LoadBalancer != nil {
		c.Errorf("loadBalancer", "a CronJob takes no inbound traffic; remove loadBalancer")
		infra.LoadBalancer = nil
	}
	if c.Has("scaling") {
		c.Errorf("scaling", "a CronJob runs one task per schedule tick; remove scaling")
	}
	infra.validate(c, nil, false)
	if s.Schedule != "" {
		if err := ValidateSchedule(s.Schedule); err != nil {
			c.Errorf("schedule", "spec.schedule: %v", err)
		}
	}
	c.Range("maxRetries", s.MaxRetries, 0, 185)
	c.OneOf("concurrencyPolicy", s.ConcurrencyPolicy, "Allow", "Forbid")
}

// describeInts shows a list of sizes compactly: "512, 1024 or 2048", or "1024–4096 in steps of 1024".
func describeInts(v []int) string {
	if len(v) > 3 {
		return fmt.Sprintf("%d–%d in steps of %d", v[0], v[len(v)-1], v[1]-v[0])
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

func init() {
	RegisterKind(KindInfo{
		Name: "MicroService", New: func() Spec { return &MicroServiceSpec{} },
		Outputs:   []string{"serviceName", "serviceArn", "url", "securityGroupId", "taskDefinitionArn"},
		NameLimit: 255, NameWhat: "an ECS service name",
	})
	RegisterKind(KindInfo{
		Name: "Worker", New: func() Spec { return &WorkerSpec{} },
		Outputs:   []string{"serviceName", "serviceArn", "securityGroupId", "taskDefinitionArn"},
		NameLimit: 255, NameWhat: "an ECS service name",
	})
	RegisterKind(KindInfo{
		Name: "CronJob", New: func() Spec { return &CronJobSpec{} },
		Outputs:   []string{"scheduleArn", "taskDefinitionArn"},
		NameLimit: 64, NameWhat: "an EventBridge Scheduler schedule name",
	})
}
