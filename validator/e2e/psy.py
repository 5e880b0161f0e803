"""The Psy part of `check.py api`: the Psy answers against a fold of the sent history.

The sent Psy entries are the real Psy model's four record events (`WorkerEventReported`,
`UserEventReported`, `CheckpointLeafReported`, `ContractReported`: the fields of the telemetry
records the real nodes post, `timestamp` in unix microseconds, `metadata` as JSON text). The fold
replays those of the successful transactions by the rules of the projection families
(`shared/src/schema.rs`, `pub mod psy`), with each record's log seq from `indexer export` of the
service's data dir as its `id` and tie-breaker:

- every worker and user event is listed: `/worker_events` newest first by (checkpoint, time,
  seq), `/user_events` newest first by (time, seq), in the document's rows as the query service
  renders them (`query-api/src/psy/handlers.rs`: the document's status and tx_type spellings,
  `start_time` = time - duration of an ended attempt, circuit and topic names, the job id's
  string form, then the real `source`, `checkpoint_id`, `topic`, `duration`);
- a job is its event with the newest timestamp, then the highest seq: `/stats/jobs/counts` (the
  document's four keys) and `/stats/jobs/all-realms` (every realm a worker event reports, its
  jobs counted in the realm of their latest event);
- a contract is its report with the newest timestamp, then the highest seq, listed newest first
  by the seq of its first report; `state_tree_height` and `functions` come from the metadata.

Compared, every field of every item, in that order: `/contracts` and every `/contracts/{uuid}`,
`/worker_events`, `/user_events`, `/stats/jobs/counts`, `/stats/jobs/all-realms`; contracts
reported only by failed or dropped transactions answer 404. Not compared here: the checkpoint,
reward and aggregation answers (the reward rule needs the service's clock and its calculation
runs; `query-api/tests/psy*.rs` cover them over the same families).
"""
import datetime
import json
import urllib.parse

from answers import compare_list, compare_object, get, get_all

STATUS_DOC = {"PENDING": "Pending", "PROCESSING": "InProgress", "COMPLETED": "Completed", "FAILED": "Failed"}
TX_TYPE_DOC = {"REGISTER_USER": "RegisterUser", "DEPLOY_CONTRACT": "DeployContract", "GUTA": "UserTransaction",
               "USER_ENDCAP": "UserTransaction"}
JOB_ID_FIELDS = ("topic", "goal_id", "slot_id", "circuit_type", "group_id", "sub_group_id", "task_index", "data_type",
                 "data_index")
TOPICS = {
    0: "GenerateStandardProof", 1: "GenerateGroth16Proof", 2: "BlockUserSignatureProof",
    3: "NotifyCoordinatorComplete", 4: "NotifyRealmComplete", 5: "AggregateJobs", 254: "Invalid",
}
CIRCUITS = {
    0: "AppendUserRegistrationTree", 1: "AppendUserRegistrationTreeAggregate", 2: "AddL1Deposit",
    3: "AddL1DepositAggregate", 4: "ClaimL1Deposit", 5: "ClaimL1DepositAggregate", 6: "UserEndCap",
    7: "GUTATwoEndCap", 8: "GUTATwoGUTA", 9: "GUTALeftEndCapRightGUTA", 10: "GUTALeftGUTARightEndCap",
    11: "GUTASingleEndCap", 12: "GUTARegisterUsers", 13: "GUTAVerifyToCap", 14: "GUTAOnlyRegisterUsers",
    15: "GUTANoChange", 16: "AddL1Withdrawal", 17: "AddL1WithdrawalAggregate", 18: "BatchDeployContracts",
    19: "BatchDeployContractsAggregate", 20: "ProcessL1Withdrawal", 21: "ProcessL1WithdrawalAggregate",
    32: "GenerateRollupStateTransitionProof", 33: "GenerateSigHashIntrospectionProof",
    34: "GenerateFinalSigHashProof", 35: "GenerateFinalSigHashProofGroth16",
    36: "WrapFinalSigHashProofBLS12381", 40: "AggUserRegisterDeployContractsGUTA",
    41: "AggAddProcessL1WithdrawalAddL1Deposit", 48: "DummyAppendUserRegistrationTreeAggregate",
    49: "DummyAddL1DepositAggregate", 50: "DummyClaimL1DepositAggregate", 51: "DummyGUTA",
    52: "DummyAddL1WithdrawalAggregate", 53: "DummyProcessL1WithdrawalAggregate",
    54: "DummyBatchDeployContractsAggregate", 55: "GUTATwoGUTAWithCheckpointUpgrade",
    56: "GUTAVerifyToCapWithCheckpointUpgrade", 63: "RealmFinalizeGUTA", 64: "WrappedSignatureProof",
    65: "Secp256K1SignatureProof", 192: "NotifyRealmComplete", 224: "TypeA", 225: "TypeB", 226: "TypeC",
    227: "TypeD", 228: "TypeE", 229: "TypeF", 254: "Invalid", 255: "Unknown",
}


