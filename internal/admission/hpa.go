package admission

import (
	"context"
	stdjson "encoding/json"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/dashflow/dashstream-operator/internal/policy"
)

// The HPA webhook: Fail, but only in namespaces that hold a DashStream and
// never in kube-system or the operator's own namespace. The API server calls
// it only for HPAs aimed at a name a DashStream's server can have
// (render.ServerObjectName), so autoscalers of other workloads, the usual
// case, pay nothing.
// +kubebuilder:webhook:path=/validate-autoscaling-horizontalpodautoscaler,mutating=false,failurePolicy=fail,sideEffects=None,groups=autoscaling,resources=horizontalpodautoscalers,verbs=create;update,versions=v1;v2,name=hpa.streaming.dashflow.io,admissionReviewVersions=v1,matchPolicy=Equivalent,timeoutSeconds=5,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"streaming.dashflow.io/has-dashstreams","operator":"In","values":["true"]},{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","dashstream-system"]}]},"matchConditions":[{"name":"aimed-at-a-server-name","expression":"object.spec.scaleTargetRef.name.endsWith('-websocket-server')"}]}`

// HPAHandler denies HorizontalPodAutoscalers, autoscaling/v1 or v2, whose
// scale target is a Deployment pinned to one replica by a DashStream.
type HPAHandler struct {
	pins *pinLookup
}

// scaleTarget is the part of an HPA, of either version, the policy reads.
type scaleTarget struct {
	apiVersion, kind, name string
	spec                   any
}

// Handle decides one HPA create or update.
func (h *HPAHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	target, err := h.decode(req, req.Object.Raw)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}

	// A metadata-only update (a finalizer removed, a label added) must pass,
	// even for an HPA that predates the webhook.
	if req.Operation == admissionv1.Update {
		old, err := h.decode(req, req.OldObject.Raw)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if equality.Semantic.DeepEqual(old.spec, target.spec) {
			return admission.Allowed("spec unchanged")
		}
	}

	if !policy.IsDeployment(target.apiVersion, target.kind) {
		return admission.Allowed("target is not a Deployment")
	}

	ds, err := h.pins.pinning(ctx, req.Namespace, target.name)
	if err != nil {
		return lookupFailed(err)
	}
	if ds == nil {
		return admission.Allowed("target is not pinned")
	}

	return deny("HorizontalPodAutoscaler", fmt.Sprintf(
		"HorizontalPodAutoscaler %s/%s may not target Deployment %s. %s; "+
			"or remove this autoscaler.", req.Namespace, req.Name, target.name, policy.PinnedReason(ds)))
}

// decode reads the scale target of an HPA in the version the request names.
func (h *HPAHandler) decode(req admission.Request, raw []byte) (scaleTarget, error) {
	if len(raw) == 0 {
		return scaleTarget{}, fmt.Errorf("request carries no HorizontalPodAutoscaler")
	}

	if req.Kind != kindHPAv1 && req.Kind != kindHPAv2 {
		return scaleTarget{}, fmt.Errorf("unexpected kind %s: this webhook validates autoscaling/v1 and v2 "+
			"HorizontalPodAutoscalers", req.Kind)
	}

	return decodeScaleTarget(raw, req.Kind)
}

// decodeScaleTarget reads an HPA of either version, which both carry the
// same scaleTargetRef, in one pass over the object, and checks that it is
// of the kind the request names. The spec is kept as sent, fields this
// build's types do not know included: an update that changes only such a
// field (one a newer API server serves) is a spec update, not a
// metadata-only one.
func decodeScaleTarget(raw []byte, want metav1.GroupVersionKind) (scaleTarget, error) {
	var sent struct {
		metav1.TypeMeta `json:",inline"`
		Spec            stdjson.RawMessage `json:"spec"`
	}
	if err := stdjson.Unmarshal(raw, &sent); err != nil {
		return scaleTarget{}, fmt.Errorf("decode HorizontalPodAutoscaler: %w", err)
	}
	if err := ofKind(sent.TypeMeta, want); err != nil {
		return scaleTarget{}, fmt.Errorf("decode HorizontalPodAutoscaler: %w", err)
	}

	var spec struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
	}
	// apimachinery's decoder keeps integers exact, so no two specs that
	// differ compare equal.
	var all any
	if len(sent.Spec) > 0 {
		if err := stdjson.Unmarshal(sent.Spec, &spec); err != nil {
			return scaleTarget{}, fmt.Errorf("decode HorizontalPodAutoscaler spec: %w", err)
		}
		if err := json.Unmarshal(sent.Spec, &all); err != nil {
			return scaleTarget{}, fmt.Errorf("decode HorizontalPodAutoscaler spec: %w", err)
		}
	}

	ref := spec.ScaleTargetRef

	return scaleTarget{apiVersion: ref.APIVersion, kind: ref.Kind, name: ref.Name, spec: all}, nil
}
