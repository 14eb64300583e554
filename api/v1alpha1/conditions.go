package v1alpha1

// Condition types of a DashStream, each followed by its reasons. Ready,
// Reconciling and Stalled follow the kstatus convention, so kubectl wait,
// Argo CD, Flux and kstatus read progress and failure without custom code.
const (
	// ConditionReady is True when the server's Deployment is available with
	// every child applied.
	ConditionReady = "Ready"
	// ReasonAvailable: the Deployment is available at the desired replicas.
	ReasonAvailable = "Available"
	// ReasonDeploymentUnavailable: the Deployment has no available pod yet.
	ReasonDeploymentUnavailable = "DeploymentUnavailable"

	// ConditionReconciling is True while the operator is still converging.
	ConditionReconciling = "Reconciling"
	// ReasonRollingOut: the Deployment's pods are being replaced or started.
	ReasonRollingOut = "RollingOut"
	// ReasonReconciled: nothing is left to converge.
	ReasonReconciled = "Reconciled"
	// ReasonRetrying: writing a child failed in a way that clears on its
	// own (a timeout, a throttled or unavailable API server); it is retried.
	ReasonRetrying = "Retrying"

	// ConditionStalled is True when progress needs someone to act.
	ConditionStalled = "Stalled"
	// ReasonSecretNotFound: a Secret the spec references does not exist.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonSecretKeyNotFound: a referenced Secret lacks the named key.
	ReasonSecretKeyNotFound = "SecretKeyNotFound"
	// ReasonProgressDeadlineExceeded: the rollout passed its deadline.
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ReasonApplyFailed: the API server refused a child object.
	ReasonApplyFailed = "ApplyFailed"
	// ReasonNotStalled: nothing blocks progress.
	ReasonNotStalled = "NotStalled"

	// ConditionAutoscalerConflict is True when a HorizontalPodAutoscaler
	// targets a Deployment whose replicas are pinned.
	ConditionAutoscalerConflict = "AutoscalerConflict"
	// ReasonHPATargetsPinnedDeployment: an HPA targets the pinned Deployment.
	ReasonHPATargetsPinnedDeployment = "HPATargetsPinnedDeployment"
	// ReasonNoConflict: no autoscaler fights the pinned replica count.
	ReasonNoConflict = "NoConflict"

	// ConditionMonitoringReady is True when the PrometheusRule is in place,
	// or when monitoring is disabled.
	ConditionMonitoringReady = "MonitoringReady"
	// ReasonRuleApplied: the PrometheusRule is applied.
	ReasonRuleApplied = "RuleApplied"
	// ReasonMonitoringDisabled: spec.monitoring.prometheusRule.enabled is false.
	ReasonMonitoringDisabled = "MonitoringDisabled"
	// ReasonPrometheusRuleCRDMissing: the PrometheusRule CRD is not installed.
	ReasonPrometheusRuleCRDMissing = "PrometheusRuleCRDMissing"
	// ReasonRuleApplyFailed: the API server refused the PrometheusRule.
	ReasonRuleApplyFailed = "RuleApplyFailed"
	// ReasonRuleInvalid: the rendered rules or their thresholds would not
	// load in Prometheus, so nothing was written; rules already in place
	// stay as they were.
	ReasonRuleInvalid = "RuleInvalid"

	// ConditionServiceMonitorReady is True when the ServiceMonitor that has
	// Prometheus scrape the server is in place, or when it is disabled. It
	// is separate from MonitoringReady, which is about the alert rules.
	ConditionServiceMonitorReady = "ServiceMonitorReady"
	// ReasonServiceMonitorApplied: the ServiceMonitor is applied.
	ReasonServiceMonitorApplied = "ServiceMonitorApplied"
	// ReasonServiceMonitorDisabled: spec.monitoring.serviceMonitor.enabled
	// is false.
	ReasonServiceMonitorDisabled = "ServiceMonitorDisabled"
	// ReasonServiceMonitorCRDMissing: the ServiceMonitor CRD is not installed.
	ReasonServiceMonitorCRDMissing = "ServiceMonitorCRDMissing"
	// ReasonServiceMonitorInvalid: the spec renders a ServiceMonitor
	// Prometheus would reject, so nothing was written.
	ReasonServiceMonitorInvalid = "ServiceMonitorInvalid"
	// ReasonServiceMonitorApplyFailed: the API server refused the
	// ServiceMonitor.
	ReasonServiceMonitorApplyFailed = "ServiceMonitorApplyFailed"
)

// NamespaceLabel is set to "true" by the operator on every namespace that
// holds a DashStream, and removed with the last one. The HPA admission
// webhook, which fails closed, selects namespaces by it, so HPAs in other
// namespaces keep working while the operator is down.
const NamespaceLabel = "streaming.dashflow.io/has-dashstreams"
