//! Blocks: block times (cached per slot), a block's signatures in block order, the positions of
//! recent blocks' transactions, and whether a finalized block lacks a transaction.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use solana_commitment_config::CommitmentConfig;
use solana_rpc_client_api::config::RpcBlockConfig;
use solana_transaction_status_client_types::TransactionDetails;

use super::{response_error_code, RecentBlocks, Rpc, RECENT_BLOCKS};
use crate::error::Result;

/// `getBlock` attempts while the node answers "block not available" (a block just confirmed).
const BLOCK_NOT_AVAILABLE_ATTEMPTS: u32 = 4;
/// The JSON-RPC error code of "block not available for slot".
const BLOCK_NOT_AVAILABLE: i64 = -32004;
/// Error codes that mean the node will not serve a block: cleaned up (-32001), slot skipped
/// (-32007, -32009), no transaction history (-32011), method not found or unsupported
/// parameters (-32601, -32602).
const BLOCK_NOT_SERVED: [i64; 6] = [-32001, -32007, -32009, -32011, -32601, -32602];

/// Block times remembered; past it the oldest slots are forgotten (a backfill asks about slots
/// in increasing order, the live path about the newest ones).
const BLOCK_TIMES: usize = 100_000;

/// What a node answered about a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockAnswer {
    /// The signatures of its transactions, in block order.
    Signatures(Vec<String>),
    /// The node does not serve it: a skipped slot, pruned history, `getBlock` unsupported.
    NotServed,
    /// Still "not available" after a few tries (not confirmed yet).
    NotYetAvailable,
}

impl Rpc {
    /// Remembers `slot`'s block time, forgetting the oldest past [`BLOCK_TIMES`].
    pub(super) fn remember_block_time(&self, slot: u64, time: i64) {
        let mut cache = self.block_times.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(slot, time);
        while cache.len() > BLOCK_TIMES {
            cache.pop_first();
        }
    }

    /// The block time of a slot, cached.
    pub async fn block_time(&self, slot: u64) -> Result<Option<i64>> {
        if let Some(time) = self.block_times.lock().unwrap_or_else(|p| p.into_inner()).get(&slot) {
            return Ok(Some(*time));
        }
        let time = match self.client.get_block_time(slot).await {
            Ok(time) => Some(time),
            Err(err) => {
                tracing::debug!(slot, error = %err, "block time unavailable");
                None
            }
        };
        if let Some(time) = time {
            self.remember_block_time(slot, time);
        }
        Ok(time)
    }

    /// The signatures of a block's transactions in block order, or why there are none. A block
    /// just confirmed may briefly be "not available": that is retried a few times. Transport
    /// errors and other error answers are retried like every other call.
    pub async fn block_signatures(&self, slot: u64) -> Result<BlockAnswer> {
        let commitment =
            if self.commitment.is_at_least_confirmed() { self.commitment } else { CommitmentConfig::confirmed() };
        self.block_signatures_at(slot, commitment).await
    }

    /// Whether the finalized block of `slot` is known and does not hold `signature`: the
    /// evidence that a transaction of that slot is not in the finalized chain. A block the node
    /// does not serve or has not got proves nothing (`false`).
    pub async fn finalized_block_lacks(&self, slot: u64, signature: &str) -> Result<bool> {
        Ok(match self.block_signatures_at(slot, CommitmentConfig::finalized()).await? {
            BlockAnswer::Signatures(signatures) => !signatures.iter().any(|s| s == signature),
            BlockAnswer::NotServed | BlockAnswer::NotYetAvailable => false,
        })
    }

    async fn block_signatures_at(&self, slot: u64, commitment: CommitmentConfig) -> Result<BlockAnswer> {
        let config = RpcBlockConfig {
            encoding: None,
            transaction_details: Some(TransactionDetails::Signatures),
            rewards: Some(false),
            commitment: Some(commitment),
            max_supported_transaction_version: Some(0),
        };
        let not_available = std::sync::atomic::AtomicU32::new(0);
        let answer = self
            .retry("getBlock", || async {
                match self.client.get_block_with_config(slot, config).await {
                    Ok(block) => {
                        if let Some(time) = block.block_time {
                            self.remember_block_time(slot, time);
                        }
                        Ok(block.signatures.map_or(BlockAnswer::NotServed, BlockAnswer::Signatures))
                    }
                    Err(err) => match response_error_code(&err) {
                        Some(BLOCK_NOT_AVAILABLE) => {
                            if not_available.fetch_add(1, Ordering::Relaxed) + 1 < BLOCK_NOT_AVAILABLE_ATTEMPTS {
                                Err(err)
                            } else {
                                Ok(BlockAnswer::NotYetAvailable)
                            }
                        }
                        Some(code) if BLOCK_NOT_SERVED.contains(&code) => {
                            tracing::debug!(slot, code, error = %err, "block not served");
                            Ok(BlockAnswer::NotServed)
                        }
                        _ => Err(err),
                    },
                }
            })
            .await?;
        self.metrics.blocks_fetched.inc();
        Ok(answer)
    }

    /// The position of a transaction in the block of `slot`, from a cache of recent blocks;
    /// `None` when the node does not serve the block (remembered), has not got it yet (asked
    /// again next time), or the block does not hold the transaction (it was on another fork).
    pub async fn position(&self, slot: u64, signature: &str) -> Result<Option<u32>> {
        let cached = |recent: &RecentBlocks| {
            recent.iter().find(|(cached, _)| *cached == slot).map(|(_, positions)| positions.clone())
        };
        let known = cached(&self.recent_blocks.lock().unwrap_or_else(|p| p.into_inner()));
        let positions = match known {
            Some(positions) => positions,
            None => {
                let positions = match self.block_signatures(slot).await? {
                    BlockAnswer::Signatures(signatures) => {
                        Some(Arc::new(signatures.into_iter().enumerate().map(|(index, s)| (s, index as u32)).collect()))
                    }
                    BlockAnswer::NotServed => None,
                    BlockAnswer::NotYetAvailable => return Ok(None),
                };
                let mut recent = self.recent_blocks.lock().unwrap_or_else(|p| p.into_inner());
                if cached(&recent).is_none() {
                    if recent.len() == RECENT_BLOCKS {
                        recent.pop_front();
                    }
                    recent.push_back((slot, positions.clone()));
                }
                positions
            }
        };
        Ok(positions.and_then(|positions| positions.get(signature).copied()))
    }
}
