//! Folds the five DFPN programs' events and decoded instructions into the API's Request, Worker
//! and Model objects (§6 of the project's DFPN reference, `dfpn-programs.md`, kept outside this
//! repository).
//!
//! Every fold is order-independent, so a notification backfilled after newer ones changes
//! nothing: counts add up, "set" fields keep the value of the newest update in chain order
//! (`shared::order::version`), a request's closing status is the newest closing event's, and a
//! worker's stake and status are replayed from its stake/status history in chain order. A log
//! record is folded into an entity once: `last_seq` remembers the newest one, so a restart that
//! folds records again (the commit payload held back by a waiting orphan) skips them.

use std::collections::HashMap;

use projection::doc_value::{Modalities, Stored};
use projection::schema::dfpn::{Model, Request, Worker};
use projection::worker_history::{WorkerChange, WorkerHistory};
use shared::dfpn::{self as chain, DfpnInstruction, MarketplaceEvent, ModelRegistryEvent, WorkerRegistryEvent};
use shared::enums::{ModelStatus, RequestStatus, WorkerStatus};
use shared::field::hex;
use shared::{ChainEvent, ProgramKind, ProgramSet};
use solana_pubkey::Pubkey;

/// Which entity an event changes, by family and document key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityKey {
    /// A request account.
    Request(String),
    /// A worker, by its operator wallet.
    Worker(String),
    /// A model account.
    Model(String),
}

/// Model account addresses remembered before they are derived again.
const ADDRESS_CACHE_LIMIT: usize = 100_000;

/// Derives the account addresses events do not carry (the PDAs of §4), under the configured
/// program ids, remembering recent model addresses (a PDA search costs a few hashes and curve
/// checks).
pub struct Addresses {
    worker_registry: Pubkey,
    model_registry: Pubkey,
    models: HashMap<(Pubkey, [u8; 32]), Pubkey>,
}

impl Addresses {
    /// Addresses under the ids of `programs` (the real ids where one is not configured).
    pub fn new(programs: &ProgramSet) -> Self {
        Self {
            worker_registry: programs.id_or_default(ProgramKind::WorkerRegistry),
            model_registry: programs.id_or_default(ProgramKind::ModelRegistry),
            models: HashMap::new(),
        }
    }

    fn model(&mut self, developer: &Pubkey, model_id: &[u8; 32]) -> Pubkey {
        if self.models.len() > ADDRESS_CACHE_LIMIT {
            self.models.clear();
        }
        let registry = self.model_registry;
        *self
            .models
            .entry((*developer, *model_id))
            .or_insert_with(|| chain::model_address(&registry, developer, model_id))
    }

    fn worker(&self, operator: &Pubkey) -> Pubkey {
        chain::worker_address(&self.worker_registry, operator)
    }
}

/// The DFPN entity an event or decoded instruction belongs to, if any (content-registry and
/// rewards events, and the dispute events that carry only a dispute id, change none: a dispute's
/// resolution reaches its request through the `resolve_dispute`/`close_dispute` instruction).
pub fn entity_of(event: &ChainEvent, addresses: &mut Addresses) -> Option<EntityKey> {
    use MarketplaceEvent as M;
    Some(match event {
        ChainEvent::Marketplace(event) => EntityKey::Request(
            match event {
                M::RequestCreated(e) => e.request_id,
                M::ResultCommitted(e) => e.request_id,
                M::ResultRevealed(e) => e.request_id,
                M::RequestFinalized(e) => e.request_id,
                M::RequestCancelled(e) => e.request_id,
                M::RequestExpired(e) => e.request_id,
                M::DisputeOpened(e) => e.request_id,
                M::DisputeResolved(_) | M::DisputeClosed(_) => return None,
            }
            .to_string(),
        ),
        ChainEvent::WorkerRegistry(event) => EntityKey::Worker(worker_operator(event).to_string()),
        ChainEvent::ModelRegistry(event) => {
            let (developer, model_id) = model_identity(event);
            EntityKey::Model(addresses.model(developer, model_id).to_string())
        }
        ChainEvent::Instruction(DfpnInstruction::IncrementUsage { model, .. }) => EntityKey::Model(model.to_string()),
        ChainEvent::Instruction(
            DfpnInstruction::ResolveDispute { request, .. } | DfpnInstruction::CloseDispute { request, .. },
        ) => EntityKey::Request(request.to_string()),
        _ => return None,
    })
}

