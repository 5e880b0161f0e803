#!/usr/bin/env python3
"""Abuse test of query-api (issue 15): the abusive clients of a public endpoint, all at once.

Brings up fixture-node, backfills it with `indexer backfill`, then serves the projections with
`query-api serve` on free loopback ports (the commands are the launcher's, scripts/lib/stack.sh) under small limits, and runs these cases concurrently:
rotating first X-Forwarded-For hops, 200 KB forwarded-for values, 6,000 distinct clients (past
the limiter's 5,000), WebSocket clients holding unfinished fragmented messages, 600 idle
WebSocket clients, a WebSocket client that stops reading, searches tantivy cannot run,
60,000-character public keys, slow (unfinished) request headers past the connection cap, and
varied uncached aggregations.

The same round runs first as warm-up (three times by default: the allocator's arenas and the
runtime's threads settle; the first round grows the process by a few MiB once), then measured.
Reports the process memory (RSS, and its anonymous part: the process's own allocations; the
rest are pages of the binary and of the mapped index files), open connections and answer codes
before, during and after, and fails unless: memory is back within 10 % of its start, no answer is a 5xx other than the
documented 503 shedding, every abusive client was limited, and fresh clients are answered 200
before and after. Bounded: every wait has a deadline, everything runs on 127.0.0.1.

Usage: scripts/abuse-test.py [--bin DIR]   (default: $CARGO_TARGET_DIR/debug)
"""

import argparse
import base64
import collections
import concurrent.futures
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import time

LIMITS = {
    "--rate-limit-anonymous": "50",
    "--trust-forwarded-for": None,
    "--rate-limit-max-clients": "5000",
    "--max-connections": "200",
    "--header-read-timeout-ms": "1000",
    "--idle-timeout-ms": "3000",
    "--request-timeout-ms": "2000",
    "--shutdown-grace-ms": "2000",
    "--max-blocking-queries": "2",
    "--max-queued-queries": "4",
    "--ws-max-clients": "50",
    "--ws-max-clients-per-key": "4",
    "--ws-send-timeout-ms": "1000",
}

codes = collections.defaultdict(collections.Counter)  # case -> status (or "closed") -> count
codes_lock = threading.Lock()
rounds = [0]  # rounds run so far: keeps each round's aggregations uncached


def count(case, status):
    with codes_lock:
        codes[case][status] += 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "stack.sh")


def stack_argv(part, extra, **env):
    """The canonical command of `part` (node, api, backfill...) from the one launcher,
    scripts/lib/stack.sh, with `env` (STACK_BIN, STACK_DATA, the ports), then `extra` flags."""
    done = subprocess.run(["bash", LAUNCHER, "argv", part, *extra], env={**os.environ, **env},
                          check=True, capture_output=True, text=True)
    return done.stdout.split("\0")[:-1]


def wait(what, check, within):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"abuse test: timed out waiting for {what}")


def get_once(port, path, headers=None, timeout=10):
    """One GET on a new connection: (status, body), or ("closed", b"") if the server hung up."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return "closed", b""
    finally:
        conn.close()


def get(port, path, headers=None, timeout=10):
    """A GET that backs off while the connection cap refuses it (the slow-header case holds the
    cap until the header read timeout), as a client would; refusals are counted apart."""
    for _ in range(100):
        status, body = get_once(port, path, headers, timeout)
        if not (status == 503 and b"connections open" in body):
            return status, body
        count("refused at the connection cap (retried)", 503)
        time.sleep(0.05)
    return status, body


def rss_kib(pid, field="VmRSS"):
    """Resident memory of the process: `VmRSS` by default, or one of its parts (`RssAnon`: its
    own allocations, heap, stacks and buffers; the rest are pages of its binary and of the index
    files it maps)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def metric(port, name):
    status, body = get_once(port, "/metrics")
    if status != 200:
        return None
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


# --- the abusive clients -------------------------------------------------------------------

def rotating_first_hop(psy):
    for n in range(150):
        status, _ = get(psy, "/health", {"X-Forwarded-For": f"198.51.{n // 250}.{n % 250}, 203.0.113.10"})
        count("rotating first X-Forwarded-For hop (150)", status)


def huge_forwarded_for(dfpn):
    value = "9" * 200_000 + ", 203.0.113.11"
    for _ in range(300):
        status, _ = get(dfpn, "/health", {"X-Forwarded-For": value})
        count("200 KB X-Forwarded-For (300)", status)


def many_clients(dfpn):
    for n in range(6000):
        status, _ = get(dfpn, "/health", {"X-Forwarded-For": f"10.{n // 65536}.{(n // 256) % 256}.{n % 256}"})
        count("6000 distinct clients", status)


