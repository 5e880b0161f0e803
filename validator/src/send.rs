//! `send`: submits planned fixture transactions to the emitter at a target rate (preflight off,
//! so failing transactions land on chain as failed), waits until each reached `confirmed` or the
//! timeout, and writes the record of what it sent.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::Serialize;
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_hash::Hash;
use solana_instruction::Instruction;
use solana_pubkey::Pubkey;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::Transaction;
use tokio::sync::Semaphore;

use crate::cli::SendArgs;
use crate::events::{plan, read_events, PlannedTx};

/// Instruction modes of the emitter (first data byte), see `fixtures/programs/README.md`.
pub const MODE_EMIT: u8 = 0;
/// Emit, then fail the instruction.
pub const MODE_EMIT_THEN_FAIL: u8 = 1;
/// Succeed without logging.
pub const MODE_NOP: u8 = 2;

/// What `send` did, printed as one JSON line.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub transactions: u64,
    pub events: u64,
    pub ok_transactions: u64,
    pub ok_events: u64,
    pub failed_transactions: u64,
    pub failed_events: u64,
    pub dropped_transactions: u64,
    pub dropped_events: u64,
    pub send_errors: u64,
    pub rebroadcasts: u64,
    pub send_seconds: f64,
    pub events_per_s_sent: f64,
    pub first_send_unix_ms: u64,
    pub last_send_unix_ms: u64,
    pub confirmed_unix_ms: u64,
}

/// The instructions of a planned transaction: one emitter instruction per event (the last in
/// fail mode when the transaction must fail), then a no-op carrying the transaction's index so
/// that transactions with the same events never share a signature.
pub fn instructions(planned: &PlannedTx) -> anyhow::Result<Vec<Instruction>> {
    let mut instructions = Vec::with_capacity(planned.events.len() + 1);
    let last = planned.events.len().saturating_sub(1);
    let mut program = None;
    for (position, event) in planned.events.iter().enumerate() {
        let program_id = Pubkey::from_str(&event.program_id).with_context(|| format!("event {}", event.n))?;
        let mode = if planned.fail && position == last { MODE_EMIT_THEN_FAIL } else { MODE_EMIT };
        let mut data = vec![mode];
        data.extend(event.payload_bytes()?);
        instructions.push(Instruction::new_with_bytes(program_id, &data, vec![]));
        program = Some(program_id);
    }
    if let Some(program_id) = program {
        let mut data = vec![MODE_NOP];
        data.extend(planned.index.to_le_bytes());
        instructions.push(Instruction::new_with_bytes(program_id, &data, vec![]));
    }
    Ok(instructions)
}

