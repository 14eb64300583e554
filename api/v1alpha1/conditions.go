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
)
