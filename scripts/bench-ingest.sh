#!/usr/bin/env bash
# Ingest benchmark: a pre-generated fixture history of EVENTS events (default 1,000,000) served by
# fixture-node on loopback; `indexer backfill --from genesis` into a fresh data dir (wall time,
# peak RSS), then `indexer replay` of the same log (wall time), then disk use. Prints figures;
# BENCHMARKS.md records them with this command.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/indexer-target}"
EVENTS="${EVENTS:-1000000}"
PORT="${PORT:-18999}"
CONCURRENCY="${CONCURRENCY:-32}"
RPC_BATCH="${RPC_BATCH:-16}"
WORK="$(mktemp -d)"
NODE_PID=""
trap 'if [ -n "$NODE_PID" ]; then kill "$NODE_PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

cargo build --release --locked -p fixtures -p indexer
BIN="$CARGO_TARGET_DIR/release"

start=$(date +%s.%N)
"$BIN/fixture-node" serve --bind "127.0.0.1:$PORT" --slot-ms 0 --history-events "$EVENTS" > "$WORK/node.log" 2>&1 &
NODE_PID=$!
until curl -sf -X POST -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' "http://127.0.0.1:$PORT/" >/dev/null; do
  kill -0 $NODE_PID || { cat "$WORK/node.log"; exit 1; }
  sleep 0.5
done
echo "fixture history of $EVENTS events generated in $(echo "$(date +%s.%N) - $start" | bc) s"

common=(--data-dir "$WORK/data" --rpc-url "http://127.0.0.1:$PORT" --ws-url "ws://127.0.0.1:$PORT" --concurrency "$CONCURRENCY" --rpc-batch "$RPC_BATCH")
/usr/bin/time -v "$BIN/indexer" backfill --from genesis "${common[@]}" > "$WORK/backfill.json" 2> "$WORK/backfill.err" || { tail -20 "$WORK/backfill.err"; exit 1; }
backfill_s=$(grep "Elapsed (wall clock)" "$WORK/backfill.err" | awk '{print $NF}')
backfill_rss=$(grep "Maximum resident" "$WORK/backfill.err" | awk '{print $NF}')
events=$(python3 -c "import json;print(json.load(open('$WORK/backfill.json'))['last_seq'])")

/usr/bin/time -v "$BIN/indexer" replay "${common[@]}" > "$WORK/replay.json" 2> "$WORK/replay.err" || { tail -20 "$WORK/replay.err"; exit 1; }
replay_rss=$(grep "Maximum resident" "$WORK/replay.err" | awk '{print $NF}')

to_seconds() { echo "$1" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }
bs=$(to_seconds "$backfill_s")
echo "events in log:            $events"
echo "backfill (log + projections): ${bs} s, $(python3 -c "print(round($events/$bs))") events/s, peak RSS $((backfill_rss/1024)) MiB, indexer CPU user $(grep "User time" "$WORK/backfill.err" | awk '{print $NF}') s sys $(grep "System time" "$WORK/backfill.err" | awk '{print $NF}') s"
echo "fixture-node CPU during its life: $(ps -o times= -p $NODE_PID) s"
echo "replay (log->projections): $(cat "$WORK/replay.json"), peak RSS $((replay_rss/1024)) MiB"
echo "disk: log $(du -sm "$WORK/data/log" | cut -f1) MiB, projections $(du -sm "$WORK/data/projections" | cut -f1) MiB"
