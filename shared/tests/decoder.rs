//! Decoder behaviour on hand-written logs: one test per case the design names.

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use base64::Engine;
use shared::decoder::{EventOrigin, InnerInstruction, InnerInstructions};
use shared::dfpn::{DfpnEvent, ModelScoreUpdated, RequestCancelled};
use shared::enums::WorkerEventStatus;
use shared::psy::{CheckpointCreated, PsyEvent};
use shared::{decode_transaction, ChainEvent, ProgramKind, ProgramSet, SkipReason};

fn dfpn_id() -> String {
    ProgramKind::Dfpn.default_id().to_string()
}
fn psy_id() -> String {
    ProgramKind::Psy.default_id().to_string()
}
const OTHER: &str = "TokenkegQfeZyiNwAJbNbGqPFXCWuBvf9Ss623VQ5DA";

fn cancelled(n: u8) -> ChainEvent {
    ChainEvent::Dfpn(DfpnEvent::RequestCancelled(RequestCancelled {
        request: Pubkey::new_from_array([n; 32]),
        cancelled_at: 1_700_000_000 + i64::from(n),
    }))
}

fn checkpoint(n: u64) -> ChainEvent {
    ChainEvent::Psy(PsyEvent::CheckpointCreated(CheckpointCreated {
        checkpoint_id: n,
        block_height: n * 10,
        created_at: 1_700_000_000,
    }))
}

fn data_line(event: &ChainEvent) -> String {
    format!("Program data: {}", base64::engine::general_purpose::STANDARD.encode(event.encode()))
}

fn invoke(id: &str, depth: usize) -> String {
    format!("Program {id} invoke [{depth}]")
}

fn success(id: &str) -> String {
    format!("Program {id} success")
}

fn decode(logs: &[String]) -> shared::DecodedTransaction {
    decode_transaction(&ProgramSet::defaults(), logs, false, None)
}

fn events(logs: &[String]) -> Vec<ChainEvent> {
    decode(logs).events.into_iter().map(|e| e.event).collect()
}

#[test]
fn top_level_events_decode_in_order_with_indexes() {
    let logs = vec![
        invoke(&dfpn_id(), 1),
        "Program log: Instruction: CancelRequest".into(),
        data_line(&cancelled(1)),
        data_line(&cancelled(2)),
        format!("Program {} consumed 5000 of 200000 compute units", dfpn_id()),
        success(&dfpn_id()),
    ];
    let decoded = decode(&logs);
    assert_eq!(decoded.events.len(), 2);
    assert_eq!(decoded.events[0].event, cancelled(1));
    assert_eq!(decoded.events[1].event_index, 1);
    assert_eq!(decoded.events[1].origin, EventOrigin::Log { line: 3 });
    assert!(decoded.skipped.is_empty() && !decoded.truncated && decoded.stack_anomalies == 0);
}

#[test]
fn events_are_attributed_to_the_program_on_top_of_the_stack_at_any_cpi_depth() {
    let logs = vec![
        invoke(OTHER, 1),
        data_line(&cancelled(9)), // the router's own data: not ours
        invoke(&psy_id(), 2),
        invoke(&dfpn_id(), 3),
        data_line(&cancelled(3)),
        success(&dfpn_id()),
        data_line(&checkpoint(7)),
        success(&psy_id()),
        data_line(&cancelled(8)),
        success(OTHER),
    ];
    assert_eq!(events(&logs), vec![cancelled(3), checkpoint(7)]);
}

#[test]
fn only_configured_programs_are_decoded() {
    let only_psy = ProgramSet::new([(ProgramKind::Psy, ProgramKind::Psy.default_id())]);
    let logs = vec![invoke(&dfpn_id(), 1), data_line(&cancelled(1)), success(&dfpn_id())];
    let decoded = decode_transaction(&only_psy, &logs, false, None);
    assert!(decoded.events.is_empty() && decoded.skipped.is_empty());
}

#[test]
fn failed_transactions_yield_nothing() {
    let logs = vec![
        invoke(&dfpn_id(), 1),
        data_line(&cancelled(1)),
        format!("Program {} failed: custom program error: 0x1771", dfpn_id()),
    ];
    let decoded = decode_transaction(&ProgramSet::defaults(), &logs, true, None);
    assert!(decoded.failed);
    assert!(decoded.events.is_empty());
}

#[test]
fn spoofed_invoke_lines_in_program_logs_change_nothing() {
    let logs = vec![
        invoke(OTHER, 1),
        format!("Program log: Program {} invoke [1]", dfpn_id()),
        format!("Program log: {}", data_line(&cancelled(1))),
        data_line(&cancelled(2)),
        format!("Program log: Program {} success", OTHER),
        data_line(&cancelled(3)),
        success(OTHER),
    ];
    let decoded = decode(&logs);
    assert!(decoded.events.is_empty(), "{:?}", decoded.events);
    assert_eq!(decoded.stack_anomalies, 0);
}

#[test]
fn data_outside_any_invocation_is_ignored() {
    assert!(events(&[data_line(&cancelled(1))]).is_empty());
}

