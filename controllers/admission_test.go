package controllers_test

import (
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/admission"
	"github.com/dashflow/dashstream-operator/internal/testobjects"
)

// server is the Deployment of the DashStream named "events".
const server = "events-websocket-server"

var _ = Describe("Admission of scaling for a pinned server", func() {
	var (
		ns    string
		alice client.Client
	)

	BeforeEach(func() {
		ns = newNamespace()
		alice = userClient("alice")
		pinnedServer(ns)
	})

	It("denies HPAs of autoscaling/v1 and v2 aimed at the pinned Deployment under every apiVersion spelling", func() {
		for _, apiVersion := range []string{"apps/v1", "extensions/v1beta1"} {
			err := alice.Create(ctx, testobjects.HPAv2(ns, "v2-load", apiVersion, "Deployment", server))
			expectDenied(err, "HorizontalPodAutoscaler "+ns+"/v2-load", "DashStream "+ns+"/events",
				"partial streams", "spec.backplane.mode")

			err = alice.Create(ctx, testobjects.HPAv1(ns, "v1-load", apiVersion, "Deployment", server))
			expectDenied(err, "HorizontalPodAutoscaler "+ns+"/v1-load", "DashStream "+ns+"/events")
		}

		// Without an apiVersion, this API server refuses the HPA by its own
		// validation, before any webhook; older ones let it through to the
		// webhook, which denies it (see the handler's tests).
		for _, hpa := range []client.Object{
			testobjects.HPAv2(ns, "v2-bare", "", "Deployment", server),
			testobjects.HPAv1(ns, "v1-bare", "", "Deployment", server),
		} {
			err := alice.Create(ctx, hpa)
			Expect(apierrors.IsForbidden(err) || apierrors.IsInvalid(err)).To(BeTrue(),
				"an HPA without apiVersion aimed at the pinned Deployment must be refused, got %v", err)
		}

		hpas := &autoscalingv2.HorizontalPodAutoscalerList{}
		Expect(k8sClient.List(ctx, hpas, client.InNamespace(ns))).To(Succeed())
		Expect(hpas.Items).To(BeEmpty(), "no HPA aimed at the pinned Deployment may be stored")
	})

	It("admits HPAs aimed at another Deployment or an unknown kind, and still denies the pinned one", func() {
		Expect(alice.Create(ctx, testobjects.HPAv2(ns, "other", "apps/v1", "Deployment", "checkout"))).To(Succeed())
		Expect(alice.Create(ctx, testobjects.HPAv1(ns, "widget", "example.com/v1", "Widget", server))).To(Succeed(),
			"a custom kind that happens to share the name is not the pinned Deployment")

		expectDenied(alice.Create(ctx, testobjects.HPAv2(ns, "pinned", "apps/v1", "Deployment", server)), "DashStream")
	})

	It("is consulted only for targets named as a DashStream's server can be", func() {
		hpaCalls, scaleCalls := webhookRequests(admission.PathHPA), webhookRequests(admission.PathScale)

		// Nothing can pin checkout: the API server admits its HPA and its
		// scale without calling the operator.
		Expect(alice.Create(ctx, testobjects.HPAv2(ns, "checkout", "apps/v1", "Deployment", "checkout"))).To(Succeed())
		checkout := plainDeployment(ns, "checkout")
		Expect(alice.Create(ctx, checkout)).To(Succeed())
		Expect(alice.SubResource("scale").Update(ctx, checkout,
			client.WithSubResourceBody(testobjects.Scale(ns, "checkout", 3)))).To(Succeed())

		// A server's name is checked even when no DashStream pins it.
		spare := "spare-websocket-server"
		Expect(alice.Create(ctx, testobjects.HPAv2(ns, "spare", "apps/v1", "Deployment", spare))).To(Succeed())
		Expect(alice.Create(ctx, plainDeployment(ns, spare))).To(Succeed())
		Expect(alice.SubResource("scale").Update(ctx, deploymentNamed(ns, spare),
			client.WithSubResourceBody(testobjects.Scale(ns, spare, 3)))).To(Succeed())

		// Had checkout's requests been sent, the counts would be 2 higher.
		Eventually(func() []float64 {
			return []float64{webhookRequests(admission.PathHPA), webhookRequests(admission.PathScale)}
		}, timeout, interval).Should(Equal([]float64{hpaCalls + 1, scaleCalls + 1}))
		Consistently(func() []float64 {
			return []float64{webhookRequests(admission.PathHPA), webhookRequests(admission.PathScale)}
		}, "500ms", interval).Should(Equal([]float64{hpaCalls + 1, scaleCalls + 1}))
	})

	It("gives a server-side dry run the same answers, and stores nothing", func() {
		denied := testobjects.HPAv2(ns, "dry-denied", "apps/v1", "Deployment", server)
		expectDenied(alice.Create(ctx, denied, client.DryRunAll), "DashStream "+ns+"/events")

		allowed := testobjects.HPAv2(ns, "dry-allowed", "apps/v1", "Deployment", "checkout")
		Expect(alice.Create(ctx, allowed, client.DryRunAll)).To(Succeed())

		hpas := &autoscalingv2.HorizontalPodAutoscalerList{}
		Expect(k8sClient.List(ctx, hpas, client.InNamespace(ns))).To(Succeed())
		Expect(hpas.Items).To(BeEmpty(), "a dry run must store nothing")
	})

	It("denies scaling the pinned Deployment to 2 and lets another Deployment scale", func() {
		err := alice.SubResource("scale").Update(ctx, deploymentNamed(ns, server),
			client.WithSubResourceBody(testobjects.Scale(ns, server, 2)))
		expectDenied(err, "Deployment "+ns+"/"+server+" may not be scaled to 2", "spec.backplane.mode")

		other := plainDeployment(ns, "checkout")
		Expect(alice.Create(ctx, other)).To(Succeed())
		Expect(alice.SubResource("scale").Update(ctx, other,
			client.WithSubResourceBody(testobjects.Scale(ns, "checkout", 4)))).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(other), other)).To(Succeed())
		Expect(other.Spec.Replicas).To(Equal(ptr.To[int32](4)))
	})

	It("denies a user's edit of the pinned Deployment's replicas and lets metadata and rollouts through", func() {
		dep := deploymentNamed(ns, server)
		patch := client.MergeFrom(dep.DeepCopy())
		dep.Spec.Replicas = ptr.To[int32](3)
		expectDenied(alice.Patch(ctx, dep, patch), "Deployment "+ns+"/"+server+" may not run 3 replicas")

		dep = deploymentNamed(ns, server)
		patch = client.MergeFrom(dep.DeepCopy())
		metav1.SetMetaDataAnnotation(&dep.ObjectMeta, "team", "streaming")
		metav1.SetMetaDataAnnotation(&dep.Spec.Template.ObjectMeta, "kubectl.kubernetes.io/restartedAt", "now")
		Expect(alice.Patch(ctx, dep, patch)).To(Succeed(), "an annotation and a rollout restart must pass")
	})

	It("lets the operator apply the replicas a backplane mode allows", func() {
		dep := switchToBackplane(ns, 3)
		Expect(alice.Create(ctx, testobjects.HPAv2(ns, "load", "apps/v1", "Deployment", server))).To(Succeed(),
			"a server with a backplane mode may be autoscaled")

		// The HPA controller, run by kube-controller-manager, scales through
		// the scale subresource; the operator leaves the autoscaler's count
		// alone.
		Expect(k8sClient.SubResource("scale").Update(ctx, dep,
			client.WithSubResourceBody(testobjects.Scale(ns, server, 5)),
			client.FieldOwner("kube-controller-manager"))).To(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
			g.Expect(dep.Spec.Replicas).To(Equal(ptr.To[int32](5)), "the operator must not fight the autoscaler")
		}, 3*resyncPeriod/2, interval).Should(Succeed())

		// Without the autoscaler, spec.replicas applies again; that is no
		// drift, and the Event says what happened.
		Expect(alice.Delete(ctx, testobjects.HPAv2(ns, "load", "apps/v1", "Deployment", server))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
			g.Expect(dep.Spec.Replicas).To(Equal(ptr.To[int32](3)))
		}, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			events := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, events, client.InNamespace(ns))).To(Succeed())
			g.Expect(events.Items).To(ContainElement(And(HaveField("Reason", "ReplicasRestored"),
				HaveField("Note", ContainSubstring("go from 5 back to spec.replicas, 3")))))
			g.Expect(events.Items).NotTo(ContainElement(HaveField("Reason", "ReplicasReverted")),
				"an autoscaler's count, while it runs and after it goes, is not drift")
		}, timeout, interval).Should(Succeed())
	})

	It("reverts a scale of a server with a backplane mode that no autoscaler made", func() {
		dep := switchToBackplane(ns, 2)
		Expect(alice.SubResource("scale").Update(ctx, dep, client.WithSubResourceBody(testobjects.Scale(ns, server, 4)),
			client.FieldOwner("kubectl"))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
			g.Expect(dep.Spec.Replicas).To(Equal(ptr.To[int32](2)))
			events := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, events, client.InNamespace(ns))).To(Succeed())
			g.Expect(events.Items).To(ContainElement(And(HaveField("Reason", "ReplicasReverted"),
				HaveField("Note", ContainSubstring("scaled to 4 outside the DashStream; restored to 2")))))
		}, timeout, interval).Should(Succeed())
	})
})

