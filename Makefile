# Aftercare: the two commands a new user needs are `make run` and `make test`.

CARGO ?= cargo
BUF_VERSION := 1.75.0
BUF ?= $(shell command -v buf 2>/dev/null || echo "npx --yes @bufbuild/buf@$(BUF_VERSION)")
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: run build test lint fmt fmt-check clippy buf-lint k8s-lint bench migrate clean

## run: build and start every service in one process on embedded SQLite (./data)
run:
	$(CARGO) run --release --bin aftercare -- up

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

## lint: formatting, clippy with warnings as errors, buf lint, Kubernetes manifests
lint: fmt-check clippy buf-lint k8s-lint

fmt-check:
	$(CARGO) fmt --all -- --check

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

buf-lint:
	cd proto && $(BUF) lint && $(BUF) build -o /dev/null

## k8s-lint: build every overlay with kustomize and validate it against the Kubernetes schemas
k8s-lint:
	@command -v kubectl >/dev/null || { echo "k8s-lint: kubectl not installed, skipped"; exit 0; }; \
	command -v kubernetes-validate >/dev/null || pip install -q kubernetes-validate; \
	for overlay in k8s/overlays/*/; do \
		kubectl kustomize "$$overlay" > /tmp/aftercare-k8s.yaml && \
		kubernetes-validate --strict --quiet /tmp/aftercare-k8s.yaml || exit 1; \
		echo "k8s-lint: $$overlay valid"; \
	done

## bench: throughput and latency figures (see each crate's benches/)
bench:
	$(CARGO) bench --workspace

## migrate: run every service's migrations against its configured database
migrate:
	$(CARGO) run --release --bin aftercare -- migrate

clean:
	$(CARGO) clean
	rm -rf data
