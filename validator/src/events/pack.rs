//! Packing entry lines into emitter transactions ([`plan`]) and building each one's instructions
//! ([`PlannedTx::build`]): the compute budget, a mode-4 `Instruction: <Name>` log per run, the
//! entries, a failure when asked, a nonce.

use anyhow::bail;
use solana_instruction::Instruction;
use solana_pubkey::Pubkey;
use solana_transaction::Transaction;

use super::{EntryKind, EntryLine};

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
    let fails = |index: u64| fail_every > 0 && (index + 1).is_multiple_of(fail_every);
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
