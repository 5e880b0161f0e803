#!/usr/bin/env bash
# Query latency benchmark of the Psy surface over a proving-heavy fixture history (EVENTS events,
# default 1,350,000, of which ≈ 1M are worker events): backfilled into a fresh data dir, served by
# query-api with rate limits lifted and its clock set just after the history, then wrk (Debian's
# package) drives each endpoint for DURATION seconds with CONNECTIONS connections on loopback.
# Prints the worker event count, wrk's latency distribution (p50/p99) and requests/s.
# KEEP_DATA=dir keeps the indexed data dir there, and reuses it when it already exists.
# Environment: EVENTS, DURATION (10), CONNECTIONS (32), RPC_PORT (18996), PSY_PORT (18995),
# DFPN_PORT (18994), KEEP_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK_WAIT_SECS="${STACK_WAIT_SECS:-3600}" # a large history takes a while to generate
source scripts/lib/stack.sh
EVENTS="${EVENTS:-1350000}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
stack_ports RPC_PORT=18996 PSY_PORT=18995 DFPN_PORT=18994
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

stack_build release
stack_init
WORK="$STACK_WORK"
STACK_DATA="${KEEP_DATA:-$WORK/data}"
if [ ! -d "$STACK_DATA/log" ]; then
  stack_start_node --slot-ms 0 --preset proving --history-events "$EVENTS"
  started=$(date +%s)
  stack_argv backfill --concurrency 64
  "${STACK_ARGV[@]}" > /dev/null 2> "$WORK/backfill.log"
  echo "backfill: $(( $(date +%s) - started )) s"
  stack_stop fixture-node || true
fi

# A fresh query-api with its clock at CLOCK (unix seconds; 0: the real clock), replacing the
# running one.
serve() { # clock
  [ -z "${STACK_PID[query-api]:-}" ] || stack_stop query-api || true
  stack_start_api --rate-limit-anonymous 1000000000 --now "$1"
}
BASE="http://127.0.0.1:$PSY_PORT"
serve 0
NEWEST=$(curl -s "$BASE/worker_events?limit=1" | python3 -c 'import json,sys,datetime; e=json.load(sys.stdin)[0]; print(int(datetime.datetime.fromisoformat(e["start_time"].replace("Z","+00:00")).timestamp()))')
serve $(( NEWEST + 600 ))
echo "worker events: $(curl -s "$BASE/worker_events_aggregations?bucket=all_time" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["total_events"])')"
echo "jobs: $(curl -s "$BASE/stats/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_jobs"])')"
sleep 11 # the first job status refresh has run
# A checkpoint in the middle of the history (its leaf and its jobs), for the checkpoint reads.
MID=$(curl -s "$BASE/checkpoint/stats" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c[len(c)//2]["checkpoint_id"] if c else 0)')
echo "checkpoints: $(curl -s "$BASE/checkpoint/stats" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'), reading checkpoint $MID"
for path in "/worker_events?limit=300" "/worker_events?status=COMPLETED&circuit_type=7&limit=300" "/leaderboard/workers" \
  "/worker_events_aggregations?bucket=1h" "/stats/jobs" "/checkpoint/stats?start_checkpoint=$MID&end_checkpoint=$(( MID + 9 ))" \
  "/checkpoint/job-events/$MID" "/checkpoint/summary/$MID"; do
  echo "== GET $path"
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$BASE$path" | grep -E "Latency|50%|99%|Requests/sec|Non-2xx"
done
# The aggregation answers are cached per index generation; these runs miss the cache on every
# request (a random `limit` makes each request a new question), measuring the computation. A
# fresh service for them: the runs above leave nearly a million requests in its counters.
serve $(( NEWEST + 600 ))
for bucket in 1h all_time; do
  echo "== GET /worker_events_aggregations?bucket=$bucket&limit=<random> (uncached)"
  cat > "$WORK/random-limit.lua" <<LUA
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/worker_events_aggregations?bucket=$bucket&limit=" .. math.random(1, 1000))
end
LUA
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/random-limit.lua" "$BASE" | grep -E "Latency|50%|99%|Requests/sec|Non-2xx"
done
