//! Test lines (shared with the other modules' tests) and the reading and packing of them.

use super::pack::*;
use super::*;

/// A test program id per program name.
pub fn program_id(program: &str) -> String {
    let byte = program.bytes().fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    Pubkey::new_from_array([byte; 32]).to_string()
}

/// An event line of `program`, emitted by Anchor instruction `instruction`.
pub fn event(n: u64, tx: u64, program: &str, instruction: &str, len: usize) -> EntryLine {
    EntryLine {
        n,
        tx,
        program: program.into(),
        program_id: program_id(program),
        name: format!("Event{n}"),
        kind: EntryKind::Event,
        payload: base64::engine::general_purpose::STANDARD.encode(vec![n as u8; len]),
        accounts: vec![],
        instruction: instruction.into(),
        truth: serde_json::json!({"fields": {"id": program_id(program), "n": n, "hash": "ab".repeat(32)}}),
    }
}

/// An instruction line of `program` with `accounts` distinct keys.
pub fn instruction(n: u64, tx: u64, program: &str, name: &str, accounts: u8) -> EntryLine {
    EntryLine {
        kind: EntryKind::Instruction,
        name: name.into(),
        instruction: name.into(),
        payload: base64::engine::general_purpose::STANDARD.encode([0xd7, 0xc4, 0x04, 0xcd, 0x24, 0x15, 0xe3, 0xef]),
        accounts: (0..accounts)
            .map(|i| Pubkey::new_from_array([n as u8 ^ 0x55, i, 1, 2].repeat(8).try_into().unwrap()).to_string())
            .collect(),
        ..event(n, tx, program, name, 0)
    }
}

#[test]
fn reads_a_window_of_lines_and_refuses_account_less_instructions() {
    let text: String = (0..10)
        .map(|n| serde_json::to_string(&event(n, n / 2, "analysis_marketplace", "CreateRequest", 12)).unwrap() + "\n")
        .collect();
    let entries = read_entries(text.as_bytes(), 3, 4).unwrap();
    assert_eq!(entries.iter().map(|e| e.n).collect::<Vec<_>>(), vec![3, 4, 5, 6]);
    assert_eq!(read_entries(text.as_bytes(), 0, 0).unwrap().len(), 10);
    assert!(read_entries("{\"n\":1}\n".as_bytes(), 0, 0).is_err());
    let bare = EntryLine { accounts: vec![], ..instruction(0, 0, "model_registry", "IncrementUsage", 2) };
    assert!(read_entries((serde_json::to_string(&bare).unwrap() + "\n").as_bytes(), 0, 0).is_err());
    let line = r#"{"n":0,"tx":0,"program":"psy","program_id":"11111111111111111111111111111111","name":"E","kind":"event","payload":"AA==","accounts":[],"instruction":"Deploy","truth":{"program":"psy","name":"E","fields":{}}}"#;
    assert_eq!(read_entries(line.as_bytes(), 0, 0).unwrap()[0].instruction, "Deploy");
}

#[test]
fn keys_are_accounts_and_32_byte_values_of_the_truth() {
    let mut entry = instruction(1, 0, "model_registry", "IncrementUsage", 2);
    entry.truth = serde_json::json!({"fields": {
        "authority": entry.accounts[0], "nested": [{"model": Pubkey::new_from_array([9; 32]).to_string()}],
        "content_hash": "0f".repeat(32), "name": "model-x", "short": "abcd", "score": 7,
    }});
    let mut want = entry.accounts.clone();
    want.extend([Pubkey::new_from_array([9; 32]).to_string(), "0f".repeat(32)]);
    want.sort();
    assert_eq!(entry.keys(), want);
}

#[test]
fn logs_each_run_once_and_places_events_and_instructions() {
    let planned = PlannedTx {
        index: 9,
        entries: vec![
            event(0, 0, "rewards", "FinalizeRequest", 20),
            event(1, 0, "analysis_marketplace", "FinalizeRequest", 20),
            event(2, 0, "analysis_marketplace", "FinalizeRequest", 20),
            instruction(3, 0, "analysis_marketplace", "ResolveDispute", 3),
            event(4, 0, "analysis_marketplace", "ResolveDispute", 20),
            instruction(5, 0, "model_registry", "IncrementUsage", 2),
            instruction(6, 0, "model_registry", "IncrementUsage", 2),
        ],
        fail: false,
    };
    let (instructions, placed) = planned.build().unwrap();
    let described: Vec<String> = instructions
        .iter()
        .map(|i| match i.data.first() {
            _ if i.program_id == COMPUTE_BUDGET_PROGRAM => format!("budget {}", i.data[0]),
            Some(&MODE_LOG) if i.accounts.is_empty() => String::from_utf8(i.data[1..].to_vec()).unwrap(),
            Some(&mode) if i.accounts.is_empty() => format!("mode {mode}"),
            _ => format!("{} accounts", i.accounts.len()),
        })
        .collect();
    assert_eq!(
        described,
        [
            "budget 2",
            "budget 3",
            "Instruction: FinalizeRequest",
            "mode 0",
            "Instruction: FinalizeRequest",
            "mode 0",
            "mode 0",
            "Instruction: ResolveDispute",
            "3 accounts",
            "mode 0",
            "Instruction: IncrementUsage",
            "2 accounts",
            "Instruction: IncrementUsage",
            "2 accounts",
            "mode 2",
        ]
    );
    assert_eq!(instructions[0].data, [&[2u8][..], &COMPUTE_UNIT_LIMIT.to_le_bytes()].concat());
    assert_eq!(instructions[1].data, [&[3u8][..], &compute_unit_price(9).to_le_bytes()].concat());
    assert_eq!(instructions[2].program_id.to_string(), program_id("rewards"));
    assert_eq!(instructions[4].program_id.to_string(), program_id("analysis_marketplace"));
    assert_eq!(instructions[3].data[1..], planned.entries[0].payload_bytes().unwrap()[..]);
    assert_eq!(instructions[8].data, planned.entries[3].payload_bytes().unwrap());
    assert!(instructions[8].accounts.iter().all(|a| !a.is_signer && !a.is_writable));
    let indexes: Vec<u32> = placed.iter().map(|p| p.event_index).collect();
    assert_eq!(indexes, vec![0, 1, 2, 2048 + 8, 3, 2048 + 11, 2048 + 13]);
    assert_eq!(instructions.last().unwrap().data, [&[MODE_NOP][..], &9u64.to_le_bytes()].concat());
}

