package controllers

import (
	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/policy"
)

// ReasonReplicasReverted is the Event reason for a replica count the
// operator restored after someone changed it.
const ReasonReplicasReverted = "ReplicasReverted"

// ReasonReplicasRestored is the Event reason for spec.replicas restored
// on a server with a backplane mode once no autoscaler targets it.
const ReasonReplicasRestored = "ReplicasRestored"

// scaleAdvice tells a user how to change the replica count for real.
func scaleAdvice(ds *streamingv1alpha1.DashStream) string {
	if policy.Pinned(ds) {
		return policy.PinnedReason(ds)
	}

	return "Change spec.replicas on the DashStream instead."
}
