//! Query inputs in the real Psy service's forms beside the API document's (issue 14): every
//! filter takes both spellings and answers keep the document's.
//!
//! - `status`: `PENDING`/`PROCESSING`/`COMPLETED`/`FAILED` or the document's `Pending`,
//!   `InProgress`, `Completed`, `Failed`, `Cancelled` ([`shared::psy_model::status_filter`];
//!   `Cancelled` matches nothing).
//! - `tx_type`: `REGISTER_USER`/`DEPLOY_CONTRACT`/`GUTA`/`USER_ENDCAP` or `RegisterUser`,
//!   `DeployContract`, `UserTransaction` (`GUTA` or `USER_ENDCAP`).
//! - `category`: `all`/`reward_only` or the document's five ([`shared::psy_model::category_filter`]).
//! - `topic`, `circuit_type`: the number or the name.
//! - `user_id`: any string of 1 to 255 characters.
//! - public keys: every form the real nodes send ([`keys::public_key`]), matched as stored; a
//!   32-byte key also matches its other spelling (`0x` hex and base58 are the same key).

use shared::psy_model::keys::{self, KeyForm};
use shared::psy_model::{
    category_filter, status_filter, tx_type_filter, CategoryFilter, ProvingJobCircuitType, QJobTopic, UserEventTxType,
    WorkerEventStatus,
};

use crate::error::{ApiError, Result};
use crate::params::Params;

fn bad(name: &str, err: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("`{name}`: {err}"))
}

/// The statuses a `status` filter matches (empty for `Cancelled`), when given.
pub fn status(params: &Params, name: &str) -> Result<Option<&'static [WorkerEventStatus]>> {
    params.text(name).map(|value| status_filter(value).map_err(|err| bad(name, err))).transpose()
}

/// The transaction types a `tx_type` filter matches, when given.
pub fn tx_type(params: &Params, name: &str) -> Result<Option<&'static [UserEventTxType]>> {
    params.text(name).map(|value| tx_type_filter(value).map_err(|err| bad(name, err))).transpose()
}

/// What a `category` filter selects, when given.
pub fn category(params: &Params, name: &str) -> Result<Option<CategoryFilter>> {
    params.text(name).map(|value| category_filter(value).map_err(|err| bad(name, err))).transpose()
}

/// A `topic` filter: its number or its name.
pub fn topic(params: &Params, name: &str) -> Result<Option<QJobTopic>> {
    params.text(name).map(|value| value.parse::<QJobTopic>().map_err(|err| bad(name, err))).transpose()
}

/// A `circuit_type` filter: its number or its name (`psy_core` or `psy_common` naming).
pub fn circuit_type(params: &Params, name: &str) -> Result<Option<ProvingJobCircuitType>> {
    params.text(name).map(|value| value.parse::<ProvingJobCircuitType>().map_err(|err| bad(name, err))).transpose()
}

/// The `user_id` filter: any real id (1 to 255 characters, [`keys::user_id`]), matched exactly.
pub fn user_id(params: &Params, name: &str) -> Result<Option<String>> {
    let Some(value) = params.text(name) else { return Ok(None) };
    keys::user_id(name, value).map_err(|err| ApiError::BadRequest(err.to_string()))?;
    Ok(Some(value.to_owned()))
}

/// The stored spellings a public key in any real form matches: the key as given, and for a
/// 32-byte key its lowercase `0x` hex and its base58 (one key, two spellings; chain keys are
/// answered in hex, real nodes may send either). Refuses a key out of bounds (400).
pub fn key_forms(name: &str, value: &str) -> Result<Vec<String>> {
    let form = keys::public_key(name, value).map_err(|err| ApiError::BadRequest(err.to_string()))?;
    let bytes: Option<[u8; 32]> = match form {
        KeyForm::Hex32 => hex32(&value[2..]),
        KeyForm::Base58 => crate::params::base58_key(value),
        KeyForm::Named => value.strip_prefix("0X").filter(|hex| hex.len() == 64).and_then(hex32),
        KeyForm::Hex20 => None,
    };
    let mut forms = vec![value.to_owned()];
    if let Some(bytes) = bytes {
        for spelling in [shared::field::hex_0x(&bytes), bs58::encode(bytes).into_string()] {
            if !forms.contains(&spelling) {
                forms.push(spelling);
            }
        }
    }
    Ok(forms)
}

