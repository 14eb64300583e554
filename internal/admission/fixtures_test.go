package admission_test

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"

	"github.com/dashflow/dashstream-operator/internal/testobjects"
)

// TestMain silences controller-runtime's logger, which would otherwise
// complain, in the middle of a long fuzz run, that nobody set it.
func TestMain(m *testing.M) {
	logf.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

const (
	// operatorUser is the user name the operator's own writes carry.
	operatorUser = "system:serviceaccount:dashstream-system:dashstream-operator"
	// teamA holds the DashStreams of fixture; teamB holds none.
	teamA = "team-a"
	teamB = "team-b"
	// pinnedServer is the Deployment of DashStream "events", mode None.
	pinnedServer = "events-websocket-server"
)

// Kinds as the API server names them in an AdmissionReview.
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

// testScheme knows the built-in kinds and DashStream, as the manager's does.
var testScheme = newScheme()

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(streamingv1alpha1.AddToScheme(s))

	return s
}

// fixture is what the webhooks' reader holds in most tests. In team-a:
// DashStreams events (mode None) and legacy (no backplane, so None too)
// pin their servers; fanout (PerPodConsumerGroup) and relay (Broadcast) do
// not. HPAs already aim at events' and fanout's servers and at checkout.
func fixture() []client.Object {
	return []client.Object{
		dashStream(teamA, "events", streamingv1alpha1.BackplaneNone),
		dashStream(teamA, "legacy", ""),
		dashStream(teamA, "fanout", streamingv1alpha1.BackplanePerPodConsumerGroup),
		dashStream(teamA, "relay", streamingv1alpha1.BackplaneBroadcast),
		testobjects.HPAv2(teamA, "events-load", "apps/v1", "Deployment", pinnedServer),
		testobjects.HPAv2(teamA, "fanout-load", "apps/v1", "Deployment", "fanout-websocket-server"),
		testobjects.HPAv2(teamA, "cpu", "apps/v1", "Deployment", "checkout"),
	}
}

// dashStream is a valid DashStream; mode "" leaves spec.backplane unset.
func dashStream(ns, name string, mode streamingv1alpha1.BackplaneMode) *streamingv1alpha1.DashStream {
	ds := &streamingv1alpha1.DashStream{
		TypeMeta:   metav1.TypeMeta{APIVersion: streamingv1alpha1.GroupVersion.String(), Kind: "DashStream"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: streamingv1alpha1.DashStreamSpec{
			Image: "ghcr.io/dashflow/websocket-server:1.8.2",
			Kafka: streamingv1alpha1.KafkaSpec{Brokers: []string{"kafka-0:9092"}, Topic: "events", GroupID: name},
		},
	}
	if mode != "" {
		ds.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{Mode: mode}
	}
	if mode == streamingv1alpha1.BackplaneBroadcast {
		ds.Spec.Backplane.URL = "redis://backplane:6379"
	}

	return ds
}

// deployment is a Deployment as the operator renders it; replicas nil
// leaves spec.replicas unset.
func deployment(ns, name string, replicas *int32) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/managed-by": "dashstream-operator"}

	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Image: "example.com/s:1"}}},
			},
		},
	}
}
