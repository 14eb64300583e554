package admission_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dsadmission "github.com/dashflow/dashstream-operator/internal/admission"
	"github.com/dashflow/dashstream-operator/internal/testobjects"
)

// deploymentAPIVersions are the scaleTargetRef apiVersions under which an
// HPA may name a Deployment.
var deploymentAPIVersions = []string{"apps/v1", "extensions/v1beta1", "apps/v1beta1", "apps/v1beta2", ""}

// hpaOf builds an HPA of kind's version aimed at target.
func hpaOf(kind metav1.GroupVersionKind, ns, name, apiVersion, targetKind, target string) client.Object {
	if kind == kindHPAv1 {
		return testobjects.HPAv1(ns, name, apiVersion, targetKind, target)
	}

	return testobjects.HPAv2(ns, name, apiVersion, targetKind, target)
}

// TestHPAAimedAtPinnedDeploymentIsDenied checks both HPA versions under
// every apiVersion spelling of a Deployment, and what the denial tells.
func TestHPAAimedAtPinnedDeploymentIsDenied(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	for _, kind := range []metav1.GroupVersionKind{kindHPAv1, kindHPAv2} {
		for _, apiVersion := range deploymentAPIVersions {
			t.Run(kind.Version+"/"+apiVersion, func(t *testing.T) {
				hpa := hpaOf(kind, teamA, "load", apiVersion, "Deployment", pinnedServer)
				got := post(t, srv.WebhookMux(), dsadmission.PathHPA, hpaReview(kind, hpa, nil).body())

				got.expectDenied(t, "HorizontalPodAutoscaler team-a/load", "Deployment "+pinnedServer,
					"DashStream team-a/events", "only some partitions", "partial streams",
					"spec.backplane.mode", "PerPodConsumerGroup", "Broadcast")
			})
		}
	}
}

// TestHPAAllowed checks the HPAs that do not aim at a pinned server.
func TestHPAAllowed(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	cases := []struct {
		name, ns, apiVersion, kind, target string
	}{
		{"another Deployment", teamA, "apps/v1", "Deployment", "checkout"},
		{"a custom kind of the same name", teamA, "example.com/v1", "Widget", pinnedServer},
		{"a Deployment kind in another group", teamA, "example.com/v1", "Deployment", pinnedServer},
		{"a StatefulSet of the same name", teamA, "apps/v1", "StatefulSet", pinnedServer},
		{"a server in mode PerPodConsumerGroup", teamA, "apps/v1", "Deployment", "fanout-websocket-server"},
		{"a server in mode Broadcast", teamA, "apps/v1", "Deployment", "relay-websocket-server"},
		{"a server with no DashStream", teamA, "apps/v1", "Deployment", "ghost-websocket-server"},
		{"the name in a namespace without DashStreams", teamB, "apps/v1", "Deployment", pinnedServer},
		{"a Deployment named only by the suffix", teamA, "apps/v1", "Deployment", "-websocket-server"},
	}
	for _, kind := range []metav1.GroupVersionKind{kindHPAv1, kindHPAv2} {
		for _, tc := range cases {
			t.Run(kind.Version+"/"+tc.name, func(t *testing.T) {
				hpa := hpaOf(kind, tc.ns, "load", tc.apiVersion, tc.kind, tc.target)
				post(t, srv.WebhookMux(), dsadmission.PathHPA, hpaReview(kind, hpa, nil).body()).expectAllowed(t)
			})
		}
	}
}

// TestHPAUpdate checks that a metadata-only update always passes, even for
// an HPA that predates the webhook, while a spec update is decided on its
// target.
func TestHPAUpdate(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	pinned := func() client.Object {
		return testobjects.HPAv2(teamA, "events-load", "apps/v1", "Deployment", pinnedServer)
	}
	labelled := pinned()
	labelled.SetLabels(map[string]string{"team": "streaming"})
	finalized := pinned()
	finalized.SetFinalizers([]string{"example.com/keep"})
	raised := testobjects.HPAv2(teamA, "events-load", "apps/v1", "Deployment", pinnedServer)
	raised.Spec.MaxReplicas = 7
	moved := testobjects.HPAv2(teamA, "events-load", "apps/v1", "Deployment", "checkout")

	cases := []struct {
		name     string
		old, new client.Object
		denied   bool
	}{
		{"a label added to an HPA of the pinned server", pinned(), labelled, false},
		{"a finalizer removed from an HPA of the pinned server", finalized, pinned(), false},
		{"maxReplicas raised on an HPA of the pinned server", pinned(), raised, true},
		{"an HPA moved onto the pinned server", moved, pinned(), true},
		{"an HPA moved off the pinned server", pinned(), moved, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := post(t, srv.WebhookMux(), dsadmission.PathHPA, hpaReview(kindHPAv2, tc.new, tc.old).body())
			if tc.denied {
				got.expectDenied(t, "HorizontalPodAutoscaler team-a/events-load", "DashStream team-a/events")
				return
			}
			got.expectAllowed(t)
		})
	}
}

// TestHPAUpdateOfV1MetadataPasses checks the metadata-only rule for the
// autoscaling/v1 shape as well.
func TestHPAUpdateOfV1MetadataPasses(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	old := testobjects.HPAv1(teamA, "events-load", "", "Deployment", pinnedServer)
	labelled := old.DeepCopy()
	labelled.Labels = map[string]string{"team": "streaming"}

	got := post(t, srv.WebhookMux(), dsadmission.PathHPA, hpaReview(kindHPAv1, labelled, old).body())
	got.expectAllowed(t)

	labelled.Spec.MaxReplicas = 9
	got = post(t, srv.WebhookMux(), dsadmission.PathHPA, hpaReview(kindHPAv1, labelled, old).body())
	got.expectDenied(t, "HorizontalPodAutoscaler team-a/events-load")
}

// TestHPAUpdateOfAFieldUnknownHereIsASpecUpdate checks an update that
// changes only a spec field this build's types do not know, as a newer
// API server may serve: it is not metadata-only, so it is decided on the
// target like any spec update.
func TestHPAUpdateOfAFieldUnknownHereIsASpecUpdate(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	old := testobjects.HPAv2(teamA, "events-load", "apps/v1", "Deployment", pinnedServer)
	r := hpaReview(kindHPAv2, old, old)
	r.rawObject = []byte(`{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler",` +
		`"metadata":{"namespace":"team-a","name":"events-load"},"spec":{"scaleTargetRef":` +
		`{"apiVersion":"apps/v1","kind":"Deployment","name":"events-websocket-server"},` +
		`"minReplicas":1,"maxReplicas":5,"futureField":{"burst":true}}}`)

	post(t, srv.WebhookMux(), dsadmission.PathHPA, r.body()).
		expectDenied(t, "HorizontalPodAutoscaler team-a/events-load")
}
