//! Decoder behaviour on hand-written logs: one test per case the design names.

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use base64::Engine;
use shared::decoder::{EventOrigin, InstructionGroup, MessageInstruction};
use shared::dfpn::{
    ContentRegistryEvent, DfpnInstruction, MarketplaceEvent, ModelRegistryEvent, ModelScoreUpdated, RequestCancelled,
    RewardsEvent, WorkerRegistryEvent, INSTRUCTION_INDEX_BASE,
};
use shared::psy::{CheckpointLeafReported, PsyEvent};
use shared::{decode_transaction, ChainEvent, ProgramKind, ProgramSet, SkipReason};

fn dfpn_id() -> String {
    ProgramKind::AnalysisMarketplace.default_id().to_string()
}
fn models_id() -> String {
    ProgramKind::ModelRegistry.default_id().to_string()
}
fn psy_id() -> String {
    ProgramKind::Psy.default_id().to_string()
}
const OTHER: &str = "TokenkegQfeZyiNwAJbNbGqPFXCWuBvf9Ss623VQ5DA";

fn cancelled(n: u8) -> ChainEvent {
    ChainEvent::Marketplace(MarketplaceEvent::RequestCancelled(RequestCancelled {
        request_id: Pubkey::new_from_array([n; 32]),
        fee_refunded: 1_000_000 + u64::from(n),
    }))
}

