package alerts_test

import (
	"slices"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/dashflow/dashstream-operator/internal/alerts"
)

// everyRule is every rule the package can produce.
func everyRule() []alerts.Rule {
	pinned := alerts.Target{Namespace: "shop", Service: "events-websocket-server",
		Deployment: "events-websocket-server", Pinned: true}
	rules := alerts.Rules(pinned, alerts.DefaultThresholds)
	rules = append(rules, alerts.AllServersRules(alerts.DefaultThresholds)...)

	return append(rules, alerts.OperatorRules()...)
}

func catalogue() map[string]alerts.Metric {
	out := map[string]alerts.Metric{}
	for _, m := range alerts.Metrics() {
		out[m.Name] = m
	}

	return out
}

func TestCatalogueListsEveryMetricTheRulesRead(t *testing.T) {
	known := catalogue()
	for _, r := range everyRule() {
		names, err := alerts.MetricNames(r.Expr)
		if err != nil {
			t.Fatalf("alert %s: %v", r.Alert, err)
		}

		for _, n := range names {
			if _, ok := known[n]; !ok {
				t.Errorf("alert %s reads %s, which the metric catalogue does not describe", r.Alert, n)
			}
		}
	}
}

// TestRulesUseOnlyLabelsTheirMetricsHave catches a matcher or grouping on
// a label no input metric carries, which would silently match nothing.
func TestRulesUseOnlyLabelsTheirMetricsHave(t *testing.T) {
	known := catalogue()
	for _, r := range everyRule() {
		names, err := alerts.MetricNames(r.Expr)
		if err != nil {
			t.Fatalf("alert %s: %v", r.Alert, err)
		}

		have := slices.Clone(alerts.TargetLabels)
		for _, n := range names {
			have = append(have, known[n].Labels...)
		}

		for _, l := range usedLabels(t, r.Expr) {
			if !slices.Contains(have, l) {
				t.Errorf("alert %s uses label %q, which none of %v carries", r.Alert, l, names)
			}
		}
	}
}

func TestCatalogueEntriesAreComplete(t *testing.T) {
	for _, m := range alerts.Metrics() {
		if m.Type != alerts.Counter && m.Type != alerts.Gauge {
			t.Errorf("%s has type %q", m.Name, m.Type)
		}

		if m.Help == "" || m.ExportedBy == "" {
			t.Errorf("%s lacks its meaning or who exports it", m.Name)
		}
	}
}

func TestCatalogueListsTheOperatorsMetrics(t *testing.T) {
	known := catalogue()
	for _, name := range []string{"dashstream_drift_corrections_total", "dashstream_admission_denials_total",
		"dashstream_dashstreams"} {
		if known[name].ExportedBy != alerts.ExporterOperator {
			t.Errorf("%s is missing from the catalogue or not marked as the operator's", name)
		}
	}
}

// usedLabels returns the label names expr matches on or groups by.
func usedLabels(t *testing.T, expr string) []string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("parse %q: %v", expr, err)
	}

	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			for _, m := range n.LabelMatchers {
				if m.Name != "__name__" {
					out = append(out, m.Name)
				}
			}
		case *parser.AggregateExpr:
			out = append(out, n.Grouping...)
		}

		return nil
	})

	return out
}
