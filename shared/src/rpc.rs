//! Decodes the events of a `getTransaction` answer (JSON encoding), resolving instructions'
//! program ids and accounts through the message's account keys and its lookup tables' keys.

use solana_transaction_status_client_types::option_serializer::OptionSerializer;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, EncodedTransaction, UiInstruction, UiMessage,
};

use crate::decoder::{decode_transaction, DecodedTransaction, InstructionGroup, MessageInstruction};
use crate::error::{Error, Result};
use crate::program::ProgramSet;

/// Decodes a transaction fetched with `getTransaction` (`encoding: json`).
///
/// Logs and the message's instructions both count, so `emit_cpi!` events and the instructions
/// the fold reads are found. Account indexes run over the static keys followed by the lookup
/// tables' `loadedAddresses.writable` then `.readonly` (the runtime's order for a v0 message). A
/// transaction whose meta has no logs is an error (the node does not keep them), not an empty
/// result.
pub fn decode_fetched_transaction(
    programs: &ProgramSet,
    fetched: &EncodedConfirmedTransactionWithStatusMeta,
) -> Result<DecodedTransaction> {
    let unusable = |what: &str| Error::UnusableTransaction(what.to_owned());
    let meta = fetched.transaction.meta.as_ref().ok_or_else(|| unusable("no meta"))?;
    let OptionSerializer::Some(logs) = &meta.log_messages else {
        return Err(unusable("no logMessages"));
    };
    let EncodedTransaction::Json(transaction) = &fetched.transaction.transaction else {
        return Err(unusable("not json encoded"));
    };
    let UiMessage::Raw(message) = &transaction.message else {
        return Err(unusable("parsed message; request encoding json"));
    };
    let mut keys: Vec<&str> = message.account_keys.iter().map(String::as_str).collect();
    if let OptionSerializer::Some(loaded) = &meta.loaded_addresses {
        keys.extend(loaded.writable.iter().map(String::as_str));
        keys.extend(loaded.readonly.iter().map(String::as_str));
    }
    let resolve = |program_id_index: u8, accounts: &[u8], data: &str, stack_height: u32| {
        let key = |index: u8| {
            keys.get(index as usize).map(|key| (*key).to_owned()).ok_or_else(|| unusable("account index outside the keys"))
        };
        let program_id = key(program_id_index)?;
        // Only our programs' instructions are read (base58 decoding is quadratic in the length:
        // other programs' data is not decoded at all).
        let (accounts, data) = match programs.kind_of(&program_id) {
            Some(_) => (
                accounts.iter().map(|index| key(*index)).collect::<Result<Vec<_>>>()?,
                bs58::decode(data).into_vec().map_err(|_| unusable("instruction data is not base58"))?,
            ),
            None => (Vec::new(), Vec::new()),
        };
        Ok::<_, Error>(MessageInstruction { program_id, accounts, data, stack_height })
    };
    let mut groups: Vec<InstructionGroup> = Vec::with_capacity(message.instructions.len());
    for outer in &message.instructions {
        let outer = resolve(outer.program_id_index, &outer.accounts, &outer.data, 1)?;
        groups.push(InstructionGroup { outer, inner: Vec::new() });
    }
    if let OptionSerializer::Some(inner) = &meta.inner_instructions {
        for set in inner {
            let group = groups.get_mut(set.index as usize).ok_or_else(|| unusable("inner index outside instructions"))?;
            for instruction in &set.instructions {
                let UiInstruction::Compiled(compiled) = instruction else {
                    return Err(unusable("parsed inner instruction; request encoding json"));
                };
                let height = compiled.stack_height.unwrap_or(2);
                group.inner.push(resolve(compiled.program_id_index, &compiled.accounts, &compiled.data, height)?);
            }
        }
    }
    Ok(decode_transaction(programs, logs, meta.err.is_some(), Some(&groups)))
}
