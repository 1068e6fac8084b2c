package schema

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/panka/panka/graph"
	"github.com/panka/panka/internal/interp"
)

var (
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$`)
	accountRe = regexp.MustCompile(`^\d{12}$`)
	// Secret references: a Secrets Manager or SSM Parameter Store ARN, or a prefixed name.
	secretRefRe = regexp.MustCompile(`^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+(:[^:]*:[^:]*:[^:]*)?` +
		`|arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9/_.-]+` +
		`|secretsmanager:[A-Za-z0-9/_+=.@-]+(#[A-Za-z0-9_.-]+)?` +
		`|ssm:/?[A-Za-z0-9/_.-]+)$`)
)

// secretEnvWords end an environment variable name that probably holds a credential.
var secretEnvWords = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "APIKEY", "CREDENTIALS"}

// warnPlaintextSecret warns about spec.env.NAME if it looks like a credential written in plain
// text: the last '_'-separated word of NAME is one of secretEnvWords (DB_PASSWORD, API_KEY,
// GITHUB_TOKEN, but not KEY_PREFIX or TOKEN_URL) and its value is a literal, not a secret
// reference. Such values belong in spec.secrets, which the kinds with env (MicroService, Worker,
// CronJob, Lambda) resolve at deploy time and never store in plain text.
func warnPlaintextSecret(c *Check, name, value string) {
	words := strings.Split(strings.ToUpper(name), "_")
	if slices.Contains(secretEnvWords, words[len(words)-1]) && dataLiteral(value) && !secretRefRe.MatchString(value) {
		c.Warnf("env."+name, "%s looks like a credential written in plain text; move it to spec.secrets as a secret reference", name)
	}
}

// Validate checks a parsed config as a whole and returns every problem found, sorted by
// position: exactly one stack; names (DNS labels, duplicates, physical names that collide or
// exceed the AWS limits); references (service and stack references, dependsOn, every ${...}) and
// dependency cycles; secrets given only as references; and each kind's own rules. It also builds
// the dependency graph, available afterwards from cfg.Graph. Validate never modifies specs.
//
// Validate is the only function that writes to a Config after Parse (it stores the graph): call
// it before sharing the Config between goroutines.
func Validate(cfg *Config) Diagnostics {
	v := &validator{
		cfg:       cfg,
		envs:      cfg.Environments(),
		services:  map[string]*Service{},
		byService: map[string]map[string]*Component{},
		g:         graph.New(),
		edgePos:   map[[2]string]Pos{},
	}
	v.stackChecks()
	v.serviceChecks()
	v.componentChecks()
	v.placementChecks()
	v.cycleChecks()
	cfg.graph = v.g
	cfg.valid = !v.diags.HasErrors()
	v.diags.Sort()
	return v.diags
}

// CheckTarget checks what depends on the tenant and the environment a validated cfg is deployed
// for: that env is declared (when the stack declares environments), that tenant is a valid name
// ("" is the default tenant, whose physical names have no prefix), and every component's physical
// name for that tenant and environment (length limits and each kind's naming rules). It reads cfg
// and writes nothing, so it is safe to call from many goroutines at once.
func CheckTarget(cfg *Config, tenant, env string) Diagnostics {
	v := &validator{cfg: cfg, tenant: tenant, envs: []string{env}, namesOnly: true}
	st := cfg.Stack()
	if st == nil {
		v.errorf(Pos{}, "config has no Stack")
		return v.diags
	}
	v.stack = st
	if len(st.Spec.Environments) > 0 {
		if _, ok := st.Spec.Environments[env]; !ok {
			v.errorf(st.PosOf("spec.environments"), "environment %q is not declared in the stack%s",
				env, suggest(env, sortedKeys(st.Spec.Environments)))
		}
	} else if why := checkName(env); why != "" {
		v.errorf(st.Pos, "environment name %q %s", env, why)
	}
	if v.diags.HasErrors() {
		return v.diags
	}
	if tenant != "" {
		if why := checkName(tenant); why != "" {
			v.errorf(st.Pos, "tenant name %q %s", tenant, why)
		}
	}
	for _, c := range cfg.Components {
		if c.Spec == nil {
			continue
		}
		v.componentNameChecks(c, &Check{v: v, comp: c})
	}
	v.diags.Sort()
	return v.diags
}

