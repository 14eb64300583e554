package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dashflow/dashstream-operator/internal/render"
)

// CacheByObject scopes the manager's cache: Deployments, Services and
// PodDisruptionBudgets are cached only when they carry the operator's
// managed-by label, so a large cluster's other workloads cost no memory.
func CacheByObject() map[client.Object]cache.ByObject {
	managed := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{render.LabelManagedBy: render.ManagedBy})}

	return map[client.Object]cache.ByObject{
		&appsv1.Deployment{}:            managed,
		&corev1.Service{}:               managed,
		&policyv1.PodDisruptionBudget{}: managed,
	}
}
