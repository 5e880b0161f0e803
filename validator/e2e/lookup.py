"""The version-0 check of the real-validator end to end (`check.py v0`).

`validator-harness send --v0-every K` sends every K-th transaction as a version-0 transaction
compiled against address lookup tables: the instruction entries' accounts are loaded from the
tables (the first of each writable, the others read-only), so the indexer must resolve them over
the static keys, then `meta.loadedAddresses.writable`, then `.readonly`. `check.py log` already
holds the indexer to the same decoded entries for every transaction; this check proves that some
of them really were v0 with loaded accounts, as the validator answers `getTransaction` for them,
and that the indexer logged those.

For every successful transaction of the record marked `"version": 0` it asks the validator for the
transaction and requires: version 0; as many writable and read-only loaded addresses as the
record says; each instruction entry's program and accounts, resolved over static then loaded
keys, equal to what was sent; each entry of the transaction in the export. Legacy transactions
(a sample) must answer `"legacy"`. No v0 transaction, none loading writable and read-only
accounts, or no logged instruction entry whose accounts came from a table: a mismatch.
"""
import json
import urllib.request

INSTRUCTION_INDEX_BASE = 2048
LEGACY_SAMPLE = 20


def rpc_caller(url):
    """A `call(method, params)` posting JSON-RPC to `url`; raises on an error answer."""
    def call(method, params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            answer = json.loads(r.read())
        if "error" in answer:
            raise ValueError(f"{method}: {answer['error']}")
        return answer.get("result")
    return call


def fetch(call, signature):
    return call("getTransaction", [signature, {"encoding": "json", "commitment": "confirmed",
                                               "maxSupportedTransactionVersion": 0}])


def v0_tx_problems(tx, got, logged, stats):
    """Problems of one v0 record line `tx` against its `getTransaction` answer `got`."""
    sig = tx["signature"]
    if got is None:
        return [f"v0 transaction {sig}: the validator does not have it"]
    problems = []
    if got.get("version") != 0:
        problems.append(f"v0 transaction {sig}: the validator says version {got.get('version')!r}")
    loaded = (got.get("meta") or {}).get("loadedAddresses") or {}
    writable, readonly = loaded.get("writable") or [], loaded.get("readonly") or []
    want = tx.get("loaded") or {}
    if (len(writable), len(readonly)) != (want.get("writable"), want.get("readonly")):
        problems.append(f"v0 transaction {sig}: loads {len(writable)} writable and {len(readonly)} read-only "
                        f"addresses, the record says {want}")
    stats["writable"] += len(writable)
    stats["readonly"] += len(readonly)
    message = got["transaction"]["message"]
    static = message["accountKeys"]
    keys = static + writable + readonly
    for entry in tx["entries"]:
        key = (sig, entry["event_index"])
        if key not in logged:
            problems.append(f"v0 transaction {sig}: {entry['program']} {entry['name']} n={entry['n']} not in the log")
            continue
        stats["entries"] += 1
        if entry["kind"] != "instruction":
            continue
        position = entry["event_index"] - INSTRUCTION_INDEX_BASE
        instructions = message["instructions"]
        if not 0 <= position < len(instructions):
            problems.append(f"v0 transaction {sig}: no instruction at position {position} (n={entry['n']})")
            continue
        on_chain = instructions[position]
        indexes = on_chain["accounts"]
        if any(i >= len(keys) for i in indexes) or on_chain["programIdIndex"] >= len(static):
            problems.append(f"v0 transaction {sig}: instruction {position} indexes past its keys: {on_chain}")
            continue
        resolved = [keys[i] for i in indexes]
        if resolved != entry["accounts"] or keys[on_chain["programIdIndex"]] != entry["program_id"]:
            problems.append(f"v0 transaction {sig}: instruction {position} resolves to {keys[on_chain['programIdIndex']]} "
                            f"{resolved}, sent {entry['program_id']} {entry['accounts']}")
            continue
        stats["instructions"] += 1
        stats["from_tables"] += any(i >= len(static) for i in indexes)
    return problems


def v0_problems(txs, logged, call):
    """Problems and counts of the v0 check over the record lines `txs`, the export's records
    `logged` ({(signature, event_index): line}) and a JSON-RPC `call`."""
    problems = []
    stats = {"v0": 0, "entries": 0, "instructions": 0, "from_tables": 0, "writable": 0, "readonly": 0, "legacy": 0}
    for tx in (tx for tx in txs if tx["status"] == "ok"):
        if tx.get("version") == 0:
            stats["v0"] += 1
            problems += v0_tx_problems(tx, fetch(call, tx["signature"]), logged, stats)
        elif stats["legacy"] < LEGACY_SAMPLE:
            stats["legacy"] += 1
            got = fetch(call, tx["signature"])
            if got is None or got.get("version") != "legacy":
                problems.append(f"legacy transaction {tx['signature']}: the validator says "
                                f"{None if got is None else got.get('version')!r}")
    if stats["v0"] == 0:
        problems.append("no successful v0 transaction in the record (was --v0-every 0?)")
    if stats["writable"] == 0 or stats["readonly"] == 0:
        problems.append(f"the v0 transactions load {stats['writable']} writable and {stats['readonly']} read-only "
                        f"addresses: both kinds must occur")
    if stats["from_tables"] == 0:
        problems.append("no logged instruction entry has accounts loaded from a lookup table")
    return problems, stats


def selftest(expect):
    """Checks `v0_problems` on a synthetic v0 transaction with a fake `getTransaction`."""
    a, b, c, program, payer = "A" * 44, "B" * 44, "C" * 44, "P" * 44, "F" * 44
    tx = {"signature": "s0", "status": "ok", "version": 0, "loaded": {"writable": 1, "readonly": 2},
          "entries": [{"n": 0, "kind": "event", "program": "p", "name": "E", "event_index": 0},
                      {"n": 1, "kind": "instruction", "program": "p", "name": "I", "program_id": program,
                       "accounts": [a, b, c], "event_index": INSTRUCTION_INDEX_BASE + 1}]}
    legacy = {"signature": "s1", "status": "ok", "version": "legacy", "loaded": None, "entries": []}
    answers = {
        "s0": {"version": 0, "meta": {"loadedAddresses": {"writable": [a], "readonly": [b, c]}},
               "transaction": {"message": {"accountKeys": [payer, program], "instructions": [
                   {"programIdIndex": 1, "accounts": []}, {"programIdIndex": 1, "accounts": [2, 3, 4]}]}}},
        "s1": {"version": "legacy", "meta": {}, "transaction": {"message": {"accountKeys": [], "instructions": []}}},
    }
    call = lambda _method, params: answers.get(params[0])  # noqa: E731
    logged = {("s0", 0): {}, ("s0", INSTRUCTION_INDEX_BASE + 1): {}}
    problems, stats = v0_problems([tx, legacy], logged, call)
    expect(not problems and stats["from_tables"] == 1 and stats["entries"] == 2, f"a right v0 transaction: {problems}")
    swapped = json.loads(json.dumps(answers))
    swapped["s0"]["meta"]["loadedAddresses"] = {"writable": [b], "readonly": [a, c]}
    problems, _ = v0_problems([tx], logged, lambda _m, p: swapped.get(p[0]))
    expect(any("resolves to" in p for p in problems), f"accounts resolved in another order fail: {problems}")
    problems, _ = v0_problems([tx], {("s0", 0): {}}, call)
    expect(any("not in the log" in p for p in problems), "an unlogged v0 instruction fails")
    problems, _ = v0_problems([legacy], logged, call)
    expect(any("no successful v0" in p for p in problems), "a record without v0 transactions fails")
    answers["s1"]["version"] = 0
    problems, _ = v0_problems([tx, legacy], logged, call)
    expect(any("legacy transaction s1" in p for p in problems), "a legacy one answering v0 fails")
