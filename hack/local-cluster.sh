#!/usr/bin/env bash
# Runs the local cluster (real etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler; nodes and pods simulated by kwok) in the background.
#
#   hack/local-cluster.sh up       build what is missing, start, wait for Ready nodes
#   hack/local-cluster.sh down     stop it and wait until every process is gone
#   hack/local-cluster.sh status   say whether it runs, and show the nodes
#
# NODES (default 3) and TIMEOUT in seconds (default 300) tune "up". Files live
# in bin/local-cluster: kubeconfig, pid, launcher.log and logs/<component>.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$ROOT/bin/local-cluster
PIDFILE=$DIR/pid
LOG=$DIR/launcher.log
KUBECONFIG_FILE=$DIR/kubeconfig
LAUNCHER=$ROOT/bin/local-cluster-launcher
KUBECTL=$ROOT/bin/kubectl
NODES=${NODES:-3}
TIMEOUT=${TIMEOUT:-300}

log() { printf '==> %s\n' "$*" >&2; }

# launcher_pid prints the pid of a running launcher, or fails.
launcher_pid() {
	local pid
	[[ -s $PIDFILE ]] || return 1
	pid=$(<"$PIDFILE")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a stale file naming a pid some other program now has.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'local-cluster' || return 1
	echo "$pid"
}

# ready_nodes counts the fake nodes whose STATUS is exactly Ready.
ready_nodes() {
	[[ -s $KUBECONFIG_FILE ]] || { echo 0; return; }
	"$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" --request-timeout=5s get nodes -l type=kwok --no-headers \
		2>/dev/null | awk '$2 == "Ready" {n++} END {print n + 0}'
}

# leftovers prints the pids of cluster components whose command line names
# $DIR: what a launcher killed with SIGKILL leaves behind.
leftovers() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case ${exe##*/} in
		etcd | kube-apiserver | kube-controller-manager | kube-scheduler | kwok) ;;
		*) continue ;;
		esac
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$DIR/" && echo "${p#/proc/}"
	done
	return 0
}

# fail_up reports why "up" failed, with the launcher log tail, and stops it.
fail_up() {
	log "$1"
	log "last lines of $LOG:"
	tail -n 40 "$LOG" >&2 || true
	log "component logs: $DIR/logs/"
	down >/dev/null 2>&1 || true
	exit 1
}

up() {
	if launcher_pid >/dev/null; then
		log "local cluster already running (pid $(launcher_pid))"
		echo "export KUBECONFIG=$KUBECONFIG_FILE"
		return 0
	fi
	stop_leftovers

	"$ROOT/hack/tools.sh" control-plane kwok
	log "building the launcher"
	(cd "$ROOT" && go build -o "$LAUNCHER" ./hack/local-cluster)

	mkdir -p "$DIR"
	rm -f "$KUBECONFIG_FILE"
	log "starting a $NODES-node local cluster (log: $LOG)"
	(cd "$ROOT" && exec nohup "$LAUNCHER" up -nodes "$NODES" -dir "$DIR" >"$LOG" 2>&1 </dev/null) &
	local pid=$! start=$SECONDS
	trap 'fail_up "interrupted; stopping the launcher"' INT TERM

	until [[ $(ready_nodes) -ge $NODES ]]; do
		kill -0 "$pid" 2>/dev/null || fail_up "the launcher exited before the cluster was ready"
		((SECONDS - start < TIMEOUT)) || fail_up "timed out after ${TIMEOUT}s (TIMEOUT) waiting for $NODES Ready nodes; stopping the launcher"
		sleep 1
	done

	trap - INT TERM
	log "local cluster up in $((SECONDS - start))s with $NODES Ready nodes"
	echo "export KUBECONFIG=$KUBECONFIG_FILE"
}

down() {
	local pid
	if ! pid=$(launcher_pid); then
		rm -f "$PIDFILE"
		stop_leftovers
		log "local cluster not running"
		return 0
	fi

	log "stopping the local cluster (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	# The launcher stops kwok, the scheduler and the controller-manager, then
	# the API server and etcd, each given some seconds: well under a minute.
	local i
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "launcher still running after 60s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi

	stop_leftovers
	rm -f "$PIDFILE"
	log "local cluster stopped"
}

# stop_leftovers ends, each by its pid, processes of a cluster whose launcher
# died without stopping them.
stop_leftovers() {
	local pids
	pids=$(leftovers)
	[[ -n $pids ]] || return 0
	log "stopping leftover cluster processes: $(echo $pids)"
	# shellcheck disable=SC2086 # one pid per word
	kill -TERM $pids 2>/dev/null || true
	sleep 3
	pids=$(leftovers)
	# shellcheck disable=SC2086
	[[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
}

status() {
	local pid
	if ! pid=$(launcher_pid); then
		echo "local cluster: not running"
		return 3
	fi

	echo "local cluster: running (pid $pid)"
	echo "export KUBECONFIG=$KUBECONFIG_FILE"
	"$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" get nodes
}

case ${1:-} in
up | down | status) "$1" ;;
*)
	echo "usage: $0 up|down|status" >&2
	exit 2
	;;
esac
