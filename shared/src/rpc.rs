//! Decodes the events of a `getTransaction` answer (JSON encoding), resolving inner
//! instructions' program ids through the message's account keys.

use solana_transaction_status_client_types::option_serializer::OptionSerializer;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, EncodedTransaction, UiInstruction, UiMessage,
};

use crate::decoder::{decode_transaction, DecodedTransaction, InnerInstruction, InnerInstructions};
use crate::error::{Error, Result};
use crate::program::ProgramSet;

/// Decodes a transaction fetched with `getTransaction` (`encoding: json`).
///
/// Logs and inner instructions both count, so `emit_cpi!` events are found; a transaction whose
/// meta has no logs is an error (the node does not keep them), not an empty result.
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
    let key = |index: u8| {
        message.account_keys.get(index as usize).cloned().ok_or_else(|| unusable("program index outside account keys"))
    };
    let mut inner_sets = Vec::new();
    if let OptionSerializer::Some(inner) = &meta.inner_instructions {
        for set in inner {
            let outer = message
                .instructions
                .get(set.index as usize)
                .ok_or_else(|| unusable("inner index outside instructions"))?;
            let mut instructions = Vec::with_capacity(set.instructions.len());
            for instruction in &set.instructions {
                let UiInstruction::Compiled(compiled) = instruction else {
                    return Err(unusable("parsed inner instruction; request encoding json"));
                };
                let program_id = key(compiled.program_id_index)?;
                // Only our programs' instruction data can hold an event (base58 decoding is
                // quadratic in the length: other programs' data is not decoded at all).
                let data = match programs.kind_of(&program_id) {
                    Some(_) => bs58::decode(&compiled.data)
                        .into_vec()
                        .map_err(|_| unusable("inner instruction data is not base58"))?,
                    None => Vec::new(),
                };
                instructions.push(InnerInstruction {
                    program_id,
                    data,
                    stack_height: compiled.stack_height.unwrap_or(2),
                });
            }
            inner_sets.push(InnerInstructions { outer_program_id: key(outer.program_id_index)?, instructions });
        }
    }
    Ok(decode_transaction(programs, logs, meta.err.is_some(), Some(&inner_sets)))
}
