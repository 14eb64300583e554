package controllers

import (
	"context"
	"fmt"
	"sort"
	"sync"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/index"
	"github.com/dashflow/dashstream-operator/internal/policy"
	"github.com/dashflow/dashstream-operator/internal/render"
)

const (
	// secretRefIndex indexes DashStreams by the Secrets they reference.
	secretRefIndex = "spec.secretRefs"
	// PrometheusRuleCRD is the CRD whose arrival turns on alert rules.
	PrometheusRuleCRD = "prometheusrules.monitoring.coreos.com"
	// ServiceMonitorCRD is the CRD whose arrival turns on scraping.
	ServiceMonitorCRD = "servicemonitors.monitoring.coreos.com"
)

// builder declares every watch. Children are watched through a cache that
// holds only objects carrying the operator's managed-by label; Secrets and
// CRDs are watched as metadata only.
func (r *DashStreamReconciler) builder(mgr ctrl.Manager) *builder.Builder {
	return ctrl.NewControllerManagedBy(mgr).
		Named("dashstream").
		For(&streamingv1alpha1.DashStream{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&appsv1.Deployment{}, r.deploymentEvents(mgr)).
		Owns(&corev1.Service{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.forSecret)).
		Watches(&autoscalingv2.HorizontalPodAutoscaler{}, handler.EnqueueRequestsFromMapFunc(r.forAutoscaler)).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.inNamespaceNamed),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		WatchesMetadata(&apiextensionsv1.CustomResourceDefinition{},
			handler.EnqueueRequestsFromMapFunc(r.everyDashStream),
			builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
				return o.GetName() == PrometheusRuleCRD || o.GetName() == ServiceMonitorCRD
			})))
}

// watchRulesOnce starts watching PrometheusRules the first time one is
// applied, so their drift is corrected; before the CRD exists such a watch
// could not start.
func (r *DashStreamReconciler) watchRulesOnce(ctx context.Context) {
	r.watchOwnedOnce(ctx, &r.ruleWatch, monitoringv1.PrometheusRuleKind)
}

// watchServiceMonitorsOnce does for ServiceMonitors what watchRulesOnce
// does for PrometheusRules.
func (r *DashStreamReconciler) watchServiceMonitorsOnce(ctx context.Context) {
	r.watchOwnedOnce(ctx, &r.monitorWatch, monitoringv1.ServiceMonitorsKind)
}

// watchOwnedOnce watches, as metadata, the monitoring.coreos.com objects
// of kind that a DashStream controls; once guards against a second watch.
func (r *DashStreamReconciler) watchOwnedOnce(ctx context.Context, once *sync.Once, kind string) {
	if r.controller == nil || r.cache == nil {
		return
	}

	once.Do(func() {
		obj := &metav1.PartialObjectMetadata{}
		obj.SetGroupVersionKind(monitoringv1.SchemeGroupVersion.WithKind(kind))
		owner := handler.EnqueueRequestForOwner(r.Scheme, r.RESTMapper(), &streamingv1alpha1.DashStream{},
			handler.OnlyControllerOwner())

		if err := r.controller.Watch(source.Kind(r.cache, client.Object(obj), owner)); err != nil {
			log.FromContext(ctx).Error(err,
				"Could not watch owned objects; their drift is corrected on the next resync", "kind", kind)
		}
	})
}

// indexSecretRefs lets a Secret event find the DashStreams that use it.
func indexSecretRefs(ctx context.Context, mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(ctx, &streamingv1alpha1.DashStream{}, secretRefIndex,
		func(o client.Object) []string {
			var names []string
			for _, u := range secretUses(o.(*streamingv1alpha1.DashStream)) {
				names = append(names, u.ref.Name)
			}

			return names
		})
	if err != nil {
		return fmt.Errorf("index DashStreams by Secret: %w", err)
	}

	return nil
}

func (r *DashStreamReconciler) forSecret(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requests(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{secretRefIndex: o.GetName()})
}

