package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"

	"github.com/dashflow/dashstream-operator/internal/testobjects"
)

var _ = Describe("A DashStream in backplane mode None", func() {
	var (
		ns string
		ds *streamingv1alpha1.DashStream
	)

	BeforeEach(func() {
		ns = newNamespace()
		createSecret(ns, "kafka-sasl", "username", "password")
		createSecret(ns, "kafka-ca", "ca.crt")
		ds = saslDashStream(ns, "events")
		Expect(k8sClient.Create(ctx, ds)).To(Succeed())
	})

	It("gets a Deployment owned by it, pinned to one replica with the Recreate strategy", func() {
		dep := deploymentOf(ds)

		Expect(metav1.IsControlledBy(dep, ds)).To(BeTrue(), "the DashStream should control the Deployment")
		Expect(dep.Spec.Replicas).To(Equal(ptr.To[int32](1)))
		Expect(dep.Spec.Strategy.Type).To(Equal(appsv1.RecreateDeploymentStrategyType),
			"two pods of one consumer group must never overlap, not even during a rollout")
		Expect(dep.Spec.Selector.MatchLabels).To(Equal(map[string]string{
			"app.kubernetes.io/name":           "dashflow-websocket-server",
			"streaming.dashflow.io/dashstream": "events",
		}))
	})

	It("passes the server exactly the Kafka environment, with secrets by reference only", func() {
		dep := deploymentOf(ds)
		Expect(dep.Spec.Template.Spec.Containers).To(HaveLen(1))

		Expect(envMap(dep.Spec.Template.Spec.Containers[0])).To(Equal(map[string]string{
			"KAFKA_BROKERS":                  "kafka-0:9092",
			"KAFKA_BOOTSTRAP_SERVERS":        "kafka-0:9092",
			"KAFKA_TOPIC":                    "events",
			"KAFKA_GROUP_ID":                 "websocket",
			"KAFKA_AUTO_OFFSET_RESET":        "latest",
			"KAFKA_SECURITY_PROTOCOL":        "SASL_SSL",
			"KAFKA_SASL_MECHANISM":           "SCRAM-SHA-512",
			"KAFKA_SASL_USERNAME":            "secret:kafka-sasl/username",
			"KAFKA_SASL_PASSWORD":            "secret:kafka-sasl/password",
			"KAFKA_SSL_CA_LOCATION":          "/etc/dashstream/kafka-tls/ca.crt",
			"KAFKA_LAG_STALE_PARTITION_SECS": "300",
			"BACKPLANE_MODE":                 "None",
		}))

		vols := dep.Spec.Template.Spec.Volumes
		Expect(vols).To(HaveLen(1))
		Expect(vols[0].Projected.Sources[0].Secret.Name).To(Equal("kafka-ca"))
		Expect(vols[0].Projected.Sources[0].Secret.Items).To(Equal([]corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}))
	})

	It("runs the server under the restricted Pod Security Standard", func() {
		pod := deploymentOf(ds).Spec.Template.Spec
		c := pod.Containers[0].SecurityContext

		Expect(pod.SecurityContext.RunAsNonRoot).To(Equal(ptr.To(true)))
		Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
		Expect(c.AllowPrivilegeEscalation).To(Equal(ptr.To(false)))
		Expect(c.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	})

	It("gets a Service and a PodDisruptionBudget that never blocks a drain", func() {
		dep := deploymentOf(ds)
		key := client.ObjectKeyFromObject(dep)

		svc := &corev1.Service{}
		Eventually(func() error { return k8sClient.Get(ctx, key, svc) }, timeout, interval).Should(Succeed())
		Expect(metav1.IsControlledBy(svc, ds)).To(BeTrue())
		Expect(svc.Spec.Selector).To(Equal(dep.Spec.Selector.MatchLabels))
		Expect(svc.Spec.Ports[0].Port).To(BeNumerically("==", 8080))

		pdb := &policyv1.PodDisruptionBudget{}
		Eventually(func() error { return k8sClient.Get(ctx, key, pdb) }, timeout, interval).Should(Succeed())
		Expect(metav1.IsControlledBy(pdb, ds)).To(BeTrue())
		Expect(pdb.Spec.MaxUnavailable).To(Equal(ptr.To(intstr.FromInt32(1))))
		Expect(pdb.Spec.UnhealthyPodEvictionPolicy).To(Equal(ptr.To(policyv1.AlwaysAllow)))
		Expect(pdb.Spec.Selector).To(Equal(dep.Spec.Selector), "the PDB must select exactly the server's pods")
	})

	It("restores one replica after a scale that slipped past a webhook that was down, and says so in an Event", func() {
		dep := deploymentOf(ds)
		Eventually(func(g Gomega) {
			g.Expect(namespaceLabels(g, ns)).To(HaveKey(streamingv1alpha1.NamespaceLabel))
		}, timeout, interval).Should(Succeed())
		scaleWebhookDown(ns, dep.Name)

		Eventually(func() error {
			return k8sClient.SubResource("scale").Update(ctx, dep,
				client.WithSubResourceBody(testobjects.Scale(ns, dep.Name, 3)))
		}, timeout, interval).Should(Succeed(), "with the webhook down, its Ignore policy lets the scale through")

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
			g.Expect(dep.Spec.Replicas).To(Equal(ptr.To[int32](1)), "the operator should restore 1 replica")
		}, timeout, interval).Should(Succeed())

		Eventually(func(g Gomega) {
			events := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, events, client.InNamespace(ns))).To(Succeed())
			g.Expect(events.Items).To(ContainElement(And(
				HaveField("Reason", "ReplicasReverted"),
				HaveField("Regarding.Name", "events"),
				HaveField("Note", ContainSubstring("scaled to 3")),
			)), "a ReplicasReverted Event should explain the revert")
		}, timeout, interval).Should(Succeed())
	})

	It("is Ready only once its Deployment is available", func() {
		cond := expectCondition(ds, streamingv1alpha1.ConditionReady, metav1.ConditionFalse,
			streamingv1alpha1.ReasonDeploymentUnavailable)
		Expect(cond.Message).NotTo(BeEmpty())
		expectCondition(ds, streamingv1alpha1.ConditionReconciling, metav1.ConditionTrue,
			streamingv1alpha1.ReasonRollingOut)

		markAvailable(deploymentOf(ds))

		expectCondition(ds, streamingv1alpha1.ConditionReady, metav1.ConditionTrue, streamingv1alpha1.ReasonAvailable)
		expectCondition(ds, streamingv1alpha1.ConditionReconciling, metav1.ConditionFalse,
			streamingv1alpha1.ReasonReconciled)
		expectCondition(ds, streamingv1alpha1.ConditionStalled, metav1.ConditionFalse,
			streamingv1alpha1.ReasonNotStalled)

		cur := &streamingv1alpha1.DashStream{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ds), cur)).To(Succeed())
		Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
		Expect(cur.Status.BackplaneMode).To(Equal(streamingv1alpha1.BackplaneNone))
		Expect(cur.Status.ReadyReplicas).To(BeNumerically("==", 1))
	})

})
