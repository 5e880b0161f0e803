//! The DFPN folds are order-independent: every order of an entity's events folds alike.

use super::*;
use shared::order::ChainOrder;

fn key(byte: u8) -> Pubkey {
    Pubkey::new_from_array([byte; 32])
}

/// Folds `events` (numbered by chain order: the n-th is at slot 10 + n) in the order `order`
/// gives, the creation (event 0) first as the projector's orphans guarantee.
fn fold(events: &[ChainEvent], order: &[usize]) -> Entity {
    let mut addresses = Addresses::new(&ProgramSet::defaults());
    let at = |n: usize, seq: u64| {
        let chain = ChainOrder { slot: 10 + n as u64, tx_index: Some(0), event_index: 0 };
        At { seq, version: shared::order::version(chain, seq), slot: chain.slot, time: 1_720_000_000 + n as i64 }
    };
    let mut entity = create(&events[0], at(0, 1), &mut addresses).expect("a creation event");
    for (seq, &n) in order.iter().enumerate() {
        apply(&mut entity, &events[n], at(n, seq as u64 + 2));
    }
    entity
}

/// Every rotation and the reversal of the updates give the entity the chain order gives.
fn assert_order_independent(events: &[ChainEvent]) -> Entity {
    let forward: Vec<usize> = (1..events.len()).collect();
    let expected = fold(events, &forward);
    let mut orders: Vec<Vec<usize>> = (1..forward.len()).map(|k| [&forward[k..], &forward[..k]].concat()).collect();
    orders.push(forward.iter().rev().copied().collect());
    for order in orders {
        let mut got = fold(events, &order);
        // `last_seq` is the newest record whatever the order; versions differ with seqs only
        // for unpositioned events, and every event here has a position.
        match (&mut got, &expected) {
            (Entity::Request(g), Entity::Request(e)) => g.last_seq = e.last_seq,
            (Entity::Worker(g), Entity::Worker(e)) => g.last_seq = e.last_seq,
            (Entity::Model(g), Entity::Model(e)) => g.last_seq = e.last_seq,
            _ => unreachable!(),
        }
        assert_eq!(got, expected, "order {order:?}");
    }
    expected
}

#[test]
fn a_request_goes_created_committed_revealed_finalized_disputed_finalized() {
    use chain::*;
    let request_id = key(1);
    let created = RequestCreated {
        request_id,
        requester: key(2),
        content_hash: [3; 32],
        storage_uri: "ar://x".into(),
        required_modalities: 9,
        min_workers: 1,
        fee_amount: 5,
        deadline: 100,
        commit_deadline: 70,
    };
    let commit = |w| {
        ChainEvent::from(MarketplaceEvent::from(ResultCommitted {
            request_id,
            worker: key(w),
            commitment: [0; 32],
            commit_slot: 3,
        }))
    };
    let reveal = ChainEvent::from(MarketplaceEvent::from(ResultRevealed {
        request_id,
        worker: key(4),
        model: key(9),
        verdict: Verdict::Authentic,
        confidence: 90,
        reveal_slot: 4,
    }));
    let finalized = ChainEvent::from(MarketplaceEvent::from(RequestFinalized {
        request_id,
        status: RequestStatus::Finalized,
        reveal_count: 1,
        fee_amount: 5,
    }));
    let dispute = ChainEvent::from(MarketplaceEvent::from(DisputeOpened {
        dispute_id: key(7),
        request_id,
        reveal_id: key(8),
        challenger: key(5),
        challenged_worker: key(4),
        reason: DisputeReason::Collusion,
        evidence_hash: [0; 32],
        stake_amount: MIN_DISPUTE_STAKE,
    }));
    let resolved = ChainEvent::Instruction(DfpnInstruction::ResolveDispute {
        resolver: key(6),
        request: request_id,
        dispute: key(7),
        in_favor_of_challenger: false,
        slash_amount: 0,
    });
    let events =
        [ChainEvent::from(MarketplaceEvent::from(created)), commit(4), commit(5), reveal, finalized, dispute, resolved];
    let status_after = |n: usize| match fold(&events, &(1..=n).collect::<Vec<_>>()) {
        Entity::Request(r) => (r.status.as_str(), r.chain_status.as_str()),
        _ => unreachable!(),
    };
    assert_eq!(status_after(0), ("Created", "Open"));
    assert_eq!(status_after(1), ("Committed", "Open"));
    assert_eq!(status_after(3), ("Revealed", "CommitClosed"));
    assert_eq!(status_after(4), ("Finalized", "Finalized"));
    assert_eq!(status_after(5), ("Disputed", "Disputed"));
    let Entity::Request(r) = assert_order_independent(&events) else { unreachable!() };
    assert_eq!(
        (r.status, r.commit_count, r.reveal_count, r.created_at),
        (shared::enums::RequestStatus::Finalized, 2, 1, 1_720_000_000)
    );
}

