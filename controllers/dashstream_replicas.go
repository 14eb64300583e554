package controllers

import (
	"encoding/json"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/dashflow/dashstream-operator/internal/render"
)

// othersOwnReplicas reports whether a field manager other than the
// operator owns the Deployment's spec.replicas, as the HPA controller does
// once it has scaled it through the scale subresource.
func othersOwnReplicas(d *appsv1.Deployment) bool {
	if d == nil {
		return false
	}

	for _, mf := range d.ManagedFields {
		if mf.Manager != render.FieldManager && mf.FieldsV1 != nil && ownsReplicas(mf.FieldsV1.Raw) {
			return true
		}
	}

	return false
}

// hpaController is the field manager of the HPA controller's scale writes:
// kube-controller-manager, which runs it.
const hpaController = "kube-controller-manager"

// autoscalerLeftReplicas reports whether spec.replicas, owned by others
// than the operator, was last written only on an autoscaler's behalf: by
// the HPA controller through the scale subresource, or by the hand-over
// that prepared for it. Once the autoscaler is gone, restoring
// spec.replicas from the DashStream is no drift.
func autoscalerLeftReplicas(d *appsv1.Deployment) bool {
	found := false
	for _, mf := range d.ManagedFields {
		if mf.Manager == render.FieldManager || mf.FieldsV1 == nil || !ownsReplicas(mf.FieldsV1.Raw) {
			continue
		}
		if mf.Manager != replicasHandOverManager && (mf.Manager != hpaController || mf.Subresource != "scale") {
			return false
		}
		found = true
	}

	return found
}

// ownsReplicas reports whether a managed-fields set holds spec.replicas.
func ownsReplicas(fields []byte) bool {
	var set struct {
		Spec map[string]json.RawMessage `json:"f:spec"`
	}
	if err := json.Unmarshal(fields, &set); err != nil {
		return false
	}

	_, ok := set.Spec["f:replicas"]

	return ok
}
