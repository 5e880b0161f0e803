#!/usr/bin/env python3
"""Checks of the real-validator end-to-end test (scripts/real-validator-e2e.sh).

  check.py log    --events E --sent S --export X            the log holds exactly the sent entries
  check.py same   --export X --other Y                      two logs hold the same entries
  check.py api    --events E --sent S --dfpn URL --psy URL  endpoints answer with the sent state
  check.py equal  --events E --sent S --dfpn URL --psy URL --dfpn2 URL --psy2 URL
                                                            two query services answer alike
  check.py v0     --sent S --export X --rpc URL             v0 transactions with lookup tables
                                                            went out and were logged (lookup.py)
  check.py selftest                                         this file's own tests (no inputs)

E is the output of `fixture-node events` (one ground-truth entry a line: an event, or an
instruction that emits none), S the sender's record (`validator-harness send --out`: one line
per transaction with its status, slot, position in the block, block time and entries, each with
the `event_index` it got), X an `indexer export`.

The state the API must show comes from the workspace's one truth model per program
(test-support/src/dfpn.rs and test-support/src/psy/, which every Rust test uses too), run
through test-support's `truth` binary on E, S and X (`expected_answers`, below): the successful
transactions' entries folded, the DFPN ones in chain order (slot, position in the block, event
index), the Psy ones in the export's log order (a record's seq is its id and breaks ties). What
stays here is no fold: each sent payload is decoded with this file's own Borsh layouts of the
five DFPN programs and checked against the fixture's ground truth, account ids are derived as the
programs derive them (`find_program_address`, below) for the 404 checks, and the sent history
is checked for orders no program produces (`history`).

Prints what it checked; exits 1 with the mismatches otherwise. Nothing that cannot be checked is
skipped silently: it is a mismatch.
"""
import argparse
import base64
import contextlib
import hashlib
import http.server
import io
import json
import os
import struct
import subprocess
import tempfile
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ next to this file in the clone
import lookup  # noqa: E402 (this directory's modules, after the flag above)
import psy  # noqa: E402
from answers import compare_list, compare_object, get, get_all  # noqa: E402


# --- keys: base58, ed25519 points, program-derived addresses ---------------------------------

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data):
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58decode(text):
    n = 0
    for c in text:
        n = n * 58 + B58.index(c)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def pubkey(text):
    key = b58decode(text)
    if len(key) != 32:
        raise ValueError(f"{text!r} is not a 32-byte key")
    return key


P = 2**255 - 19
D = (-121665 * pow(121666, P - 2, P)) % P


