//! Describes event field types for the Anchor IDL and renders field values as JSON.
//!
//! Every type that appears in an event implements [`EventField`], so the IDL and the JSON ground
//! truth are generated from the Rust types themselves and cannot drift from the Borsh layout.

use anchor_lang::prelude::Pubkey;
use serde_json::{json, Value};

/// A type that can appear as an event field.
pub trait EventField {
    /// The Anchor IDL (0.30+) type of this field.
    fn idl_type() -> Value;
    /// The value as JSON: public keys in base58, byte arrays in hex, enums by name.
    fn to_json(&self) -> Value;
}

macro_rules! scalar_field {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        impl EventField for $ty {
            fn idl_type() -> Value { json!($name) }
            fn to_json(&self) -> Value { json!(self) }
        }
    )*};
}

scalar_field!(bool => "bool", u8 => "u8", u16 => "u16", u32 => "u32", u64 => "u64", i64 => "i64", String => "string");

impl EventField for Pubkey {
    fn idl_type() -> Value {
        json!("pubkey")
    }
    fn to_json(&self) -> Value {
        json!(self.to_string())
    }
}

impl EventField for [u8; 32] {
    fn idl_type() -> Value {
        json!({ "array": ["u8", 32] })
    }
    fn to_json(&self) -> Value {
        json!(hex(self))
    }
}

impl<T: EventField> EventField for Option<T> {
    fn idl_type() -> Value {
        json!({ "option": T::idl_type() })
    }
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, EventField::to_json)
    }
}

impl<T: EventField> EventField for Vec<T> {
    fn idl_type() -> Value {
        json!({ "vec": T::idl_type() })
    }
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(EventField::to_json).collect())
    }
}

/// Renders bytes as lowercase hex without a prefix.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// `0x` and the lowercase hex of `bytes`: how the Psy API writes a key it decoded.
pub fn hex_0x(bytes: &[u8]) -> String {
    format!("0x{}", hex(bytes))
}

/// A type defined by this crate that the IDL lists in its `types` section.
pub trait IdlDefinedType {
    /// The IDL `types` entry (name, docs, type).
    fn idl_definition() -> Value;
}

/// Trims the leading space rustdoc leaves on each `///` line.
pub fn trim_docs(docs: &[&str]) -> Vec<String> {
    docs.iter().map(|line| line.trim().to_owned()).collect()
}

/// An IDL struct field entry.
pub fn idl_field(name: &str, docs: &[&str], ty: Value) -> Value {
    json!({ "name": name, "docs": trim_docs(docs), "type": ty })
}

/// An IDL `types` entry of a struct.
pub fn idl_struct(name: &str, docs: &[&str], fields: Vec<Value>) -> Value {
    json!({ "name": name, "docs": trim_docs(docs), "type": { "kind": "struct", "fields": fields } })
}
