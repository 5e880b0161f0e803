#!/usr/bin/env bash
# End to end against a real Solana validator (issue 7): Agave's solana-test-validator 3.1.12, in
# process in `validator-harness serve`, with our sBPF event emitter (fixtures/programs) deployed at
# the six program ids (the five DFPN programs and Psy). It sends a fixture history as real
# transactions (every event kind of every program, and the DFPN instructions the indexer reads
# from the message, each under an `Instruction: <Name>` log line; every k-th transaction failing
# after it logged its entries; every E2E_V0_EVERY-th a version-0 transaction whose instruction
# accounts come from address lookup tables the sender creates first), runs `indexer run` and
# `query-api serve` against the validator, restarts the indexer once mid-stream (stopped once it
# logged E2E_RESTART_AT entries while the sender still runs, the sender paused while it stops,
# started again once a transaction was confirmed while it was down; asserted after: 0 < entries
# logged before < all, the sender sent after the stop), waits until the projections committed
# everything logged, and checks:
#   - the log holds every entry of every successful transaction exactly once, with its slot,
#     block position and block time, and nothing of the failed or dropped ones (`indexer export`
#     against the sender's record);
#   - v0 transactions went out and were logged: the validator answers `getTransaction` for every
#     successful one with version 0 and the loaded addresses the sender compiled (writable and
#     read-only), its instruction entries resolve as sent over static then loaded keys, and the
#     log holds all its entries (`check.py v0`; skipped with E2E_V0_EVERY=0);
#   - every answer of the query service equals the test-support truth models' answers over the
#     sent history (its `truth` binary: independent of the code under test), every
#     field, lists whole (paged) in their documented order: the DFPN lists, every request, worker
#     and model by id, /health; the Psy contracts (list and each by uuid), worker and user events
#     (ids and order from the log seqs of the export), job counts and realm statistics; entities
#     created only by failed transactions are 404 (`check.py api`);
#   - `indexer backfill --from genesis` into a fresh data dir reaches the same log content, and a
#     query service over it passes the same `check.py api` against the truth (not against the
#     live service).
# It prints the entries/s the indexer sustained live and exits non-zero on any mismatch.
#
# Builds what it needs: Debian's clang/libclang-dev (RocksDB), the `sbpf` assembler, the emitter,
# the harness (its own workspace in validator/, debug, target dir outside the clone, reused) and
# the main workspace's debug binaries. The first, uncached harness build takes about 20 minutes on
# 2 cores (several GB of target dir); later runs take a few minutes.
#
# Environment: SKIP_REAL_VALIDATOR=1 skips it (exit 0); E2E_EVENTS (3000) ground-truth entries to
# send; E2E_RATE (400) target entries/s; E2E_EVENTS_PER_TX (0: no limit but the 1,232-byte size)
# most entries in one transaction; E2E_FAIL_EVERY (10); E2E_V0_EVERY (3: every third transaction
# as v0 with lookup tables, 0: all legacy); E2E_SEED (11) of the fixture history;
# E2E_RESTART_AT (E2E_EVENTS/10) entries logged before the restart; E2E_TIMEOUT_SECS (900) bound of the run
# after the builds; E2E_DIR (a temp dir, kept on failure) for the data dirs and logs;
# VALIDATOR_TARGET_DIR (~/.cache/validator-target); CARGO_TARGET_DIR (~/.cache/indexer-target) for
# the main workspace; BUILD_NICE (0) niceness of the builds.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

if [[ "${SKIP_REAL_VALIDATOR:-0}" == "1" ]]; then
    echo "real-validator e2e: skipped (SKIP_REAL_VALIDATOR=1)"
    exit 0
fi

events_n="${E2E_EVENTS:-3000}"
rate="${E2E_RATE:-400}"
per_tx="${E2E_EVENTS_PER_TX:-0}"
fail_every="${E2E_FAIL_EVERY:-10}"
v0_every="${E2E_V0_EVERY:-3}"
timeout_secs="${E2E_TIMEOUT_SECS:-900}"
seed="${E2E_SEED:-11}"
nice_n="${BUILD_NICE:-0}"
source scripts/lib/stack.sh
validator_target="${VALIDATOR_TARGET_DIR:-$HOME/.cache/validator-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
script_start=$(date +%s)

