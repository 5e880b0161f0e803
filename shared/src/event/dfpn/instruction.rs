//! DFPN instructions whose effects no event carries, decoded from the transaction message.
//!
//! `increment_usage` is the only writer of a model's `total_uses` and emits nothing;
//! `increment_analysis_count` likewise for content. `resolve_dispute` and `close_dispute` emit
//! events that carry only the dispute id: the instruction's accounts name the request, so the
//! fold needs no dispute-to-request map. Each decoded instruction is a log entry of its own,
//! keyed by the transaction signature and [`INSTRUCTION_INDEX_BASE`] + its position in the
//! transaction's execution order.

use anchor_lang::prelude::{AnchorDeserialize, AnchorSerialize, Pubkey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::program::ProgramKind;

/// Event indexes of decoded instructions start here, apart from the events' own indexes.
pub const INSTRUCTION_INDEX_BASE: u32 = 2_048;

/// A decoded DFPN instruction with the accounts the fold needs.
#[derive(AnchorSerialize, AnchorDeserialize, Debug, Clone, PartialEq, Eq)]
pub enum DfpnInstruction {
    /// `model_registry::increment_usage`: the model's `total_uses` + 1.
    IncrementUsage {
        /// Signer (unchecked on chain).
        authority: Pubkey,
        /// The model account (the API Model `id`).
        model: Pubkey,
    },
    /// `analysis_marketplace::resolve_dispute`.
    ResolveDispute {
        /// Signer.
        resolver: Pubkey,
        /// The disputed request account.
        request: Pubkey,
        /// The dispute account.
        dispute: Pubkey,
        /// Decision.
        in_favor_of_challenger: bool,
        /// Slash amount argument.
        slash_amount: u64,
    },
    /// `analysis_marketplace::close_dispute`.
    CloseDispute {
        /// Signer.
        payer: Pubkey,
        /// The disputed request account.
        request: Pubkey,
        /// The dispute account.
        dispute: Pubkey,
    },
    /// `content_registry::increment_analysis_count`.
    IncrementAnalysisCount {
        /// Signer.
        authority: Pubkey,
        /// The content account.
        content: Pubkey,
    },
}

/// One decoded instruction kind: its program, Anchor name and accounts, in IDL terms.
pub struct InstructionSpec {
    /// The program that defines it.
    pub program: ProgramKind,
    /// The snake_case instruction name (hashed into the discriminator).
    pub name: &'static str,
    /// The names of the accounts, in order (the leading ones the decoder reads).
    pub accounts: &'static [&'static str],
    /// Arguments as `(name, IDL type)`.
    pub args: &'static [(&'static str, &'static str)],
}

/// Every instruction the decoder reads.
pub const DECODED_INSTRUCTIONS: &[InstructionSpec] = &[
    InstructionSpec {
        program: ProgramKind::ModelRegistry,
        name: "increment_usage",
        accounts: &["authority", "model_account"],
        args: &[],
    },
    InstructionSpec {
        program: ProgramKind::AnalysisMarketplace,
        name: "resolve_dispute",
        accounts: &[
            "resolver",
            "request_account",
            "dispute_account",
            "dispute_escrow",
            "challenger_token_account",
            "treasury_vault",
            "token_program",
        ],
        args: &[("in_favor_of_challenger", "bool"), ("slash_amount", "u64")],
    },
    InstructionSpec {
        program: ProgramKind::AnalysisMarketplace,
        name: "close_dispute",
        accounts: &[
            "payer",
            "request_account",
            "dispute_account",
            "dispute_escrow",
            "challenger_token_account",
            "token_program",
        ],
        args: &[],
    },
    InstructionSpec {
        program: ProgramKind::ContentRegistry,
        name: "increment_analysis_count",
        accounts: &["authority", "content_account"],
        args: &[],
    },
];

/// Anchor's instruction discriminator, `sha256("global:<name>")[..8]`.
pub fn discriminator(name: &str) -> [u8; 8] {
    let digest = Sha256::digest(format!("global:{name}"));
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// `increment_usage` → `IncrementUsage`, as Anchor logs instruction names.
pub fn log_name(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
        })
        .collect()
}

/// Whether `program` logging `Program log: Instruction: <name>` runs an instruction the decoder
/// reads from the message (a log notification alone cannot give its accounts).
pub fn is_decoded(program: ProgramKind, logged_name: &str) -> bool {
    DECODED_INSTRUCTIONS.iter().any(|spec| spec.program == program && log_name(spec.name) == logged_name)
}

/// Why an instruction of ours with a decoded discriminator could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstructionError {
    /// Fewer accounts than the instruction takes.
    #[error("{name}: {found} accounts, needs {needed}")]
    MissingAccounts {
        /// Instruction name.
        name: &'static str,
        /// Accounts given.
        found: usize,
        /// Accounts read.
        needed: usize,
    },
    /// The arguments are not the instruction's Borsh layout.
    #[error("{name}: invalid arguments")]
    InvalidArguments {
        /// Instruction name.
        name: &'static str,
    },
}