def rfc3339_us(micros):
    """A time as the service writes it: UTC, `Z`, no fraction on whole seconds, else milliseconds
    or microseconds (`shared::psy_model::Timestamp`'s Display)."""
    seconds, fraction = divmod(micros, 1_000_000)
    text = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction == 0:
        return text + "Z"
    if fraction % 1000 == 0:
        return f"{text}.{fraction // 1000:03d}Z"
    return f"{text}.{fraction:06d}Z"


def job_id_text(job_id):
    """The job id's string form `topic-goal-slot-circuit-group-subgroup-task-datatype-dataindex`."""
    return "-".join(str(job_id.get(k, 0)) for k in JOB_ID_FIELDS)


def metadata(text):
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def worker_row(f, seq):
    """A worker event in the document's row, as `/worker_events` answers it."""
    ended = f["status"] in ("COMPLETED", "FAILED")
    start = f["timestamp"] - f["duration"] * 1000 if ended and f["duration"] is not None else f["timestamp"]
    return {"id": seq, "realm_id": f["realm_id"], "worker_public_key": f["public_key"],
            "status": STATUS_DOC[f["status"]], "start_time": rfc3339_us(start),
            "end_time": rfc3339_us(f["timestamp"]) if ended else None, "job_id": job_id_text(f["job_id"]),
            "circuit_type": CIRCUITS.get(f["job_id"]["circuit_type"], "Unknown"), "source": f["source"],
            "checkpoint_id": f["checkpoint_id"], "topic": TOPICS.get(f["job_id"]["topic"], "Invalid"),
            "duration": f["duration"]}


def user_row(f, seq):
    """A user event in the document's row, as `/user_events` answers it."""
    checkpoint = metadata(f["metadata"]).get("checkpoint_id")
    return {"id": seq, "user_id": f["user_id"], "public_key": f["public_key"], "tx_type": TX_TYPE_DOC[f["tx_type"]],
            "checkpoint_id": checkpoint if isinstance(checkpoint, int) and not isinstance(checkpoint, bool) else None,
            "timestamp": rfc3339_us(f["timestamp"])}


def contract_object(f):
    """A contract report as `/contracts` answers it."""
    meta = metadata(f["metadata"])
    height = meta.get("state_tree_height")
    functions = [{"name": g.get("name"), "method_id": g.get("method_id"), "description": g.get("description")}
                 for g in meta.get("functions", []) if isinstance(g, dict)] if isinstance(meta.get("functions"), list) else []
    return {"uuid": f["contract_uuid"], "deployer": f["deployer"],
            "state_tree_height": height if isinstance(height, int) and height >= 0 else 0,
            "function_count": len(functions), "functions": functions, "deployed_at": rfc3339_us(f["timestamp"]),
            "contract_id": f["contract_id"], "checkpoint_id": f["checkpoint_id"],
            "function_whitelist_root": f["function_whitelist_root"]}


