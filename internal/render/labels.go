// Package render builds the desired children of a DashStream as server-side
// apply configurations. Every function here is pure: no client, no clock, so
// the same DashStream always renders the same objects and an unchanged
// DashStream applies as a no-op.
package render

import (
	"strings"

	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

// Label keys and values the operator sets on every child.
const (
	// LabelName is app.kubernetes.io/name of every server object.
	LabelName = "app.kubernetes.io/name"
	// LabelInstance is app.kubernetes.io/instance, the DashStream's name.
	LabelInstance = "app.kubernetes.io/instance"
	// LabelComponent is app.kubernetes.io/component.
	LabelComponent = "app.kubernetes.io/component"
	// LabelPartOf is app.kubernetes.io/part-of.
	LabelPartOf = "app.kubernetes.io/part-of"
	// LabelManagedBy is app.kubernetes.io/managed-by; the operator's cache
	// and webhooks select children by it.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelDashStream names the owning DashStream.
	LabelDashStream = "streaming.dashflow.io/dashstream"

	// ServerName is the value of LabelName on every server object.
	ServerName = "dashflow-websocket-server"
	// ManagedBy is the value of LabelManagedBy on every child.
	ManagedBy = "dashstream-operator"
	// FieldManager is the server-side apply field manager of every write.
	FieldManager = "dashstream-operator"

	serverSuffix = "-websocket-server"
)

// ServerObjectName returns the name shared by a DashStream's Deployment,
// Service, PodDisruptionBudget and PrometheusRule.
func ServerObjectName(dashStreamName string) string {
	return dashStreamName + serverSuffix
}

// DashStreamForServer returns the name of the DashStream whose server
// Deployment is named deployment, and whether the name has that form.
func DashStreamForServer(deployment string) (string, bool) {
	name, ok := strings.CutSuffix(deployment, serverSuffix)

	return name, ok && name != ""
}

// Labels returns the labels every child of ds carries.
func Labels(ds *streamingv1alpha1.DashStream) map[string]string {
	return map[string]string{
		LabelName:       ServerName,
		LabelInstance:   ds.Name,
		LabelComponent:  "websocket-server",
		LabelPartOf:     "dashflow",
		LabelManagedBy:  ManagedBy,
		LabelDashStream: ds.Name,
	}
}

// SelectorLabels returns the Deployment's selector. It depends on the
// DashStream's name alone, so it never changes after creation.
func SelectorLabels(ds *streamingv1alpha1.DashStream) map[string]string {
	return map[string]string{
		LabelName:       ServerName,
		LabelDashStream: ds.Name,
	}
}

// ownerReference makes ds the controlling owner of a child, so deleting ds
// garbage-collects it.
func ownerReference(ds *streamingv1alpha1.DashStream) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(streamingv1alpha1.GroupVersion.String()).
		WithKind("DashStream").
		WithName(ds.Name).
		WithUID(ds.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

func ptrTo[T any](v T) *T { return &v }

func int32Or(p *int32, def int32) int32 {
	if p == nil {
		return def
	}

	return *p
}
