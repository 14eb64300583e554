// Package alerts is the one canonical definition of the alert rules for a
// DashFlow WebSocket server and for the operator itself, and of the metrics
// those rules read. The operator renders each DashStream's PrometheusRule
// from it, hack/gen-alerts writes the plain Prometheus rule file and the
// docs from it, and nothing else in the repository spells a rule.
package alerts

import (
	"fmt"
	"regexp"
	"strings"
)

// Severities of the rules.
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// RunbookBase is where each alert's runbook section lives.
const RunbookBase = "https://github.com/dashflow/dashstream-operator/blob/main/docs/alerts.md#"

// AllServersMatcher selects the scraped series of every WebSocket server
// the operator runs: their Services are all named <dashstream>-websocket-server
// (render.ServerObjectName), in any namespace.
const AllServersMatcher = `namespace=~".+",service=~".+-websocket-server"`

// OperatorWebhookPaths are the paths the operator serves its admission
// webhooks at (internal/admission registers the same ones). Every
// controller-runtime manager exports controller_runtime_webhook_requests_total,
// so the webhook alert watches only these paths.
var OperatorWebhookPaths = []string{
	"/validate-autoscaling-horizontalpodautoscaler",
	"/validate-apps-deployment-scale",
	"/validate-apps-deployment",
	"/validate-streaming-dashflow-io-v1alpha1-dashstream",
}

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

// Thresholds are the tunable limits of the rules, in seconds. Each comes
// from the field of the same name under spec.monitoring.prometheusRule.
type Thresholds struct {
	// LagOffsetAgeSeconds is the offset age above which DashStreamKafkaLagHigh fires.
	LagOffsetAgeSeconds int32
	// PartitionStaleWarningSeconds is the silence after which
	// DashStreamPartitionStale fires.
	PartitionStaleWarningSeconds int32
	// PartitionStaleCriticalSeconds is the silence after which
	// DashStreamPartitionStaleCritical fires; it must exceed the warning.
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
	// Alert is the alert's name.
	Alert string
	// Expr is the PromQL expression; every series it returns is an alert.
	Expr string
	// For is how long Expr must hold before the alert fires, as Prometheus
	// writes durations ("5m").
	For string
	// Severity is the value of the severity label.
	Severity string
	// Summary is the one-line summary annotation.
	Summary string
	// Description is the description annotation.
	Description string
}

// Runbook returns the URL of the rule's runbook section.
func (r Rule) Runbook() string {
	return RunbookBase + strings.ToLower(r.Alert)
}

// Labels returns the labels the rule adds to its alerts.
func (r Rule) Labels() map[string]string {
	return map[string]string{"severity": r.Severity}
}

// Annotations returns the annotations the rule adds to its alerts.
func (r Rule) Annotations() map[string]string {
	return map[string]string{"summary": r.Summary, "description": r.Description, "runbook_url": r.Runbook()}
}

// Rules returns the rule set for one server. Its expressions keep the
// namespace and service labels, so every alert says which server it is about.
func Rules(t Target, th Thresholds) []Rule {
	server := fmt.Sprintf(`namespace=%q,service=%q`, t.Namespace, t.Service)
	rules := serverRules(server, th)
	if t.Pinned {
		deployment := fmt.Sprintf(`namespace=%q,deployment=%q`, t.Namespace, t.Deployment)
		rules = append(rules, pinnedReplicas(deployment))
	}

	return rules
}

// AllServersRules returns the rule set for every server one Prometheus
// scrapes, selected by AllServersMatcher. Each expression aggregates by
// namespace and service, so one rule fires once per affected server. The
// pinned-replicas rule is not part of it: whether a server is pinned
// depends on its DashStream's spec, which no metric carries.
func AllServersRules(th Thresholds) []Rule {
	return serverRules(AllServersMatcher, th)
}

// OperatorRules returns the rules about the operator itself. They do not
// depend on any DashStream, so they belong in one rule group per cluster.
func OperatorRules() []Rule {
	return []Rule{driftCorrections(), webhookErrors()}
}

// serverRules returns the rules every server gets; sel selects its series.
func serverRules(sel string, th Thresholds) []Rule {
	return []Rule{
		lagHigh(sel, th.LagOffsetAgeSeconds),
		partitionStale(sel, "DashStreamPartitionStale", SeverityWarning, th.PartitionStaleWarningSeconds),
		partitionStale(sel, "DashStreamPartitionStaleCritical", SeverityCritical,
			th.PartitionStaleCriticalSeconds),
		infrastructureErrors(sel),
		serverDown(sel),
	}
}

