package render

import (
	"errors"
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

// ErrInvalidRules marks a rule set the renderer refused: Prometheus would
// reject it, or its thresholds make the alerts wrong. Nothing is written
// for it, so the rules already in place keep working.
var ErrInvalidRules = errors.New("invalid alert rules")

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
// prometheus-operator API and runs without its CRD. It checks the
// thresholds and every rule as Prometheus would, and returns an error
// wrapping ErrInvalidRules instead of a rule group Prometheus would reject:
// the CRD's validation is not trusted to have caught everything.
func PrometheusRule(ds *streamingv1alpha1.DashStream) (*unstructured.Unstructured, error) {
	rules, err := validRules(ds)
	if err != nil {
		return nil, err
	}

	group := monitoringv1.RuleGroup{Name: fmt.Sprintf("dashstream.%s.%s", ds.Namespace, ds.Name)}
	for _, r := range rules {
		group.Rules = append(group.Rules, monitoringv1.Rule{
			Alert:       r.Alert,
			Expr:        intstr.FromString(r.Expr),
			For:         ptrTo(monitoringv1.Duration(r.For)),
			Labels:      r.Labels(),
			Annotations: r.Annotations(),
		})
	}

	rule := &monitoringv1.PrometheusRule{
		TypeMeta: metav1.TypeMeta{
			APIVersion: monitoringv1.SchemeGroupVersion.String(),
			Kind:       monitoringv1.PrometheusRuleKind,
		},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ServerObjectName(ds.Name),
			Namespace: ds.Namespace,
			Labels:    withOperatorLabels(ds, ruleUserLabels(ds)),
		},
		Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{group}},
	}

	return toUnstructured(rule, monitoringv1.PrometheusRuleKind, ds)
}

// validRules returns ds's rules once its thresholds and every rule pass
// the checks Prometheus applies when it loads them.
func validRules(ds *streamingv1alpha1.DashStream) ([]alerts.Rule, error) {
	th := Thresholds(ds)
	if err := th.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRules, err)
	}

	name := ServerObjectName(ds.Name)
	target := alerts.Target{Namespace: ds.Namespace, Service: name, Deployment: name, Pinned: policy.Pinned(ds)}
	rules := alerts.Rules(target, th)
	if err := alerts.Validate(rules); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRules, err)
	}

	return rules, nil
}

func ruleUserLabels(ds *streamingv1alpha1.DashStream) map[string]string {
	if m := ds.Spec.Monitoring; m != nil && m.PrometheusRule != nil {
		return m.PrometheusRule.Labels
	}

	return nil
}

// withOperatorLabels puts a spec's extra labels under the operator's own,
// so a user label never replaces one the operator selects by.
func withOperatorLabels(ds *streamingv1alpha1.DashStream, user map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range user {
		out[k] = v
	}
	for k, v := range Labels(ds) {
		out[k] = v
	}

	return out
}

// toUnstructured converts a typed prometheus-operator object of the given
// kind and makes ds its controlling owner.
func toUnstructured(in any, kind string, ds *streamingv1alpha1.DashStream) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(in)
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", kind, err)
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
