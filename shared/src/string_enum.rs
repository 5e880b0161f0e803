//! The `string_enum!` macro: a unit enum Borsh-encoded as its variant index (Anchor's layout),
//! written and parsed as its variant name, with `ALL`, serde, and its IDL definition.
//!
//! A leaf module (it names only `error` and `field`), so that the API enums (`enums`) and the
//! on-chain enums (`event::dfpn::types`) are declared with it without depending on each other.

/// Declares a unit enum whose string form is its variant name: `as_str`, `ALL` (declaration and
/// Borsh index order), `Display`, `FromStr` (an error naming the values), serde as that string,
/// Anchor Borsh derives, and `EventField`/`IdlDefinedType` for the IDL.
macro_rules! string_enum {
    ($(#[doc = $doc:literal])* $name:ident { $($(#[doc = $vdoc:literal])* $variant:ident),* $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(anchor_lang::prelude::AnchorSerialize, anchor_lang::prelude::AnchorDeserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant),*
        }

        impl $name {
            /// Every value, in declaration (and Borsh index) order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The documented string form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),* }
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> &'static str {
                value.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(value: &str) -> Result<Self, $crate::error::Error> {
                match value {
                    $(stringify!($variant) => Ok($name::$variant),)*
                    _ => Err($crate::error::Error::InvalidEnumValue {
                        kind: stringify!($name),
                        value: value.to_owned(),
                        expected: [$(stringify!($variant)),*].join(", "),
                    }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <String as serde::Deserialize>::deserialize(deserializer)?;
                value.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $crate::field::EventField for $name {
            fn idl_type() -> serde_json::Value {
                serde_json::json!({ "defined": { "name": stringify!($name) } })
            }
            fn to_json(&self) -> serde_json::Value {
                serde_json::json!(self.as_str())
            }
        }

        impl $crate::field::IdlDefinedType for $name {
            fn idl_definition() -> serde_json::Value {
                serde_json::json!({
                    "name": stringify!($name),
                    "docs": $crate::field::trim_docs(&[$($doc),*]),
                    "type": { "kind": "enum", "variants": [$(serde_json::json!({ "name": stringify!($variant) })),*] }
                })
            }
        }
    };
}
pub(crate) use string_enum;