#[test]
fn a_workers_status_follows_its_stake_in_chain_order() {
    use chain::*;
    let operator = key(3);
    let w = |event: WorkerRegistryEvent| ChainEvent::from(event);
    let events = [
        w(WorkerRegistered { operator, stake: MIN_WORKER_STAKE + 10, modalities: 5 }.into()),
        w(WorkerReputationUpdated { operator, reputation: 6_100, tasks_completed: 4, tasks_failed: 1 }.into()),
        // A partial unstake: the stake left stays above the minimum, the worker stays Active.
        w(WorkerUnbondingStarted { operator, amount: 10, unlock_slot: 500 }.into()),
        w(WorkerWithdrawn { operator, amount: 10, closed: false }.into()),
        // Now a full unbond.
        w(WorkerUnbondingStarted { operator, amount: 20, unlock_slot: 900 }.into()),
        w(WorkerUpdated { operator, stake: MIN_WORKER_STAKE, modalities: 7 }.into()),
    ];
    let Entity::Worker(after_partial) = fold(&events, &[1, 2]) else { unreachable!() };
    assert_eq!(after_partial.status, shared::enums::WorkerStatus::Active);
    let Entity::Worker(worker) = assert_order_independent(&events) else { unreachable!() };
    assert_eq!(worker.status, shared::enums::WorkerStatus::Unbonding);
    assert_eq!(worker.unlock_slot, Some(900));
    assert_eq!((worker.stake, worker.modalities.0), (MIN_WORKER_STAKE, 7));
    assert_eq!((worker.reputation, worker.tasks_completed, worker.tasks_failed), (6_100, 4, 1));
    assert_eq!(worker.last_active_slot, 11, "the reputation update's slot");
    assert_eq!(worker.id, chain::worker_address(&ProgramKind::WorkerRegistry.default_id(), &operator).to_string());
}

#[test]
fn a_model_maps_its_on_chain_status_and_counts_usage_instructions() {
    use chain::*;
    let (developer, model_id) = (key(4), [5; 32]);
    let m = |event: ModelRegistryEvent| ChainEvent::from(event);
    let address = model_address(&ProgramKind::ModelRegistry.default_id(), &developer, &model_id);
    let usage = ChainEvent::Instruction(DfpnInstruction::IncrementUsage { authority: key(1), model: address });
    let events = [
        m(ModelRegistered {
            developer,
            model_id,
            name: "face-forensics-sbi".into(),
            version: "1.0.0".into(),
            modalities: 8,
            model_uri: "https://huggingface.co/dfpn/face-forensics-sbi".into(),
            stake: MIN_MODEL_STAKE,
        }
        .into()),
        m(ModelActivated { developer, model_id, score: 9_000 }.into()),
        usage.clone(),
        m(ModelUpdated {
            developer,
            model_id,
            old_version: "1.0.0".into(),
            new_version: "1.1.0".into(),
            new_model_uri: "https://huggingface.co/dfpn/face-forensics-sbi-v1.1".into(),
        }
        .into()),
        usage.clone(),
        m(ModelScoreUpdated { developer, model_id, old_score: 9_000, new_score: 9_720 }.into()),
        m(ModelActivated { developer, model_id, score: 9_500 }.into()),
        usage,
    ];
    let status_after = |n: usize| match fold(&events, &(1..=n).collect::<Vec<_>>()) {
        Entity::Model(m) => (m.status.as_str(), m.chain_status.as_str()),
        _ => unreachable!(),
    };
    assert_eq!(status_after(0), ("Inactive", "Pending"));
    assert_eq!(status_after(1), ("Active", "Active"));
    assert_eq!(status_after(3), ("Inactive", "Pending"), "an update returns the model to Pending");
    let Entity::Model(model) = assert_order_independent(&events) else { unreachable!() };
    assert_eq!((model.status, model.score, model.total_uses), (shared::enums::ModelStatus::Active, 9_500, 3));
    assert_eq!((model.version.as_str(), model.id), ("1.1.0", address.to_string()));
    let mut retired = events.to_vec();
    retired.push(m(ModelRetired { developer, model_id, reason: RetirementReason::SecurityIssue }.into()));
    retired.push(m(ModelStakeWithdrawn { developer, model_id, amount: MIN_MODEL_STAKE }.into()));
    let Entity::Model(model) = assert_order_independent(&retired) else { unreachable!() };
    assert_eq!((model.status, model.closed), (shared::enums::ModelStatus::Deprecated, true));
}
