//! Identifiers as the real Psy nodes send them: `user_id` strings, worker and user public keys,
//! UUIDs — each bounded in length and checked here once.
//!
//! The real service stores keys in `VARCHAR(128)` columns and user ids in `VARCHAR(255)`
//! (reference §1.2) and compares them as exact strings; so do we (no case folding). Its feed
//! carries keys such as `worker1_key_0x…`, `test_worker_key_1`, 20-byte `0x` hex
//! (`0x1234567890abcdef1234567890abcdef12345678`) and base58; a key here is 1 to 128 characters
//! of ASCII letters, digits and `_ - . :`, which covers all of them and can stand in a URL path
//! segment unescaped.

use crate::error::{Error, Result};

/// Longest public key (the real `VARCHAR(128)`).
pub const MAX_PUBLIC_KEY_LEN: usize = 128;
/// Longest `user_id`, in characters (the real `VARCHAR(255)`).
pub const MAX_USER_ID_LEN: usize = 255;

/// The shape of an accepted public key, for callers that relate it to on-chain keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    /// `0x` and 40 hex digits: a 20-byte key (the real clients' form).
    Hex20,
    /// `0x` and 64 hex digits: a 32-byte key (the form our chain events are answered in).
    Hex32,
    /// Base58 of 32 bytes (a Solana or ed25519 key).
    Base58,
    /// Any other accepted string (`worker1_key_0x…`, `test_worker_key_1`).
    Named,
}

/// Checks a public key (worker or user) and tells its form; `field` names it in the error.
pub fn public_key(field: &str, key: &str) -> Result<KeyForm> {
    if key.is_empty() || key.len() > MAX_PUBLIC_KEY_LEN {
        return Err(Error::field(field, format!("must be 1 to {MAX_PUBLIC_KEY_LEN} characters, got {}", key.len())));
    }
    if let Some(bad) = key.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))) {
        return Err(Error::field(field, format!("may hold only ASCII letters, digits and _ - . :, not {bad:?}")));
    }
    let hex = key.strip_prefix("0x").filter(|rest| rest.bytes().all(|b| b.is_ascii_hexdigit()));
    Ok(match hex.map(str::len) {
        Some(40) => KeyForm::Hex20,
        Some(64) => KeyForm::Hex32,
        _ if (32..=44).contains(&key.len()) && bs58::decode(key).into_vec().is_ok_and(|bytes| bytes.len() == 32) => {
            KeyForm::Base58
        }
        _ => KeyForm::Named,
    })
}

/// Checks a `user_id`: 1 to 255 characters (UUIDs, names like `user_001`), no control
/// characters, not only whitespace; `field` names it in the error.
pub fn user_id(field: &str, id: &str) -> Result<()> {
    let chars = id.chars().count();
    if chars == 0 || chars > MAX_USER_ID_LEN {
        return Err(Error::field(field, format!("must be 1 to {MAX_USER_ID_LEN} characters, got {chars}")));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::field(field, "must not hold control characters"));
    }
    if id.trim().is_empty() {
        return Err(Error::field(field, "must not be only whitespace"));
    }
    Ok(())
}

/// Checks a UUID in its hyphenated form (`8-4-4-4-12` hex digits, either case).
pub fn uuid(field: &str, text: &str) -> Result<()> {
    let groups: Vec<&str> = text.split('-').collect();
    let ok = groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Error::field(field, "must be a UUID such as 67e55044-10b1-426f-9247-bb680e5fe0c8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_real_feeds_key_forms() {
        let cases = [
            ("0x1234567890abcdef1234567890abcdef12345678", KeyForm::Hex20),
            ("0xABCDEF7890abcdef1234567890abcdef12345678", KeyForm::Hex20),
            (concat!("0x", "00112233445566778899aabbccddeeff", "00112233445566778899aabbccddeeff"), KeyForm::Hex32),
            ("worker1_key_0x1234567890abcdef", KeyForm::Named),
            ("rewards_agg_test_0xabcdef123456789", KeyForm::Named),
            ("test_worker_key_1", KeyForm::Named),
            ("0x1234", KeyForm::Named),
        ];
        for (key, form) in cases {
            assert_eq!(public_key("public_key", key), Ok(form), "{key}");
        }
        assert!(public_key("k", &"a".repeat(128)).is_ok());
        let base58 = bs58::encode([7u8; 32]).into_string();
        assert_eq!(public_key("k", &base58), Ok(KeyForm::Base58));
        // Base58 of 20 bytes is a name, not a chain key.
        assert_eq!(public_key("k", &bs58::encode([7u8; 20]).into_string()), Ok(KeyForm::Named));
    }

    #[test]
    fn refuses_keys_out_of_bounds_naming_the_field() {
        for bad in [String::new(), "a".repeat(129), "a b".into(), "a/b".into(), "é".into(), "key?x".into()] {
            let err = public_key("worker_events[1].public_key", &bad);
            assert!(
                matches!(&err, Err(Error::InvalidField { field, .. }) if field == "worker_events[1].public_key"),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn user_ids_are_bounded_strings() {
        for good in ["user_001", "12345", "67e55044-10b1-426f-9247-bb680e5fe0c8", "Ada Lovelace", "ü"] {
            assert_eq!(user_id("user_id", good), Ok(()), "{good}");
        }
        assert!(user_id("user_id", &"é".repeat(255)).is_ok());
        for bad in [String::new(), "é".repeat(256), "a\nb".into(), "   ".into()] {
            assert!(user_id("user_events[0].user_id", &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn uuids_are_hyphenated_hex() {
        assert_eq!(uuid("id", "67e55044-10b1-426f-9247-bb680e5fe0c8"), Ok(()));
        assert_eq!(uuid("id", "67E55044-10B1-426F-9247-BB680E5FE0C8"), Ok(()));
        for bad in [
            "67e5504410b1426f9247bb680e5fe0c8",
            "67e55044-10b1-426f-9247-bb680e5fe0c",
            "g7e55044-10b1-426f-9247-bb680e5fe0c8",
            "",
        ] {
            assert!(uuid("id", bad).is_err(), "{bad}");
        }
    }
}
