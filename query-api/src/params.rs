//! Query-string parsing with clear messages: every parameter is checked by name, unknown ones
//! are refused, and numbers say what they must be.

use std::collections::HashMap;
use std::str::FromStr;

use crate::error::{ApiError, Result};

/// Longest accepted search query, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// Longest base58 text of 32 bytes: a longer key is refused before any decoding (base58
/// decoding costs the square of the length).
pub const MAX_BASE58_KEY_CHARS: usize = 44;
/// Longest part of a refused value echoed in an error message.
const MAX_ECHO_CHARS: usize = 64;

/// The parameters of one request, consumed by name.
pub struct Params {
    values: HashMap<String, String>,
    allowed: &'static [&'static str],
}

impl Params {
    /// Checks that every given parameter is one of `allowed`.
    pub fn new(values: HashMap<String, String>, allowed: &'static [&'static str]) -> Result<Self> {
        let mut unknown: Vec<&String> = values.keys().filter(|key| !allowed.contains(&key.as_str())).collect();
        unknown.sort();
        if let Some(key) = unknown.first() {
            return Err(ApiError::BadRequest(format!("unknown parameter `{key}`; accepted: {}", allowed.join(", "))));
        }
        Ok(Self { values, allowed })
    }

    fn raw(&self, name: &str) -> Option<&str> {
        debug_assert!(self.allowed.contains(&name), "parameter {name} read but not declared");
        self.values.get(name).map(String::as_str)
    }

    /// A string parameter.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.raw(name)
    }

    /// A required, non-empty string parameter of at most `MAX_QUERY_CHARS` characters.
    pub fn query(&self, name: &str) -> Result<&str> {
        let value = self.raw(name).ok_or_else(|| ApiError::BadRequest(format!("`{name}` is required")))?;
        if value.trim().is_empty() {
            return Err(ApiError::BadRequest(format!("`{name}` must not be empty")));
        }
        if value.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::BadRequest(format!("`{name}` is longer than {MAX_QUERY_CHARS} characters")));
        }
        Ok(value)
    }

    /// A parameter parsed with `FromStr` (enums report their accepted values).
    pub fn parsed<T: FromStr>(&self, name: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        self.raw(name)
            .map(|value| value.parse().map_err(|err| ApiError::BadRequest(format!("`{name}`: {err}"))))
            .transpose()
    }

    /// A non-negative integer parameter.
    pub fn integer<T: FromStr>(&self, name: &str) -> Result<Option<T>> {
        self.raw(name)
            .map(|value| {
                value.parse().map_err(|_| {
                    ApiError::BadRequest(format!("`{name}` must be a non-negative integer, got {value:?}"))
                })
            })
            .transpose()
    }

    /// A base58 public key parameter.
    pub fn pubkey(&self, name: &str) -> Result<Option<&str>> {
        match self.raw(name) {
            Some(value) if !is_pubkey(value) => {
                Err(ApiError::BadRequest(format!("`{name}` must be a base58 public key, got {}", shown(value))))
            }
            other => Ok(other),
        }
    }

    /// `limit` (default `default`, capped at `cap`) and `offset` (default 0).
    pub fn page(&self, default: usize, cap: usize) -> Result<(usize, usize)> {
        let limit = self.integer::<usize>("limit")?.unwrap_or(default).min(cap);
        let offset = if self.allowed.contains(&"offset") { self.integer::<usize>("offset")?.unwrap_or(0) } else { 0 };
        Ok((limit, offset))
    }
}

/// Whether `value` is a base58 string of 32 bytes (its length is checked before decoding).
pub fn is_pubkey(value: &str) -> bool {
    base58_key(value).is_some()
}

/// The 32 bytes of a base58 public key, refusing a text too long for one before decoding it.
pub fn base58_key(value: &str) -> Option<[u8; 32]> {
    if value.len() > MAX_BASE58_KEY_CHARS {
        return None;
    }
    bs58::decode(value).into_vec().ok()?.try_into().ok()
}

/// `value` quoted for an error message, cut to its first characters when long.
pub fn shown(value: &str) -> String {
    match value.char_indices().nth(MAX_ECHO_CHARS) {
        Some((end, _)) => format!("{:?}… ({} bytes)", &value[..end], value.len()),
        None => format!("{value:?}"),
    }
}
