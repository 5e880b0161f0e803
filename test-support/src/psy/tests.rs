use shared::psy_model::WorkerEventStatus;

use fixtures::generator::psy_real::{RealFeedConfig, RealFeedGenerator};
use fixtures::{ChainConfig, ChainGenerator};
use shared::control::UserRegistration;
use shared::psy::{PsyEvent, WorkerEventReported};

use super::*;

fn chain_lines(seed: u64, events: u64) -> Vec<String> {
    let mut place = (u64::MAX, 0);
    let mut lines = Vec::new();
    for tx in ChainGenerator::new(ChainConfig::small(seed)).with_max_events(events) {
        place = if place.0 == tx.slot { (tx.slot, place.1 + 1) } else { (tx.slot, 0) };
        lines.extend(tx.envelopes(Some(place.1)).iter().map(|envelope| envelope.to_json().to_string()));
    }
    lines
}

#[test]
fn a_feed_folds_to_its_own_truth() {
    let feeds: Vec<_> = RealFeedGenerator::new(RealFeedConfig::small(4)).take(12).collect();
    let mut psy = Psy::default();
    feeds.iter().flat_map(|f| &f.posts).for_each(|post| psy.fold_post(post));
    let expected = psy.state();
    assert_eq!(expected.worker_events.len(), feeds.iter().map(|f| f.truth.worker_events).sum::<usize>());
    assert_eq!(expected.user_events.len(), feeds.iter().map(|f| f.truth.user_events).sum::<usize>());
    assert_eq!(expected.jobs.len(), feeds.iter().map(|f| f.truth.jobs).sum::<usize>());
    for feed in &feeds {
        let checkpoint = &expected.checkpoints[&feed.truth.checkpoint_id.to_string()];
        assert_eq!(checkpoint["fees_collected"], feed.truth.fees_collected);
        // Every reward job's latest status is its kept completion.
        for (job, worker) in &feed.truth.reward_jobs {
            let latest = &expected.jobs[&job.to_string()];
            assert_eq!(latest["status"], WorkerEventStatus::Completed.as_str(), "{job}");
            assert_eq!(latest["public_key"], worker.as_str());
        }
    }
    let contract = expected.contracts.values().next().expect("some deployment in 12 checkpoints");
    assert!(contract["state_tree_height"].as_u64().unwrap() >= 8);
    assert_eq!(contract["function_count"], contract["functions"].as_array().unwrap().len());
    assert!(contract["functions"][0]["method_id"].is_u64() && contract["functions"][0]["name"].is_string());
}

#[test]
fn jobs_keep_the_newest_timestamp_then_the_last_folded() {
    let record = |status: WorkerEventStatus, timestamp: i64, key: &str| {
        let job_id = "0-7-0-6-1-0-0-8-0".parse().unwrap();
        PsyEvent::from(WorkerEventReported {
            realm_id: Some(0),
            public_key: Some(key.into()),
            status,
            source: shared::psy_model::WorkerEventSource::Realm,
            job_id,
            checkpoint_id: 7,
            duration: None,
            metadata: "{}".into(),
            timestamp,
        })
    };
    let events = [
        record(WorkerEventStatus::Processing, 20, "a"),
        record(WorkerEventStatus::Pending, 10, "-"),
        record(WorkerEventStatus::Failed, 30, "a"),
        record(WorkerEventStatus::Completed, 30, "b"),
    ];
    let expected = expected_psy_with(std::iter::empty(), events);
    let job = &expected.jobs["0-7-0-6-1-0-0-8-0"];
    assert_eq!((job["status"].as_str(), job["public_key"].as_str()), (Some("COMPLETED"), Some("b")));
    assert_eq!((job["timestamp_us"].as_i64(), job["first_us"].as_i64()), (Some(30), Some(10)));
    assert_eq!(expected.worker_events.len(), 4);
}

