package sessionize

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestGoldenInputsOtherCampaignRule runs every testdata/NAME.jsonl again with
// Config.SplitOnCampaign flipped: the final live sessions must match the
// reference sessionizer and every arrival order must agree, as in
// TestGolden (there is no golden file for the flipped runs). The cases
// written for the gap, cap and restatement rules thus also check the
// campaign rule on their UTM fields, and the campaign cases the rules
// without it.
func TestGoldenInputsOtherCampaignRule(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".jsonl")
		t.Run(name, func(t *testing.T) {
			cfg, events := readCase(t, file)
			cfg.SplitOnCampaign = !cfg.SplitOnCampaign
			_, live := runCase(t, cfg, events)
			checkPermutations(t, cfg, events, live)
		})
	}
}
