#!/usr/bin/env bash
# Fails when a generated file (deepcopy, CRD, RBAC, webhooks) differs from what
# `make manifests generate` would write now. It regenerates into a scratch
# copy of the sources, so it works on a dirty work tree and changes nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONTROLLER_GEN=${CONTROLLER_GEN:-$ROOT/bin/controller-gen}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cd "$ROOT"
# Everything the generators read, and the generated files themselves.
tar -c --exclude=./bin --exclude=./.git --exclude=./hack/tools . | tar -x -C "$scratch"

(
	cd "$scratch"
	"$CONTROLLER_GEN" object:headerFile=hack/boilerplate.go.txt paths=./...
	"$CONTROLLER_GEN" rbac:roleName=manager-role crd webhook paths=./... output:crd:artifacts:config=config/crd/bases
)

status=0
for path in api config/crd config/rbac config/webhook; do
	if ! diff -ru "$ROOT/$path" "$scratch/$path"; then
		status=1
	fi
done
if ((status)); then
	echo "Generated files are out of date: run 'make manifests generate' and commit the result." >&2
fi
exit "$status"
