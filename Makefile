# Image of the manager, for `make deploy`.
IMG ?= controller:latest

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

ROOT := $(shell pwd)
LOCALBIN ?= $(ROOT)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
KUSTOMIZE ?= $(LOCALBIN)/kustomize
KUBECTL ?= $(LOCALBIN)/kubectl
# Test settings: envtest finds the control plane where hack/tools.sh keeps it.
GO_TEST_FLAGS ?= -count=1
E2E_TIMEOUT ?= 40m

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD, RBAC and webhook manifests.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: verify-generated
verify-generated: $(CONTROLLER_GEN) ## Fail when a generated file is out of date.
	hack/verify-generated.sh
	go run ./hack/gen-alerts -check

.PHONY: generate-alerts
generate-alerts: ## Write the plain rule file and docs/{alerts,metrics}.md from internal/alerts.
	go run ./hack/gen-alerts

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: test
test: verify-generated vet test-unit test-e2e ## Run every test: unit, envtest integration and end-to-end.

.PHONY: test-crds
test-crds: $(CONTROLLER_GEN) ## Generate the prometheus-operator CRDs the tests install, from the API types in go.mod.
	$(CONTROLLER_GEN) crd paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 \
		output:crd:dir=$(LOCALBIN)/crds/monitoring

.PHONY: test-unit
test-unit: tools test-crds ## Unit and envtest integration tests (real kube-apiserver and etcd, promtool).
	KUBEBUILDER_ASSETS="$$(hack/tools.sh assets-dir)" PROMTOOL="$(LOCALBIN)/promtool" \
		go test $(GO_TEST_FLAGS) ./api/... ./internal/... ./controllers/... ./hack/image/...

.PHONY: test-e2e
test-e2e: tools test-crds build ## End-to-end tests on a local cluster with simulated nodes, and the deploy manifests.
	go test $(GO_TEST_FLAGS) ./test/localcluster/... ./test/manifests/...
	KUBEBUILDER_ASSETS="$$(hack/tools.sh assets-dir)" go test $(GO_TEST_FLAGS) -timeout $(E2E_TIMEOUT) ./test/e2e/... \
		-v -ginkgo.v

.PHONY: tools
tools: ## Build every tool and control-plane binary that is missing (cached after the first run).
	hack/tools.sh all

##@ Build

.PHONY: build
build: ## Build the manager binary.
	go build -o $(LOCALBIN)/manager .

# The image's architecture; its binary is built static for linux on it.
# (Not GOARCH: make would hand that to `go run` too.)
IMAGE_ARCH ?= $(shell go env GOARCH)
IMAGE_TAR ?= $(LOCALBIN)/dashstream-operator.tar
IMAGE_BINARY = $(LOCALBIN)/manager-linux-$(IMAGE_ARCH)

.PHONY: image-registry
image-registry:
	@if [ "$(IMG)" = controller:latest ]; then \
		echo "Set IMG to an image in your registry, e.g. IMG=registry.example.com/dashstream-operator:v0.1.0" >&2; \
		exit 1; fi

.PHONY: image
image: ## Build the operator image IMG as $(IMAGE_TAR), with no container engine (`docker load -i` it).
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) go build -trimpath -ldflags="-s -w" -o $(IMAGE_BINARY) .
	go run ./hack/image -binary $(IMAGE_BINARY) -arch $(IMAGE_ARCH) -tag $(IMG) -o $(IMAGE_TAR)

.PHONY: image-push
image-push: image-registry image ## Build the image IMG and push it, with the credentials of `docker login`.
	go run ./hack/image -binary $(IMAGE_BINARY) -arch $(IMAGE_ARCH) -tag $(IMG) -o $(IMAGE_TAR) -push

##@ Deployment

.PHONY: install
install: manifests $(KUSTOMIZE) $(KUBECTL) ## Install the CRD into the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: manifests $(KUSTOMIZE) $(KUBECTL) ## Remove the CRD (and with it every DashStream).
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests $(KUSTOMIZE) $(KUBECTL) ## Deploy the operator image IMG to the cluster.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: $(KUSTOMIZE) $(KUBECTL) ## Remove the operator from the cluster.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found -f -

$(CONTROLLER_GEN):
	hack/tools.sh controller-gen

$(KUSTOMIZE):
	hack/tools.sh kustomize

$(KUBECTL):
	hack/tools.sh kube

##@ Performance

.PHONY: bench
bench: tools ## Benchmark the admission handlers, then HPA creates through a real API server with and without the webhooks.
	go test -run '^$$' -bench . -benchmem ./internal/admission/
	KUBEBUILDER_ASSETS="$$(hack/tools.sh assets-dir)" \
		go test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 20m ./test/benchmark/