/// The 32 bytes of 64 hex digits (either case).
fn hex32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        let query: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Params::new(query, &["status", "tx_type", "user_id", "category", "topic", "circuit_type"])
            .unwrap_or_else(|err| panic!("{err:?}"))
    }

    #[test]
    fn both_spellings_select_the_same_values() {
        for (real, document) in
            [("PENDING", "Pending"), ("PROCESSING", "InProgress"), ("COMPLETED", "Completed"), ("FAILED", "Failed")]
        {
            let real = status(&params(&[("status", real)]), "status").ok().flatten();
            assert_eq!(real, status(&params(&[("status", document)]), "status").ok().flatten());
            assert_eq!(real.map(<[_]>::len), Some(1));
        }
        assert_eq!(status(&params(&[("status", "Cancelled")]), "status").ok(), Some(Some(&[][..])));
        let err = status(&params(&[("status", "Done")]), "status").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("InProgress") && err.contains("PROCESSING"), "{err}");
        let both = tx_type(&params(&[("tx_type", "UserTransaction")]), "tx_type").ok().flatten();
        assert_eq!(both, Some(&[UserEventTxType::Guta, UserEventTxType::UserEndCap][..]));
        assert_eq!(
            tx_type(&params(&[("tx_type", "REGISTER_USER")]), "tx_type").ok().flatten(),
            tx_type(&params(&[("tx_type", "RegisterUser")]), "tx_type").ok().flatten()
        );
        assert!(tx_type(&params(&[("tx_type", "Guta")]), "tx_type").is_err());
        assert_eq!(
            category(&params(&[("category", "all")]), "category").ok(),
            category(&params(&[("category", "All")]), "category").ok()
        );
        assert!(category(&params(&[("category", "reward_only")]), "category").is_ok_and(|c| c.is_some()));
        assert_eq!(
            circuit_type(&params(&[("circuit_type", "7")]), "circuit_type").ok(),
            circuit_type(&params(&[("circuit_type", "GUTATwoEndCap")]), "circuit_type").ok()
        );
        assert_eq!(
            circuit_type(&params(&[("circuit_type", "AddDeposit")]), "circuit_type").ok(),
            Some(Some(ProvingJobCircuitType::AddL1Deposit))
        );
        assert_eq!(topic(&params(&[("topic", "0")]), "topic").ok(), Some(Some(QJobTopic::GenerateStandardProof)));
        assert!(topic(&params(&[("topic", "99")]), "topic").is_err());
    }

    #[test]
    fn user_ids_and_keys_take_the_real_forms() {
        assert_eq!(user_id(&params(&[("user_id", "user_001")]), "user_id").ok(), Some(Some("user_001".into())));
        assert!(user_id(&params(&[("user_id", &"x".repeat(256))]), "user_id").is_err());
        let bytes = [0xab_u8; 32];
        let hex = format!("0x{}", "ab".repeat(32));
        let base58 = bs58::encode(bytes).into_string();
        let both = vec![hex.clone(), base58.clone()];
        assert_eq!(key_forms("k", &hex).ok(), Some(both.clone()));
        assert_eq!(key_forms("k", &base58).ok(), Some(vec![base58.clone(), hex.clone()]));
        let upper = format!("0x{}", "AB".repeat(32));
        assert_eq!(key_forms("k", &upper).ok(), Some(vec![upper.clone(), hex.clone(), base58.clone()]));
        let capital = hex.replacen("0x", "0X", 1);
        assert_eq!(key_forms("k", &capital).ok().map(|f| f.len()), Some(3));
        let hex20 = "0x1234567890abcdef1234567890abcdef12345678";
        assert_eq!(key_forms("k", hex20).ok(), Some(vec![hex20.to_owned()]));
        assert_eq!(key_forms("k", "worker1_key_0x01").ok(), Some(vec!["worker1_key_0x01".to_owned()]));
        assert!(key_forms("k", "a b").is_err());
        assert!(key_forms("k", &"k".repeat(129)).is_err());
    }
}