def on_curve(point):
    """Whether 32 bytes decompress to an ed25519 point, as curve25519-dalek decides (which
    Solana's `find_program_address` uses): y is the low 255 bits little-endian, taken mod p;
    the point exists iff x^2 = (y^2 - 1) / (d*y^2 + 1) is a square mod p. Dalek ignores the sign
    bit here, so it also accepts x = 0 with the sign bit set (only y = +-1, i.e. two encodings)."""
    y = (int.from_bytes(point, "little") & ((1 << 255) - 1)) % P
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x2 = u * pow(v, P - 2, P) % P
    return x2 == 0 or pow(x2, (P - 1) // 2, P) == 1


def find_program_address(seeds, program_id):
    """(address, bump): the first of bump 255 down to 0 whose sha256(seeds || bump ||
    program_id || "ProgramDerivedAddress") is not an ed25519 point."""
    for bump in range(255, -1, -1):
        digest = hashlib.sha256(b"".join(seeds) + bytes([bump]) + program_id + b"ProgramDerivedAddress").digest()
        if not on_curve(digest):
            return digest, bump
    raise ValueError("no viable bump")


def worker_id(worker_registry, operator):
    return b58encode(find_program_address([b"worker", pubkey(operator)], pubkey(worker_registry))[0])


def model_id(model_registry, developer, model_id_hex):
    seeds = [b"model", pubkey(developer), bytes.fromhex(model_id_hex)]
    return b58encode(find_program_address(seeds, pubkey(model_registry))[0])


# --- Borsh layouts of the DFPN programs (shared/reference/dfpn-programs.md §2, §3, §7) -------

ENUMS = {
    "RequestStatus": ["Open", "CommitClosed", "Finalized", "Expired", "Cancelled", "Disputed"],
    "Verdict": ["Authentic", "Manipulated", "Inconclusive"],
    "DisputeReason": ["InvalidResult", "Collusion", "ResultCopying", "IncorrectModel", "ContentMismatch", "Other"],
    "SlashReason": ["InvalidResult", "MissedDeadline", "Fraud", "Collusion"],
    "RetirementReason": ["Voluntary", "LowPerformance", "SecurityIssue", "Governance"],
    "MediaType": ["Image", "Video", "Audio"],
    "ClaimType": ["OriginalAuthor", "LicensedFrom", "DerivedFrom", "ThirdPartyVerified", "CollectionMember"],
}


def layout(text):
    """"a:pubkey b:u64" -> [("a", "pubkey"), ("b", "u64")]."""
    return [tuple(item.split(":", 1)) for item in text.split()]


EVENTS = {
    "analysis_marketplace": {
        "RequestCreated": layout("request_id:pubkey requester:pubkey content_hash:bytes32 storage_uri:string "
                                 "required_modalities:u8 min_workers:u8 fee_amount:u64 deadline:i64 commit_deadline:i64"),
        "ResultCommitted": layout("request_id:pubkey worker:pubkey commitment:bytes32 commit_slot:u64"),
        "ResultRevealed": layout("request_id:pubkey worker:pubkey model:pubkey verdict:Verdict confidence:u8 reveal_slot:u64"),
        "RequestFinalized": layout("request_id:pubkey status:RequestStatus reveal_count:u8 fee_amount:u64"),
        "RequestCancelled": layout("request_id:pubkey fee_refunded:u64"),
        "RequestExpired": layout("request_id:pubkey fee_refunded:u64 reveals_received:u8"),
        "DisputeOpened": layout("dispute_id:pubkey request_id:pubkey reveal_id:pubkey challenger:pubkey "
                                "challenged_worker:pubkey reason:DisputeReason evidence_hash:bytes32 stake_amount:u64"),
        "DisputeResolved": layout("dispute_id:pubkey in_favor_of_challenger:bool resolver:pubkey slash_amount:u64 "
                                  "challenger_reward:u64"),
        "DisputeClosed": layout("dispute_id:pubkey"),
    },
    "worker_registry": {
        "WorkerRegistered": layout("operator:pubkey stake:u64 modalities:u8"),
        "WorkerUpdated": layout("operator:pubkey stake:u64 modalities:u8"),
        "WorkerStatusChanged": layout("operator:pubkey active:bool"),
        "WorkerUnbondingStarted": layout("operator:pubkey amount:u64 unlock_slot:u64"),
        "WorkerWithdrawn": layout("operator:pubkey amount:u64 closed:bool"),
        "WorkerReputationUpdated": layout("operator:pubkey reputation:u32 tasks_completed:u64 tasks_failed:u64"),
        "WorkerSlashed": layout("operator:pubkey amount:u64 reason:SlashReason remaining_stake:u64"),
    },
    "model_registry": {
        "ModelRegistered": layout("developer:pubkey model_id:bytes32 name:string version:string modalities:u8 "
                                  "model_uri:string stake:u64"),
        "ModelUpdated": layout("developer:pubkey model_id:bytes32 old_version:string new_version:string new_model_uri:string"),
        "ModelActivated": layout("developer:pubkey model_id:bytes32 score:u32"),
        "ModelRetired": layout("developer:pubkey model_id:bytes32 reason:RetirementReason"),
        "ModelSuspended": layout("developer:pubkey model_id:bytes32"),
        "ModelReactivated": layout("developer:pubkey model_id:bytes32"),
        "ModelScoreUpdated": layout("developer:pubkey model_id:bytes32 old_score:u32 new_score:u32"),
        "ModelStakeWithdrawn": layout("developer:pubkey model_id:bytes32 amount:u64"),
    },
    "content_registry": {
        "ContentRegistered": layout("content_hash:bytes32 media_type:MediaType creator:pubkey storage_uri:string"),
        "ContentStorageUpdated": layout("content_hash:bytes32 old_uri:string new_uri:string"),
        "ProvenanceClaimAdded": layout("content_hash:bytes32 attestor:pubkey claim_type:ClaimType evidence_uri:option:string"),
        "ClaimVerified": layout("content_hash:bytes32 attestor:pubkey verified:bool verifier:pubkey"),
        "ContentOwnershipTransferred": layout("content_hash:bytes32 old_owner:pubkey new_owner:pubkey"),
    },
    "rewards": {
        "TreasuryInitialized": layout("authority:pubkey dfpn_mint:pubkey worker_share_bps:u16 model_share_bps:u16 "
                                      "treasury_share_bps:u16 insurance_share_bps:u16"),
        "FeesDeposited": layout("amount:u64 total_collected:u64"),
        "RewardsDistributed": layout("fee_amount:u64 worker_pool:u64 model_pool:u64 treasury_share:u64 "
                                     "insurance_share:u64 worker_count:u8"),
        "RewardAllocated": layout("claimant:pubkey amount:u64 total_pending:u64"),
        "RewardsClaimed": layout("claimant:pubkey amount:u64 total_claimed:u64"),
        "SharesUpdated": layout("old_worker:u16 old_model:u16 old_treasury:u16 old_insurance:u16 new_worker:u16 "
                                "new_model:u16 new_treasury:u16 new_insurance:u16"),
        "TreasuryPauseToggled": layout("paused:bool"),
        "AuthorityTransferred": layout("old_authority:pubkey new_authority:pubkey"),
        "RewardAccountInitialized": layout("claimant:pubkey"),
        "EpochInitialized": layout("epoch:u64 start_slot:u64 duration_slots:u64"),
        "EpochAdvanced": layout("old_epoch:u64 new_epoch:u64 old_fees:u64 old_distributed:u64 old_requests:u32 "
                                "new_start_slot:u64"),
        "RequestRewardsProcessed": layout("fee_amount:u64 worker_pool:u64 model_pool:u64 treasury_share:u64 "
                                          "insurance_share:u64 worker_count:u8 model_developer:option:pubkey "
                                          "total_allocated:u64"),
    },
}

# The instructions the indexer reads from the message (reference §7): program, arguments, and
# the names its decoded form gives the leading accounts; the variant index is the position in
# this list (the Borsh of the indexer's stored `DfpnInstruction`).
INSTRUCTIONS = {
    "IncrementUsage": ("model_registry", "increment_usage", [], ["authority", "model"]),
    "ResolveDispute": ("analysis_marketplace", "resolve_dispute",
                       layout("in_favor_of_challenger:bool slash_amount:u64"), ["resolver", "request", "dispute"]),
    "CloseDispute": ("analysis_marketplace", "close_dispute", [], ["payer", "request", "dispute"]),
    "IncrementAnalysisCount": ("content_registry", "increment_analysis_count", [], ["authority", "content"]),
}

INTS = {"u8": "<B", "u16": "<H", "u32": "<I", "u64": "<Q", "i32": "<i", "i64": "<q"}


def event_discriminator(name):
    return hashlib.sha256(f"event:{name}".encode()).digest()[:8]


def instruction_discriminator(snake):
    return hashlib.sha256(f"global:{snake}".encode()).digest()[:8]


class Reader:
    """A Borsh reader over bytes (strict: `done` fails on trailing bytes)."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, n):
        if self.at + n > len(self.data):
            raise ValueError(f"needs {n} bytes at {self.at}, has {len(self.data) - self.at}")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def read(self, kind):
        if kind.startswith("option:"):
            tag = self.take(1)[0]
            if tag > 1:
                raise ValueError(f"option tag {tag}")
            return self.read(kind[7:]) if tag else None
        if kind in INTS:
            fmt = INTS[kind]
            return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        if kind == "bool":
            value = self.take(1)[0]
            if value > 1:
                raise ValueError(f"bool {value}")
            return value == 1
        if kind == "pubkey":
            return b58encode(self.take(32))
        if kind == "bytes32":
            return self.take(32).hex()
        if kind == "string":
            return self.take(self.read("u32")).decode("utf-8")
        if kind in ENUMS:
            index = self.take(1)[0]
            if index >= len(ENUMS[kind]):
                raise ValueError(f"{kind} variant {index}")
            return ENUMS[kind][index]
        raise ValueError(f"unknown type {kind}")

    def done(self):
        if self.at != len(self.data):
            raise ValueError(f"{len(self.data) - self.at} trailing bytes")


def encode(kind, value):
    """Borsh of one value (the inverse of Reader.read), for the self-test and instruction rows."""
    if kind.startswith("option:"):
        return b"\0" if value is None else b"\1" + encode(kind[7:], value)
    if kind in INTS:
        return struct.pack(INTS[kind], value)
    if kind == "bool":
        return bytes([1 if value else 0])
    if kind == "pubkey":
        return pubkey(value)
    if kind == "bytes32":
        return bytes.fromhex(value)
    if kind == "string":
        raw = value.encode()
        return struct.pack("<I", len(raw)) + raw
    if kind in ENUMS:
        return bytes([ENUMS[kind].index(value)])
    raise ValueError(f"unknown type {kind}")


def decode_event(program, payload):
    """(name, fields) of a DFPN event payload (discriminator + Borsh)."""
    for name, fields in EVENTS.get(program, {}).items():
        if payload[:8] == event_discriminator(name):
            reader = Reader(payload[8:])
            decoded = {field: reader.read(kind) for field, kind in fields}
            reader.done()
            return name, decoded
    raise ValueError(f"no {program} event has discriminator {payload[:8].hex()}")


def decode_instruction(program, data, accounts):
    """(name, fields) of an instruction the indexer reads, from its data and account keys."""
    for name, (owner, snake, args, names) in INSTRUCTIONS.items():
        if owner == program and data[:8] == instruction_discriminator(snake):
            if len(accounts) < len(names):
                raise ValueError(f"{name}: {len(accounts)} accounts, needs {len(names)}")
            reader = Reader(data[8:])
            fields = dict(zip(names, accounts))
            fields.update({field: reader.read(kind) for field, kind in args})
            reader.done()
            return name, fields
    raise ValueError(f"no decoded {program} instruction has discriminator {data[:8].hex()}")


def stored_instruction(name, fields):
    """The Borsh of the indexer's `DfpnInstruction` (variant index, accounts, arguments)."""
    _, _, args, names = INSTRUCTIONS[name]
    body = b"".join(pubkey(fields[n]) for n in names) + b"".join(encode(k, fields[f]) for f, k in args)
    return bytes([list(INSTRUCTIONS).index(name)]) + body


# --- inputs --------------------------------------------------------------------------------------


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def report(problems, what, summary):
    """Prints the summary, or the problems and exits 1."""
    if problems:
        print(f"MISMATCH ({what}): {len(problems)} problem(s)", file=sys.stderr)
        for p in problems[:30]:
            print(f"  - {p}", file=sys.stderr)
        if len(problems) > 30:
            print(f"  ... and {len(problems) - 30} more", file=sys.stderr)
        sys.exit(1)
    print(summary)


def decoded_entry(entry, truth, problems):
    """The entry's fields as decoded here from its chain bytes (DFPN), else the fixture's truth
    (Psy); a mismatch of the two, or of name/program/kind, is a problem."""
    want = truth["truth"]
    for key in ("program", "name", "kind", "payload", "instruction", "program_id"):
        if entry.get(key) != truth.get(key):
            problems.append(f"n={entry['n']}: the record's {key} {entry.get(key)!r} is not the fixture's {truth.get(key)!r}")
    if entry["program"] == "psy":
        return want["fields"]
    payload = base64.b64decode(entry["payload"])
    try:
        if entry["kind"] == "instruction":
            name, fields = decode_instruction(entry["program"], payload, entry.get("accounts", []))
        else:
            name, fields = decode_event(entry["program"], payload)
    except (ValueError, UnicodeDecodeError) as e:
        problems.append(f"n={entry['n']} {entry['program']} {entry['name']}: cannot decode its chain bytes: {e}")
        return want["fields"]
    if name != entry["name"] or fields != want["fields"]:
        problems.append(f"n={entry['n']}: chain bytes decode to {name} {fields}, the fixture says {entry['name']} {want['fields']}")
    return fields


class Sent:
    """The sender's record with the fixture lines: transactions by status, entries by key."""

    def __init__(self, events_path, sent_path):
        self.events_path, self.sent_path = events_path, sent_path
        self.truth = {e["n"]: e for e in lines(events_path)}
        self.txs = lines(sent_path)
        self.problems = []
        self.ok = {}          # (signature, event_index) -> (tx, entry, fields)
        self.not_ok = set()   # signatures of failed and dropped transactions
        seen = set()
        for tx in self.txs:
            for entry in tx["entries"]:
                if entry["n"] in seen:
                    self.problems.append(f"n={entry['n']} sent twice")
                seen.add(entry["n"])
                truth = self.truth.get(entry["n"])
                if truth is None:
                    self.problems.append(f"n={entry['n']} is in the record, not in the fixture lines")
                    continue
                entry["fields"] = decoded_entry(entry, truth, self.problems)
                if tx["status"] == "ok":
                    self.ok[(tx["signature"], entry["event_index"])] = (tx, entry)
            if tx["status"] == "ok":
                for field in ("slot", "tx_index", "block_time"):
                    if tx.get(field) is None:
                        self.problems.append(f"ok transaction {tx['signature']}: the record has no {field}")
            else:
                self.not_ok.add(tx["signature"])
        missing = sorted(set(self.truth) - seen)
        if missing:
            self.problems.append(f"{len(missing)} fixture entries were never sent (first n={missing[0]})")

    def chain_order(self):
        """The successful transactions in chain order (slot, position in the block)."""
        ok = [tx for tx in self.txs if tx["status"] == "ok" and tx.get("slot") is not None and tx.get("tx_index") is not None]
        return sorted(ok, key=lambda tx: (tx["slot"], tx["tx_index"]))


# --- the expected state: the Rust truth models (test-support's `truth` binary) ---------------


def truth_bin():
    """The `truth` binary (test-support/src/bin/truth.rs): $TRUTH_BIN, else the debug build in
    $CARGO_TARGET_DIR (~/.cache/indexer-target), as scripts/real-validator-e2e.sh builds it."""
    if os.environ.get("TRUTH_BIN"):
        return os.environ["TRUTH_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/indexer-target")
    return os.path.join(target, "debug", "truth")


def expected_answers(events, sent, export=None):
    """The answers the query service must give for the sent history, from the workspace's one
    truth model per program (test-support's `dfpn` and `psy`, never the code under test): the
    DFPN lists newest first by creation (their entries folded in chain order), the Psy lists
    and statistics (folded in the export's log order, ids its seqs); see truth.rs."""
    command = [truth_bin(), "--events", events, "--sent", sent] + (["--export", export] if export else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as e:
        sys.exit(f"check.py: cannot run {command[0]} ({e}): build it with `cargo build -p test-support --bin truth`")
    if done.returncode != 0:
        sys.exit(f"check.py: {' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


# --- the history: checks of the sent order that no fold answers --------------------------------


CREATORS = {"RequestCreated": "requests", "WorkerRegistered": "workers", "ModelRegistered": "models"}


def entity_key(entry, disputes):
    """(family, key) of the API object a DFPN entry changes, or None (the request of a dispute's
    end is the one its ResolveDispute/CloseDispute instruction names; None when none does)."""
    f, name, program = entry["fields"], entry["name"], entry["program"]
    if program == "analysis_marketplace":
        if name in ("DisputeResolved", "DisputeClosed"):
            rid = disputes.get(f["dispute_id"])
            return ("requests", rid) if rid else None
        if name in ("ResolveDispute", "CloseDispute"):
            return None  # folded through the event it comes with
        return ("requests", f["request_id"])
    if program == "worker_registry":
        return ("workers", f["operator"])
    if program == "model_registry":
        if name == "IncrementUsage":
            return ("models", f["model"])
        return ("models", model_id(entry["program_id"], f["developer"], f["model_id"]))
    return None




def history(sent):
    """The successful DFPN entries in chain order (slot, position in the block, execution
    order), checked for histories the truth model cannot vouch for: an entry that landed before
    the successful creation of its entity (no program produces that; the sender holds such
    entries back until the creation was processed), a dispute's end whose request no
    ResolveDispute/CloseDispute instruction of its transaction names, a RequestFinalized with a
    status finalize never sets. Returns (problems, orphans: entries of an entity no successful
    transaction creates, which change nothing, as the chain failed the creation; reordered:
    entities whose entries landed out of their fixture order)."""
    order = sent.chain_order()
    will_create = {entity_key(e, {}) for tx in order for e in tx["entries"]
                   if e["name"] in CREATORS and e["program"] != "psy"}
    created, newest_n, reordered, orphans, problems = set(), {}, set(), [], []
    for tx in order:
        disputes = {e["fields"]["dispute"]: e["fields"]["request"] for e in tx["entries"]
                    if e["kind"] == "instruction" and e["name"] in ("ResolveDispute", "CloseDispute")}
        for e in tx["entries"]:
            if e["program"] not in ("analysis_marketplace", "worker_registry", "model_registry"):
                continue
            f = e["fields"]
            if e["name"] in ("DisputeResolved", "DisputeClosed") and f["dispute_id"] not in disputes:
                problems.append(f"n={e['n']} {e['name']} in {tx['signature']}: no ResolveDispute/CloseDispute "
                                f"instruction of that transaction names dispute {f['dispute_id']}, so its request is unknown")
                continue
            if e["name"] == "RequestFinalized" and f["status"] not in ("Finalized", "Expired"):
                problems.append(f"n={e['n']}: RequestFinalized with status {f['status']}, which finalize never sets")
            target = entity_key(e, disputes)
            if not target:
                continue
            if e["n"] < newest_n.get(target, -1):
                reordered.add(target)
            newest_n[target] = max(e["n"], newest_n.get(target, -1))
            if e["name"] in CREATORS:
                created.add(target)
            elif target not in will_create:
                orphans.append(f"{e['name']} n={e['n']} on {target[1]}")
            elif target not in created:
                problems.append(f"n={e['n']} {e['name']} (transaction {tx['signature']}, slot {tx['slot']}) landed "
                                f"before the creation of {target[0]} {target[1]}: no program produces that history, "
                                f"the API state cannot be checked")
    return problems, orphans, reordered


# --- commands ------------------------------------------------------------------------------------


def exported(export):
    """{(signature, event_index): line} of an export's chain records, and problems."""
    records, problems = {}, []
    for line in export:
        if line.get("kind") not in ("event", "instruction"):
            problems.append(f"unexpected {line.get('kind')} record at seq {line.get('seq')}")
            continue
        key = (line["signature"], line["event_index"])
        if key in records:
            problems.append(f"duplicate record {key} (seqs {records[key]['seq']} and {line['seq']})")
        records[key] = line
    return records, problems


def check_log(args):
    sent = Sent(args.events, args.sent)
    logged, problems = exported(lines(args.export))
    problems = sent.problems + problems
    for key, (tx, entry) in sent.ok.items():
        got = logged.get(key)
        what = f"{entry['program']} {entry['name']} n={entry['n']} {key}"
        if got is None:
            problems.append(f"missing: {what}")
            continue
        payload = base64.b64decode(entry["payload"])
        if entry["kind"] == "instruction":
            allowed = {payload.hex(), stored_instruction(entry["name"], entry["fields"]).hex()}
        else:
            allowed = {payload.hex()}
        if got.get("payload_hex") not in allowed:
            problems.append(f"payload differs: {what}: {got.get('payload_hex')}")
        for field, want in (("program", entry["program"]), ("name", entry["name"]), ("fields", entry["fields"]),
                            ("slot", tx["slot"]), ("tx_index", tx["tx_index"]), ("block_time", tx["block_time"])):
            if got.get(field) != want:
                problems.append(f"{field} differs: {what}: logged {got.get(field)!r}, sent {want!r}")
    for tx in sent.txs:
        if tx["status"] in ("ok", "failed") and (tx["status"] == "failed") != tx["fail_mode"]:
            problems.append(f"transaction {tx['index']} ({tx['signature']}) {tx['status']}, planned to "
                            f"{'fail' if tx['fail_mode'] else 'succeed'}: {tx.get('err')}")
    for key, got in logged.items():
        if key[0] in sent.not_ok:
            problems.append(f"entry of a failed/dropped transaction in the log: {got.get('name')} {key}")
        elif key not in sent.ok:
            problems.append(f"entry never sent: {got.get('name')} {key}")
    every_kind = {(e["program"], e["name"]) for e in sent.truth.values()}
    ok_kinds = {(e["program"], e["name"]) for _, e in sent.ok.values()}
    missing_kinds = sorted(every_kind - ok_kinds)
    if missing_kinds:
        problems.append(f"kinds never sent successfully (cannot be checked): {missing_kinds}")
    failed = sum(1 for tx in sent.txs if tx["status"] == "failed")
    instructions = sum(1 for _, e in sent.ok.values() if e["kind"] == "instruction")
    report(problems, "log vs sent",
           f"log ok: {len(logged)} records = the {len(sent.ok)} entries ({instructions} instructions) of "
           f"{len(sent.txs) - len(sent.not_ok)} successful transactions, each once, with their slot, block position "
           f"and block time; {len(ok_kinds)} kinds; none of {failed} failed and {len(sent.not_ok) - failed} dropped "
           f"transactions")


def check_v0(args):
    logged, problems = exported(lines(args.export))
    v0, stats = lookup.v0_problems(lines(args.sent), logged, lookup.rpc_caller(args.rpc))
    report(problems + v0, "v0 transactions",
           f"v0 ok: {stats['v0']} successful v0 transactions on the validator, loading {stats['writable']} writable "
           f"and {stats['readonly']} read-only addresses from lookup tables; their {stats['entries']} entries logged, "
           f"{stats['instructions']} instruction entries resolved as sent ({stats['from_tables']} with accounts from "
           f"a table); {stats['legacy']} legacy transactions answer \"legacy\"")


# Where an entry sits on chain, which a live and a backfilled log must agree on.
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
        elif [a[key].get(f) for f in ("payload_hex", "program", "name", "fields")] != \
                [b[key].get(f) for f in ("payload_hex", "program", "name", "fields")]:
            problems.append(f"content differs: {key}")
        elif a[key]["tx_index"] is None or b[key]["tx_index"] is None:
            problems.append(f"no block position: {key}")
        elif [a[key][f] for f in PLACE] != [b[key][f] for f in PLACE]:
            slots.append(f"{key}: slot {a[key]['slot']} position {a[key]['tx_index']} (block time "
                         f"{a[key]['block_time']}) in {args.export}, {b[key]['slot']} {b[key]['tx_index']} "
                         f"({b[key]['block_time']}) in {args.other}")
    if slots:
        problems.append(f"{len(slots)} records carry another slot/block position/block time; first: {slots[0]}")
        problems.extend(slots[1:])
    report(problems, "live log vs backfilled log",
           f"same log content: {len(a)} records (signature, index, program, name, fields, payload, slot, block "
           f"position, block time) in both")


DFPN_FAMILIES = [("requests", "RequestCreated", lambda f, e: f["request_id"], "/requests/", "id"),
                 ("workers", "WorkerRegistered", lambda f, e: f["operator"], "/workers/", "operator"),
                 ("models", "ModelRegistered", lambda f, e: model_id(e["program_id"], f["developer"], f["model_id"]),
                  "/models/", "id")]


def dfpn_problems(sent, expected, dfpn):
    """The DFPN endpoints against the truth model's objects (`expected["dfpn"]`); returns
    (problems, answers checked, note). The lists are newest first by the chain position of the
    creating event (slot, position in the block, event index: the projection's
    `created_version`), compared in that order."""
    problems, orphans, reordered = history(sent)
    checked = 0
    counts = {}
    for family, creator, key_of, path, key_field in DFPN_FAMILIES:
        items = expected["dfpn"][family]
        counts[family] = len(items)
        if not items:
            problems.append(f"no {family} were created by a successful transaction: nothing to check")
            continue
        # The whole list, paged, every field of every item, in the API's order.
        checked += 1
        compare_list(f"/{family}", get_all(dfpn, f"/{family}", problems), items, problems, key=key_field)
        # Every single object by id (workers by operator).
        for obj in items:
            k = obj[key_field]
            checked += 1
            status, body = get(f"{dfpn}{path}{urllib.parse.quote(k)}")
            if status != 200:
                problems.append(f"{path}{k}: status {status} {str(body)[:200]}")
            else:
                compare_object(f"{path}{k}", body, obj, problems)
        # Entities only failed or dropped transactions created: 404.
        absent = {key_of(e["fields"], e) for tx in sent.txs if tx["status"] != "ok" for e in tx["entries"]
                  if e["name"] == creator and e["program"] != "psy"} - {obj[key_field] for obj in items}
        for k in sorted(absent):
            checked += 1
            status, body = get(f"{dfpn}{path}{urllib.parse.quote(k)}")
            if status != 404:
                problems.append(f"{path}{k}: status {status}, expected 404 (created only by a failed transaction)")
    checked += 1
    status, health = get(f"{dfpn}/health")
    want_health = {"status": "healthy", "request_count": counts["requests"], "worker_count": counts["workers"],
                   "model_count": counts["models"]}
    if status != 200:
        problems.append(f"/health: status {status} {health}")
    else:
        compare_object("/health", health, want_health, problems)
    note = (f"{counts['requests']} requests, {counts['workers']} workers, {counts['models']} models in the truth model; "
            f"{len(reordered)} of them had entries land out of their fixture order; "
            f"{len(orphans)} entries named an entity no successful transaction created and changed nothing")
    return problems, checked, note


def api_problems(sent, expected, dfpn, psy_url):
    d, d_checked, d_note = dfpn_problems(sent, expected, dfpn)
    p, p_checked, p_note = psy.psy_problems(sent, expected, psy_url)
    return expected["problems"] + d + p, d_checked, d_note, p_checked, p_note


def check_api(args):
    """Polls the answers (every `--settle`-th of a second while they differ, the query service
    reloading after a commit) until they all match or `--settle` seconds passed; reports the
    last attempt."""
    sent = Sent(args.events, args.sent)
    _, export_problems = exported(lines(args.export))
    expected = expected_answers(args.events, args.sent, args.export)
    deadline, attempts = time.monotonic() + args.settle, 0
    while True:
        attempts += 1
        problems, d_checked, d_note, p_checked, p_note = api_problems(sent, expected, args.dfpn.rstrip("/"),
                                                                       args.psy.rstrip("/"))
        if not problems or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    report(sent.problems + export_problems + problems, f"endpoints vs sent state, attempt {attempts}",
           f"endpoints ok (attempt {attempts}): {d_checked} DFPN answers match the truth model (test-support) of the "
           f"sent history, every field, lists whole and newest first by the creation's chain position ({d_note}); "
           f"{p_checked} Psy answers likewise ({p_note})")


# --- self-test -----------------------------------------------------------------------------------

# Event discriminators as the reference lists them (§2).
REFERENCE_DISCRIMINATORS = {
    "RequestCreated": "662c00e1a36ea7bb", "ResultCommitted": "c5516d0480ad016d", "ResultRevealed": "6d0dca55943f94c0",
    "RequestFinalized": "309420e159219611", "RequestCancelled": "5b38c59c579dd643", "RequestExpired": "be3df7df596bf5fc",
    "DisputeOpened": "efde66ebc15501d6", "DisputeResolved": "7940f9998b80ecbb", "DisputeClosed": "ab2e9d234ee00dad",
    "WorkerRegistered": "20c44455ebc9d5b3", "WorkerUpdated": "2127e7be2ce2eebe", "WorkerStatusChanged": "8d382fa11785e94d",
    "WorkerUnbondingStarted": "3ecf55179a5b8f37", "WorkerWithdrawn": "92da5d32a3b9afb6",
    "WorkerReputationUpdated": "b90c52353ad301b1", "WorkerSlashed": "69c2efa6b14af3f2",
    "ModelRegistered": "dcc413472aeddb8a", "ModelUpdated": "b049f664d3f810f8", "ModelActivated": "b6b5185da0e09294",
    "ModelRetired": "1e1107c04324430b", "ModelSuspended": "81db66b8638a1992", "ModelReactivated": "362beb9848ec88e1",
    "ModelScoreUpdated": "40bd056e6a4992fc", "ModelStakeWithdrawn": "a5c9cc53629dc1e7",
    "ContentRegistered": "ea3bdc8915590294", "ContentStorageUpdated": "cd6dc758d0eb73eb",
    "ProvenanceClaimAdded": "37dce493b5026689", "ClaimVerified": "5ac4aada58661a04",
    "ContentOwnershipTransferred": "d5f3e8c3fa470368", "TreasuryInitialized": "c749aecd3b9137b3",
    "FeesDeposited": "82834aeec936cdc0", "RewardsDistributed": "0b2b9a00e5097455", "RewardAllocated": "17c42bd15f12a76d",
    "RewardsClaimed": "4b625812db705879", "SharesUpdated": "89b0227bcc30cc88", "TreasuryPauseToggled": "2a6d099a7632747b",
    "AuthorityTransferred": "f56db336875c1640", "RewardAccountInitialized": "08b1c63c190c94dc",
    "EpochInitialized": "032f8688eee936b2", "EpochAdvanced": "29dc0e7b7546759d",
    "RequestRewardsProcessed": "6218ce8500b0d78b",
}

IDS = {
    "analysis_marketplace": "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
    "worker_registry": "HmbTLCmaGvZhKnn1Zfa1JVnp7vkMV4DYVxPLWBVoN65L",
    "model_registry": "Fg6PaFpoGXkYsidMpWTK6W2BeZ7FEfcYkg476zPFsLnS",
    "content_registry": "GokivDYuQXPZCWRkwMhdH2h91KpDQXBEmpgBgs55bnpH",
    "rewards": "4uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofM",
    "psy": "DRkbSHnQBE5pjSP6BhTorUfWV96ynVFJPxpVuBtR59eP",
}

# PDAs computed with the Rust `Pubkey::find_program_address` (solana-pubkey 3, the function
# `shared::dfpn::worker_address`/`model_address` call through anchor-lang): (seeds, program,
# address, bump). Bumps 255, 254 and 253: the search past an on-curve first candidate is covered.
RUST_PDAS = [
    ([b"worker", bytes(32)], "worker_registry", "Fo4doMoTnYcXZGH7YLdUFmEB8yFoLxyvi3TweTKsQAcJ", 255),
    ([b"worker", bytes([1]) * 32], "worker_registry", "Edn2RDUyJvaWjJdPxgk55KqQkxVYrLS7Lkoks5UHXLSQ", 254),
    ([b"worker", bytes([3]) * 32], "worker_registry", "HtGMVoY3cdGzeWQ1QCQbsxseUAom8Cji3mJBMRqR5N6Y", 253),
    ([b"model", bytes([2]) * 32, bytes([0xab]) * 32], "model_registry", "9p8xtfHSr8Eq4bgxVVrWGHZxEsL2tJckh8boCwbEyi3H",
     253),
]


class Chain:
    """A synthetic sent history for the self-test: fixture lines and the sender's record."""

    def __init__(self):
        self.truth, self.txs, self.n, self.slot = [], [], 0, 100

    def tx(self, entries, status="ok"):
        self.slot += 1
        record = {"index": len(self.txs), "signature": f"sig{len(self.txs)}", "status": status,
                  "slot": self.slot, "tx_index": 0, "block_time": 1_700_000_000 + self.slot, "entries": []}
        events = 0
        for position, (program, name, fields, *accounts) in enumerate(entries):
            kind = "instruction" if name in INSTRUCTIONS else "event"
            if program == "psy":  # not decoded here: any bytes
                data = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).digest()
                index, events = events, events + 1
            elif kind == "event":
                data = event_discriminator(name) + b"".join(encode(k, fields[f]) for f, k in EVENTS[program][name])
                index, events = events, events + 1
            else:
                _, snake, args, names = INSTRUCTIONS[name]
                data = instruction_discriminator(snake) + b"".join(encode(k, fields[f]) for f, k in args)
                accounts = [fields[n] for n in names]
                index = 2048 + position
            line = {"n": self.n, "tx": len(self.txs), "program": program, "program_id": IDS[program], "name": name,
                    "kind": kind, "payload": base64.b64encode(data).decode(), "accounts": accounts if kind != "event" else [],
                    "instruction": name, "truth": {"program": program, "name": name, "fields": fields}}
            if kind == "instruction":
                line["truth"]["kind"] = "instruction"
            self.truth.append(line)
            record["entries"].append({k: line[k] for k in ("n", "tx", "kind", "program", "program_id", "name",
                                                           "instruction", "payload", "accounts")} | {"event_index": index})
            self.n += 1
        self.txs.append(record)
        return record

    def write(self, directory):
        events, sent = f"{directory}/events.jsonl", f"{directory}/sent.jsonl"
        with open(events, "w") as f:
            f.writelines(json.dumps(line) + "\n" for line in self.truth)
        with open(sent, "w") as f:
            f.writelines(json.dumps(tx) + "\n" for tx in self.txs)
        return events, sent


def key(byte):
    return b58encode(bytes([byte]) * 32)


T0 = 1_720_000_000_000_000  # 2024-07-03T09:46:40Z in unix microseconds


def contract_report(uuid, seconds, height=8):
    """A ContractReported event's fields."""
    return {"contract_uuid": uuid, "checkpoint_id": 7, "contract_id": len(uuid), "deployer": "0x" + "bb" * 20,
            "function_whitelist_root": "0x" + "dd" * 32, "timestamp": T0 + seconds * 1_000_000,
            "metadata": json.dumps({"state_tree_height": height,
                                    "functions": [{"name": "vote", "method_id": 7, "description": "d"}]})}


def worker(circuit, group, status, micros, key=None, duration=None, realm=16384, source="REALM"):
    """A WorkerEventReported event's fields (checkpoint 7)."""
    job_id = {"topic": 0, "goal_id": 7, "slot_id": 0, "circuit_type": circuit, "group_id": group,
              "sub_group_id": 0 if group else 1, "task_index": 0, "data_type": 8, "data_index": 0}
    return {"realm_id": realm, "public_key": key, "status": status, "source": source, "job_id": job_id,
            "checkpoint_id": 7, "duration": duration, "metadata": json.dumps({"slot_id": 0}), "timestamp": T0 + micros}


def synthetic_chain():
    c = Chain()
    op, dev, req, dispute, requester = key(1), key(2), key(3), key(4), key(5)
    mid = "ab" * 32
    model = model_id(IDS["model_registry"], dev, mid)
    c.tx([("worker_registry", "WorkerRegistered", {"operator": op, "stake": 6_000_000_000_000, "modalities": 9})])
    c.tx([("worker_registry", "WorkerUnbondingStarted", {"operator": op, "amount": 1_000_000_000_000, "unlock_slot": 9}),
          ("worker_registry", "WorkerUnbondingStarted", {"operator": op, "amount": 2_000_000_000_000, "unlock_slot": 9})])
    c.tx([("worker_registry", "WorkerWithdrawn", {"operator": op, "amount": 2_000_000_000_000, "closed": False})])
    c.tx([("worker_registry", "WorkerReputationUpdated", {"operator": op, "reputation": 7000, "tasks_completed": 3,
                                                           "tasks_failed": 1})])
    c.tx([("worker_registry", "WorkerSlashed", {"operator": op, "amount": 1, "reason": "Fraud",
                                                 "remaining_stake": 4_999_999_999_999})])
    c.tx([("worker_registry", "WorkerRegistered", {"operator": key(9), "stake": 5_000_000_000_000, "modalities": 1})],
         status="failed")
    c.tx([("model_registry", "ModelRegistered", {"developer": dev, "model_id": mid, "name": "m", "version": "1",
                                                  "modalities": 8, "model_uri": "u", "stake": 1})])
    c.tx([("model_registry", "ModelActivated", {"developer": dev, "model_id": mid, "score": 9000}),
          ("model_registry", "IncrementUsage", {"authority": op, "model": model}),
          ("model_registry", "IncrementUsage", {"authority": op, "model": model})])
    c.tx([("model_registry", "IncrementUsage", {"authority": op, "model": model})], status="failed")
    c.tx([("model_registry", "ModelUpdated", {"developer": dev, "model_id": mid, "old_version": "1",
                                               "new_version": "2", "new_model_uri": "v"})])
    created = c.tx([("analysis_marketplace", "RequestCreated", {
        "request_id": req, "requester": requester, "content_hash": "cd" * 32, "storage_uri": "ar://x",
        "required_modalities": 9, "min_workers": 1, "fee_amount": 10, "deadline": 2_000, "commit_deadline": 1_500})])
    c.tx([("analysis_marketplace", "ResultCommitted", {"request_id": req, "worker": op, "commitment": "00" * 32,
                                                        "commit_slot": 1})])
    c.tx([("analysis_marketplace", "ResultRevealed", {"request_id": req, "worker": op, "model": model,
                                                       "verdict": "Manipulated", "confidence": 90, "reveal_slot": 2})])
    c.tx([("rewards", "RequestRewardsProcessed", {"fee_amount": 10, "worker_pool": 7, "model_pool": 1, "treasury_share": 1,
                                                   "insurance_share": 1, "worker_count": 1, "model_developer": model,
                                                   "total_allocated": 7}),
          ("analysis_marketplace", "RequestFinalized", {"request_id": req, "status": "Finalized", "reveal_count": 1,
                                                         "fee_amount": 10})])
    c.tx([("analysis_marketplace", "DisputeOpened", {"dispute_id": dispute, "request_id": req, "reveal_id": key(6),
                                                      "challenger": key(7), "challenged_worker": op,
                                                      "reason": "Collusion", "evidence_hash": "ee" * 32,
                                                      "stake_amount": 1_000_000_000_000})])
    c.tx([("analysis_marketplace", "ResolveDispute", {"resolver": key(8), "request": req, "dispute": dispute,
                                                       "in_favor_of_challenger": True, "slash_amount": 5}),
          ("analysis_marketplace", "DisputeResolved", {"dispute_id": dispute, "in_favor_of_challenger": True,
                                                        "resolver": key(8), "slash_amount": 5, "challenger_reward": 1})])
    c.tx([("analysis_marketplace", "RequestCreated", {
        "request_id": key(10), "requester": requester, "content_hash": "cd" * 32, "storage_uri": "ar://y",
        "required_modalities": 1, "min_workers": 1, "fee_amount": 10, "deadline": 2_000, "commit_deadline": 1_500})],
        status="failed")
    late = c.tx([("analysis_marketplace", "RequestCreated", {
        "request_id": key(11), "requester": requester, "content_hash": "cd" * 32, "storage_uri": "ar://z",
        "required_modalities": 1, "min_workers": 1, "fee_amount": 10, "deadline": 2_000, "commit_deadline": 1_500})])
    c.tx([("analysis_marketplace", "ResultCommitted", {"request_id": key(12), "worker": op, "commitment": "00" * 32,
                                                        "commit_slot": 1})])
    # Psy: a GUTA user event, then (later in chain, earlier in time) the user's registration;
    # contracts "c", "a", "b", then "a" again with an older timestamp (the newest report stays;
    # "f" only in a failed transaction); a job PENDING, PROCESSING, COMPLETED, then a late
    # PROCESSING with an older timestamp (it stays Completed); a coordinator job (no realm) that
    # fails; a checkpoint leaf.
    user = lambda tx_type, micros, meta: {"user_id": "user_003", "public_key": "0x" + "aa" * 20,  # noqa: E731
                                          "tx_type": tx_type, "metadata": meta, "timestamp": T0 + micros}
    c.tx([("psy", "UserEventReported", user("GUTA", 30_000_000, "{}"))])
    c.tx([("psy", "UserEventReported", user("REGISTER_USER", 10_000_123, '{"checkpoint_id":7}'))])
    for at, uuid in enumerate(("c", "a", "b")):
        c.tx([("psy", "ContractReported", contract_report(uuid, 20 + at))])
    c.tx([("psy", "ContractReported", contract_report("a", 1, height=99))])
    c.tx([("psy", "ContractReported", contract_report("f", 30))], status="failed")
    w = "0x" + "cc" * 20
    jobs = [c.tx([("psy", "WorkerEventReported", worker(6, 1, "PENDING", 40_500_000))]),
            c.tx([("psy", "WorkerEventReported", worker(6, 1, "PROCESSING", 41_000_000, w))]),
            c.tx([("psy", "WorkerEventReported", worker(6, 1, "COMPLETED", 50_000_000, w, 9_000)),
                  ("psy", "WorkerEventReported", worker(6, 1, "PROCESSING", 45_000_000, w))]),
            c.tx([("psy", "WorkerEventReported", worker(32, 0, "FAILED", 60_000_000, w, 5_000, None, "COORDINATOR"))])]
    c.tx([("psy", "CheckpointLeafReported", {"checkpoint_id": 7, "fees_collected": 10, "user_ops_processed": 2,
                                             "total_transactions": 2, "slots_modified": 3, "metadata": "{}",
                                             "timestamp": T0 + 61_000_000})])
    # The export's log seqs: chain order, except that contracts "c" and "b" were logged in each
    # other's place (a live log is in arrival order): /contracts follows the seqs.
    seqs, seq = {}, 0
    for tx in c.txs:
        if tx["status"] == "ok":
            for e in tx["entries"]:
                seq += 1
                seqs[(tx["signature"], e["event_index"])] = seq
    sig = [tx["signature"] for tx in c.txs if tx["entries"][0]["name"] == "ContractReported"]  # c, a, b, a, f
    seqs[(sig[0], 0)], seqs[(sig[2], 0)] = seqs[(sig[2], 0)], seqs[(sig[0], 0)]
    s_guta, s_register = (seqs[(tx["signature"], 0)] for tx in c.txs if tx["entries"][0]["name"] == "UserEventReported")
    functions = [{"name": "vote", "method_id": 7, "description": "d"}]
    psy_contract = lambda uuid, at: {"uuid": uuid, "deployer": "0x" + "bb" * 20, "state_tree_height": 8,  # noqa: E731
                                     "function_count": 1, "functions": functions, "deployed_at": at,
                                     "contract_id": len(uuid), "checkpoint_id": 7,
                                     "function_whitelist_root": "0x" + "dd" * 32}
    j, k = "0-7-0-6-1-0-0-8-0", "0-7-0-32-0-1-0-8-0"
    row = lambda tx, index, job_id, status, start, end, key, duration, circuit="UserEndCap", realm=16384, \
        source="REALM": {  # noqa: E731
            "id": seqs[(tx["signature"], index)], "realm_id": realm, "worker_public_key": key, "status": status,
            "start_time": start, "end_time": end, "job_id": job_id, "circuit_type": circuit, "source": source,
            "checkpoint_id": 7, "topic": "GenerateStandardProof", "duration": duration}
    psy_expected = {
        "contracts": {"c": psy_contract("c", "2024-07-03T09:47:00Z"), "a": psy_contract("a", "2024-07-03T09:47:01Z"),
                      "b": psy_contract("b", "2024-07-03T09:47:02Z")},
        "/contracts": ["c", "a", "b"],
        "/user_events": [{"id": s_guta, "user_id": "user_003", "public_key": "0x" + "aa" * 20,
                          "tx_type": "UserTransaction", "checkpoint_id": None, "timestamp": "2024-07-03T09:47:10Z"},
                         {"id": s_register, "user_id": "user_003", "public_key": "0x" + "aa" * 20,
                          "tx_type": "RegisterUser", "checkpoint_id": 7, "timestamp": "2024-07-03T09:46:50.000123Z"}],
        "/worker_events": [
            row(jobs[3], 0, k, "Failed", "2024-07-03T09:47:35Z", "2024-07-03T09:47:40Z", w, 5_000,
                "GenerateRollupStateTransitionProof", None, "COORDINATOR"),
            row(jobs[2], 0, j, "Completed", "2024-07-03T09:47:21Z", "2024-07-03T09:47:30Z", w, 9_000),
            row(jobs[2], 1, j, "InProgress", "2024-07-03T09:47:25Z", None, w, None),
            row(jobs[1], 0, j, "InProgress", "2024-07-03T09:47:21Z", None, w, None),
            row(jobs[0], 0, j, "Pending", "2024-07-03T09:47:20.500Z", None, None, None)],
        "/stats/jobs/counts": {"Pending": 0, "InProgress": 0, "Completed": 1, "Failed": 1},
        "/stats/jobs/all-realms": [{"realm_id": 16384, "total_jobs": 1, "completed_jobs": 1, "failed_jobs": 0,
                                    "success_rate": 1.0}],
        "absent": "f",
    }
    expected = {
        "workers": {op: {"id": worker_id(IDS["worker_registry"], op), "operator": op, "stake": 4_999_999_999_999,
                         "reputation": 7000, "modalities": 9, "status": "Slashed", "tasks_completed": 3,
                         "tasks_failed": 1, "last_active_slot": 104}},
        "models": {model: {"id": model, "developer": dev, "name": "m", "version": "2", "modalities": 8, "model_uri": "v",
                           "status": "Inactive", "score": 9000, "total_uses": 2, "created_at": 1_700_000_107}},
        "requests": {req: {"id": req, "requester": requester, "content_hash": "cd" * 32, "storage_uri": "ar://x",
                           "modalities": 9, "status": "Finalized", "fee_amount": 10, "deadline": 2_000,
                           "commit_deadline": 1_500, "created_at": created["block_time"], "commit_count": 1,
                           "reveal_count": 1},
                     key(11): {"id": key(11), "requester": requester, "content_hash": "cd" * 32,
                               "storage_uri": "ar://z", "modalities": 1, "status": "Created", "fee_amount": 10,
                               "deadline": 2_000, "commit_deadline": 1_500, "created_at": late["block_time"],
                               "commit_count": 0, "reveal_count": 0}},
        "absent": {"/workers/": key(9), "/requests/": key(10)},
        # The lists' order: newest first by the creation's chain position.
        "order": {"requests": [key(11), req], "workers": [op], "models": [model]},
        "psy": psy_expected,
        "seqs": seqs,
    }
    return c, expected


class FakeApi(http.server.BaseHTTPRequestHandler):
    """Serves fixed answers: path -> (status, body). A list answer is paged by `limit` (capped
    at 1,000, as the API caps it) and `offset`; with `ignore_offset` every page is the first."""
    answers = {}
    ignore_offset = False

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urllib.parse.urlsplit(self.path)
        status, body = self.answers.get(self.path) or self.answers.get(url.path, (404, {"error": "Not Found"}))
        query = dict(urllib.parse.parse_qsl(url.query))
        if isinstance(body, list) and "limit" in query:
            offset = 0 if self.ignore_offset else int(query.get("offset", 0))
            body = body[offset:offset + min(1000, int(query["limit"]))]
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


def right_answers(expected):
    """The answers of a service that is right about the synthetic chain."""
    answers = {"/health": (200, {"status": "healthy", "request_count": 2, "worker_count": 1, "model_count": 1})}
    for family, path in (("requests", "/requests/"), ("workers", "/workers/"), ("models", "/models/")):
        answers[f"/{family}"] = (200, [expected[family][k] for k in expected["order"][family]])
        for k, obj in expected[family].items():
            answers[f"{path}{k}"] = (200, obj)
    ep = expected["psy"]
    answers["/contracts"] = (200, [ep["contracts"][u] for u in ep["/contracts"]])
    for uuid, obj in ep["contracts"].items():
        answers[f"/contracts/{uuid}"] = (200, obj)
    for path in ("/user_events", "/worker_events", "/stats/jobs/counts", "/stats/jobs/all-realms"):
        answers[path] = (200, ep[path])
    return answers


def mutated(answers, path, change):
    """A copy of `answers` whose body at `path` is `change(copy of body)`."""
    out = dict(answers)
    status, body = answers[path]
    out[path] = (status, change(json.loads(json.dumps(body))))
    return out


def set_item(at, **fields):
    def change(body):
        body[at].update(fields)
        return body
    return change


def write_export(path, seqs):
    """An export holding only the records' keys and seqs (what the truth binary reads of it)."""
    with open(path, "w") as f:
        f.writelines(json.dumps({"kind": "event", "signature": k[0], "event_index": k[1], "seq": v}) + "\n"
                     for k, v in seqs.items())


def api_selftest(expect, sent, expected, truth_answers, url):
    """The API check against a fake service: right answers pass; each plausible bug fails."""
    seqs = expected["seqs"]
    answers = right_answers(expected)
    run = lambda: api_problems(sent, truth_answers, url, url)  # noqa: E731
    FakeApi.answers = answers
    problems, d_checked, _, p_checked, _ = run()
    expect(not problems and (d_checked, p_checked) == (10, 9),
           f"the API check passes on right answers, {d_checked} + {p_checked} of them: {problems}")
    for path, absent in expected["absent"].items():
        expect(f"{path}{absent}" not in answers, "absent entities are 404 in the fake")
    op = next(iter(expected["workers"]))
    req = next(iter(expected["requests"]))
    swap = lambda body: body[::-1]  # noqa: E731
    bugs = [  # (what, path, change of its body, a word the problems must hold)
        ("a wrong field", f"/workers/{op}", lambda b: dict(b, last_active_slot=1), "last_active_slot"),
        ("a failed-only entity answering 200", "/requests/" + key(10), None, "expected 404"),
        ("an extra field", "/models", lambda b: [dict(b[0], comment="x")], "fields"),
        ("a request list oldest first", "/requests", swap, "documented order"),
        ("a request list missing an item", "/requests", lambda b: b[:1], "items"),
        ("a request's status wrong in the list only", "/requests", set_item(0, status="Expired"), "status"),
        ("a contract answered from its last report, not its newest", "/contracts/a",
         lambda b: dict(b, state_tree_height=99), "state_tree_height"),
        ("the contract list by chain order, not log seq", "/contracts", swap, "documented order"),
        ("a contract list item's deployer", "/contracts", set_item(1, deployer="0x" + "00" * 20), "deployer"),
        ("a contract reported only by a failed transaction", "/contracts/f", None, "expected 404"),
        ("user events by seq alone", "/user_events", lambda b: sorted(b, key=lambda e: -e["id"]), "documented order"),
        ("a user event's id", "/user_events", set_item(0, id=0), "documented order"),
        ("a user event's time without its microseconds", "/user_events",
         set_item(1, timestamp="2024-07-03T09:46:50Z"), "timestamp"),
        ("a user event's checkpoint not read from its metadata", "/user_events", set_item(1, checkpoint_id=None),
         "checkpoint_id"),
        ("a worker event's status in the real spelling", "/worker_events", set_item(1, status="COMPLETED"), "status"),
        ("a worker event's start without its duration", "/worker_events",
         set_item(1, start_time="2024-07-03T09:47:30Z"), "start_time"),
        ("a worker event lost", "/worker_events", lambda b: b[1:], "items"),
        ("a job moved back by a late event", "/stats/jobs/counts",
         lambda b: dict(b, Completed=0, InProgress=1), "Completed"),
        ("a realm's success rate", "/stats/jobs/all-realms", set_item(0, success_rate=0.5), "success_rate"),
        ("the coordinator's missing realm listed", "/stats/jobs/all-realms",
         lambda b: b + [{"realm_id": None, "total_jobs": 1, "completed_jobs": 0, "failed_jobs": 1, "success_rate": 0.0}],
         "items"),
    ]
    for what, path, change, word in bugs:
        if change is None:
            FakeApi.answers = dict(answers, **{path: (200, {})})
        else:
            FakeApi.answers = mutated(answers, path, change)
        problems = run()[0]
        expect(any(word in p for p in problems), f"{what} fails: {problems}")
    # A list longer than a page (1,000): paged through whole; a service ignoring `offset`, or a
    # fold that misses an item past the first page, fails.
    many = [{"id": i} for i in range(2_500, 0, -1)]
    FakeApi.answers = {"/long": (200, many)}
    problems = []
    got = get_all(url, "/long", problems)
    expect(got == many and not problems, f"a 2,500-item list read whole over 3 pages: {len(got or [])} {problems}")
    problems = []
    compare_list("/long", got, many[:1_000] + many[1_001:], problems, key="id")
    expect(any("items" in p for p in problems), "an item past the first page missing from the fold fails")
    FakeApi.ignore_offset = True
    problems = []
    expect(get_all(url, "/long", problems) is None and any("offset ignored" in p for p in problems),
           f"a service ignoring offset fails: {problems}")
    FakeApi.ignore_offset = False
    # `check.py api --settle`: a service that turns right (its readers reloaded) passes on a later
    # attempt; one still wrong at the end fails.
    with tempfile.TemporaryDirectory() as directory:
        export = f"{directory}/export.jsonl"
        write_export(export, seqs)
        args = argparse.Namespace(events=sent.events_path, sent=sent.sent_path, export=export, dfpn=url, psy=url,
                                  settle=10.0)
        FakeApi.answers = mutated(answers, "/worker_events", swap)
        threading.Timer(1.0, lambda: setattr(FakeApi, "answers", answers)).start()
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                check_api(args)
            expect("attempt 1)" not in out.getvalue(), f"a settled service passes after polling: {out.getvalue()}")
        except SystemExit:
            expect(False, "check.py api --settle fails on a service that turned right")
        FakeApi.answers = mutated(answers, "/worker_events", swap)
        args.settle = 1.0
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                check_api(args)
            expect(False, "check.py api passes a service still wrong after --settle")
        except SystemExit:
            pass
    FakeApi.answers = answers


def selftest(_args):
    failures = []

    def expect(condition, what):
        if not condition:
            failures.append(what)

    # Keys and points.
    expect(b58decode("11111111111111111111111111111111") == bytes(32), "base58 of the zero key")
    for name, program in IDS.items():
        expect(b58encode(pubkey(program)) == program, f"base58 round trip of {name}")
        expect(on_curve(pubkey(program)), f"the {name} id (a keypair's public key) is an ed25519 point")
    base_point = bytes.fromhex("58" + "66" * 31)
    expect(on_curve(base_point), "the ed25519 base point")
    expect(on_curve(bytes(32)) and on_curve(bytes([1]) + bytes(31)), "y = 0 and y = 1 are points")
    expect(not on_curve(bytes([2]) + bytes(31)), "y = 2 is not a point")
    for seeds, program, address, bump in RUST_PDAS:
        got, got_bump = find_program_address(seeds, pubkey(IDS[program]))
        expect((b58encode(got), got_bump) == (address, bump), f"PDA {seeds} under {program}: {b58encode(got)} "
                                                              f"bump {got_bump}, Rust gives {address} bump {bump}")
        expect(not on_curve(got), f"PDA {seeds} is off the curve")
    expect(worker_id(IDS["worker_registry"], key(1)) == RUST_PDAS[1][2], "worker_id")
    expect(model_id(IDS["model_registry"], key(2), "ab" * 32) == RUST_PDAS[3][2], "model_id")

    # Layouts: names match the reference's discriminators, 41 events, instructions' discriminators.
    names = {name for program in EVENTS.values() for name in program}
    expect(len(names) == 41 and names == set(REFERENCE_DISCRIMINATORS), f"event names: {sorted(names ^ set(REFERENCE_DISCRIMINATORS))}")
    for name, hex_ in REFERENCE_DISCRIMINATORS.items():
        expect(event_discriminator(name).hex() == hex_, f"discriminator of {name}")
    for name, hex_ in {"IncrementUsage": "d7c404cd2415e3ef", "ResolveDispute": "e706ca0660670ce6",
                       "CloseDispute": "3c125caa64c392c4", "IncrementAnalysisCount": "501ccc820a74b6cf"}.items():
        expect(instruction_discriminator(INSTRUCTIONS[name][1]).hex() == hex_, f"discriminator of {name}")
    # A hand-built RequestCreated: two keys, a hash, "ab", 9, 2, fee 5, deadline -1, commit 7.
    raw = (event_discriminator("RequestCreated") + bytes([3]) * 32 + bytes([5]) * 32 + bytes([0xcd]) * 32
           + b"\x02\0\0\0ab" + b"\x09\x02" + (5).to_bytes(8, "little") + (-1).to_bytes(8, "little", signed=True)
           + (7).to_bytes(8, "little"))
    expect(decode_event("analysis_marketplace", raw) == ("RequestCreated", {
        "request_id": key(3), "requester": key(5), "content_hash": "cd" * 32, "storage_uri": "ab",
        "required_modalities": 9, "min_workers": 2, "fee_amount": 5, "deadline": -1, "commit_deadline": 7}),
        "decoding a hand-built RequestCreated")
    for bad in (raw + b"\0", raw[:-1]):
        try:
            decode_event("analysis_marketplace", bad)
            failures.append("a RequestCreated with trailing or missing bytes decodes")
        except ValueError:
            pass
    rewards = {"fee_amount": 1, "worker_pool": 2, "model_pool": 3, "treasury_share": 4, "insurance_share": 5,
               "worker_count": 6, "model_developer": None, "total_allocated": 7}
    data = event_discriminator("RequestRewardsProcessed") + b"".join(
        encode(k, rewards[f]) for f, k in EVENTS["rewards"]["RequestRewardsProcessed"])
    expect(decode_event("rewards", data) == ("RequestRewardsProcessed", rewards), "an Option None")
    resolve = instruction_discriminator("resolve_dispute") + b"\x01" + (77).to_bytes(8, "little")
    accounts = [key(1), key(2), key(3), key(4)]
    expect(decode_instruction("analysis_marketplace", resolve, accounts) == ("ResolveDispute", {
        "resolver": key(1), "request": key(2), "dispute": key(3), "in_favor_of_challenger": True, "slash_amount": 77}),
        "decoding resolve_dispute from data and accounts")
    expect(stored_instruction("ResolveDispute", decode_instruction("analysis_marketplace", resolve, accounts)[1])
           == b"\x01" + bytes([1]) * 32 + bytes([2]) * 32 + bytes([3]) * 32 + b"\x01" + (77).to_bytes(8, "little"),
           "the stored Borsh of ResolveDispute")

    # The fold and the API check against a fake API: the right answers pass, each bug fails.
    chain, expected = synthetic_chain()
    with tempfile.TemporaryDirectory() as directory:
        events, sent_path = chain.write(directory)
        sent = Sent(events, sent_path)
        expect(not sent.problems, f"the synthetic record reads cleanly: {sent.problems}")
        problems, orphans, _ = history(sent)
        expect(not problems, f"the synthetic history: {problems}")
        expect(len(orphans) == 1 and orphans[0].endswith(f"on {key(12)}"), f"orphans: {orphans}")
        # The truth models (the `truth` binary) on the synthetic chain: the objects and orders
        # this test states by hand, the Psy lists in the export's seq order.
        export = f"{directory}/export.jsonl"
        write_export(export, expected["seqs"])
        truth_answers = expected_answers(events, sent_path, export)
        expect(not truth_answers["problems"], f"the truth binary's problems: {truth_answers['problems']}")
        for family, _, _, _, key_field in DFPN_FAMILIES:
            got = truth_answers["dfpn"][family]
            want = [expected[family][k] for k in expected["order"][family]]
            expect(got == want, f"truth model of {family}: {got} != {want}")
        ep, tp = expected["psy"], truth_answers["psy"]
        for name, got, want in (("/contracts", tp["contracts"], [ep["contracts"][u] for u in ep["/contracts"]]),
                                ("/worker_events", tp["worker_events"], ep["/worker_events"]),
                                ("/user_events", tp["user_events"], ep["/user_events"]),
                                ("/stats/jobs/counts", tp["job_counts"], ep["/stats/jobs/counts"]),
                                ("/stats/jobs/all-realms", tp["all_realms"], ep["/stats/jobs/all-realms"])):
            expect(got == want, f"truth model of {name}: {got} != {want}")
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            api_selftest(expect, sent, expected, truth_answers, f"http://127.0.0.1:{server.server_address[1]}")
        finally:
            server.shutdown()

    # A resolve without its instruction cannot be placed, nor an entry landed before its entity's
    # creation: problems, not skips.
    broken = Chain()
    broken.tx([("analysis_marketplace", "DisputeClosed", {"dispute_id": key(4)})])
    broken.tx([("model_registry", "ModelActivated", {"developer": key(2), "model_id": "ab" * 32, "score": 1})])
    broken.tx([("model_registry", "ModelRegistered", {"developer": key(2), "model_id": "ab" * 32, "name": "m",
                                                       "version": "1", "modalities": 8, "model_uri": "u", "stake": 1})])
    with tempfile.TemporaryDirectory() as directory:
        problems = history(Sent(*broken.write(directory)))[0]
        expect(any("request is unknown" in p for p in problems), "a DisputeClosed without CloseDispute")
        expect(any("landed before the creation of models" in p for p in problems),
               f"an activation before the registration: {problems}")

    lookup.selftest(expect)

    if failures:
        print(f"selftest FAILED: {len(failures)} problem(s)", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        sys.exit(1)
    print("selftest ok: keys and PDAs, 41 event layouts and 4 instruction layouts, the DFPN and Psy truth models (test-support's "
          "`truth` binary) on a synthetic chain, the history checks, the API check (every field, documented orders, paging past 1,000; each of 20 planted bugs fails), the v0 check")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("log"); p.add_argument("--events", required=True); p.add_argument("--sent", required=True); p.add_argument("--export", required=True)
    p = sub.add_parser("same"); p.add_argument("--export", required=True); p.add_argument("--other", required=True)
    p = sub.add_parser("api")
    for flag in ("--events", "--sent", "--export", "--dfpn", "--psy"):
        p.add_argument(flag, required=True)
    p.add_argument("--settle", type=float, default=0.0)
    p = sub.add_parser("v0"); p.add_argument("--sent", required=True); p.add_argument("--export", required=True); p.add_argument("--rpc", required=True)
    sub.add_parser("selftest")
    args = parser.parse_args()
    {"log": check_log, "same": check_same, "api": check_api, "v0": check_v0,
     "selftest": selftest}[args.cmd](args)


if __name__ == "__main__":
    main()
