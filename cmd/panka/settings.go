package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/panka/panka"
	"github.com/panka/panka/schema"
)

// settings say where state and locks live and which provider to use. They come, each one
// overriding the last, from defaults, the config file (panka.yaml in the working directory, or
// --config), environment variables (PANKA_*), and flags.
type settings struct {
	Backend          string `yaml:"backend" env:"PANKA_BACKEND" flag:"backend" usage:"state backend: file or s3"`
	StateDir         string `yaml:"stateDir" env:"PANKA_STATE_DIR" flag:"state-dir" usage:"directory of the file backend's state and locks, the simulated cloud and the local AWS data"`
	Bucket           string `yaml:"bucket" env:"PANKA_S3_BUCKET" flag:"bucket" usage:"S3 bucket of the state (backend s3)"`
	Prefix           string `yaml:"prefix" env:"PANKA_S3_PREFIX" flag:"prefix" usage:"key prefix of the state objects in the bucket"`
	Region           string `yaml:"region" env:"PANKA_REGION" flag:"region" usage:"AWS region of the bucket and lock table (default: the SDK's)"`
	LockTable        string `yaml:"lockTable" env:"PANKA_LOCK_TABLE" flag:"lock-table" usage:"DynamoDB table of the locks (backend s3)"`
	KMSKey           string `yaml:"kmsKey" env:"PANKA_KMS_KEY" flag:"kms-key" usage:"KMS key for state encryption (default: SSE-S3)"`
	Endpoint         string `yaml:"endpoint" env:"PANKA_ENDPOINT" flag:"endpoint" usage:"AWS endpoint URL for S3 and DynamoDB (default: the SDK's, e.g. AWS_ENDPOINT_URL)"`
	AllowUnversioned bool   `yaml:"allowUnversioned" env:"PANKA_ALLOW_UNVERSIONED" flag:"allow-unversioned" usage:"accept a state bucket without versioning (no history)"`
	Tenant           string `yaml:"tenant" env:"PANKA_TENANT" flag:"tenant" usage:"tenant (team) whose state and locks are used"`
	Provider         string `yaml:"provider" env:"PANKA_PROVIDER" flag:"provider" usage:"cloud provider: aws (the default) or sim, the simulated cloud for trials and tests"`
	MaxFileSize      int64  `yaml:"maxFileSize" env:"PANKA_MAX_FILE_SIZE" flag:"max-file-size" usage:"largest YAML file read, in bytes (default 64 MiB)"`
}

// SetDefaults fills the defaults (called before the file is decoded).
func (s *settings) SetDefaults() {
	*s = settings{Backend: "file", StateDir: ".panka", Prefix: "panka", LockTable: "panka-locks", Tenant: panka.DefaultTenant, Provider: "aws"}
}

const defaultConfigFile = "panka.yaml"

// registerSettings adds a flag for every setting, plus --config, to fs. The flags hold strings so
// that "not given" can be told from "given empty"; loadSettings applies only those given.
func registerSettings(fs *flag.FlagSet) (configPath *string, values map[string]*string) {
	values = map[string]*string{}
	t := reflect.TypeOf(settings{})
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("flag")
		values[name] = fs.String(name, "", f.Tag.Get("usage")+" [$"+f.Tag.Get("env")+"]")
	}
	return fs.String("config", "", "settings file (default: ./"+defaultConfigFile+" if present)"), values
}

// loadSettings resolves the settings: defaults, file, environment, then the flags set on fs.
func loadSettings(fs *flag.FlagSet, configPath string, values map[string]*string, getenv func(string) string) (*settings, error) {
	var s settings
	s.SetDefaults()
	path, explicit := configPath, configPath != ""
	if !explicit {
		path = defaultConfigFile
	}
	data, err := readSettingsFile(path)
	var doc *schema.Document
	switch {
	case err == nil:
		if doc, err = schema.DecodeFile(path, data, &s); err != nil {
			return nil, err
		}
	case explicit || !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("config file: %w", err)
	}
	source := map[string]string{} // yaml name → where its value came from, if not the file
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	v := reflect.ValueOf(&s).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		val, from := getenv(f.Tag.Get("env")), "$"+f.Tag.Get("env")
		if given[f.Tag.Get("flag")] {
			val, from = *values[f.Tag.Get("flag")], "--"+f.Tag.Get("flag")
		} else if val == "" {
			continue
		}
		source[f.Tag.Get("yaml")] = from
		switch v.Field(i).Kind() {
		case reflect.Int64:
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 1 {
				return nil, &usageError{fmt.Sprintf("%s=%q: give a number of bytes", from, val)}
			}
			v.Field(i).SetInt(n)
		case reflect.Bool:
			b, ok := parseBool(val)
			if !ok {
				return nil, &usageError{fmt.Sprintf("%s=%q: use true or false", from, val)}
			}
			v.Field(i).SetBool(b)
		default:
			v.Field(i).SetString(val)
		}
	}
	if problems := s.check(); len(problems) > 0 {
		return nil, settingsError(problems, doc, source)
	}
	return &s, nil
}

// problem is a bad setting: the yaml name of the field and what is wrong.
type problem struct{ field, msg string }

// settingsError reports problems where the values came from: at file:line:col for values of the
// config file, naming the variable or flag otherwise.
func settingsError(problems []problem, doc *schema.Document, source map[string]string) error {
	var diags panka.Diagnostics
	var other []string
	for _, p := range problems {
		switch {
		case source[p.field] != "":
			other = append(other, source[p.field]+": "+p.msg)
		case doc != nil && doc.Has(p.field):
			diags = append(diags, panka.Diagnostic{Pos: doc.PosOf(p.field), Message: p.msg})
		default:
			other = append(other, p.msg)
		}
	}
	if len(other) > 0 {
		return &usageError{"settings: " + strings.Join(other, "; ")}
	}
	return diags
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}

// check validates values the file, environment and flags may all have set.
func (s *settings) check() []problem {
	var out []problem
	if !slices.Contains([]string{"file", "s3"}, s.Backend) {
		out = append(out, problem{"backend", fmt.Sprintf("backend %q: use file or s3", s.Backend)})
	}
	if !slices.Contains([]string{"sim", "aws"}, s.Provider) {
		out = append(out, problem{"provider", fmt.Sprintf("provider %q: use sim or aws", s.Provider)})
	}
	if s.Backend == "s3" && s.Bucket == "" {
		out = append(out, problem{"bucket", "backend s3 needs a bucket (bucket:, $PANKA_S3_BUCKET or --bucket)"})
	}
	if s.Backend == "s3" && s.LockTable == "" {
		out = append(out, problem{"lockTable", "backend s3 needs a lock table (lockTable:, $PANKA_LOCK_TABLE or --lock-table)"})
	}
	if s.StateDir == "" {
		out = append(out, problem{"stateDir", "stateDir must not be empty"})
	}
	if s.Endpoint != "" && !strings.HasPrefix(s.Endpoint, "http://") && !strings.HasPrefix(s.Endpoint, "https://") {
		out = append(out, problem{"endpoint", fmt.Sprintf("endpoint %q must be an http:// or https:// URL", s.Endpoint)})
	}
	return out
}

// maxSettingsFile bounds the settings file: it holds a few short settings.
const maxSettingsFile = 1 << 20

// readSettingsFile reads the settings file at path, refusing anything but a regular file (a
// named pipe would block, a device never end) and more than maxSettingsFile bytes.
func readSettingsFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSettingsFile+1))
	if err == nil && len(data) > maxSettingsFile {
		err = fmt.Errorf("%s is larger than %d bytes: not a settings file", path, maxSettingsFile)
	}
	return data, err
}
