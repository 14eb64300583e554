package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackplaneMode names how several replicas of the server can each serve the
// whole stream.
// +kubebuilder:validation:Enum=None;PerPodConsumerGroup;Broadcast
type BackplaneMode string

const (
	// BackplaneNone runs one pod in one consumer group: replicas are pinned
	// to 1, because a second member of the group would take some partitions
	// away from the first and its clients would see a partial stream.
	BackplaneNone BackplaneMode = "None"

	// BackplanePerPodConsumerGroup gives every pod a consumer group of its
	// own, so each reads the whole topic, at N times the Kafka read traffic.
	BackplanePerPodConsumerGroup BackplaneMode = "PerPodConsumerGroup"

	// BackplaneBroadcast keeps one shared group and has every pod republish
	// what it consumes on a pub/sub backplane (Redis or NATS) that all pods
	// subscribe to.
	BackplaneBroadcast BackplaneMode = "Broadcast"
)

// OffsetReset says where a consumer group without committed offsets starts.
// +kubebuilder:validation:Enum=earliest;latest
type OffsetReset string

const (
	// OffsetResetEarliest starts at the oldest retained message.
	OffsetResetEarliest OffsetReset = "earliest"
	// OffsetResetLatest starts at the next message produced.
	OffsetResetLatest OffsetReset = "latest"
)

// AddressFamily restricts the IP family the Kafka client resolves brokers to.
// +kubebuilder:validation:Enum=any;v4;v6
type AddressFamily string

const (
	// AddressFamilyAny lets the client use IPv4 and IPv6.
	AddressFamilyAny AddressFamily = "any"
	// AddressFamilyV4 resolves brokers to IPv4 only.
	AddressFamilyV4 AddressFamily = "v4"
	// AddressFamilyV6 resolves brokers to IPv6 only.
	AddressFamilyV6 AddressFamily = "v6"
)

// SecurityProtocol is the Kafka client's security.protocol.
// +kubebuilder:validation:Enum=PLAINTEXT;SSL;SASL_PLAINTEXT;SASL_SSL
type SecurityProtocol string

const (
	// SecurityPlaintext uses neither TLS nor SASL.
	SecurityPlaintext SecurityProtocol = "PLAINTEXT"
	// SecuritySSL uses TLS without SASL.
	SecuritySSL SecurityProtocol = "SSL"
	// SecuritySASLPlaintext uses SASL without TLS.
	SecuritySASLPlaintext SecurityProtocol = "SASL_PLAINTEXT"
	// SecuritySASLSSL uses SASL over TLS.
	SecuritySASLSSL SecurityProtocol = "SASL_SSL"
)

// SASLMechanism is the Kafka client's sasl.mechanism.
// +kubebuilder:validation:Enum=PLAIN;SCRAM-SHA-256;SCRAM-SHA-512
type SASLMechanism string

