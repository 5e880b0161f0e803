//! Version-0 transactions with address lookup tables, as mainnet senders use them.
//!
//! `send` sends every `--v0-every`-th planned transaction as a `VersionedMessage::V0` compiled
//! against lookup tables it creates first: the tables hold the program ids and every account of
//! the instruction entries of those transactions, so their instructions' accounts are resolved
//! by the runtime (and must be by an indexer) from `meta.loadedAddresses`, writable ones first,
//! then read-only ones, after the static keys. In a v0 transaction the first account of each
//! instruction entry is writable (the others read-only, as in legacy ones), so both lists are
//! used and an instruction's accounts interleave them. Program ids stay static keys: the runtime
//! refuses a top-level instruction whose program id would be loaded from a table.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use solana_address_lookup_table_interface::instruction::{create_lookup_table, extend_lookup_table};
use solana_address_lookup_table_interface::state::{AddressLookupTable, LOOKUP_TABLE_MAX_ADDRESSES};
use solana_commitment_config::CommitmentConfig;
use solana_hash::Hash;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_message::{v0, AddressLookupTableAccount, VersionedMessage};
use solana_pubkey::Pubkey;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Transaction;

use crate::events::{EntryKind, PlannedTx, MAX_TRANSACTION_BYTES};

/// Addresses added by one extension transaction (its data and five keys must fit 1,232 bytes).
pub const ADDRESSES_PER_EXTEND: usize = 24;

/// How a transaction went on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A legacy transaction.
    Legacy,
    /// A version-0 transaction loading these many accounts from lookup tables.
    V0 {
        /// Accounts loaded writable.
        writable: usize,
        /// Accounts loaded read-only.
        readonly: usize,
    },
}

/// Whether the `index`-th planned transaction (from 0) is one to send as v0: every `every`-th,
/// counting from 1 (0: none).
pub fn is_v0_candidate(index: u64, every: u64) -> bool {
    every > 0 && (index + 1).is_multiple_of(every)
}

/// What the tables hold: the program ids of every planned transaction, then the accounts of the
/// instruction entries of the v0 candidates, each once, in order of first use.
pub fn table_addresses(planned: &[PlannedTx], every: u64) -> anyhow::Result<Vec<Pubkey>> {
    let mut seen = HashSet::new();
    let mut addresses = Vec::new();
    for entry in planned.iter().flat_map(|tx| &tx.entries) {
        let program = entry.program_key()?;
        if seen.insert(program) {
            addresses.push(program);
        }
    }
    for tx in planned.iter().filter(|tx| is_v0_candidate(tx.index, every)) {
        for entry in tx.entries.iter().filter(|entry| entry.kind == EntryKind::Instruction) {
            for meta in entry.account_metas()? {
                if seen.insert(meta.pubkey) {
                    addresses.push(meta.pubkey);
                }
            }
        }
    }
    Ok(addresses)
}

/// The instructions of a transaction as its v0 form sends them: the first account of each
/// instruction with accounts (an instruction entry) writable, unless the transaction invokes it.
pub fn v0_instructions(mut instructions: Vec<Instruction>) -> Vec<Instruction> {
    let invoked: HashSet<Pubkey> = instructions.iter().map(|instruction| instruction.program_id).collect();
    for instruction in &mut instructions {
        if let Some(first) = instruction.accounts.first_mut() {
            first.is_writable = !invoked.contains(&first.pubkey);
        }
    }
    instructions
}

/// The signed transaction of `planned` (built as `instructions`): v0 against `tables` when it is
/// a v0 candidate and its v0 form fits [`MAX_TRANSACTION_BYTES`], else legacy.
pub fn sign(
    planned: &PlannedTx,
    instructions: Vec<Instruction>,
    payer: &Keypair,
    tables: &[AddressLookupTableAccount],
    every: u64,
    blockhash: Hash,
) -> anyhow::Result<(VersionedTransaction, Form)> {
    if is_v0_candidate(planned.index, every) {
        let v0_instructions = v0_instructions(instructions.clone());
        let message = v0::Message::try_compile(&payer.pubkey(), &v0_instructions, tables, blockhash)
            .with_context(|| format!("compiling planned transaction {} as v0", planned.index))?;
        let (writable, readonly) = message
            .address_table_lookups
            .iter()
            .fold((0, 0), |(w, r), lookup| (w + lookup.writable_indexes.len(), r + lookup.readonly_indexes.len()));
        let transaction = VersionedTransaction::try_new(VersionedMessage::V0(message), &[payer])
            .with_context(|| format!("signing planned transaction {} as v0", planned.index))?;
        let size = wire_size(&transaction);
        if size <= MAX_TRANSACTION_BYTES {
            return Ok((transaction, Form::V0 { writable, readonly }));
        }
    }
    let transaction = Transaction::new_signed_with_payer(&instructions, Some(&payer.pubkey()), &[payer], blockhash);
    Ok((VersionedTransaction::from(transaction), Form::Legacy))
}

