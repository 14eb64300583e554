package controllers_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

var _ = Describe("The API server's validation of DashStreams", func() {
	var ns string

	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("refuses unsafe or malformed specs with a message naming the field and the fix",
		func(mutate func(*streamingv1alpha1.DashStream), wantInMessage ...string) {
			ds := plainDashStream(ns, "bad")
			mutate(ds)

			err := k8sClient.Create(ctx, ds)
			Expect(err).To(HaveOccurred(), "the API server should refuse this DashStream")
			Expect(containsAll(err.Error(), wantInMessage...)).To(BeTrue(),
				"message %q should contain %q", err.Error(), wantInMessage)
		},
		Entry("replicas 2 without a backplane mode", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Replicas = ptr.To[int32](2)
		}, "spec.replicas", "spec.backplane.mode", "PerPodConsumerGroup"),
		Entry("replicas 2 with backplane mode None", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Replicas = ptr.To[int32](2)
			ds.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{Mode: streamingv1alpha1.BackplaneNone}
		}, "spec.backplane.mode"),
		Entry("Broadcast without a backplane address", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{Mode: streamingv1alpha1.BackplaneBroadcast}
		}, "spec.backplane.url", "spec.backplane.secretRef"),
		Entry("a SASL protocol without a sasl block", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Kafka.Security = &streamingv1alpha1.KafkaSecurity{Protocol: streamingv1alpha1.SecuritySASLSSL}
		}, "spec.kafka.security.sasl"),
		Entry("a sasl block without a SASL protocol", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Kafka.Security = &streamingv1alpha1.KafkaSecurity{
				Protocol: streamingv1alpha1.SecuritySSL,
				SASL: &streamingv1alpha1.SASLSpec{
					Mechanism:         "PLAIN",
					UsernameSecretRef: streamingv1alpha1.SecretKeySelector{Name: "s", Key: "u"},
					PasswordSecretRef: streamingv1alpha1.SecretKeySelector{Name: "s", Key: "p"},
				},
			}
		}, "spec.kafka.security.protocol", "SASL_SSL"),
		Entry("no brokers", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Kafka.Brokers = nil
		}, "spec.kafka.brokers"),
		Entry("a broker without a port", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Kafka.Brokers = []string{"kafka-0"}
		}, "spec.kafka.brokers", "host:port"),
		Entry("an IPv6 broker without brackets", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Kafka.Brokers = []string{"2001:db8::1:9092"}
		}, "spec.kafka.brokers", "brackets"),
		Entry("a port above 65535", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Kafka.Brokers = []string{"kafka-0:70000"}
		}, "spec.kafka.brokers"),
		Entry("a topic with a space", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Kafka.Topic = "dash events"
		}, "spec.kafka.topic", "letters, digits"),
		Entry("a topic of 250 characters", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Kafka.Topic = string(make([]byte, 250))
		}, "spec.kafka.topic"),
		Entry("a name too long for the server's Service", func(ds *streamingv1alpha1.DashStream) {
			ds.Name = "a-name-that-is-far-too-long-for-a-service-name-x"
		}, "metadata.name", "46"),
		Entry("critical staleness below the warning", func(ds *streamingv1alpha1.DashStream) {
			ds.Spec.Monitoring = &streamingv1alpha1.MonitoringSpec{
				PrometheusRule: &streamingv1alpha1.PrometheusRuleSpec{
					PartitionStaleWarningSeconds: ptr.To[int32](600), PartitionStaleCriticalSeconds: ptr.To[int32](300),
				}}
		}, "partitionStaleCriticalSeconds", "greater than"),
	)

	It("accepts IPv6 broker literals and passes no address family unless one is set", func() {
		ds := plainDashStream(ns, "ipv6")
		ds.Spec.Kafka.Brokers = []string{"[2001:db8::1]:9092", "[::1]:9093", "kafka.example.com:9094"}
		Expect(k8sClient.Create(ctx, ds)).To(Succeed(), "bracketed IPv6 literals are valid brokers")

		env := envMap(deploymentOf(ds).Spec.Template.Spec.Containers[0])
		Expect(env).To(HaveKeyWithValue("KAFKA_BROKERS", "[2001:db8::1]:9092,[::1]:9093,kafka.example.com:9094"))
		Expect(env).NotTo(HaveKey("KAFKA_BROKER_ADDRESS_FAMILY"), "the operator must never force an address family")

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ds), ds)).To(Succeed())
			ds.Spec.Kafka.BrokerAddressFamily = streamingv1alpha1.AddressFamilyV6
			g.Expect(k8sClient.Update(ctx, ds)).To(Succeed())
		}, timeout, interval).Should(Succeed())

		Eventually(func(g Gomega) {
			env := envMap(deploymentOf(ds).Spec.Template.Spec.Containers[0])
			g.Expect(env).To(HaveKeyWithValue("KAFKA_BROKER_ADDRESS_FAMILY", "v6"))
		}, timeout, interval).Should(Succeed())
	})

	It("reads the sample manifest back with its spec unchanged, so GitOps sees it in sync", func() {
		sample := readSample("streaming_v1alpha1_dashstream.yaml")
		sample.SetNamespace(ns)
		applied := sample.DeepCopy()

		Expect(k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied),
			client.FieldOwner("gitops"))).To(Succeed())

		stored := &unstructured.Unstructured{}
		stored.SetGroupVersionKind(sample.GroupVersionKind())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(sample), stored)).To(Succeed())
		Expect(stored.Object["spec"]).To(Equal(sample.Object["spec"]),
			"the API server must not rewrite spec: no server-side defaults")
	})
})

func readSample(name string) *unstructured.Unstructured {
	raw, err := os.ReadFile(filepath.Join("..", "config", "samples", name))
	Expect(err).NotTo(HaveOccurred())

	obj := map[string]any{}
	Expect(yaml.Unmarshal(raw, &obj)).To(Succeed())

	return &unstructured.Unstructured{Object: obj}
}
