package schema

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Temporary: prints each case's diagnostics with a caret under the position. PANKA_CARET=TestName.
func caretDump(t *testing.T, cases []ruleCase) {
	for _, tc := range cases {
		got := diagsFor(t, tc.docs)
		lines := strings.Split(tc.docs, "\n")
		fmt.Printf("=== %s\n", tc.name)
		for _, g := range got {
			parts := strings.SplitN(g, ":", 3)
			l, _ := strconv.Atoi(parts[0])
			c, _ := strconv.Atoi(parts[1])
			fmt.Println(g)
			if l >= 1 && l <= len(lines) {
				fmt.Println("    " + lines[l-1])
				fmt.Println("    " + strings.Repeat(" ", max(c-1, 0)) + "^")
			}
		}
	}
}

var _ = os.Getenv

func TestZZCaret(t *testing.T) {
	if os.Getenv("PANKA_CARET") == "" {
		t.Skip()
	}
	all := map[string][]ruleCase{"SQS": msgSQSCases, "SNS": msgSNSCases, "MSK": msgMSKCases, "Kafka": msgKafkaCases, "EB": msgEventBridgeCases, "ALB": netALBCases, "NLB": netNLBCases, "CF": netCloudFrontCases, "API": netAPIGatewayCases}
	caretDump(t, all[os.Getenv("PANKA_CARET")])
}
