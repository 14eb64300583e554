package admission_test

import (
	"testing"

	"k8s.io/utils/ptr"

	dsadmission "github.com/dashflow/dashstream-operator/internal/admission"
)

// TestDeploymentReplicas checks edits of spec.replicas: a user may not
// change a pinned server's, the operator may, and nothing else is decided.
func TestDeploymentReplicas(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	cases := []struct {
		name, user, deployment string
		old, new               *int32
		denied                 bool
	}{
		{"a user raises the pinned server", "alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](3), true},
		{"a user sets 0 on the pinned server", "alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](0), true},
		{"a user sets 2 where replicas were unset", "alice", pinnedServer, nil, ptr.To[int32](2), true},
		{"the operator sets the pinned server's replicas", operatorUser, pinnedServer, ptr.To[int32](3),
			ptr.To[int32](1), false},
		{"the operator raises a server", operatorUser, pinnedServer, ptr.To[int32](1), ptr.To[int32](3), false},
		{"a user leaves replicas unchanged", "alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](1), false},
		{"a user writes the default explicitly", "alice", pinnedServer, nil, ptr.To[int32](1), false},
		{"a user scales back to 1", "alice", pinnedServer, ptr.To[int32](3), ptr.To[int32](1), false},
		{"a user raises a PerPodConsumerGroup server", "alice", "fanout-websocket-server", ptr.To[int32](1),
			ptr.To[int32](3), false},
		{"a user raises another Deployment", "alice", "checkout", ptr.To[int32](1), ptr.To[int32](3), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := deploymentReview(tc.user, tc.deployment, tc.old, tc.new).body()
			got := post(t, srv.WebhookMux(), dsadmission.PathDeployment, body)
			if tc.denied {
				got.expectDenied(t, "Deployment team-a/"+tc.deployment+" may not run",
					"DashStream team-a/events", "spec.backplane.mode")
				return
			}
			got.expectAllowed(t)
		})
	}
}

// TestDeploymentOperatorNameIsNotAWildcard checks that a user named like
// the operator's prefix gets no pass, and that an empty user name is no
// one's.
func TestDeploymentOperatorNameIsNotAWildcard(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	for _, user := range []string{"", "system:serviceaccount:dashstream-system", operatorUser + "x"} {
		body := deploymentReview(user, pinnedServer, ptr.To[int32](1), ptr.To[int32](2)).body()
		post(t, srv.WebhookMux(), dsadmission.PathDeployment, body).expectDenied(t, "may not run 2 replicas")
	}
}