var _ = Describe("An HPA that predates the DashStream that pins its target", func() {
	var (
		ns  string
		hpa *autoscalingv2.HorizontalPodAutoscaler
	)

	BeforeEach(func() {
		ns = newNamespace()
		hpa = testobjects.HPAv2(ns, "events-load", "apps/v1", "Deployment", server)
		hpa.Finalizers = []string{"example.com/keep"}
		Expect(k8sClient.Create(ctx, hpa)).To(Succeed(), "nothing pins the target yet")
	})

	It("lets the DashStream in with a warning and reports the conflict", func() {
		warnings := &warningRecorder{}
		cfg := rest.CopyConfig(cfg)
		cfg.WarningHandler = warnings
		c, err := client.New(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())

		ds := plainDashStream(ns, "events")
		Expect(c.Create(ctx, ds)).To(Succeed(), "a GitOps sync that applies the HPA first must not deadlock")
		Expect(warnings.all()).To(ContainElement(And(ContainSubstring("HorizontalPodAutoscaler events-load"),
			ContainSubstring("AutoscalerConflict"))))

		cond := expectCondition(ds, streamingv1alpha1.ConditionAutoscalerConflict, metav1.ConditionTrue,
			streamingv1alpha1.ReasonHPATargetsPinnedDeployment)
		Expect(cond.Message).To(ContainSubstring("events-load"))

		Expect(deploymentOf(ds).Spec.Replicas).To(Equal(ptr.To[int32](1)))
	})

	It("denies a spec update that keeps the target, but not removing its finalizer or deleting it", func() {
		pinnedServer(ns)

		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(hpa), hpa)).To(Succeed())
		spec := client.MergeFrom(hpa.DeepCopy())
		hpa.Spec.MaxReplicas = 7
		expectDenied(k8sClient.Patch(ctx, hpa, spec), "may not target Deployment "+server)

		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(hpa), hpa)).To(Succeed())
		meta := client.MergeFrom(hpa.DeepCopy())
		hpa.Finalizers = nil
		Expect(k8sClient.Patch(ctx, hpa, meta)).To(Succeed(), "a metadata-only update must always pass")
		Expect(k8sClient.Delete(ctx, hpa)).To(Succeed())
	})
})

