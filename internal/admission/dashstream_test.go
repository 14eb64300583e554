package admission_test

import (
	"strings"
	"testing"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	dsadmission "github.com/dashflow/dashstream-operator/internal/admission"
)

// TestDashStreamWithConflictingHPA checks that a pinned DashStream whose
// Deployment an HPA already targets is admitted, never denied (a GitOps
// sync may apply the HPA first), and that the warning says what to do.
func TestDashStreamWithConflictingHPA(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	body := dashStreamReview(dashStream(teamA, "events", streamingv1alpha1.BackplaneNone)).body()

	got := post(t, srv.WebhookMux(), dsadmission.PathDashStream, body)
	got.expectAllowed(t)

	warnings := strings.Join(got.response().Warnings, "\n")
	expectMessage(t, warnings, "HorizontalPodAutoscaler events-load", "Deployment "+pinnedServer,
		"AutoscalerConflict", "spec.backplane.mode")
}

// TestDashStreamWithoutConflict checks that no warning is given where no
// HPA conflicts: none aimed at the server, or a mode that may scale.
func TestDashStreamWithoutConflict(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	cases := map[string]*streamingv1alpha1.DashStream{
		"pinned, no HPA":                dashStream(teamA, "quiet", streamingv1alpha1.BackplaneNone),
		"pinned, in another namespace":  dashStream(teamB, "events", ""),
		"PerPodConsumerGroup with HPA":  dashStream(teamA, "fanout", streamingv1alpha1.BackplanePerPodConsumerGroup),
		"moving to Broadcast, with HPA": dashStream(teamA, "events", streamingv1alpha1.BackplaneBroadcast),
	}
	for name, ds := range cases {
		t.Run(name, func(t *testing.T) {
			got := post(t, srv.WebhookMux(), dsadmission.PathDashStream, dashStreamReview(ds).body())
			got.expectAllowed(t)
			if w := got.response().Warnings; len(w) != 0 {
				t.Errorf("want no warning, got %q", w)
			}
		})
	}
}
