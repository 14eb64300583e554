package admission

import (
	"context"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/json"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/dashflow/dashstream-operator/internal/policy"
)

// The Deployment webhook sees only Deployments the operator manages, and
// never the operator's own writes: the API server skips the call for its
// service account, so reconciling never waits on the operator's own webhook
// server (which may still be starting). The handler checks the user too.
// +kubebuilder:webhook:path=/validate-apps-deployment,mutating=false,failurePolicy=fail,sideEffects=None,groups=apps,resources=deployments,verbs=update,versions=v1,name=deployment.streaming.dashflow.io,admissionReviewVersions=v1,matchPolicy=Equivalent,timeoutSeconds=5,patch=`{"objectSelector":{"matchLabels":{"app.kubernetes.io/managed-by":"dashstream-operator"}},"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","dashstream-system"]}]},"matchConditions":[{"name":"not-the-operator","expression":"request.userInfo.username != 'system:serviceaccount:dashstream-system:dashstream-controller-manager'"}]}`

// DeploymentHandler denies edits of a pinned Deployment's replicas by
// anyone but the operator: a kubectl edit, an overlay applied by hand or by
// a GitOps sync. Everything else about the Deployment may change.
type DeploymentHandler struct {
	// Operator is the operator's own user name; its writes always pass.
	Operator string
	pins     *pinLookup
}

// Handle decides one Deployment update.
func (h *DeploymentHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Kind != kindDeployment {
		return unexpectedKind(req.Kind, "apps/v1 Deployments")
	}

	oldDep, err := decodeReplicas(req.OldObject)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	newDep, err := decodeReplicas(req.Object)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}

	before, after := ptr.Deref(oldDep.Spec.Replicas, 1), ptr.Deref(newDep.Spec.Replicas, 1)
	if before == after || (h.Operator != "" && req.UserInfo.Username == h.Operator) {
		return admission.Allowed("replicas unchanged, or changed by the operator")
	}

	ds, err := h.pins.pinning(ctx, req.Namespace, req.Name)
	if err != nil {
		return lookupFailed(err)
	}
	if ds == nil {
		return admission.Allowed("Deployment is not pinned")
	}

	if err := policy.CheckReplicas(ds, after); err != nil {
		return deny("Deployment", fmt.Sprintf("Deployment %s/%s may not run %d replicas. %v.",
			req.Namespace, req.Name, after, err))
	}

	return admission.Allowed("replicas allowed")
}

// replicasOnly is the one field of a Deployment this webhook reads.
// Decoding just it, rather than two whole Deployments, halves the cost of
// every update of a managed Deployment.
type replicasOnly struct {
	metav1.TypeMeta `json:",inline"`
	Spec            struct {
		Replicas *int32 `json:"replicas"`
	} `json:"spec"`
}

func decodeReplicas(raw runtime.RawExtension) (*replicasOnly, error) {
	if len(raw.Raw) == 0 {
		return nil, fmt.Errorf("request carries no Deployment (only updates are validated)")
	}

	d := &replicasOnly{}
	if err := json.Unmarshal(raw.Raw, d); err != nil {
		return nil, fmt.Errorf("decode Deployment: %w", err)
	}
	if err := ofKind(d.TypeMeta, kindDeployment); err != nil {
		return nil, fmt.Errorf("decode Deployment: %w", err)
	}

	return d, nil
}