log() { echo "[e2e $(( $(date +%s) - script_start ))s] $*"; }
die() { echo "real-validator e2e FAILED: $*" >&2; exit 1; }

# --- builds -----------------------------------------------------------------------------------
if ! dpkg -s clang libclang-dev >/dev/null 2>&1 || ! command -v jq >/dev/null 2>&1; then
    log "installing clang and libclang-dev (RocksDB's build needs them) and jq (this script reads JSON with it)"
    if [[ "$(id -u)" == 0 ]]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-dev jq >/dev/null
    else
        die "clang, libclang-dev or jq is missing: apt-get install -y clang libclang-dev jq"
    fi
fi
if ! command -v sbpf >/dev/null 2>&1 && [[ ! -x "$HOME/.cargo/bin/sbpf" ]]; then
    log "installing the sbpf assembler (about 4 minutes)"
    nice -n "$nice_n" cargo install sbpf --version 0.3.3 --locked
fi
# The checks' expected answers come from the truth models (test-support), through this binary.
(nice -n "$nice_n" cargo build --locked -p test-support --bin truth) || die "building the truth models' binary"
export TRUTH_BIN="$CARGO_TARGET_DIR/debug/truth"
python3 validator/e2e/check.py selftest || die "the checks' self-test"
emitter="$(fixtures/programs/build.sh)"
log "emitter: $emitter ($(stat -c %s "$emitter") bytes)"

build_start=$(date +%s)
log "building the validator harness (debug, target $validator_target; the first build takes ~20 min)"
(cd validator && CARGO_TARGET_DIR="$validator_target" nice -n "$nice_n" cargo build --locked --bin validator-harness)
harness="$validator_target/debug/validator-harness"
harness_build_secs=$(( $(date +%s) - build_start ))
log "harness built in ${harness_build_secs}s"
# The harness's own tests: the planner's unit tests and the emitter on a real validator (every
# mode, the accounts path, a transaction across three programs); they fail without the ELF.
log "validator workspace tests"
(cd validator && CARGO_TARGET_DIR="$validator_target" EMITTER_SO="$emitter" nice -n "$nice_n" cargo test --locked) \
    || die "the validator workspace's tests"
build_start=$(date +%s)
STACK_NICE="$nice_n" stack_build debug --workspace --bins
main_build_secs=$(( $(date +%s) - build_start ))

# --- run --------------------------------------------------------------------------------------
work="${E2E_DIR:-$(mktemp -d -t real-validator-e2e.XXXXXX)}"
stack_init "$work" # logs in $work; kept there on failure (or with E2E_DIR)
mkdir -p "$work/bin"
# Run copies: a build from another clone sharing the target directory replaces the binaries there
# (a clone at the same path even shares cargo's fingerprints, so this build may look fresh).
for b in indexer query-api fixture-node truth; do cp "$CARGO_TARGET_DIR/debug/$b" "$work/bin/$b"; done
export TRUTH_BIN="$work/bin/truth"
bin="$work/bin"
STACK_BIN="$bin"
"$bin/fixture-node" events --help >/dev/null 2>&1 && "$bin/indexer" export --help >/dev/null 2>&1 \
    || die "$CARGO_TARGET_DIR/debug holds binaries built from other sources (no \`fixture-node events\`/\`indexer export\`): another clone at the same path shares this target dir; set CARGO_TARGET_DIR to one of this clone's own"
ok=0
# After the launcher stopped every process: the work dir goes on success, else stays for a look.
keep_or_remove() {
    if [[ "$ok" == 1 && -z "${E2E_DIR:-}" ]]; then rm -rf "$work"; else echo "real-validator e2e: logs and data in $work" >&2; fi
}
stack_on_exit keep_or_remove
deadline=$(( $(date +%s) + timeout_secs ))
check_deadline() { (( $(date +%s) < deadline )) || die "timed out after ${timeout_secs}s ($1)"; }

