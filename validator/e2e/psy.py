"""The Psy part of `check.py api`: the Psy answers against a fold of the sent history.

The fold replays the Psy entries of the successful transactions in chain order (their fields are
the fixture's ground truth, which the sender put on chain) by the rules of the Psy projection the
API documents: a contract is its first deployment; a job is created by its first worker event
and moves only forward (Pending, then InProgress, then an end), an event of the same rank
replacing it; a realm is its creation. Every user event (registration, deployment, user
transaction) and worker event is listed. The record's log seq (from `indexer export` of the
service's data dir) is each list item's `id` and fixes the documented orders: `/contracts` newest
deployment (seq) first; `/worker_events` by block time, then seq, newest first; `/user_events`
by the event's time, then seq, newest first.

Compared, every field of every item, in that order: `/contracts` and every `/contracts/{uuid}`,
`/worker_events`, `/user_events`, `/stats/jobs/counts`, `/stats/jobs/all-realms`; contracts
deployed only by failed or dropped transactions answer 404.
"""
import datetime
import urllib.parse

from answers import compare_list, compare_object, get, get_all

STATUSES = ["Pending", "InProgress", "Completed", "Failed", "Cancelled"]
RANK = {"Pending": 0, "InProgress": 1, "Completed": 2, "Failed": 2, "Cancelled": 2}
USER_EVENTS = {"UserRegistered": ("RegisterUser", "public_key", "registered_at"),
               "ContractDeployed": ("DeployContract", "deployer", "deployed_at"),
               "UserTransactionExecuted": ("UserTransaction", "public_key", "executed_at")}


def rfc3339(unix):
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_hex(text):
    return f"0x{text.lower()}"


class PsyFold:
    """The Psy API state of the successful transactions (`order`: in chain order), with each
    record's log seq from `seqs` ({(signature, event_index): seq})."""

    def __init__(self, order, seqs):
        self.contracts = {}       # uuid -> (seq, object)
        self.jobs = {}            # job_id -> {"realm_id", "status"}
        self.realms = set()
        self.worker_events, self.user_events = [], []   # ((time, seq), object)
        self.problems = []
        for tx in order:
            for e in tx["entries"]:
                if e["program"] == "psy":
                    seq = seqs.get((tx["signature"], e["event_index"]))
                    if seq is None:
                        self.problems.append(f"psy {e['name']} n={e['n']} of {tx['signature']} is not in the export")
                        continue
                    self.apply(tx, e, e["fields"], seq)

    def apply(self, tx, e, f, seq):
        name = e["name"]
        if name in USER_EVENTS:
            tx_type, key, at = USER_EVENTS[name]
            self.user_events.append(((f[at], seq), {
                "id": seq, "user_id": str(f["user_id"]), "public_key": key_hex(f[key]), "tx_type": tx_type,
                "checkpoint_id": f["checkpoint_id"], "timestamp": rfc3339(f[at])}))
        if name == "ContractDeployed" and f["uuid"] not in self.contracts:
            self.contracts[f["uuid"]] = (seq, {
                "uuid": f["uuid"], "deployer": key_hex(f["deployer"]), "state_tree_height": f["state_tree_height"],
                "function_count": len(f["functions"]),
                "functions": [{"name": g["name"], "method_id": g["method_id"], "description": g["description"]}
                              for g in f["functions"]],
                "deployed_at": rfc3339(f["deployed_at"])})
        elif name == "RealmCreated":
            self.realms.add(f["realm_id"])
        elif name == "WorkerJobUpdated":
            self.worker_events.append(((tx["block_time"], seq), {
                "id": seq, "realm_id": f["realm_id"], "worker_public_key": key_hex(f["worker_public_key"]),
                "status": f["status"], "start_time": rfc3339(f["start_time"]),
                "end_time": None if f["end_time"] is None else rfc3339(f["end_time"]),
                "job_id": str(f["job_id"]), "circuit_type": f["circuit_type"]}))
            job = self.jobs.get(f["job_id"])
            if job is None:
                self.jobs[f["job_id"]] = {"realm_id": f["realm_id"], "status": f["status"]}
            elif RANK[f["status"]] >= RANK[job["status"]]:
                job["status"] = f["status"]

    def lists(self):
        """{path: expected items in the documented order}."""
        newest = lambda pairs: [obj for _, obj in sorted(pairs, key=lambda p: p[0], reverse=True)]  # noqa: E731
        return {"/contracts": newest(self.contracts.values()), "/worker_events": newest(self.worker_events),
                "/user_events": newest(self.user_events)}

    def job_counts(self):
        counts = dict.fromkeys(STATUSES, 0)
        for job in self.jobs.values():
            counts[job["status"]] += 1
        return counts

    def realm_stats(self):
        out = []
        for realm in sorted(self.realms):
            jobs = [j for j in self.jobs.values() if j["realm_id"] == realm]
            done = sum(1 for j in jobs if j["status"] == "Completed")
            out.append({"realm_id": realm, "total_jobs": len(jobs), "completed_jobs": done,
                        "failed_jobs": sum(1 for j in jobs if j["status"] == "Failed"),
                        "success_rate": done / len(jobs) if jobs else 0.0})
        return out


def psy_problems(sent, psy, seqs):
    """(problems, answers checked, note) of the Psy endpoints at `psy` against the fold."""
    folded = PsyFold(sent.chain_order(), seqs)
    problems, checked = list(folded.problems), 0
    lists = folded.lists()
    for path, want in lists.items():
        if not want:
            problems.append(f"{path}: the sent history has no item: nothing to check")
        checked += 1
        compare_list(path, get_all(psy, path, problems), want, problems, key="uuid" if path == "/contracts" else "id")
    for uuid, (_, want) in sorted(folded.contracts.items()):
        checked += 1
        status, body = get(f"{psy}/contracts/{urllib.parse.quote(uuid)}")
        if status != 200:
            problems.append(f"/contracts/{uuid}: status {status} {str(body)[:200]}")
        else:
            compare_object(f"/contracts/{uuid}", body, want, problems)
    absent = sorted({e["fields"]["uuid"] for tx in sent.txs if tx["status"] != "ok" for e in tx["entries"]
                     if e["program"] == "psy" and e["name"] == "ContractDeployed"} - set(folded.contracts))
    for uuid in absent:
        checked += 1
        status, body = get(f"{psy}/contracts/{urllib.parse.quote(uuid)}")
        if status != 404:
            problems.append(f"/contracts/{uuid}: status {status}, expected 404 (deployed only by a failed transaction)")
    for path, want in (("/stats/jobs/counts", folded.job_counts()), ("/stats/jobs/all-realms", folded.realm_stats())):
        checked += 1
        status, body = get(psy + path)
        if status != 200:
            problems.append(f"{path}: status {status} {str(body)[:200]}")
        elif isinstance(want, list):
            if not want:
                problems.append(f"{path}: the sent history has no realm: nothing to check")
            compare_list(path, body if isinstance(body, list) else [body], want, problems, key="realm_id")
        else:
            compare_object(path, body, want, problems)
    note = (f"{len(folded.contracts)} contracts ({len(absent)} deployed only by failed transactions: 404), "
            f"{len(folded.worker_events)} worker events, {len(folded.user_events)} user events, {len(folded.jobs)} "
            f"jobs in {len(folded.realms)} realms")
    return problems, checked, note
