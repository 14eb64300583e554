package controllers

import (
	"context"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

// scaleNotes remembers, per DashStream, the last replica count someone
// other than the operator gave its Deployment, as the Deployment watch saw
// it. A reconcile that read the Deployment just before such a scale
// applies the DashStream's count over it without seeing it; the note lets
// the next reconcile still say, in an Event, what was reverted.
//
// A scale is reported once: the cache is written before the watch's
// handlers run, so a reconcile may report a scale from the cache before
// its note arrives; reported keeps the resourceVersion it reported, and a
// note no newer is dropped.
//
// The zero value is ready to use and safe for concurrent use.
type scaleNotes struct {
	mu       sync.Mutex
	notes    map[types.NamespacedName]scaleNote
	reported map[types.NamespacedName]string
}

// scaleNote is one replica count written by another field manager.
type scaleNote struct {
	replicas int32
	// autoscaler: the HPA controller or the hand-over wrote it, on an
	// autoscaler's behalf.
	autoscaler bool
	// version is the Deployment's resourceVersion with the count, and
	// owner the UID of the DashStream that controlled it.
	version string
	owner   types.UID
}

// lock locks s, making its maps on first use, and returns the unlock.
func (s *scaleNotes) lock() func() {
	s.mu.Lock()
	if s.notes == nil {
		s.notes = map[types.NamespacedName]scaleNote{}
		s.reported = map[types.NamespacedName]string{}
	}

	return s.mu.Unlock
}

func (s *scaleNotes) put(key types.NamespacedName, n scaleNote) {
	defer s.lock()()

	s.notes[key] = n
}

// take returns and forgets the note for the DashStream key of UID uid, if
// it is about that DashStream and newer than what was reported of it.
func (s *scaleNotes) take(key types.NamespacedName, uid types.UID) (scaleNote, bool) {
	defer s.lock()()

	n, ok := s.notes[key]
	delete(s.notes, key)
	if !ok || n.owner != uid {
		return scaleNote{}, false
	}
	if cmp, err := resourceversion.CompareResourceVersion(n.version, s.reported[key]); err == nil && cmp <= 0 {
		return scaleNote{}, false
	}

	return n, true
}

// sawInCache records that the scale of Deployment version was reported
// from the cache.
func (s *scaleNotes) sawInCache(key types.NamespacedName, version string) {
	defer s.lock()()

	s.reported[key] = version
}

// forget drops all that is known of a DashStream that is gone.
func (s *scaleNotes) forget(key types.NamespacedName) {
	defer s.lock()()

	delete(s.notes, key)
	delete(s.reported, key)
}

// deploymentEvents enqueues the DashStream that controls a Deployment, as
// Owns does, and first notes a replica count another field manager wrote.
func (r *DashStreamReconciler) deploymentEvents(mgr ctrl.Manager) handler.EventHandler {
	owner := handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &streamingv1alpha1.DashStream{},
		handler.OnlyControllerOwner())

	return handler.Funcs{
		CreateFunc:  owner.Create,
		DeleteFunc:  owner.Delete,
		GenericFunc: owner.Generic,
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent,
			q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.noteScale(e)
			owner.Update(ctx, e, q)
		},
	}
}

// noteScale records a change of a DashStream's Deployment's replicas made
// by another field manager. Most updates are the Deployment controller's
// status writes, which leave the count alone: they return before the
// managed fields are read.
func (r *DashStreamReconciler) noteScale(e event.UpdateEvent) {
	old, okOld := e.ObjectOld.(*appsv1.Deployment)
	dep, okNew := e.ObjectNew.(*appsv1.Deployment)
	if !okOld || !okNew || dep.Spec.Replicas == nil ||
		(old.Spec.Replicas != nil && *old.Spec.Replicas == *dep.Spec.Replicas) || !othersOwnReplicas(dep) {
		return
	}

	ref := metav1.GetControllerOf(dep)
	if ref == nil || ref.Kind != "DashStream" {
		return
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || gv.Group != streamingv1alpha1.GroupVersion.Group {
		return
	}

	r.scales.put(types.NamespacedName{Namespace: dep.Namespace, Name: ref.Name}, scaleNote{
		replicas: *dep.Spec.Replicas, autoscaler: autoscalerLeftReplicas(dep),
		version: dep.ResourceVersion, owner: ref.UID,
	})
}
