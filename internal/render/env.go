package render

import (
	"path"
	"strconv"
	"strings"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/policy"
)

// Environment variables the server reads. The operator is their only writer.
const (
	EnvBrokers               = "KAFKA_BROKERS"
	EnvBootstrapServers      = "KAFKA_BOOTSTRAP_SERVERS"
	EnvTopic                 = "KAFKA_TOPIC"
	EnvGroupID               = "KAFKA_GROUP_ID"
	EnvAutoOffsetReset       = "KAFKA_AUTO_OFFSET_RESET"
	EnvSecurityProtocol      = "KAFKA_SECURITY_PROTOCOL"
	EnvSASLMechanism         = "KAFKA_SASL_MECHANISM"
	EnvSASLUsername          = "KAFKA_SASL_USERNAME"
	EnvSASLPassword          = "KAFKA_SASL_PASSWORD"
	EnvSSLCALocation         = "KAFKA_SSL_CA_LOCATION"
	EnvSSLCertLocation       = "KAFKA_SSL_CERTIFICATE_LOCATION"
	EnvSSLKeyLocation        = "KAFKA_SSL_KEY_LOCATION"
	EnvBrokerAddressFamily   = "KAFKA_BROKER_ADDRESS_FAMILY"
	EnvStalePartitionSeconds = "KAFKA_LAG_STALE_PARTITION_SECS"
	EnvBackplaneMode         = "BACKPLANE_MODE"
	EnvBackplaneURL          = "BACKPLANE_URL"
	// EnvPodName carries the pod's name, so PerPodConsumerGroup can make
	// the group id unique per pod.
	EnvPodName = "POD_NAME"
)

// Defaults of the Kafka settings, applied when rendering.
const (
	DefaultAutoOffsetReset       = streamingv1alpha1.OffsetResetLatest
	DefaultSecurityProtocol      = streamingv1alpha1.SecurityPlaintext
	DefaultStalePartitionSeconds = 300
	// TLSMountPath is where the Kafka TLS files are mounted.
	TLSMountPath = "/etc/dashstream/kafka-tls"
	tlsVolume    = "kafka-tls"
	caFile       = "ca.crt"
	certFile     = "tls.crt"
	keyFile      = "tls.key"
)

// Env returns the server container's environment. Secrets are passed by
// reference only: their values never appear in the Deployment.
func Env(ds *streamingv1alpha1.DashStream) []*corev1ac.EnvVarApplyConfiguration {
	k := &ds.Spec.Kafka
	brokers := strings.Join(k.Brokers, ",")

	env := []*corev1ac.EnvVarApplyConfiguration{
		value(EnvBrokers, brokers),
		value(EnvBootstrapServers, brokers),
		value(EnvTopic, k.Topic),
	}
	env = append(env, groupID(ds)...)
	env = append(env,
		value(EnvAutoOffsetReset, string(orDefault(k.AutoOffsetReset, DefaultAutoOffsetReset))),
		value(EnvSecurityProtocol, string(securityProtocol(k))),
	)
	env = append(env, saslEnv(k.Security)...)
	env = append(env, tlsEnv(k.Security)...)
	if k.BrokerAddressFamily != "" {
		env = append(env, value(EnvBrokerAddressFamily, string(k.BrokerAddressFamily)))
	}
	env = append(env, value(EnvStalePartitionSeconds,
		strconv.Itoa(int(int32Or(k.StalePartitionSeconds, DefaultStalePartitionSeconds)))))

	return append(env, backplaneEnv(ds)...)
}

// groupID makes the consumer group unique per pod in PerPodConsumerGroup
// mode through the downward API; otherwise every pod shares spec.groupId.
func groupID(ds *streamingv1alpha1.DashStream) []*corev1ac.EnvVarApplyConfiguration {
	// A literal "$(" in the group id must not be expanded by the kubelet.
	id := strings.ReplaceAll(ds.Spec.Kafka.GroupID, "$", "$$")
	if policy.Mode(ds) != streamingv1alpha1.BackplanePerPodConsumerGroup {
		return []*corev1ac.EnvVarApplyConfiguration{value(EnvGroupID, id)}
	}

	podName := corev1ac.EnvVar().WithName(EnvPodName).WithValueFrom(corev1ac.EnvVarSource().
		WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath("metadata.name")))

	return []*corev1ac.EnvVarApplyConfiguration{podName, value(EnvGroupID, id+"-$("+EnvPodName+")")}
}

func saslEnv(s *streamingv1alpha1.KafkaSecurity) []*corev1ac.EnvVarApplyConfiguration {
	if s == nil || s.SASL == nil {
		return nil
	}

	return []*corev1ac.EnvVarApplyConfiguration{
		value(EnvSASLMechanism, string(s.SASL.Mechanism)),
		fromSecret(EnvSASLUsername, s.SASL.UsernameSecretRef),
		fromSecret(EnvSASLPassword, s.SASL.PasswordSecretRef),
	}
}

