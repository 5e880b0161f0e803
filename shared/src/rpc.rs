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
            keys.get(index as usize)
                .map(|key| (*key).to_owned())
                .ok_or_else(|| unusable("account index outside the keys"))
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
            let group =
                groups.get_mut(set.index as usize).ok_or_else(|| unusable("inner index outside instructions"))?;
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

/// The signature a `getTransaction` answer is of (its first signature, the fee payer's), in
/// base58, whatever its encoding; `None` when the answer carries none. The indexer checks it
/// against the signature it asked for: a batch answer under another request's id, or a backend
/// answering for another transaction, must never be stored under the wrong signature.
pub fn answered_signature(fetched: &EncodedConfirmedTransactionWithStatusMeta) -> Option<String> {
    match &fetched.transaction.transaction {
        EncodedTransaction::Json(transaction) => transaction.signatures.first().cloned(),
        EncodedTransaction::Accounts(accounts) => accounts.signatures.first().cloned(),
        binary => binary.decode().and_then(|transaction| transaction.signatures.first().map(ToString::to_string)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dfpn::{DfpnInstruction, INSTRUCTION_INDEX_BASE};
    use crate::event::ChainEvent;
    use crate::program::ProgramKind;
    use anchor_lang::prelude::Pubkey;

    /// A v0 transaction whose inner instruction invokes model-registry loaded from a lookup
    /// table, with a model account from the table's readonly keys.
    #[test]
    fn instructions_resolve_over_static_then_loaded_writable_then_readonly_keys() {
        let models = ProgramKind::ModelRegistry.default_id();
        let (authority, model) = (Pubkey::new_from_array([1; 32]), Pubkey::new_from_array([2; 32]));
        let (data, _) = DfpnInstruction::IncrementUsage { authority, model }.to_chain();
        let router = "TokenkegQfeZyiNwAJbNbGqPFXCWuBvf9Ss623VQ5DA";
        let answer = serde_json::json!({
            "slot": 5, "blockTime": 1_720_000_000, "version": 0,
            "transaction": {
                "signatures": ["1".repeat(64)],
                "message": {
                    "header": {"numRequiredSignatures": 1, "numReadonlySignedAccounts": 0, "numReadonlyUnsignedAccounts": 1},
                    "accountKeys": [authority.to_string(), router],
                    "recentBlockhash": "11111111111111111111111111111111",
                    "instructions": [{"programIdIndex": 1, "accounts": [0, 2, 3], "data": "", "stackHeight": null}],
                    "addressTableLookups": [{"accountKey": router, "writableIndexes": [0], "readonlyIndexes": [1]}]
                }
            },
            "meta": {
                "err": null, "status": {"Ok": null}, "fee": 5000, "preBalances": [], "postBalances": [],
                "innerInstructions": [{"index": 0, "instructions": [
                    {"programIdIndex": 2, "accounts": [0, 3], "data": bs58::encode(&data).into_string(), "stackHeight": 2}
                ]}],
                "logMessages": [
                    format!("Program {router} invoke [1]"), format!("Program {models} invoke [2]"),
                    "Program log: Instruction: IncrementUsage".to_owned(),
                    format!("Program {models} success"), format!("Program {router} success")
                ],
                "loadedAddresses": {"writable": [models.to_string()], "readonly": [model.to_string()]}
            }
        });
        let fetched: EncodedConfirmedTransactionWithStatusMeta = serde_json::from_value(answer).unwrap();
        let decoded = decode_fetched_transaction(&ProgramSet::defaults(), &fetched).unwrap();
        let got: Vec<_> = decoded.events.iter().map(|e| (e.event_index, e.event.clone())).collect();
        let usage = ChainEvent::Instruction(DfpnInstruction::IncrementUsage { authority, model });
        assert_eq!(got, vec![(INSTRUCTION_INDEX_BASE + 1, usage)]);
    }
}
