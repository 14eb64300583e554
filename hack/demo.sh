#!/usr/bin/env bash
# Walks through what the operator does, on a local cluster of real control-
# plane binaries with simulated nodes: a DashStream becomes Ready, a manual
# scale to 3 is reverted to 1 with an Event. Then the operator keeps running
# in the foreground until interrupted (DEMO_EXIT=1 ends after the walk-through).
# Everything it started is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KUBECTL=$ROOT/bin/kubectl
KUSTOMIZE=$ROOT/bin/kustomize
DEMO_DIR=$ROOT/bin/demo
NS=${DEMO_NAMESPACE:-dashflow-demo}
export KUBECONFIG=$ROOT/bin/local-cluster/kubeconfig

say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}

manager_pid=
cleanup() {
	local status=$?
	trap - EXIT INT TERM
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

replicas() {
	"$KUBECTL" -n "$NS" get deploy events-websocket-server -o jsonpath='{.spec.replicas}'
}

start_cluster() {
	say "Starting a local cluster: etcd, kube-apiserver, controller-manager, scheduler, kwok nodes"
	"$ROOT/hack/local-cluster.sh" up
	run "$KUBECTL" get nodes
}

install_crds() {
	say "Installing the DashStream CRD, and prometheus-operator's PrometheusRule CRD"
	"$KUSTOMIZE" build "$ROOT/config/crd" | "$KUBECTL" apply --server-side -f -
	"$KUBECTL" apply --server-side -f "$ROOT/bin/crds/monitoring/monitoring.coreos.com_prometheusrules.yaml"
	"$KUBECTL" wait --for=condition=Established --timeout=60s \
		crd/dashstreams.streaming.dashflow.io crd/prometheusrules.monitoring.coreos.com
}

start_manager() {
	say "Starting the operator (log: $DEMO_DIR/manager.log)"
	mkdir -p "$DEMO_DIR"
	"$ROOT/bin/manager" --metrics-bind-address=0 --health-probe-bind-address=127.0.0.1:0 \
		>"$DEMO_DIR/manager.log" 2>&1 &
	manager_pid=$!
}

apply_sample() {
	say "Applying config/samples: a SASL_SSL DashStream and its Secrets"
	"$KUBECTL" create namespace "$NS" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
	run "$KUBECTL" -n "$NS" apply -k "$ROOT/config/samples"
	run "$KUBECTL" -n "$NS" wait dstream/events --for=condition=Ready --timeout=180s
	run "$KUBECTL" -n "$NS" get dstream,deployment,service,poddisruptionbudget,prometheusrule,pods
}

show_revert() {
	say "Scaling the pinned server to 3 by hand, as an overlay or an HPA would"
	run "$KUBECTL" -n "$NS" scale deployment/events-websocket-server --replicas=3
	wait_for "the operator to restore 1 replica" 60 test "$(replicas)" = 1
	run "$KUBECTL" -n "$NS" get deployment events-websocket-server
	wait_for "the ReplicasReverted Event" 30 \
		bash -c "'$KUBECTL' -n '$NS' events --for dstream/events | grep -q ReplicasReverted"
	run "$KUBECTL" -n "$NS" events --for dstream/events
}

start_cluster
install_crds
start_manager
apply_sample
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