#[test]
fn lines_fold_in_chain_order_whatever_order_they_come_in() {
    let lines = chain_lines(6, 4_000);
    let forward = expected_psy(lines.iter().map(String::as_str));
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(expected_psy(sorted.iter().map(String::as_str)), forward);
    assert!(forward.worker_events.len() > 500 && !forward.checkpoints.is_empty(), "{}", forward.worker_events.len());
    assert!(forward.worker_events.iter().any(|e| e["status"] == "FAILED"), "some attempt fails");
    assert!(forward.jobs.values().any(|j| j["status"] == "COMPLETED" && j["first_us"] != j["timestamp_us"]));
}

#[test]
fn chain_and_a_disjoint_telemetry_feed_fold_together_without_collisions() {
    let lines = chain_lines(8, 3_000);
    let chain = expected_psy(lines.iter().map(String::as_str));
    let posts: Vec<_> =
        RealFeedGenerator::new(RealFeedConfig::disjoint(1_008, 1_000_000)).take(6).flat_map(|f| f.posts).collect();
    let records: Vec<PsyEvent> = posts.iter().flat_map(telemetry_events).collect();
    let telemetry = expected_psy_with(std::iter::empty(), records.clone());
    let both = expected_psy_with(lines.iter().map(String::as_str), records);
    assert_eq!(both.jobs.len(), chain.jobs.len() + telemetry.jobs.len());
    assert_eq!(both.checkpoints.len(), chain.checkpoints.len() + telemetry.checkpoints.len());
    assert_eq!(both.contracts.len(), chain.contracts.len() + telemetry.contracts.len());
    assert_eq!(both.worker_events.len(), chain.worker_events.len() + telemetry.worker_events.len());
    let users = |e: &ExpectedPsy| {
        e.user_events.iter().map(|u| u["user_id"].to_string()).collect::<std::collections::BTreeSet<_>>()
    };
    assert!(users(&chain).is_disjoint(&users(&telemetry)));
}

#[test]
fn a_registration_is_a_user_and_its_register_user_event() {
    let mut psy = Psy::default();
    let registration = UserRegistration {
        public_key: [1; 32],
        twitter_handle: "@a".into(),
        label: "rig".into(),
        registered_at: 1_720_000_000,
    };
    psy.register("1000000000007", &registration);
    let expected = psy.state();
    assert_eq!(expected.users["1000000000007"]["created_us"], 1_720_000_000_000_000i64);
    assert_eq!(expected.user_events[0]["tx_type"], "REGISTER_USER");
    assert_eq!(expected.user_events[0]["public_key"], expected.users["1000000000007"]["public_key"]);
}

#[test]
fn contracts_and_checkpoints_keep_the_newest_timestamp_and_list_by_first_report() {
    let contract = |uuid: &str, timestamp: i64, deployer: &str| {
        PsyEvent::from(shared::psy::ContractReported {
            contract_uuid: uuid.into(),
            checkpoint_id: 3,
            contract_id: 9,
            deployer: deployer.into(),
            function_whitelist_root: "0x00".into(),
            metadata: r#"{"state_tree_height": 12}"#.into(),
            timestamp,
        })
    };
    let leaf = |timestamp: i64, fees: i64| {
        PsyEvent::from(shared::psy::CheckpointLeafReported {
            checkpoint_id: 3,
            fees_collected: fees,
            user_ops_processed: 1,
            total_transactions: 1,
            slots_modified: 1,
            metadata: "{}".into(),
            timestamp,
        })
    };
    let psy = Psy::folded([
        contract("a", 20, "first"),
        contract("b", 5, "other"),
        contract("a", 10, "older, folded later"),
        leaf(20, 7),
        leaf(10, 8),
        contract("a", 20, "same time, folded last"),
    ]);
    let state = psy.state();
    assert_eq!(state.contracts["a"]["deployer"], "same time, folded last");
    assert_eq!(state.contracts["a"]["state_tree_height"], 12);
    assert_eq!(
        (state.checkpoints["3"]["fees_collected"].as_i64(), state.checkpoints["3"]["created_us"].as_i64()),
        (Some(7), Some(10))
    );
    let contracts = psy.contracts();
    let listed: Vec<&str> = contracts.iter().map(|c| c["uuid"].as_str().unwrap()).collect();
    assert_eq!(listed, ["b", "a"], "newest first report first");
}
