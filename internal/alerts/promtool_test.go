package alerts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
	"k8s.io/utils/ptr"
	sigsyaml "sigs.k8s.io/yaml"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/alerts"
)

// The promtool tests load each rule file Prometheus would load, feed it
// series, and check that every alert fires just above its threshold once
// its `for` has passed, not a minute earlier, and never at the threshold.
// The thresholds and durations below are written out, not read from the
// package: a rule that changes without its test fails here.

// promtool returns the promtool to run: $PROMTOOL, else bin/promtool.
func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}

	p, err := filepath.Abs(filepath.Join("..", "..", "bin", "promtool"))
	if err == nil {
		_, err = os.Stat(p)
	}

	if err != nil {
		t.Fatalf("promtool not found (%v): run 'make test', which builds it with "+
			"'hack/tools.sh promtool', or set PROMTOOL to a promtool binary", err)
	}

	return p
}

func TestPromtoolStaticRuleFile(t *testing.T) {
	file, err := alerts.RuleFile(alerts.RuleFileHeader, alerts.StaticGroups())
	if err != nil {
		t.Fatalf("render the static rule file: %v", err)
	}

	// absent() names no labels for regex matchers: the alert is unlabelled.
	s := newSuite(t, file, map[string]string{})
	runPromtool(t, file, s.groups([]scenario{
		{lagHigh, "DashStreamKafkaLagHigh", "warning", 60, 5},
		{partitionStale, "DashStreamPartitionStale", "warning", 300, 1},
		{partitionStale, "DashStreamPartitionStaleCritical", "critical", 900, 1},
		{infrastructureErrors, "DashStreamInfrastructureErrors", "warning", 0, 10},
		{serverDown, "DashStreamServerDown", "critical", 0, 2},
		{driftCorrections, "DashStreamOperatorDriftCorrections", "warning", 0, 30},
		{webhookErrors, "DashStreamOperatorWebhookErrors", "warning", 0, 5},
	}))
}

func TestPromtoolRenderedPrometheusRule(t *testing.T) {
	cases := []struct {
		name      string
		ds        *streamingv1alpha1.DashStream
		scenarios []scenario
	}{
		{"defaults, pinned", dashStream("", nil, nil, nil), []scenario{
			{lagHigh, "DashStreamKafkaLagHigh", "warning", 60, 5},
			{partitionStale, "DashStreamPartitionStale", "warning", 300, 1},
			{partitionStale, "DashStreamPartitionStaleCritical", "critical", 900, 1},
			{infrastructureErrors, "DashStreamInfrastructureErrors", "warning", 0, 10},
			{serverDown, "DashStreamServerDown", "critical", 0, 2},
			{pinnedReplicas, "DashStreamPinnedReplicasExceeded", "critical", 1, 1},
		}},
		{"custom thresholds, not pinned", dashStream(streamingv1alpha1.BackplanePerPodConsumerGroup,
			ptr.To[int32](120), ptr.To[int32](600), ptr.To[int32](1800)), []scenario{
			{lagHigh, "DashStreamKafkaLagHigh", "warning", 120, 5},
			{partitionStale, "DashStreamPartitionStale", "warning", 600, 1},
			{partitionStale, "DashStreamPartitionStaleCritical", "critical", 1800, 1},
			{serverDown, "DashStreamServerDown", "critical", 0, 2},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			groups := renderedRule(t, tc.ds).Spec.Groups
			file, err := sigsyaml.Marshal(map[string]any{"groups": groups})
			if err != nil {
				t.Fatalf("write the rendered groups as a rule file: %v", err)
			}

			s := newSuite(t, file, map[string]string{"namespace": namespace, "service": server})
			runPromtool(t, file, s.groups(tc.scenarios))
		})
	}
}

// runPromtool checks rules with promtool and runs the unit tests on it.
func runPromtool(t *testing.T, rules []byte, tests []testGroup) {
	t.Helper()
	bin, dir := promtool(t), t.TempDir()
	unit, err := yaml.Marshal(unitFile{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: "1m",
		Tests: tests})
	if err != nil {
		t.Fatalf("encode the promtool tests: %v", err)
	}

	write(t, filepath.Join(dir, "rules.yaml"), rules)
	write(t, filepath.Join(dir, "tests.yaml"), unit)
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "tests.yaml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v failed: %v\n%s\nrules.yaml:\n%s", args, err, out, rules)
		}
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// newSuite reads the annotations each alert of the rule file carries, which
// promtool compares along with the labels.
func newSuite(t *testing.T, rules []byte, absent map[string]string) suite {
	t.Helper()
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rules, &file); err != nil {
		t.Fatalf("read the rule file: %v", err)
	}

	s := suite{annotations: map[string]map[string]string{}, absent: absent}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			s.annotations[r.Alert] = r.Annotations
		}
	}

	return s
}
