package localaws

import (
	"encoding/json"
	"net/http"
	"strings"
)

// ---------------------------------------------------------------------------------------------
// CloudWatch Logs log group ARNs: kumo v0.33.1's DescribeLogGroups leaves out logGroupArn (the
// ARN the tagging operations take) and gives arn without the ":*" CloudWatch Logs ends it with.
// The layer adds logGroupArn and the ":*" to each log group of the answer. No state.

func init() {
	gapHandlers["logs.DescribeLogGroups"] = gapHandler{after: logsDescribeLogGroupsAfter}
}

func logsDescribeLogGroupsAfter(_ *gapServer, _, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(resp, &doc); err != nil {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	groups, _ := doc["logGroups"].([]any)
	for _, g := range groups {
		m, ok := g.(map[string]any)
		if !ok {
			continue
		}
		arn, _ := m["arn"].(string)
		if arn == "" {
			continue
		}
		if _, ok := m["logGroupArn"]; !ok {
			m["logGroupArn"] = strings.TrimSuffix(arn, ":*")
		}
		if !strings.HasSuffix(arn, ":*") {
			m["arn"] = arn + ":*"
		}
	}
	return json.Marshal(doc)
}
