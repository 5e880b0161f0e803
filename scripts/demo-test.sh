#!/usr/bin/env bash
# The README's first command, checked: runs scripts/demo.sh on free loopback ports in a fresh data
# directory without a terminal, waits for its `ready` line, then runs every `curl` line it printed
# and requires each to succeed with an answer that says something (not empty, not a bare 0 or an
# empty list); stops the demo with SIGTERM and requires it
# to exit cleanly. Bounded: the demo stops itself after DEMO_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/stack.sh
# Free ports for every listener the demo opens (the launcher's port names; the environment's are
# ignored, so a running demo on the default ports is not disturbed).
ports=(RPC_PORT DFPN_PORT PSY_PORT METRICS_PORT API_METRICS_PORT CONTROL_PORT)
unset "${ports[@]}"
stack_ports "${ports[@]}"
export "${ports[@]}"
export DATA_DIR="$(mktemp -d)" DEMO_SECONDS=600
unset JWT_SECRET CONTROL_TOKEN
out="$DATA_DIR.out"
bash scripts/demo.sh > "$out" 2>&1 &
demo=$!
trap 'kill -TERM $demo 2>/dev/null || true; wait $demo 2>/dev/null || true; rm -rf "$DATA_DIR" "$out"' EXIT
for _ in $(seq 1 1800); do
  grep -q '^ready ' "$out" && break
  kill -0 $demo 2>/dev/null || { cat "$out"; echo "demo exited before ready" >&2; exit 1; }
  sleep 0.5
done
grep -q '^ready ' "$out" || { tail -n 30 "$out"; echo "demo not ready" >&2; exit 1; }
# An answer counts when the command succeeds and says something: not empty, not a bare `0`, `[]`
# or `{}`, not every list empty with no number above zero, no metric line at 0. Rewards and telemetry land
# a few seconds after `ready`: each line is asked again until it counts, within a deadline.
says_something() {
  python3 -c '
import json, sys
text = sys.stdin.read().strip()
if not text or text in ("0", "[]", "{}"):
    sys.exit(1)
if text.startswith("indexer_") or text.startswith("query_api_"):
    sys.exit(0 if any(float(line.split()[-1]) > 0 for line in text.splitlines()) else 1)
try:
    value = json.loads(text)
except ValueError:
    sys.exit(0)
def lists(v):
    if isinstance(v, list):
        yield v
    elif isinstance(v, dict):
        for item in v.values():
            yield from lists(item)
def numbers(v):
    if isinstance(v, bool):
        return
    if isinstance(v, (int, float)):
        yield v
    elif isinstance(v, (list, dict)):
        for item in (v.values() if isinstance(v, dict) else v):
            yield from numbers(item)
found = list(lists(value))
# Every list empty and no number above zero: the answer shows nothing.
sys.exit(1 if found and all(len(l) == 0 for l in found) and not any(n > 0 for n in numbers(value)) else 0)
'
}
failed=0
deadline=$((SECONDS + 60))
while IFS= read -r line; do
  command="${line#  }"
  strict="${command/curl -s /curl -sf --max-time 10 }" # HTTP errors fail too
  ok=0
  while :; do
    answer="$(bash -o pipefail -c "$strict" 2>&1)" && printf '%s' "$answer" | says_something && { ok=1; break; }
    [ $SECONDS -lt $deadline ] || break
    sleep 0.5
  done
  if [ $ok = 1 ]; then
    echo "ok   $command" | cut -c1-140
  else
    echo "FAIL $command: $answer" | cut -c1-300; failed=1
  fi
done < <(grep '^  curl ' "$out")
[ "$(grep -c '^  curl ' "$out")" -ge 10 ] || { echo "the demo printed too few curl lines" >&2; failed=1; }
kill -TERM $demo
status=0
wait $demo || status=$?
[ "$status" = 143 ] || { echo "the demo exited with $status on SIGTERM (expected 143)" >&2; failed=1; }
for port in "$RPC_PORT" "$DFPN_PORT" "$PSY_PORT" "$METRICS_PORT" "$API_METRICS_PORT" "$CONTROL_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port still served after SIGTERM" >&2; failed=1; fi
done
[ $failed = 0 ] && echo "demo test passed: ready line, every printed curl answered, everything stopped on SIGTERM"
exit $failed
