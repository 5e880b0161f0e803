//! `truth --events E --sent S [--export X]`: the answers the query service must give for a sent
//! history, from this crate's truth models alone (`test_support::dfpn`, `test_support::psy`),
//! for the real-validator check (`validator/e2e/check.py api`).
//!
//! E is `fixture-node events` (one ground-truth line an entry: `n`, `program`, `program_id`,
//! `truth.fields`), S the sender's record (`validator-harness send --out`: one transaction a
//! line with `status`, `signature`, `slot`, `tx_index`, `block_time` and its `entries`, each
//! with `n` and `event_index`), X an `indexer export` (a record's log seq by (signature,
//! event_index)). Only the entries of transactions with status `ok` count.
//!
//! Order: the DFPN entries fold in chain order, (slot, position in the block, event index), as
//! the projection folds them by chain position whatever order they were logged in. The Psy
//! entries fold in log order, by the seq the export gives each one: a Psy record's list id and
//! every tie it breaks (a job's or contract's newest report at equal times, `/contracts`' order
//! by first report) are its log seq, and a live log holds records in arrival order (a
//! transaction caught up after the restart is logged after later ones), so chain order would
//! be wrong there; a backfilled log's seqs are chain order, where the two agree. Without
//! `--export` the Psy part is folded in chain order and its ids are `null`.
//!
//! Prints one JSON object:
//! `{"dfpn": {"requests"|"workers"|"models": [objects newest first by creation]},
//!   "psy": {"contracts": [newest first by first report], "worker_events": [rows with id],
//!           "user_events": [rows with id], "job_counts": {..}, "all_realms": [..],
//!           "jobs": n, "realms": n, "checkpoints": n},
//!   "problems": [text]}`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde_json::{json, Value};
use shared::{ProgramKind, ProgramSet};
use test_support::dfpn::{creation_order_with, expected_dfpn_with, DfpnFamily};
use test_support::psy::{psy_event_of, Psy};

fn lines(path: &str) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{path}: {e}")))
        .collect()
}

struct Args {
    events: String,
    sent: String,
    export: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut events = None;
    let mut sent = None;
    let mut export = None;
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--events" => events = Some(value),
            "--sent" => sent = Some(value),
            "--export" => export = Some(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Args { events: events.ok_or("--events is required")?, sent: sent.ok_or("--sent is required")?, export })
}

/// The program ids the fixture lines name, as the models derive worker and model ids under them.
fn programs(truth: &BTreeMap<u64, Value>) -> Result<ProgramSet, String> {
    let mut ids: BTreeMap<&str, &str> = BTreeMap::new();
    for line in truth.values() {
        let (Some(program), Some(id)) = (line["program"].as_str(), line["program_id"].as_str()) else { continue };
        if let Some(known) = ids.insert(program, id) {
            if known != id {
                return Err(format!("program {program} at two ids: {known} and {id}"));
            }
        }
    }
    let pairs = ProgramKind::ALL.into_iter().filter_map(|kind| ids.get(kind.as_str()).map(|id| (kind, *id)));
    ProgramSet::parse(pairs).map_err(|e| format!("program ids: {e}"))
}

