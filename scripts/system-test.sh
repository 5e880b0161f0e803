#!/usr/bin/env bash
# The whole system on the fixture chain, from the debug binaries: fixture node, indexer and
# query-api on free loopback ports; then schemathesis fuzzes both surfaces against their OpenAPI
# documents (no 5xx, no response outside its schema) and a headless Chromium drives the
# dashboard (screenshot in artifacts/dashboard.png). Before, Anchor's TypeScript coders decode the
# fixture chain's events with our IDL files. Installs what it needs (chromium from Debian,
# schemathesis from PyPI, playwright-core and @coral-xyz/anchor from npm) into ~/.cache/indexer-tools.
# Bounded: schemathesis examples per operation (SCHEMATHESIS_EXAMPLES, 25) and a timeout each.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/indexer-target}"
TOOLS="${INDEXER_TOOLS_DIR:-$HOME/.cache/indexer-tools}"
BIN="$CARGO_TARGET_DIR/debug"
ARTIFACTS="${ARTIFACTS_DIR:-$PWD/artifacts}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-25}"
mkdir -p "$TOOLS" "$ARTIFACTS"

echo "== tools"
if ! command -v chromium >/dev/null; then
  (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; })
fi
if [ ! -x "$TOOLS/venv/bin/st" ]; then
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi
if [ ! -d "$TOOLS/node_modules/playwright-core" ]; then
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" playwright-core@1.65.1 >/dev/null 2>&1
fi
if [ ! -d "$TOOLS/node_modules/@coral-xyz/anchor" ]; then
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" @coral-xyz/anchor@0.30.1 >/dev/null 2>&1
fi
cargo build --locked -q -p fixtures -p indexer -p query-api

# The committed IDL files, read by Anchor's own TypeScript coders (an independent decoder),
# decode every event and instruction the fixture chain puts on chain for the six programs.
echo "== IDL files against @coral-xyz/anchor"
"$BIN/fixture-node" events --preset small --seed 7 --history-events 3000 > "$ARTIFACTS/fixture-events.jsonl"
NODE_PATH="$TOOLS/node_modules" node scripts/idl-anchor-check.cjs fixtures/idl "$ARTIFACTS/fixture-events.jsonl"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RPC_PORT=$(free_port); DFPN_PORT=$(free_port); PSY_PORT=$(free_port)
INDEXER_METRICS=$(free_port); API_METRICS=$(free_port); CONTROL_PORT=$(free_port)
DATA="$(mktemp -d)"
export JWT_SECRET="system-test-$(date +%s%N)" CONTROL_TOKEN="control-$(date +%s%N)"
export FIXTURE_HISTORY_END_UNIX=$(date +%s) # live slots carry current times (TPS, last 24 hours)

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

wait_for() { # name url
  for _ in $(seq 1 600); do
    curl -sf "$2" >/dev/null 2>&1 && return 0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "$1: a process exited" >&2; tail -n 20 "$DATA"/*.log >&2; exit 1; }; done
    sleep 0.2
  done
  echo "$1 did not become healthy" >&2; exit 1
}

echo "== system on loopback (rpc $RPC_PORT, dfpn $DFPN_PORT, psy $PSY_PORT)"
"$BIN/fixture-node" serve --bind "127.0.0.1:$RPC_PORT" --history-events 3000 --slot-ms 400 > "$DATA/fixture-node.log" 2>&1 &
pids+=($!)
"$BIN/indexer" run --data-dir "$DATA" --rpc-url "http://127.0.0.1:$RPC_PORT" --ws-url "ws://127.0.0.1:$RPC_PORT" \
  --metrics-bind "127.0.0.1:$INDEXER_METRICS" --control-bind "127.0.0.1:$CONTROL_PORT" --telemetry-secs 1 \
  > "$DATA/indexer.log" 2>&1 &
pids+=($!)
"$BIN/query-api" serve --data-dir "$DATA" --dfpn-bind "127.0.0.1:$DFPN_PORT" --psy-bind "127.0.0.1:$PSY_PORT" \
  --metrics-bind "127.0.0.1:$API_METRICS" --control-url "http://127.0.0.1:$CONTROL_PORT" \
  --rate-limit-anonymous 1000000 --rate-limit-authenticated 1000000 \
  --tps-broadcast-secs 1 --reward-processing-secs 2 --job-refresh-secs 2 > "$DATA/query-api.log" 2>&1 &
pids+=($!)
wait_for query-api "http://127.0.0.1:$PSY_PORT/health"
populated=0
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$DFPN_PORT/health" | grep -q '"worker_count":[1-9]' && { populated=1; break; }
  sleep 0.2
done
[ $populated = 1 ] || { echo "the system never indexed a worker: schemathesis would fuzz an empty system" >&2; tail -n 20 "$DATA"/*.log >&2; exit 1; }
TOKEN="$("$BIN/query-api" token --sub system-test)"

echo "== schemathesis (both surfaces, $EXAMPLES examples per operation)"
fuzz() { # surface port [schemathesis options]
  local surface="$1" port="$2"
  shift 2
  timeout 900 "$TOOLS/venv/bin/st" run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$EXAMPLES" --seed 1 --header "Authorization: Bearer $TOKEN" --no-color "$@"
  echo "schemathesis $surface: passed"
}
fuzz dfpn "$DFPN_PORT"
fuzz psy "$PSY_PORT" --exclude-path /ws/tps # a WebSocket, exercised by the browser test

echo "== dashboard in headless Chromium"
NODE_PATH="$TOOLS/node_modules" node scripts/browser/dashboard-test.cjs "http://127.0.0.1:$PSY_PORT" "$ARTIFACTS/dashboard.png"
