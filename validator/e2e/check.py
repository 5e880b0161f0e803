#!/usr/bin/env python3
"""Checks of the real-validator end-to-end test (scripts/real-validator-e2e.sh).

  check.py log    --events E --sent S --export X            the log holds exactly the sent events
  check.py same   --export X --other Y                      two logs hold the same events
  check.py api    --events E --sent S --dfpn URL --psy URL  endpoints answer with the sent state
  check.py equal  --dfpn URL --psy URL --dfpn2 URL --psy2 URL   two query services answer alike

Prints what it checked; exits 1 with the mismatches otherwise.
"""
import argparse
import base64
import json
import random
import sys
import urllib.error
import urllib.request


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fail(problems, what):
    if problems:
        print(f"MISMATCH ({what}): {len(problems)} problem(s)", file=sys.stderr)
        for p in problems[:20]:
            print(f"  - {p}", file=sys.stderr)
        sys.exit(1)


def sent_events(sent):
    """(ok, not_ok): {(signature, event_index): sent event} of ok transactions; signatures of the others."""
    ok, not_ok = {}, set()
    for tx in sent:
        if tx["status"] == "ok":
            for e in tx["events"]:
                ok[(tx["signature"], e["event_index"])] = e
        else:
            not_ok.add(tx["signature"])
    return ok, not_ok


def exported(export):
    events, problems = {}, []
    for line in export:
        if line.get("kind") != "event":
            problems.append(f"unexpected {line.get('kind')} record at seq {line.get('seq')}")
            continue
        key = (line["signature"], line["event_index"])
        if key in events:
            problems.append(f"duplicate event {key} (seqs {events[key]['seq']} and {line['seq']})")
        events[key] = line
    return events, problems


def check_log(args):
    events = lines(args.events)
    sent = lines(args.sent)
    export = lines(args.export)
    ok, not_ok = sent_events(sent)
    logged, problems = exported(export)
    for key, e in ok.items():
        got = logged.get(key)
        if got is None:
            problems.append(f"missing: {e['name']} n={e['n']} {key}")
            continue
        want_hex = base64.b64decode(e["payload"]).hex()
        if got["payload_hex"] != want_hex:
            problems.append(f"payload differs: n={e['n']} {key}")
        if got["name"] != e["name"]:
            problems.append(f"name differs: n={e['n']} {got['name']} != {e['name']}")
    for key, got in logged.items():
        if key[0] in not_ok:
            problems.append(f"event of a failed/dropped transaction in the log: {got['name']} {key}")
        elif key not in ok:
            problems.append(f"event never sent: {got['name']} {key}")
    every_kind = {(e["program"], e["name"]) for e in events}
    ok_kinds = {(e["program"], e["name"]) for e in ok.values()}
    missing_kinds = sorted(every_kind - ok_kinds)
    if missing_kinds:
        problems.append(f"event kinds never sent successfully: {missing_kinds}")
    fail(problems, "log vs sent")
    failed_tx = sum(1 for tx in sent if tx["status"] == "failed")
    print(
        f"log ok: {len(logged)} events = the {len(ok)} events of {len(sent) - len(not_ok)} successful transactions, "
        f"each once; {len(ok_kinds)} event kinds; none of {failed_tx} failed "
        f"and {len(not_ok) - failed_tx} dropped transactions"
    )


# Where an event sits on chain, which a live and a backfilled log must agree on.
PLACE = ("slot", "tx_index", "block_time")


def check_same(args):
    a, pa = exported(lines(args.export))
    b, pb = exported(lines(args.other))
    problems = pa + pb
    slots = []
    for key in sorted(set(a) | set(b)):
        if key not in a:
            problems.append(f"only in {args.other}: {b[key]['name']} {key}")
        elif key not in b:
            problems.append(f"only in {args.export}: {a[key]['name']} {key}")
        elif a[key]["payload_hex"] != b[key]["payload_hex"]:
            problems.append(f"payload differs: {key}")
        elif a[key]["tx_index"] is None or b[key]["tx_index"] is None:
            problems.append(f"no block position: {key}")
        elif [a[key][f] for f in PLACE] != [b[key][f] for f in PLACE]:
            slots.append(f"{key}: slot {a[key]['slot']} position {a[key]['tx_index']} (block time "
                         f"{a[key]['block_time']}) in {args.export}, {b[key]['slot']} {b[key]['tx_index']} "
                         f"({b[key]['block_time']}) in {args.other}")
    if slots:
        problems.append(f"{len(slots)} events carry another slot/block position/block time; first: {slots[0]}")
        problems.extend(slots[1:])
    fail(problems, "live log vs backfilled log")
    print(f"same log content: {len(a)} events (signature, index, slot, block position, payload) in both")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body or b"null")
        except ValueError:
            return e.code, body.decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, f"no answer: {e}"


