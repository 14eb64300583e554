#!/usr/bin/env bash
# Builds, from the Go module proxy alone, every binary the project needs and
# caches each under a versioned folder, so a second run (even from a fresh
# clone) finds them in seconds. Prints nothing but progress on stderr.
#
#   hack/tools.sh all            build everything that is missing
#   hack/tools.sh <name>...      build the named tools
#   hack/tools.sh assets-dir     print the control-plane folder (for envtest)
#
# Control-plane binaries live where setup-envtest keeps them, so envtest and
# the local cluster share one copy. Links to everything are made under bin/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KUBE_VERSION=1.37.2
CONTROLLER_TOOLS_VERSION=v0.23.0
KUSTOMIZE_VERSION=v5.8.1
PROMETHEUS_VERSION=v0.316.0

DATA=${XDG_DATA_HOME:-$HOME/.local/share}
ASSETS=${DASHSTREAM_ASSETS:-$DATA/kubebuilder-envtest/k8s/$KUBE_VERSION-$(go env GOOS)-$(go env GOARCH)}
TOOLS=${DASHSTREAM_TOOLS:-$DATA/dashstream-operator/tools}
BIN=$ROOT/bin

log() { printf '==> %s\n' "$*" >&2; }

# link NAME TARGET makes bin/NAME point at a cached binary.
link() {
	mkdir -p "$BIN"
	ln -sfn "$2" "$BIN/$1"
}

# cached DIR NAME... succeeds when every named binary already exists.
cached() {
	local dir=$1 name
	shift
	for name in "$@"; do
		[[ -x $dir/$name ]] || return 1
	done
}

# build_in MODULE_DIR OUT_DIR PACKAGE... compiles packages of a tools module.
build_in() {
	local mod=$1 out=$2
	shift 2
	mkdir -p "$out"
	(cd "$ROOT/hack/tools/$mod" && go build -trimpath -ldflags=-s -o "$out/" "$@")
}

# install_at NAME PACKAGE@VERSION installs a command with go install.
install_at() {
	local name=$1 pkg=$2 dir=$TOOLS/$1-${2##*@}
	if ! cached "$dir" "$name"; then
		log "building $name ${pkg##*@} (first run only)"
		GOBIN=$dir go install -trimpath -ldflags=-s "$pkg"
	fi
	link "$name" "$dir/$name"
}

build_kube() {
	local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
	if ! cached "$ASSETS" "${cmds[@]}"; then
		log "building Kubernetes v$KUBE_VERSION control plane (first run: about 10 minutes on 2 cores)"
		build_in kube "$ASSETS" "${cmds[@]/#/k8s.io/kubernetes/cmd/}"
	fi
	local c
	for c in "${cmds[@]}"; do link "$c" "$ASSETS/$c"; done
}

build_etcd() {
	if ! cached "$ASSETS" etcd; then
		log "building etcd (first run: about 2 minutes)"
		build_in etcd "$ASSETS" .
	fi
	link etcd "$ASSETS/etcd"
}

build_kwok() {
	local version dir stages
	version=$(cd "$ROOT/hack/tools/kwok" && go list -m -f '{{.Version}}' sigs.k8s.io/kwok)
	dir=$TOOLS/kwok-$version
	if ! cached "$dir" kwok || [[ ! -s $dir/stages.yaml ]]; then
		log "building kwok $version (first run: about 2 minutes)"
		build_in kwok "$dir" sigs.k8s.io/kwok/cmd/kwok
		stages=$(cd "$ROOT/hack/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
		# kwok wants every stage in one file of documents separated by ---.
		local f first=1
		for f in "$stages"/node/fast/*.yaml "$stages"/node/heartbeat/*.yaml "$stages"/pod/fast/*.yaml; do
			[[ $(basename "$f") == kustomization.yaml ]] && continue
			((first)) || echo '---'
			first=0
			cat "$f"
		done >"$dir/stages.yaml.tmp"
		mv "$dir/stages.yaml.tmp" "$dir/stages.yaml"
	fi
	link kwok "$dir/kwok"
	link kwok-stages.yaml "$dir/stages.yaml"
}

tool() {
	case $1 in
	kube) build_kube ;;
	etcd) build_etcd ;;
	kwok) build_kwok ;;
	controller-gen) install_at controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION ;;
	kustomize) install_at kustomize sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION ;;
	promtool) install_at promtool github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION ;;
	control-plane) build_kube && build_etcd ;;
	all) for t in controller-gen kustomize control-plane kwok promtool; do tool "$t"; done ;;
	assets-dir) echo "$ASSETS" ;;
	*)
		echo "unknown tool: $1 (want kube, etcd, kwok, controller-gen, kustomize, promtool, control-plane, all, assets-dir)" >&2
		return 2
		;;
	esac
}

[[ $# -gt 0 ]] || set -- all
for t in "$@"; do tool "$t"; done
