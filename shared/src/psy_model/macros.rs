//! The two enum shapes of the real Psy model, declared once each.
//!
//! `spelled_enum!` is a string enum whose JSON, database and query spelling is given per variant
//! (the real service's SCREAMING_SNAKE_CASE or snake_case); it is Borsh-encoded as its variant
//! index. `numeric_enum!` is a `#[repr(u8)]` enum whose JSON and Borsh form is its number (the real
//! `Serialize_repr`), parsed in queries from its number or its name, with extra accepted names.

macro_rules! spelled_enum {
    ($(#[doc = $doc:literal])* $name:ident { $($(#[doc = $vdoc:literal])* $variant:ident = $spelling:literal),* $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(borsh::BorshSerialize, borsh::BorshDeserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant),*
        }

        impl $name {
            /// Every value, in declaration (and Borsh index) order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The real service's spelling (JSON, database, query strings).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $spelling),* }
            }

            /// The value spelled `text` exactly as the real service spells it.
            pub fn from_real(text: &str) -> Option<Self> {
                match text { $($spelling => Some($name::$variant),)* _ => None }
            }

            /// The real spellings, comma separated, for error messages.
            pub fn expected() -> String {
                [$($spelling),*].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::Error;
            /// Parses the real spelling only; the document's spellings go through the filter parsers.
            fn from_str(text: &str) -> Result<Self, $crate::error::Error> {
                Self::from_real(text).ok_or_else(|| $crate::error::Error::InvalidEnumValue {
                    kind: stringify!($name),
                    value: text.chars().take(64).collect(),
                    expected: Self::expected(),
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $crate::field::EventField for $name {
            fn idl_type() -> serde_json::Value {
                serde_json::json!({ "defined": { "name": stringify!($name) } })
            }
            /// The real spelling.
            fn to_json(&self) -> serde_json::Value {
                serde_json::json!(self.as_str())
            }
        }

        impl $crate::field::IdlDefinedType for $name {
            /// An IDL enum whose variants are in Borsh index order.
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
pub(crate) use spelled_enum;

macro_rules! numeric_enum {
    ($(#[doc = $doc:literal])* $name:ident { $($(#[doc = $vdoc:literal])* $variant:ident = $value:literal $(| $alias:literal)*),* $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant = $value),*
        }

        impl $name {
            /// Every value, in ascending number order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The real number (JSON, Borsh, the `topic`/`circuit_type` database columns).
            pub fn value(self) -> u8 {
                self as u8
            }

            /// The name answers carry (the reference's primary variant name).
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),* }
            }

            /// The value numbered `value`, if the real enum has it.
            pub fn from_value(value: u8) -> Option<Self> {
                match value { $($value => Some($name::$variant),)* _ => None }
            }

            /// The value named `name` (its primary name or an accepted other naming).
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $(stringify!($variant) $(| $alias)* => Some($name::$variant),)* _ => None }
            }

            /// Every `number name` pair, comma separated, for error messages.
            pub fn expected() -> String {
                [$(concat!($value, " ", stringify!($variant))),*].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            /// Writes the name (the document's form of answers).
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::Error;
            /// Parses a decimal number (the real query form) or a name.
            fn from_str(text: &str) -> Result<Self, $crate::error::Error> {
                let found = if !text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit()) {
                    text.parse::<u8>().ok().and_then(Self::from_value)
                } else {
                    Self::from_name(text)
                };
                found.ok_or_else(|| $crate::error::Error::InvalidEnumValue {
                    kind: stringify!($name),
                    value: text.chars().take(64).collect(),
                    expected: Self::expected(),
                })
            }
        }

        impl serde::Serialize for $name {
            /// Writes the number, as the real `Serialize_repr` does.
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_u8(self.value())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            /// Reads the number (the real form), or a string holding a number or a name.
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visit;
                impl serde::de::Visitor<'_> for Visit {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " number or name"))
                    }
                    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<$name, E> {
                        u8::try_from(value).ok().and_then($name::from_value).ok_or_else(|| {
                            E::custom(format!(concat!("unknown ", stringify!($name), " {}; expected one of: {}"), value, $name::expected()))
                        })
                    }
                    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<$name, E> {
                        match u64::try_from(value) {
                            Ok(value) => self.visit_u64(value),
                            Err(_) => Err(E::custom(format!(concat!("unknown ", stringify!($name), " {}"), value))),
                        }
                    }
                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        text.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_any(Visit)
            }
        }

        impl borsh::BorshSerialize for $name {
            fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
                borsh::BorshSerialize::serialize(&self.value(), writer)
            }
        }

        impl borsh::BorshDeserialize for $name {
            fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
                let value = <u8 as borsh::BorshDeserialize>::deserialize_reader(reader)?;
                Self::from_value(value).ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, format!(concat!("unknown ", stringify!($name), " {}"), value))
                })
            }
        }

        impl $crate::field::EventField for $name {
            fn idl_type() -> serde_json::Value {
                serde_json::json!("u8")
            }
            fn to_json(&self) -> serde_json::Value {
                serde_json::json!(self.value())
            }
        }
    };
}
pub(crate) use numeric_enum;
