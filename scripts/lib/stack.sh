#!/usr/bin/env bash
# The one launcher of the running system (issue 18): every script that starts fixture-node,
# the indexer or query-api (demo, system and abuse tests, benchmarks, the real-validator end to
# end) goes through these functions, so the flags, ports, data dirs, secrets, readiness waits and
# the cleanup are written once. scripts/check-compose.py reads the same flags (`argv`, below) to
# check docker-compose.yml against them.
#
# Sourced (`source scripts/lib/stack.sh`), it defines:
#   stack_init [DIR]          work dir (a temp dir, removed on exit, when DIR is empty) and traps
#   stack_build MODE [ARGS]   cargo build --locked (MODE release|debug; ARGS default to the three
#                             packages); sets STACK_BIN
#   stack_ports VAR[=DEF]...  a port per VAR: the environment's, else DEF, else a free one
#   stack_secrets [DIR]       JWT_SECRET (kept in DIR when given) and CONTROL_TOKEN, exported
#   stack_argv PART [FLAGS]   STACK_ARGV := the canonical command of PART (node, indexer, api,
#                             backfill, replay) followed by FLAGS
#   stack_start_node|stack_start_indexer|stack_start_api [FLAGS]
#                             start PART in the background and wait until it answers its health
#                             endpoint; its log is $STACK_LOGS/<name>.log (name: STACK_NAME or the
#                             binary's)
#   stack_stop NAME           SIGTERM, then wait; returns the process's exit status
#   stack_track PID           one more process for the cleanup to stop (not watched by waits)
#   stack_on_exit COMMAND     runs on exit, after every process stopped
# Run as a program, `bash scripts/lib/stack.sh argv PART [FLAGS]` prints STACK_ARGV separated
# by NUL bytes (abuse-test.py starts the binaries with it; check-compose.py compares it).
#
# Inputs (environment or variables set before the calls): CARGO_TARGET_DIR
# (~/.cache/indexer-target), STACK_BIN (set by stack_build), STACK_DATA (the data dir; default
# the work dir), STACK_LOGS (default the work dir), the ports RPC_PORT, DFPN_PORT, PSY_PORT,
# METRICS_PORT (indexer), API_METRICS_PORT (query-api), CONTROL_PORT (indexer control endpoint),
# STACK_RPC_URL/STACK_WS_URL (default the fixture node at RPC_PORT), STACK_WAIT_SECS (600, each
# readiness wait), STACK_NICE (0, niceness of the builds), STACK_QUIET=1 (no `stack:` lines).
# Everything listens on 127.0.0.1 only.

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/indexer-target}"
STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_WAIT_SECS="${STACK_WAIT_SECS:-600}"
STACK_PIDS=()        # every process to stop on exit
STACK_EXIT_HOOKS=()  # commands run on exit, after the processes stopped
declare -A STACK_PID # name -> pid of the running parts, watched while waiting
declare -A STACK_LOG # name -> log file

# Prints a progress line on stderr (not on stdout: the scripts' own output stays as it was).
stack_say() { [ "${STACK_QUIET:-0}" = 1 ] || echo "stack: $*" >&2; }

# Stops the script with a message, pointing at the logs.
stack_fail() {
  echo "$*" >&2
  [ -z "${STACK_LOGS:-}" ] || echo "logs: $STACK_LOGS/*.log" >&2
  exit 1
}

