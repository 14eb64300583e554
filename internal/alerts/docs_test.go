package alerts_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/dashflow/dashstream-operator/internal/alerts"
)

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	s := strings.ToLower(strings.TrimSpace(heading))
	s = regexp.MustCompile(`[^a-z0-9 _-]`).ReplaceAllString(s, "")

	return strings.ReplaceAll(s, " ", "-")
}

func TestEveryRunbookURLLeadsToASection(t *testing.T) {
	doc := alerts.AlertsMarkdown()
	anchors := map[string]bool{}
	for _, line := range strings.Split(doc, "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			anchors[githubAnchor(h)] = true
		}
	}

	for _, r := range everyRule() {
		_, fragment, _ := strings.Cut(r.Runbook(), "#")
		if !anchors[fragment] {
			t.Errorf("runbook_url of %s points at #%s, which no section of docs/alerts.md has",
				r.Alert, fragment)
		}
	}
}

func TestAlertsDocShowsEveryExpression(t *testing.T) {
	doc := alerts.AlertsMarkdown()
	rules := append(alerts.Rules(alerts.ExampleTarget, alerts.DefaultThresholds), alerts.OperatorRules()...)
	for _, r := range rules {
		if !strings.Contains(doc, "```promql\n"+r.Expr+"\n```") {
			t.Errorf("docs/alerts.md does not show the expression of %s", r.Alert)
		}
	}
}

func TestEveryAlertIsExplained(t *testing.T) {
	doc := alerts.AlertsMarkdown()
	for _, r := range everyRule() {
		_, section, _ := strings.Cut(doc, "\n### "+r.Alert+"\n")
		section, _, _ = strings.Cut(section, "\n### ")
		for _, part := range []string{"**What it means.** ", "**What to do.** "} {
			if _, text, _ := strings.Cut(section, part); strings.HasPrefix(text, "\n") || text == "" {
				t.Errorf("the section of %s has no %q text", r.Alert, strings.Trim(part, "* "))
			}
		}
	}
}

func TestAlertsDocSaysStalePartitionSecondsTunesLoggingOnly(t *testing.T) {
	doc := alerts.AlertsMarkdown()
	for _, w := range []string{"KAFKA_LAG_STALE_PARTITION_SECS", "spec.kafka.stalePartitionSeconds",
		"No alert depends on it"} {
		if !strings.Contains(doc, w) {
			t.Errorf("docs/alerts.md does not mention %q", w)
		}
	}
}

func TestMetricsDocListsEveryMetric(t *testing.T) {
	doc, err := alerts.MetricsMarkdown()
	if err != nil {
		t.Fatal(err)
	}

	for _, m := range alerts.Metrics() {
		if !strings.Contains(doc, "| `"+m.Name+"` |") {
			t.Errorf("docs/metrics.md has no row for %s", m.Name)
		}
	}
}