// SecretKeySelector names one key of a Secret in the DashStream's namespace.
type SecretKeySelector struct {
	// name is the name of the Secret, in the DashStream's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key is the key within the Secret's data.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// DashStreamSpec is the desired state of one DashFlow WebSocket server.
// +kubebuilder:validation:XValidation:rule="!has(self.replicas) || self.replicas <= 1 || (has(self.backplane) && has(self.backplane.mode) && self.backplane.mode != 'None')",message="spec.replicas above 1 needs spec.backplane.mode set to PerPodConsumerGroup or Broadcast: with one shared consumer group each extra pod takes partitions from the others and clients get partial streams",fieldPath=".replicas",reason=FieldValueForbidden
type DashStreamSpec struct {
	// image is the WebSocket server's container image.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image"`

	// imagePullPolicy is the server container's pull policy. When unset,
	// Kubernetes picks it from the image tag.
	// +optional
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// resources are the server container's requests and limits.
	// Unset: 100m CPU and 128Mi memory requested, 512Mi memory limit.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// port serves both the WebSocket endpoint and /metrics. Default 8080.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port *int32 `json:"port,omitempty"`

	// replicas is the number of server pods. Default 1. More than one needs
	// a backplane mode other than None, because pods that share one
	// consumer group each receive only some of the topic's partitions.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// backplane declares how several replicas can each serve the whole
	// stream. Unset means mode None: one pod, replicas pinned to 1.
	// +optional
	Backplane *BackplaneSpec `json:"backplane,omitempty"`

	// kafka is where the server consumes events from.
	// +required
	Kafka KafkaSpec `json:"kafka"`

	// monitoring configures the alert rules generated for this server.
	// +optional
	Monitoring *MonitoringSpec `json:"monitoring,omitempty"`

	// podDisruptionBudget configures the PodDisruptionBudget generated for
	// this server.
	// +optional
	PodDisruptionBudget *PodDisruptionBudgetSpec `json:"podDisruptionBudget,omitempty"`

	// podTemplate holds the pod settings that are safe to override. Labels
	// here never change the Deployment's selector.
	// +optional
	PodTemplate *PodTemplateOverrides `json:"podTemplate,omitempty"`
}

// BackplaneSpec declares the scaling architecture of the server.
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || self.mode != 'Broadcast' || has(self.url) || has(self.secretRef)",message="spec.backplane.mode Broadcast needs spec.backplane.url or spec.backplane.secretRef: the address of the Redis or NATS backplane every pod publishes to",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="(has(self.mode) && self.mode == 'Broadcast') || (!has(self.url) && !has(self.secretRef))",message="spec.backplane.url and spec.backplane.secretRef apply only to mode Broadcast: remove them or set spec.backplane.mode to Broadcast",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.url) || !has(self.secretRef)",message="set one of spec.backplane.url and spec.backplane.secretRef, not both",reason=FieldValueForbidden
type BackplaneSpec struct {
	// mode is None (default: replicas pinned to 1), PerPodConsumerGroup
	// (each pod its own consumer group, N times the Kafka reads) or
	// Broadcast (one group, events republished on a pub/sub backplane).
	// +optional
	Mode BackplaneMode `json:"mode,omitempty"`

	// url is the Broadcast backplane's address, for example
	// redis://backplane:6379 or nats://nats:4222. It reaches the server as
	// BACKPLANE_URL. Use secretRef instead when it holds credentials.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url,omitempty"`

	// secretRef names a Secret key that holds the Broadcast backplane's
	// address; it reaches the server as BACKPLANE_URL.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
}

// KafkaSpec tells the server where and how to consume.
type KafkaSpec struct {
	// brokers are the bootstrap brokers, each host:port; IPv6 literals go in
	// brackets, as in [2001:db8::1]:9092. They reach the server as both
	// KAFKA_BROKERS and KAFKA_BOOTSTRAP_SERVERS.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=262
	// +kubebuilder:validation:XValidation:rule="self.all(b, b.matches('^([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?|\\\\[[0-9A-Fa-f:.]+\\\\]):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$'))",message="each spec.kafka.brokers entry must be host:port with a port from 1 to 65535, and IPv6 literals in brackets, for example kafka-0.kafka:9092 or [2001:db8::1]:9092"
	Brokers []string `json:"brokers"`

	// topic is the topic to consume: 1 to 249 letters, digits, '.', '_' or
	// '-', as Kafka allows.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=249
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9._-]+$') && self != '.' && self != '..'",message="spec.kafka.topic may hold only letters, digits, '.', '_' and '-' (and may not be '.' or '..'), as Kafka requires"
	Topic string `json:"topic"`

	// groupId is the consumer group. In mode PerPodConsumerGroup each pod
	// appends its own name to it, so every pod reads the whole topic.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	GroupID string `json:"groupId"`

	// autoOffsetReset is where a group without committed offsets starts:
	// earliest or latest. Default latest.
	// +optional
	AutoOffsetReset OffsetReset `json:"autoOffsetReset,omitempty"`

	// brokerAddressFamily restricts broker name resolution to any, v4 or
	// v6. Unset leaves the choice to the client; the operator never forces
	// IPv4.
	// +optional
	BrokerAddressFamily AddressFamily `json:"brokerAddressFamily,omitempty"`

	// stalePartitionSeconds is how long a partition may go without messages
	// before the server logs it as stale. It tunes logging only; alert
	// thresholds live in spec.monitoring. Default 300.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	StalePartitionSeconds *int32 `json:"stalePartitionSeconds,omitempty"`

	// security configures TLS and SASL towards the brokers. Unset means
	// PLAINTEXT.
	// +optional
	Security *KafkaSecurity `json:"security,omitempty"`
}

