"""The Psy part of `check.py api`: the Psy answers against the Psy truth model.

The sent Psy entries are the real Psy model's four record events (`WorkerEventReported`,
`UserEventReported`, `CheckpointLeafReported`, `ContractReported`). The expected answers come
from the workspace's Psy truth model (test-support/src/psy/, through its `truth` binary, see
check.py `expected_answers`), which folds those of the successful transactions in the log order
of the service's data dir (`indexer export`: each record's log seq is its `id` and breaks every
tie) by the rules of the projection families: `/worker_events` newest first by (checkpoint,
time, seq), `/user_events` newest first by (time, seq), a job is its event with the newest
timestamp, then the highest seq, a contract its report with the newest timestamp, then the
highest seq, listed newest first by the seq of its first report.

Compared, every field of every item, in that order: `/contracts` and every `/contracts/{uuid}`,
`/worker_events`, `/user_events`, `/stats/jobs/counts`, `/stats/jobs/all-realms`; contracts
reported only by failed or dropped transactions answer 404. Not compared here: the checkpoint,
reward and aggregation answers (the reward rule needs the service's clock and its calculation
runs; `query-api/tests/psy*.rs` cover them over the same families).
"""
import urllib.parse

from answers import compare_list, compare_object, get, get_all


def psy_problems(sent, expected, psy):
    """(problems, answers checked, note) of the Psy endpoints at `psy` against the truth model's
    answers (`expected["psy"]`)."""
    want = expected["psy"]
    problems, checked = [], 0
    lists = {"/contracts": want["contracts"], "/worker_events": want["worker_events"],
             "/user_events": want["user_events"]}
    for path, items in lists.items():
        if not items:
            problems.append(f"{path}: the sent history has no item: nothing to check")
        checked += 1
        compare_list(path, get_all(psy, path, problems), items, problems, key="uuid" if path == "/contracts" else "id")
    contracts = {c["uuid"]: c for c in want["contracts"]}
    for uuid, contract in sorted(contracts.items()):
        checked += 1
        status, body = get(f"{psy}/contracts/{urllib.parse.quote(uuid)}")
        if status != 200:
            problems.append(f"/contracts/{uuid}: status {status} {str(body)[:200]}")
        else:
            compare_object(f"/contracts/{uuid}", body, contract, problems)
    absent = sorted({e["fields"]["contract_uuid"] for tx in sent.txs if tx["status"] != "ok" for e in tx["entries"]
                     if e["program"] == "psy" and e["name"] == "ContractReported"} - set(contracts))
    for uuid in absent:
        checked += 1
        status, body = get(f"{psy}/contracts/{urllib.parse.quote(uuid)}")
        if status != 404:
            problems.append(f"/contracts/{uuid}: status {status}, expected 404 (reported only by a failed transaction)")
    for path, items in (("/stats/jobs/counts", want["job_counts"]), ("/stats/jobs/all-realms", want["all_realms"])):
        checked += 1
        status, body = get(psy + path)
        if status != 200:
            problems.append(f"{path}: status {status} {str(body)[:200]}")
        elif isinstance(items, list):
            if not items:
                problems.append(f"{path}: the sent history has no realm: nothing to check")
            compare_list(path, body if isinstance(body, list) else [body], items, problems, key="realm_id")
        else:
            compare_object(path, body, items, problems)
    note = (f"{len(contracts)} contracts ({len(absent)} reported only by failed transactions: 404), "
            f"{len(want['worker_events'])} worker events, {len(want['user_events'])} user events, {want['jobs']} "
            f"jobs in {want['realms']} realms, {want['checkpoints']} checkpoint leaves")
    return problems, checked, note
