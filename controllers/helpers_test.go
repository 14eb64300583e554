package controllers_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

const (
	timeout  = 20 * time.Second
	interval = 100 * time.Millisecond
)

// newNamespace creates a namespace of its own for one test.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "test-" + rand.String(6)}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())

	return ns.Name
}

// plainDashStream is the smallest valid DashStream.
func plainDashStream(ns, name string) *streamingv1alpha1.DashStream {
	return &streamingv1alpha1.DashStream{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: streamingv1alpha1.DashStreamSpec{
			Image: "ghcr.io/dashflow/websocket-server:1.8.2",
			Kafka: streamingv1alpha1.KafkaSpec{
				Brokers: []string{"kafka-0:9092"},
				Topic:   "events",
				GroupID: "websocket",
			},
		},
	}
}

// saslDashStream uses SASL_SSL with credentials and a CA from Secrets.
func saslDashStream(ns, name string) *streamingv1alpha1.DashStream {
	ds := plainDashStream(ns, name)
	ds.Spec.Kafka.Security = &streamingv1alpha1.KafkaSecurity{
		Protocol: streamingv1alpha1.SecuritySASLSSL,
		SASL: &streamingv1alpha1.SASLSpec{
			Mechanism:         "SCRAM-SHA-512",
			UsernameSecretRef: streamingv1alpha1.SecretKeySelector{Name: "kafka-sasl", Key: "username"},
			PasswordSecretRef: streamingv1alpha1.SecretKeySelector{Name: "kafka-sasl", Key: "password"},
		},
		TLS: &streamingv1alpha1.KafkaTLS{
			CASecretRef: &streamingv1alpha1.SecretKeySelector{Name: "kafka-ca", Key: "ca.crt"},
		},
	}

	return ds
}

func createSecret(ns, name string, keys ...string) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: map[string]string{}}
	for _, k := range keys {
		s.StringData[k] = "value-of-" + k
	}
	Expect(k8sClient.Create(ctx, s)).To(Succeed())
}

func deploymentOf(ds *streamingv1alpha1.DashStream) *appsv1.Deployment {
	dep := &appsv1.Deployment{}
	key := client.ObjectKey{Namespace: ds.Namespace, Name: ds.Name + "-websocket-server"}
	Eventually(func() error { return k8sClient.Get(ctx, key, dep) }, timeout, interval).
		Should(Succeed(), "the operator should create Deployment %s", key)

	return dep
}

// conditionOf returns the current condition t of ds, waiting for it.
func conditionOf(g Gomega, ds *streamingv1alpha1.DashStream, t string) metav1.Condition {
	cur := &streamingv1alpha1.DashStream{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ds), cur)).To(Succeed())

	c := meta.FindStatusCondition(cur.Status.Conditions, t)
	g.Expect(c).NotTo(BeNil(), "condition %s should be reported; have %v", t, cur.Status.Conditions)

	return *c
}

// expectCondition waits until ds reports condition t with the status and
// reason given, and returns it.
func expectCondition(ds *streamingv1alpha1.DashStream, t string, status metav1.ConditionStatus,
	reason string) metav1.Condition {
	var got metav1.Condition
	Eventually(func(g Gomega) {
		got = conditionOf(g, ds, t)
		g.Expect(got.Status).To(Equal(status), "%s: %s", t, got.Message)
		g.Expect(got.Reason).To(Equal(reason), "%s: %s", t, got.Message)
	}, timeout, interval).Should(Succeed())

	return got
}

// markAvailable plays the Deployment controller, which envtest lacks.
func markAvailable(dep *appsv1.Deployment) {
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
		n := ptr.Deref(dep.Spec.Replicas, 1)
		dep.Status = appsv1.DeploymentStatus{
			ObservedGeneration: dep.Generation,
			Replicas:           n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
			Conditions: []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
				Reason: "MinimumReplicasAvailable", LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now(),
			}},
		}
		g.Expect(k8sClient.Status().Update(ctx, dep)).To(Succeed())
	}, timeout, interval).Should(Succeed())
}

// envMap flattens a container's env into name -> value or secret reference.
func envMap(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			out[e.Name] = fmt.Sprintf("secret:%s/%s", e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			out[e.Name] = "field:" + e.ValueFrom.FieldRef.FieldPath
		default:
			out[e.Name] = e.Value
		}
	}

	return out
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}

	return true
}