// KafkaSecurity configures how the server authenticates to the brokers.
// +kubebuilder:validation:XValidation:rule="has(self.sasl) || !has(self.protocol) || !self.protocol.startsWith('SASL_')",message="spec.kafka.security.protocol SASL_PLAINTEXT and SASL_SSL need a spec.kafka.security.sasl block with the mechanism and credentials",fieldPath=".sasl",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="!has(self.sasl) || (has(self.protocol) && self.protocol.startsWith('SASL_'))",message="spec.kafka.security.sasl needs spec.kafka.security.protocol SASL_PLAINTEXT or SASL_SSL",fieldPath=".protocol",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || (has(self.protocol) && self.protocol.endsWith('SSL'))",message="spec.kafka.security.tls needs spec.kafka.security.protocol SSL or SASL_SSL",fieldPath=".protocol",reason=FieldValueInvalid
type KafkaSecurity struct {
	// protocol is PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL.
	// +optional
	Protocol SecurityProtocol `json:"protocol,omitempty"`

	// sasl holds the SASL mechanism and credentials; required with the
	// SASL_* protocols and allowed only with them.
	// +optional
	SASL *SASLSpec `json:"sasl,omitempty"`

	// tls holds the CA and client certificate; allowed with SSL and
	// SASL_SSL.
	// +optional
	TLS *KafkaTLS `json:"tls,omitempty"`
}

// SASLSpec holds SASL settings. Credentials are read from Secrets by the
// kubelet and never copied into the Deployment.
type SASLSpec struct {
	// mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	// +required
	Mechanism SASLMechanism `json:"mechanism"`

	// usernameSecretRef is the Secret key holding the SASL username.
	// +required
	UsernameSecretRef SecretKeySelector `json:"usernameSecretRef"`

	// passwordSecretRef is the Secret key holding the SASL password.
	// +required
	PasswordSecretRef SecretKeySelector `json:"passwordSecretRef"`
}

// KafkaTLS names the Secrets whose keys are mounted as PEM files for TLS.
// +kubebuilder:validation:XValidation:rule="has(self.certSecretRef) == has(self.keySecretRef)",message="spec.kafka.security.tls.certSecretRef and keySecretRef go together: set both for client authentication, or neither",reason=FieldValueRequired
type KafkaTLS struct {
	// caSecretRef is the Secret key holding the CA bundle that signs the
	// brokers' certificates. Unset: the image's system roots.
	// +optional
	CASecretRef *SecretKeySelector `json:"caSecretRef,omitempty"`

	// certSecretRef is the Secret key holding the client certificate.
	// +optional
	CertSecretRef *SecretKeySelector `json:"certSecretRef,omitempty"`

	// keySecretRef is the Secret key holding the client private key.
	// +optional
	KeySecretRef *SecretKeySelector `json:"keySecretRef,omitempty"`
}

// MonitoringSpec configures the alerting and scraping generated for the
// server.
type MonitoringSpec struct {
	// prometheusRule configures the PrometheusRule generated for this server.
	// +optional
	PrometheusRule *PrometheusRuleSpec `json:"prometheusRule,omitempty"`

	// serviceMonitor configures the ServiceMonitor that has
	// prometheus-operator scrape the server's /metrics.
	// +optional
	ServiceMonitor *ServiceMonitorSpec `json:"serviceMonitor,omitempty"`
}

// ServiceMonitorSpec configures the generated ServiceMonitor.
type ServiceMonitorSpec struct {
	// enabled generates the ServiceMonitor. Default true: the alert rules
	// read the server's metrics, and alerts on metrics nobody scrapes never
	// fire. Disable it only when something else scrapes the server.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// labels are added to the ServiceMonitor, for a Prometheus
	// serviceMonitorSelector such as release: kube-prometheus-stack. They
	// never change which Service it selects.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	Labels map[string]string `json:"labels,omitempty"`

	// interval is how often Prometheus scrapes the server, as a Prometheus
	// duration such as 30s or 1m. Unset: the Prometheus global interval.
	// +optional
	// +kubebuilder:validation:MinLength=2
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$') && duration(self) > duration('0s')",message="spec.monitoring.serviceMonitor.interval must be a duration above zero made of h, m, s and ms, such as 30s, 1m or 1m30s",reason=FieldValueInvalid
	Interval string `json:"interval,omitempty"`
}

