//! JWT bearer tokens (HS256): verification for the authenticated tier, the admin endpoints and
//! the telemetry feed, and minting for operators (`query-api token`).
//!
//! The telemetry routes verify as the real Psy service does (reference §1.1): claims `sub`,
//! `exp` and `iat` required, `service` optional; a refusal names one of the real messages
//! ([`Auth::verify_telemetry`]).
//!
//! Without a configured secret nothing verifies: every client is anonymous. There is no built-in
//! default secret.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use shared::psy_model::telemetry::{TelemetryClaims, AUTH_BAD_SIGNATURE, AUTH_EXPIRED, AUTH_INVALID, AUTH_MISSING};

/// Longest token verified, in bytes.
const MAX_TOKEN_BYTES: usize = 4_096;

/// The claims of our tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token was issued to.
    pub sub: String,
    /// Expiry (unix seconds).
    pub exp: u64,
    /// Issue time (unix seconds).
    pub iat: u64,
}

/// Verifies and mints tokens with one secret.
#[derive(Clone)]
pub struct Auth {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct InvalidToken(String);

impl Auth {
    /// An authority over `secret` (HS256 only; `alg: none` and other algorithms are refused).
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        Self {
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// Verifies an `Authorization` header value (`Bearer <jwt>`, the scheme in any case as
    /// RFC 7235 has it); a token whose `nbf` lies in the future is refused.
    pub fn verify_header(&self, header: &str) -> Result<Claims, InvalidToken> {
        let expected = || InvalidToken("expected `Authorization: Bearer <token>`".into());
        let (scheme, token) = header.trim_start().split_once(' ').ok_or_else(expected)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.len() > MAX_TOKEN_BYTES {
            return Err(expected());
        }
        decode::<Claims>(token.trim(), &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| InvalidToken(err.to_string()))
    }

    /// Verifies the `Authorization` header of a telemetry post as the real service does: no
    /// header is [`AUTH_MISSING`]; a header without the `Bearer ` prefix, an undecodable token or
    /// claims without `sub`/`exp`/`iat` are [`AUTH_INVALID`]; a signature that does not verify
    /// under the secret (or another algorithm than HS256) is [`AUTH_BAD_SIGNATURE`]; a passed
    /// `exp` is [`AUTH_EXPIRED`].
    pub fn verify_telemetry(&self, header: Option<&str>) -> Result<TelemetryClaims, &'static str> {
        let header = header.ok_or(AUTH_MISSING)?;
        let token = header.strip_prefix("Bearer ").ok_or(AUTH_INVALID)?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AUTH_INVALID);
        }
        decode::<TelemetryClaims>(token.trim(), &self.decoding, &self.validation).map(|data| data.claims).map_err(
            |err| match err.kind() {
                ErrorKind::ExpiredSignature => AUTH_EXPIRED,
                ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => AUTH_BAD_SIGNATURE,
                _ => AUTH_INVALID,
            },
        )
    }

    /// Mints a token for `sub` valid for `hours` from `now` (unix seconds).
    pub fn mint(&self, sub: &str, hours: u64, now: u64) -> String {
        let claims = Claims { sub: sub.to_owned(), iat: now, exp: now + hours * 3_600 };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).expect("HS256 encoding cannot fail")
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_secret_until_they_expire() {
        let auth = Auth::new("s3cret");
        let now = unix_now();
        let token = auth.mint("ops", 3, now);
        assert_eq!(auth.verify_header(&format!("Bearer {token}")).unwrap().sub, "ops");
        assert!(Auth::new("other").verify_header(&format!("Bearer {token}")).is_err());
        assert!(auth.verify_header(&token).is_err(), "scheme required");
        assert_eq!(
            auth.verify_header(&format!("bearer {token}")).unwrap().sub,
            "ops",
            "the scheme is case-insensitive"
        );
        let future = encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({ "sub": "ops", "iat": now, "exp": now + 3_600, "nbf": now + 600 }),
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        assert!(auth.verify_header(&format!("Bearer {future}")).is_err(), "not valid before nbf");
        let expired = auth.mint("ops", 0, now - 10);
        assert!(auth.verify_header(&format!("Bearer {expired}")).is_err());
        let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJvcHMiLCJleHAiOjk5OTk5OTk5OTksImlhdCI6MH0.";
        assert!(auth.verify_header(&format!("Bearer {unsigned}")).is_err(), "alg none is refused");
    }

    #[test]
    fn telemetry_tokens_are_refused_with_the_real_messages() {
        let auth = Auth::new("s3cret");
        let now = unix_now();
        let token = auth.mint("coordinator", 1, now);
        let claims = auth.verify_telemetry(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!((claims.sub.as_str(), claims.service), ("coordinator", None));
        let with_service = encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({ "sub": "realm-1", "iat": now, "exp": now + 60, "service": "realm" }),
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        let claims = auth.verify_telemetry(Some(&format!("Bearer {with_service}"))).unwrap();
        assert_eq!(claims.service.as_deref(), Some("realm"));
        assert_eq!(auth.verify_telemetry(None), Err(AUTH_MISSING));
        assert_eq!(auth.verify_telemetry(Some(&token)), Err(AUTH_INVALID), "no Bearer prefix");
        assert_eq!(auth.verify_telemetry(Some(&format!("Basic {token}"))), Err(AUTH_INVALID));
        assert_eq!(auth.verify_telemetry(Some("Bearer not.a.jwt")), Err(AUTH_INVALID));
        let other = Auth::new("other").mint("coordinator", 1, now);
        assert_eq!(auth.verify_telemetry(Some(&format!("Bearer {other}"))), Err(AUTH_BAD_SIGNATURE));
        let expired = auth.mint("coordinator", 0, now - 10);
        assert_eq!(auth.verify_telemetry(Some(&format!("Bearer {expired}"))), Err(AUTH_EXPIRED));
        let no_iat = encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({ "sub": "realm-1", "exp": now + 60 }),
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        assert_eq!(auth.verify_telemetry(Some(&format!("Bearer {no_iat}"))), Err(AUTH_INVALID), "iat is required");
    }
}