def ws_handshake(port, forwarded):
    """A raw WebSocket handshake: the socket and the status code answered."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/tps HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: {forwarded}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            return sock, "closed"
        head += chunk
    return sock, int(head.split(b" ", 2)[1])


def ws_admitted(port, forwarded):
    """A handshake retried while a cap (connections, WebSocket clients) refuses it."""
    for _ in range(100):
        sock, status = ws_handshake(port, forwarded)
        if status != 503:
            return sock, status
        sock.close()
        count("refused at the connection cap (retried)", 503)
        time.sleep(0.05)
    return sock, status


def frame(opcode, payload, fin):
    mask = os.urandom(4)
    header = bytes([(0x80 if fin else 0) | opcode])
    length = len(payload)
    if length < 126:
        header += bytes([0x80 | length])
    else:
        header += bytes([0x80 | 126]) + length.to_bytes(2, "big")
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def closed_within(sock, seconds):
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def ws_fragments(psy):
    """Four clients that start fragmented messages and never finish them."""
    for n in range(4):
        sock, status = ws_admitted(psy, f"203.0.113.{20 + n}")
        count("WebSocket unfinished fragmented messages (4)", status)
        if status != 101:
            continue
        try:
            sock.sendall(frame(0x1, b"x" * 1000, fin=False))
            for _ in range(64):
                sock.sendall(frame(0x0, b"x" * 1000, fin=False))
        except OSError:
            pass
        count("WebSocket unfinished fragmented messages (4)", "closed by server" if closed_within(sock, 5) else "still open")
        sock.close()


def ws_idle(psy, held):
    """600 idle clients over 150 client keys: the caps admit 50."""
    for n in range(600):
        try:
            sock, status = ws_handshake(psy, f"192.0.2.{n % 150}")
        except OSError:
            count("600 idle WebSocket clients", "refused connection")
            continue
        count("600 idle WebSocket clients", status)
        if status == 101:
            held.append(sock)
        else:
            sock.close()


def ws_stalled(psy):
    sock, status = ws_admitted(psy, "203.0.113.30")
    count("WebSocket client that stops reading", status)
    if status == 101:
        # Reads nothing, answers no ping: the server drops it after the send timeout (1 s).
        time.sleep(4)
        count("WebSocket client that stops reading", "dropped" if closed_within(sock, 1) else "kept")
    sock.close()


def bad_searches(dfpn):
    for q in ["storage_uri:*", "name:*", "nosuchfield:*", "nosuchfield:* x", "storage_uri:[a TO z]", "(", "a AND"]:
        for path in ["/requests/search", "/models/search"]:
            for _ in range(3):
                status, _ = get(dfpn, f"{path}?q={urllib.parse.quote(q)}",
                                {"X-Forwarded-For": f"203.0.113.{40 + random.randrange(10)}"})
                count("searches tantivy cannot run (42)", status)


def long_keys(dfpn, psy):
    key = "2" * 60_000
    for n in range(10):
        status, _ = get(dfpn, f"/requests?requester={key}", {"X-Forwarded-For": "203.0.113.50"})
        count("60,000-character public keys (20)", status)
        status, _ = get(psy, f"/stats/workers/{key[:10_000]}", {"X-Forwarded-For": "203.0.113.51"})
        count("60,000-character public keys (20)", status)


def slow_headers(dfpn, held):
    """300 connections that never finish their header: 200 fit under the cap."""
    for _ in range(300):
        try:
            sock = socket.create_connection(("127.0.0.1", dfpn), timeout=5)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            held.append(sock)
        except OSError:
            count("300 unfinished request headers", "refused connection")
    for sock in held:
        answer = b""
        sock.settimeout(3)
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
        count("300 unfinished request headers", 503 if answer.startswith(b"HTTP/1.1 503") else "cut off at header timeout")
        sock.close()


def aggregations(psy):
    def one(n):
        bucket = ["2min", "1h", "1d", "1w", "1m"][n % 5]
        status, _ = get(psy, f"/worker_events_aggregations?bucket={bucket}&limit={200 + 100 * rounds[0] + n}",
                        {"X-Forwarded-For": f"203.0.114.{n}"})
        count("60 varied uncached aggregations", status)

    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        list(pool.map(one, range(60)))


# --- the run -------------------------------------------------------------------------------

CASES = 10


def run_round(dfpn, psy, during=lambda: None):
    """Runs every case at once; `during` is read once they are done, before the held WebSocket
    clients leave."""
    ws_held, slow_held = [], []
    cases = [
        (rotating_first_hop, psy), (huge_forwarded_for, dfpn), (many_clients, dfpn),
        (ws_fragments, psy), (ws_idle, psy, ws_held), (ws_stalled, psy), (bad_searches, dfpn),
        (long_keys, dfpn, psy), (slow_headers, dfpn, slow_held), (aggregations, psy),
    ]
    assert len(cases) == CASES
    with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
        for future in [pool.submit(case[0], *case[1:]) for case in cases]:
            future.result(timeout=300)
    rounds[0] += 1
    snapshot_during = during()
    for sock in ws_held:
        sock.close()
    return snapshot_during


def stable_rss(pid, within=20):
    """Waits (bounded) until the process's RSS holds within 1 % over a second."""
    deadline = time.monotonic() + within
    last = rss_kib(pid)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = rss_kib(pid)
        if abs(now - last) <= last * 0.01:
            return
        last = now