func lagHigh(sel string, seconds int32) Rule {
	return Rule{
		Alert: "DashStreamKafkaLagHigh",
		Expr: fmt.Sprintf(`max by (namespace, service) (websocket_kafka_lag_offset_age_seconds{%s}) > %d`,
			sel, seconds),
		For:      "5m",
		Severity: SeverityWarning,
		Summary:  "The WebSocket server is falling behind its Kafka topic",
		Description: fmt.Sprintf("The server's consumer offset on a partition has not advanced for more "+
			"than %ds for 5 minutes, so browser clients see events late.", seconds),
	}
}

func partitionStale(sel, name, severity string, seconds int32) Rule {
	return Rule{
		Alert: name,
		Expr: fmt.Sprintf(`time() - max by (namespace, service, topic, partition) `+
			`(websocket_kafka_partition_last_message_timestamp_seconds{%s}) > %d`, sel, seconds),
		For:         "1m",
		Severity:    severity,
		Summary:     "A Kafka partition has delivered nothing for a long time",
		Description: fmt.Sprintf("A partition has had no message for more than %ds.", seconds),
	}
}

func infrastructureErrors(sel string) Rule {
	return Rule{
		Alert: "DashStreamInfrastructureErrors",
		Expr: fmt.Sprintf(`sum by (namespace, service) `+
			`(increase(websocket_infrastructure_errors_total{%s}[5m])) > 0`, sel),
		For:         "10m",
		Severity:    SeverityWarning,
		Summary:     "The WebSocket server keeps hitting infrastructure errors",
		Description: "websocket_infrastructure_errors_total has risen for 10 minutes.",
	}
}

// serverDown fires when every scraped pod of a server is down, and, through
// absent(), when none is scraped at all. absent() can name only the labels
// of equality matchers, so with AllServersMatcher its alert carries no
// namespace or service: it then means that no server is scraped anywhere.
func serverDown(sel string) Rule {
	return Rule{
		Alert:       "DashStreamServerDown",
		Expr:        fmt.Sprintf(`max by (namespace, service) (up{%[1]s}) == 0 or absent(up{%[1]s})`, sel),
		For:         "2m",
		Severity:    SeverityCritical,
		Summary:     "No WebSocket server pod is up",
		Description: "Prometheus has scraped no healthy server pod for 2 minutes; clients get no events.",
	}
}

func pinnedReplicas(sel string) Rule {
	return Rule{
		Alert: "DashStreamPinnedReplicasExceeded",
		Expr: fmt.Sprintf(`max by (namespace, deployment) (kube_deployment_spec_replicas{%[1]s}) > 1 `+
			`or max by (namespace, deployment) (kube_deployment_status_replicas{%[1]s}) > 1`, sel),
		For:      "1m",
		Severity: SeverityCritical,
		Summary:  "A server pinned to one replica runs more than one",
		Description: "Backplane mode None shares one consumer group, so with several pods each " +
			"client receives only some partitions: a partial stream.",
	}
}

// driftCorrections fires when the operator has had to revert changes to
// DashStream children without a break for half an hour: something (an
// overlay, an HPA, a person) keeps fighting it.
func driftCorrections() Rule {
	return Rule{
		Alert:    "DashStreamOperatorDriftCorrections",
		Expr:     `sum by (field) (increase(dashstream_drift_corrections_total[15m])) > 0`,
		For:      "30m",
		Severity: SeverityWarning,
		Summary:  "Something keeps changing DashStream children and the operator keeps reverting it",
		Description: "The operator has reverted changes to the same field of DashStream children " +
			"within every 15 minutes for 30 minutes.",
	}
}

func webhookErrors() Rule {
	paths := make([]string, len(OperatorWebhookPaths))
	for i, p := range OperatorWebhookPaths {
		paths[i] = regexp.QuoteMeta(p)
	}

	return Rule{
		Alert: "DashStreamOperatorWebhookErrors",
		Expr: fmt.Sprintf(`sum by (webhook) (increase(controller_runtime_webhook_requests_total`+
			`{code="500",webhook=~%q}[5m])) > 0`, strings.Join(paths, "|")),
		For:      "5m",
		Severity: SeverityWarning,
		Summary:  "The operator's admission webhooks are failing",
		Description: "An admission webhook of the DashStream operator has answered with HTTP 500 " +
			"for 5 minutes; most of them fail closed, refusing the requests they guard.",
	}
}
