//! `send`: submits planned fixture transactions to the emitter at a target rate (preflight off,
//! so failing transactions land on chain as failed), waits until each reached `confirmed` or the
//! timeout, looks up their blocks (block time, position in the block), and writes the record of
//! what it sent. Transactions go in plan order, except that one naming an entity whose first
//! transaction is still in flight waits for it (`order`). Every `--v0-every`-th goes as a
//! version-0 transaction against lookup tables created before the first send (`lookup`).

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::Serialize;
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_hash::Hash;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_rpc_client_api::request::RpcRequest;
use solana_signature::Signature;
use solana_transaction::versioned::VersionedTransaction;
use tokio::sync::Semaphore;

use crate::cli::SendArgs;
use crate::events::{plan, read_entries, EntryKind, PlannedTx};
use crate::lookup::{self, Form};
use crate::order::Gate;

/// What `send` did, printed as one JSON line. An entry is an event or an instruction entry;
/// `*_events` and `*_instructions` split the entries by kind.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Transactions sent.
    pub transactions: u64,
    /// Entries sent.
    pub entries: u64,
    /// Events sent.
    pub events: u64,
    /// Instruction entries sent.
    pub instructions: u64,
    /// Transactions confirmed successful.
    pub ok_transactions: u64,
    /// Entries of successful transactions (what the indexer must log).
    pub ok_entries: u64,
    /// Events of successful transactions.
    pub ok_events: u64,
    /// Instruction entries of successful transactions.
    pub ok_instructions: u64,
    /// Transactions confirmed failed.
    pub failed_transactions: u64,
    /// Entries of failed transactions.
    pub failed_entries: u64,
    /// Transactions never confirmed.
    pub dropped_transactions: u64,
    /// Entries of dropped transactions.
    pub dropped_entries: u64,
    /// Address lookup tables created for the v0 transactions.
    pub lookup_tables: u64,
    /// Addresses those tables hold.
    pub lookup_table_addresses: u64,
    /// Transactions sent as version 0.
    pub v0_transactions: u64,
    /// Version-0 transactions that load accounts from a table (the others hold events only).
    pub v0_loading_transactions: u64,
    /// Accounts loaded writable, over all v0 transactions.
    pub v0_loaded_writable: u64,
    /// Accounts loaded read-only, over all v0 transactions.
    pub v0_loaded_readonly: u64,
    /// Transactions to send as v0 that went legacy (their v0 form exceeds 1,232 bytes).
    pub v0_too_large: u64,
    /// Version-0 transactions confirmed successful.
    pub ok_v0_transactions: u64,
    /// Transactions held back until their entity's first transaction was processed (`order`).
    pub held: u64,
    /// Holds that ended by the timeout (the first transaction was not processed in time).
    pub hold_timeouts: u64,
    /// `sendTransaction` calls that errored.
    pub send_errors: u64,
    /// Resends of unconfirmed transactions.
    pub rebroadcasts: u64,
    /// Seconds from the first to the last send.
    pub send_seconds: f64,
    /// Entries per second offered.
    pub entries_per_s_sent: f64,
    /// Unix ms of the first send.
    pub first_send_unix_ms: u64,
    /// Unix ms after the last send.
    pub last_send_unix_ms: u64,
    /// Unix ms when confirmation ended.
    pub confirmed_unix_ms: u64,
}

