//! Fixture ground-truth lines (the output of `fixture-node events`) and how they are packed into
//! emitter transactions.
//!
//! A line is an Anchor event (a `Program data:` payload) or an instruction that emits no event
//! (its chain data and account keys, which the indexer reads from the transaction message). The
//! entries of one fixture transaction travel in one chain transaction, split only where the
//! 1,232-byte transaction size or `--events-per-tx` demands. Inside a transaction, each run of
//! consecutive entries of one program and one Anchor instruction is preceded by a mode-4
//! instruction that logs `Instruction: <Name>` under that program, as Anchor's dispatcher does;
//! an instruction entry always starts a run of its own (it is one invocation on the real chain).

use std::io::BufRead;
use std::str::FromStr;

use anyhow::{bail, Context};
use base64::Engine;
use serde::{Deserialize, Serialize};
use solana_instruction::{AccountMeta, Instruction};
use solana_pubkey::Pubkey;
use solana_transaction::Transaction;

/// Emitter mode (first data byte, see `fixtures/programs/README.md`): emit the payload.
pub const MODE_EMIT: u8 = 0;
/// Emit the payload, then fail the instruction (custom error 1).
pub const MODE_EMIT_THEN_FAIL: u8 = 1;
/// Succeed without logging (a nonce).
pub const MODE_NOP: u8 = 2;
/// Fail without logging (custom error 2).
pub const MODE_FAIL: u8 = 3;
/// Log the payload as text (`Program log: <text>`).
pub const MODE_LOG: u8 = 4;

/// The largest transaction the cluster accepts (a packet: 1,280 bytes minus IPv6 and UDP headers).
pub const MAX_TRANSACTION_BYTES: usize = 1_232;

/// The compute budget program (`ComputeBudget111111111111111111111111111111`).
pub const COMPUTE_BUDGET_PROGRAM: Pubkey = Pubkey::from_str_const("ComputeBudget111111111111111111111111111111");

/// Compute units every transaction requests: the same for all (the scheduler compares fee per
/// requested unit), far above what the emitter uses (a few hundred per instruction) and far
/// below the 200,000 per instruction a transaction is charged without a request, which would
/// exhaust the 12 M units a block allows per written account (every transaction writes the
/// payer) after a few dozen transactions and push the rest to later slots, out of their order.
pub const COMPUTE_UNIT_LIMIT: u32 = 60_000;

/// Micro-lamports per compute unit the first transaction offers; each later one offers
/// [`COMPUTE_UNIT_PRICE_STEP`] times less, down to [`MIN_COMPUTE_UNIT_PRICE`] (after about
/// 13,800 transactions). Every transaction costs the scheduler the same but for at most a few
/// units of instruction data (1 unit per 140 bytes), so a price falling by 0.05 % per
/// transaction (and by several lamports of fee, never rounded away) makes a leader take
/// buffered transactions in their send order; an equal price would let it take them in any.
pub const FIRST_COMPUTE_UNIT_PRICE: u64 = 200_000_000;
/// The factor by which each transaction's price falls.
pub const COMPUTE_UNIT_PRICE_STEP: f64 = 1.0005;
/// The lowest price offered (its fee, 12,000 lamports, still moves by 6 lamports a step).
pub const MIN_COMPUTE_UNIT_PRICE: u64 = 200_000;

/// The compute unit price of the `index`-th transaction (see [`FIRST_COMPUTE_UNIT_PRICE`]).
pub fn compute_unit_price(index: u64) -> u64 {
    let price = FIRST_COMPUTE_UNIT_PRICE as f64 / COMPUTE_UNIT_PRICE_STEP.powf(index as f64);
    (price as u64).max(MIN_COMPUTE_UNIT_PRICE)
}

/// What a line stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An Anchor event: `payload` is discriminator + Borsh, logged as `Program data:`.
    Event,
    /// An instruction without event: `payload` is its data, `accounts` its leading accounts.
    Instruction,
}

/// One line of `fixture-node events`: a ground-truth entry with its program and chain bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryLine {
    /// Position in the fixture history's ground truth, from 0.
    pub n: u64,
    /// The fixture transaction the entry belongs to (entries of one travel together).
    pub tx: u64,
    /// The program's snake_case name (`analysis_marketplace`, ..., `psy`).
    pub program: String,
    /// Base58 program id.
    pub program_id: String,
    /// Event or instruction name.
    pub name: String,
    /// Event or instruction.
    pub kind: EntryKind,
    /// Base64 of the chain bytes: an event's discriminator + Borsh, an instruction's data.
    pub payload: String,
    /// Base58 account keys of an instruction (none for an event).
    #[serde(default)]
    pub accounts: Vec<String>,
    /// The CamelCase Anchor instruction that emitted the event (an instruction's own name).
    pub instruction: String,
    /// The fixture's ground truth, `{"program", "name", "fields"}` (read for its keys only).
    #[serde(default)]
    pub truth: serde_json::Value,
}

