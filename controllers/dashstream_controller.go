// Package controllers holds the DashStream reconciler: it applies a
// DashStream's children with server-side apply and reports their state.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/index"
	"github.com/dashflow/dashstream-operator/internal/policy"
	"github.com/dashflow/dashstream-operator/internal/render"
)

// Log verbosity levels, named so that a call says why it is quiet.
const (
	// levelDebug is for routine decisions: what was applied, what was skipped.
	levelDebug = 1
)

// DashStreamReconciler makes each DashStream's Deployment, Service,
// PodDisruptionBudget and PrometheusRule match its spec, and reports their
// state in the DashStream's status.
type DashStreamReconciler struct {
	client.Client

	// Scheme maps Go types to API kinds.
	Scheme *runtime.Scheme
	// Recorder emits the Events users see in kubectl describe.
	Recorder recorder.EventRecorder

	// controller lets the reconciler add the PrometheusRule watch once
	// that CRD exists, without a restart.
	controller controller.Controller
	cache      cache.Cache
	// writes lets a reconcile tell a cached copy older than its own last
	// write.
	writes ownWrites
	// scales notes replica counts others wrote, for reportDrift.
	scales    scaleNotes
	ruleWatch sync.Once
	// monitorWatch adds the ServiceMonitor watch the same way.
	monitorWatch sync.Once
}

// +kubebuilder:rbac:groups=streaming.dashflow.io,resources=dashstreams,verbs=get;list;watch
// +kubebuilder:rbac:groups=streaming.dashflow.io,resources=dashstreams/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=prometheusrules,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one DashStream's children in line with its spec.
func (r *DashStreamReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ds := &streamingv1alpha1.DashStream{}
	err := r.Get(ctx, req.NamespacedName, ds)
	if client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("get DashStream: %w", err)
	}

	// Children are owned by the DashStream and the garbage collector removes
	// them; a deleted DashStream leaves only the namespace label to settle.
	if err != nil || !ds.DeletionTimestamp.IsZero() {
		r.writes.forget(kindDashStream, req.NamespacedName)
		r.scales.forget(req.NamespacedName)
		r.writes.forget(kindDeployment, client.ObjectKey{
			Namespace: req.Namespace, Name: render.ServerObjectName(req.Name),
		})

		return ctrl.Result{}, r.syncNamespaceLabel(ctx, req.Namespace)
	}

	// Mark the namespace for the HPA webhook before anything can scale.
	if err := r.syncNamespaceLabel(ctx, ds.Namespace); err != nil {
		return ctrl.Result{}, err
	}

	// Observe: what exists now, before anything is written.
	obs, err := r.observe(ctx, ds)
	if err != nil {
		return ctrl.Result{}, err
	}
	if r.cacheBehind(ctx, ds, obs) {
		return ctrl.Result{RequeueAfter: cacheLagRetry}, nil
	}

	// Correct replica drift loudly, then apply every child.
	r.reportDrift(ctx, ds, obs)

	res := r.applyChildren(ctx, ds, obs)
	if res.deployment != nil {
		// Status describes the Deployment as just applied, so a new spec
		// never reads as Ready before its rollout has begun.
		obs.deployment = res.deployment
	}

	// Status last, written only when it changed.
	err = r.writeStatus(ctx, ds, obs, res)
	if errors.Is(err, errStatusConflict) {
		return ctrl.Result{RequeueAfter: cacheLagRetry}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}

	return ctrl.Result{}, res.err
}

// cacheBehind tells whether the cache still holds a DashStream or a
// Deployment older than the operator's own last write of it; deciding from
// such a copy could skip a status write that is needed.
func (r *DashStreamReconciler) cacheBehind(ctx context.Context, ds *streamingv1alpha1.DashStream,
	obs *observation) bool {
	if r.waitForCache(ctx, kindDashStream, ds) {
		return true
	}

	return obs.deployment != nil && r.waitForCache(ctx, kindDeployment, obs.deployment)
}

// waitForCache tells whether to wait for the cache to reach the operator's
// last write of cached. A cache that has not caught up within
// cacheLagLimit is used as it is, and the log says so.
func (r *DashStreamReconciler) waitForCache(ctx context.Context, kind string, cached client.Object) bool {
	stale, gaveUp := r.writes.behind(kind, cached)
	switch {
	case stale:
		log.FromContext(ctx).V(levelDebug).Info("The cache has not seen the operator's last write yet; waiting",
			"kind", kind)
	case gaveUp:
		log.FromContext(ctx).Info("The cache has not seen the operator's last write; going on with what it holds",
			"kind", kind, "waited", cacheLagLimit)
	}

	return stale
}

// observation is what the reconciler read before writing.
type observation struct {
	deployment     *appsv1.Deployment
	missingSecrets []secretUse
	autoscalers    []string
	autoscaler     policy.Autoscaler
	// replicasOwnedElsewhere: a writer other than the operator owns the
	// Deployment's spec.replicas, as the HPA controller does once it scaled.
	replicasOwnedElsewhere bool
}

