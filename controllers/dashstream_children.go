package controllers

import (
	"context"
	"errors"
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/render"
)

// applyResult is what applying the children produced, for status.
type applyResult struct {
	// err is the first error worth retrying; it is returned from Reconcile.
	err error
	// failed names the child the API server refused, if any.
	failed string
	// monitoring is the MonitoringReady condition to report.
	monitoring metav1.Condition
}

// applyChildren applies every child of ds. A failing child does not stop
// the others: the server keeps running even if, say, the PDB is refused.
func (r *DashStreamReconciler) applyChildren(ctx context.Context, ds *streamingv1alpha1.DashStream) applyResult {
	res := applyResult{}
	steps := []struct {
		name  string
		apply func(context.Context, *streamingv1alpha1.DashStream) error
	}{
		{"Deployment", r.applyDeployment},
		{"Service", r.applyService},
		{"PodDisruptionBudget", r.applyPDB},
	}
	for _, s := range steps {
		if err := s.apply(ctx, ds); err != nil && res.err == nil {
			res.err = fmt.Errorf("apply %s: %w", s.name, err)
			res.failed = s.name
		}
	}

	res.monitoring = r.applyPrometheusRule(ctx, ds)

	return res
}

func (r *DashStreamReconciler) applyDeployment(ctx context.Context, ds *streamingv1alpha1.DashStream) error {
	return r.Apply(ctx, render.Deployment(ds), client.FieldOwner(render.FieldManager), client.ForceOwnership)
}

func (r *DashStreamReconciler) applyService(ctx context.Context, ds *streamingv1alpha1.DashStream) error {
	return r.Apply(ctx, render.Service(ds), client.FieldOwner(render.FieldManager), client.ForceOwnership)
}

func (r *DashStreamReconciler) applyPDB(ctx context.Context, ds *streamingv1alpha1.DashStream) error {
	if !render.PDBEnabled(ds) {
		pdb := &policyv1.PodDisruptionBudget{}
		pdb.Namespace, pdb.Name = ds.Namespace, render.ServerObjectName(ds.Name)

		return r.deleteOwned(ctx, ds, pdb)
	}

	return r.Apply(ctx, render.PodDisruptionBudget(ds), client.FieldOwner(render.FieldManager), client.ForceOwnership)
}

// applyPrometheusRule writes the alert rules, or removes them when
// disabled. A missing CRD is a state to report, not an error to retry: the
// CRD watch brings the DashStream back once it is installed.
func (r *DashStreamReconciler) applyPrometheusRule(ctx context.Context, ds *streamingv1alpha1.DashStream) metav1.Condition {
	if !render.PrometheusRuleEnabled(ds) {
		err := r.deleteOwned(ctx, ds, emptyRule(ds))
		if err != nil && !meta.IsNoMatchError(err) {
			return monitoringCondition(metav1.ConditionFalse, streamingv1alpha1.ReasonRuleApplyFailed,
				fmt.Sprintf("Could not delete the PrometheusRule: %v", err))
		}

		return monitoringCondition(metav1.ConditionTrue, streamingv1alpha1.ReasonMonitoringDisabled,
			"spec.monitoring.prometheusRule.enabled is false; no alert rules are generated")
	}

	rule, err := render.PrometheusRule(ds)
	if err == nil {
		err = r.Apply(ctx, client.ApplyConfigurationFromUnstructured(rule),
			client.FieldOwner(render.FieldManager), client.ForceOwnership)
	}

	switch {
	case meta.IsNoMatchError(err) || isNoResource(err):
		log.FromContext(ctx).V(levelDebug).Info("PrometheusRule CRD not installed; skipping alert rules")

		return monitoringCondition(metav1.ConditionFalse, streamingv1alpha1.ReasonPrometheusRuleCRDMissing,
			"The PrometheusRule CRD (monitoring.coreos.com/v1) is not installed; the alert rules "+
				"appear once it is, with no restart needed")
	case err != nil:
		return monitoringCondition(metav1.ConditionFalse, streamingv1alpha1.ReasonRuleApplyFailed,
			fmt.Sprintf("The API server refused PrometheusRule %s: %v", rule.GetName(), err))
	}

	r.watchRulesOnce(ctx)

	return monitoringCondition(metav1.ConditionTrue, streamingv1alpha1.ReasonRuleApplied,
		fmt.Sprintf("PrometheusRule %s holds the alert rules", rule.GetName()))
}

// deleteOwned deletes obj if it exists and ds controls it; anything else of
// that name belongs to someone else and is left alone.
func (r *DashStreamReconciler) deleteOwned(ctx context.Context, ds *streamingv1alpha1.DashStream, obj client.Object) error {
	if err := r.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return client.IgnoreNotFound(err)
	}

	if !metav1.IsControlledBy(obj, ds) {
		return nil
	}

	return client.IgnoreNotFound(r.Delete(ctx, obj))
}

func emptyRule(ds *streamingv1alpha1.DashStream) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.PrometheusRuleKind))
	m.Namespace, m.Name = ds.Namespace, render.ServerObjectName(ds.Name)

	return m
}

func monitoringCondition(status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: streamingv1alpha1.ConditionMonitoringReady, Status: status, Reason: reason, Message: msg}
}

// isNoResource reports a 404 for the whole resource type, which the API
// server answers in the short window after a CRD is deleted.
func isNoResource(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsNotFound(err) {
		return false
	}

	d := status.Status().Details
	return d == nil || d.Name == ""
}