var _ = Describe("The namespace label the HPA webhook selects", func() {
	It("is set while a namespace holds a DashStream and removed with the last one", func() {
		ns := newNamespace()
		ds := pinnedServer(ns)

		Expect(k8sClient.Delete(ctx, ds)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(namespaceLabels(g, ns)).NotTo(HaveKey(streamingv1alpha1.NamespaceLabel))
		}, timeout, interval).Should(Succeed(), "the label should go with the last DashStream")

		Expect(k8sClient.Create(ctx, testobjects.HPAv2(ns, "late", "apps/v1", "Deployment", server))).To(Succeed(),
			"without a DashStream, nothing is pinned")
	})
})

// pinnedServer creates the DashStream "events" in mode None and waits until
// its Deployment exists and its namespace carries the webhook's label.
func pinnedServer(ns string) *streamingv1alpha1.DashStream {
	ds := plainDashStream(ns, "events")
	Expect(k8sClient.Create(ctx, ds)).To(Succeed())
	deploymentOf(ds)

	Eventually(func(g Gomega) {
		g.Expect(namespaceLabels(g, ns)).To(HaveKeyWithValue(streamingv1alpha1.NamespaceLabel, "true"))
	}, timeout, interval).Should(Succeed(), "the operator should label namespace %s", ns)

	return ds
}

