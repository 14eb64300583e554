package render

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/policy"
)

// Defaults applied when rendering, so that a manifest read back from the
// API server is exactly the one applied.
const (
	// DefaultPort serves the WebSocket endpoint and /metrics.
	DefaultPort int32 = 8080
	// ContainerName is the server container's name.
	ContainerName = "websocket-server"
	// PortName names the server's port on the container and the Service.
	PortName = "http"
	// nonRootUID is the user the server runs as when the image names none.
	nonRootUID int64 = 65532
)

// Deployment renders the server's Deployment with replicas pods; nil
// leaves the count out, to an autoscaler that owns it. In mode None it runs
// the Recreate strategy, so two members of one consumer group never
// overlap, not even during a rollout.
func Deployment(ds *streamingv1alpha1.DashStream, replicas *int32) *appsv1ac.DeploymentApplyConfiguration {
	spec := appsv1ac.DeploymentSpec().
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(ds))).
		WithStrategy(strategy(ds)).
		WithTemplate(podTemplate(ds))
	if replicas != nil {
		spec.WithReplicas(*replicas)
	}

	return appsv1ac.Deployment(ServerObjectName(ds.Name), ds.Namespace).
		WithLabels(Labels(ds)).
		WithOwnerReferences(ownerReference(ds)).
		WithSpec(spec)
}

func strategy(ds *streamingv1alpha1.DashStream) *appsv1ac.DeploymentStrategyApplyConfiguration {
	if policy.Pinned(ds) {
		return appsv1ac.DeploymentStrategy().WithType(appsv1.RecreateDeploymentStrategyType)
	}

	return appsv1ac.DeploymentStrategy().
		WithType(appsv1.RollingUpdateDeploymentStrategyType).
		WithRollingUpdate(appsv1ac.RollingUpdateDeployment().
			WithMaxUnavailable(intstr.FromInt32(0)).
			WithMaxSurge(intstr.FromInt32(1)))
}

func podTemplate(ds *streamingv1alpha1.DashStream) *corev1ac.PodTemplateSpecApplyConfiguration {
	o := ds.Spec.PodTemplate
	if o == nil {
		o = &streamingv1alpha1.PodTemplateOverrides{}
	}

	spec := corev1ac.PodSpec().
		WithEnableServiceLinks(false).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).
			WithRunAsUser(nonRootUID).
			WithRunAsGroup(nonRootUID).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithContainers(container(ds)).
		WithVolumes(volumes(ds)...)
	applyPodOverrides(spec, o)

	return corev1ac.PodTemplateSpec().
		WithLabels(podLabels(ds, o.Labels)).
		WithAnnotations(o.Annotations).
		WithSpec(spec)
}

// podLabels merges user labels under the operator's, which always win.
func podLabels(ds *streamingv1alpha1.DashStream, user map[string]string) map[string]string {
	out := make(map[string]string, len(user)+6)
	for k, v := range user {
		out[k] = v
	}
	for k, v := range Labels(ds) {
		out[k] = v
	}

	return out
}

func applyPodOverrides(spec *corev1ac.PodSpecApplyConfiguration, o *streamingv1alpha1.PodTemplateOverrides) {
	if o.ServiceAccountName != "" {
		spec.WithServiceAccountName(o.ServiceAccountName)
	}
	if o.PriorityClassName != "" {
		spec.WithPriorityClassName(o.PriorityClassName)
	}
	if len(o.NodeSelector) > 0 {
		spec.WithNodeSelector(o.NodeSelector)
	}
	for i := range o.ImagePullSecrets {
		spec.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(o.ImagePullSecrets[i].Name))
	}
	for i := range o.Tolerations {
		spec.WithTolerations(toleration(&o.Tolerations[i]))
	}
	if o.Affinity != nil {
		spec.WithAffinity(affinity(o.Affinity))
	}
}

func container(ds *streamingv1alpha1.DashStream) *corev1ac.ContainerApplyConfiguration {
	port := int32Or(ds.Spec.Port, DefaultPort)
	probe := func() *corev1ac.ProbeApplyConfiguration {
		return corev1ac.Probe().WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromString(PortName)))
	}

	c := corev1ac.Container().
		WithName(ContainerName).
		WithImage(ds.Spec.Image).
		WithPorts(corev1ac.ContainerPort().WithName(PortName).WithContainerPort(port).WithProtocol(corev1.ProtocolTCP)).
		WithEnv(Env(ds)...).
		WithResources(resources(ds.Spec.Resources)).
		WithReadinessProbe(probe().WithPeriodSeconds(5)).
		WithLivenessProbe(probe().WithPeriodSeconds(10).WithFailureThreshold(6)).
		WithSecurityContext(corev1ac.SecurityContext().
			WithAllowPrivilegeEscalation(false).
			WithReadOnlyRootFilesystem(true).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")))
	if ds.Spec.ImagePullPolicy != "" {
		c.WithImagePullPolicy(ds.Spec.ImagePullPolicy)
	}
	if m := tlsMount(ds); m != nil {
		c.WithVolumeMounts(m)
	}

	return c
}

func resources(r *corev1.ResourceRequirements) *corev1ac.ResourceRequirementsApplyConfiguration {
	if r == nil {
		return corev1ac.ResourceRequirements().
			WithRequests(corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("128Mi"),
			}).
			WithLimits(corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")})
	}

	out := corev1ac.ResourceRequirements()
	if len(r.Requests) > 0 {
		out.WithRequests(r.Requests)
	}
	if len(r.Limits) > 0 {
		out.WithLimits(r.Limits)
	}

	return out
}