#[test]
fn bad_payloads_are_skipped_with_a_reason() {
    let mut unknown = vec![0u8; 8];
    unknown.extend_from_slice(&[1, 2, 3]);
    let mut bad_borsh = RequestCancelled::DISCRIMINATOR.to_vec();
    bad_borsh.extend_from_slice(&[1, 2, 3]);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let logs = vec![
        invoke(&dfpn_id(), 1),
        "Program data: not*base64!".to_string(),
        format!("Program data: {}", b64(&unknown)),
        format!("Program data: {}", b64(&bad_borsh)),
        format!("Program data: {}", b64(&[1, 2])),
        format!("Program data: {} {}", b64(&cancelled(1).encode()), b64(&[1])),
        data_line(&cancelled(5)),
        success(&dfpn_id()),
    ];
    let decoded = decode(&logs);
    let reasons: Vec<SkipReason> = decoded.skipped.iter().map(|s| s.reason).collect();
    assert_eq!(
        reasons,
        vec![
            SkipReason::InvalidBase64,
            SkipReason::UnknownDiscriminator,
            SkipReason::InvalidBorsh,
            SkipReason::PayloadTooShort,
            SkipReason::MultipleDataFields,
        ]
    );
    assert_eq!(decoded.events.len(), 1);
    assert_eq!(decoded.events[0].event, cancelled(5));
    assert_eq!(decoded.events[0].event_index, 0, "skipped payloads take no index");
}

#[test]
fn borsh_with_trailing_bytes_is_rejected() {
    let mut payload = cancelled(1).encode();
    payload.push(0);
    let logs = vec![
        invoke(&dfpn_id(), 1),
        format!("Program data: {}", base64::engine::general_purpose::STANDARD.encode(payload)),
        success(&dfpn_id()),
    ];
    assert_eq!(decode(&logs).skipped[0].reason, SkipReason::InvalidBorsh);
}

#[test]
fn log_truncated_marks_the_transaction() {
    let logs = vec![invoke(&dfpn_id(), 1), data_line(&cancelled(1)), "Log truncated".into()];
    let decoded = decode(&logs);
    assert!(decoded.truncated);
    assert_eq!(decoded.events.len(), 1, "events before the cut still decode");
}

#[test]
fn damaged_nesting_is_repaired_and_counted() {
    let logs = vec![
        invoke(&dfpn_id(), 1),
        invoke(OTHER, 3), // depth skips a level
        success(OTHER),
        data_line(&cancelled(1)),
        success(&psy_id()), // returns from a program not on the stack
        success(&dfpn_id()),
    ];
    let decoded = decode(&logs);
    assert_eq!(decoded.stack_anomalies, 2);
    assert_eq!(decoded.events.len(), 1);
}

#[test]
fn emit_cpi_events_decode_from_self_invoked_inner_instructions_after_log_events() {
    let tagged = |event: &ChainEvent| {
        let mut data = anchor_lang::event::EVENT_IX_TAG_LE.to_vec();
        data.extend(event.encode());
        data
    };
    let inner = vec![InnerInstructions {
        outer_program_id: OTHER.into(),
        instructions: vec![
            InnerInstruction { program_id: dfpn_id(), data: vec![1, 2, 3], stack_height: 2 },
            InnerInstruction { program_id: dfpn_id(), data: tagged(&cancelled(4)), stack_height: 3 },
            // invoked by another program, not by itself: not an event
            InnerInstruction { program_id: dfpn_id(), data: tagged(&cancelled(5)), stack_height: 2 },
            InnerInstruction { program_id: psy_id(), data: vec![], stack_height: 2 },
            InnerInstruction { program_id: psy_id(), data: tagged(&checkpoint(2)), stack_height: 3 },
        ],
    }];
    let logs =
        vec![invoke(OTHER, 1), invoke(&dfpn_id(), 2), data_line(&cancelled(1)), success(&dfpn_id()), success(OTHER)];
    let decoded = decode_transaction(&ProgramSet::defaults(), &logs, false, Some(&inner));
    let got: Vec<_> = decoded.events.iter().map(|e| (e.event_index, e.event.clone())).collect();
    assert_eq!(got, vec![(0, cancelled(1)), (1, cancelled(4)), (2, checkpoint(2))]);
    assert_eq!(decoded.events[1].origin, EventOrigin::InnerInstruction { outer: 0, inner: 1 });
}

#[test]
fn every_event_round_trips_through_encode_and_decode() {
    let event =
        ChainEvent::Dfpn(DfpnEvent::ModelScoreUpdated(ModelScoreUpdated { model: Pubkey::new_unique(), score: 9720 }));
    assert_eq!(ChainEvent::decode(ProgramKind::Dfpn, &event.encode()).unwrap(), event);
    assert_eq!(
        ChainEvent::decode(ProgramKind::Psy, &event.encode()).unwrap_err().to_string().split(' ').next(),
        Some("unknown")
    );
    let _ = WorkerEventStatus::ALL;
}

#[test]
fn discriminators_are_anchors_and_unique() {
    use sha2::{Digest, Sha256};
    let mut seen = std::collections::HashSet::new();
    for (name, discriminator) in DfpnEvent::DISCRIMINATORS.iter().chain(PsyEvent::DISCRIMINATORS) {
        let expected = &Sha256::digest(format!("event:{name}"))[..8];
        assert_eq!(*discriminator, expected, "{name}");
        assert!(seen.insert(discriminator.to_vec()), "duplicate discriminator for {name}");
    }
}