type validator struct {
	cfg       *Config
	diags     Diagnostics
	tenant    string // "" for the default tenant
	namesOnly bool   // CheckTarget: only the tenant- and environment-dependent checks
	envs      []string
	stack     *Stack
	services  map[string]*Service
	byService map[string]map[string]*Component
	g         *graph.Graph
	edgePos   map[[2]string]Pos
}

func (v *validator) errorf(pos Pos, format string, args ...any) {
	v.diags.add(pos, Error, format, args...)
}

// edge records that from depends on to, remembering where the dependency was written.
func (v *validator) edge(from, to string, pos Pos) {
	v.g.AddEdge(from, to)
	k := [2]string{from, to}
	if _, ok := v.edgePos[k]; !ok {
		v.edgePos[k] = pos
	}
}

func (v *validator) checkName(doc *Document, what string) {
	if why := checkName(doc.Metadata.Name); why != "" {
		v.errorf(doc.PosOf("metadata.name"), "%s name %q %s", what, doc.Metadata.Name, why)
	}
	for k, val := range doc.Metadata.Labels {
		if len(k) > 128 || len(val) > 256 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			v.errorf(doc.KeyPosOf("metadata.labels."+k), "label %q becomes an AWS tag: keys are at most 128 characters and may not start with \"aws:\", values at most 256", k)
		}
	}
}

