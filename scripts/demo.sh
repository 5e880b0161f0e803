#!/usr/bin/env bash
# The main job, in one command: builds in release mode, starts the fixture node (a realistic,
# seeded DFPN/Psy chain with a pre-produced history and a new slot every 400 ms), the indexer
# (gap backfill, live subscriptions, projections) and the query-api (DFPN and Psy surfaces), waits until
# every part is healthy, feeds a second Psy deployment's telemetry over HTTP, prints the URLs and
# ready-to-paste curl lines, then prints the DFPN
# health counts every few seconds as the live chain grows. Ctrl-C or SIGTERM stops everything.
#
# Environment: DATA_DIR (./.demo-data, reused between runs; FRESH=1 wipes it first),
# RPC_PORT (8899), DFPN_PORT (3030), PSY_PORT (3000), METRICS_PORT (9464, indexer),
# API_METRICS_PORT (9465, query-api), CONTROL_PORT (9466, indexer control endpoint), FIXTURE_SEED (42), FIXTURE_HISTORY_EVENTS (5000),
# FIXTURE_SLOT_MS (400), DEMO_SECONDS (0 = run until stopped), JWT_SECRET (admin tokens; a random
# one per data dir by default), CONTROL_TOKEN (indexer control endpoint; random per run). No
# terminal needed.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/stack.sh
DATA_DIR="${DATA_DIR:-$PWD/.demo-data}"
stack_ports RPC_PORT=8899 DFPN_PORT=3030 PSY_PORT=3000 METRICS_PORT=9464 API_METRICS_PORT=9465 CONTROL_PORT=9466
DEMO_SECONDS="${DEMO_SECONDS:-0}"

echo "building (release) ..."
stack_build release
BIN="$STACK_BIN"

if [ "${FRESH:-0}" = 1 ]; then rm -rf "$DATA_DIR"; fi
stack_init "$DATA_DIR"
# The chain's history is placed to end at the first run's start, so that live slots carry
# current times and the "last 24 hours" and TPS figures are meaningful; kept with the data dir so
# a re-run regenerates the very same chain.
if [ ! -s "$DATA_DIR/history-end-unix" ]; then date +%s > "$DATA_DIR/history-end-unix"; fi
export FIXTURE_HISTORY_END_UNIX="${FIXTURE_HISTORY_END_UNIX:-$(cat "$DATA_DIR/history-end-unix")}"
stack_secrets "$DATA_DIR"

stack_start_node
stack_start_indexer
stack_start_api
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$DFPN_PORT/health" | grep -q '"worker_count":[1-9]' && break
  sleep 0.2
done

DFPN="http://127.0.0.1:$DFPN_PORT"
PSY="http://127.0.0.1:$PSY_PORT"
TOKEN="$("$BIN/query-api" token --sub demo)"
# A second Psy deployment feeds its coordinator's and realms' telemetry over HTTP (the real
# `/telemetry/*` routes, JWT-authenticated), beside the chain's Psy program: 20 checkpoints from
# id 1,000,000 on, over the last half hour. A re-run posts the same records: nothing is doubled.
"$BIN/fixture-node" telemetry --checkpoints 20 --start-unix "$(( FIXTURE_HISTORY_END_UNIX - 1800 ))" > "$DATA_DIR/telemetry-posts.jsonl"
python3 - "$PSY" "$TOKEN" "$DATA_DIR/telemetry-posts.jsonl" <<'PY'
import json, sys, urllib.request
base, token, path = sys.argv[1:4]
posts = records = 0
for line in open(path):
    post = json.loads(line)
    request = urllib.request.Request(base + post["route"], data=json.dumps(post["body"]).encode(), method="POST",
                                     headers={"content-type": "application/json", "authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        records += json.load(answer).get("processed_count", 1)
    posts += 1
print(f"telemetry: {posts} posts ({records} records) of a second Psy deployment fed to {base}/telemetry/*")
PY
NOW_RFC3339="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
cat <<INFO
ready fixture-node=http://127.0.0.1:$RPC_PORT indexer=$DATA_DIR dfpn=$DFPN psy=$PSY dashboard=$PSY/dashboard metrics=http://127.0.0.1:$METRICS_PORT/metrics,http://127.0.0.1:$API_METRICS_PORT/metrics

Try, in another terminal:
  curl -s $DFPN/health
  curl -s '$DFPN/requests?status=Finalized&limit=3'
  curl -s '$DFPN/workers?status=Active&min_reputation=5000&limit=5'
  curl -s '$DFPN/models/search?q=face'
  curl -s '$DFPN/requests/search?q=arweave&limit=2'
  curl -s '$PSY/worker_events?limit=3&status=Completed'
  curl -s '$PSY/user_events?limit=3&tx_type=DeployContract'
  curl -s '$PSY/stats/jobs/counts'
  curl -s '$PSY/leaderboard/workers?limit=5'
  curl -s '$PSY/checkpoint/stats?start_checkpoint=1&end_checkpoint=3'
  curl -s '$PSY/checkpoint/stats?start_checkpoint=1000000&end_checkpoint=1000002'
  curl -s '$PSY/worker_events?limit=3&status=COMPLETED&circuit_type=7'
  curl -s -X POST -H 'Authorization: Bearer $TOKEN' -H 'content-type: application/json' -d '{"user_events":[{"user_id":"user_001","public_key":"0x1234567890abcdef1234567890abcdef12345678","tx_type":"REGISTER_USER","timestamp":"$NOW_RFC3339"}]}' $PSY/telemetry/events
  curl -s '$PSY/user_events?user_id=user_001&tx_type=REGISTER_USER'
  curl -s -H 'Authorization: Bearer $TOKEN' $PSY/admin/checkpoint-processing-status
  curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep indexer_events_appended_total
  curl -s http://127.0.0.1:$API_METRICS_PORT/metrics | grep query_api_requests_total
  curl -s -X POST -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"getSlot","params":[{"commitment":"confirmed"}]}' http://127.0.0.1:$RPC_PORT/
Dashboard: $PSY/dashboard
Logs: $DATA_DIR/{fixture-node,indexer,query-api}.log

Live counts (Ctrl-C stops everything):
INFO

started=$(date +%s)
while true; do
  echo "$(date -u +%H:%M:%S) $(curl -sf "$DFPN/health" || echo '{"status":"unreachable"}')"
  if [ "$DEMO_SECONDS" -gt 0 ] && [ $(( $(date +%s) - started )) -ge "$DEMO_SECONDS" ]; then break; fi
  sleep 5
done
