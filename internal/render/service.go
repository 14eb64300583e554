package render

import (
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

// Service renders the ClusterIP Service for the WebSocket and metrics port.
func Service(ds *streamingv1alpha1.DashStream) *corev1ac.ServiceApplyConfiguration {
	port := int32Or(ds.Spec.Port, DefaultPort)

	return corev1ac.Service(ServerObjectName(ds.Name), ds.Namespace).
		WithLabels(Labels(ds)).
		WithOwnerReferences(ownerReference(ds)).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSelector(SelectorLabels(ds)).
			WithPorts(corev1ac.ServicePort().
				WithName(PortName).
				WithPort(port).
				WithTargetPort(intstr.FromString(PortName)).
				WithProtocol(corev1.ProtocolTCP)))
}

// PDBEnabled reports whether ds asks for a PodDisruptionBudget (default yes).
func PDBEnabled(ds *streamingv1alpha1.DashStream) bool {
	p := ds.Spec.PodDisruptionBudget

	return p == nil || p.Enabled == nil || *p.Enabled
}

// PodDisruptionBudget renders a budget that allows one pod down at a time
// and always lets unhealthy pods be evicted, so a single replica never
// blocks a node drain. Its selector equals the Deployment's.
func PodDisruptionBudget(ds *streamingv1alpha1.DashStream) *policyv1ac.PodDisruptionBudgetApplyConfiguration {
	return policyv1ac.PodDisruptionBudget(ServerObjectName(ds.Name), ds.Namespace).
		WithLabels(Labels(ds)).
		WithOwnerReferences(ownerReference(ds)).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMaxUnavailable(intstr.FromInt32(1)).
			WithUnhealthyPodEvictionPolicy(policyv1.AlwaysAllow).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(ds))))
}