fn worker_operator(event: &WorkerRegistryEvent) -> &Pubkey {
    use WorkerRegistryEvent as W;
    match event {
        W::WorkerRegistered(e) => &e.operator,
        W::WorkerUpdated(e) => &e.operator,
        W::WorkerStatusChanged(e) => &e.operator,
        W::WorkerUnbondingStarted(e) => &e.operator,
        W::WorkerWithdrawn(e) => &e.operator,
        W::WorkerReputationUpdated(e) => &e.operator,
        W::WorkerSlashed(e) => &e.operator,
    }
}

fn model_identity(event: &ModelRegistryEvent) -> (&Pubkey, &[u8; 32]) {
    use ModelRegistryEvent as M;
    match event {
        M::ModelRegistered(e) => (&e.developer, &e.model_id),
        M::ModelUpdated(e) => (&e.developer, &e.model_id),
        M::ModelActivated(e) => (&e.developer, &e.model_id),
        M::ModelRetired(e) => (&e.developer, &e.model_id),
        M::ModelSuspended(e) => (&e.developer, &e.model_id),
        M::ModelReactivated(e) => (&e.developer, &e.model_id),
        M::ModelScoreUpdated(e) => (&e.developer, &e.model_id),
        M::ModelStakeWithdrawn(e) => (&e.developer, &e.model_id),
    }
}

/// A DFPN entity snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum Entity {
    /// A request.
    Request(Request),
    /// A worker.
    Worker(Worker),
    /// A model.
    Model(Model),
}

/// Where and when the folded record sits on chain.
#[derive(Debug, Clone, Copy)]
pub struct At {
    /// Log seq of the record.
    pub seq: u64,
    /// Its chain-order version.
    pub version: u64,
    /// Slot of its transaction.
    pub slot: u64,
    /// Block time of its transaction (0 when unknown).
    pub time: i64,
}

/// Creates the entity a creation event describes (`None` for other events).
pub fn create(event: &ChainEvent, at: At, addresses: &mut Addresses) -> Option<Entity> {
    Some(match event {
        ChainEvent::Marketplace(MarketplaceEvent::RequestCreated(e)) => {
            let mut request = Request {
                id: e.request_id.to_string(),
                requester: e.requester.to_string(),
                content_hash: hex(&e.content_hash),
                storage_uri: e.storage_uri.clone(),
                modalities: Modalities(e.required_modalities),
                status: RequestStatus::Created,
                chain_status: chain::RequestStatus::Open,
                closing_status: None,
                closing_version: 0,
                min_workers: u64::from(e.min_workers),
                fee_amount: e.fee_amount,
                deadline: e.deadline,
                commit_deadline: e.commit_deadline,
                created_at: at.time,
                commit_count: 0,
                reveal_count: 0,
                seq: at.seq,
                created_version: at.version,
                last_seq: at.seq,
            };
            derive_request_status(&mut request);
            Entity::Request(request)
        }
        ChainEvent::WorkerRegistry(WorkerRegistryEvent::WorkerRegistered(e)) => {
            let mut history = WorkerHistory::default();
            history.insert(at.version, WorkerChange::Registered { stake: e.stake, modalities: e.modalities });
            let mut worker = Worker {
                id: addresses.worker(&e.operator).to_string(),
                operator: e.operator.to_string(),
                stake: e.stake,
                reputation: u64::from(chain::INITIAL_REPUTATION),
                modalities: Modalities(e.modalities),
                status: WorkerStatus::Active,
                unlock_slot: None,
                tasks_completed: 0,
                tasks_failed: 0,
                last_active_slot: at.slot,
                reputation_version: 0,
                history: Stored(history),
                seq: at.seq,
                created_version: at.version,
                last_seq: at.seq,
            };
            derive_worker_state(&mut worker);
            Entity::Worker(worker)
        }
        ChainEvent::ModelRegistry(ModelRegistryEvent::ModelRegistered(e)) => Entity::Model(Model {
            id: addresses.model(&e.developer, &e.model_id).to_string(),
            developer: e.developer.to_string(),
            model_id: hex(&e.model_id),
            name: e.name.clone(),
            version: e.version.clone(),
            modalities: Modalities(e.modalities),
            model_uri: e.model_uri.clone(),
            status: ModelStatus::from_chain(chain::ModelStatus::Pending),
            chain_status: chain::ModelStatus::Pending,
            status_version: at.version,
            score: 0,
            score_version: at.version,
            release_version: at.version,
            total_uses: 0,
            created_at: at.time,
            closed: false,
            seq: at.seq,
            created_version: at.version,
            last_seq: at.seq,
        }),
        _ => return None,
    })
}

