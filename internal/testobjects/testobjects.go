// Package testobjects builds the autoscaling objects the tests send, to the
// API server and straight to the webhooks: HPAs of both versions and the
// Scale of a Deployment, with apiVersion and kind set, as a client encodes
// them. Only tests import it.
package testobjects

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// HPAv2 is an autoscaling/v2 HPA in ns scaling the target of apiVersion
// and kind, between 1 and 5 replicas.
func HPAv2(ns, name, apiVersion, kind, target string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: apiVersion, Kind: kind, Name: target},
			MinReplicas:    ptr.To[int32](1),
			MaxReplicas:    5,
		},
	}
}

// HPAv1 is HPAv2's autoscaling/v1 counterpart.
func HPAv1(ns, name, apiVersion, kind, target string) *autoscalingv1.HorizontalPodAutoscaler {
	return &autoscalingv1.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: apiVersion, Kind: kind, Name: target},
			MaxReplicas:    5,
		},
	}
}

// Scale is the scale subresource of Deployment name in ns, asking for
// replicas.
func Scale(ns, name string, replicas int32) *autoscalingv1.Scale {
	return &autoscalingv1.Scale{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       autoscalingv1.ScaleSpec{Replicas: replicas},
	}
}