impl DfpnInstruction {
    /// Decodes an instruction of `program` from its data and account keys: `Ok(None)` when it is
    /// not one the decoder reads.
    pub fn decode(program: ProgramKind, data: &[u8], accounts: &[Pubkey]) -> Result<Option<Self>, InstructionError> {
        let Some(spec) = DECODED_INSTRUCTIONS
            .iter()
            .find(|spec| spec.program == program && data.len() >= 8 && data[..8] == discriminator(spec.name))
        else {
            return Ok(None);
        };
        let name = spec.name;
        let needed = match name {
            "resolve_dispute" | "close_dispute" => 3,
            _ => 2,
        };
        if accounts.len() < needed {
            return Err(InstructionError::MissingAccounts { name, found: accounts.len(), needed });
        }
        let args = &data[8..];
        Ok(Some(match name {
            "increment_usage" => Self::IncrementUsage { authority: accounts[0], model: accounts[1] },
            "increment_analysis_count" => Self::IncrementAnalysisCount { authority: accounts[0], content: accounts[1] },
            "resolve_dispute" => {
                let (in_favor_of_challenger, slash_amount) =
                    borsh::from_slice::<(bool, u64)>(args).map_err(|_| InstructionError::InvalidArguments { name })?;
                Self::ResolveDispute {
                    resolver: accounts[0],
                    request: accounts[1],
                    dispute: accounts[2],
                    in_favor_of_challenger,
                    slash_amount,
                }
            }
            _ => Self::CloseDispute { payer: accounts[0], request: accounts[1], dispute: accounts[2] },
        }))
    }

    /// The program that defines the instruction.
    pub fn program(&self) -> ProgramKind {
        match self {
            Self::IncrementUsage { .. } => ProgramKind::ModelRegistry,
            Self::ResolveDispute { .. } | Self::CloseDispute { .. } => ProgramKind::AnalysisMarketplace,
            Self::IncrementAnalysisCount { .. } => ProgramKind::ContentRegistry,
        }
    }

    /// The instruction's log name (`IncrementUsage`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::IncrementUsage { .. } => "IncrementUsage",
            Self::ResolveDispute { .. } => "ResolveDispute",
            Self::CloseDispute { .. } => "CloseDispute",
            Self::IncrementAnalysisCount { .. } => "IncrementAnalysisCount",
        }
    }

    /// The instruction as the chain carries it: discriminator + Borsh arguments, and its leading
    /// accounts (what the fixture chain renders).
    pub fn to_chain(&self) -> (Vec<u8>, Vec<Pubkey>) {
        let (name, accounts) = match self {
            Self::IncrementUsage { authority, model } => ("increment_usage", vec![*authority, *model]),
            Self::ResolveDispute { resolver, request, dispute, .. } => {
                ("resolve_dispute", vec![*resolver, *request, *dispute])
            }
            Self::CloseDispute { payer, request, dispute } => ("close_dispute", vec![*payer, *request, *dispute]),
            Self::IncrementAnalysisCount { authority, content } => {
                ("increment_analysis_count", vec![*authority, *content])
            }
        };
        let mut data = discriminator(name).to_vec();
        if let Self::ResolveDispute { in_favor_of_challenger, slash_amount, .. } = self {
            data.extend(borsh::to_vec(&(*in_favor_of_challenger, *slash_amount)).expect("borsh writes to a Vec"));
        }
        (data, accounts)
    }

    /// The decoded fields as JSON (keys in declaration order).
    pub fn fields_json(&self) -> Value {
        match self {
            Self::IncrementUsage { authority, model } => {
                json!({ "authority": authority.to_string(), "model": model.to_string() })
            }
            Self::ResolveDispute { resolver, request, dispute, in_favor_of_challenger, slash_amount } => json!({
                "resolver": resolver.to_string(), "request": request.to_string(), "dispute": dispute.to_string(),
                "in_favor_of_challenger": in_favor_of_challenger, "slash_amount": slash_amount,
            }),
            Self::CloseDispute { payer, request, dispute } => json!({
                "payer": payer.to_string(), "request": request.to_string(), "dispute": dispute.to_string(),
            }),
            Self::IncrementAnalysisCount { authority, content } => {
                json!({ "authority": authority.to_string(), "content": content.to_string() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discriminators_are_the_reference_values() {
        let hex = |name| crate::field::hex(&discriminator(name));
        assert_eq!(hex("increment_usage"), "d7c404cd2415e3ef");
        assert_eq!(hex("resolve_dispute"), "e706ca0660670ce6");
        assert_eq!(hex("close_dispute"), "3c125caa64c392c4");
        assert_eq!(hex("increment_analysis_count"), "501ccc820a74b6cf");
        assert_eq!(log_name("increment_analysis_count"), "IncrementAnalysisCount");
    }

    #[test]
    fn decodes_from_data_and_accounts_and_refuses_short_ones() {
        let keys: Vec<Pubkey> = (1..=4u8).map(|b| Pubkey::new_from_array([b; 32])).collect();
        let resolve = DfpnInstruction::ResolveDispute {
            resolver: keys[0],
            request: keys[1],
            dispute: keys[2],
            in_favor_of_challenger: true,
            slash_amount: 77,
        };
        let (data, accounts) = resolve.to_chain();
        assert_eq!(DfpnInstruction::decode(ProgramKind::AnalysisMarketplace, &data, &accounts), Ok(Some(resolve)));
        assert_eq!(DfpnInstruction::decode(ProgramKind::ModelRegistry, &data, &accounts), Ok(None));
        assert!(DfpnInstruction::decode(ProgramKind::AnalysisMarketplace, &data, &keys[..2]).is_err());
        assert!(DfpnInstruction::decode(ProgramKind::AnalysisMarketplace, &data[..9], &accounts).is_err());
        let usage = discriminator("increment_usage");
        assert_eq!(
            DfpnInstruction::decode(ProgramKind::ModelRegistry, &usage, &keys),
            Ok(Some(DfpnInstruction::IncrementUsage { authority: keys[0], model: keys[1] }))
        );
    }
}
