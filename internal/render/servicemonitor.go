package render

import (
	"errors"
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

// MetricsPath is where the server serves its metrics, on the Service's port.
const MetricsPath = "/metrics"

// ErrInvalidServiceMonitor marks a ServiceMonitor the renderer refused
// because Prometheus would reject it.
var ErrInvalidServiceMonitor = errors.New("invalid ServiceMonitor")

// ServiceMonitorEnabled reports whether ds asks for a ServiceMonitor
// (default yes: the alert rules read metrics that must be scraped).
func ServiceMonitorEnabled(ds *streamingv1alpha1.DashStream) bool {
	s := serviceMonitorSpec(ds)

	return s == nil || s.Enabled == nil || *s.Enabled
}

// ServiceMonitor renders the ServiceMonitor that has prometheus-operator
// scrape the server's Service, as an unstructured object like the
// PrometheusRule. It selects the Service by the fixed selector labels,
// never by user labels, so extra labels cannot point it elsewhere.
func ServiceMonitor(ds *streamingv1alpha1.DashStream) (*unstructured.Unstructured, error) {
	interval, err := scrapeInterval(ds)
	if err != nil {
		return nil, err
	}

	var user map[string]string
	if s := serviceMonitorSpec(ds); s != nil {
		user = s.Labels
	}

	sm := &monitoringv1.ServiceMonitor{
		TypeMeta: metav1.TypeMeta{
			APIVersion: monitoringv1.SchemeGroupVersion.String(),
			Kind:       monitoringv1.ServiceMonitorsKind,
		},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ServerObjectName(ds.Name),
			Namespace: ds.Namespace,
			Labels:    withOperatorLabels(ds, user),
		},
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector:  metav1.LabelSelector{MatchLabels: SelectorLabels(ds)},
			Endpoints: []monitoringv1.Endpoint{{Port: PortName, Path: MetricsPath, Interval: interval}},
		},
	}

	return toUnstructured(sm, monitoringv1.ServiceMonitorsKind, ds)
}

// scrapeInterval returns the spec's interval once Prometheus's own parser
// accepts it as above zero; empty means the Prometheus default.
func scrapeInterval(ds *streamingv1alpha1.DashStream) (monitoringv1.Duration, error) {
	s := serviceMonitorSpec(ds)
	if s == nil || s.Interval == "" {
		return "", nil
	}

	d, err := model.ParseDuration(s.Interval)
	if err != nil {
		return "", fmt.Errorf("%w: spec.monitoring.serviceMonitor.interval: %w", ErrInvalidServiceMonitor, err)
	}

	if d <= 0 {
		return "", fmt.Errorf("%w: spec.monitoring.serviceMonitor.interval %q must be above zero",
			ErrInvalidServiceMonitor, s.Interval)
	}

	return monitoringv1.Duration(s.Interval), nil
}

func serviceMonitorSpec(ds *streamingv1alpha1.DashStream) *streamingv1alpha1.ServiceMonitorSpec {
	if ds.Spec.Monitoring == nil {
		return nil
	}

	return ds.Spec.Monitoring.ServiceMonitor
}
