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

source scripts/lib/stack.sh
TOOLS="${INDEXER_TOOLS_DIR:-$HOME/.cache/indexer-tools}"
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
stack_build debug -q -p fixtures -p indexer -p query-api
BIN="$STACK_BIN"

# The committed IDL files, read by Anchor's own TypeScript coders (an independent decoder),
# decode every event and instruction the fixture chain puts on chain for the six programs.
echo "== IDL files against @coral-xyz/anchor"
"$BIN/fixture-node" events --preset small --seed 7 --history-events 3000 > "$ARTIFACTS/fixture-events.jsonl"
NODE_PATH="$TOOLS/node_modules" node scripts/idl-anchor-check.cjs fixtures/idl "$ARTIFACTS/fixture-events.jsonl"

stack_init # a temp dir: data and logs, removed on exit
unset JWT_SECRET CONTROL_TOKEN # fresh secrets per run
stack_secrets
export FIXTURE_HISTORY_END_UNIX=$(date +%s) # live slots carry current times (TPS, last 24 hours)
unset RPC_PORT DFPN_PORT PSY_PORT METRICS_PORT API_METRICS_PORT CONTROL_PORT # free ports, always
stack_ports RPC_PORT DFPN_PORT PSY_PORT

echo "== system on loopback (rpc $RPC_PORT, dfpn $DFPN_PORT, psy $PSY_PORT)"
stack_start_node --history-events 3000 --slot-ms 400
stack_start_indexer --telemetry-secs 1
stack_start_api --rate-limit-anonymous 1000000 --rate-limit-authenticated 1000000 \
  --tps-broadcast-secs 1 --reward-processing-secs 2 --job-refresh-secs 2
populated=0
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$DFPN_PORT/health" | grep -q '"worker_count":[1-9]' && { populated=1; break; }
  sleep 0.2
done
[ $populated = 1 ] || { echo "the system never indexed a worker: schemathesis would fuzz an empty system" >&2; tail -n 20 "$STACK_LOGS"/*.log >&2; exit 1; }
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
