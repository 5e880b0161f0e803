//! Finality: transactions appended above the finalized slot are confirmed, or retracted on
//! evidence (their finalized block lacks them); transactions set aside because their answer could
//! not be decoded are fetched again, appended once they decode, dropped once proven gone.

use solana_signature::Signature;

use crate::context::Context;
use crate::error::Result;

impl Context {
    /// Fetches the transactions set aside again and appends the events of those that decode now;
    /// returns how many still cannot be decoded.
    pub async fn retry_set_aside(&self) -> Result<usize> {
        let waiting = self.log.set_aside_list()?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let finalized_slot = self.rpc.finalized_slot().await?;
        let mut still = 0;
        for (signature, slot) in waiting {
            let text = Signature::from(signature).to_string();
            let Some(fetched) = self.rpc.transaction(&text).await? else {
                if slot <= finalized_slot && self.rpc.finalized_block_lacks(slot, &text).await? {
                    self.log.clear_set_aside(&signature)?;
                    self.metrics.dropped_transactions.inc();
                    tracing::warn!(signature = %text, slot, "set-aside transaction not in the finalized chain; dropped");
                } else {
                    still += 1;
                }
                continue;
            };
            let tx_index = self.rpc.position(slot, &text).await.unwrap_or(None);
            match self.decoded_envelopes(&text, tx_index, &fetched) {
                Ok(events) => {
                    let outcome = self.log.append(&events, None, finalized_slot)?;
                    self.metrics.events_appended.inc_by(outcome.appended.len() as u64);
                    self.log.clear_set_aside(&signature)?;
                    tracing::info!(signature = %text, appended = outcome.appended.len(), "set-aside transaction decoded");
                }
                Err(err) => {
                    still += 1;
                    tracing::debug!(signature = %text, %err, "set-aside transaction still cannot be decoded");
                }
            }
        }
        self.metrics.set_aside_transactions.set(still as i64);
        Ok(still)
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
                let text = Signature::from(*signature).to_string();
                match status {
                    Some(_) => confirmed.push(*signature),
                    // Retracted only on evidence: its slot is finalized and the finalized block
                    // does not hold it. One `null` status (a lagging backend) proves nothing: it
                    // stays pending and is asked again at the next check.
                    None if self.rpc.finalized_block_lacks(*slot, &text).await? => {
                        self.log.retract(*signature, *slot)?;
                        self.metrics.retractions.inc();
                        retracted += 1;
                        tracing::warn!(signature = %text, slot, "transaction not in the finalized chain; retracted");
                    }
                    None => {
                        self.metrics.unknown_statuses.inc();
                        tracing::debug!(signature = %text, slot, "status unknown; still pending")
                    }
                }
            }
            self.log.confirm_final(&confirmed)?;
        }
        Ok(retracted)
    }
}
