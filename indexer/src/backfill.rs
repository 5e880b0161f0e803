//! Backfill: pages `getSignaturesForAddress` backwards from the head down to the program's cursor
//! (or genesis, or a slot), then fetches the transactions with bounded concurrency and appends
//! their events in chain order, moving the cursor as it goes.
//!
//! The cursor only ever rests on a finalized transaction, so it cannot vanish with a fork. Paging
//! also stops at the first signature older than the cursor's slot: a node that does not know the
//! `until` signature ignores it, and without this check the backfill would silently re-ingest the
//! whole history from the head.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use shared::envelope::{EventEnvelope, EventSource};
use shared::{ProgramKind, ProgramSet};
use solana_signature::Signature;

use crate::error::{Error, Result};
use crate::log::{parse_signature, Cursor, EventLog};
use crate::metrics::Metrics;
use crate::rpc::{Rpc, SIGNATURE_PAGE};

/// Transactions fetched and appended per atomic append.
const CHUNK: usize = 1_024;

/// Where a backfill starts from (it always ends at the head).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackfillFrom {
    /// The program's cursor: only what the log is missing (from genesis when there is none).
    Cursor,
    /// The program's first transaction.
    Genesis,
    /// The first transaction at or after this slot.
    Slot(u64),
}

impl FromStr for BackfillFrom {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self> {
        match value {
            "cursor" => Ok(Self::Cursor),
            "genesis" => Ok(Self::Genesis),
            slot => slot
                .parse()
                .map(Self::Slot)
                .map_err(|_| Error::Config(format!("--from takes genesis, cursor or a slot number, not {slot:?}"))),
        }
    }
}

/// What the indexer's tasks share.
pub struct Context {
    /// The node.
    pub rpc: Rpc,
    /// The event log.
    pub log: Arc<EventLog>,
    /// The configured programs.
    pub programs: ProgramSet,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Transactions fetched at once.
    pub concurrency: usize,
}

/// What one backfill did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BackfillStats {
    /// Signatures listed.
    pub signatures: u64,
    /// Events appended.
    pub appended: u64,
    /// Events already in the log.
    pub duplicates: u64,
}

/// A progress bar with rate and ETA when stderr is a terminal; `None` otherwise (plain periodic
/// log lines are written instead).
fn progress_bar(program: ProgramKind, total: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:40}] {pos}/{len} transactions {per_sec} eta {eta} {msg}",
    )
    .map(|style| style.progress_chars("=> "))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(format!("backfill {}", program.as_str()));
    Some(bar)
}

struct Listed {
    signature: String,
    slot: u64,
    failed: bool,
}