impl EntryLine {
    /// The decoded payload bytes.
    pub fn payload_bytes(&self) -> anyhow::Result<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.payload)
            .with_context(|| format!("entry {}: payload is not base64", self.n))
    }

    /// The program id as a key.
    pub fn program_key(&self) -> anyhow::Result<Pubkey> {
        Pubkey::from_str(&self.program_id)
            .with_context(|| format!("entry {}: program id {:?}", self.n, self.program_id))
    }

    /// The account keys and 32-byte values (base58 keys, 64-digit hex hashes and ids) the entry
    /// names: its accounts and the strings among its ground-truth fields. An entity's first
    /// entry introduces its keys; later entries of it name some of them again.
    pub fn keys(&self) -> Vec<String> {
        fn walk(value: &serde_json::Value, keys: &mut Vec<String>) {
            match value {
                serde_json::Value::String(text) if is_key(text) => keys.push(text.clone()),
                serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, keys)),
                serde_json::Value::Object(map) => map.values().for_each(|item| walk(item, keys)),
                _ => {}
            }
        }
        let mut keys = self.accounts.clone();
        walk(&self.truth["fields"], &mut keys);
        keys.sort();
        keys.dedup();
        keys
    }

    /// The instruction's accounts: read-only, non-signer (the keys are arbitrary, the emitter
    /// only needs to see that there are some).
    pub fn account_metas(&self) -> anyhow::Result<Vec<AccountMeta>> {
        self.accounts
            .iter()
            .map(|key| {
                Pubkey::from_str(key)
                    .map(|key| AccountMeta::new_readonly(key, false))
                    .with_context(|| format!("entry {}: account {key:?}", self.n))
            })
            .collect()
    }
}

fn is_key(text: &str) -> bool {
    (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())) || Pubkey::from_str(text).is_ok()
}

/// Reads lines, keeping those with `n` in `[from, from + count)` (`count` 0: no end).
pub fn read_entries(reader: impl BufRead, from: u64, count: u64) -> anyhow::Result<Vec<EntryLine>> {
    let end = if count == 0 { u64::MAX } else { from.saturating_add(count) };
    let mut entries = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: EntryLine =
            serde_json::from_str(&line).with_context(|| format!("line {}: not a ground-truth entry", number + 1))?;
        if entry.kind == EntryKind::Instruction && entry.accounts.is_empty() {
            bail!(
                "line {}: instruction {} has no accounts (the emitter reads account-less data as a mode)",
                number + 1,
                entry.name
            );
        }
        if (from..end).contains(&entry.n) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// A transaction to send: entries of one fixture transaction, in order, and whether it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTx {
    /// Position among the planned transactions, from 0.
    pub index: u64,
    /// The entries.
    pub entries: Vec<EntryLine>,
    /// Whether the transaction fails at its end (after logging every entry).
    pub fail: bool,
}

/// An entry as it lands on chain: its index in the indexer's log key (events count from 0 in
/// log order; an instruction is `2048 +` its position in the transaction's execution order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed<'a> {
    /// The entry.
    pub entry: &'a EntryLine,
    /// Its `event_index`.
    pub event_index: u32,
}

/// Event indexes of decoded instructions start here (the main workspace's
/// `shared::dfpn::INSTRUCTION_INDEX_BASE`).
pub const INSTRUCTION_INDEX_BASE: u32 = 2_048;

