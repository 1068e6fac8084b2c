package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// cliMainEnv makes the test binary run the CLI's main instead of the tests: the crash and
// concurrency tests start the CLI as separate OS processes this way (see cli.command).
const cliMainEnv = "PANKA_CLI_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(cliMainEnv) == "1" {
		main()
		return
	}
	testscript.Main(m, map[string]func(){
		"panka": main,
	})
}

// TestScripts runs the CLI end to end as a user types it: one scenario per testdata/script/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// Give scripts the repository's examples.
			env.Setenv("EXAMPLES", mustAbs("../../examples"))
			env.Setenv("GORACE", childGORACE())
			// The scenarios run on the simulated cloud unless they say otherwise (env
			// PANKA_PROVIDER=aws, --provider aws); the CLI's own default is aws.
			env.Setenv("PANKA_PROVIDER", "sim")
			return nil
		},
		Cmds: scriptCommands,
	})
}

func mustAbs(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return wd + "/" + p
}