class PsyFold:
    """The Psy API state of the successful transactions (`order`: in chain order), with each
    record's log seq from `seqs` ({(signature, event_index): seq})."""

    def __init__(self, order, seqs):
        self.contracts = {}       # uuid -> {"first": seq, "newest": (timestamp, seq), "object"}
        self.jobs = {}            # job id text -> {"newest": (timestamp, seq), "realm_id", "status"}
        self.realms = set()
        self.worker_events, self.user_events = [], []   # (sort key, row)
        self.checkpoints = set()
        self.problems = []
        for tx in order:
            for e in tx["entries"]:
                if e["program"] == "psy":
                    seq = seqs.get((tx["signature"], e["event_index"]))
                    if seq is None:
                        self.problems.append(f"psy {e['name']} n={e['n']} of {tx['signature']} is not in the export")
                        continue
                    self.apply(e["name"], e["fields"], seq)

    def apply(self, name, f, seq):
        if name == "WorkerEventReported":
            self.worker_events.append(((f["checkpoint_id"], f["timestamp"], seq), worker_row(f, seq)))
            if f["realm_id"] is not None:
                self.realms.add(f["realm_id"])
            key, newest = job_id_text(f["job_id"]), (f["timestamp"], seq)
            job = self.jobs.get(key)
            if job is None or newest > job["newest"]:
                self.jobs[key] = {"newest": newest, "realm_id": f["realm_id"], "status": STATUS_DOC[f["status"]]}
        elif name == "UserEventReported":
            self.user_events.append(((f["timestamp"], seq), user_row(f, seq)))
        elif name == "ContractReported":
            uuid, newest = f["contract_uuid"], (f["timestamp"], seq)
            known = self.contracts.get(uuid)
            if known is None:
                self.contracts[uuid] = {"first": seq, "newest": newest, "object": contract_object(f)}
            else:
                known["first"] = min(known["first"], seq)
                if newest > known["newest"]:
                    known["newest"], known["object"] = newest, contract_object(f)
        elif name == "CheckpointLeafReported":
            self.checkpoints.add(f["checkpoint_id"])
        else:
            self.problems.append(f"psy {name} (seq {seq}) is no event of the real Psy model")

    def lists(self):
        """{path: expected items in the documented order}."""
        newest = lambda pairs: [obj for _, obj in sorted(pairs, key=lambda p: p[0], reverse=True)]  # noqa: E731
        contracts = [(c["first"], c["object"]) for c in self.contracts.values()]
        return {"/contracts": newest(contracts), "/worker_events": newest(self.worker_events),
                "/user_events": newest(self.user_events)}

    def job_counts(self):
        counts = dict.fromkeys(STATUS_DOC.values(), 0)
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
    for uuid, known in sorted(folded.contracts.items()):
        checked += 1
        status, body = get(f"{psy}/contracts/{urllib.parse.quote(uuid)}")
        if status != 200:
            problems.append(f"/contracts/{uuid}: status {status} {str(body)[:200]}")
        else:
            compare_object(f"/contracts/{uuid}", body, known["object"], problems)
    absent = sorted({e["fields"]["contract_uuid"] for tx in sent.txs if tx["status"] != "ok" for e in tx["entries"]
                     if e["program"] == "psy" and e["name"] == "ContractReported"} - set(folded.contracts))
    for uuid in absent:
        checked += 1
        status, body = get(f"{psy}/contracts/{urllib.parse.quote(uuid)}")
        if status != 404:
            problems.append(f"/contracts/{uuid}: status {status}, expected 404 (reported only by a failed transaction)")
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
    note = (f"{len(folded.contracts)} contracts ({len(absent)} reported only by failed transactions: 404), "
            f"{len(folded.worker_events)} worker events, {len(folded.user_events)} user events, {len(folded.jobs)} "
            f"jobs in {len(folded.realms)} realms, {len(folded.checkpoints)} checkpoint leaves")
    return problems, checked, note
