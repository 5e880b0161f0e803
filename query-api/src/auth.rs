//! JWT bearer tokens (HS256): verification for the authenticated tier and admin endpoints, and
//! minting for operators (`query-api token`).
//!
//! Without a configured secret nothing verifies: every client is anonymous. There is no built-in
//! default secret.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

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
        Self {
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// Verifies an `Authorization` header value (`Bearer <jwt>`).
    pub fn verify_header(&self, header: &str) -> Result<Claims, InvalidToken> {
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| InvalidToken("expected `Authorization: Bearer <token>`".into()))?;
        decode::<Claims>(token.trim(), &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| InvalidToken(err.to_string()))
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
        let expired = auth.mint("ops", 0, now - 10);
        assert!(auth.verify_header(&format!("Bearer {expired}")).is_err());
        let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJvcHMiLCJleHAiOjk5OTk5OTk5OTksImlhdCI6MH0.";
        assert!(auth.verify_header(&format!("Bearer {unsigned}")).is_err(), "alg none is refused");
    }
}