fn checkpoint(n: u64) -> ChainEvent {
    ChainEvent::Psy(PsyEvent::CheckpointLeafReported(CheckpointLeafReported {
        checkpoint_id: n as i64,
        fees_collected: n as i64 * 10,
        user_ops_processed: 3,
        total_transactions: 4,
        slots_modified: 5,
        metadata: "{}".into(),
        timestamp: 1_700_000_000_000_000,
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
    let at = |program_id: String, data: Vec<u8>, stack_height| MessageInstruction {
        program_id,
        accounts: vec![],
        data,
        stack_height,
    };
    let inner = vec![InstructionGroup {
        outer: at(OTHER.into(), vec![], 1),
        inner: vec![
            at(dfpn_id(), vec![1, 2, 3], 2),
            at(dfpn_id(), tagged(&cancelled(4)), 3),
            // invoked by another program, not by itself: not an event
            at(dfpn_id(), tagged(&cancelled(5)), 2),
            at(psy_id(), vec![], 2),
            at(psy_id(), tagged(&checkpoint(2)), 3),
        ],
    }];
    let logs =
        vec![invoke(OTHER, 1), invoke(&dfpn_id(), 2), data_line(&cancelled(1)), success(&dfpn_id()), success(OTHER)];
    let decoded = decode_transaction(&ProgramSet::defaults(), &logs, false, Some(&inner));
    let got: Vec<_> = decoded.events.iter().map(|e| (e.event_index, e.event.clone())).collect();
    assert_eq!(got, vec![(0, cancelled(1)), (1, cancelled(4)), (2, checkpoint(2))]);
    assert_eq!(decoded.events[1].origin, EventOrigin::Instruction { outer: 0, inner: Some(1) });
}

#[test]
fn instructions_without_events_decode_from_the_message_with_their_accounts() {
    let key = |b: u8| Pubkey::new_from_array([b; 32]);
    let usage = DfpnInstruction::IncrementUsage { authority: key(1), model: key(2) };
    let (data, accounts) = usage.to_chain();
    let message = |program_id: String, data: Vec<u8>, accounts: &[Pubkey], stack_height| MessageInstruction {
        program_id,
        accounts: accounts.iter().map(Pubkey::to_string).collect(),
        data,
        stack_height,
    };
    let groups = vec![
        InstructionGroup { outer: message(OTHER.into(), vec![9], &[], 1), inner: vec![] },
        InstructionGroup {
            outer: message(OTHER.into(), vec![], &[], 1),
            inner: vec![
                message(models_id(), data.clone(), &accounts, 2),
                // a model-registry instruction the decoder does not read
                message(models_id(), vec![0xAA; 8], &accounts, 2),
                // too few accounts: skipped with a reason, the rest still decodes
                message(models_id(), data.clone(), &accounts[..1], 2),
            ],
        },
        InstructionGroup { outer: message(models_id(), data, &accounts, 1), inner: vec![] },
    ];
    let logs = vec![invoke(&models_id(), 1), "Program log: Instruction: IncrementUsage".into(), success(&models_id())];
    let from_logs = decode(&logs);
    assert!(from_logs.events.is_empty() && from_logs.needs_message && from_logs.needs_fetch());
    let decoded = decode_transaction(&ProgramSet::defaults(), &logs, false, Some(&groups));
    let got: Vec<_> = decoded.events.iter().map(|e| (e.event_index, e.event.clone())).collect();
    let usage = ChainEvent::Instruction(usage);
    // Positions in execution order: 0 outer, 1 outer, 2..=4 its inner ones, 5 outer.
    assert_eq!(got, vec![(INSTRUCTION_INDEX_BASE + 2, usage.clone()), (INSTRUCTION_INDEX_BASE + 5, usage)]);
    assert_eq!(decoded.events[0].origin, EventOrigin::Instruction { outer: 1, inner: Some(0) });
    assert_eq!(decoded.skipped.len(), 1);
    assert_eq!(decoded.skipped[0].reason, SkipReason::InvalidInstruction);
    let failed = decode_transaction(&ProgramSet::defaults(), &logs, true, Some(&groups));
    assert!(failed.events.is_empty(), "a failed transaction's instructions changed nothing");
    let token_line = vec![invoke(OTHER, 1), "Program log: Instruction: IncrementUsage".into(), success(OTHER)];
    assert!(!decode(&token_line).needs_message, "another program's instruction line asks for nothing");
}

#[test]
fn events_decode_only_under_the_program_that_defines_them() {
    let event = ChainEvent::ModelRegistry(ModelRegistryEvent::ModelScoreUpdated(ModelScoreUpdated {
        developer: Pubkey::new_unique(),
        model_id: [7; 32],
        old_score: 0,
        new_score: 9720,
    }));
    assert_eq!(ChainEvent::decode(ProgramKind::ModelRegistry, &event.encode()).unwrap(), event);
    for other in ProgramKind::ALL.into_iter().filter(|p| *p != ProgramKind::ModelRegistry) {
        let err = ChainEvent::decode(other, &event.encode()).unwrap_err().to_string();
        assert!(err.starts_with("unknown"), "{other:?}: {err}");
    }
    let (kind, stored) = ChainEvent::Instruction(DfpnInstruction::CloseDispute {
        payer: Pubkey::new_unique(),
        request: Pubkey::new_unique(),
        dispute: Pubkey::new_unique(),
    })
    .stored_payload();
    let back = ChainEvent::decode_stored(ProgramKind::AnalysisMarketplace, kind, &stored).unwrap();
    assert_eq!(back.stored_payload(), (kind, stored));
}

#[test]
fn discriminators_are_anchors_and_unique() {
    use sha2::{Digest, Sha256};
    let mut seen = std::collections::HashSet::new();
    let all = MarketplaceEvent::DISCRIMINATORS
        .iter()
        .chain(WorkerRegistryEvent::DISCRIMINATORS)
        .chain(ModelRegistryEvent::DISCRIMINATORS)
        .chain(ContentRegistryEvent::DISCRIMINATORS)
        .chain(RewardsEvent::DISCRIMINATORS)
        .chain(PsyEvent::DISCRIMINATORS);
    assert_eq!(all.clone().count(), 41 + PsyEvent::DISCRIMINATORS.len(), "the five DFPN programs define 41 events");
    for (name, discriminator) in all {
        let expected = &Sha256::digest(format!("event:{name}"))[..8];
        assert_eq!(*discriminator, expected, "{name}");
        assert!(seen.insert(discriminator.to_vec()), "duplicate discriminator for {name}");
    }
}
