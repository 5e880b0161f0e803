#!/usr/bin/env bash
# The main job, in one command: builds in release mode, starts the fixture node (a realistic,
# seeded DFPN/Psy chain with a pre-produced history and a new slot every 400 ms), waits until it
# is healthy, prints the URLs and ready-to-paste curl lines, then prints every decoded event of
# the live chain as a JSON line, decoded by our log decoder from real logsSubscribe
# notifications. Ctrl-C or SIGTERM stops everything it started.
#
# Environment: RPC_PORT (8899), FIXTURE_SEED (42), FIXTURE_HISTORY_EVENTS (5000),
# FIXTURE_SLOT_MS (400), DEMO_EVENTS (0 = run until stopped; N = stop after N live events).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/indexer-target}"
RPC_PORT="${RPC_PORT:-8899}"
DEMO_EVENTS="${DEMO_EVENTS:-0}"
BIN="$CARGO_TARGET_DIR/release/fixture-node"

echo "building (release) ..."
cargo build --release --locked -p fixtures --bin fixture-node

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$BIN" serve --bind "127.0.0.1:$RPC_PORT" &
pids+=($!)

rpc() { curl -sf -X POST -H 'content-type: application/json' -d "$1" "http://127.0.0.1:$RPC_PORT/"; }
for _ in $(seq 1 300); do
  if rpc '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then echo "fixture-node exited" >&2; exit 1; fi
  sleep 0.2
done
rpc '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' >/dev/null

DFPN=CdVd6SuPjFV3wp62axirvM9qZm54t9qx1LUEjFPxFBGQ
cat <<INFO
ready fixture-node rpc=http://127.0.0.1:$RPC_PORT pubsub=ws://127.0.0.1:$RPC_PORT

Try, in another terminal:
  curl -s -X POST -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"getSlot","params":[{"commitment":"confirmed"}]}' http://127.0.0.1:$RPC_PORT/
  curl -s -X POST -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"getSignaturesForAddress","params":["$DFPN",{"limit":3}]}' http://127.0.0.1:$RPC_PORT/
  curl -s http://127.0.0.1:$RPC_PORT/fixture/ground-truth | head -3
  curl -s http://127.0.0.1:$RPC_PORT/fixture/status

Live decoded events (Ctrl-C stops):
INFO

"$BIN" tail --ws-url "ws://127.0.0.1:$RPC_PORT" --limit "$DEMO_EVENTS" &
pids+=($!)
wait "${pids[1]}"