impl PlannedTx {
    /// The keys its entries name (see [`EntryLine::keys`]).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.entries.iter().flat_map(EntryLine::keys).collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The instructions, and where each entry landed: first the compute budget (a fixed unit
    /// limit and a price falling with the transaction's index, see [`COMPUTE_UNIT_LIMIT`] and
    /// [`FIRST_COMPUTE_UNIT_PRICE`]); per run a mode-4 `Instruction: <Name>` log, then per event a mode-0 instruction (mode 1 for the last entry of a failing
    /// transaction when it is an event) and per instruction entry its data with its accounts;
    /// a failing transaction whose last entry is an instruction ends with a mode-3 failure; last,
    /// a no-op carrying the transaction's index, so that transactions with the same entries
    /// never share a signature.
    pub fn build(&self) -> anyhow::Result<(Vec<Instruction>, Vec<Placed<'_>>)> {
        let mut instructions = Vec::with_capacity(self.entries.len() * 2 + 4);
        let price = compute_unit_price(self.index);
        instructions.push(Instruction::new_with_bytes(
            COMPUTE_BUDGET_PROGRAM,
            &[&[2u8][..], &COMPUTE_UNIT_LIMIT.to_le_bytes()].concat(),
            vec![],
        ));
        instructions.push(Instruction::new_with_bytes(
            COMPUTE_BUDGET_PROGRAM,
            &[&[3u8][..], &price.to_le_bytes()].concat(),
            vec![],
        ));
        let mut placed = Vec::with_capacity(self.entries.len());
        let mut events = 0u32;
        let mut run: Option<(&str, &str)> = None;
        let last = self.entries.len().saturating_sub(1);
        let mut program = None;
        for (position, entry) in self.entries.iter().enumerate() {
            let program_id = entry.program_key()?;
            let starts_run = entry.kind == EntryKind::Instruction
                || run != Some((entry.program_id.as_str(), entry.instruction.as_str()));
            if starts_run {
                let text = format!("Instruction: {}", entry.instruction);
                instructions.push(Instruction::new_with_bytes(
                    program_id,
                    &[&[MODE_LOG], text.as_bytes()].concat(),
                    vec![],
                ));
                run = Some((entry.program_id.as_str(), entry.instruction.as_str()));
            }
            match entry.kind {
                EntryKind::Event => {
                    let mode = if self.fail && position == last { MODE_EMIT_THEN_FAIL } else { MODE_EMIT };
                    let data = [&[mode][..], &entry.payload_bytes()?].concat();
                    instructions.push(Instruction::new_with_bytes(program_id, &data, vec![]));
                    placed.push(Placed { entry, event_index: events });
                    events += 1;
                }
                EntryKind::Instruction => {
                    let event_index = INSTRUCTION_INDEX_BASE + instructions.len() as u32;
                    instructions.push(Instruction::new_with_bytes(
                        program_id,
                        &entry.payload_bytes()?,
                        entry.account_metas()?,
                    ));
                    placed.push(Placed { entry, event_index });
                }
            }
            program = Some(program_id);
        }
        let Some(program_id) = program else { bail!("planned transaction {} has no entries", self.index) };
        if self.fail && self.entries[last].kind == EntryKind::Instruction {
            instructions.push(Instruction::new_with_bytes(program_id, &[MODE_FAIL], vec![]));
        }
        let nonce = [&[MODE_NOP][..], &self.index.to_le_bytes()].concat();
        instructions.push(Instruction::new_with_bytes(program_id, &nonce, vec![]));
        Ok((instructions, placed))
    }

    /// The serialized size of the transaction signed by `payer`.
    pub fn size(&self, payer: &Pubkey) -> anyhow::Result<usize> {
        Ok(transaction_size(&self.build()?.0, payer))
    }
}

/// Bytes of a legacy transaction of `instructions` paid (and signed only) by `payer`: its
/// signatures with their length prefix, then the message.
pub fn transaction_size(instructions: &[Instruction], payer: &Pubkey) -> usize {
    let transaction = Transaction::new_with_payer(instructions, Some(payer));
    let signatures = transaction.signatures.len();
    short_vec_len(signatures) + 64 * signatures + transaction.message.serialize().len()
}

fn short_vec_len(len: usize) -> usize {
    match len {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        _ => 3,
    }
}

/// Packs entries into transactions: the entries of one fixture transaction together, in order,
/// split where a transaction would exceed [`MAX_TRANSACTION_BYTES`] or hold more than `per_tx`
/// entries (0: no such limit; entries of different fixture transactions never share one); every
/// `fail_every`-th transaction (1-based; 0: none) fails. An entry too large for a transaction of
/// its own is an error.
pub fn plan(entries: &[EntryLine], per_tx: usize, fail_every: u64) -> anyhow::Result<Vec<PlannedTx>> {
    let per_tx = if per_tx == 0 { usize::MAX } else { per_tx };
    // Sizes do not depend on the payer's key, only on the number of distinct keys.
    let payer = Pubkey::new_from_array([0xfe; 32]);
    let fails = |index: u64| fail_every > 0 && (index + 1) % fail_every == 0;
    let mut planned: Vec<PlannedTx> = Vec::new();
    let mut current = PlannedTx { index: 0, entries: Vec::new(), fail: fails(0) };
    for entry in entries {
        let joins = current.entries.last().is_some_and(|last| last.tx == entry.tx) && current.entries.len() < per_tx;
        if joins {
            current.entries.push(entry.clone());
            if current.size(&payer)? <= MAX_TRANSACTION_BYTES {
                continue;
            }
            current.entries.pop();
        }
        if !current.entries.is_empty() {
            let index = current.index + 1;
            planned.push(std::mem::replace(&mut current, PlannedTx { index, entries: Vec::new(), fail: fails(index) }));
        }
        current.entries.push(entry.clone());
        let size = current.size(&payer)?;
        if size > MAX_TRANSACTION_BYTES {
            bail!(
                "entry {} ({} {}): a transaction of it alone takes {size} bytes, more than {MAX_TRANSACTION_BYTES}",
                entry.n,
                entry.program,
                entry.name
            );
        }
    }
    if !current.entries.is_empty() {
        planned.push(current);
    }
    Ok(planned)
}

#[cfg(test)]
pub(crate) mod tests {
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
            .map(|n| {
                serde_json::to_string(&event(n, n / 2, "analysis_marketplace", "CreateRequest", 12)).unwrap() + "\n"
            })
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
        let ending_in_instruction = PlannedTx {
            index: 0,
            entries: vec![event(0, 0, "psy", "A", 5), instruction(1, 0, "psy", "B", 2)],
            fail: true,
        };
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
}
