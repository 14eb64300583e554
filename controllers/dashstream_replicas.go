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