func (v *validator) stackChecks() {
	cfg := v.cfg
	if len(cfg.Stacks) == 0 {
		pos := Pos{Line: 1, Col: 1}
		if len(cfg.Files) > 0 {
			pos.File = cfg.Files[0]
		}
		v.errorf(pos, "no Stack document found; add one (kind: Stack) naming the provider and region")
		return
	}
	v.stack = cfg.Stacks[0]
	for _, st := range cfg.Stacks[1:] {
		v.errorf(st.Pos, "a second Stack %q: a config has exactly one Stack (the first is at %s); remove one", st.Metadata.Name, v.stack.Pos)
	}
	st := v.stack
	v.checkName(&st.Document, "stack")
	if st.Metadata.Service != "" {
		v.errorf(st.PosOf("metadata.service"), "metadata.service is only for components; remove it")
	}
	p := st.Spec.Provider
	if p.Name != "" && p.Name != "aws" {
		v.errorf(st.PosOf("spec.provider.name"), "unsupported provider %q; supported: aws", p.Name)
	}
	v.checkRegion(st.PosOf("spec.provider.region"), p.Region)
	v.checkAccount(st.PosOf("spec.provider.accountId"), p.AccountID)
	v.checkVariables(&st.Document, "spec.variables", st.Spec.Variables)
	if st.Spec.Network != nil {
		v.checkNetwork(&st.Document, "spec.network", st.Spec.Network)
	}
	for name, env := range st.Spec.Environments {
		path := "spec.environments." + name
		if why := checkName(name); why != "" {
			v.errorf(st.KeyPosOf(path), "environment name %q %s", name, why)
		}
		if env == nil {
			continue
		}
		v.checkVariables(&st.Document, path+".variables", env.Variables)
		if env.Region != "" {
			v.checkRegion(st.PosOf(path+".region"), env.Region)
		}
		v.checkAccount(st.PosOf(path+".accountId"), env.AccountID)
		if env.Network != nil {
			v.checkNetwork(&st.Document, path+".network", env.Network)
		}
		for k := range env.Variables {
			if _, ok := st.Spec.Variables[k]; !ok && len(st.Spec.Environments) > 1 {
				missing := []string{}
				for other, oe := range st.Spec.Environments {
					if oe == nil || oe.Variables[k] == "" && !hasKey(oe.Variables, k) {
						missing = append(missing, other)
					}
				}
				if len(missing) > 0 {
					slices.Sort(missing)
					v.diags.add(st.PosOf(path+".variables."+k), Warning,
						"variable %s is set for environment %s but has no default in spec.variables and is not set for %s; give it a default in spec.variables", k, name, strings.Join(missing, ", "))
				}
			}
		}
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (v *validator) checkRegion(pos Pos, region string) {
	if region != "" && !regionRe.MatchString(region) {
		v.errorf(pos, "region %q is not an AWS region name (like us-east-1 or eu-west-3)", region)
	}
}

func (v *validator) checkAccount(pos Pos, account string) {
	if account != "" && !accountRe.MatchString(account) {
		v.errorf(pos, "accountId %q must be the 12-digit AWS account ID", account)
	}
}

// checkVariables checks variable names; stack variable values must be literal.
func (v *validator) checkVariables(doc *Document, path string, vars map[string]string) {
	for k, val := range vars {
		if !varName.MatchString(k) {
			v.errorf(doc.KeyPosOf(path+"."+k), "variable name %q must be letters, digits and '_', starting with a letter or '_'", k)
		}
		if doc.Kind == "Stack" && interp.HasRefs(val) {
			segs, err := interp.Parse(val)
			if err != nil {
				v.interpError(doc, path+"."+k, val, err)
				continue
			}
			for _, s := range segs {
				if s.Ref != nil {
					v.errorf(v.offsetPos(doc, path+"."+k, val, s.Offset), "stack variables cannot reference other values (${%s}); write the value, or write $${ for a literal ${", s.Ref)
				}
			}
		}
	}
}

func (v *validator) serviceChecks() {
	for _, svc := range v.cfg.Services {
		name := svc.Metadata.Name
		v.checkName(&svc.Document, "service")
		if name == StackService {
			v.errorf(svc.PosOf("metadata.name"), "service name %q is reserved for the resources Panka makes for the whole stack (stack/vpc, stack/cluster, ...); rename the service", name)
		}
		if svc.Metadata.Service != "" {
			v.errorf(svc.PosOf("metadata.service"), "metadata.service is only for components; remove it")
		}
		if prev, dup := v.services[name]; dup {
			v.errorf(svc.PosOf("metadata.name"), "duplicate service %q (first defined at %s); rename one", name, prev.Pos)
			continue
		}
		v.services[name] = svc
		v.byService[name] = map[string]*Component{}
		if v.stack != nil && svc.Spec.Stack != "" && svc.Spec.Stack != v.stack.Metadata.Name {
			v.errorf(svc.PosOf("spec.stack"), "service %q refers to stack %q, but the stack is %q", name, svc.Spec.Stack, v.stack.Metadata.Name)
		}
		v.checkVariables(&svc.Document, "spec.variables", svc.Spec.Variables)
		for k, val := range svc.Spec.Variables {
			v.checkRefs(&svc.Document, "spec.variables."+k, val, func(pos Pos, ref *interp.Ref) {
				if len(ref.Parts) != 1 {
					v.errorf(pos, "service variables can reference only stack variables, not ${%s}", ref)
					return
				}
				v.stackVar(pos, ref.Parts[0], "")
			})
		}
	}
	for _, svc := range v.cfg.Services {
		for i, dep := range svc.Spec.DependsOn {
			pos := svc.PosOf(fmt.Sprintf("spec.dependsOn[%d]", i))
			switch {
			case dep == svc.Metadata.Name:
				v.errorf(pos, "service %q depends on itself; remove it from dependsOn", dep)
			case v.services[dep] == nil:
				v.errorf(pos, "service %q depends on unknown service %q%s", svc.Metadata.Name, dep, suggest(dep, sortedKeys(v.services)))
			}
		}
	}
}

func (v *validator) componentChecks() {
	physical := map[string]*Component{} // "service-component" → the first component with it
	for _, c := range v.cfg.Components {
		v.checkName(&c.Document, "component")
		svcName := c.Metadata.Service
		switch {
		case svcName == "":
			v.errorf(c.PosOf("metadata"), "metadata.service is required for components: name the owning Service")
			continue
		case v.services[svcName] == nil:
			v.errorf(c.PosOf("metadata.service"), "component %q belongs to unknown service %q (add a Service document or fix the name)%s",
				c.Metadata.Name, svcName, suggest(svcName, sortedKeys(v.services)))
			continue
		}
		if prev, dup := v.byService[svcName][c.Metadata.Name]; dup {
			v.errorf(c.PosOf("metadata.name"), "duplicate component %q in service %q (first defined at %s); rename one", c.Metadata.Name, svcName, prev.Pos)
			continue
		}
		v.byService[svcName][c.Metadata.Name] = c
		v.g.AddNode(c.Address())
		// Physical names join service and component with '-', so a/b-c and a-b/c would be the
		// same AWS resource.
		joined := svcName + "-" + c.Metadata.Name
		if prev, clash := physical[joined]; clash {
			name := joined
			if v.stack != nil {
				name = PhysicalName(v.tenant, v.stack.Metadata.Name, v.envs[0], svcName, c.Metadata.Name)
			}
			v.errorf(c.PosOf("metadata.name"), "component %s and component %s (at %s) both have the physical name %q; rename one",
				c.Address(), prev.Address(), prev.PosOf("metadata.name"), name)
		} else {
			physical[joined] = c
		}
	}
	// Service-level dependencies: a barrier node per depended-on service (its ID has no '/', so
	// it never collides with a component address) keeps edges linear in the number of components.
	for _, svc := range v.cfg.Services {
		if v.byService[svc.Metadata.Name] == nil {
			continue
		}
		for i, dep := range svc.Spec.DependsOn {
			if v.services[dep] == nil || dep == svc.Metadata.Name {
				continue
			}
			pos := svc.PosOf(fmt.Sprintf("spec.dependsOn[%d]", i))
			v.g.AddNode(dep)
			for _, c := range v.byService[dep] {
				v.edge(dep, c.Address(), c.Pos)
			}
			for _, c := range v.byService[svc.Metadata.Name] {
				v.edge(c.Address(), dep, pos)
			}
		}
	}
	for _, c := range v.cfg.Components {
		if v.byService[c.Metadata.Service][c.Metadata.Name] != c {
			continue
		}
		v.checkComponent(c)
	}
}

func (v *validator) checkComponent(c *Component) {
	info, _ := LookupKind(c.Kind)
	check := &Check{v: v, comp: c, info: info}
	for i, dep := range c.Common.DependsOn {
		check.ref(fmt.Sprintf("dependsOn[%d]", i), dep, false)
	}
	// Interpolation and secrets, over every string in the spec.
	walkStrings(reflect.ValueOf(c.Spec), "spec", false, func(path, s string, secret bool) {
		refs := 0
		v.checkRefs(&c.Document, path, s, func(pos Pos, ref *interp.Ref) {
			refs++
			v.componentRef(check, pos, ref)
		})
		if secret && (s != "" || c.Has(path)) {
			v.checkSecret(c, path, s, refs)
		}
	})
	v.componentNameChecks(c, check)
	c.Spec.Validate(check)
}

// componentNameChecks checks c's physical names for the validator's tenant and environments:
// the AWS length limit (for the longest) and the kind's own naming rules.
func (v *validator) componentNameChecks(c *Component, check *Check) {
	info, _ := LookupKind(c.Kind)
	if info.NameLimit > 0 && v.stack != nil {
		suffix := ""
		if sf, ok := c.Spec.(nameSuffixer); ok {
			suffix = sf.PhysicalNameSuffix()
		}
		longest := ""
		for _, env := range v.envs {
			name := PhysicalName(v.tenant, v.stack.Metadata.Name, env, c.Metadata.Service, c.Metadata.Name) + suffix
			if len(name) > len(longest) {
				longest = name
			}
		}
		if len(longest) > info.NameLimit {
			what := "stack, service or component name"
			if v.tenant != "" {
				what = "tenant, stack, service or component name"
			}
			v.errorf(c.PosOf("metadata.name"), "physical name %q is %d characters, over the %d-character limit for %s; shorten the %s",
				longest, len(longest), info.NameLimit, info.NameWhat, what)
		}
	}
	if nv, ok := c.Spec.(NameValidator); ok {
		nv.ValidateName(check)
	}
}

// checkSecret accepts only secret references: a Secrets Manager or SSM ARN, "secretsmanager:NAME",
// "ssm:/NAME", or a ${...} whose every value is one.
func (v *validator) checkSecret(c *Component, path, s string, refs int) {
	const want = "a secret field takes a reference, never a literal: a Secrets Manager or SSM Parameter Store ARN, secretsmanager:NAME or ssm:/NAME"
	if refs == 0 {
		if !secretRefRe.MatchString(s) {
			v.errorf(c.PosOf(path), "%s is not a secret reference; %s", path, want)
		}
		return
	}
	segs, err := interp.Parse(s)
	if err != nil {
		return
	}
	hasOutput := slices.ContainsFunc(segs, func(seg interp.Segment) bool { return seg.Ref != nil && len(seg.Ref.Parts) > 1 })
	if hasOutput {
		// Resolved at apply time from another component's output, which must be the whole
		// value (an ARN such as ${db.masterSecretArn}), not text around it.
		if len(segs) != 1 {
			v.errorf(c.PosOf(path), "%s mixes text with a reference; a secret field takes exactly one reference, like ${db.masterSecretArn}", path)
		}
		return
	}
	if v.stack == nil {
		return // no stack, no variables to resolve it with (reported as such)
	}
	for _, env := range v.envs {
		vars := v.stack.Variables(env)
		val, ok := interp.Render(segs, func(r *interp.Ref) (string, bool) {
			val, ok := vars[r.Parts[0]]
			return val, ok
		})
		if ok && !secretRefRe.MatchString(val) {
			v.errorf(c.PosOf(path), "%s resolves to a value that is not a secret reference in environment %s; %s", path, env, want)
			return
		}
	}
}

// checkRefs parses s for ${...} and calls fn for each reference with its position.
func (v *validator) checkRefs(doc *Document, path, s string, fn func(Pos, *interp.Ref)) {
	if !interp.HasRefs(s) {
		return
	}
	segs, err := interp.Parse(s)
	if err != nil {
		v.interpError(doc, path, s, err)
		return
	}
	for _, seg := range segs {
		if seg.Ref != nil {
			fn(v.offsetPos(doc, path, s, seg.Offset), seg.Ref)
		}
	}
}

func (v *validator) interpError(doc *Document, path, s string, err error) {
	off := 0
	if ie, ok := err.(*interp.Error); ok {
		off = ie.Offset
	}
	v.errorf(v.offsetPos(doc, path, s, off), "%s: %v", path, err)
}

// offsetPos is the position of byte off inside the string value at path. For values written on
// one line it is exact; for block scalars it is the value's start.
func (v *validator) offsetPos(doc *Document, path, s string, off int) Pos {
	p := doc.PosOf(path)
	if p.Line > 0 && !strings.Contains(s[:off], "\n") {
		p.Col += off
	}
	return p
}

// stackVar checks that ${name} resolves in every environment being validated. svc, if set, is the
// service of the referring component, used for a hint.
func (v *validator) stackVar(pos Pos, name, svc string) {
	if v.stack == nil {
		return
	}
	var missing []string
	for _, env := range v.envs {
		if _, ok := v.stack.Variables(env)[name]; !ok {
			missing = append(missing, env)
		}
	}
	if len(missing) == 0 {
		return
	}
	hint := suggest(name, sortedKeys(v.stack.Variables(missing[0])))
	if s := v.services[svc]; s != nil && hasKey(s.Spec.Variables, name) {
		hint = fmt.Sprintf("; %s is a variable of service %s: write ${%s.%s}", name, svc, svc, name)
	} else if !strings.HasPrefix(hint, "; did you mean") {
		hint = ""
	}
	if len(missing) == len(v.envs) {
		v.errorf(pos, "undefined variable ${%s}: define it in the Stack's spec.variables%s", name, hint)
		return
	}
	v.errorf(pos, "variable ${%s} is not defined for environment %s: define it in spec.variables or in spec.environments.%s.variables%s",
		name, strings.Join(missing, ", "), missing[0], hint)
}

// componentRef resolves a reference written in component c's spec.
func (v *validator) componentRef(check *Check, pos Pos, ref *interp.Ref) {
	c := check.comp
	svc := c.Metadata.Service
	p := ref.Parts
	switch len(p) {
	case 1:
		v.stackVar(pos, p[0], svc)
	case 2:
		if target := v.byService[svc][p[0]]; target != nil {
			v.outputRef(check, pos, target, p[1], ref)
			return
		}
		if s := v.services[p[0]]; s != nil {
			if !hasKey(s.Spec.Variables, p[1]) {
				v.errorf(pos, "service %s has no variable %q%s", p[0], p[1], suggest(p[1], sortedKeys(s.Spec.Variables)))
			}
			return
		}
		for _, other := range sortedKeys(v.byService) {
			if v.byService[other][p[0]] != nil {
				v.errorf(pos, "unknown reference ${%s}: %s is a component of service %s; write ${%s.%s.%s}", ref, p[0], other, other, p[0], p[1])
				return
			}
		}
		names := append(sortedKeys(v.byService[svc]), sortedKeys(v.services)...)
		v.errorf(pos, "unknown reference ${%s}: %q is neither a component of service %s nor a service%s", ref, p[0], svc, suggest(p[0], names))
	case 3:
		comps := v.byService[p[0]]
		if comps == nil {
			v.errorf(pos, "unknown reference ${%s}: no service %q%s", ref, p[0], suggest(p[0], sortedKeys(v.services)))
			return
		}
		target := comps[p[1]]
		if target == nil {
			v.errorf(pos, "unknown reference ${%s}: service %s has no component %q%s", ref, p[0], p[1], suggest(p[1], sortedKeys(comps)))
			return
		}
		v.outputRef(check, pos, target, p[2], ref)
	}
}

func (v *validator) outputRef(check *Check, pos Pos, target *Component, output string, ref *interp.Ref) {
	c := check.comp
	if target == c {
		v.errorf(pos, "${%s} refers to the component's own output; a component cannot depend on itself", ref)
		return
	}
	info, _ := LookupKind(target.Kind)
	if !slices.Contains(info.Outputs, output) {
		v.errorf(pos, "%s %s has no output %q%s", target.Kind, target.Address(), output, suggest(output, info.Outputs))
		return
	}
	v.edge(c.Address(), target.Address(), pos)
}

func (v *validator) cycleChecks() {
	for _, cycle := range v.g.Cycles() {
		pos := v.edgePos[[2]string{cycle[0], cycle[1]}]
		labels := make([]string, len(cycle))
		for i, id := range cycle {
			labels[i] = id
			if !strings.Contains(id, "/") {
				labels[i] = "(service " + id + ")"
			}
		}
		v.errorf(pos, "dependency cycle: %s; remove one of these dependencies", strings.Join(labels, " → "))
	}
}

// walkStrings calls fn for every string reachable from v (struct fields, slices, maps, interfaces),
// with its path and whether its field is tagged secret. Map keys are visited in sorted order.
func walkStrings(v reflect.Value, path string, secret bool, fn func(path, s string, secret bool)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, secret, fn)
		}
	case reflect.String:
		fn(path, v.String(), secret)
	case reflect.Struct:
		info := structInfoOf(v.Type())
		for _, f := range info.fields {
			walkStrings(v.FieldByIndex(f.index), path+"."+f.name, f.secret, fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkStrings(v.Index(i), indexPath(path, i), secret, fn)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			walkStrings(v.MapIndex(k), path+"."+k.String(), secret, fn)
		}
	}
}