struct Sent {
    planned: PlannedTx,
    transaction: VersionedTransaction,
    form: Form,
    signature: Signature,
    status: Option<(String, u64, Option<String>)>,
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// Sends, confirms, writes the record; returns the summary.
pub async fn run(args: SendArgs) -> anyhow::Result<Summary> {
    let entries = read_entries(
        BufReader::new(File::open(&args.events).with_context(|| format!("opening {}", args.events.display()))?),
        args.from,
        args.count,
    )?;
    let planned = plan(&entries, args.events_per_tx, args.fail_every)?;
    let payer = Arc::new(
        solana_keypair::read_keypair_file(&args.payer)
            .map_err(|err| anyhow::anyhow!("reading payer {}: {err}", args.payer.display()))?,
    );
    let rpc = Arc::new(RpcClient::new_with_commitment(args.rpc_url.clone(), CommitmentConfig::confirmed()));
    let blockhash = Arc::new(RwLock::new(rpc.get_latest_blockhash().await.context("getLatestBlockhash")?));
    let refresher = tokio::spawn(refresh_blockhash(rpc.clone(), blockhash.clone()));
    let timeout = Duration::from_secs(args.confirm_timeout_secs);
    let tables = if planned.iter().any(|tx| lookup::is_v0_candidate(tx.index, args.v0_every)) {
        let addresses = lookup::table_addresses(&planned, args.v0_every)?;
        lookup::create_tables(&rpc, &payer, &addresses, timeout).await?
    } else {
        Vec::new()
    };
    let table_addresses: usize = tables.iter().map(|table| table.addresses.len()).sum();
    eprintln!("sending {} transactions ({} lookup tables of {table_addresses} addresses)", planned.len(), tables.len());

    let config = RpcSendTransactionConfig { skip_preflight: true, max_retries: Some(0), ..Default::default() };
    let semaphore = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let rate = args.rate.max(0.1);
    let mut summary = Summary {
        first_send_unix_ms: unix_ms(),
        lookup_tables: tables.len() as u64,
        lookup_table_addresses: table_addresses as u64,
        ..Summary::default()
    };
    let started = Instant::now();
    let mut due = Duration::ZERO;
    let mut sent: Vec<Sent> = Vec::with_capacity(planned.len());
    let mut tasks = Vec::with_capacity(planned.len());
    let mut gate = Gate::default();
    let mut planned = planned.into_iter();
    let mut last_poll = Instant::now();
    loop {
        let next = match gate.release(Instant::now()) {
            Some((tx, timed_out)) => {
                summary.hold_timeouts += u64::from(timed_out);
                Some(tx)
            }
            None => loop {
                let Some(tx) = planned.next() else { break None };
                match gate.offer(tx, Instant::now()) {
                    Some(tx) => break Some(tx),
                    None => summary.held += 1,
                }
            },
        };
        if !gate.is_empty() && (next.is_none() || last_poll.elapsed() >= Duration::from_millis(20)) {
            poll_processed(&rpc, &sent, &mut gate).await;
            last_poll = Instant::now();
        }
        let Some(planned) = next else {
            if gate.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let wait = due.saturating_sub(started.elapsed());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        due += Duration::from_secs_f64(planned.entries.len() as f64 / rate);
        let hash: Hash = *blockhash.read().unwrap_or_else(|p| p.into_inner());
        let (instructions, _) = planned.build()?;
        let (transaction, form) = lookup::sign(&planned, instructions, &payer, &tables, args.v0_every, hash)?;
        count_form(&planned, form, args.v0_every, &mut summary);
        let signature = transaction.signatures[0];
        let permit = semaphore.clone().acquire_owned().await?;
        let (rpc, tx) = (rpc.clone(), transaction.clone());
        tasks.push(tokio::spawn(async move {
            let result = rpc.send_transaction_with_config(&tx, config).await;
            drop(permit);
            result.err().map(|err| err.to_string())
        }));
        summary.transactions += 1;
        for entry in &planned.entries {
            summary.entries += 1;
            match entry.kind {
                EntryKind::Event => summary.events += 1,
                EntryKind::Instruction => summary.instructions += 1,
            }
        }
        gate.sent(&planned);
        sent.push(Sent { planned, transaction, form, signature, status: None });
    }
    for task in tasks {
        if let Some(err) = task.await? {
            summary.send_errors += 1;
            if summary.send_errors <= 5 {
                eprintln!("send error: {err}");
            }
        }
    }
    summary.last_send_unix_ms = unix_ms();
    summary.send_seconds = started.elapsed().as_secs_f64();
    summary.entries_per_s_sent = summary.entries as f64 / summary.send_seconds.max(1e-9);

    confirm(&rpc, &mut sent, config, timeout, &mut summary).await?;
    refresher.abort();
    summary.confirmed_unix_ms = unix_ms();
    let slots: BTreeSet<u64> = sent.iter().filter_map(|s| s.status.as_ref().map(|(_, slot, _)| *slot)).collect();
    let blocks = blocks(&rpc, &slots, timeout).await;
    write_record(&args.out, &sent, &blocks, &mut summary)?;
    Ok(summary)
}

/// Counts a transaction's form in the summary.
fn count_form(planned: &PlannedTx, form: Form, v0_every: u64, summary: &mut Summary) {
    match form {
        Form::V0 { writable, readonly } => {
            summary.v0_transactions += 1;
            summary.v0_loading_transactions += u64::from(writable + readonly > 0);
            summary.v0_loaded_writable += writable as u64;
            summary.v0_loaded_readonly += readonly as u64;
        }
        Form::Legacy => summary.v0_too_large += u64::from(lookup::is_v0_candidate(planned.index, v0_every)),
    }
}

/// Marks processed (executed, successfully or not) the in-flight transactions held ones wait for.
async fn poll_processed(rpc: &RpcClient, sent: &[Sent], gate: &mut Gate) {
    for chunk in gate.awaited().chunks(256) {
        let signatures: Vec<Signature> = chunk.iter().map(|&i| sent[i].signature).collect();
        if let Ok(statuses) = rpc.get_signature_statuses(&signatures).await {
            for (&i, status) in chunk.iter().zip(statuses.value) {
                if status.is_some() {
                    gate.processed(i);
                }
            }
        }
    }
}

async fn refresh_blockhash(rpc: Arc<RpcClient>, blockhash: Arc<RwLock<Hash>>) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Ok(hash) = rpc.get_latest_blockhash().await {
            *blockhash.write().unwrap_or_else(|p| p.into_inner()) = hash;
        }
    }
}