fn run() -> Result<Value, String> {
    let args = args()?;
    let truth: BTreeMap<u64, Value> =
        lines(&args.events)?.into_iter().filter_map(|l| Some((l["n"].as_u64()?, l))).collect();
    let programs = programs(&truth)?;
    let seqs: Option<BTreeMap<(String, u64), u64>> = match &args.export {
        None => None,
        Some(path) => Some(
            lines(path)?
                .iter()
                .filter_map(|r| {
                    Some(((r["signature"].as_str()?.to_owned(), r["event_index"].as_u64()?), r["seq"].as_u64()?))
                })
                .collect(),
        ),
    };
    let mut problems: Vec<String> = Vec::new();
    // Every entry of a successful transaction as a ground-truth line with its chain place.
    let mut entries: Vec<((u64, u64, u64), Value)> = Vec::new();
    for tx in lines(&args.sent)? {
        if tx["status"] != "ok" {
            continue;
        }
        let (Some(slot), Some(tx_index)) = (tx["slot"].as_u64(), tx["tx_index"].as_u64()) else { continue };
        for entry in tx["entries"].as_array().into_iter().flatten() {
            let n = entry["n"].as_u64().ok_or("an entry without n")?;
            let event_index = entry["event_index"].as_u64().ok_or("an entry without event_index")?;
            let Some(line) = truth.get(&n) else { continue }; // check.py reports it
            let line = json!({
                "program": line["program"], "name": line["truth"]["name"], "kind": line["kind"],
                "fields": line["truth"]["fields"], "slot": slot, "tx_index": tx_index, "event_index": event_index,
                "block_time": tx["block_time"], "signature": tx["signature"],
            });
            entries.push(((slot, tx_index, event_index), line));
        }
    }
    entries.sort_by_key(|(place, _)| *place);

    // DFPN, in chain order.
    let dfpn_lines: Vec<String> =
        entries.iter().filter(|(_, l)| l["program"] != "psy").map(|(_, l)| l.to_string()).collect();
    let expected = expected_dfpn_with(&programs, dfpn_lines.iter().map(String::as_str));
    let mut dfpn = serde_json::Map::new();
    for (name, family, objects) in [
        ("requests", DfpnFamily::Requests, &expected.requests),
        ("workers", DfpnFamily::Workers, &expected.workers),
        ("models", DfpnFamily::Models, &expected.models),
    ] {
        let order = creation_order_with(&programs, dfpn_lines.iter().map(String::as_str), family);
        let newest_first: Vec<Value> = order.iter().rev().filter_map(|id| objects.get(id).cloned()).collect();
        dfpn.insert(name.into(), Value::Array(newest_first));
    }

    // Psy, in log order (chain order without an export).
    let mut psy_entries: Vec<(Option<u64>, &Value)> = Vec::new();
    for (_, line) in entries.iter().filter(|(_, l)| l["program"] == "psy") {
        let seq = match &seqs {
            None => None,
            Some(seqs) => {
                let key = (
                    line["signature"].as_str().unwrap_or_default().to_owned(),
                    line["event_index"].as_u64().unwrap_or(0),
                );
                match seqs.get(&key) {
                    Some(seq) => Some(*seq),
                    None => {
                        problems
                            .push(format!("psy {} of {} (index {}) is not in the export", line["name"], key.0, key.1));
                        continue;
                    }
                }
            }
        };
        psy_entries.push((seq, line));
    }
    psy_entries.sort_by_key(|(seq, _)| *seq); // stable: chain order without seqs
    let ids: Vec<Option<u64>> = psy_entries.iter().map(|(seq, _)| *seq).collect();
    let model = Psy::folded(psy_entries.iter().map(|(_, line)| psy_event_of(line).expect("a psy line")));
    let with_id = |mut row: Value, order: usize| {
        row["id"] = json!(ids[order]);
        row
    };
    let worker_events: Vec<Value> =
        model.worker_records(|_| true, false).into_iter().map(|w| with_id(Psy::worker_row(w), w.order)).collect();
    let user_events: Vec<Value> =
        model.user_records(|_| true, false).into_iter().map(|u| with_id(Psy::user_row(u), u.order)).collect();
    let psy = json!({
        "contracts": model.contracts(), "worker_events": worker_events, "user_events": user_events,
        "job_counts": model.counts(), "all_realms": model.all_realms(), "jobs": model.jobs().len(),
        "realms": model.realms().len(), "checkpoints": model.leaves.len(),
    });
    Ok(json!({"dfpn": dfpn, "psy": psy, "problems": problems}))
}

fn main() -> ExitCode {
    match run() {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("truth: {e}");
            ExitCode::FAILURE
        }
    }
}
