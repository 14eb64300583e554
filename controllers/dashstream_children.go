package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/alerts"
	"github.com/dashflow/dashstream-operator/internal/render"
)

// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=servicemonitors,verbs=get;list;watch;create;update;patch;delete

// applyResult is what applying the children produced, for status.
type applyResult struct {
	// err is the first error worth retrying; it is returned from Reconcile.
	err error
	// deployment is the Deployment as the API server stored the apply.
	deployment *appsv1.Deployment
	// failed names the child the API server refused, if any.
	failed string
	// monitoring is the MonitoringReady condition to report.
	monitoring metav1.Condition
	// serviceMonitor is the ServiceMonitorReady condition to report.
	serviceMonitor metav1.Condition
}

// applyChildren applies every child of ds. A failing child does not stop
// the others: the server keeps running even if, say, the PDB is refused.
func (r *DashStreamReconciler) applyChildren(ctx context.Context, ds *streamingv1alpha1.DashStream,
	obs *observation) applyResult {
	res := applyResult{}
	deployment := func(ctx context.Context, ds *streamingv1alpha1.DashStream) error {
		if err := r.handOverReplicas(ctx, ds, obs); err != nil {
			return err
		}

		var err error
		res.deployment, err = r.applyDeployment(ctx, ds, obs.replicas(ds))
		if err == nil && (obs.deployment == nil || res.deployment.ResourceVersion != obs.deployment.ResourceVersion) {
			r.writes.wrote(kindDeployment, res.deployment)
		}

		return err
	}
	steps := []struct {
		name  string
		apply func(context.Context, *streamingv1alpha1.DashStream) error
	}{
		{"Deployment", deployment},
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
	res.serviceMonitor = r.applyServiceMonitor(ctx, ds)

	return res
}

// handOverReplicas lets an autoscaler take spec.replicas over without a
// jump. The operator owns the field alone until the autoscaler first writes
// it; dropping it from the operator's apply would reset the Deployment to 1
// replica. So another field manager first applies the live count: the
// field is then shared, and stays when the operator lets go of it. Without
// force, the API server refuses this apply if the count just changed, and
// the next reconcile tries again: nothing ever writes an outdated count.
func (r *DashStreamReconciler) handOverReplicas(ctx context.Context, ds *streamingv1alpha1.DashStream,
	obs *observation) error {
	d := obs.deployment
	if obs.replicas(ds) != nil || obs.replicasOwnedElsewhere || d == nil || d.Spec.Replicas == nil {
		return nil
	}

	ac := appsv1ac.Deployment(d.Name, d.Namespace).WithSpec(appsv1ac.DeploymentSpec().WithReplicas(*d.Spec.Replicas))
	if err := r.Apply(ctx, ac, client.FieldOwner(replicasHandOverManager)); err != nil {
		return fmt.Errorf("hand replicas over to the autoscaler: %w", err)
	}

	return nil
}

// replicasHandOverManager holds spec.replicas between the operator and an
// autoscaler; the autoscaler's first scale takes it over.
const replicasHandOverManager = "dashstream-operator-replicas-handover"

// applyDeployment applies the Deployment with replicas pods (nil: the
// autoscaler's count) and returns it as the API server stored it.
func (r *DashStreamReconciler) applyDeployment(ctx context.Context, ds *streamingv1alpha1.DashStream,
	replicas *int32) (*appsv1.Deployment, error) {
	ac := render.Deployment(ds, replicas)
	if err := r.Apply(ctx, ac, client.FieldOwner(render.FieldManager), client.ForceOwnership); err != nil {
		return nil, err
	}

	// Apply fills ac with the stored object; read it back as the API type.
	data, err := json.Marshal(ac)
	if err != nil {
		return nil, fmt.Errorf("read the applied Deployment: %w", err)
	}
	dep := &appsv1.Deployment{}
	if err := json.Unmarshal(data, dep); err != nil {
		return nil, fmt.Errorf("read the applied Deployment: %w", err)
	}

	return dep, nil
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
// CRD watch brings the DashStream back once it is installed. Rules that
// fail validation are not written, so rules already in place keep working.
func (r *DashStreamReconciler) applyPrometheusRule(ctx context.Context,
	ds *streamingv1alpha1.DashStream) metav1.Condition {
	if !render.PrometheusRuleEnabled(ds) {
		return r.deletePrometheusRule(ctx, ds)
	}

	rule, err := render.PrometheusRule(ds)
	if err != nil {
		return invalidRulesCondition(err)
	}

	switch err := r.applyUnstructured(ctx, rule); {
	case crdMissing(err):
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

func (r *DashStreamReconciler) deletePrometheusRule(ctx context.Context,
	ds *streamingv1alpha1.DashStream) metav1.Condition {
	err := r.deleteOwned(ctx, ds, emptyMonitoringObject(ds, monitoringv1.PrometheusRuleKind))
	if err != nil && !crdMissing(err) {
		return monitoringCondition(metav1.ConditionFalse, streamingv1alpha1.ReasonRuleApplyFailed,
			fmt.Sprintf("Could not delete the PrometheusRule: %v", err))
	}

	return monitoringCondition(metav1.ConditionTrue, streamingv1alpha1.ReasonMonitoringDisabled,
		"spec.monitoring.prometheusRule.enabled is false; no alert rules are generated")
}

// invalidRulesCondition reports rules the renderer refused. The defaults
// are named because a threshold left unset can be what conflicts.
func invalidRulesCondition(err error) metav1.Condition {
	if !errors.Is(err, render.ErrInvalidRules) {
		return monitoringCondition(metav1.ConditionFalse, streamingv1alpha1.ReasonRuleApplyFailed,
			fmt.Sprintf("Could not render the PrometheusRule: %v", err))
	}

	d := alerts.DefaultThresholds

	return monitoringCondition(metav1.ConditionFalse, streamingv1alpha1.ReasonRuleInvalid,
		fmt.Sprintf("The alert rules were not written, and rules already in place are unchanged: %v. "+
			"Unset thresholds default to lagOffsetAgeSeconds %d, partitionStaleWarningSeconds %d and "+
			"partitionStaleCriticalSeconds %d", err, d.LagOffsetAgeSeconds, d.PartitionStaleWarningSeconds,
			d.PartitionStaleCriticalSeconds))
}

// applyServiceMonitor has Prometheus scrape the server, or removes the
// ServiceMonitor when disabled. Its CRD is handled like the PrometheusRule's:
// while it is missing the condition says so, and the CRD watch applies the
// ServiceMonitor once it is installed.
func (r *DashStreamReconciler) applyServiceMonitor(ctx context.Context,
	ds *streamingv1alpha1.DashStream) metav1.Condition {
	if !render.ServiceMonitorEnabled(ds) {
		return r.deleteServiceMonitor(ctx, ds)
	}

	sm, err := render.ServiceMonitor(ds)
	if err != nil {
		return scrapeCondition(metav1.ConditionFalse, streamingv1alpha1.ReasonServiceMonitorInvalid,
			fmt.Sprintf("The ServiceMonitor was not written, and one already in place is unchanged: %v", err))
	}

	switch err := r.applyUnstructured(ctx, sm); {
	case crdMissing(err):
		log.FromContext(ctx).V(levelDebug).Info("ServiceMonitor CRD not installed; skipping the ServiceMonitor")

		return scrapeCondition(metav1.ConditionFalse, streamingv1alpha1.ReasonServiceMonitorCRDMissing,
			"The ServiceMonitor CRD (monitoring.coreos.com/v1) is not installed, so nothing has Prometheus "+
				"scrape the server and its alerts cannot fire; the ServiceMonitor appears once the CRD is "+
				"installed, with no restart needed")
	case err != nil:
		return scrapeCondition(metav1.ConditionFalse, streamingv1alpha1.ReasonServiceMonitorApplyFailed,
			fmt.Sprintf("The API server refused ServiceMonitor %s: %v", sm.GetName(), err))
	}

	r.watchServiceMonitorsOnce(ctx)

	return scrapeCondition(metav1.ConditionTrue, streamingv1alpha1.ReasonServiceMonitorApplied,
		fmt.Sprintf("ServiceMonitor %s has Prometheus scrape %s on port %s of Service %s",
			sm.GetName(), render.MetricsPath, render.PortName, render.ServerObjectName(ds.Name)))
}

func (r *DashStreamReconciler) deleteServiceMonitor(ctx context.Context,
	ds *streamingv1alpha1.DashStream) metav1.Condition {
	err := r.deleteOwned(ctx, ds, emptyMonitoringObject(ds, monitoringv1.ServiceMonitorsKind))
	if err != nil && !crdMissing(err) {
		return scrapeCondition(metav1.ConditionFalse, streamingv1alpha1.ReasonServiceMonitorApplyFailed,
			fmt.Sprintf("Could not delete the ServiceMonitor: %v", err))
	}

	return scrapeCondition(metav1.ConditionTrue, streamingv1alpha1.ReasonServiceMonitorDisabled,
		"spec.monitoring.serviceMonitor.enabled is false; no ServiceMonitor is generated")
}

// applyUnstructured applies a rendered prometheus-operator object with
// server-side apply, under the operator's field manager.
func (r *DashStreamReconciler) applyUnstructured(ctx context.Context, obj *unstructured.Unstructured) error {
	return r.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
		client.FieldOwner(render.FieldManager), client.ForceOwnership)
}

// deleteOwned deletes obj if it exists and ds controls it; anything else of
// that name belongs to someone else and is left alone.
func (r *DashStreamReconciler) deleteOwned(ctx context.Context, ds *streamingv1alpha1.DashStream,
	obj client.Object) error {
	if err := r.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return client.IgnoreNotFound(err)
	}

	if !metav1.IsControlledBy(obj, ds) {
		return nil
	}

	return client.IgnoreNotFound(r.Delete(ctx, obj))
}

// emptyMonitoringObject names ds's prometheus-operator child of kind, as
// metadata only, for a lookup or a delete.
func emptyMonitoringObject(ds *streamingv1alpha1.DashStream, kind string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(monitoringv1.SchemeGroupVersion.WithKind(kind))
	m.Namespace, m.Name = ds.Namespace, render.ServerObjectName(ds.Name)

	return m
}

func monitoringCondition(status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: streamingv1alpha1.ConditionMonitoringReady, Status: status, Reason: reason,
		Message: msg}
}

func scrapeCondition(status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: streamingv1alpha1.ConditionServiceMonitorReady, Status: status, Reason: reason,
		Message: msg}
}

// crdMissing reports that the object's kind is not served: its CRD is not
// installed, or was just deleted.
func crdMissing(err error) bool {
	return meta.IsNoMatchError(err) || isNoResource(err)
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
