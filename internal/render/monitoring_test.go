package render_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/alerts"
	"github.com/dashflow/dashstream-operator/internal/render"
)

// fromUnstructured reads a rendered object back as its typed API value.
func fromUnstructured(t *testing.T, u *unstructured.Unstructured, out any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		t.Fatalf("read back %s: %v", u.GetKind(), err)
	}
}

// expressions maps each alert of rule to its expression.
func expressions(rule *monitoringv1.PrometheusRule) map[string]string {
	out := map[string]string{}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r.Expr.StrVal
		}
	}

	return out
}

// revalidate checks the rules as written into the object, after the
// conversion, the way Prometheus will load them.
func revalidate(t *testing.T, rule *monitoringv1.PrometheusRule) {
	t.Helper()
	var rules []alerts.Rule
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			rules = append(rules, alerts.Rule{Alert: r.Alert, Expr: r.Expr.StrVal, For: string(ptr.Deref(r.For, "")),
				Severity: r.Labels["severity"]})
		}
	}

	if err := alerts.Validate(rules); err != nil {
		t.Errorf("the written rules would not load in Prometheus: %v", err)
	}
}

func TestPrometheusRuleWritesOnlyRulesThatLoadWithSaneThresholds(t *testing.T) {
	const critField = "spec.monitoring.prometheusRule.partitionStaleCriticalSeconds"
	cases := []struct {
		name string
		spec streamingv1alpha1.PrometheusRuleSpec
		// wantExpr maps an alert to a part of its expression; empty when refused.
		wantExpr map[string]string
		// wantErr are parts of the refusal's message; empty when written.
		wantErr []string
	}{{
		name: "defaults",
		wantExpr: map[string]string{"DashStreamKafkaLagHigh": "> 60", "DashStreamPartitionStale": "> 300",
			"DashStreamPartitionStaleCritical": "> 900"},
	}, {
		name: "custom thresholds",
		spec: streamingv1alpha1.PrometheusRuleSpec{LagOffsetAgeSeconds: ptr.To[int32](120),
			PartitionStaleWarningSeconds: ptr.To[int32](600), PartitionStaleCriticalSeconds: ptr.To[int32](1200)},
		wantExpr: map[string]string{"DashStreamKafkaLagHigh": "> 120", "DashStreamPartitionStale": "> 600",
			"DashStreamPartitionStaleCritical": "> 1200"},
	}, {
		name:    "critical alone, below the default warning (the CRD's rule compares only both set)",
		spec:    streamingv1alpha1.PrometheusRuleSpec{PartitionStaleCriticalSeconds: ptr.To[int32](200)},
		wantErr: []string{critField, "greater than partitionStaleWarningSeconds (300)"},
	}, {
		name:    "warning alone, above the default critical",
		spec:    streamingv1alpha1.PrometheusRuleSpec{PartitionStaleWarningSeconds: ptr.To[int32](1000)},
		wantErr: []string{critField, "(1000)"},
	}, {
		name: "critical equal to warning",
		spec: streamingv1alpha1.PrometheusRuleSpec{PartitionStaleWarningSeconds: ptr.To[int32](600),
			PartitionStaleCriticalSeconds: ptr.To[int32](600)},
		wantErr: []string{critField},
	}, {
		name: "critical below warning, as the CRD forbids",
		spec: streamingv1alpha1.PrometheusRuleSpec{PartitionStaleWarningSeconds: ptr.To[int32](600),
			PartitionStaleCriticalSeconds: ptr.To[int32](300)},
		wantErr: []string{critField},
	}, {
		name:    "a zero lag threshold, below the CRD's minimum",
		spec:    streamingv1alpha1.PrometheusRuleSpec{LagOffsetAgeSeconds: ptr.To[int32](0)},
		wantErr: []string{"spec.monitoring.prometheusRule.lagOffsetAgeSeconds", "greater than 0"},
	}}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := base()
			ds.Spec.Monitoring = &streamingv1alpha1.MonitoringSpec{PrometheusRule: &tc.spec}

			u, err := render.PrometheusRule(ds)
			if len(tc.wantErr) > 0 {
				if u != nil || !errors.Is(err, render.ErrInvalidRules) {
					t.Fatalf("got object %v and error %v, want no object and ErrInvalidRules", u != nil, err)
				}
				for _, part := range tc.wantErr {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q should contain %q", err, part)
					}
				}

				return
			}

			if err != nil {
				t.Fatalf("render: %v", err)
			}
			rule := &monitoringv1.PrometheusRule{}
			fromUnstructured(t, u, rule)
			exprs := expressions(rule)
			for alert, part := range tc.wantExpr {
				if !strings.Contains(exprs[alert], part) {
					t.Errorf("%s expression %q should contain %q", alert, exprs[alert], part)
				}
			}
			revalidate(t, rule)
		})
	}
}

func TestPrometheusRuleCarriesExtraLabelsUnderTheOperatorsOwn(t *testing.T) {
	ds := base()
	ds.Spec.Monitoring = &streamingv1alpha1.MonitoringSpec{PrometheusRule: &streamingv1alpha1.PrometheusRuleSpec{
		Labels: map[string]string{"release": "kube-prometheus-stack", render.LabelManagedBy: "someone-else"},
	}}

	u, err := render.PrometheusRule(ds)
	if err != nil {
		t.Fatal(err)
	}

	got := u.GetLabels()
	if got["release"] != "kube-prometheus-stack" || got[render.LabelManagedBy] != render.ManagedBy {
		t.Errorf("labels = %v, want release kept and managed-by %s", got, render.ManagedBy)
	}
}