/// Polls statuses until every transaction is confirmed (ok or failed) or the timeout passes,
/// rebroadcasting the unconfirmed ones every few seconds (their blockhash may still be valid).
async fn confirm(
    rpc: &RpcClient,
    sent: &mut [Sent],
    config: RpcSendTransactionConfig,
    timeout: Duration,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last_rebroadcast = Instant::now();
    loop {
        let pending: Vec<usize> = (0..sent.len()).filter(|&i| sent[i].status.is_none()).collect();
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        for chunk in pending.chunks(256) {
            let signatures: Vec<Signature> = chunk.iter().map(|&i| sent[i].signature).collect();
            let Ok(statuses) = rpc.get_signature_statuses(&signatures).await else { continue };
            for (&i, status) in chunk.iter().zip(statuses.value) {
                let Some(status) = status else { continue };
                if !status.satisfies_commitment(CommitmentConfig::confirmed()) {
                    continue;
                }
                let (label, err) = match &status.err {
                    None => ("ok", None),
                    Some(err) => ("failed", Some(format!("{err:?}"))),
                };
                sent[i].status = Some((label.to_owned(), status.slot, err));
            }
        }
        if last_rebroadcast.elapsed() > Duration::from_secs(5) {
            last_rebroadcast = Instant::now();
            for item in sent.iter().filter(|s| s.status.is_none()) {
                summary.rebroadcasts += 1;
                let _ = rpc.send_transaction_with_config(&item.transaction, config).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

/// Where a slot's block puts our transactions: its block time and each signature's position.
#[derive(Debug, Default, Clone)]
pub struct BlockPlace {
    /// The block's `blockTime` (None when the validator reports none).
    pub block_time: Option<i64>,
    /// The position of each transaction of the block (by signature) in the block.
    pub positions: HashMap<String, u64>,
}

/// The block of each slot (`getBlock`, signatures only, at `confirmed`), retried until the
/// timeout while the validator does not serve it yet; slots without one are left out.
async fn blocks(rpc: &RpcClient, slots: &BTreeSet<u64>, timeout: Duration) -> HashMap<u64, BlockPlace> {
    let deadline = Instant::now() + timeout;
    let mut blocks = HashMap::with_capacity(slots.len());
    loop {
        let missing: Vec<u64> = slots.iter().copied().filter(|slot| !blocks.contains_key(slot)).collect();
        for slot in missing {
            let config = json!({
                "encoding": "json", "transactionDetails": "signatures", "rewards": false,
                "commitment": "confirmed", "maxSupportedTransactionVersion": 0,
            });
            let Ok(block) = rpc.send::<serde_json::Value>(RpcRequest::GetBlock, json!([slot, config])).await else {
                continue;
            };
            let positions = block["signatures"]
                .as_array()
                .map(|signatures| {
                    signatures
                        .iter()
                        .enumerate()
                        .filter_map(|(i, s)| Some((s.as_str()?.to_owned(), i as u64)))
                        .collect()
                })
                .unwrap_or_default();
            blocks.insert(slot, BlockPlace { block_time: block["blockTime"].as_i64(), positions });
        }
        if blocks.len() == slots.len() || Instant::now() >= deadline {
            return blocks;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One record line: the transaction (index, signature, version, accounts loaded from lookup
/// tables, status, slot, position in its block, block time, error) and its entries with the
/// `event_index` each got. `version` is as `getTransaction` shows it (`"legacy"` or 0),
/// `loaded` is null for a legacy transaction.
fn record_line(
    item: &Sent,
    status: &str,
    slot: Option<u64>,
    block: Option<&BlockPlace>,
    err: Option<String>,
) -> anyhow::Result<serde_json::Value> {
    let signature = item.signature.to_string();
    let tx_index = block.and_then(|block| block.positions.get(&signature).copied());
    let block_time = block.and_then(|block| block.block_time);
    let (_, placed) = item.planned.build()?;
    let (version, loaded) = match item.form {
        Form::Legacy => (json!("legacy"), serde_json::Value::Null),
        Form::V0 { writable, readonly } => (json!(0), json!({"writable": writable, "readonly": readonly})),
    };
    let entries: Vec<serde_json::Value> = placed
        .iter()
        .map(|placed| {
            let entry = placed.entry;
            json!({
                "n": entry.n,
                "tx": entry.tx,
                "event_index": placed.event_index,
                "kind": entry.kind,
                "program": entry.program,
                "program_id": entry.program_id,
                "name": entry.name,
                "instruction": entry.instruction,
                "payload": entry.payload,
                "accounts": entry.accounts,
            })
        })
        .collect();
    Ok(json!({
        "index": item.planned.index,
        "signature": signature,
        "version": version,
        "loaded": loaded,
        "status": status,
        "fail_mode": item.planned.fail,
        "slot": slot,
        "tx_index": tx_index,
        "block_time": block_time,
        "err": err,
        "entries": entries,
    }))
}

fn write_record(
    path: &std::path::Path,
    sent: &[Sent],
    blocks: &HashMap<u64, BlockPlace>,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let mut out = BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    for item in sent {
        let (status, slot, err) = match &item.status {
            Some((status, slot, err)) => (status.as_str(), Some(*slot), err.clone()),
            None => ("dropped", None, None),
        };
        let count = item.planned.entries.len() as u64;
        match status {
            "ok" => {
                summary.ok_transactions += 1;
                summary.ok_v0_transactions += u64::from(item.form != Form::Legacy);
                summary.ok_entries += count;
                for entry in &item.planned.entries {
                    match entry.kind {
                        EntryKind::Event => summary.ok_events += 1,
                        EntryKind::Instruction => summary.ok_instructions += 1,
                    }
                }
            }
            "failed" => {
                summary.failed_transactions += 1;
                summary.failed_entries += count;
            }
            _ => {
                summary.dropped_transactions += 1;
                summary.dropped_entries += count;
            }
        }
        let block = slot.and_then(|slot| blocks.get(&slot));
        writeln!(out, "{}", record_line(item, status, slot, block, err)?)?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::{event, instruction};

    #[test]
    fn a_record_line_lists_entries_with_their_event_index() {
        let planned = PlannedTx {
            index: 4,
            entries: vec![
                instruction(0, 0, "analysis_marketplace", "CloseDispute", 3),
                event(1, 0, "analysis_marketplace", "CloseDispute", 40),
            ],
            fail: false,
        };
        let payer = solana_keypair::Keypair::new();
        let (instructions, _) = planned.build().unwrap();
        let (transaction, form) = lookup::sign(&planned, instructions, &payer, &[], 0, Hash::default()).unwrap();
        let item = Sent { planned, signature: transaction.signatures[0], transaction, form, status: None };
        let block = BlockPlace {
            block_time: Some(1_700_000_000),
            positions: [(item.signature.to_string(), 3)].into_iter().collect(),
        };
        let line = record_line(&item, "ok", Some(12), Some(&block), None).unwrap();
        assert_eq!(line["index"], 4);
        assert_eq!((&line["version"], &line["loaded"]), (&json!("legacy"), &serde_json::Value::Null));
        assert_eq!(line["slot"], 12);
        assert_eq!(line["tx_index"], 3);
        assert_eq!(line["block_time"], 1_700_000_000);
        assert_eq!(line["entries"][0]["event_index"], 2048 + 3);
        assert_eq!(line["entries"][0]["kind"], "instruction");
        assert_eq!(line["entries"][0]["accounts"].as_array().unwrap().len(), 3);
        assert_eq!(line["entries"][1]["event_index"], 0);
        assert_eq!(line["entries"][1]["instruction"], "CloseDispute");
    }
}