# The work dir (DIR, or a fresh temp dir removed on exit), the data and log dirs defaulting to it,
# and the traps: EXIT stops everything; SIGINT and SIGTERM exit 130 and 143 through it.
stack_init() {
  if [ -n "${1:-}" ]; then
    STACK_WORK="$1"
    mkdir -p "$STACK_WORK"
  else
    STACK_WORK="$(mktemp -d)"
    stack_on_exit "rm -rf '$STACK_WORK'"
  fi
  STACK_DATA="${STACK_DATA:-$STACK_WORK}"
  STACK_LOGS="${STACK_LOGS:-$STACK_WORK}"
  mkdir -p "$STACK_LOGS"
  trap stack_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Builds with cargo (--locked; --release for MODE release) the three packages, or ARGS; the
# binaries are then in STACK_BIN.
stack_build() {
  local mode="$1" flags=(--locked)
  shift
  [ "$mode" = release ] && flags+=(--release)
  [ $# -gt 0 ] || set -- -p fixtures -p indexer -p query-api
  (cd "$STACK_ROOT" && nice -n "${STACK_NICE:-0}" cargo build "${flags[@]}" "$@")
  STACK_BIN="$CARGO_TARGET_DIR/$mode"
}

# A free ephemeral port on loopback (the kernel's choice, released at once).
stack_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Gives each VAR a port unless it has one: VAR=DEFAULT takes DEFAULT, a bare VAR a free port.
stack_ports() {
  local spec name
  for spec in "$@"; do
    name="${spec%%=*}"
    [ -n "${!name:-}" ] && continue
    if [[ "$spec" == *=* ]]; then printf -v "$name" '%s' "${spec#*=}"; else printf -v "$name" '%s' "$(stack_free_port)"; fi
  done
}

# 32 random hex digits.
stack_random_hex() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# The secrets, exported for the binaries (read from the environment, never on a command line):
# JWT_SECRET from the environment, else kept in DIR/jwt-secret when DIR is given (a demo data
# dir reused keeps its tokens valid), else random; CONTROL_TOKEN from the environment, else random.
stack_secrets() {
  if [ -z "${JWT_SECRET:-}" ] && [ -n "${1:-}" ]; then
    [ -s "$1/jwt-secret" ] || stack_random_hex > "$1/jwt-secret"
    JWT_SECRET="$(cat "$1/jwt-secret")"
  fi
  export JWT_SECRET="${JWT_SECRET:-$(stack_random_hex)}"
  export CONTROL_TOKEN="${CONTROL_TOKEN:-$(stack_random_hex)}"
}

# STACK_ARGV := the canonical command of PART (node | indexer | api | backfill | replay), then
# FLAGS.
# This is the one place the connecting flags are written: binds, URLs, the data dir.
stack_argv() {
  local part="$1"
  shift
  stack_ports RPC_PORT
  local rpc="${STACK_RPC_URL:-http://127.0.0.1:$RPC_PORT}" ws="${STACK_WS_URL:-ws://127.0.0.1:$RPC_PORT}"
  local bin="${STACK_BIN:-$CARGO_TARGET_DIR/debug}" data="${STACK_DATA:-data}"
  case "$part" in
    node)
      STACK_ARGV=("$bin/fixture-node" serve --bind "127.0.0.1:$RPC_PORT") ;;
    indexer)
      stack_ports METRICS_PORT CONTROL_PORT
      STACK_ARGV=("$bin/indexer" run --data-dir "$data" --rpc-url "$rpc" --ws-url "$ws"
        --metrics-bind "127.0.0.1:$METRICS_PORT" --control-bind "127.0.0.1:$CONTROL_PORT") ;;
    api)
      stack_ports DFPN_PORT PSY_PORT API_METRICS_PORT CONTROL_PORT
      STACK_ARGV=("$bin/query-api" serve --data-dir "$data" --dfpn-bind "127.0.0.1:$DFPN_PORT"
        --psy-bind "127.0.0.1:$PSY_PORT" --metrics-bind "127.0.0.1:$API_METRICS_PORT"
        --control-url "http://127.0.0.1:$CONTROL_PORT") ;;
    backfill)
      STACK_ARGV=("$bin/indexer" backfill --from genesis --data-dir "$data" --rpc-url "$rpc" --ws-url "$ws") ;;
    replay)
      STACK_ARGV=("$bin/indexer" replay --data-dir "$data") ;;
    *)
      stack_fail "stack_argv: no part $part (node, indexer, api, backfill, replay)" ;;
  esac
  STACK_ARGV+=("$@")
}

# Starts STACK_ARGV in the background as NAME, its output in $STACK_LOGS/NAME.log (emptied on
# the first start of a run, appended to on a restart), tracked for the waits and the cleanup.
stack_spawn() {
  local name="$1" log="$STACK_LOGS/$1.log"
  [ -n "${STACK_LOG[$name]:-}" ] || : > "$log"
  "${STACK_ARGV[@]}" >> "$log" 2>&1 &
  STACK_PID[$name]=$!
  STACK_LOG[$name]="$log"
  STACK_PIDS+=($!)
}