// service renders ds's Service and reads it back as the API type.
func service(t *testing.T, ds *streamingv1alpha1.DashStream) *corev1.Service {
	t.Helper()
	raw, err := json.Marshal(render.Service(ds))
	if err != nil {
		t.Fatal(err)
	}

	svc := &corev1.Service{}
	if err := json.Unmarshal(raw, svc); err != nil {
		t.Fatal(err)
	}

	return svc
}

func serviceMonitor(t *testing.T, ds *streamingv1alpha1.DashStream) *monitoringv1.ServiceMonitor {
	t.Helper()
	u, err := render.ServiceMonitor(ds)
	if err != nil {
		t.Fatalf("render ServiceMonitor: %v", err)
	}
	if u.GetAPIVersion() != "monitoring.coreos.com/v1" || u.GetKind() != "ServiceMonitor" {
		t.Errorf("rendered %s %s, want monitoring.coreos.com/v1 ServiceMonitor", u.GetAPIVersion(), u.GetKind())
	}

	sm := &monitoringv1.ServiceMonitor{}
	fromUnstructured(t, u, sm)

	return sm
}

func TestServiceMonitorScrapesTheServersServiceMetricsPort(t *testing.T) {
	ds := base()
	ds.Spec.Port = ptr.To[int32](9000)
	sm := serviceMonitor(t, ds)
	svc := service(t, ds)

	if sm.Name != "events-websocket-server" || sm.Namespace != "shop" {
		t.Errorf("ServiceMonitor %s/%s, want shop/events-websocket-server", sm.Namespace, sm.Name)
	}
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("selector %v (%v) should select the Service, labelled %v", sm.Spec.Selector, err, svc.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("endpoints = %+v, want one", sm.Spec.Endpoints)
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != svc.Spec.Ports[0].Name || ep.Path != "/metrics" || ep.Interval != "" {
		t.Errorf("endpoint port %q path %q interval %q, want the Service's port %q, /metrics and "+
			"Prometheus's default interval", ep.Port, ep.Path, ep.Interval, svc.Spec.Ports[0].Name)
	}
	if !metav1.IsControlledBy(sm, ds) {
		t.Errorf("owner references = %+v, want the DashStream as controller", sm.OwnerReferences)
	}
}

func TestServiceMonitorLabelsNeverChangeWhatItSelects(t *testing.T) {
	ds := base()
	ds.Spec.Monitoring = &streamingv1alpha1.MonitoringSpec{ServiceMonitor: &streamingv1alpha1.ServiceMonitorSpec{
		Labels: map[string]string{"release": "kube-prometheus-stack", render.LabelName: "hijack"},
	}}
	sm := serviceMonitor(t, ds)
	plain := serviceMonitor(t, base())

	if sm.Labels["release"] != "kube-prometheus-stack" || sm.Labels[render.LabelName] != render.ServerName {
		t.Errorf("labels = %v, want release kept and the operator's %s", sm.Labels, render.LabelName)
	}
	if got, want := sm.Spec.Selector.String(), plain.Spec.Selector.String(); got != want {
		t.Errorf("selector %s changed with user labels; want %s", got, want)
	}
}

func TestServiceMonitorIntervalMustBeAPrometheusDurationAboveZero(t *testing.T) {
	cases := []struct {
		interval string
		valid    bool
	}{
		{"30s", true},
		{"1m30s", true},
		{"500ms", true},
		{"30", false},
		{"1.5m", false},
		{"0s", false},
	}

	for _, tc := range cases {
		t.Run(tc.interval, func(t *testing.T) {
			ds := base()
			ds.Spec.Monitoring = &streamingv1alpha1.MonitoringSpec{
				ServiceMonitor: &streamingv1alpha1.ServiceMonitorSpec{Interval: tc.interval},
			}

			u, err := render.ServiceMonitor(ds)
			if !tc.valid {
				if u != nil || !errors.Is(err, render.ErrInvalidServiceMonitor) ||
					!strings.Contains(err.Error(), "spec.monitoring.serviceMonitor.interval") {
					t.Errorf("got object %v and error %v, want a refusal naming the field", u != nil, err)
				}

				return
			}

			if got := serviceMonitor(t, ds).Spec.Endpoints[0].Interval; string(got) != tc.interval {
				t.Errorf("interval = %q, want %q", got, tc.interval)
			}
		})
	}
}

func TestServiceMonitorIsEnabledUnlessTurnedOff(t *testing.T) {
	ds := base()
	if !render.ServiceMonitorEnabled(ds) {
		t.Error("a DashStream without spec.monitoring should get a ServiceMonitor")
	}

	ds.Spec.Monitoring = &streamingv1alpha1.MonitoringSpec{ServiceMonitor: &streamingv1alpha1.ServiceMonitorSpec{}}
	if !render.ServiceMonitorEnabled(ds) {
		t.Error("a serviceMonitor block without enabled should keep the default, true")
	}

	ds.Spec.Monitoring.ServiceMonitor.Enabled = ptr.To(false)
	if render.ServiceMonitorEnabled(ds) {
		t.Error("enabled: false should turn the ServiceMonitor off")
	}
}
