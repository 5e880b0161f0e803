//! Query inputs in the real Psy service's forms beside the API document's (issue 14, phase 2's
//! first slice, over today's chain model): `status` and `tx_type` filters in both spellings,
//! `user_id` as a string, public keys in every form the real nodes send.
//!
//! Answers keep the document's spelling, so a real filter value matches the events whose answer
//! shows its document spelling ([`shared::psy_model::WorkerEventStatus::doc`],
//! [`shared::psy_model::UserEventTxType::doc`]): `COMPLETED` is `Completed`, `PROCESSING` is
//! `InProgress`, `GUTA` and `USER_ENDCAP` are both `UserTransaction`. A document spelling keeps
//! its meaning over the stored values (today's chain still carries `Cancelled`).

use shared::enums as doc;
use shared::psy_model::keys::{self, KeyForm};
use shared::psy_model::{UserEventTxType, WorkerEventStatus};

use crate::error::{ApiError, Result};
use crate::params::Params;

fn bad(name: &str, err: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("`{name}`: {err}"))
}

/// The `status` filter: a document spelling, or a real one mapped to its document spelling.
pub fn status(params: &Params, name: &str) -> Result<Option<doc::WorkerEventStatus>> {
    let Some(value) = params.text(name) else { return Ok(None) };
    if let Ok(status) = value.parse::<doc::WorkerEventStatus>() {
        return Ok(Some(status));
    }
    match WorkerEventStatus::from_real(value) {
        Some(real) => Ok(Some(real.doc())),
        None => {
            Err(bad(name, shared::psy_model::status_filter(value).err().map_or_else(String::new, |e| e.to_string())))
        }
    }
}

/// The `tx_type` filter: a document spelling, or a real one mapped to its document spelling.
pub fn tx_type(params: &Params, name: &str) -> Result<Option<doc::UserEventTxType>> {
    let Some(value) = params.text(name) else { return Ok(None) };
    if let Ok(tx_type) = value.parse::<doc::UserEventTxType>() {
        return Ok(Some(tx_type));
    }
    match UserEventTxType::from_real(value) {
        Some(real) => Ok(Some(real.doc())),
        None => {
            Err(bad(name, shared::psy_model::tx_type_filter(value).err().map_or_else(String::new, |e| e.to_string())))
        }
    }
}

/// A `user_id` filter over today's numeric user ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserIdFilter {
    /// The events of this user.
    Id(u64),
    /// A well-formed real id (`user_001`, a UUID) no chain user has: matches nothing.
    Unknown,
}

/// The `user_id` filter: any real id (1 to 255 characters, [`keys::user_id`]); ids that are
/// decimal numbers are today's chain users.
pub fn user_id(params: &Params, name: &str) -> Result<Option<UserIdFilter>> {
    let Some(value) = params.text(name) else { return Ok(None) };
    keys::user_id(name, value).map_err(|err| ApiError::BadRequest(err.to_string()))?;
    Ok(Some(value.parse().map_or(UserIdFilter::Unknown, UserIdFilter::Id)))
}

/// A public key in any real form ([`keys::public_key`]), as it is stored: a 32-byte key (`0x`-hex
/// or base58) as lowercase `0x`-hex, the form chain keys are answered in; any other form
/// (20-byte `0x` hex, `worker1_key_0x…`) exactly as given.
pub fn public_key(name: &str, value: &str) -> Result<String> {
    let form = keys::public_key(name, value).map_err(|err| ApiError::BadRequest(err.to_string()))?;
    Ok(match form {
        KeyForm::Hex32 => value.to_ascii_lowercase(),
        KeyForm::Base58 => match crate::params::base58_key(value) {
            Some(bytes) => format!("0x{}", shared::field::hex(&bytes)),
            None => value.to_owned(),
        },
        KeyForm::Named if is_upper_prefixed_hex32(value) => value.to_ascii_lowercase(),
        KeyForm::Hex20 | KeyForm::Named => value.to_owned(),
    })
}

/// `0X` and 64 hex digits: a 32-byte key with the prefix in capitals, which the API accepted
/// before the real forms and still matches as that key.
fn is_upper_prefixed_hex32(value: &str) -> bool {
    value.strip_prefix("0X").is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        let query: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Params::new(query, &["status", "tx_type", "user_id"]).unwrap_or_else(|err| panic!("{err:?}"))
    }

    #[test]
    fn real_spellings_map_to_the_document_ones() {
        use doc::WorkerEventStatus as S;
        for (real, expected) in
            [("PENDING", S::Pending), ("PROCESSING", S::InProgress), ("COMPLETED", S::Completed), ("FAILED", S::Failed)]
        {
            assert_eq!(status(&params(&[("status", real)]), "status").ok(), Some(Some(expected)), "{real}");
            assert_eq!(status(&params(&[("status", expected.as_str())]), "status").ok(), Some(Some(expected)));
        }
        assert_eq!(status(&params(&[("status", "Cancelled")]), "status").ok(), Some(Some(S::Cancelled)));
        let err = status(&params(&[("status", "Done")]), "status").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("InProgress") && err.contains("PROCESSING"), "{err}");
        use doc::UserEventTxType as T;
        for (real, expected) in [
            ("REGISTER_USER", T::RegisterUser),
            ("DEPLOY_CONTRACT", T::DeployContract),
            ("GUTA", T::UserTransaction),
            ("USER_ENDCAP", T::UserTransaction),
        ] {
            assert_eq!(tx_type(&params(&[("tx_type", real)]), "tx_type").ok(), Some(Some(expected)), "{real}");
        }
        assert!(tx_type(&params(&[("tx_type", "Guta")]), "tx_type").is_err());
    }

    #[test]
    fn user_ids_and_keys_take_the_real_forms() {
        assert_eq!(user_id(&params(&[("user_id", "7")]), "user_id").ok(), Some(Some(UserIdFilter::Id(7))));
        assert_eq!(user_id(&params(&[("user_id", "user_001")]), "user_id").ok(), Some(Some(UserIdFilter::Unknown)));
        assert!(user_id(&params(&[("user_id", &"x".repeat(256))]), "user_id").is_err());
        let hex32 = format!("0x{}", "AB".repeat(32));
        assert_eq!(public_key("k", &hex32).ok(), Some(hex32.to_ascii_lowercase()));
        assert_eq!(public_key("k", &hex32.replacen("0x", "0X", 1)).ok(), Some(hex32.to_ascii_lowercase()));
        let base58 = bs58::encode([0xab_u8; 32]).into_string();
        assert_eq!(public_key("k", &base58).ok(), Some(hex32.to_ascii_lowercase()));
        let hex20 = "0x1234567890abcdef1234567890abcdef12345678";
        assert_eq!(public_key("k", hex20).ok().as_deref(), Some(hex20));
        assert_eq!(public_key("k", "worker1_key_0x01").ok().as_deref(), Some("worker1_key_0x01"));
        assert!(public_key("k", "a b").is_err());
        assert!(public_key("k", &"k".repeat(129)).is_err());
    }
}
