# syntax=docker/dockerfile:1
# One image with the project's three binaries: `indexer`, `query-api` and `fixture-node`
# (docker-compose.yml runs each as its own service). Build: `docker build -t dfpn-psy-indexer .`

# ---- builder: the workspace in release mode, with the committed Cargo.lock ------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src
# Only what the build needs (no .git, no .demo-data, no local target directory).
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY shared shared
COPY indexer indexer
COPY query-api query-api
COPY fixtures fixtures
# The registry and target directories are BuildKit caches, so the binaries are copied out of the
# cache into /out before the step ends.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p indexer -p query-api -p fixtures \
 && mkdir -p /out \
 && cp target/release/indexer target/release/query-api target/release/fixture-node /out/

# ---- runtime ----------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: TLS to a real cluster's RPC; curl: the compose health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
# A non-root user owning the data directory; a new named volume mounted on /data inherits it.
RUN groupadd --system --gid 10001 indexer \
 && useradd --system --uid 10001 --gid indexer --home-dir /data --no-create-home --shell /usr/sbin/nologin indexer \
 && mkdir -p /data \
 && chown indexer:indexer /data
COPY --from=builder /out/indexer /out/query-api /out/fixture-node /usr/local/bin/
ENV INDEXER_DATA_DIR=/data
VOLUME ["/data"]
WORKDIR /data
USER indexer
# Psy 3000, DFPN 3030, indexer metrics 9464, query-api metrics 9465, fixture node 8899
# (every listener binds loopback by default: set the *_BIND variables to 0.0.0.0:<port>).
EXPOSE 3000 3030 8899 9464 9465
CMD ["indexer", "run"]
