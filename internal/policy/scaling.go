// Package policy decides how far a DashStream's server may scale. It is the
// only place that rule is written: the reconciler, the admission webhooks
// and any offline checker all ask it.
package policy

import (
	"fmt"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

// Mode returns the backplane mode in force for ds, None when unset.
func Mode(ds *streamingv1alpha1.DashStream) streamingv1alpha1.BackplaneMode {
	if ds.Spec.Backplane == nil || ds.Spec.Backplane.Mode == "" {
		return streamingv1alpha1.BackplaneNone
	}

	return ds.Spec.Backplane.Mode
}

// Pinned reports whether ds's server must run exactly one replica: true in
// mode None, where a second consumer in the shared group would take
// partitions away from the first.
func Pinned(ds *streamingv1alpha1.DashStream) bool {
	return Mode(ds) == streamingv1alpha1.BackplaneNone
}

// DesiredReplicas returns the replica count the Deployment must run: 1 when
// pinned, whatever the spec says, else spec.replicas (default 1).
func DesiredReplicas(ds *streamingv1alpha1.DashStream) int32 {
	if Pinned(ds) || ds.Spec.Replicas == nil {
		return 1
	}

	return *ds.Spec.Replicas
}

// MayAutoscale reports whether anything but the operator may change the
// number of ds's server pods, as an HPA or kubectl scale would.
func MayAutoscale(ds *streamingv1alpha1.DashStream) bool {
	return !Pinned(ds)
}

// Autoscaler is what the reconciler knows about autoscaling of a server.
type Autoscaler struct {
	// Present is true when an HPA targets the server's Deployment.
	Present bool
}

// ReplicasToApply returns the replica count the operator writes into ds's
// Deployment, or nil when it must leave the count to an autoscaler. Pinned:
// 1, whatever autoscales it. Without an autoscaler, or before the
// Deployment exists (live is nil): spec.replicas. With an autoscaler on a
// server with a backplane mode: nil, the autoscaler owns the count.
func ReplicasToApply(ds *streamingv1alpha1.DashStream, hpa Autoscaler, live *int32) *int32 {
	if Pinned(ds) || !hpa.Present || live == nil {
		n := DesiredReplicas(ds)

		return &n
	}

	return nil
}

// CheckReplicas returns nil when ds's server may run n replicas, else an
// error that says why not and what to do instead.
func CheckReplicas(ds *streamingv1alpha1.DashStream, n int32) error {
	if !Pinned(ds) || n == 1 {
		return nil
	}

	return fmt.Errorf("%s", PinnedReason(ds))
}

// PinnedReason explains, for messages users read, why ds's server is pinned
// to one replica and how to scale it safely.
func PinnedReason(ds *streamingv1alpha1.DashStream) string {
	return fmt.Sprintf("DashStream %s/%s pins its server to 1 replica because spec.backplane.mode is None: "+
		"replicas sharing one Kafka consumer group each receive only some partitions, so clients get "+
		"partial streams. To scale, set spec.backplane.mode to PerPodConsumerGroup or Broadcast and "+
		"spec.replicas on the DashStream", ds.Namespace, ds.Name)
}

// deploymentAPIVersions are the apiVersions under which a scale target of
// kind Deployment means an apps/v1 Deployment: the current one, the legacy
// groups an old manifest may still name, and none at all.
var deploymentAPIVersions = map[string]bool{
	"":                   true,
	"apps/v1":            true,
	"apps/v1beta1":       true,
	"apps/v1beta2":       true,
	"extensions/v1beta1": true,
}

// TargetsDeployment reports whether an autoscaler's scale target (as in an
// HPA's scaleTargetRef) resolves to the Deployment named deployment in the
// autoscaler's own namespace.
func TargetsDeployment(apiVersion, kind, name, deployment string) bool {
	return name == deployment && IsDeployment(apiVersion, kind)
}

// IsDeployment reports whether a scale target's apiVersion and kind name an
// apps/v1 Deployment, under any spelling the API server accepts.
func IsDeployment(apiVersion, kind string) bool {
	return kind == "Deployment" && deploymentAPIVersions[apiVersion]
}
