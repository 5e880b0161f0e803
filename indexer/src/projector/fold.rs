//! Folding one record into an entity slot: creation or update, order-independent, and where a
//! record sits (its chain order and time).

use shared::order::ChainOrder;
use shared::ChainEvent;

use super::dfpn;
use super::entity::Entity;
use super::psy;

/// What folding an event into an entity slot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Folded {
    /// The entity was created or updated (or the event was already folded in).
    Changed,
    /// The event updates an entity that does not exist (yet).
    Orphan,
}

/// Folds an event into an entity slot: creates the entity from a creation event, or applies an
/// update to it. Folding is order-independent (see `dfpn::apply`); a DFPN record already folded
/// in (`seq` at most the entity's `last_seq`) is skipped unless `refold` says the slot is being
/// rebuilt or a waiting orphan is applied after its creation.
pub(super) fn fold_into(
    slot: &mut Option<Entity>,
    event: &ChainEvent,
    at: dfpn::At,
    refold: bool,
    addresses: &mut dfpn::Addresses,
) -> Folded {
    match (slot.as_mut(), event) {
        (Some(Entity::Psy(entity)), ChainEvent::Psy(event)) => {
            psy::apply(entity, event, at.seq, at.version);
            Folded::Changed
        }
        (_, ChainEvent::Psy(event)) => match psy::create(event, at.seq, at.version) {
            Some(created) => {
                *slot = Some(Entity::Psy(created));
                Folded::Changed
            }
            None => Folded::Orphan,
        },
        (Some(Entity::Dfpn(entity)), event) => {
            if refold || at.seq > dfpn::last_seq(entity) {
                dfpn::apply(entity, event, at);
            }
            Folded::Changed
        }
        (_, event) => match dfpn::create(event, at, addresses) {
            Some(created) => {
                *slot = Some(Entity::Dfpn(created));
                Folded::Changed
            }
            None => Folded::Orphan,
        },
    }
}

/// Where and when a record folds: its seq, chain-order version, slot and time.
pub(super) fn at(seq: u64, order: ChainOrder, time: i64) -> dfpn::At {
    dfpn::At { seq, version: shared::order::version(order, seq), slot: order.slot, time }
}

/// The time an event is stamped with: its block time, else its slot's order is all we know.
pub(super) fn event_time(block_time: Option<i64>) -> i64 {
    block_time.unwrap_or_default()
}

/// The chain order a telemetry record folds at: slot 0 without a block position, so its version
/// is below every chain record's and in log order among telemetry records (Psy folds order by
/// the record's own timestamp first; this only breaks ties).
pub(super) const TELEMETRY_ORDER: ChainOrder = ChainOrder { slot: 0, tx_index: None, event_index: 0 };
