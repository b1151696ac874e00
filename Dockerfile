# syntax=docker/dockerfile:1
# The one Aftercare image: the `aftercare` binary (every service, the gateway, migrations),
# run as `aftercare serve <service>` in a cluster. Build it with `make image` (buildah or
# podman or docker), which tags it `aftercare:0.1.0`, the tag the k8s manifests use.
#
#   docker build -t aftercare:0.1.0 .
#   buildah bud --isolation chroot -t aftercare:0.1.0 .

ARG RUST_VERSION=1.95

# --- build: the release binary, nothing else. Protos compile with protox (no protoc), SQLite
# is bundled, TLS is rustls: the Rust image's own C toolchain is all the build needs.
FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY proto ./proto
COPY shared ./shared
COPY services ./services
COPY tests ./tests
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin aftercare \
    && install -D -m 0755 target/release/aftercare /out/aftercare \
    && install -d -m 0700 /out/data

# --- runtime: glibc, libgcc, CA certificates and time zone data, no shell, no package
# manager (distroless, the same Debian release as the builder).
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="aftercare" \
      org.opencontainers.image.description="Aftercare customer-service platform: every service in one binary" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/aftercare /usr/local/bin/aftercare
# The data folder (SQLite files for `aftercare up`, the knowledge search index) is the only
# place the process writes: mount a volume there and run with a read-only root filesystem.
COPY --from=builder --chown=10001:10001 /out/data /var/lib/aftercare
ENV AFTERCARE_DATA_DIR=/var/lib/aftercare
VOLUME ["/var/lib/aftercare"]
WORKDIR /var/lib/aftercare
USER 10001:10001
# gateway, tickets, customers, workforce, feedback, knowledge, Prometheus metrics
EXPOSE 50051 50061 50062 50063 50064 50065 9464
ENTRYPOINT ["aftercare"]
# `aftercare up` binds 127.0.0.1 (one machine); a container names its command: `serve <service>`.
CMD ["--help"]
