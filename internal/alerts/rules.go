// Package alerts is the one canonical definition of the alert rules for a
// DashFlow WebSocket server. The operator renders each DashStream's
// PrometheusRule from it; nothing else in the repository spells a rule.
package alerts

import (
	"fmt"
	"strings"
)

// Severities of the rules.
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// RunbookBase is where each alert's runbook section lives.
const RunbookBase = "https://github.com/dashflow/dashstream-operator/blob/main/docs/alerts.md#"

// Target names the server one rule set watches.
type Target struct {
	// Namespace and Service select the server's scraped series.
	Namespace, Service string
	// Deployment is the server's Deployment, as kube-state-metrics names it.
	Deployment string
	// Pinned adds the rule that fires if a pinned server runs more than one
	// replica.
	Pinned bool
}

// Thresholds are the tunable limits of the rules, in seconds.
type Thresholds struct {
	LagOffsetAgeSeconds           int32
	PartitionStaleWarningSeconds  int32
	PartitionStaleCriticalSeconds int32
}

// DefaultThresholds are used for every threshold the spec leaves unset.
var DefaultThresholds = Thresholds{
	LagOffsetAgeSeconds:           60,
	PartitionStaleWarningSeconds:  300,
	PartitionStaleCriticalSeconds: 900,
}

// Rule is one alerting rule, ready to be written into a rule group.
type Rule struct {
	Alert       string
	Expr        string
	For         string
	Severity    string
	Summary     string
	Description string
}

// Runbook returns the URL of the rule's runbook section.
func (r Rule) Runbook() string {
	return RunbookBase + strings.ToLower(r.Alert)
}

// Rules returns the rule set for one server.
func Rules(t Target, th Thresholds) []Rule {
	sel := fmt.Sprintf(`namespace=%q,service=%q`, t.Namespace, t.Service)
	rules := []Rule{
		{
			Alert:    "DashStreamKafkaLagHigh",
			Expr:     fmt.Sprintf(`max(websocket_kafka_lag_offset_age_seconds{%s}) > %d`, sel, th.LagOffsetAgeSeconds),
			For:      "5m",
			Severity: SeverityWarning,
			Summary:  "The WebSocket server is falling behind its Kafka topic",
			Description: fmt.Sprintf("The oldest unconsumed message is older than %ds, so browser "+
				"clients see events late.", th.LagOffsetAgeSeconds),
		},
		partitionStale(sel, "DashStreamPartitionStale", SeverityWarning, th.PartitionStaleWarningSeconds),
		partitionStale(sel, "DashStreamPartitionStaleCritical", SeverityCritical, th.PartitionStaleCriticalSeconds),
		{
			Alert:       "DashStreamInfrastructureErrors",
			Expr:        fmt.Sprintf(`sum(increase(websocket_infrastructure_errors_total{%s}[5m])) > 0`, sel),
			For:         "10m",
			Severity:    SeverityWarning,
			Summary:     "The WebSocket server keeps hitting infrastructure errors",
			Description: "websocket_infrastructure_errors_total has risen for 10 minutes.",
		},
		{
			Alert:       "DashStreamServerDown",
			Expr:        fmt.Sprintf(`absent(up{%s} == 1)`, sel),
			For:         "2m",
			Severity:    SeverityCritical,
			Summary:     "No WebSocket server pod is up",
			Description: "Prometheus has scraped no healthy server pod for 2 minutes; clients get no events.",
		},
	}
	if t.Pinned {
		rules = append(rules, pinnedReplicas(t))
	}

	return rules
}

func partitionStale(sel, name, severity string, seconds int32) Rule {
	return Rule{
		Alert: name,
		Expr: fmt.Sprintf(`time() - max by (topic, partition) `+
			`(websocket_kafka_partition_last_message_timestamp_seconds{%s}) > %d`, sel, seconds),
		For:         "1m",
		Severity:    severity,
		Summary:     "A Kafka partition has delivered nothing for a long time",
		Description: fmt.Sprintf("A partition has had no message for more than %ds.", seconds),
	}
}

func pinnedReplicas(t Target) Rule {
	sel := fmt.Sprintf(`namespace=%q,deployment=%q`, t.Namespace, t.Deployment)

	return Rule{
		Alert: "DashStreamPinnedReplicasExceeded",
		Expr: fmt.Sprintf(`max(kube_deployment_spec_replicas{%[1]s}) > 1 `+
			`or max(kube_deployment_status_replicas{%[1]s}) > 1`, sel),
		For:      "1m",
		Severity: SeverityCritical,
		Summary:  "A server pinned to one replica runs more than one",
		Description: "Backplane mode None shares one consumer group, so with several pods each " +
			"client receives only some partitions: a partial stream.",
	}
}
