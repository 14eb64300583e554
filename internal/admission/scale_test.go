package admission_test

import (
	"fmt"
	"testing"

	dsadmission "github.com/dashflow/dashstream-operator/internal/admission"
)

// TestScale checks kubectl scale and autoscalers' scale updates: a pinned
// server may only be kept at 1, every other Deployment scales freely.
func TestScale(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	cases := []struct {
		deployment string
		replicas   int32
		denied     bool
	}{
		{pinnedServer, 2, true},
		{pinnedServer, 0, true},
		{"legacy-websocket-server", 3, true},
		{pinnedServer, 1, false},
		{"fanout-websocket-server", 4, false},
		{"relay-websocket-server", 4, false},
		{"checkout", 4, false},
		{"ghost-websocket-server", 4, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s to %d", tc.deployment, tc.replicas), func(t *testing.T) {
			got := post(t, srv.WebhookMux(), dsadmission.PathScale, scaleReview(tc.deployment, tc.replicas).body())
			if tc.denied {
				got.expectDenied(t, fmt.Sprintf("Deployment team-a/%s may not be scaled to %d", tc.deployment,
					tc.replicas), "partial streams", "spec.backplane.mode")
				return
			}
			got.expectAllowed(t)
		})
	}
}

// TestScaleOfAnotherSubresourceIsAnError checks that the handler refuses
// a request it was not registered for rather than deciding it.
func TestScaleOfAnotherSubresourceIsAnError(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	for _, sub := range []string{"", "status"} {
		r := scaleReview(pinnedServer, 2)
		r.subResource = sub

		post(t, srv.WebhookMux(), dsadmission.PathScale, r.body()).
			expectBadRequest(t, "this webhook validates deployments/scale")
	}
}
