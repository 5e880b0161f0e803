#!/usr/bin/env bash
# Query latency benchmark of the DFPN surface: a fixture history of EVENTS events (default
# 200,000) is backfilled into a fresh data dir, query-api serves it with rate limits lifted, and
# wrk (Debian's package) drives each endpoint for DURATION seconds with CONNECTIONS connections
# on loopback. Prints wrk's latency distribution (p50/p99) and requests/s per endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/indexer-target}"
EVENTS="${EVENTS:-200000}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
RPC_PORT="${RPC_PORT:-18998}"
API_PORT="${API_PORT:-18997}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
WORK="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

cargo build --release --locked -p fixtures -p indexer -p query-api
BIN="$CARGO_TARGET_DIR/release"
"$BIN/fixture-node" serve --bind "127.0.0.1:$RPC_PORT" --slot-ms 0 --history-events "$EVENTS" > "$WORK/node.log" 2>&1 &
pids+=($!)
until curl -sf -X POST -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' "http://127.0.0.1:$RPC_PORT/" >/dev/null; do sleep 0.5; done
"$BIN/indexer" backfill --from genesis --data-dir "$WORK/data" --rpc-url "http://127.0.0.1:$RPC_PORT" --ws-url "ws://127.0.0.1:$RPC_PORT" --concurrency 64 > /dev/null 2> "$WORK/backfill.log"
kill "${pids[0]}"
"$BIN/query-api" serve --data-dir "$WORK/data" --dfpn-bind "127.0.0.1:$API_PORT" --rate-limit-anonymous 1000000000 > "$WORK/api.log" 2>&1 &
pids+=($!)
BASE="http://127.0.0.1:$API_PORT"
until curl -sf "$BASE/health" >/dev/null; do sleep 0.2; done
echo "health: $(curl -s "$BASE/health")"
ID=$(curl -s "$BASE/requests?limit=1&offset=500" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
for path in "/requests/$ID" "/workers?status=Active" "/models/search?q=face" "/requests?status=Finalized&modalities=1&limit=100"; do
  echo "== GET $path"
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$BASE$path" | grep -E "Latency|50%|99%|Requests/sec|Non-2xx"
done
