package alerts_test

import (
	"strings"
	"testing"

	"github.com/dashflow/dashstream-operator/internal/alerts"
)

func TestValidateRejectsBrokenRules(t *testing.T) {
	good := alerts.Rules(alerts.Target{Namespace: "shop", Service: "events-websocket-server"},
		alerts.DefaultThresholds)[0]
	cases := []struct {
		name string
		edit func(*alerts.Rule)
		want []string // substrings of the error
	}{
		{"unbalanced parenthesis", func(r *alerts.Rule) { r.Expr = `max by (namespace (up) > 1` },
			[]string{`alert "DashStreamKafkaLagHigh"`, "does not parse"}},
		{"unknown function", func(r *alerts.Rule) { r.Expr = `maximum(up) > 1` },
			[]string{"does not parse", "maximum"}},
		{"scalar result", func(r *alerts.Rule) { r.Expr = `time() > bool 5` },
			[]string{"yields a scalar, not an instant vector"}},
		{"empty expression", func(r *alerts.Rule) { r.Expr = "" }, []string{"does not parse"}},
		{"English duration", func(r *alerts.Rule) { r.For = "5 minutes" }, []string{`for "5 minutes"`}},
		{"no duration", func(r *alerts.Rule) { r.For = "" }, []string{`for ""`}},
		{"unknown severity", func(r *alerts.Rule) { r.Severity = "page" }, []string{`severity "page"`}},
		{"no name", func(r *alerts.Rule) { r.Alert = "" }, []string{"alert name must be non-empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			broken := good
			tc.edit(&broken)
			err := alerts.Validate([]alerts.Rule{good, broken})
			if err == nil {
				t.Fatalf("Validate accepted %+v", broken)
			}

			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestValidateAcceptsEveryRuleSet(t *testing.T) {
	sets := map[string][]alerts.Rule{
		"pinned server": alerts.Rules(alerts.Target{Namespace: "shop", Service: "events-websocket-server",
			Deployment: "events-websocket-server", Pinned: true}, alerts.DefaultThresholds),
		"all servers": alerts.AllServersRules(alerts.DefaultThresholds),
		"operator":    alerts.OperatorRules(),
	}
	for name, rules := range sets {
		if err := alerts.Validate(rules); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestThresholdsValidate(t *testing.T) {
	cases := []struct {
		name string
		th   alerts.Thresholds
		want []string // substrings of the error; none means valid
	}{
		{"defaults", alerts.DefaultThresholds, nil},
		{"custom", thresholds(1, 10, 11), nil},
		{"critical equals warning", thresholds(60, 600, 600), []string{
			"spec.monitoring.prometheusRule.partitionStaleCriticalSeconds",
			"must be greater than partitionStaleWarningSeconds (600)"}},
		{"critical below warning", thresholds(60, 900, 300), []string{"partitionStaleCriticalSeconds"}},
		{"zero lag", thresholds(0, 300, 900),
			[]string{"spec.monitoring.prometheusRule.lagOffsetAgeSeconds", "must be greater than 0"}},
		{"negative warning", thresholds(60, -1, 900),
			[]string{"spec.monitoring.prometheusRule.partitionStaleWarningSeconds"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.th.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want no error", tc.th, err)
				}

				return
			}

			if err == nil {
				t.Fatalf("Validate(%+v) accepted thresholds that make the rules wrong", tc.th)
			}

			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func thresholds(lag, warn, crit int32) alerts.Thresholds {
	return alerts.Thresholds{LagOffsetAgeSeconds: lag, PartitionStaleWarningSeconds: warn,
		PartitionStaleCriticalSeconds: crit}
}
