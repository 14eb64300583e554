package admission

import (
	"context"
	"fmt"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/dashflow/dashstream-operator/internal/policy"
)

// The scale webhook fails open: the HPA controller scales every autoscaled
// workload in the cluster through this path, and the reconciler reverts
// whatever slips through while the operator is down. It is called only
// for Deployments named as a DashStream's server can be.
// +kubebuilder:webhook:path=/validate-apps-deployment-scale,mutating=false,failurePolicy=ignore,sideEffects=None,groups=apps,resources=deployments/scale,verbs=update,versions=v1,name=scale.streaming.dashflow.io,admissionReviewVersions=v1,matchPolicy=Equivalent,timeoutSeconds=3,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"streaming.dashflow.io/has-dashstreams","operator":"In","values":["true"]},{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","dashstream-system"]}]},"matchConditions":[{"name":"a-server-name","expression":"request.name.endsWith('-websocket-server')"}]}`

// ScaleHandler denies updates of a pinned Deployment's scale subresource,
// as kubectl scale and every autoscaler make them, to anything but 1.
type ScaleHandler struct {
	Decoder admission.Decoder
	pins    *pinLookup
}

// Handle decides one deployments/scale update.
func (h *ScaleHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.SubResource != "scale" {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf(
			"unexpected request for %s/%s: this webhook validates deployments/scale",
			req.Resource.Resource, req.SubResource))
	}

	if req.Kind != kindScale {
		return unexpectedKind(req.Kind, "the autoscaling/v1 Scale of deployments/scale")
	}

	scale := &autoscalingv1.Scale{}
	if err := h.Decoder.Decode(req, scale); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decode Scale: %w", err))
	}

	ds, err := h.pins.pinning(ctx, req.Namespace, req.Name)
	if err != nil {
		return lookupFailed(err)
	}
	if ds == nil {
		return admission.Allowed("Deployment is not pinned")
	}

	if err := policy.CheckReplicas(ds, scale.Spec.Replicas); err != nil {
		return deny("Scale", fmt.Sprintf("Deployment %s/%s may not be scaled to %d. %v.",
			req.Namespace, req.Name, scale.Spec.Replicas, err))
	}

	return admission.Allowed("replicas allowed")
}