def check_api(args):
    events = {e["n"]: e for e in lines(args.events)}
    sent = lines(args.sent)
    created_ok, created_not_ok = {}, {}
    for tx in sent:
        for e in tx["events"]:
            truth = events[e["n"]]["truth"]
            target = created_ok if tx["status"] == "ok" else created_not_ok
            target.setdefault(e["name"], []).append(truth["fields"])
    rng = random.Random(7)
    problems, checked = [], 0

    def sample(name, k=15):
        items = created_ok.get(name, [])
        return rng.sample(items, min(k, len(items)))

    def expect(url, fields, expected):
        nonlocal checked
        checked += 1
        status, body = get(url)
        if status != 200:
            problems.append(f"{url}: status {status} {body}")
            return
        for field, want in expected.items():
            if body.get(field) != want:
                problems.append(f"{url}: {field} = {body.get(field)!r}, sent {want!r}")

    def expect_absent(url):
        nonlocal checked
        checked += 1
        status, body = get(url)
        if status != 404:
            problems.append(f"{url}: status {status}, expected 404 (created only by a failed transaction)")

    dfpn, psy = args.dfpn.rstrip("/"), args.psy.rstrip("/")
    for f in sample("RequestCreated"):
        expect(f"{dfpn}/requests/{f['request']}", f, {
            "requester": f["requester"], "storage_uri": f["storage_uri"], "fee_amount": f["fee_amount"],
            "modalities": f["modalities"], "created_at": f["created_at"]})
    for f in sample("ModelRegistered"):
        expect(f"{dfpn}/models/{f['model']}", f, {
            "developer": f["developer"], "name": f["name"], "version": f["version"], "model_uri": f["model_uri"]})
    for f in sample("WorkerRegistered"):
        expect(f"{dfpn}/workers/{f['operator']}", f, {"operator": f["operator"]})
    for f in sample("ContractDeployed"):
        expect(f"{psy}/contracts/{f['uuid']}", f, {})
    ok_ids = {
        "RequestCreated": {f["request"] for f in created_ok.get("RequestCreated", [])},
        "ModelRegistered": {f["model"] for f in created_ok.get("ModelRegistered", [])},
        "ContractDeployed": {f["uuid"] for f in created_ok.get("ContractDeployed", [])},
    }
    absent = 0
    for name, key, path in [("RequestCreated", "request", f"{dfpn}/requests/"),
                            ("ModelRegistered", "model", f"{dfpn}/models/"),
                            ("ContractDeployed", "uuid", f"{psy}/contracts/")]:
        for f in created_not_ok.get(name, [])[:15]:
            if f[key] not in ok_ids[name]:
                expect_absent(path + str(f[key]))
                absent += 1
    # Counts: every successfully created request / model appears once in the full lists.
    for name, path, key in [("RequestCreated", f"{dfpn}/requests?limit=1000", "id"),
                            ("ModelRegistered", f"{dfpn}/models?limit=1000", "id")]:
        want = ok_ids[name]
        if len(want) <= 1000:
            checked += 1
            status, body = get(path)
            got = {item[key] for item in body} if status == 200 and isinstance(body, list) else None
            if got != want:
                problems.append(f"{path}: {status}, {len(got or [])} ids, sent {len(want)} "
                                f"(missing {len(want - (got or set()))}, extra {len((got or set()) - want)})")
    fail(problems, "endpoints vs sent state")
    print(f"endpoints ok: {checked} DFPN/Psy answers match the sent state ({absent} entities created only "
          f"by failed transactions are 404)")


EQUAL_PATHS = {
    "dfpn": ["/requests?limit=1000", "/workers?limit=1000", "/models?limit=1000"],
    "psy": ["/contracts?limit=1000", "/worker_events?limit=1000", "/user_events?limit=1000",
            "/stats/jobs/counts", "/stats/jobs/all-realms"],
}


# Event lists number their items by log position (`id`), which differs between a log filled live
# (arrival order) and one backfilled (chain order): compared without it.
LOG_POSITION_IDS = {"/worker_events?limit=1000", "/user_events?limit=1000"}


def canonical(body, drop_id=False):
    if isinstance(body, list):
        items = [{k: v for k, v in item.items() if k != "id"} if drop_id and isinstance(item, dict) else item
                 for item in body]
        return sorted(json.dumps(item, sort_keys=True) for item in items)
    return json.dumps(body, sort_keys=True)


def check_equal(args):
    problems, checked = [], 0
    for surface, (a, b) in {"dfpn": (args.dfpn, args.dfpn2), "psy": (args.psy, args.psy2)}.items():
        for path in EQUAL_PATHS[surface]:
            checked += 1
            sa, ba = get(a.rstrip("/") + path)
            sb, bb = get(b.rstrip("/") + path)
            if sa != 200 or sb != 200:
                problems.append(f"{surface}{path}: status {sa} / {sb}")
            elif canonical(ba, path in LOG_POSITION_IDS) != canonical(bb, path in LOG_POSITION_IDS):
                problems.append(f"{surface}{path}: answers differ")
    fail(problems, "live vs backfilled query service")
    print(f"query services agree: {checked} list/stat endpoints answer the same from the live and the backfilled data")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("log"); p.add_argument("--events", required=True); p.add_argument("--sent", required=True); p.add_argument("--export", required=True)
    p = sub.add_parser("same"); p.add_argument("--export", required=True); p.add_argument("--other", required=True)
    p = sub.add_parser("api"); p.add_argument("--events", required=True); p.add_argument("--sent", required=True); p.add_argument("--dfpn", required=True); p.add_argument("--psy", required=True)
    p = sub.add_parser("equal")
    for flag in ("--dfpn", "--psy", "--dfpn2", "--psy2"):
        p.add_argument(flag, required=True)
    args = parser.parse_args()
    {"log": check_log, "same": check_same, "api": check_api, "equal": check_equal}[args.cmd](args)


if __name__ == "__main__":
    main()
