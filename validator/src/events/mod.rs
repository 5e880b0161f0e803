//! Fixture ground-truth lines (the output of `fixture-node events`) and how they are packed into
//! emitter transactions.
//!
//! A line is an Anchor event (a `Program data:` payload) or an instruction that emits no event
//! (its chain data and account keys, which the indexer reads from the transaction message). The
//! entries of one fixture transaction travel in one chain transaction, split only where the
//! 1,232-byte transaction size or `--events-per-tx` demands. Inside a transaction, each run of
//! consecutive entries of one program and one Anchor instruction is preceded by a mode-4
//! instruction that logs `Instruction: <Name>` under that program, as Anchor's dispatcher does;
//! an instruction entry always starts a run of its own (it is one invocation on the real chain).//!
//! This module reads the lines; [`pack`] packs them into transactions and builds their emitter
//! instructions.

pub mod pack;
#[cfg(test)]
pub(crate) mod tests;

use std::io::BufRead;
use std::str::FromStr;

use anyhow::{bail, Context};
use base64::Engine;
use serde::{Deserialize, Serialize};
use solana_instruction::AccountMeta;
use solana_pubkey::Pubkey;

pub use pack::{plan, Placed, PlannedTx, INSTRUCTION_INDEX_BASE, MAX_TRANSACTION_BYTES};

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
