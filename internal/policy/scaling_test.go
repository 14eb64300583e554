package policy_test

import (
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/policy"
)

func dashStream(mode streamingv1alpha1.BackplaneMode, replicas *int32) *streamingv1alpha1.DashStream {
	ds := &streamingv1alpha1.DashStream{}
	ds.Namespace, ds.Name = "shop", "events"
	ds.Spec.Replicas = replicas
	if mode != "" {
		ds.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{Mode: mode}
	}

	return ds
}

func TestDesiredReplicas(t *testing.T) {
	cases := []struct {
		name     string
		mode     streamingv1alpha1.BackplaneMode
		replicas *int32
		want     int32
	}{
		{"no backplane, no replicas", "", nil, 1},
		{"no backplane ignores replicas", "", ptr.To[int32](3), 1},
		{"mode None ignores replicas", streamingv1alpha1.BackplaneNone, ptr.To[int32](3), 1},
		{"per-pod groups default to one", streamingv1alpha1.BackplanePerPodConsumerGroup, nil, 1},
		{"per-pod groups scale", streamingv1alpha1.BackplanePerPodConsumerGroup, ptr.To[int32](4), 4},
		{"broadcast scales", streamingv1alpha1.BackplaneBroadcast, ptr.To[int32](2), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := policy.DesiredReplicas(dashStream(c.mode, c.replicas)); got != c.want {
				t.Errorf("DesiredReplicas = %d, want %d", got, c.want)
			}
		})
	}
}

func TestCheckReplicas(t *testing.T) {
	pinned := dashStream("", nil)
	for _, n := range []int32{0, 2, 10} {
		err := policy.CheckReplicas(pinned, n)
		if err == nil {
			t.Fatalf("CheckReplicas(pinned, %d) allowed; want a denial", n)
		}
		for _, part := range []string{"shop/events", "spec.backplane.mode", "PerPodConsumerGroup", "partial"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("denial %q should mention %q", err, part)
			}
		}
	}

	if err := policy.CheckReplicas(pinned, 1); err != nil {
		t.Errorf("CheckReplicas(pinned, 1) = %v, want nil", err)
	}
	if err := policy.CheckReplicas(dashStream(streamingv1alpha1.BackplaneBroadcast, nil), 5); err != nil {
		t.Errorf("CheckReplicas(broadcast, 5) = %v, want nil", err)
	}
	if policy.MayAutoscale(pinned) {
		t.Error("MayAutoscale(pinned) = true, want false")
	}
}

func TestTargetsDeployment(t *testing.T) {
	cases := []struct {
		apiVersion, kind, name string
		want                   bool
	}{
		{"apps/v1", "Deployment", "events-websocket-server", true},
		{"", "Deployment", "events-websocket-server", true},
		{"extensions/v1beta1", "Deployment", "events-websocket-server", true},
		{"apps/v1beta1", "Deployment", "events-websocket-server", true},
		{"apps/v1beta2", "Deployment", "events-websocket-server", true},
		{"apps/v1", "Deployment", "other", false},
		{"apps/v1", "StatefulSet", "events-websocket-server", false},
		{"example.com/v1", "Deployment", "events-websocket-server", false},
		{"argoproj.io/v1alpha1", "Rollout", "events-websocket-server", false},
	}
	for _, c := range cases {
		got := policy.TargetsDeployment(c.apiVersion, c.kind, c.name, "events-websocket-server")
		if got != c.want {
			t.Errorf("TargetsDeployment(%q, %q, %q) = %v, want %v", c.apiVersion, c.kind, c.name, got, c.want)
		}
	}
}

func TestReplicasToApply(t *testing.T) {
	broadcast := dashStream(streamingv1alpha1.BackplaneBroadcast, ptr.To[int32](3))
	cases := []struct {
		name string
		ds   *streamingv1alpha1.DashStream
		hpa  policy.Autoscaler
		live *int32
		want *int32
	}{
		{"pinned, whatever autoscales it", dashStream("", ptr.To[int32](3)),
			policy.Autoscaler{Present: true}, ptr.To[int32](4), ptr.To[int32](1)},
		{"backplane without an autoscaler: the spec", broadcast, policy.Autoscaler{}, ptr.To[int32](5),
			ptr.To[int32](3)},
		{"autoscaler owns the count: left alone", broadcast,
			policy.Autoscaler{Present: true}, ptr.To[int32](5), nil},
		{"autoscaler has not scaled yet: still the autoscaler's", broadcast,
			policy.Autoscaler{Present: true}, ptr.To[int32](2), nil},
		{"autoscaler before the Deployment exists: the spec", broadcast, policy.Autoscaler{Present: true}, nil,
			ptr.To[int32](3)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := policy.ReplicasToApply(c.ds, c.hpa, c.live)
			if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
				t.Errorf("ReplicasToApply = %v, want %v", ptr.Deref(got, -1), ptr.Deref(c.want, -1))
			}
		})
	}
}
