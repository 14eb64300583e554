package render

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/alerts"
	"github.com/dashflow/dashstream-operator/internal/policy"
)

// PrometheusRuleEnabled reports whether ds asks for alert rules (default yes).
func PrometheusRuleEnabled(ds *streamingv1alpha1.DashStream) bool {
	m := ds.Spec.Monitoring
	if m == nil || m.PrometheusRule == nil || m.PrometheusRule.Enabled == nil {
		return true
	}

	return *m.PrometheusRule.Enabled
}

// Thresholds returns ds's alert thresholds with defaults filled in.
func Thresholds(ds *streamingv1alpha1.DashStream) alerts.Thresholds {
	th := alerts.DefaultThresholds
	if ds.Spec.Monitoring == nil || ds.Spec.Monitoring.PrometheusRule == nil {
		return th
	}

	p := ds.Spec.Monitoring.PrometheusRule
	th.LagOffsetAgeSeconds = int32Or(p.LagOffsetAgeSeconds, th.LagOffsetAgeSeconds)
	th.PartitionStaleWarningSeconds = int32Or(p.PartitionStaleWarningSeconds, th.PartitionStaleWarningSeconds)
	th.PartitionStaleCriticalSeconds = int32Or(p.PartitionStaleCriticalSeconds, th.PartitionStaleCriticalSeconds)

	return th
}

// PrometheusRule renders ds's alert rules from the canonical rule set, as
// an unstructured object so the operator needs no client for the
// prometheus-operator API and runs without its CRD.
func PrometheusRule(ds *streamingv1alpha1.DashStream) (*unstructured.Unstructured, error) {
	name := ServerObjectName(ds.Name)
	target := alerts.Target{Namespace: ds.Namespace, Service: name, Deployment: name, Pinned: policy.Pinned(ds)}

	group := monitoringv1.RuleGroup{Name: fmt.Sprintf("dashstream.%s.%s", ds.Namespace, ds.Name)}
	for _, r := range alerts.Rules(target, Thresholds(ds)) {
		group.Rules = append(group.Rules, monitoringv1.Rule{
			Alert:       r.Alert,
			Expr:        intstr.FromString(r.Expr),
			For:         ptrTo(monitoringv1.Duration(r.For)),
			Labels:      map[string]string{"severity": r.Severity},
			Annotations: map[string]string{"summary": r.Summary, "description": r.Description, "runbook_url": r.Runbook()},
		})
	}

	rule := &monitoringv1.PrometheusRule{
		TypeMeta: metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PrometheusRuleKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: ds.Namespace,
			Labels:    ruleLabels(ds),
		},
		Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{group}},
	}

	return toUnstructured(rule, ds)
}

// ruleLabels puts the spec's extra labels under the operator's own.
func ruleLabels(ds *streamingv1alpha1.DashStream) map[string]string {
	out := map[string]string{}
	if m := ds.Spec.Monitoring; m != nil && m.PrometheusRule != nil {
		for k, v := range m.PrometheusRule.Labels {
			out[k] = v
		}
	}
	for k, v := range Labels(ds) {
		out[k] = v
	}

	return out
}

func toUnstructured(rule *monitoringv1.PrometheusRule, ds *streamingv1alpha1.DashStream) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(rule)
	if err != nil {
		return nil, fmt.Errorf("convert PrometheusRule: %w", err)
	}

	u := &unstructured.Unstructured{Object: obj}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	u.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion:         streamingv1alpha1.GroupVersion.String(),
		Kind:               "DashStream",
		Name:               ds.Name,
		UID:                ds.UID,
		Controller:         ptrTo(true),
		BlockOwnerDeletion: ptrTo(true),
	}})

	return u, nil
}