// forAutoscaler maps an HPA to the DashStream whose server it targets, if
// that DashStream exists. On an update the old HPA is mapped too, so an
// HPA turned elsewhere clears the conflict it caused; HPAs aimed at other
// workloads, the usual case, trigger nothing. A DashStream created after
// its HPA finds the HPA when its own creation is reconciled.
func (r *DashStreamReconciler) forAutoscaler(ctx context.Context, o client.Object) []reconcile.Request {
	hpa, ok := o.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil
	}

	ref := hpa.Spec.ScaleTargetRef
	name, ok := render.DashStreamForServer(ref.Name)
	if !ok || !policy.IsDeployment(ref.APIVersion, ref.Kind) {
		return nil
	}

	key := types.NamespacedName{Namespace: hpa.Namespace, Name: name}
	if err := r.Get(ctx, key, &streamingv1alpha1.DashStream{}); apierrors.IsNotFound(err) {
		return nil
	}

	return []reconcile.Request{{NamespacedName: key}}
}

// inNamespaceNamed maps a namespace whose labels changed (say, someone
// removed the one the HPA webhook selects) to the DashStreams in it.
func (r *DashStreamReconciler) inNamespaceNamed(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requests(ctx, client.InNamespace(o.GetName()))
}

func (r *DashStreamReconciler) everyDashStream(ctx context.Context, _ client.Object) []reconcile.Request {
	return r.requests(ctx)
}

func (r *DashStreamReconciler) requests(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	list := &streamingv1alpha1.DashStreamList{}
	if err := r.List(ctx, list, opts...); err != nil {
		log.FromContext(ctx).Error(err, "Could not list DashStreams for a watch event")

		return nil
	}

	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{
			Namespace: list.Items[i].Namespace, Name: list.Items[i].Name,
		}})
	}

	return reqs
}

// secretUse is one Secret key a DashStream references, and from where.
type secretUse struct {
	field string
	ref   streamingv1alpha1.SecretKeySelector
}

func secretUses(ds *streamingv1alpha1.DashStream) []secretUse {
	var uses []secretUse
	add := func(field string, ref *streamingv1alpha1.SecretKeySelector) {
		if ref != nil {
			uses = append(uses, secretUse{field: field, ref: *ref})
		}
	}

	if s := ds.Spec.Kafka.Security; s != nil {
		if s.SASL != nil {
			add("spec.kafka.security.sasl.usernameSecretRef", &s.SASL.UsernameSecretRef)
			add("spec.kafka.security.sasl.passwordSecretRef", &s.SASL.PasswordSecretRef)
		}
		if s.TLS != nil {
			add("spec.kafka.security.tls.caSecretRef", s.TLS.CASecretRef)
			add("spec.kafka.security.tls.certSecretRef", s.TLS.CertSecretRef)
			add("spec.kafka.security.tls.keySecretRef", s.TLS.KeySecretRef)
		}
	}
	if b := ds.Spec.Backplane; b != nil && b.Mode == streamingv1alpha1.BackplaneBroadcast {
		add("spec.backplane.secretRef", b.SecretRef)
	}

	return uses
}

// missingSecrets returns the referenced Secrets that do not exist. Only
// metadata is read: the operator never sees Secret values.
func (r *DashStreamReconciler) missingSecrets(ctx context.Context,
	ds *streamingv1alpha1.DashStream) ([]secretUse, error) {
	var missing []secretUse
	for _, u := range secretUses(ds) {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))

		err := r.Get(ctx, client.ObjectKey{Namespace: ds.Namespace, Name: u.ref.Name}, m)
		switch {
		case err == nil:
		case client.IgnoreNotFound(err) == nil:
			missing = append(missing, u)
		default:
			return nil, fmt.Errorf("get Secret %s: %w", u.ref.Name, err)
		}
	}

	return missing, nil
}

// autoscalersTargeting returns the names of the HPAs aimed at ds's
// Deployment, sorted.
func (r *DashStreamReconciler) autoscalersTargeting(ctx context.Context,
	ds *streamingv1alpha1.DashStream) ([]string, error) {
	list := &autoscalingv2.HorizontalPodAutoscalerList{}
	err := r.List(ctx, list, client.InNamespace(ds.Namespace), index.Targeting(render.ServerObjectName(ds.Name)))
	if err != nil {
		return nil, fmt.Errorf("list HorizontalPodAutoscalers: %w", err)
	}

	names := make([]string, 0, len(list.Items))
	for i := range list.Items {
		names = append(names, list.Items[i].Name)
	}
	sort.Strings(names)

	return names, nil
}
