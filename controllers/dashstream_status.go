package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/policy"
	"github.com/dashflow/dashstream-operator/internal/render"
)

// errStatusConflict says the status write lost a race with another write
// of the DashStream; the reconcile is retried with a fresh copy.
var errStatusConflict = errors.New("DashStream changed while its status was written")

// writeStatus computes ds's status from what was observed and applied, and
// writes it only when it differs from what is stored. A conflict returns
// errStatusConflict: the cache held an older DashStream, and since status
// and metadata writes do not pass the generation predicate, only a requeue
// brings the newer one back.
func (r *DashStreamReconciler) writeStatus(ctx context.Context, ds *streamingv1alpha1.DashStream,
	obs *observation, res applyResult) error {
	before := ds.DeepCopy()

	s := &ds.Status
	s.ObservedGeneration = ds.Generation
	s.BackplaneMode = policy.Mode(ds)
	s.DeploymentName = render.ServerObjectName(ds.Name)
	s.Replicas, s.ReadyReplicas = 0, 0
	if d := obs.deployment; d != nil {
		s.Replicas, s.ReadyReplicas = d.Status.Replicas, d.Status.ReadyReplicas
	}

	for _, c := range conditions(ds, obs, res) {
		c.ObservedGeneration = ds.Generation
		meta.SetStatusCondition(&s.Conditions, c)
	}

	if equality.Semantic.DeepEqual(before.Status, ds.Status) {
		return nil
	}

	err := r.Status().Patch(ctx, ds, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsNotFound(err) {
		return nil
	}
	if apierrors.IsConflict(err) {
		log.FromContext(ctx).V(levelDebug).Info("DashStream changed while writing status; retrying")

		return errStatusConflict
	}
	if err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	r.writes.wrote(kindDashStream, ds)

	return nil
}

// conditions derives every condition from one observation, so they never
// contradict each other: Stalled wins over Reconciling, and Ready needs
// neither.
func conditions(ds *streamingv1alpha1.DashStream, obs *observation, res applyResult) []metav1.Condition {
	stall := stalledCondition(obs, res)
	progress := reconcilingCondition(obs.wantReplicas(ds), obs.deployment)
	switch {
	case stall.Status == metav1.ConditionTrue:
		progress = reconciling(metav1.ConditionFalse, stall.Reason, "Progress is blocked; see the Stalled condition")
	case res.failed != "":
		progress = reconciling(metav1.ConditionTrue, streamingv1alpha1.ReasonRetrying,
			fmt.Sprintf("Writing the %s failed and is retried: %v", res.failed, res.err))
	}

	return []metav1.Condition{
		readyCondition(stall, progress),
		progress,
		stall,
		autoscalerCondition(ds, obs.autoscalers),
		res.monitoring,
		res.serviceMonitor,
	}
}

func stalledCondition(obs *observation, res applyResult) metav1.Condition {
	if len(obs.missingSecrets) > 0 {
		var parts []string
		for _, u := range obs.missingSecrets {
			parts = append(parts, fmt.Sprintf("%s (from %s)", u.ref.Name, u.field))
		}

		return stalled(metav1.ConditionTrue, streamingv1alpha1.ReasonSecretNotFound,
			fmt.Sprintf("Secret not found in the DashStream's namespace: %s. Create it; the server "+
				"starts once it exists", strings.Join(parts, ", ")))
	}
	if res.failed != "" && permanent(res.err) {
		return stalled(metav1.ConditionTrue, streamingv1alpha1.ReasonApplyFailed,
			fmt.Sprintf("The API server refused the %s: %v", res.failed, res.err))
	}
	if c := deploymentCondition(obs.deployment, appsv1.DeploymentProgressing); c != nil &&
		c.Reason == "ProgressDeadlineExceeded" {
		return stalled(metav1.ConditionTrue,
			streamingv1alpha1.ReasonProgressDeadlineExceeded, c.Message)
	}

	return stalled(metav1.ConditionFalse, streamingv1alpha1.ReasonNotStalled,
		"Nothing blocks progress")
}

func reconcilingCondition(want int32, d *appsv1.Deployment) metav1.Condition {
	switch {
	case d == nil:
		return reconciling(metav1.ConditionTrue, streamingv1alpha1.ReasonRollingOut,
			"Creating the Deployment")
	case d.Status.ObservedGeneration < d.Generation || d.Spec.Replicas == nil || *d.Spec.Replicas != want:
		return reconciling(metav1.ConditionTrue, streamingv1alpha1.ReasonRollingOut,
			"Waiting for the Deployment controller to see the latest spec")
	case d.Status.UpdatedReplicas < want || d.Status.AvailableReplicas < want || d.Status.Replicas > want:
		return reconciling(metav1.ConditionTrue, streamingv1alpha1.ReasonRollingOut,
			fmt.Sprintf("Rolling out: %d of %d pods updated, %d available",
				d.Status.UpdatedReplicas, want, d.Status.AvailableReplicas))
	}

	return reconciling(metav1.ConditionFalse, streamingv1alpha1.ReasonReconciled,
		fmt.Sprintf("%d of %d pods updated and available", d.Status.AvailableReplicas, want))
}

func readyCondition(stalled, reconciling metav1.Condition) metav1.Condition {
	switch {
	case stalled.Status == metav1.ConditionTrue:
		return condition(streamingv1alpha1.ConditionReady, metav1.ConditionFalse, stalled.Reason, stalled.Message)
	case reconciling.Status == metav1.ConditionTrue && reconciling.Reason == streamingv1alpha1.ReasonRetrying:
		return condition(streamingv1alpha1.ConditionReady, metav1.ConditionFalse, reconciling.Reason,
			reconciling.Message)
	case reconciling.Status == metav1.ConditionTrue:
		return condition(streamingv1alpha1.ConditionReady, metav1.ConditionFalse,
			streamingv1alpha1.ReasonDeploymentUnavailable, reconciling.Message)
	}

	return condition(streamingv1alpha1.ConditionReady, metav1.ConditionTrue, streamingv1alpha1.ReasonAvailable,
		reconciling.Message)
}

func autoscalerCondition(ds *streamingv1alpha1.DashStream, hpas []string) metav1.Condition {
	if len(hpas) == 0 || !policy.Pinned(ds) {
		return condition(streamingv1alpha1.ConditionAutoscalerConflict, metav1.ConditionFalse,
			streamingv1alpha1.ReasonNoConflict, "No HorizontalPodAutoscaler targets a pinned Deployment")
	}

	return condition(streamingv1alpha1.ConditionAutoscalerConflict, metav1.ConditionTrue,
		streamingv1alpha1.ReasonHPATargetsPinnedDeployment,
		fmt.Sprintf("HorizontalPodAutoscaler %s targets Deployment %s, which stays at 1 replica; "+
			"delete the autoscaler or set spec.backplane.mode to PerPodConsumerGroup or Broadcast",
			strings.Join(hpas, ", "), render.ServerObjectName(ds.Name)))
}

func deploymentCondition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	if d == nil {
		return nil
	}
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}

	return nil
}

// permanent reports an API error that retrying the same write cannot clear:
// the object is invalid, or admission or authorization refuses it. Anything
// else (timeouts, throttling, an API server restarting) is transient.
func permanent(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err) ||
		apierrors.IsRequestEntityTooLargeError(err) || apierrors.IsUnsupportedMediaType(err)
}

func stalled(status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return condition(streamingv1alpha1.ConditionStalled, status, reason, msg)
}

func reconciling(status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return condition(streamingv1alpha1.ConditionReconciling, status, reason, msg)
}

func condition(t string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: status, Reason: reason, Message: msg}
}
