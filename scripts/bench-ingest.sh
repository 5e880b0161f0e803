#!/usr/bin/env bash
# Ingest benchmark: a pre-generated fixture history of EVENTS events (default 1,000,000) served by
# fixture-node on loopback; `indexer backfill --from genesis` into a fresh data dir (wall time,
# peak RSS), then `indexer replay` of the same log (wall time), then disk use. Prints figures;
# BENCHMARKS.md records them with this command. Environment: EVENTS, PORT (18999, the node's),
# CONCURRENCY (32), RPC_BATCH (16).
set -euo pipefail
cd "$(dirname "$0")/.."
STACK_WAIT_SECS="${STACK_WAIT_SECS:-3600}" # a large history takes a while to generate
source scripts/lib/stack.sh
EVENTS="${EVENTS:-1000000}"
RPC_PORT="${PORT:-18999}"
CONCURRENCY="${CONCURRENCY:-32}"
RPC_BATCH="${RPC_BATCH:-16}"

stack_build release -p fixtures -p indexer
stack_init
WORK="$STACK_WORK"
STACK_DATA="$WORK/data"

start=$(date +%s.%N)
stack_start_node --slot-ms 0 --history-events "$EVENTS"
echo "fixture history of $EVENTS events generated in $(echo "$(date +%s.%N) - $start" | bc) s"

tuning=(--concurrency "$CONCURRENCY" --rpc-batch "$RPC_BATCH")
stack_argv backfill "${tuning[@]}"
/usr/bin/time -v "${STACK_ARGV[@]}" > "$WORK/backfill.json" 2> "$WORK/backfill.err" || { tail -20 "$WORK/backfill.err"; exit 1; }
backfill_s=$(grep "Elapsed (wall clock)" "$WORK/backfill.err" | awk '{print $NF}')
backfill_rss=$(grep "Maximum resident" "$WORK/backfill.err" | awk '{print $NF}')
events=$(python3 -c "import json;print(json.load(open('$WORK/backfill.json'))['last_seq'])")

stack_argv replay "${tuning[@]}"
/usr/bin/time -v "${STACK_ARGV[@]}" > "$WORK/replay.json" 2> "$WORK/replay.err" || { tail -20 "$WORK/replay.err"; exit 1; }
replay_rss=$(grep "Maximum resident" "$WORK/replay.err" | awk '{print $NF}')

to_seconds() { echo "$1" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }
bs=$(to_seconds "$backfill_s")
echo "events in log:            $events"
echo "backfill (log + projections): ${bs} s, $(python3 -c "print(round($events/$bs))") events/s, peak RSS $((backfill_rss/1024)) MiB, indexer CPU user $(grep "User time" "$WORK/backfill.err" | awk '{print $NF}') s sys $(grep "System time" "$WORK/backfill.err" | awk '{print $NF}') s"
echo "fixture-node CPU during its life: $(ps -o times= -p "${STACK_PID[fixture-node]}") s"
echo "replay (log->projections): $(cat "$WORK/replay.json"), peak RSS $((replay_rss/1024)) MiB"
echo "disk: log $(du -sm "$WORK/data/log" | cut -f1) MiB, projections $(du -sm "$WORK/data/projections" | cut -f1) MiB"
