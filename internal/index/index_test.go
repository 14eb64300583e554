package index_test

import (
	"slices"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/dashflow/dashstream-operator/internal/index"
)

func TestScaledDeploymentNamesOnlyDeploymentTargets(t *testing.T) {
	cases := []struct {
		apiVersion, kind string
		want             []string
	}{
		{"apps/v1", "Deployment", []string{"events-websocket-server"}},
		{"extensions/v1beta1", "Deployment", []string{"events-websocket-server"}},
		{"", "Deployment", []string{"events-websocket-server"}},
		{"example.com/v1", "Widget", nil},
		{"apps/v1", "StatefulSet", nil},
	}
	for _, c := range cases {
		hpa := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: c.apiVersion, Kind: c.kind, Name: "events-websocket-server",
			},
		}}
		if got := index.ScaledDeployment(hpa); !slices.Equal(got, c.want) {
			t.Errorf("target %s %s: indexed under %q, want %q", c.apiVersion, c.kind, got, c.want)
		}
	}

	if got := index.ScaledDeployment(&corev1.Pod{}); got != nil {
		t.Errorf("a Pod is indexed under %q, want nothing", got)
	}
}