#[test]
fn prices_fall_by_whole_lamports_of_fee_for_thousands_of_transactions() {
    let fee = |index| (compute_unit_price(index) as u128 * u128::from(COMPUTE_UNIT_LIMIT)).div_ceil(1_000_000);
    assert_eq!(compute_unit_price(0), FIRST_COMPUTE_UNIT_PRICE);
    assert!((0..13_000).all(|i| fee(i) >= fee(i + 1) + 5), "each fee at least 5 lamports above the next");
    assert_eq!(compute_unit_price(20_000), MIN_COMPUTE_UNIT_PRICE);
}

#[test]
fn a_failing_transaction_fails_at_its_end() {
    let events =
        PlannedTx { index: 0, entries: vec![event(0, 0, "psy", "A", 5), event(1, 0, "psy", "A", 5)], fail: true };
    let (instructions, _) = events.build().unwrap();
    let modes: Vec<u8> = instructions[2..].iter().map(|i| i.data[0]).collect();
    assert_eq!(modes, vec![MODE_LOG, MODE_EMIT, MODE_EMIT_THEN_FAIL, MODE_NOP]);
    let late = PlannedTx { index: 1 << 40, ..events.clone() };
    assert_eq!(late.build().unwrap().0[1].data, [&[3u8][..], &MIN_COMPUTE_UNIT_PRICE.to_le_bytes()].concat());
    let ending_in_instruction =
        PlannedTx { index: 0, entries: vec![event(0, 0, "psy", "A", 5), instruction(1, 0, "psy", "B", 2)], fail: true };
    let (instructions, _) = ending_in_instruction.build().unwrap();
    let modes: Vec<u8> = instructions[2..].iter().map(|i| i.data[0]).collect();
    assert_eq!(modes, vec![MODE_LOG, MODE_EMIT, MODE_LOG, 0xd7, MODE_FAIL, MODE_NOP]);
}

#[test]
fn packs_by_fixture_transaction_count_and_size() {
    let entries = vec![
        event(0, 0, "worker_registry", "RegisterWorker", 40),
        event(1, 0, "worker_registry", "RegisterWorker", 40),
        event(2, 0, "model_registry", "RegisterModel", 40),
        event(3, 1, "worker_registry", "RegisterWorker", 40),
        event(4, 2, "psy", "Deploy", 40),
        instruction(5, 2, "model_registry", "IncrementUsage", 2),
        event(6, 3, "psy", "Deploy", 600),
        event(7, 3, "psy", "Deploy", 600),
        event(8, 4, "psy", "Deploy", 40),
    ];
    let planned = plan(&entries, 2, 3).unwrap();
    let shape: Vec<Vec<u64>> = planned.iter().map(|tx| tx.entries.iter().map(|e| e.n).collect()).collect();
    assert_eq!(shape, vec![vec![0, 1], vec![2], vec![3], vec![4, 5], vec![6], vec![7], vec![8]]);
    assert_eq!(planned.iter().map(|tx| tx.index).collect::<Vec<_>>(), (0..7).collect::<Vec<_>>());
    let failing: Vec<u64> = planned.iter().filter(|tx| tx.fail).map(|tx| tx.index).collect();
    assert_eq!(failing, vec![2, 5]);
    let payer = Pubkey::new_unique();
    assert!(planned.iter().all(|tx| tx.size(&payer).unwrap() <= MAX_TRANSACTION_BYTES));
    let roomy = plan(&entries, 0, 0).unwrap();
    let shape: Vec<Vec<u64>> = roomy.iter().map(|tx| tx.entries.iter().map(|e| e.n).collect()).collect();
    assert_eq!(shape, vec![vec![0, 1, 2], vec![3], vec![4, 5], vec![6], vec![7], vec![8]]);
    assert!(roomy.iter().all(|tx| !tx.fail));
    assert!(plan(&[event(0, 0, "psy", "Deploy", 1_200)], 4, 0).is_err());
}

#[test]
fn the_size_is_the_legacy_wire_format() {
    let payer = Pubkey::new_unique();
    let planned = PlannedTx {
        index: 3,
        entries: vec![event(0, 0, "psy", "A", 300), instruction(1, 0, "model_registry", "IncrementUsage", 4)],
        fail: true,
    };
    let (instructions, _) = planned.build().unwrap();
    // Signature count and one signature; header; keys: payer, the compute budget and two
    // programs, four accounts; blockhash; the instructions with their program index and
    // prefixed accounts and data.
    let keys = 1 + 3 + 4;
    let framing: usize = instructions.iter().map(|i| 1 + 1 + i.accounts.len() + 1 + i.data.len()).sum();
    let data_len_prefix_extra = instructions.iter().filter(|i| i.data.len() > 0x7f).count();
    let expected = 1 + 64 + 3 + 1 + 32 * keys + 32 + 1 + framing + data_len_prefix_extra;
    assert_eq!(planned.size(&payer).unwrap(), expected);
}
