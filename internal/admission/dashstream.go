package admission

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/index"
	"github.com/dashflow/dashstream-operator/internal/policy"
	"github.com/dashflow/dashstream-operator/internal/render"
)

// +kubebuilder:webhook:path=/validate-streaming-dashflow-io-v1alpha1-dashstream,mutating=false,failurePolicy=fail,sideEffects=None,groups=streaming.dashflow.io,resources=dashstreams,verbs=create;update,versions=v1alpha1,name=dashstream.streaming.dashflow.io,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","dashstream-system"]}]}}`

// DashStreamHandler checks what the CRD's own rules cannot, because it
// needs other objects. A pinned DashStream whose Deployment an HPA already
// targets is admitted with a warning, not denied: a GitOps sync may apply
// the HPA first, and a denial would deadlock it.
type DashStreamHandler struct {
	Decoder admission.Decoder
	// Reader lists HPAs by index.HPAsByDeployment, which the reconciler's
	// setup adds to the manager's cache.
	Reader client.Reader
}

// Handle decides one DashStream create or update.
func (h *DashStreamHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Kind != kindDashStream {
		return unexpectedKind(req.Kind, "streaming.dashflow.io/v1alpha1 DashStreams")
	}

	ds := &streamingv1alpha1.DashStream{}
	if err := h.Decoder.Decode(req, ds); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decode DashStream: %w", err))
	}
	if !policy.Pinned(ds) {
		return admission.Allowed("not pinned")
	}

	hpas := &autoscalingv2.HorizontalPodAutoscalerList{}
	deployment := render.ServerObjectName(ds.Name)
	if err := h.Reader.List(ctx, hpas, client.InNamespace(req.Namespace), index.Targeting(deployment)); err != nil {
		return lookupFailed(fmt.Errorf("list HorizontalPodAutoscalers: %w", err))
	}
	if len(hpas.Items) == 0 {
		return admission.Allowed("no autoscaler targets the Deployment")
	}

	names := make([]string, 0, len(hpas.Items))
	for i := range hpas.Items {
		names = append(names, hpas.Items[i].Name)
	}
	sort.Strings(names)

	return admission.Allowed("admitted with a conflicting autoscaler").WithWarnings(fmt.Sprintf(
		"HorizontalPodAutoscaler %s targets Deployment %s, which this DashStream pins to 1 replica; "+
			"the operator keeps it at 1 and reports AutoscalerConflict. Delete the autoscaler, or set "+
			"spec.backplane.mode to PerPodConsumerGroup or Broadcast", strings.Join(names, ", "), deployment))
}
