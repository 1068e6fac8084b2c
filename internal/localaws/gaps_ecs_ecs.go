package localaws

import (
	"encoding/json"
	"time"
)

// ---------------------------------------------------------------------------------------------
// ECS cluster settings (gaps_ecs_ecs.go): kumo v0.33.1 has no UpdateClusterSettings (nor does
// the ECS layer of gaps_ecs.go, which owns all of ECS). The layer answers it here, on the ECS
// layer's clusters (whose settings CreateCluster keeps and DescribeClusters answers with): the
// settings given replace those of the same name, others are kept. Only containerInsights
// exists in ECS; another name is an InvalidParameterException, as in ECS.

func init() {
	ecsOps["UpdateClusterSettings"] = ecsUpdateClusterSettings
	gapHandlers["ecs.UpdateClusterSettings"] = gapHandler{answer: ecsAnswer}
}

func ecsUpdateClusterSettings(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	type setting struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	var in struct {
		Cluster  string    `json:"cluster"`
		Settings []setting `json:"settings"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	name, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	var have []setting
	if raw, ok := c.Spec["settings"]; ok {
		_ = json.Unmarshal(raw, &have)
	}
	for _, s := range in.Settings {
		if s.Name != "containerInsights" {
			return nil, false, ecsErrorf("InvalidParameterException", "Invalid cluster setting name %q: containerInsights is the only one.", s.Name)
		}
		found := false
		for i := range have {
			if have[i].Name == s.Name {
				have[i].Value, found = s.Value, true
			}
		}
		if !found {
			have = append(have, s)
		}
	}
	raw, err := json.Marshal(have)
	if err != nil {
		return nil, false, err
	}
	if c.Spec == nil {
		c.Spec = map[string]json.RawMessage{}
	}
	c.Spec["settings"] = raw
	return map[string]any{"cluster": g.clusterJSON(name, c, now, nil)}, true, nil
}
