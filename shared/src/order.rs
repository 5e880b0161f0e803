//! Chain order: where an event sits on chain, as one sortable key per update, so that folds
//! apply "set" fields in chain order however events reach the log.

/// Where an event sits on chain: its slot, its transaction's position in the block and its
/// position in the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainOrder {
    /// Slot of the transaction.
    pub slot: u64,
    /// Position of the transaction in the block, when known.
    pub tx_index: Option<u32>,
    /// Position of the event in the transaction.
    pub event_index: u32,
}

/// Largest transaction position [`version`] tells apart (19 bits).
const MAX_TX_INDEX: u32 = (1 << 19) - 1;
/// Largest event position [`version`] tells apart (12 bits).
const MAX_EVENT_INDEX: u32 = (1 << 12) - 1;

/// Within a slot, events without a block position order after those with one.
const POSITION_UNKNOWN: u32 = 1 << 31;

/// The order of an update on chain, to apply "set" fields in chain order however events reach
/// the log (live notifications, a dropped one backfilled later, a backfill listing a slot in
/// signature order): the slot in the high 32 bits, then the transaction's block position and the
/// event's position in it. Events without a block position (logged before positions were
/// recorded, or the node did not serve the block) come after the positioned ones of their slot,
/// in log order among themselves.
pub fn version(order: ChainOrder, seq: u64) -> u64 {
    let within = match order.tx_index {
        Some(tx_index) => (tx_index.min(MAX_TX_INDEX) << 12) | order.event_index.min(MAX_EVENT_INDEX),
        None => POSITION_UNKNOWN | (seq as u32 & !POSITION_UNKNOWN),
    };
    (order.slot << 32) | u64::from(within)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_slot_then_block_position_then_event_position() {
        let at = |slot, tx_index, event_index| ChainOrder { slot, tx_index: Some(tx_index), event_index };
        // The log seq does not matter once the position is known.
        assert!(version(at(5, 2, 0), 1) > version(at(5, 1, 3), 9));
        assert!(version(at(5, 1, 4), 1) > version(at(5, 1, 3), 9));
        assert!(version(at(6, 0, 0), 1) > version(at(5, 9_999, 4_000), 9));
        // Without a position: after the positioned events of the slot, then by seq.
        let unknown = |seq| version(ChainOrder { slot: 5, tx_index: None, event_index: 0 }, seq);
        assert!(unknown(8) > unknown(7));
        assert!(unknown(1) > version(at(5, (1 << 19) - 1, 4_095), 2));
        assert!(unknown(u64::from(u32::MAX)) < version(at(6, 0, 0), 0));
    }
}