# True while every watched part runs; else prints which one exited and its log's last lines.
stack_alive() {
  local name
  for name in "${!STACK_PID[@]}"; do
    if ! kill -0 "${STACK_PID[$name]}" 2>/dev/null; then
      echo "$name exited; the last lines of ${STACK_LOG[$name]}:" >&2
      tail -n 20 "${STACK_LOG[$name]}" >&2
      return 1
    fi
  done
}

# One health probe: GET URL, or POST the JSON BODY when given; true on a 2xx answer.
stack_probe() {
  if [ -n "${2:-}" ]; then
    curl -sf --max-time 5 -X POST -H 'content-type: application/json' -d "$2" "$1" >/dev/null 2>&1
  else
    curl -sf --max-time 5 "$1" >/dev/null 2>&1
  fi
}

# Waits until URL answers (see stack_probe) for WHAT; fails as soon as a part exits, or after
# STACK_WAIT_SECS.
stack_wait() { # what url [post-body]
  local deadline=$((SECONDS + STACK_WAIT_SECS))
  until stack_probe "$2" "${3:-}"; do
    stack_alive || stack_fail "$1: a process exited before it answered $2"
    [ $SECONDS -lt $deadline ] || stack_fail "$1 did not answer $2 within ${STACK_WAIT_SECS}s"
    sleep 0.2
  done
}

# fixture-node serve on RPC_PORT (FLAGS: history, slot time, preset...), ready once it answers
# getHealth.
stack_start_node() {
  local name="${STACK_NAME:-fixture-node}"
  stack_argv node "$@"
  stack_spawn "$name"
  stack_wait "$name" "http://127.0.0.1:$RPC_PORT/" '{"jsonrpc":"2.0","id":1,"method":"getHealth"}'
  stack_say "$name on 127.0.0.1:$RPC_PORT (log ${STACK_LOG[$name]})"
}

# indexer run into STACK_DATA against the RPC node, ready once its metrics listener answers /health.
stack_start_indexer() {
  local name="${STACK_NAME:-indexer}"
  stack_argv indexer "$@"
  stack_spawn "$name"
  stack_wait "$name" "http://127.0.0.1:$METRICS_PORT/health"
  stack_say "$name: data $STACK_DATA, metrics 127.0.0.1:$METRICS_PORT, control 127.0.0.1:$CONTROL_PORT (log ${STACK_LOG[$name]})"
}

# query-api serve over STACK_DATA, ready once both surfaces answer /health.
stack_start_api() {
  local name="${STACK_NAME:-query-api}"
  stack_argv api "$@"
  stack_spawn "$name"
  stack_wait "$name" "http://127.0.0.1:$DFPN_PORT/health"
  stack_wait "$name" "http://127.0.0.1:$PSY_PORT/health"
  stack_say "$name: DFPN 127.0.0.1:$DFPN_PORT, Psy 127.0.0.1:$PSY_PORT, metrics 127.0.0.1:$API_METRICS_PORT (log ${STACK_LOG[$name]})"
}

# Stops NAME: SIGCONT (in case it was stopped), SIGTERM, wait; returns its exit status.
stack_stop() {
  local pid="${STACK_PID[$1]}" kept=() other
  unset "STACK_PID[$1]"
  for other in "${STACK_PIDS[@]}"; do [ "$other" = "$pid" ] || kept+=("$other"); done
  STACK_PIDS=("${kept[@]}")
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid"
}

# One more process (started by the script itself) for the cleanup to stop.
stack_track() { STACK_PIDS+=("$1"); }

# A command for the cleanup to run once every process stopped.
stack_on_exit() { STACK_EXIT_HOOKS+=("$1"); }

# The EXIT trap: SIGTERM to every process still running (continued first), wait for each, then
# the exit hooks (temp dirs removed, logs kept...). The script's exit status is kept.
stack_cleanup() {
  local status=$? pid hook
  trap - EXIT INT TERM
  for pid in "${STACK_PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${STACK_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for hook in "${STACK_EXIT_HOOKS[@]}"; do eval "$hook" || true; done
  exit $status
}

# Run as a program: `argv PART [FLAGS]` prints the canonical command NUL-separated.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  [ "${1:-}" = argv ] && [ $# -ge 2 ] || { echo "usage: $0 argv node|indexer|api|backfill|replay [FLAGS...]" >&2; exit 2; }
  shift
  stack_argv "$@"
  printf '%s\0' "${STACK_ARGV[@]}"
fi