/// Bytes of a signed transaction on the wire: its signatures with their length prefix, then the
/// message (with the version prefix of a v0 one).
fn wire_size(transaction: &VersionedTransaction) -> usize {
    let signatures = transaction.signatures.len();
    let prefix = if signatures < 0x80 { 1 } else { 2 };
    prefix + 64 * signatures + transaction.message.serialize().len()
}

/// Creates lookup tables holding `addresses` (up to 256 each, in order), paid by `payer`, each
/// with an authority of its own (tables of one authority need distinct recent slots); waits
/// until every table is active in the finalized bank (from the slot after its last extension)
/// and returns the tables as the validator holds them. Active at `confirmed` is not enough: the
/// banking stage resolves a v0 transaction's lookups against its root bank and drops the
/// transaction, unseen, while the root does not have the extended addresses active.
pub async fn create_tables(
    rpc: &RpcClient,
    payer: &Keypair,
    addresses: &[Pubkey],
    timeout: Duration,
) -> anyhow::Result<Vec<AddressLookupTableAccount>> {
    let recent_slot = rpc.get_slot_with_commitment(CommitmentConfig::finalized()).await.context("getSlot")?;
    let mut tables = Vec::new();
    for chunk in addresses.chunks(LOOKUP_TABLE_MAX_ADDRESSES) {
        let authority = Keypair::new();
        let (create, table) = create_lookup_table(authority.pubkey(), payer.pubkey(), recent_slot);
        submit(rpc, payer, &[], create).await.context("creating a lookup table")?;
        for part in chunk.chunks(ADDRESSES_PER_EXTEND) {
            let extend = extend_lookup_table(table, authority.pubkey(), Some(payer.pubkey()), part.to_vec());
            submit(rpc, payer, &[&authority], extend)
                .await
                .with_context(|| format!("extending lookup table {table}"))?;
        }
        tables.push(table);
    }
    let deadline = Instant::now() + timeout;
    let mut accounts = Vec::with_capacity(tables.len());
    let mut last_extended = 0;
    for (table, chunk) in tables.iter().zip(addresses.chunks(LOOKUP_TABLE_MAX_ADDRESSES)) {
        // The confirmed bank an account is read from can trail the confirmation of the extension
        // (seen on a loaded machine: the table read back empty): a table holding a prefix of its
        // addresses is read again until the deadline; any other content is an error at once.
        let (held_addresses, extended_slot) = loop {
            let account = rpc
                .get_account_with_commitment(table, CommitmentConfig::confirmed())
                .await
                .with_context(|| format!("getAccountInfo {table}"))?
                .value;
            let held = match account {
                Some(account) => {
                    let state = AddressLookupTable::deserialize(&account.data)
                        .map_err(|err| anyhow::anyhow!("lookup table {table}: {err}"))?;
                    if state.addresses.as_ref() == chunk {
                        break (state.addresses.to_vec(), state.meta.last_extended_slot);
                    }
                    if !chunk.starts_with(&state.addresses) {
                        bail!("lookup table {table} holds addresses that were not extended");
                    }
                    state.addresses.len()
                }
                None => 0,
            };
            if Instant::now() >= deadline {
                bail!("lookup table {table} holds {held} addresses, not the {} extended", chunk.len());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        last_extended = last_extended.max(extended_slot);
        accounts.push(AddressLookupTableAccount { key: *table, addresses: held_addresses });
    }
    while rpc.get_slot_with_commitment(CommitmentConfig::finalized()).await.context("getSlot")? <= last_extended {
        if Instant::now() >= deadline {
            bail!("the lookup tables were not active at finalized {}s after their last extension", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(accounts)
}

/// Sends one instruction paid by `payer` (and signed by `signers`) with preflight and waits
/// until it is confirmed.
async fn submit(
    rpc: &RpcClient,
    payer: &Keypair,
    signers: &[&Keypair],
    instruction: Instruction,
) -> anyhow::Result<()> {
    let blockhash = rpc.get_latest_blockhash().await.context("getLatestBlockhash")?;
    let mut all: Vec<&Keypair> = vec![payer];
    all.extend_from_slice(signers);
    let transaction = Transaction::new_signed_with_payer(&[instruction], Some(&payer.pubkey()), &all, blockhash);
    rpc.send_and_confirm_transaction(&transaction).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::{event, instruction};
    use solana_message::VersionedMessage;

    fn planned(index: u64) -> PlannedTx {
        PlannedTx {
            index,
            entries: vec![
                event(index * 3, index, "rewards", "FinalizeRequest", 20),
                instruction(index * 3 + 1, index, "model_registry", "IncrementUsage", 2),
                instruction(index * 3 + 2, index, "analysis_marketplace", "CloseDispute", 3),
            ],
            fail: false,
        }
    }

    #[test]
    fn every_kth_transaction_is_a_candidate() {
        let candidates: Vec<u64> = (0..10).filter(|&i| is_v0_candidate(i, 3)).collect();
        assert_eq!(candidates, vec![2, 5, 8]);
        assert!((0..10).all(|i| !is_v0_candidate(i, 0)));
        assert!((0..10).all(|i| is_v0_candidate(i, 1)));
    }

    #[test]
    fn tables_hold_program_ids_then_the_candidates_accounts_once() {
        let txs: Vec<PlannedTx> = (0..3).map(planned).collect();
        let addresses = table_addresses(&txs, 3).unwrap();
        let programs: Vec<Pubkey> = ["rewards", "model_registry", "analysis_marketplace"]
            .iter()
            .map(|p| crate::events::tests::program_id(p).parse().unwrap())
            .collect();
        assert_eq!(addresses[..3], programs[..]);
        let accounts: Vec<Pubkey> =
            txs[2].entries[1..].iter().flat_map(|e| e.account_metas().unwrap()).map(|m| m.pubkey).collect();
        assert_eq!(addresses[3..], accounts[..], "only the candidate (index 2) lends its accounts");
        assert_eq!(table_addresses(&[txs[2].clone(), txs[2].clone()], 1).unwrap(), addresses);
    }

    #[test]
    fn a_candidate_loads_its_accounts_writable_first_and_keeps_program_ids_static() {
        let payer = Keypair::new();
        let tx = planned(2);
        let (instructions, _) = tx.build().unwrap();
        let table = AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: table_addresses(std::slice::from_ref(&tx), 3).unwrap(),
        };
        let (signed, form) =
            sign(&tx, instructions.clone(), &payer, std::slice::from_ref(&table), 3, Hash::default()).unwrap();
        assert_eq!(form, Form::V0 { writable: 2, readonly: 3 });
        let VersionedMessage::V0(message) = &signed.message else { panic!("not v0: {signed:?}") };
        let keys = message.account_keys.clone();
        let lookup = &message.address_table_lookups[0];
        let loaded: Vec<Pubkey> = lookup
            .writable_indexes
            .iter()
            .chain(&lookup.readonly_indexes)
            .map(|&i| table.addresses[i as usize])
            .collect();
        let all: Vec<Pubkey> = keys.iter().chain(&loaded).copied().collect();
        for (compiled, original) in message.instructions.iter().zip(&instructions) {
            assert!((compiled.program_id_index as usize) < keys.len(), "program ids are static");
            assert_eq!(all[compiled.program_id_index as usize], original.program_id);
            let accounts: Vec<Pubkey> = compiled.accounts.iter().map(|&i| all[i as usize]).collect();
            assert_eq!(accounts, original.accounts.iter().map(|m| m.pubkey).collect::<Vec<_>>());
        }
        assert!(message.instructions.iter().any(|i| i.accounts.iter().any(|&a| a as usize >= keys.len())));
        assert!(signed.verify_with_results().iter().all(|ok| *ok));

        let (legacy, form) =
            sign(&planned(1), planned(1).build().unwrap().0, &payer, &[table], 3, Hash::default()).unwrap();
        assert_eq!(form, Form::Legacy);
        assert!(matches!(legacy.message, VersionedMessage::Legacy(_)));
    }

    #[test]
    fn a_candidate_too_large_as_v0_goes_legacy() {
        let payer = Keypair::new();
        let mut tx = PlannedTx { index: 0, entries: vec![event(0, 0, "psy", "Deploy", 10)], fail: false };
        while tx.size(&payer.pubkey()).unwrap() < MAX_TRANSACTION_BYTES {
            let len = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &tx.entries[0].payload)
                .unwrap()
                .len();
            tx.entries[0] = event(0, 0, "psy", "Deploy", len + 1);
        }
        assert_eq!(tx.size(&payer.pubkey()).unwrap(), MAX_TRANSACTION_BYTES);
        let (_, form) = sign(&tx, tx.build().unwrap().0, &payer, &[], 1, Hash::default()).unwrap();
        assert_eq!(form, Form::Legacy, "a v0 message is 2 bytes longer without lookups");
    }
}