"$bin/fixture-node" events --preset small --seed "$seed" --history-events "$events_n" > "$work/events.jsonl"
log "fixture history: $(wc -l < "$work/events.jsonl") entries ($(jq -r 'select(.kind == "instruction") | .n' "$work/events.jsonl" | wc -l) instructions), $(jq -r '.program + " " + .name' "$work/events.jsonl" | sort -u | wc -l) kinds"

"$harness" serve --emitter "$emitter" --payer-out "$work/payer.json" --ledger "$work/ledger" \
    > "$work/harness.out" 2> "$work/harness.err" &
harness_pid=$!
stack_track "$harness_pid"
until grep -q '^ready ' "$work/harness.out" 2>/dev/null; do
    kill -0 "$harness_pid" 2>/dev/null || { tail -n 20 "$work/harness.err" >&2; die "the harness exited"; }
    check_deadline "waiting for the validator"
    sleep 0.5
done
ready="$(grep '^ready ' "$work/harness.out")"
rpc_url="$(sed -E 's/.* rpc=([^ ]+).*/\1/' <<< "$ready")"
ws_url="$(sed -E 's/.* ws=([^ ]+).*/\1/' <<< "$ready")"
log "validator $ready"

# The indexer and query-api against the validator, through the launcher (free loopback ports).
STACK_RPC_URL="$rpc_url" STACK_WS_URL="$ws_url" STACK_DATA="$work/live"
unset DFPN_PORT PSY_PORT METRICS_PORT API_METRICS_PORT CONTROL_PORT
stack_ports DFPN_PORT PSY_PORT METRICS_PORT
dfpn_port=$DFPN_PORT psy_port=$PSY_PORT metrics_port=$METRICS_PORT
start_indexer() {
    RUST_LOG="${RUST_LOG:-info}" stack_start_indexer --reconcile-secs 5 --telemetry-secs 5
    indexer_pid="${STACK_PID[indexer]}"
}
appended() {  # events appended by the running indexer (its counter starts at 0 each start)
    { curl -sf "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null || true; } \
        | awk '/^indexer_events_appended_total/ { print $2; found=1 } END { if (!found) print 0 }'
}
start_indexer
stack_start_api --rate-limit-anonymous 1000000
log "indexer and query-api up (DFPN :$dfpn_port, Psy :$psy_port)"

send_start_ms=$(date +%s%3N)
"$harness" send --rpc-url "$rpc_url" --events "$work/events.jsonl" --payer "$work/payer.json" \
    --out "$work/sent.jsonl" --rate "$rate" --events-per-tx "$per_tx" --fail-every "$fail_every" \
    --v0-every "$v0_every" > "$work/send.json" 2> "$work/send.err" &
sender_pid=$!
stack_track "$sender_pid"
# It creates the lookup tables first, then prints `sending ...` and starts sending.
until grep -q '^sending ' "$work/send.err" 2>/dev/null; do
    kill -0 "$sender_pid" 2>/dev/null || { cat "$work/send.err" >&2; die "the sender exited before sending"; }
    check_deadline "waiting for the sender's lookup tables"
    sleep 0.2
done
log "sender: $(grep '^sending ' "$work/send.err")"

# Restart the indexer once mid-stream, on conditions polled (no timed sleep): once it has logged
# `restart_at` entries while the sender is still sending, the sender is paused (SIGSTOP: the
# indexer's SIGTERM waits for a reconciliation pass in progress, which would otherwise log the
# whole stream before it stops), the indexer stopped, the sender resumed, and the indexer started
# again once a transaction of the payer (it signs every one) was confirmed while it was down, so
# the restarted indexer has entries to catch up on. Asserted after the sender ends: 0 < entries
# logged before the restart < all entries, and the sender still sent after the stop.
restart_at="${E2E_RESTART_AT:-$(( events_n / 10 > 0 ? events_n / 10 : 1 ))}"
until (( $(appended) >= restart_at )); do
    kill -0 "$sender_pid" 2>/dev/null || die "the sender ended before the indexer logged $restart_at entries: no restart mid-stream (raise E2E_EVENTS, lower E2E_RATE or E2E_RESTART_AT)"
    check_deadline "waiting for $restart_at entries before the restart"
    sleep 0.1
done
kill -STOP "$sender_pid" 2>/dev/null || die "the sender ended before the restart: not mid-stream"
payer_key=$(python3 -B -c "import json, sys; sys.path.insert(0, 'validator/e2e'); import check; print(check.b58encode(bytes(json.load(open('$work/payer.json'))[32:])))")
newest_payer_tx() {
    curl -sf "$rpc_url" -H 'content-type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"getSignaturesForAddress\",\"params\":[\"$payer_key\",{\"limit\":1,\"commitment\":\"confirmed\"}]}" \
        | jq -r '.result[0].signature // ""'
}
log "restarting the indexer (SIGTERM) mid-stream, at $(appended) entries logged (restart point $restart_at; sender paused)"
stop_start_ms=$(date +%s%3N)
stack_stop indexer || die "the indexer did not stop cleanly (see $work/indexer.log)"
restart_ms=$(date +%s%3N)
before_restart=$("$bin/indexer" export --data-dir "$work/live" | wc -l)
at_stop="$(newest_payer_tx)"
kill -CONT "$sender_pid"
log "indexer stopped in $(( restart_ms - stop_start_ms )) ms with $before_restart entries in its log; sender resumed"
until [[ "$(newest_payer_tx)" != "$at_stop" ]]; do
    kill -0 "$sender_pid" 2>/dev/null || die "the sender ended with no transaction confirmed while the indexer was down"
    check_deadline "waiting for a transaction confirmed while the indexer is down"
    sleep 0.1
done
start_indexer
log "indexer restarted after $(( $(date +%s%3N) - restart_ms )) ms down"

wait "$sender_pid" || { cat "$work/send.err" >&2; die "the sender failed"; }
summary="$(cat "$work/send.json")"
ok_entries=$(jq .ok_entries <<< "$summary")
log "sent: $summary"
(( ok_entries > 0 )) || die "no transaction succeeded"
(( before_restart > 0 && before_restart < ok_entries )) \
    || die "the restart was not mid-stream: $before_restart of $ok_entries entries logged before it"
(( restart_ms < $(jq .last_send_unix_ms <<< "$summary") )) \
    || die "the sender sent nothing after the indexer stopped: the restart was not mid-stream"

caught_up_ms=""
while true; do
    have=$(( before_restart + $(appended) ))
    if (( have >= ok_entries )); then caught_up_ms=$(date +%s%3N); break; fi
    check_deadline "waiting for the indexer: $have of $ok_entries entries"
    sleep 0.25
done
last_send_ms=$(jq .last_send_unix_ms <<< "$summary")
first_send_ms=$(jq .first_send_unix_ms <<< "$summary")
live_eps=$(python3 -c "print(round($ok_entries / max(1e-3, ($caught_up_ms - $first_send_ms) / 1000), 1))")
lag_ms=$(( caught_up_ms > last_send_ms ? caught_up_ms - last_send_ms : 0 ))
log "indexer caught up: $ok_entries entries, ${live_eps} entries/s live (first send to last entry logged), $(( lag_ms )) ms after the last send (confirmation wait included)"

# Checks after commit, polled: the projector folds the log to its end, then commits, in a loop;
# once every entry is in the log, the second commit after that (counted by
# indexer_commit_seconds_count) folded all of them. (`indexer_projection_seq` cannot be waited
# on: it stays before the oldest orphan the projector still holds, entries of entities no
# successful transaction created, for 3,000 slots.) Then the indexer stops (committing a last
# time) and its log is exported, so the API check knows each record's log seq (the Psy lists'
# order and ids).
metric() {  # a metric of the running indexer, -1 while it does not answer
    { curl -sf "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null || true; } \
        | awk -v name="$1" '$1 == name { print $2; found=1 } END { if (!found) print -1 }'
}
commits_all_in=$(metric indexer_commit_seconds_count)
(( commits_all_in >= 0 )) || die "the indexer's metrics do not answer"
until (( $(metric indexer_commit_seconds_count) >= commits_all_in + 2 )); do
    check_deadline "waiting for two projection commits after the last entry was logged"
    sleep 0.2
done
log "projections committed twice after the last entry was logged"
stack_stop indexer || die "the indexer did not stop cleanly"
"$bin/indexer" export --data-dir "$work/live" > "$work/live-export.jsonl"
python3 validator/e2e/check.py log --events "$work/events.jsonl" --sent "$work/sent.jsonl" \
    --export "$work/live-export.jsonl" || die "live log"
# The query service reloads its readers shortly after a commit: the check retries while answers
# differ, up to --settle seconds, and reports the last attempt's mismatches.
python3 validator/e2e/check.py api --events "$work/events.jsonl" --sent "$work/sent.jsonl" \
    --export "$work/live-export.jsonl" --settle 30 \
    --dfpn "http://127.0.0.1:$dfpn_port" --psy "http://127.0.0.1:$psy_port" || die "endpoints (live)"
if (( v0_every > 0 )); then
    (( $(jq .v0_transactions <<< "$summary") > 0 )) || die "the sender sent no v0 transaction (E2E_V0_EVERY=$v0_every)"
    python3 validator/e2e/check.py v0 --sent "$work/sent.jsonl" --export "$work/live-export.jsonl" --rpc "$rpc_url" \
        || die "v0 transactions"
fi

backfill_start=$(date +%s%3N)
STACK_DATA="$work/fresh" stack_argv backfill
RUST_LOG=warn "${STACK_ARGV[@]}" > "$work/backfill.json" 2> "$work/backfill.log" \
    || { tail -n 20 "$work/backfill.log" >&2; die "backfill from genesis"; }
backfill_secs=$(python3 -c "print(round(($(date +%s%3N) - $backfill_start) / 1000, 1))")
"$bin/indexer" export --data-dir "$work/fresh" > "$work/fresh-export.jsonl"
python3 validator/e2e/check.py log --events "$work/events.jsonl" --sent "$work/sent.jsonl" \
    --export "$work/fresh-export.jsonl" || die "backfilled log"
python3 validator/e2e/check.py same --export "$work/live-export.jsonl" --other "$work/fresh-export.jsonl" || die "backfill from genesis"
log "backfill from genesis: ${backfill_secs}s"

dfpn2=$(stack_free_port); psy2=$(stack_free_port)
STACK_NAME=query-api-fresh STACK_DATA="$work/fresh" DFPN_PORT=$dfpn2 PSY_PORT=$psy2 API_METRICS_PORT=$(stack_free_port) \
    stack_start_api --rate-limit-anonymous 1000000
# The backfilled service against the same truth over the sent history (not against the live one),
# its lists in the order of its own log.
python3 validator/e2e/check.py api --events "$work/events.jsonl" --sent "$work/sent.jsonl" \
    --export "$work/fresh-export.jsonl" --settle 30 \
    --dfpn "http://127.0.0.1:$dfpn2" --psy "http://127.0.0.1:$psy2" || die "endpoints (backfilled)"

ok=1
total_secs=$(( $(date +%s) - script_start ))
echo "real-validator e2e passed: $(jq -r '"\(.ok_entries) entries (\(.ok_instructions) instructions) in \(.ok_transactions) successful transactions (\(.ok_v0_transactions) of them v0 with lookup tables), \(.failed_transactions) failed, \(.dropped_transactions) dropped"' <<< "$summary");" \
    "live ${live_eps} entries/s (sender offered $(jq .entries_per_s_sent <<< "$summary" | xargs printf '%.0f') entries/s);" \
    "backfill from genesis ${backfill_secs}s; harness build ${harness_build_secs}s, main build ${main_build_secs}s, total ${total_secs}s"
