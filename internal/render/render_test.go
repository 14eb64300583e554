package render_test

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/policy"
	"github.com/dashflow/dashstream-operator/internal/render"
)

func base() *streamingv1alpha1.DashStream {
	ds := &streamingv1alpha1.DashStream{}
	ds.Namespace, ds.Name, ds.UID = "shop", "events", "uid-1"
	ds.Spec.Image = "server:1"
	ds.Spec.Kafka = streamingv1alpha1.KafkaSpec{Brokers: []string{"k:9092"}, Topic: "t", GroupID: "g"}

	return ds
}

// deployment renders ds and reads it back as the API type a user would get.
func deployment(t *testing.T, ds *streamingv1alpha1.DashStream) *appsv1.Deployment {
	t.Helper()
	raw, err := json.Marshal(render.Deployment(ds, ptr.To(policy.DesiredReplicas(ds))))
	if err != nil {
		t.Fatal(err)
	}

	dep := &appsv1.Deployment{}
	if err := json.Unmarshal(raw, dep); err != nil {
		t.Fatal(err)
	}

	return dep
}

func env(dep *appsv1.Deployment) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		out[e.Name] = e
	}

	return out
}

func TestPerPodConsumerGroupMakesTheGroupUniquePerPod(t *testing.T) {
	ds := base()
	ds.Spec.Kafka.GroupID = "price$(X)"
	ds.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{Mode: streamingv1alpha1.BackplanePerPodConsumerGroup}
	ds.Spec.Replicas = ptr.To[int32](3)
	dep := deployment(t, ds)
	e := env(dep)

	if got := e["POD_NAME"].ValueFrom.FieldRef.FieldPath; got != "metadata.name" {
		t.Errorf("POD_NAME comes from %q, want the downward API's metadata.name", got)
	}
	// $$ keeps the user's literal "$(X)" from being expanded by the kubelet.
	if got, want := e["KAFKA_GROUP_ID"].Value, "price$$(X)-$(POD_NAME)"; got != want {
		t.Errorf("KAFKA_GROUP_ID = %q, want %q", got, want)
	}
	if *dep.Spec.Replicas != 3 || dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("replicas %d strategy %s, want 3 with RollingUpdate", *dep.Spec.Replicas, dep.Spec.Strategy.Type)
	}
}

func TestBroadcastPassesTheBackplaneAddressFromASecret(t *testing.T) {
	ds := base()
	ds.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{
		Mode:      streamingv1alpha1.BackplaneBroadcast,
		SecretRef: &streamingv1alpha1.SecretKeySelector{Name: "redis", Key: "url"},
	}
	e := env(deployment(t, ds))

	if e["BACKPLANE_MODE"].Value != "Broadcast" {
		t.Errorf("BACKPLANE_MODE = %q, want Broadcast", e["BACKPLANE_MODE"].Value)
	}
	ref := e["BACKPLANE_URL"].ValueFrom.SecretKeyRef
	if ref == nil || ref.Name != "redis" || ref.Key != "url" || e["BACKPLANE_URL"].Value != "" {
		t.Errorf("BACKPLANE_URL = %+v, want a reference to Secret redis key url and no value", e["BACKPLANE_URL"])
	}
	if e["KAFKA_GROUP_ID"].Value != "g" {
		t.Errorf("Broadcast pods share one group; KAFKA_GROUP_ID = %q, want g", e["KAFKA_GROUP_ID"].Value)
	}
}

func TestTLSClientCertificateIsMountedAsFiles(t *testing.T) {
	ds := base()
	ds.Spec.Kafka.Security = &streamingv1alpha1.KafkaSecurity{
		Protocol: streamingv1alpha1.SecuritySSL,
		TLS: &streamingv1alpha1.KafkaTLS{
			CertSecretRef: &streamingv1alpha1.SecretKeySelector{Name: "client", Key: "tls.crt"},
			KeySecretRef:  &streamingv1alpha1.SecretKeySelector{Name: "client", Key: "tls.key"},
		},
	}
	dep := deployment(t, ds)
	e := env(dep)

	if e["KAFKA_SSL_CERTIFICATE_LOCATION"].Value != "/etc/dashstream/kafka-tls/tls.crt" ||
		e["KAFKA_SSL_KEY_LOCATION"].Value != "/etc/dashstream/kafka-tls/tls.key" {
		t.Errorf("certificate and key locations = %q, %q", e["KAFKA_SSL_CERTIFICATE_LOCATION"].Value,
			e["KAFKA_SSL_KEY_LOCATION"].Value)
	}
	if _, ok := e["KAFKA_SSL_CA_LOCATION"]; ok {
		t.Error("KAFKA_SSL_CA_LOCATION set without a CA reference; the client should use system roots")
	}
	mounts := dep.Spec.Template.Spec.Containers[0].VolumeMounts
	if len(mounts) != 1 || mounts[0].MountPath != "/etc/dashstream/kafka-tls" || !mounts[0].ReadOnly {
		t.Errorf("mounts = %+v, want one read-only mount at /etc/dashstream/kafka-tls", mounts)
	}
	if n := len(dep.Spec.Template.Spec.Volumes[0].Projected.Sources); n != 2 {
		t.Errorf("projected sources = %d, want 2 (certificate and key)", n)
	}
}

func TestUserLabelsNeverChangeTheSelectorOrOperatorLabels(t *testing.T) {
	ds := base()
	ds.Spec.PodTemplate = &streamingv1alpha1.PodTemplateOverrides{Labels: map[string]string{
		"team":                             "growth",
		"app.kubernetes.io/name":           "hijack",
		"streaming.dashflow.io/dashstream": "other",
	}}
	dep := deployment(t, ds)
	plain := deployment(t, base())

	if dep.Spec.Selector.String() != plain.Spec.Selector.String() {
		t.Errorf("selector %v changed with user labels; want %v", dep.Spec.Selector, plain.Spec.Selector)
	}
	labels := dep.Spec.Template.Labels
	if labels["team"] != "growth" || labels["app.kubernetes.io/name"] != "dashflow-websocket-server" ||
		labels["streaming.dashflow.io/dashstream"] != "events" {
		t.Errorf("pod labels = %v, want team=growth kept and operator labels winning", labels)
	}
}

func TestDefaultsAreAppliedWhenRendering(t *testing.T) {
	dep := deployment(t, base())
	c := dep.Spec.Template.Spec.Containers[0]
	e := env(dep)

	if c.Ports[0].ContainerPort != 8080 {
		t.Errorf("port = %d, want default 8080", c.Ports[0].ContainerPort)
	}
	for name, want := range map[string]string{
		"KAFKA_AUTO_OFFSET_RESET":        "latest",
		"KAFKA_SECURITY_PROTOCOL":        "PLAINTEXT",
		"KAFKA_LAG_STALE_PARTITION_SECS": "300",
	} {
		if e[name].Value != want {
			t.Errorf("%s = %q, want default %q", name, e[name].Value, want)
		}
	}
	for _, absent := range []string{"KAFKA_SASL_USERNAME", "KAFKA_BROKER_ADDRESS_FAMILY", "BACKPLANE_URL", "POD_NAME"} {
		if _, ok := e[absent]; ok {
			t.Errorf("%s set for a plain DashStream", absent)
		}
	}
	if c.Resources.Limits.Memory().String() != "512Mi" {
		t.Errorf("memory limit = %s, want default 512Mi", c.Resources.Limits.Memory())
	}
}