def settle(metrics, connections):
    wait("connections to close", lambda: (metric(metrics, "query_api_open_connections") or 0) <= connections, 30)
    wait("WebSocket clients to leave", lambda: metric(metrics, "query_api_ws_clients") == 0, 30)
    time.sleep(1)

def probes(dfpn, psy, tag):
    answers = [get(dfpn, "/health", {"X-Forwarded-For": f"192.0.2.{200 + tag}"})[0],
               get(psy, "/health", {"X-Forwarded-For": f"192.0.2.{210 + tag}"})[0]]
    return answers


def snapshot(pid, metrics_port):
    return {
        "rss_kib": rss_kib(pid),
        "anon_kib": rss_kib(pid, "RssAnon"),
        "open_connections": metric(metrics_port, "query_api_open_connections"),
        "ws_clients": metric(metrics_port, "query_api_ws_clients"),
        "rate_limit_clients": metric(metrics_port, "query_api_rate_limit_clients"),
        "blocking_peak": metric(metrics_port, "query_api_blocking_peak"),
    }


def main():
    parser = argparse.ArgumentParser()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/indexer-target"))
    parser.add_argument("--bin", default=os.path.join(target, "debug"))
    parser.add_argument("--warmup", type=int, default=3,
                        help="rounds run before the baseline (the allocator and the runtime's threads settle)")
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="abuse-")
    procs = []
    try:
        rpc, dfpn, psy, metrics = free_port(), free_port(), free_port(), free_port()
        logs = {name: open(os.path.join(data, f"{name}.log"), "w") for name in ["fixture-node", "query-api"]}
        stack = {"STACK_BIN": args.bin, "STACK_DATA": data, "RPC_PORT": str(rpc), "DFPN_PORT": str(dfpn),
                 "PSY_PORT": str(psy), "API_METRICS_PORT": str(metrics), "CONTROL_PORT": str(free_port())}
        node = subprocess.Popen(stack_argv("node", ["--history-events", "2000", "--slot-ms", "400"], **stack),
                                stdout=logs["fixture-node"], stderr=subprocess.STDOUT)
        procs.append(node)
        wait("fixture-node", lambda: socket.create_connection(("127.0.0.1", rpc), timeout=1).close() or True, 60)
        subprocess.run(stack_argv("backfill", [], **stack), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        node.terminate()
        node.wait(10)
        limits = [word for flag, value in LIMITS.items() for word in ([flag] if value is None else [flag, value])]
        api = subprocess.Popen(stack_argv("api", limits, **stack), stdout=logs["query-api"], stderr=subprocess.STDOUT)
        procs.append(api)
        wait("query-api", lambda: get(psy, "/health", {"X-Forwarded-For": "192.0.2.250"})[0] == 200, 60)
        wait("projections", lambda: b'"worker_count":0' not in get(dfpn, "/health", {"X-Forwarded-For": "192.0.2.251"})[1], 30)
        # Warm up every reader the cases touch, so the baseline holds them.
        for n, path in enumerate(["/requests?limit=5", "/models/search?q=model", "/requests/search?q=ipfs"]):
            get(dfpn, path, {"X-Forwarded-For": f"192.0.2.{230 + n}"})
        get(psy, "/worker_events_aggregations?bucket=1h", {"X-Forwarded-For": "192.0.2.240"})
        # A first round warms the allocator, the runtime's threads and the readers up; the
        # measured round follows once its connections are gone.
        for _ in range(args.warmup):
            run_round(dfpn, psy)
            settle(metrics, 0)
            print(f"abuse test: warm-up round, RSS {rss_kib(api.pid) / 1024:.1f} MiB", flush=True)
        codes.clear()
        stable_rss(api.pid)
        before = snapshot(api.pid, metrics)
        probe_before = probes(dfpn, psy, 0)
        peak_rss, peak_connections = [before["rss_kib"]], [before["open_connections"] or 0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak_rss.append(rss_kib(api.pid))
                peak_connections.append(metric(metrics, "query_api_open_connections") or 0)
                time.sleep(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        during = run_round(dfpn, psy, lambda: snapshot(api.pid, metrics))
        done.set()
        sampler.join()
        elapsed = time.monotonic() - started
        # After: every abusive connection gone (metric back to its start), then memory.
        settle(metrics, before["open_connections"] or 0)
        # Freed memory goes back to the system as the allocator trims and idle blocking threads
        # exit (10 s): wait for it, bounded.
        settled = time.monotonic()
        deadline = settled + 20
        while rss_kib(api.pid) > before["rss_kib"] * 1.10 and time.monotonic() < deadline:
            time.sleep(0.5)
        settle_seconds = time.monotonic() - settled
        after = snapshot(api.pid, metrics)
        probe_after = probes(dfpn, psy, 1)
        api.terminate()
        api.wait(15)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(data, ignore_errors=True)

    print(f"abuse test: {CASES} cases together in {elapsed:.1f} s (after {args.warmup} warm-up rounds)")
    print(f"  {'':24} {'before':>12} {'peak/during':>12} {'after':>12}")
    print(f"  {'RSS (MiB)':24} {before['rss_kib'] / 1024:12.1f} {max(peak_rss) / 1024:12.1f} {after['rss_kib'] / 1024:12.1f}")
    print(f"  {'  of which anonymous':24} {before['anon_kib'] / 1024:12.1f} {during['anon_kib'] / 1024:12.1f} {after['anon_kib'] / 1024:12.1f}")
    print(f"  {'open connections':24} {before['open_connections']:12.0f} {max(peak_connections):12.0f} {after['open_connections']:12.0f}")
    print(f"  {'WebSocket clients':24} {before['ws_clients']:12.0f} {during['ws_clients']:12.0f} {after['ws_clients']:12.0f}")
    print(f"  {'rate-limited clients':24} {before['rate_limit_clients']:12.0f} {during['rate_limit_clients']:12.0f} {after['rate_limit_clients']:12.0f}")
    print(f"  {'blocking peak':24} {before['blocking_peak']:12.0f} {during['blocking_peak']:12.0f} {after['blocking_peak']:12.0f}")
    print(f"  memory settled {settle_seconds:.1f} s after the connections closed")
    print(f"  probes (fresh clients, /health dfpn psy): before {probe_before}, after {probe_after}")
    print("  answers per case:")
    for case, counter in codes.items():
        print(f"    {case:46} " + ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=str)))

    c = codes
    checks = {
        "memory (RSS) back within 10 % of its start": after["rss_kib"] <= before["rss_kib"] * 1.10,
        "no 5xx but the documented 503 shedding": all(
            not (isinstance(s, int) and s >= 500 and s != 503) for counter in c.values() for s in counter),
        "fresh clients answered 200 before and after": probe_before == [200, 200] and probe_after == [200, 200],
        "rotating first hop limited (429 past 50)": c["rotating first X-Forwarded-For hop (150)"][429] >= 100,
        "200 KB forwarded-for refused (431)": c["200 KB X-Forwarded-For (300)"][431] + c["200 KB X-Forwarded-For (300)"]["closed"] == 300,
        "limiter map bounded (<= 5000 clients + 256 overflow keys)": during["rate_limit_clients"] <= 5256,
        "fragmented WebSocket messages closed": c["WebSocket unfinished fragmented messages (4)"]["closed by server"] == 4,
        "idle WebSocket clients capped (<= 50 admitted)": c["600 idle WebSocket clients"][101] <= 50
        and c["600 idle WebSocket clients"][503] + c["600 idle WebSocket clients"][429] >= 550,
        "a client that stops reading is dropped": c["WebSocket client that stops reading"]["dropped"] == 1,
        "unrunnable searches answer 200 or 400 (or shed 503)": set(c["searches tantivy cannot run (42)"]) <= {200, 400, 503}
        and c["searches tantivy cannot run (42)"][400] > 0,
        "long keys refused (400 or 431, or shed 503)": set(c["60,000-character public keys (20)"]) <= {400, 431, 503}
        and c["60,000-character public keys (20)"][400] > 0,
        "unfinished headers refused or cut off, connections within the cap (200)":
        c["300 unfinished request headers"][503] + c["300 unfinished request headers"]["cut off at header timeout"]
        + c["300 unfinished request headers"]["refused connection"] == 300 and max(peak_connections) <= 200,
        "blocking work bounded (peak <= 2)": during["blocking_peak"] <= 2,
        "aggregations 200 or shed 503": set(c["60 varied uncached aggregations"]) <= {200, 503},
    }
    failed = [name for name, ok in checks.items() if not ok]
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    if failed:
        print(f"abuse test FAILED: {', '.join(failed)}")
        sys.exit(1)
    print("abuse test passed")


if __name__ == "__main__":
    main()