// PrometheusRuleSpec configures the generated PrometheusRule.
// +kubebuilder:validation:XValidation:rule="!has(self.partitionStaleWarningSeconds) || !has(self.partitionStaleCriticalSeconds) || self.partitionStaleCriticalSeconds > self.partitionStaleWarningSeconds",message="spec.monitoring.prometheusRule.partitionStaleCriticalSeconds must be greater than partitionStaleWarningSeconds",fieldPath=".partitionStaleCriticalSeconds",reason=FieldValueInvalid
type PrometheusRuleSpec struct {
	// enabled generates the PrometheusRule. Default true.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// labels are added to the PrometheusRule, for a Prometheus ruleSelector
	// such as release: kube-prometheus-stack.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	Labels map[string]string `json:"labels,omitempty"`

	// lagOffsetAgeSeconds is the age of the oldest unconsumed message above
	// which the lag alert fires. Default 60.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	LagOffsetAgeSeconds *int32 `json:"lagOffsetAgeSeconds,omitempty"`

	// partitionStaleWarningSeconds is how long a partition may go without
	// messages before a warning fires. Default 300.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	PartitionStaleWarningSeconds *int32 `json:"partitionStaleWarningSeconds,omitempty"`

	// partitionStaleCriticalSeconds is how long a partition may go without
	// messages before a critical alert fires; greater than the warning.
	// Default 900.
	// +optional
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=172800
	PartitionStaleCriticalSeconds *int32 `json:"partitionStaleCriticalSeconds,omitempty"`
}

// PodDisruptionBudgetSpec configures the generated PodDisruptionBudget.
type PodDisruptionBudgetSpec struct {
	// enabled generates the PodDisruptionBudget. Default true. It allows one
	// pod down at a time, so it never blocks draining a node.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// PodTemplateOverrides are pod settings a user may set without weakening
// the server's guarantees.
type PodTemplateOverrides struct {
	// labels are added to the pods; they never enter the selector and
	// cannot replace the operator's own labels.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Labels map[string]string `json:"labels,omitempty"`

	// annotations are added to the pods.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Annotations map[string]string `json:"annotations,omitempty"`

	// serviceAccountName runs the pods under this ServiceAccount.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// imagePullSecrets are used to pull the server image.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// nodeSelector constrains the pods to matching nodes.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations let the pods run on tainted nodes.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity holds the pods' scheduling constraints.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// priorityClassName sets the pods' priority.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	PriorityClassName string `json:"priorityClassName,omitempty"`
}

// DashStreamStatus is the observed state of a DashStream.
type DashStreamStatus struct {
	// observedGeneration is the metadata.generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// backplaneMode is the backplane mode in force.
	// +optional
	BackplaneMode BackplaneMode `json:"backplaneMode,omitempty"`

	// replicas is the number of server pods the Deployment runs.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of server pods that are ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// deploymentName is the name of the server's Deployment.
	// +optional
	DeploymentName string `json:"deploymentName,omitempty"`

	// conditions are Ready, Reconciling and Stalled (read by kstatus, Argo CD
	// and Flux), plus AutoscalerConflict and MonitoringReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DashStream runs one DashFlow WebSocket server that fans a Kafka topic out
// to browser clients, and keeps it from silently serving partial streams.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=dstream,categories=dashflow
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 46",message="metadata.name may be at most 46 characters: the server's Service is named <name>-websocket-server and must fit in 63",reason=FieldValueInvalid
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.status.backplaneMode`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DashStream struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired server.
	// +required
	Spec DashStreamSpec `json:"spec"`

	// status is the observed state, written by the operator.
	// +optional
	Status DashStreamStatus `json:"status,omitempty"`
}

// DashStreamList is a list of DashStreams.
// +kubebuilder:object:root=true
type DashStreamList struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the DashStreams.
	Items []DashStream `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DashStream{}, &DashStreamList{})
}
