//! Backfill: pages `getSignaturesForAddress` backwards from the head down to the program's cursor
//! (or genesis, or a slot), then fetches the transactions with bounded concurrency and appends
//! their events in chain order, moving the cursor as it goes.
//!
//! Chain order within a slot is the block's: a node may list a slot's signatures in another order
//! (Agave lists them by signature), so each chunk of whole slots learns its transactions'
//! positions from `getBlock` (signatures only, for the slots it fetches anything from) and is
//! appended sorted by them. The positions are stored with the events.
//!
//! The cursor only ever rests on a finalized transaction, so it cannot vanish with a fork. Paging
//! also stops at the first signature older than the cursor's slot: a node that does not know the
//! `until` signature ignores it, and without this check the backfill would silently re-ingest the
//! whole history from the head.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use shared::envelope::{EventEnvelope, EventSource};
use shared::ProgramKind;
use solana_signature::Signature;
use tokio::sync::Semaphore;

pub use crate::context::Context;
use crate::error::{Error, Result};
use crate::log::{parse_signature, Cursor};
use crate::rpc::blocks::BlockAnswer;
use crate::rpc::SIGNATURE_PAGE;

/// Transactions fetched and appended per atomic append (whole slots: a chunk ends with a slot).
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

/// A spawned task that is aborted when dropped: when a backfill fails, its other fetches stop
/// instead of retrying on in the background.
struct Task<T>(tokio::task::JoinHandle<T>);

impl<T: Send + 'static> Task<T> {
    fn spawn(future: impl std::future::Future<Output = T> + Send + 'static) -> Self {
        Self(tokio::spawn(future))
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for Task<T> {
    type Output = Result<T>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<T>> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|joined| joined.map_err(|err| Error::Rpc(format!("fetch task: {err}"))))
    }
}

/// One of the `--concurrency` request permits a backfill's fetches share.
async fn permit(permits: Arc<Semaphore>) -> Result<tokio::sync::OwnedSemaphorePermit> {
    permits.acquire_owned().await.map_err(|_| Error::Rpc("fetch permits closed".into()))
}

/// Pages of one listing that may not move past their `before` in a row before the listing fails.
const MAX_STUCK_PAGES: u32 = 8;

/// Whether a page asked `before` a signature moved on: it does not hold that signature and does
/// not start where an earlier page of the listing started (a node ignoring `before` answers the
/// newest page again). An empty page moved on: it ends the listing.
fn moves_past(
    page: &[solana_rpc_client_api::response::RpcConfirmedTransactionStatusWithSignature],
    before: &Signature,
    page_starts: &[String],
) -> bool {
    let before = before.to_string();
    let Some(first) = page.first() else { return true };
    !page_starts.contains(&first.signature) && !page.iter().any(|entry| entry.signature == before)
}

/// Splits oldest-first listed signatures into chunks of about [`CHUNK`] that end with a slot, so
/// that a slot's transactions are ordered together.
fn whole_slot_chunks(listed: &[Listed]) -> Vec<&[Listed]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for end in 1..=listed.len() {
        let slot_ends = end == listed.len() || listed[end].slot != listed[end - 1].slot;
        if slot_ends && (end - start >= CHUNK || end == listed.len()) {
            chunks.push(&listed[start..end]);
            start = end;
        }
    }
    chunks
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

