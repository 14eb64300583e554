package alerts

import (
	"fmt"
	"maps"
	"slices"

	"github.com/prometheus/prometheus/promql/parser"
)

// MetricType is a Prometheus metric type.
type MetricType string

// Metric types used in the catalogue.
const (
	Counter MetricType = "counter"
	Gauge   MetricType = "gauge"
)

// Exporters of the metrics in the catalogue.
const (
	ExporterServer           = "DashFlow WebSocket server (/metrics on its Service)"
	ExporterPrometheus       = "Prometheus itself, for every scrape target"
	ExporterKubeStateMetrics = "kube-state-metrics"
	ExporterOperator         = "DashStream operator (manager /metrics, port 8443)"
	ExporterControllerRT     = "controller-runtime, inside the DashStream operator's manager"
)

// TargetLabels are the labels Prometheus adds to every series of a
// scraped server, which the rules select and group by. prometheus-operator's
// ServiceMonitor sets them; a plain Prometheus needs the relabelling shown
// in docs/metrics.md.
var TargetLabels = []string{"namespace", "service", "pod"}

// Metric describes one metric the rules read or the operator exports.
type Metric struct {
	// Name is the metric's name, without _bucket or similar suffixes.
	Name string
	// Type is counter or gauge.
	Type MetricType
	// Labels are the metric's own labels, without TargetLabels.
	Labels []string
	// Help says what one sample means.
	Help string
	// ExportedBy says which program exports the metric.
	ExportedBy string
}

// Metrics returns the catalogue: every metric the rules use and every
// metric the operator exports. The operator's own come last.
func Metrics() []Metric {
	return append(ruleInputMetrics(), operatorMetrics()...)
}

// ruleInputMetrics are the metrics of other programs the rules read.
func ruleInputMetrics() []Metric {
	return []Metric{
		{Name: "websocket_kafka_lag_offset_age_seconds", Type: Gauge, Labels: []string{"partition"},
			Help: "Per partition, seconds since the server's consumer offset last advanced; a " +
				"growing value means the server is not keeping up with, or no longer reads, the partition.",
			ExportedBy: ExporterServer},
		{Name: "websocket_kafka_partition_last_message_timestamp_seconds", Type: Gauge,
			Labels:     []string{"topic", "partition"},
			Help:       "Unix time of the last message the server received from a partition.",
			ExportedBy: ExporterServer},
		{Name: "websocket_infrastructure_errors_total", Type: Counter,
			Help:       "Infrastructure errors: network and Kafka connection failures, not bad messages.",
			ExportedBy: ExporterServer},
		{Name: "up", Type: Gauge,
			Help:       "1 when the last scrape of a target succeeded, 0 when it failed.",
			ExportedBy: ExporterPrometheus},
		{Name: "kube_deployment_spec_replicas", Type: Gauge, Labels: []string{"namespace", "deployment"},
			Help:       "The replica count a Deployment's spec asks for.",
			ExportedBy: ExporterKubeStateMetrics},
		{Name: "kube_deployment_status_replicas", Type: Gauge, Labels: []string{"namespace", "deployment"},
			Help:       "The number of pods a Deployment currently runs, ready or not.",
			ExportedBy: ExporterKubeStateMetrics},
		{Name: "controller_runtime_webhook_requests_total", Type: Counter,
			Labels:     []string{"webhook", "code"},
			Help:       "Admission requests a webhook served, by path and HTTP status code.",
			ExportedBy: ExporterControllerRT},
	}
}

// operatorMetrics are the metrics the operator registers itself.
func operatorMetrics() []Metric {
	return []Metric{
		{Name: "dashstream_drift_corrections_total", Type: Counter, Labels: []string{"field"},
			Help: "Changes made to DashStream children outside the DashStream and reverted by " +
				"the operator, by the field that was changed.",
			ExportedBy: ExporterOperator},
		{Name: "dashstream_admission_denials_total", Type: Counter, Labels: []string{"kind"},
			Help:       "Requests the DashStream admission webhooks denied, by kind of request.",
			ExportedBy: ExporterOperator},
		{Name: "dashstream_dashstreams", Type: Gauge, Labels: []string{"backplane_mode", "ready"},
			Help: "The number of DashStreams, by backplane mode in force (None, PerPodConsumerGroup, " +
				"Broadcast) and the status of their Ready condition (True, False, Unknown), counted " +
				"from the operator's cache at scrape time; every combination is exported, zeros included. " +
				"Every manager replica exports it, leader or not, so aggregate with max, not sum.",
			ExportedBy: ExporterOperator},
	}
}

// MetricNames returns the names of the metrics expr reads, sorted, each once.
func MetricNames(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parse expression %q: %w", expr, err)
	}

	seen := map[string]bool{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			seen[vs.Name] = true
		}

		return nil
	})

	return slices.Sorted(maps.Keys(seen)), nil
}