impl Context {
    /// Backfills one program from `from` to the head.
    pub async fn backfill(self: &Arc<Self>, program: ProgramKind, from: BackfillFrom) -> Result<BackfillStats> {
        let id = self
            .programs
            .id_of(program)
            .ok_or_else(|| Error::Config(format!("{} program not configured", program.as_str())))?;
        let finalized_slot = self.rpc.finalized_slot().await?;
        let cursor = match from {
            BackfillFrom::Cursor => self.log.cursor(program)?,
            _ => None,
        };
        let listed = self.list(&id, cursor.as_ref(), from).await?;
        let mut stats = BackfillStats { signatures: listed.len() as u64, ..Default::default() };
        let started = Instant::now();
        let total = listed.len();
        let mut done = 0usize;
        let bar = progress_bar(program, total as u64);
        for chunk in listed.chunks(CHUNK) {
            let events = self.fetch_chunk(chunk).await?;
            let newest_final = chunk.iter().rev().find(|entry| entry.slot <= finalized_slot);
            let current = self.log.cursor(program)?;
            let cursor = match newest_final {
                Some(entry) if current.as_ref().is_none_or(|c| entry.slot >= c.slot) => {
                    Some(Cursor { signature: parse_signature(&entry.signature)?, slot: entry.slot })
                }
                _ => None,
            };
            let outcome = self.log.append(&events, cursor.as_ref().map(|c| (program, c)), finalized_slot)?;
            self.metrics.events_appended.inc_by(outcome.appended.len() as u64);
            self.metrics.duplicates_skipped.inc_by(outcome.duplicates as u64);
            stats.appended += outcome.appended.len() as u64;
            stats.duplicates += outcome.duplicates as u64;
            done += chunk.len();
            if let Some(bar) = &bar {
                bar.set_position(done as u64);
                continue;
            }
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-3);
            tracing::info!(
                program = program.as_str(),
                done,
                total,
                appended = stats.appended,
                tx_per_s = rate as u64,
                "backfill progress"
            );
        }
        if let Some(bar) = bar {
            bar.finish_with_message("done");
        }
        Ok(stats)
    }

    /// Lists signatures newest first down to the stop point, returned oldest first.
    async fn list(
        &self,
        id: &solana_pubkey::Pubkey,
        cursor: Option<&Cursor>,
        from: BackfillFrom,
    ) -> Result<Vec<Listed>> {
        let until = cursor.map(|c| Signature::from(c.signature));
        let cursor_signature = until.map(|s| s.to_string());
        let mut before = None;
        let mut listed = Vec::new();
        'pages: loop {
            let page = self.rpc.signatures(id, before, until).await?;
            let full = page.len() == SIGNATURE_PAGE;
            for entry in &page {
                let below_cursor = cursor.is_some_and(|c| entry.slot < c.slot)
                    || cursor_signature.as_deref() == Some(&entry.signature);
                let below_slot = matches!(from, BackfillFrom::Slot(slot) if entry.slot < slot);
                if below_cursor || below_slot {
                    break 'pages;
                }
                listed.push(Listed {
                    signature: entry.signature.clone(),
                    slot: entry.slot,
                    failed: entry.err.is_some(),
                });
            }
            match page.last() {
                Some(last) if full => {
                    before = Some(
                        Signature::from_str(&last.signature)
                            .map_err(|_| Error::InvalidSignature(last.signature.clone()))?,
                    )
                }
                _ => break,
            }
        }
        listed.reverse();
        Ok(listed)
    }

    /// Fetches and decodes a chunk with bounded concurrency, keeping chain order.
    async fn fetch_chunk(self: &Arc<Self>, chunk: &[Listed]) -> Result<Vec<EventEnvelope>> {
        let fetches: Vec<_> = chunk
            .iter()
            .map(|entry| {
                let context = Arc::clone(self);
                let (signature, failed) = (entry.signature.clone(), entry.failed);
                async move {
                    if failed {
                        context.metrics.failed_transactions.inc();
                        return Ok(Vec::new());
                    }
                    // A transaction whose first event is stored was stored whole (the live path
                    // fetches every transaction whose logs cannot tell the whole story), so a
                    // reconciliation does not fetch it again.
                    if context.log.contains(&parse_signature(&signature)?, 0)? {
                        return Ok(Vec::new());
                    }
                    context.fetch_events(&signature).await
                }
            })
            .collect();
        let per_transaction: Vec<Vec<EventEnvelope>> =
            futures::stream::iter(fetches).buffered(self.concurrency.max(1)).try_collect().await?;
        Ok(per_transaction.into_iter().flatten().collect())
    }

    /// Fetches one transaction and decodes its events (none if the node no longer has it).
    pub async fn fetch_events(&self, signature: &str) -> Result<Vec<EventEnvelope>> {
        let Some(fetched) = self.rpc.transaction(signature).await? else {
            tracing::warn!(signature, "transaction not found; dropped from the chain");
            return Ok(Vec::new());
        };
        let decoded = shared::rpc::decode_fetched_transaction(&self.programs, &fetched)
            .map_err(|err| Error::Rpc(format!("getTransaction {signature}: {err}")))?;
        if decoded.failed {
            self.metrics.failed_transactions.inc();
        }
        for skipped in &decoded.skipped {
            self.metrics.decode_failure(skipped.reason);
            tracing::debug!(signature, reason = skipped.reason.as_str(), detail = %skipped.detail, "payload skipped");
        }
        Ok(decoded
            .events
            .into_iter()
            .map(|event| EventEnvelope {
                seq: 0,
                slot: fetched.slot,
                signature: signature.to_owned(),
                event_index: event.event_index,
                block_time: fetched.block_time,
                source: EventSource::Chain,
                event: event.event,
            })
            .collect())
    }

    /// Checks transactions pending finality up to the node's finalized slot: confirmed ones stop
    /// being pending, those the node no longer knows are retracted. Returns the retractions.
    pub async fn check_finality(&self) -> Result<u64> {
        let finalized_slot = self.rpc.finalized_slot().await?;
        let pending = self.log.pending(finalized_slot)?;
        let mut retracted = 0;
        for batch in pending.chunks(256) {
            let signatures: Vec<Signature> = batch.iter().map(|(s, _)| Signature::from(*s)).collect();
            let statuses = self.rpc.statuses(&signatures).await?;
            let mut confirmed = Vec::new();
            for ((signature, slot), status) in batch.iter().zip(statuses) {
                match status {
                    Some(_) => confirmed.push(*signature),
                    None => {
                        self.log.retract(*signature, *slot)?;
                        self.metrics.retractions.inc();
                        retracted += 1;
                        tracing::warn!(signature = %Signature::from(*signature), slot, "transaction dropped from the chain; retracted");
                    }
                }
            }
            self.log.confirm_final(&confirmed)?;
        }
        Ok(retracted)
    }
}
