package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;patch

// syncNamespaceLabel keeps streamingv1alpha1.NamespaceLabel on namespace
// while it holds a DashStream, and removes it with the last one. The HPA
// webhook, which fails closed, selects namespaces by that label, so HPAs in
// every other namespace keep working when the operator is down. It writes
// only when the label has to change.
func (r *DashStreamReconciler) syncNamespaceLabel(ctx context.Context, namespace string) error {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := r.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return client.IgnoreNotFound(err)
	}

	list := &streamingv1alpha1.DashStreamList{}
	if err := r.List(ctx, list, client.InNamespace(namespace), client.Limit(1)); err != nil {
		return fmt.Errorf("list DashStreams in namespace %s: %w", namespace, err)
	}

	// The webhook selects the value "true" exactly: any other value, or a
	// stale label, is corrected.
	want := len(list.Items) > 0 && ns.DeletionTimestamp.IsZero()
	value, has := ns.Labels[streamingv1alpha1.NamespaceLabel]
	if (want && value == "true") || (!want && !has) {
		return nil
	}

	return r.patchNamespaceLabel(ctx, namespace, want)
}

// patchNamespaceLabel sets or removes the label with a merge patch, which,
// unlike an apply, can never create a namespace that was just deleted.
func (r *DashStreamReconciler) patchNamespaceLabel(ctx context.Context, namespace string, set bool) error {
	value := `"true"`
	if !set {
		value = "null"
	}
	patch := fmt.Appendf(nil, `{"metadata":{"labels":{%q:%s}}}`, streamingv1alpha1.NamespaceLabel, value)

	ns := &corev1.Namespace{}
	ns.Name = namespace
	err := r.Patch(ctx, ns, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(namespaceFieldManager))
	if err != nil {
		return client.IgnoreNotFound(fmt.Errorf("label namespace %s: %w", namespace, err))
	}

	log.FromContext(ctx).V(levelDebug).Info("Updated the namespace label the HPA webhook selects",
		"namespace", namespace, "label", streamingv1alpha1.NamespaceLabel, "set", set)

	return nil
}

// namespaceFieldManager owns the namespace label, apart from the children's
// field manager so that the two never take fields from each other.
const namespaceFieldManager = "dashstream-operator-namespace"
