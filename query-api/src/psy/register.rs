//! `POST /register`: a user proves ownership of an ed25519 key by signing a canonical message.
//!
//! The signed message is the UTF-8 text of four lines joined by `\n` (no trailing newline):
//!
//! ```text
//! psy-register:v1
//! public_key:<the key as 0x + 64 lowercase hex digits>
//! twitter_handle:<twitter_handle exactly as sent>
//! label:<label exactly as sent>
//! ```
//!
//! `public_key` (32 bytes) and `signature` (64 bytes) are accepted as `0x`-hex or base58; the
//! key in the message is always the lowercase `0x`-hex form whichever encoding was sent. The
//! signature must verify under ed25519's strict rules. `twitter_handle` has 1 to 64 and `label` 1
//! to 128 characters, neither with control characters (a newline would change the message).

use ed25519_dalek::{Signature, VerifyingKey};
use projection::read::Projections;
use serde_json::{json, Value};
use shared::control::UserRegistration;

use crate::error::{ApiError, Result};

/// Longest accepted twitter handle, in characters.
pub const MAX_TWITTER_HANDLE_CHARS: usize = 64;
/// Longest accepted label, in characters.
pub const MAX_LABEL_CHARS: usize = 128;

/// The body of `POST /register`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// ed25519 public key (0x-hex or base58).
    pub public_key: String,
    /// Twitter handle.
    pub twitter_handle: String,
    /// Label.
    pub label: String,
    /// Signature of the canonical message (0x-hex or base58).
    pub signature: String,
}

/// The canonical message a registration signs.
pub fn canonical_message(public_key: &[u8; 32], twitter_handle: &str, label: &str) -> String {
    format!(
        "psy-register:v1\npublic_key:0x{}\ntwitter_handle:{twitter_handle}\nlabel:{label}",
        shared::field::hex(public_key)
    )
}

/// Decodes `0x`-hex or base58 into exactly `N` bytes.
fn decode_bytes<const N: usize>(name: &str, value: &str) -> Result<[u8; N]> {
    let invalid = || ApiError::BadRequest(format!("`{name}` must be {N} bytes in 0x-hex or base58"));
    let bytes = match value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")) {
        Some(digits) if digits.len() == 2 * N && digits.bytes().all(|b| b.is_ascii_hexdigit()) => (0..N)
            .map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16))
            .collect::<std::result::Result<Vec<u8>, _>>()
            .map_err(|_| invalid())?,
        Some(_) => return Err(invalid()),
        // A base58 text of N bytes has at most ⌈N·log(256)/log(58)⌉ characters: longer ones are
        // refused before decoding, whose cost grows with the square of the length.
        None if value.len() > N * 138 / 100 + 1 => return Err(invalid()),
        None => bs58::decode(value).into_vec().map_err(|_| invalid())?,
    };
    bytes.try_into().map_err(|_| invalid())
}

fn check_text(name: &str, value: &str, max_chars: usize) -> Result<()> {
    let chars = value.chars().count();
    if value.trim().is_empty() {
        return Err(ApiError::BadRequest(format!("`{name}` must not be empty")));
    }
    if chars > max_chars {
        return Err(ApiError::BadRequest(format!("`{name}` has {chars} characters; at most {max_chars} are allowed")));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!("`{name}` must not contain control characters")));
    }
    Ok(())
}

/// Parses and validates a body, then verifies its signature: the registration to store.
pub fn verify(body: &[u8], registered_at: i64) -> Result<UserRegistration> {
    let request: RegisterRequest = serde_json::from_slice(body).map_err(|err| {
        ApiError::BadRequest(format!(
            "body must be a JSON object with public_key, twitter_handle, label and signature (strings): {err}"
        ))
    })?;
    check_text("twitter_handle", &request.twitter_handle, MAX_TWITTER_HANDLE_CHARS)?;
    check_text("label", &request.label, MAX_LABEL_CHARS)?;
    let public_key: [u8; 32] = decode_bytes("public_key", &request.public_key)?;
    let signature: [u8; 64] = decode_bytes("signature", &request.signature)?;
    let key = VerifyingKey::from_bytes(&public_key)
        .map_err(|_| ApiError::BadRequest("`public_key` is not a valid ed25519 public key".into()))?;
    let message = canonical_message(&public_key, &request.twitter_handle, &request.label);
    key.verify_strict(message.as_bytes(), &Signature::from_bytes(&signature)).map_err(|_| {
        ApiError::Unauthorized(
            "`signature` does not verify: sign the canonical registration message with the key".into(),
        )
    })?;
    Ok(UserRegistration { public_key, twitter_handle: request.twitter_handle, label: request.label, registered_at })
}

/// Refuses a key already registered through the API, as the projections show it.
pub fn check_not_registered(projections: &Projections, public_key: &[u8; 32]) -> Result<()> {
    let key = shared::field::hex_0x(public_key);
    match super::read::events::registered_user(projections, &key)? {
        Some(_) => Err(ApiError::Conflict(format!("public key {key} is already registered"))),
        None => Ok(()),
    }
}

/// The answer to a stored registration.
pub fn registered(seq: u64) -> Value {
    json!({ "success": true, "user_id": shared::control::api_user_id(seq).to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn body(key: &SigningKey, handle: &str, label: &str, sign_over: Option<&str>) -> Vec<u8> {
        let public = key.verifying_key().to_bytes();
        let message = canonical_message(&public, sign_over.unwrap_or(handle), label);
        let signature = key.sign(message.as_bytes()).to_bytes();
        serde_json::to_vec(&json!({
            "public_key": bs58::encode(public).into_string(),
            "twitter_handle": handle,
            "label": label,
            "signature": format!("0x{}", shared::field::hex(&signature)),
        }))
        .unwrap()
    }

    #[test]
    fn valid_signatures_verify_and_everything_else_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let registration = verify(&body(&key, "@miner", "Rig #1", None), 9).unwrap();
        assert_eq!(registration.public_key, key.verifying_key().to_bytes());
        assert_eq!(registration.registered_at, 9);
        let status = |body: &[u8]| verify(body, 0).unwrap_err().status().as_u16();
        assert_eq!(status(&body(&key, "@miner", "Rig", Some("@other"))), 401, "signed another message");
        assert_eq!(status(&body(&key, "", "Rig", None)), 400);
        assert_eq!(status(&body(&key, &"h".repeat(65), "Rig", None)), 400);
        assert_eq!(status(&body(&key, "@a\nlabel:x", "Rig", None)), 400);
        assert_eq!(status(b"{\"public_key\": 1}"), 400);
        assert_eq!(status(b"not json"), 400);
        let mut value: Value = serde_json::from_slice(&body(&key, "@a", "Rig", None)).unwrap();
        value["public_key"] = json!("0x1234");
        assert_eq!(status(&serde_json::to_vec(&value).unwrap()), 400);
        value["public_key"] = json!(format!("0x{}", "zz".repeat(32)));
        assert_eq!(status(&serde_json::to_vec(&value).unwrap()), 400);
    }

    #[test]
    fn the_canonical_message_is_exact() {
        assert_eq!(
            canonical_message(&[0xab; 32], "@m", "Rig"),
            format!("psy-register:v1\npublic_key:0x{}\ntwitter_handle:@m\nlabel:Rig", "ab".repeat(32))
        );
    }
}