func tlsEnv(s *streamingv1alpha1.KafkaSecurity) []*corev1ac.EnvVarApplyConfiguration {
	if s == nil || s.TLS == nil {
		return nil
	}

	var env []*corev1ac.EnvVarApplyConfiguration
	if s.TLS.CASecretRef != nil {
		env = append(env, value(EnvSSLCALocation, path.Join(TLSMountPath, caFile)))
	}
	if s.TLS.CertSecretRef != nil {
		env = append(env,
			value(EnvSSLCertLocation, path.Join(TLSMountPath, certFile)),
			value(EnvSSLKeyLocation, path.Join(TLSMountPath, keyFile)))
	}

	return env
}

func backplaneEnv(ds *streamingv1alpha1.DashStream) []*corev1ac.EnvVarApplyConfiguration {
	env := []*corev1ac.EnvVarApplyConfiguration{value(EnvBackplaneMode, string(policy.Mode(ds)))}
	b := ds.Spec.Backplane
	switch {
	case b == nil || b.Mode != streamingv1alpha1.BackplaneBroadcast:
	case b.SecretRef != nil:
		env = append(env, fromSecret(EnvBackplaneURL, *b.SecretRef))
	case b.URL != "":
		env = append(env, value(EnvBackplaneURL, b.URL))
	}

	return env
}

// volumes mounts the Kafka TLS files, possibly from several Secrets, as
// one folder of fixed file names.
func volumes(ds *streamingv1alpha1.DashStream) []*corev1ac.VolumeApplyConfiguration {
	refs := tlsFiles(ds.Spec.Kafka.Security)
	if len(refs) == 0 {
		return nil
	}

	projected := corev1ac.ProjectedVolumeSource().WithDefaultMode(0o444)
	for _, f := range refs {
		projected.WithSources(corev1ac.VolumeProjection().WithSecret(corev1ac.SecretProjection().
			WithName(f.ref.Name).
			WithItems(corev1ac.KeyToPath().WithKey(f.ref.Key).WithPath(f.file))))
	}

	return []*corev1ac.VolumeApplyConfiguration{corev1ac.Volume().WithName(tlsVolume).WithProjected(projected)}
}

func tlsMount(ds *streamingv1alpha1.DashStream) *corev1ac.VolumeMountApplyConfiguration {
	if len(tlsFiles(ds.Spec.Kafka.Security)) == 0 {
		return nil
	}

	return corev1ac.VolumeMount().WithName(tlsVolume).WithMountPath(TLSMountPath).WithReadOnly(true)
}

type secretFile struct {
	ref  streamingv1alpha1.SecretKeySelector
	file string
}

func tlsFiles(s *streamingv1alpha1.KafkaSecurity) []secretFile {
	if s == nil || s.TLS == nil {
		return nil
	}

	var files []secretFile
	for _, f := range []struct {
		ref  *streamingv1alpha1.SecretKeySelector
		file string
	}{{s.TLS.CASecretRef, caFile}, {s.TLS.CertSecretRef, certFile}, {s.TLS.KeySecretRef, keyFile}} {
		if f.ref != nil {
			files = append(files, secretFile{ref: *f.ref, file: f.file})
		}
	}

	return files
}

// SecretRefs lists every Secret key ds references, in a stable order, so
// the reconciler can check they exist before pods fail to start.
func SecretRefs(ds *streamingv1alpha1.DashStream) []streamingv1alpha1.SecretKeySelector {
	var refs []streamingv1alpha1.SecretKeySelector
	if s := ds.Spec.Kafka.Security; s != nil && s.SASL != nil {
		refs = append(refs, s.SASL.UsernameSecretRef, s.SASL.PasswordSecretRef)
	}
	for _, f := range tlsFiles(ds.Spec.Kafka.Security) {
		refs = append(refs, f.ref)
	}
	if b := ds.Spec.Backplane; b != nil && b.Mode == streamingv1alpha1.BackplaneBroadcast && b.SecretRef != nil {
		refs = append(refs, *b.SecretRef)
	}

	return refs
}

func securityProtocol(k *streamingv1alpha1.KafkaSpec) streamingv1alpha1.SecurityProtocol {
	if k.Security == nil {
		return DefaultSecurityProtocol
	}

	return orDefault(k.Security.Protocol, DefaultSecurityProtocol)
}

func value(name, v string) *corev1ac.EnvVarApplyConfiguration {
	return corev1ac.EnvVar().WithName(name).WithValue(v)
}

func fromSecret(name string, ref streamingv1alpha1.SecretKeySelector) *corev1ac.EnvVarApplyConfiguration {
	return corev1ac.EnvVar().WithName(name).WithValueFrom(corev1ac.EnvVarSource().
		WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(ref.Name).WithKey(ref.Key)))
}

func orDefault[T ~string](v, def T) T {
	if v == "" {
		return def
	}

	return v
}
