#!/usr/bin/env bash
# Runs every test of the project: formatting, clippy, then the whole workspace's unit, property and
# integration tests (fixture node on ephemeral loopback ports). This is the README's test command
# and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/indexer-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# A real NATS JetStream server for the indexer's stream tests (indexer/tests/nats.rs start it on
# loopback ports): Debian's nats-server, installed once, only when missing.
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
    echo "== installing nats-server (apt-get)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server) >/dev/null
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (workspace, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test (workspace)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"

# The totals over every test binary (cargo prints one line per binary, the last of which is
# often a crate's empty doc-test run), printed again as the closing line.
totals="$(awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
     END { printf "tests: %d passed, %d failed, %d skipped", passed, failed, ignored }' "$log")"
echo "$totals"

# docker-compose.yml against the real binaries' flags (no compose plugin or engine here).
echo "== docker-compose.yml and Dockerfile against the binaries"
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
python3 scripts/check-compose.py --indexer "$CARGO_TARGET_DIR/debug/indexer" \
  --query-api "$CARGO_TARGET_DIR/debug/query-api" --fixture-node "$CARGO_TARGET_DIR/debug/fixture-node"

# query-api under abusive clients (issue 15): memory, connections and answer codes before/after.
echo "== abuse test (scripts/abuse-test.py)"
python3 scripts/abuse-test.py --bin "$CARGO_TARGET_DIR/debug"

# The running system: schemathesis on both surfaces, the dashboard in headless Chromium.
echo "== system test (schemathesis, browser)"
bash scripts/system-test.sh

# The README's first command: the demo comes up, its printed curls answer, SIGTERM stops it.
echo "== demo (scripts/demo.sh, release build)"
bash scripts/demo-test.sh

# Agave's own validator with our sBPF event emitter: live, restart, backfill, both query surfaces
# (SKIP_REAL_VALIDATOR=1 skips it for quick local runs; CI runs it).
echo "== real-validator end to end (scripts/real-validator-e2e.sh)"
e2e="$(mktemp)"
trap 'rm -f "$log" "$e2e"' EXIT
bash scripts/real-validator-e2e.sh | tee "$e2e"
passed="compose check, abuse test, schemathesis (dfpn, psy), dashboard browser test, demo test"
if grep -q '^real-validator e2e passed' "$e2e"; then
    echo "$totals; $passed and real-validator e2e passed"
else
    echo "$totals; $passed passed; real-validator e2e skipped (SKIP_REAL_VALIDATOR=1)"
fi
