package alerts

// guide is the runbook text of one alert in docs/alerts.md.
type guide struct {
	// meaning says what is wrong when the alert fires, in a user's terms.
	meaning string
	// action says what to look at and what to change.
	action string
	// tune names what changes the alert's threshold, if anything does.
	tune string
}

// guides holds the runbook of every alert; a test checks that each rule
// has one.
var guides = map[string]guide{
	"DashStreamKafkaLagHigh": {
		meaning: "On at least one partition the server's consumer offset has not advanced for longer than " +
			"the threshold, and that has lasted 5 minutes. Browser clients receive that partition's events " +
			"late, or not at all.",
		action: "Read the server's logs for Kafka errors and rebalances. Check the pod's CPU " +
			"throttling and memory against its limits (`spec.resources`), and the brokers' health. If " +
			"only an idle partition is affected (no producer writes to it), the offset cannot advance: " +
			"raise the threshold.",
		tune: "`spec.monitoring.prometheusRule.lagOffsetAgeSeconds` (default 60).",
	},
	"DashStreamPartitionStale": {
		meaning: "A partition has delivered no message to the server for longer than the warning " +
			"threshold. Either producers stopped writing to it, or the server no longer owns it: another " +
			"member of the same consumer group took it, and clients of this server see a partial stream.",
		action: "Check the producers. Run " +
			"`kafka-consumer-groups.sh --describe --group <spec.kafka.groupId>` and look for members " +
			"that are not this server's pods: a second server, an old Deployment or a test consumer " +
			"sharing the group. Alertmanager can inhibit this warning while " +
			"DashStreamPartitionStaleCritical fires for the same namespace, service, topic and partition.",
		tune: "`spec.monitoring.prometheusRule.partitionStaleWarningSeconds` (default 300).",
	},
	"DashStreamPartitionStaleCritical": {
		meaning: "As DashStreamPartitionStale, for longer than the critical threshold.",
		action:  "As DashStreamPartitionStale, urgently: clients have been missing this partition's events.",
		tune: "`spec.monitoring.prometheusRule.partitionStaleCriticalSeconds` (default 900); it must " +
			"exceed the warning threshold.",
	},
	"DashStreamInfrastructureErrors": {
		meaning: "The server has kept hitting network or Kafka connection errors for 10 minutes. Messages " +
			"that fail to decode are not counted here.",
		action: "Read the server's logs. Check that the brokers resolve and answer from the pod " +
			"(DNS, NetworkPolicies, `spec.kafka.brokerAddressFamily`), and that the TLS and SASL Secrets " +
			"named in `spec.kafka.security` are current.",
	},
	"DashStreamServerDown": {
		meaning: "Every scraped pod of the server has been down for 2 minutes, or none is scraped at all. " +
			"Clients cannot connect or receive events. From the plain rule file, an alert without " +
			"namespace and service labels means that no server is scraped anywhere.",
		action: "Run `kubectl get pods,events` in the namespace and read the DashStream's status " +
			"conditions. If the pods run, check the scrape configuration: the Service must be scraped " +
			"with `namespace` and `service` target labels.",
	},
	"DashStreamPinnedReplicasExceeded": {
		meaning: "A server whose `spec.backplane.mode` is None, and so pinned to one replica, runs more. " +
			"Its pods share one consumer group, so each client receives only some partitions.",
		action: "Find what scaled it: an HPA, `kubectl scale`, a GitOps overlay (`kubectl get events`, the " +
			"Deployment's `managedFields`). The operator reverts the change within one reconcile; if the " +
			"alert persists, check that the operator and its admission webhooks run. To run several " +
			"replicas, set `spec.backplane.mode` to PerPodConsumerGroup or Broadcast.",
	},
	"DashStreamOperatorDriftCorrections": {
		meaning: "For 30 minutes the operator has had to revert changes to the same field of " +
			"DashStream children, within every 15 minutes. Something (an HPA, an overlay, a GitOps tool, " +
			"a person) keeps changing what the DashStream owns; the `field` label says what.",
		action: "Read the Events on the DashStreams and the children's `managedFields` to find the other " +
			"writer. Stop it, or move the setting into the DashStream spec.",
	},
	"DashStreamOperatorWebhookErrors": {
		meaning: "An admission webhook of the operator has answered with HTTP 500 for 5 minutes; " +
			"the `webhook` label gives its path. The DashStream, Deployment and HPA webhooks fail " +
			"closed, so the requests they guard are refused; the scale webhook fails open, so scales " +
			"slip through until the reconciler reverts them.",
		action: "Read the manager's logs. Check that the manager's cache has synced and that its RBAC " +
			"still lets it read DashStreams and Deployments.",
	},
}