#[derive(Clone)]
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
        // The next chunk is fetched while this one is fetched and appended; the requests of both
        // share `--concurrency` permits.
        let chunks = whole_slot_chunks(&listed);
        let permits = Arc::new(Semaphore::new(self.concurrency.max(1)));
        let fetch = |chunk: &[Listed]| {
            let (context, chunk, permits) = (Arc::clone(self), chunk.to_vec(), permits.clone());
            Task::spawn(async move { context.fetch_chunk(&chunk, &permits).await })
        };
        let mut next = chunks.first().map(|chunk| fetch(chunk));
        for (index, chunk) in chunks.iter().enumerate() {
            let fetching = next.take().expect("a fetch runs for every chunk");
            next = chunks.get(index + 1).map(|chunk| fetch(chunk));
            let events = fetching.await??;
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
        let mut page_starts: Vec<String> = Vec::new();
        let mut stuck = 0;
        'pages: loop {
            let page = self.rpc.signatures(id, before, until).await?;
            if let Some(before) = before.filter(|before| !moves_past(&page, before, &page_starts)) {
                // A node (or a backend behind a load balancer) that ignores `before` answers a
                // page already listed: asked again, never taken as the end of the history.
                stuck += 1;
                self.metrics.stuck_pages.inc();
                if stuck >= MAX_STUCK_PAGES {
                    return Err(Error::Rpc(format!(
                        "getSignaturesForAddress does not page past {before} (the node ignores `before`) after {stuck} tries"
                    )));
                }
                tracing::warn!(%before, attempt = stuck, "signature page did not move past before; asking again");
                tokio::time::sleep(crate::rpc::backoff(stuck)).await;
                continue;
            }
            stuck = 0;
            page_starts.extend(page.first().map(|entry| entry.signature.clone()));
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

    /// Fetches and decodes a chunk of whole slots with bounded concurrency, in chain order.
    async fn fetch_chunk(self: &Arc<Self>, chunk: &[Listed], permits: &Arc<Semaphore>) -> Result<Vec<EventEnvelope>> {
        let mut wanted = Vec::with_capacity(chunk.len());
        for entry in chunk {
            if entry.failed {
                self.metrics.failed_transactions.inc();
                continue;
            }
            // A transaction with an entry stored was stored whole (the live path fetches every
            // transaction whose logs cannot tell the whole story), so a reconciliation does not
            // fetch it again; one of decoded instructions only has no event 0.
            if !self.log.contains_transaction(&parse_signature(&entry.signature)?)? {
                wanted.push(entry);
            }
        }
        let positions = self.block_positions(&wanted, permits).await?;
        let position = |entry: &Listed| positions.get(entry.signature.as_str()).copied();
        wanted.sort_by_key(|entry| (entry.slot, position(entry).unwrap_or(u32::MAX)));
        type Batch = (Vec<String>, Vec<u64>, Vec<Option<u32>>);
        let batches: Vec<Batch> = wanted
            .chunks(self.rpc.batch_size())
            .map(|batch| {
                let signatures = batch.iter().map(|entry| entry.signature.clone()).collect();
                let slots = batch.iter().map(|entry| entry.slot).collect();
                (signatures, slots, batch.iter().map(|entry| position(entry)).collect())
            })
            .collect();
        let per_batch: Vec<Vec<EventEnvelope>> = futures::stream::iter(batches)
            .map(|(signatures, slots, positions)| {
                let (context, permits) = (Arc::clone(self), permits.clone());
                // A task of its own, so that answers are parsed and decoded on the runtime's
                // worker threads while this task appends.
                Task::spawn(async move {
                    let _permit = permit(permits).await?;
                    let fetched = context.rpc.transactions(&signatures).await?;
                    let mut events = Vec::new();
                    for (((signature, slot), tx_index), fetched) in
                        signatures.iter().zip(slots).zip(positions).zip(fetched)
                    {
                        events.extend(context.envelopes(signature, Some(slot), tx_index, fetched)?);
                    }
                    Ok::<_, Error>(events)
                })
            })
            .buffered(self.concurrency.max(1))
            .map(|joined| joined?)
            .try_collect()
            .await?;
        Ok(per_batch.into_iter().flatten().collect())
    }

    /// The block positions of listed transactions, from one `getBlock` per slot among them
    /// (only the listed transactions' positions are kept of each block).
    async fn block_positions(&self, entries: &[&Listed], permits: &Arc<Semaphore>) -> Result<HashMap<String, u32>> {
        let mut wanted: HashMap<u64, HashSet<String>> = HashMap::new();
        for entry in entries {
            wanted.entry(entry.slot).or_default().insert(entry.signature.clone());
        }
        let rpc = self.rpc.clone();
        let per_slot: Vec<Vec<(String, u32)>> = futures::stream::iter(wanted)
            .map(move |(slot, mut signatures)| {
                let (rpc, permits) = (rpc.clone(), permits.clone());
                async move {
                    let _permit = permit(permits).await?;
                    let BlockAnswer::Signatures(block) = rpc.block_signatures(slot).await? else {
                        return Ok(Vec::new());
                    };
                    let positions = block.into_iter().enumerate().filter_map(|(index, signature)| {
                        signatures.remove(&signature).then_some((signature, index as u32))
                    });
                    Ok::<_, Error>(positions.collect())
                }
            })
            .buffered(self.concurrency.max(1))
            .try_collect()
            .await?;
        let positions: HashMap<String, u32> = per_slot.into_iter().flatten().collect();
        self.metrics.positions_unknown.inc_by((entries.len() - positions.len()) as u64);
        Ok(positions)
    }

    /// Fetches one transaction and decodes its events (none if the node no longer has it),
    /// without their block position.
    pub async fn fetch_events(&self, signature: &str) -> Result<Vec<EventEnvelope>> {
        let fetched = self.rpc.transaction(signature).await?;
        self.envelopes(signature, None, None, fetched)
    }

    /// Decodes a fetched transaction's events (none when the node did not have it).
    fn envelopes(
        &self,
        signature: &str,
        listed_slot: Option<u64>,
        tx_index: Option<u32>,
        fetched: Option<solana_transaction_status_client_types::EncodedConfirmedTransactionWithStatusMeta>,
    ) -> Result<Vec<EventEnvelope>> {
        let Some(fetched) = fetched else {
            // A listed transaction the node answers `null` for may be on a backend that has not
            // caught up: set aside and asked again until it comes or its slot's finalized block
            // proves it gone; never taken as dropped on one answer.
            if let Some(slot) = listed_slot {
                self.metrics.missing_transactions.inc();
                tracing::warn!(signature, slot, "listed transaction not found (yet); set aside for a retry");
                self.log.set_aside(crate::log::parse_signature(signature)?, slot)?;
            } else {
                tracing::warn!(signature, "transaction not found");
            }
            return Ok(Vec::new());
        };
        match self.decoded_envelopes(signature, tx_index, &fetched) {
            Ok(events) => Ok(events),
            Err(err) => {
                // One transaction the decoder cannot use never stops the rest: it is set aside
                // (counted, logged) and retried at every reconciliation.
                self.metrics.unusable_transactions.inc();
                tracing::warn!(signature, slot = fetched.slot, %err, "transaction cannot be decoded; set aside for a retry");
                self.log.set_aside(crate::log::parse_signature(signature)?, fetched.slot)?;
                Ok(Vec::new())
            }
        }
    }

    /// Decodes a fetched transaction's events, or says why it cannot be used.
    pub(crate) fn decoded_envelopes(
        &self,
        signature: &str,
        tx_index: Option<u32>,
        fetched: &solana_transaction_status_client_types::EncodedConfirmedTransactionWithStatusMeta,
    ) -> std::result::Result<Vec<EventEnvelope>, shared::Error> {
        let decoded = shared::rpc::decode_fetched_transaction(&self.programs, fetched)?;
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
                tx_index,
                event_index: event.event_index,
                block_time: fetched.block_time,
                source: EventSource::Chain,
                event: event.event,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(slots: &[u64]) -> Vec<Listed> {
        slots.iter().map(|&slot| Listed { signature: slot.to_string(), slot, failed: false }).collect()
    }

    #[test]
    fn chunks_hold_whole_slots_of_about_the_chunk_size() {
        let mut slots = vec![1; CHUNK - 1];
        slots.extend([2, 2, 2, 3]);
        let listed = listed(&slots);
        let chunks = whole_slot_chunks(&listed);
        assert_eq!(chunks.iter().map(|chunk| chunk.len()).collect::<Vec<_>>(), vec![CHUNK + 2, 1]);
        assert_eq!(chunks[1][0].slot, 3);
        assert!(whole_slot_chunks(&[]).is_empty());
        assert_eq!(whole_slot_chunks(&listed[..3]).len(), 1);
    }
}