/// Whether the event creates its entity.
pub fn is_creation(event: &ChainEvent) -> bool {
    matches!(
        event,
        ChainEvent::Marketplace(MarketplaceEvent::RequestCreated(_))
            | ChainEvent::WorkerRegistry(WorkerRegistryEvent::WorkerRegistered(_))
            | ChainEvent::ModelRegistry(ModelRegistryEvent::ModelRegistered(_))
    )
}

/// The newest record folded into an entity.
pub fn last_seq(entity: &Entity) -> u64 {
    match entity {
        Entity::Request(r) => r.last_seq,
        Entity::Worker(w) => w.last_seq,
        Entity::Model(m) => m.last_seq,
    }
}

/// Sets a field if the update is at least as new as the one that set it last.
fn set<T>(field: &mut T, field_version: &mut u64, value: T, version: u64) {
    if version >= *field_version {
        *field = value;
        *field_version = version;
    }
}

/// The `u8` counters of the request account saturate at 255.
const MAX_COUNT: u64 = u8::MAX as u64;

/// Applies a non-creation record to its entity (see the module comment for why the order does
/// not matter). The caller skips records already folded in (`last_seq`).
pub fn apply(entity: &mut Entity, event: &ChainEvent, at: At) {
    use MarketplaceEvent as M;
    use ModelRegistryEvent as Mo;
    use WorkerRegistryEvent as W;
    let v = at.version;
    match (entity, event) {
        (Entity::Request(r), event) => {
            match event {
                ChainEvent::Marketplace(M::ResultCommitted(_)) => r.commit_count = (r.commit_count + 1).min(MAX_COUNT),
                ChainEvent::Marketplace(M::ResultRevealed(_)) => r.reveal_count = (r.reveal_count + 1).min(MAX_COUNT),
                ChainEvent::Marketplace(M::RequestFinalized(e)) => close(r, e.status, v),
                ChainEvent::Marketplace(M::RequestExpired(_)) => close(r, chain::RequestStatus::Expired, v),
                ChainEvent::Marketplace(M::RequestCancelled(_)) => close(r, chain::RequestStatus::Cancelled, v),
                ChainEvent::Marketplace(M::DisputeOpened(_)) => close(r, chain::RequestStatus::Disputed, v),
                // At most one dispute is open at a time: resolving or closing it returns the
                // request to Finalized.
                ChainEvent::Instruction(
                    DfpnInstruction::ResolveDispute { .. } | DfpnInstruction::CloseDispute { .. },
                ) => close(r, chain::RequestStatus::Finalized, v),
                _ => {}
            }
            derive_request_status(r);
            r.last_seq = r.last_seq.max(at.seq);
        }
        (Entity::Worker(w), ChainEvent::WorkerRegistry(event)) => {
            let change = match event {
                W::WorkerRegistered(e) => Some(WorkerChange::Registered { stake: e.stake, modalities: e.modalities }),
                W::WorkerUpdated(e) => Some(WorkerChange::Updated { stake: e.stake, modalities: e.modalities }),
                W::WorkerStatusChanged(e) => Some(WorkerChange::StatusChanged { active: e.active }),
                W::WorkerUnbondingStarted(e) => {
                    Some(WorkerChange::UnbondingStarted { amount: e.amount, unlock_slot: e.unlock_slot })
                }
                W::WorkerWithdrawn(e) => Some(WorkerChange::Withdrawn { amount: e.amount, closed: e.closed }),
                W::WorkerSlashed(e) => Some(WorkerChange::Slashed { remaining_stake: e.remaining_stake }),
                W::WorkerReputationUpdated(e) => {
                    let value = (u64::from(e.reputation), e.tasks_completed, e.tasks_failed);
                    let mut current = (w.reputation, w.tasks_completed, w.tasks_failed);
                    set(&mut current, &mut w.reputation_version, value, v);
                    (w.reputation, w.tasks_completed, w.tasks_failed) = current;
                    None
                }
            };
            if matches!(event, W::WorkerRegistered(_) | W::WorkerReputationUpdated(_)) {
                w.last_active_slot = w.last_active_slot.max(at.slot);
            }
            if let Some(change) = change {
                w.history.0.insert(v, change);
                derive_worker_state(w);
            }
            w.last_seq = w.last_seq.max(at.seq);
        }
        (Entity::Model(m), event) => {
            let status = |m: &mut Model, status| set(&mut m.chain_status, &mut m.status_version, status, v);
            match event {
                ChainEvent::ModelRegistry(Mo::ModelRegistered(e)) => {
                    // A re-registration after the account was closed (judgement: one document).
                    let release = (e.version.clone(), e.model_uri.clone());
                    let mut current = (m.version.clone(), m.model_uri.clone());
                    set(&mut current, &mut m.release_version, release, v);
                    (m.version, m.model_uri) = current;
                    status(m, chain::ModelStatus::Pending);
                    m.closed = false;
                }
                ChainEvent::ModelRegistry(Mo::ModelUpdated(e)) => {
                    let release = (e.new_version.clone(), e.new_model_uri.clone());
                    let mut current = (m.version.clone(), m.model_uri.clone());
                    set(&mut current, &mut m.release_version, release, v);
                    (m.version, m.model_uri) = current;
                    status(m, chain::ModelStatus::Pending);
                }
                ChainEvent::ModelRegistry(Mo::ModelActivated(e)) => {
                    status(m, chain::ModelStatus::Active);
                    set(&mut m.score, &mut m.score_version, u64::from(e.score), v);
                }
                ChainEvent::ModelRegistry(Mo::ModelRetired(_)) => status(m, chain::ModelStatus::Retired),
                ChainEvent::ModelRegistry(Mo::ModelSuspended(_)) => status(m, chain::ModelStatus::Suspended),
                ChainEvent::ModelRegistry(Mo::ModelReactivated(_)) => status(m, chain::ModelStatus::Active),
                ChainEvent::ModelRegistry(Mo::ModelScoreUpdated(e)) => {
                    set(&mut m.score, &mut m.score_version, u64::from(e.new_score), v)
                }
                ChainEvent::ModelRegistry(Mo::ModelStakeWithdrawn(_)) => m.closed = true,
                ChainEvent::Instruction(DfpnInstruction::IncrementUsage { .. }) => {
                    m.total_uses = m.total_uses.saturating_add(1)
                }
                _ => {}
            }
            m.status = ModelStatus::from_chain(m.chain_status);
            m.last_seq = m.last_seq.max(at.seq);
        }
        _ => {}
    }
}

fn close(request: &mut Request, status: chain::RequestStatus, version: u64) {
    if version >= request.closing_version {
        request.closing_status = Some(status);
        request.closing_version = version;
    }
}

/// The on-chain status is the newest closing event's; before one, `CommitClosed` once a reveal
/// arrived (only the first reveal sets it), else `Open`. The API status maps from it.
fn derive_request_status(request: &mut Request) {
    request.chain_status = request.closing_status.unwrap_or(if request.reveal_count > 0 {
        chain::RequestStatus::CommitClosed
    } else {
        chain::RequestStatus::Open
    });
    request.status = RequestStatus::from_chain(request.chain_status, request.commit_count);
}

fn derive_worker_state(worker: &mut Worker) {
    let state = worker.history.0.replay();
    worker.stake = state.stake;
    worker.modalities = Modalities(state.modalities);
    worker.status = WorkerStatus::from_chain(state.status);
    worker.unlock_slot = match state.status {
        chain::WorkerStatus::Unbonding { unlock_slot } => Some(unlock_slot),
        _ => None,
    };
}

#[cfg(test)]
mod tests;