// wantReplicas returns the count the Deployment should run: what the
// operator applies, or the autoscaler's current count.
func (o *observation) wantReplicas(ds *streamingv1alpha1.DashStream) int32 {
	if n := o.replicas(ds); n != nil {
		return *n
	}

	return ptr.Deref(o.deployment.Spec.Replicas, 1)
}

// replicas returns the count the operator applies, or nil when an
// autoscaler owns it.
func (o *observation) replicas(ds *streamingv1alpha1.DashStream) *int32 {
	var live *int32
	if o.deployment != nil {
		live = o.deployment.Spec.Replicas
	}

	return policy.ReplicasToApply(ds, o.autoscaler, live)
}

func (r *DashStreamReconciler) observe(ctx context.Context, ds *streamingv1alpha1.DashStream) (*observation, error) {
	obs := &observation{}

	dep := &appsv1.Deployment{}
	key := client.ObjectKey{Namespace: ds.Namespace, Name: render.ServerObjectName(ds.Name)}
	switch err := r.Get(ctx, key, dep); {
	case err == nil:
		obs.deployment = dep
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("get Deployment %s: %w", key.Name, err)
	}

	missing, err := r.missingSecrets(ctx, ds)
	if err != nil {
		return nil, err
	}
	obs.missingSecrets = missing

	hpas, err := r.autoscalersTargeting(ctx, ds)
	if err != nil {
		return nil, err
	}
	obs.autoscalers = hpas
	obs.autoscaler = policy.Autoscaler{Present: len(hpas) > 0}
	obs.replicasOwnedElsewhere = othersOwnReplicas(obs.deployment)

	return obs, nil
}

// reportDrift records, as an Event, a log line and a metric, that someone
// changed the Deployment's replicas; the apply that follows restores them.
// Drift is a count someone else wrote: while the operator still owns the
// field, a difference comes from a spec change about to be applied. A
// count an autoscaler owns is not drift either, nor, on a server with a
// backplane mode, one an autoscaler left behind when it went: restoring
// spec.replicas then is reported as a Normal Event. A scale that an
// earlier apply already overwrote, from a cache read before it, is known
// from the Deployment watch's note and reported all the same.
func (r *DashStreamReconciler) reportDrift(ctx context.Context, ds *streamingv1alpha1.DashStream, obs *observation) {
	key := client.ObjectKeyFromObject(ds)
	note, noted := r.scales.take(key, ds.UID)
	dep, want := obs.deployment, obs.replicas(ds)
	if dep == nil || dep.Spec.Replicas == nil || want == nil {
		return
	}

	got, autoscaler := *dep.Spec.Replicas, autoscalerLeftReplicas(dep)
	switch {
	case got != *want && obs.replicasOwnedElsewhere:
		r.scales.sawInCache(key, dep.ResourceVersion)
	case noted && note.replicas != *want && !obs.replicasOwnedElsewhere:
		got, autoscaler = note.replicas, note.autoscaler
	default:
		return
	}

	if !policy.Pinned(ds) && autoscaler {
		r.reportRestored(ctx, ds, dep, got, *want)

		return
	}

	log.FromContext(ctx).Info("Restoring Deployment replicas changed outside the DashStream",
		"deployment", dep.Name, "found", got, "restoring", *want, "backplaneMode", policy.Mode(ds))
	r.Recorder.Eventf(ds, dep, "Warning", ReasonReplicasReverted, "RestoreReplicas",
		"Deployment %s was scaled to %d outside the DashStream; restored to %d. %s",
		dep.Name, got, *want, scaleAdvice(ds))
	driftCorrections.WithLabelValues("replicas").Inc()
}

// reportRestored says that spec.replicas applies again to a server whose
// autoscaler is gone.
func (r *DashStreamReconciler) reportRestored(ctx context.Context, ds *streamingv1alpha1.DashStream,
	dep *appsv1.Deployment, got, want int32) {
	log.FromContext(ctx).Info("Restoring spec.replicas now that no autoscaler targets the Deployment",
		"deployment", dep.Name, "found", got, "restoring", want)
	r.Recorder.Eventf(ds, dep, "Normal", ReasonReplicasRestored, "RestoreReplicas",
		"No HorizontalPodAutoscaler targets Deployment %s any more; its replicas go from %d back to "+
			"spec.replicas, %d", dep.Name, got, want)
}

// SetupWithManager registers the reconciler and its watches.
func (r *DashStreamReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := indexSecretRefs(context.Background(), mgr); err != nil {
		return err
	}
	// The DashStream webhook reads this index too, through the same cache.
	if err := index.Register(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return err
	}

	c, err := r.builder(mgr).Build(r)
	if err != nil {
		return fmt.Errorf("build DashStream controller: %w", err)
	}
	r.controller, r.cache = c, mgr.GetCache()

	return nil
}
