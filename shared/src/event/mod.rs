//! The on-chain events of the two indexed programs and their tagged union.
//!
//! Events are Anchor `#[event]` structs: the payload of a `Program data:` line (or of an
//! `emit_cpi!` inner instruction) is `sha256("event:<Name>")[..8]` followed by the Borsh encoding.
//! [`define_events!`] declares the structs of one program together with a per-program enum that
//! decodes by discriminator, re-encodes, renders JSON and describes itself for the IDL, all from
//! one list so none of them can drift.

use serde_json::Value;

use crate::error::Result;
use crate::program::ProgramKind;

pub mod dfpn;
pub mod psy;

/// Declares one program's events: the `#[event]` structs and an enum over them.
macro_rules! define_events {
    (
        $(#[doc = $enum_doc:literal])*
        $enum_name:ident {
            $(
                $(#[doc = $doc:literal])*
                $name:ident {
                    $( $(#[doc = $fdoc:literal])* $field:ident : $ty:ty ),* $(,)?
                }
            )*
        }
    ) => {
        $(
            $(#[doc = $doc])*
            #[anchor_lang::event]
            #[derive(Debug, Clone, PartialEq, Eq)]
            pub struct $name {
                $( $(#[doc = $fdoc])* pub $field: $ty ),*
            }

            impl $name {
                /// Renders the fields as a JSON object (keys in declaration order).
                pub fn fields_json(&self) -> serde_json::Value {
                    let mut map = serde_json::Map::new();
                    $( map.insert(stringify!($field).to_owned(), $crate::field::EventField::to_json(&self.$field)); )*
                    serde_json::Value::Object(map)
                }
            }

            impl $crate::field::IdlDefinedType for $name {
                fn idl_definition() -> serde_json::Value {
                    let fields = vec![
                        $( $crate::field::idl_field(
                            stringify!($field),
                            &[$($fdoc),*],
                            <$ty as $crate::field::EventField>::idl_type(),
                        ) ),*
                    ];
                    $crate::field::idl_struct(stringify!($name), &[$($doc),*], fields)
                }
            }
        )*

        $(#[doc = $enum_doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $enum_name {
            $( #[doc = concat!("A [`", stringify!($name), "`] event.")] $name($name), )*
        }

        impl $enum_name {
            /// Every event name with its discriminator, in declaration order.
            pub const DISCRIMINATORS: &'static [(&'static str, &'static [u8])] = &[
                $( (stringify!($name), <$name as anchor_lang::Discriminator>::DISCRIMINATOR) ),*
            ];

            /// The event's name (its struct name).
            pub fn name(&self) -> &'static str {
                match self { $( Self::$name(_) => stringify!($name) ),* }
            }

            /// Encodes as Anchor does: discriminator followed by Borsh.
            pub fn encode(&self) -> Vec<u8> {
                use anchor_lang::Event;
                match self { $( Self::$name(event) => event.data() ),* }
            }

            /// Decodes a payload (discriminator + Borsh); trailing bytes are an error.
            pub fn decode(payload: &[u8]) -> $crate::error::Result<Self> {
                use anchor_lang::Discriminator;
                if payload.len() < 8 {
                    return Err($crate::error::Error::PayloadTooShort(payload.len()));
                }
                let (discriminator, body) = payload.split_at(8);
                $(
                    if discriminator == $name::DISCRIMINATOR {
                        return borsh::from_slice::<$name>(body)
                            .map(Self::$name)
                            .map_err(|err| $crate::error::Error::InvalidBorsh {
                                event: stringify!($name),
                                reason: err.to_string(),
                            });
                    }
                )*
                let mut tag = [0u8; 8];
                tag.copy_from_slice(discriminator);
                Err($crate::error::Error::UnknownDiscriminator(tag))
            }

            /// Renders the event's fields as a JSON object.
            pub fn fields_json(&self) -> serde_json::Value {
                match self { $( Self::$name(event) => event.fields_json() ),* }
            }

            /// The IDL `types` entries of every event struct.
            pub fn idl_event_types() -> Vec<serde_json::Value> {
                vec![$( <$name as $crate::field::IdlDefinedType>::idl_definition() ),*]
            }
        }

        $(
            impl From<$name> for $enum_name {
                fn from(event: $name) -> Self { Self::$name(event) }
            }
        )*
    };
}
pub(crate) use define_events;

/// An event of either indexed program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainEvent {
    /// An event of the DFPN program.
    Dfpn(dfpn::DfpnEvent),
    /// An event of the Psy program.
    Psy(psy::PsyEvent),
}

impl ChainEvent {
    /// Decodes an Anchor event payload emitted by `program`.
    pub fn decode(program: ProgramKind, payload: &[u8]) -> Result<Self> {
        Ok(match program {
            ProgramKind::Dfpn => ChainEvent::Dfpn(dfpn::DfpnEvent::decode(payload)?),
            ProgramKind::Psy => ChainEvent::Psy(psy::PsyEvent::decode(payload)?),
        })
    }

    /// The program that emits this event.
    pub fn program(&self) -> ProgramKind {
        match self {
            ChainEvent::Dfpn(_) => ProgramKind::Dfpn,
            ChainEvent::Psy(_) => ProgramKind::Psy,
        }
    }

    /// The event's name.
    pub fn name(&self) -> &'static str {
        match self {
            ChainEvent::Dfpn(event) => event.name(),
            ChainEvent::Psy(event) => event.name(),
        }
    }

    /// The Anchor payload: discriminator followed by Borsh.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ChainEvent::Dfpn(event) => event.encode(),
            ChainEvent::Psy(event) => event.encode(),
        }
    }

    /// The event as `{"program", "name", "fields"}` JSON.
    pub fn to_json(&self) -> Value {
        let fields = match self {
            ChainEvent::Dfpn(event) => event.fields_json(),
            ChainEvent::Psy(event) => event.fields_json(),
        };
        serde_json::json!({ "program": self.program(), "name": self.name(), "fields": fields })
    }
}

impl From<dfpn::DfpnEvent> for ChainEvent {
    fn from(event: dfpn::DfpnEvent) -> Self {
        ChainEvent::Dfpn(event)
    }
}

impl From<psy::PsyEvent> for ChainEvent {
    fn from(event: psy::PsyEvent) -> Self {
        ChainEvent::Psy(event)
    }
}
