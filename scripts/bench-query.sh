#!/usr/bin/env bash
# Query latency benchmark of the DFPN surface: a fixture history of EVENTS events (default
# 200,000) is backfilled into a fresh data dir, query-api serves it with rate limits lifted, and
# wrk (Debian's package) drives each endpoint for DURATION seconds with CONNECTIONS connections
# on loopback. Prints wrk's latency distribution (p50/p99) and requests/s per endpoint.
# Environment: EVENTS, DURATION (10), CONNECTIONS (32), RPC_PORT (18998), API_PORT (18997, DFPN).
set -euo pipefail
cd "$(dirname "$0")/.."
STACK_WAIT_SECS="${STACK_WAIT_SECS:-3600}" # a large history takes a while to generate
source scripts/lib/stack.sh
EVENTS="${EVENTS:-200000}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
stack_ports RPC_PORT=18998
DFPN_PORT="${API_PORT:-18997}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

stack_build release
stack_init
STACK_DATA="$STACK_WORK/data"
stack_start_node --slot-ms 0 --history-events "$EVENTS"
stack_argv backfill --concurrency 64
"${STACK_ARGV[@]}" > /dev/null 2> "$STACK_WORK/backfill.log"
stack_stop fixture-node || true
stack_start_api --rate-limit-anonymous 1000000000
BASE="http://127.0.0.1:$DFPN_PORT"
echo "health: $(curl -s "$BASE/health")"
ID=$(curl -s "$BASE/requests?limit=1&offset=500" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
for path in "/requests/$ID" "/workers?status=Active" "/models/search?q=face" "/requests?status=Finalized&modalities=1&limit=100"; do
  echo "== GET $path"
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$BASE$path" | grep -E "Latency|50%|99%|Requests/sec|Non-2xx"
done
