//! Entity routing: which family and document an event changes ([`EntityKey`]) and the
//! snapshots the projector keeps ([`Entity`]).

use projection::schema::Family;
use shared::ChainEvent;

use super::dfpn;
use super::psy::{self, PsyEntity, PsyKind};

/// A mutable entity: its family and document id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityKey {
    /// A DFPN entity.
    Dfpn(dfpn::EntityKey),
    /// A Psy entity.
    Psy(PsyKind, String),
}

/// A mutable entity's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum Entity {
    /// A DFPN entity.
    Dfpn(dfpn::Entity),
    /// A Psy entity.
    Psy(PsyEntity),
}

impl EntityKey {
    /// The family whose index holds the entity.
    pub fn family(&self) -> Family {
        match self {
            EntityKey::Dfpn(dfpn::EntityKey::Request(_)) => Family::Requests,
            EntityKey::Dfpn(dfpn::EntityKey::Worker(_)) => Family::Workers,
            EntityKey::Dfpn(dfpn::EntityKey::Model(_)) => Family::Models,
            EntityKey::Psy(PsyKind::User, _) => Family::Users,
            EntityKey::Psy(PsyKind::Job, _) => Family::Jobs,
            EntityKey::Psy(PsyKind::Checkpoint, _) => Family::Checkpoints,
            EntityKey::Psy(PsyKind::Contract, _) => Family::Contracts,
        }
    }

    /// The entity's document key.
    pub fn id(&self) -> &str {
        match self {
            EntityKey::Dfpn(
                dfpn::EntityKey::Request(id) | dfpn::EntityKey::Worker(id) | dfpn::EntityKey::Model(id),
            ) => id,
            EntityKey::Psy(_, id) => id,
        }
    }
}

/// The entity an event changes, if any.
pub(super) fn entity_of(event: &ChainEvent, addresses: &mut dfpn::Addresses) -> Option<EntityKey> {
    match event {
        ChainEvent::Psy(event) => psy::entity_of(event).map(|(kind, id)| EntityKey::Psy(kind, id)),
        event => dfpn::entity_of(event, addresses).map(EntityKey::Dfpn),
    }
}
