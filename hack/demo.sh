#!/usr/bin/env bash
# Walks through what the operator does, on a local cluster of real control-
# plane binaries with simulated nodes: a DashStream becomes Ready; an HPA and
# a kubectl scale aimed at its pinned server are denied at admission; a scale
# to 3 made while the operator is down is reverted to 1 with an Event. Then
# the operator keeps running in the foreground until interrupted (DEMO_EXIT=1
# ends after the walk-through). Everything it started is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KUBECTL=$ROOT/bin/kubectl
LAUNCHER=$ROOT/bin/local-cluster-launcher
DEMO_DIR=$ROOT/bin/demo
NS=${DEMO_NAMESPACE:-dashflow-demo}
export KUBECONFIG=$ROOT/bin/local-cluster/kubeconfig

say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}

manager_pid=
tail_pid=
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	[[ -z $tail_pid ]] || kill "$tail_pid" 2>/dev/null || true
	if [[ -n $manager_pid ]] && kill -0 "$manager_pid" 2>/dev/null; then
		kill -TERM "$manager_pid" 2>/dev/null || true
		wait "$manager_pid" 2>/dev/null || true
	fi
	"$ROOT/hack/local-cluster.sh" down || true
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for DESCRIPTION SECONDS COMMAND... retries COMMAND until it succeeds.
wait_for() {
	local what=$1 limit=$2 start=$SECONDS
	shift 2
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS - start > limit)); then
			echo "timed out after ${limit}s waiting for $what" >&2
			return 1
		fi
		sleep 1
	done
}

# replicas_are N succeeds when the server's Deployment asks for N replicas.
replicas_are() {
	[[ $("$KUBECTL" -n "$NS" get deploy events-websocket-server -o jsonpath='{.spec.replicas}') == "$1" ]]
}

start_cluster() {
	say "Starting a local cluster: etcd, kube-apiserver, controller-manager, scheduler, kwok nodes"
	"$ROOT/hack/local-cluster.sh" up
	run "$KUBECTL" get nodes
}

install_monitoring_crds() {
	say "Installing prometheus-operator's PrometheusRule and ServiceMonitor CRDs"
	local crd
	for crd in prometheusrules servicemonitors; do
		"$KUBECTL" apply --server-side -f "$ROOT/bin/crds/monitoring/monitoring.coreos.com_$crd.yaml" >/dev/null
	done
	"$KUBECTL" wait --for=condition=Established --timeout=60s \
		crd/prometheusrules.monitoring.coreos.com crd/servicemonitors.monitoring.coreos.com
}

# start_manager installs config/default (CRD, RBAC, webhooks) and runs
# bin/manager on this machine under the operator's service account, with
# its webhooks served on localhost, and waits until it is ready.
start_manager() {
	say "Starting the operator, webhooks included (log: $DEMO_DIR/manager.log)"
	mkdir -p "$DEMO_DIR"
	(cd "$ROOT" && exec "$LAUNCHER" operator -kubeconfig "$KUBECONFIG" -dir "$DEMO_DIR") \
		>"$DEMO_DIR/manager.log" 2>&1 &
	manager_pid=$!
	wait_for "the operator to be ready" 120 grep -q "operator ready" "$DEMO_DIR/manager.log"
}

stop_manager() {
	kill -TERM "$manager_pid" 2>/dev/null || true
	wait "$manager_pid" 2>/dev/null || true
	manager_pid=
}

apply_sample() {
	say "Applying config/samples: a SASL_SSL DashStream and its Secrets"
	"$KUBECTL" create namespace "$NS" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
	run "$KUBECTL" -n "$NS" apply -k "$ROOT/config/samples"
	run "$KUBECTL" -n "$NS" wait dstream/events --for=condition=Ready --timeout=180s
	run "$KUBECTL" -n "$NS" get dstream,deployment,service,poddisruptionbudget,prometheusrule,pods
}

# denied runs a command that the operator's webhooks must refuse, and
# shows the refusal.
denied() {
	printf '$ %s\n' "$*"
	if "$@"; then
		echo "expected a denial" >&2
		return 1
	fi
}

show_denials() {
	say "Trying to autoscale the pinned server: the API server refuses the HPA"
	cat >"$DEMO_DIR/hpa.yaml" <<'YAML'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: events-load
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: events-websocket-server}
  minReplicas: 1
  maxReplicas: 5
YAML
	denied "$KUBECTL" -n "$NS" apply -f "$DEMO_DIR/hpa.yaml"
	say "Trying kubectl scale: refused too, with the reason and what to do instead"
	denied "$KUBECTL" -n "$NS" scale deployment/events-websocket-server --replicas=3
}

show_revert() {
	say "With the operator down, its scale webhook fails open, so a scale to 3 goes through"
	stop_manager
	run "$KUBECTL" -n "$NS" scale deployment/events-websocket-server --replicas=3
	run "$KUBECTL" -n "$NS" get deployment events-websocket-server
	say "The operator comes back and restores 1 replica, saying why"
	start_manager
	wait_for "the operator to restore 1 replica" 60 replicas_are 1
	run "$KUBECTL" -n "$NS" get deployment events-websocket-server
	wait_for "the ReplicasReverted Event" 30 \
		bash -c "'$KUBECTL' -n '$NS' events --for dstream/events | grep -q ReplicasReverted"
	run "$KUBECTL" -n "$NS" events --for dstream/events
}

start_cluster
install_monitoring_crds
start_manager
apply_sample
show_denials
show_revert

if [[ ${DEMO_EXIT:-0} == 1 ]]; then
	say "Done (DEMO_EXIT=1); stopping everything"
	exit 0
fi

say "The operator keeps running; in another shell:"
echo "  export KUBECONFIG=$KUBECONFIG"
echo "  $KUBECTL -n $NS get dstream events -o yaml"
echo "Press Ctrl-C to stop the operator and the cluster. Operator log follows."
tail -n +1 -f "$DEMO_DIR/manager.log" &
tail_pid=$!
wait "$manager_pid" || true
kill "$tail_pid" 2>/dev/null || true
