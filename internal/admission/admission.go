// Package admission holds the validating webhooks that stop unsafe scaling
// of a pinned DashFlow WebSocket server before it reaches the cluster. Every
// handler decides through internal/policy, as the reconciler does.
package admission

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/policy"
	"github.com/dashflow/dashstream-operator/internal/render"
)

// Paths the webhooks are served at; config/webhook names the same ones.
const (
	PathHPA        = "/validate-autoscaling-horizontalpodautoscaler"
	PathScale      = "/validate-apps-deployment-scale"
	PathDeployment = "/validate-apps-deployment"
	PathDashStream = "/validate-streaming-dashflow-io-v1alpha1-dashstream"
)

// denials counts denied requests by what was asked.
var denials = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "dashstream_admission_denials_total",
	Help: "Requests the DashStream admission webhooks denied, by kind of request.",
}, []string{"kind"})

func init() {
	metrics.Registry.MustRegister(denials)
}

// Register serves every handler on the manager's webhook server. reader
// should be the manager's cached client, so decisions take microseconds;
// operator is the operator's own user name, whose writes are never denied.
func Register(srv webhook.Server, scheme *runtime.Scheme, reader client.Reader, operator string) {
	decoder := admission.NewDecoder(scheme)
	lookup := &pinLookup{reader: reader}

	srv.Register(PathHPA, &webhook.Admission{Handler: &HPAHandler{pins: lookup}})
	srv.Register(PathScale, &webhook.Admission{Handler: &ScaleHandler{Decoder: decoder, pins: lookup}})
	srv.Register(PathDeployment, &webhook.Admission{Handler: &DeploymentHandler{
		pins: lookup, Operator: operator,
	}})
	srv.Register(PathDashStream, &webhook.Admission{Handler: &DashStreamHandler{Decoder: decoder, Reader: reader}})
}

// pinLookup finds the DashStream, if any, that pins a Deployment.
type pinLookup struct {
	reader client.Reader
}

// pinning returns the DashStream that owns the Deployment named deployment
// in namespace and pins its replicas, or nil when there is none.
func (l *pinLookup) pinning(ctx context.Context, namespace, deployment string) (*streamingv1alpha1.DashStream, error) {
	name, ok := render.DashStreamForServer(deployment)
	if !ok {
		return nil, nil
	}

	ds := &streamingv1alpha1.DashStream{}
	err := l.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, ds)
	if client.IgnoreNotFound(err) != nil {
		return nil, fmt.Errorf("get DashStream %s/%s: %w", namespace, name, err)
	}
	if err != nil || !policy.Pinned(ds) {
		return nil, nil
	}

	return ds, nil
}

// deny builds a denial and counts it.
func deny(kind, msg string) admission.Response {
	denials.WithLabelValues(kind).Inc()

	return admission.Denied(msg)
}

// Kinds the webhooks are registered for, as the API server names them in a
// request (the scale subresource of an apps/v1 Deployment is an
// autoscaling/v1 Scale).
var (
	kindHPAv1      = metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "HorizontalPodAutoscaler"}
	kindHPAv2      = metav1.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}
	kindScale      = metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}
	kindDeployment = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	kindDashStream = metav1.GroupVersionKind{
		Group:   streamingv1alpha1.GroupVersion.Group,
		Version: streamingv1alpha1.GroupVersion.Version,
		Kind:    "DashStream",
	}
)

// unexpectedKind answers a request for a kind the webhook is not
// registered for: an error, never a decision on an object that happens to
// decode as the kind expected.
func unexpectedKind(got metav1.GroupVersionKind, want string) admission.Response {
	return admission.Errored(http.StatusBadRequest,
		fmt.Errorf("unexpected kind %s: this webhook validates %s", got, want))
}

// ofKind checks that an object sent with a request is of the kind the
// request names, as the scheme's decoder would: the handlers that read only
// a few fields of it must not decide on an object of another kind.
func ofKind(tm metav1.TypeMeta, want metav1.GroupVersionKind) error {
	got := tm.GroupVersionKind()
	if got.Group != want.Group || got.Version != want.Version || got.Kind != want.Kind {
		return fmt.Errorf("the object is a %s, not the %s the request names", got, want)
	}

	return nil
}

// lookupFailed answers when the cache could not be read: an error, which
// the API server treats by the webhook's failure policy, never an allow.
func lookupFailed(err error) admission.Response {
	return admission.Errored(http.StatusInternalServerError, err)
}