struct Sent {
    planned: PlannedTx,
    transaction: Transaction,
    signature: Signature,
    status: Option<(String, u64, Option<String>)>,
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// Sends, confirms, writes the record; returns the summary.
pub async fn run(args: SendArgs) -> anyhow::Result<Summary> {
    let events = read_events(
        BufReader::new(File::open(&args.events).with_context(|| format!("opening {}", args.events.display()))?),
        args.from,
        args.count,
    )?;
    let planned = plan(&events, args.events_per_tx, args.fail_every)?;
    let payer = Arc::new(
        solana_keypair::read_keypair_file(&args.payer)
            .map_err(|err| anyhow::anyhow!("reading payer {}: {err}", args.payer.display()))?,
    );
    let rpc = Arc::new(RpcClient::new_with_commitment(args.rpc_url.clone(), CommitmentConfig::confirmed()));
    let blockhash = Arc::new(RwLock::new(rpc.get_latest_blockhash().await.context("getLatestBlockhash")?));
    let refresher = tokio::spawn(refresh_blockhash(rpc.clone(), blockhash.clone()));

    let config = RpcSendTransactionConfig { skip_preflight: true, max_retries: Some(0), ..Default::default() };
    let semaphore = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let rate = args.rate.max(0.1);
    let mut summary = Summary { first_send_unix_ms: unix_ms(), ..Summary::default() };
    let started = Instant::now();
    let mut due = Duration::ZERO;
    let mut sent: Vec<Sent> = Vec::with_capacity(planned.len());
    let mut tasks = Vec::with_capacity(planned.len());
    for planned in planned {
        let wait = due.saturating_sub(started.elapsed());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        due += Duration::from_secs_f64(planned.events.len() as f64 / rate);
        let hash: Hash = *blockhash.read().unwrap_or_else(|p| p.into_inner());
        let transaction =
            Transaction::new_signed_with_payer(&instructions(&planned)?, Some(&payer.pubkey()), &[&*payer], hash);
        let signature = transaction.signatures[0];
        let permit = semaphore.clone().acquire_owned().await?;
        let (rpc, tx) = (rpc.clone(), transaction.clone());
        tasks.push(tokio::spawn(async move {
            let result = rpc.send_transaction_with_config(&tx, config).await;
            drop(permit);
            result.err().map(|err| err.to_string())
        }));
        summary.transactions += 1;
        summary.events += planned.events.len() as u64;
        sent.push(Sent { planned, transaction, signature, status: None });
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
    summary.events_per_s_sent = summary.events as f64 / summary.send_seconds.max(1e-9);

    confirm(&rpc, &mut sent, config, Duration::from_secs(args.confirm_timeout_secs), &mut summary).await?;
    refresher.abort();
    summary.confirmed_unix_ms = unix_ms();
    write_record(&args.out, &sent, &mut summary)?;
    Ok(summary)
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

fn write_record(path: &std::path::Path, sent: &[Sent], summary: &mut Summary) -> anyhow::Result<()> {
    let mut out = BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    let mut names: HashMap<&str, u64> = HashMap::new();
    for item in sent {
        let (status, slot, err) = match &item.status {
            Some((status, slot, err)) => (status.as_str(), Some(*slot), err.clone()),
            None => ("dropped", None, None),
        };
        let count = item.planned.events.len() as u64;
        match status {
            "ok" => {
                summary.ok_transactions += 1;
                summary.ok_events += count;
                for event in &item.planned.events {
                    *names.entry(event.name.as_str()).or_default() += 1;
                }
            }
            "failed" => {
                summary.failed_transactions += 1;
                summary.failed_events += count;
            }
            _ => {
                summary.dropped_transactions += 1;
                summary.dropped_events += count;
            }
        }
        let events: Vec<serde_json::Value> = item
            .planned
            .events
            .iter()
            .enumerate()
            .map(|(event_index, event)| {
                json!({
                    "n": event.n,
                    "event_index": event_index,
                    "program": event.program,
                    "program_id": event.program_id,
                    "name": event.name,
                    "payload": event.payload,
                })
            })
            .collect();
        let line = json!({
            "index": item.planned.index,
            "signature": item.signature.to_string(),
            "status": status,
            "fail_mode": item.planned.fail,
            "slot": slot,
            "err": err,
            "events": events,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventLine;
    use base64::Engine;

    fn line(n: u64, payload: &[u8]) -> EventLine {
        EventLine {
            n,
            tx: 0,
            program: "dfpn".into(),
            program_id: crate::DEFAULT_DFPN_PROGRAM_ID.into(),
            name: "Event".into(),
            payload: base64::engine::general_purpose::STANDARD.encode(payload),
        }
    }

    #[test]
    fn instructions_carry_mode_payload_and_a_nonce() {
        let planned = PlannedTx { index: 7, events: vec![line(0, b"abc"), line(1, b"de")], fail: true };
        let instructions = instructions(&planned).unwrap();
        assert_eq!(instructions.len(), 3);
        assert_eq!(instructions[0].data, b"\x00abc");
        assert_eq!(instructions[1].data, b"\x01de");
        assert_eq!(instructions[2].data, [&[MODE_NOP][..], &7u64.to_le_bytes()].concat());
        assert!(instructions
            .iter()
            .all(|i| i.accounts.is_empty() && i.program_id.to_string() == crate::DEFAULT_DFPN_PROGRAM_ID));
        let ok = PlannedTx { fail: false, ..planned };
        assert_eq!(instructions_of(&ok)[1].data[0], MODE_EMIT);
    }

    fn instructions_of(planned: &PlannedTx) -> Vec<Instruction> {
        instructions(planned).unwrap()
    }
}