func namespaceLabels(g Gomega, name string) map[string]string {
	ns := &corev1.Namespace{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, ns)).To(Succeed())

	return ns.Labels
}

// userClient returns a client for a cluster admin other than the operator,
// as a person with kubectl would be.
func userClient(name string) client.Client {
	user, err := testEnv.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())

	c, err := client.New(user.Config(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	return c
}

// expectDenied checks that err is an admission denial whose message holds
// every part.
func expectDenied(err error, parts ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the request should be denied")
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want a denial (403), got %v", err)
	for _, p := range parts {
		Expect(err.Error()).To(ContainSubstring(p))
	}
}

func deploymentNamed(ns, name string) *appsv1.Deployment {
	dep := &appsv1.Deployment{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, dep)).To(Succeed())

	return dep
}

// plainDeployment is a Deployment the operator has nothing to do with.
func plainDeployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}

	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}},
			},
		},
	}
}

// warningRecorder keeps the warnings the API server returns.
type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

// HandleWarningHeader records one warning.
func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warningRecorder) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()

	return append([]string(nil), w.msgs...)
}

// scaleWebhookDown points the scale webhook at a port nothing listens on,
// as if the operator were down, until the spec ends. Its failure policy is
// Ignore, so scale requests then pass unchecked, as they do in a cluster
// whose operator is not running.
func scaleWebhookDown(ns, pinned string) {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	key := client.ObjectKey{Name: "validating-webhook-configuration"}
	Expect(k8sClient.Get(ctx, key, vwc)).To(Succeed())
	saved := vwc.DeepCopy()

	for i := range vwc.Webhooks {
		if vwc.Webhooks[i].Name == "scale.streaming.dashflow.io" {
			vwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{
				URL: ptr.To("https://127.0.0.1:1/down"), CABundle: vwc.Webhooks[i].ClientConfig.CABundle,
			}
		}
	}
	Expect(k8sClient.Update(ctx, vwc)).To(Succeed())

	DeferCleanup(func() {
		Expect(k8sClient.Get(ctx, key, vwc)).To(Succeed())
		vwc.Webhooks = saved.Webhooks
		Expect(k8sClient.Update(ctx, vwc)).To(Succeed())

		// Wait until the API server calls the webhook again, so that no
		// later spec meets the outage.
		Eventually(func() error {
			return k8sClient.SubResource("scale").Update(ctx, deploymentNamed(ns, pinned),
				client.WithSubResourceBody(testobjects.Scale(ns, pinned, 2)), client.DryRunAll)
		}, timeout, interval).Should(MatchError(ContainSubstring("may not be scaled")))
	})
}

// switchToBackplane sets the DashStream "events" in ns to mode
// PerPodConsumerGroup with n replicas, waits until its Deployment has them
// and the reconciles of the change have settled, and returns the
// Deployment. A reconcile that read the Deployment before a later scale
// would otherwise restore the count without seeing that scale.
func switchToBackplane(ns string, n int32) *appsv1.Deployment {
	GinkgoHelper()
	ds := &streamingv1alpha1.DashStream{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "events"}, ds)).To(Succeed())
	ds.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{Mode: streamingv1alpha1.BackplanePerPodConsumerGroup}
	ds.Spec.Replicas = ptr.To(n)
	Expect(k8sClient.Update(ctx, ds)).To(Succeed())

	dep := deploymentNamed(ns, server)
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
		g.Expect(dep.Spec.Replicas).To(Equal(ptr.To(n)))
	}, timeout, interval).Should(Succeed())

	settled := dep.ResourceVersion
	Consistently(func() string {
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
		return dep.ResourceVersion
	}, time.Second, interval).Should(Equal(settled))

	return dep
}

// webhookRequests is how many requests the manager's webhook server has
// answered on path, by its controller_runtime_webhook_requests_total.
func webhookRequests(path string) float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())

	var n float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_webhook_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" && l.GetValue() == path {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}

	return n
}
