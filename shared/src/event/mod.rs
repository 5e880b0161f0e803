//! The on-chain events of the two indexed programs and their tagged union.
//!
//! Events are Anchor `#[event]` structs: the payload of a `Program data:` line (or of an
//! `emit_cpi!` inner instruction) is `sha256("event:<Name>")[..8]` followed by the Borsh encoding.
//! [`define_events!`] declares the structs of one program together with a per-program enum that
//! decodes by discriminator, re-encodes, renders JSON and describes itself for the IDL, all from
//! one list so none of them can drift.

use serde_json::Value;

use crate::error::{Error, Result};
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

/// An event of an indexed program, or a decoded DFPN instruction that emits none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainEvent {
    /// An `analysis_marketplace` event.
    Marketplace(dfpn::MarketplaceEvent),
    /// A `worker_registry` event.
    WorkerRegistry(dfpn::WorkerRegistryEvent),
    /// A `model_registry` event.
    ModelRegistry(dfpn::ModelRegistryEvent),
    /// A `content_registry` event.
    ContentRegistry(dfpn::ContentRegistryEvent),
    /// A `rewards` event.
    Rewards(dfpn::RewardsEvent),
    /// A Psy program event.
    Psy(psy::PsyEvent),
    /// A DFPN instruction read from the message (its effects are in no event).
    Instruction(dfpn::DfpnInstruction),
}

/// What a stored payload holds: an Anchor event or a decoded instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub enum PayloadKind {
    /// Discriminator + Borsh of an event.
    Event,
    /// Borsh of a [`dfpn::DfpnInstruction`].
    Instruction,
}

impl ChainEvent {
    /// Decodes an Anchor event payload emitted by `program`.
    pub fn decode(program: ProgramKind, payload: &[u8]) -> Result<Self> {
        Ok(match program {
            ProgramKind::AnalysisMarketplace => ChainEvent::Marketplace(dfpn::MarketplaceEvent::decode(payload)?),
            ProgramKind::WorkerRegistry => ChainEvent::WorkerRegistry(dfpn::WorkerRegistryEvent::decode(payload)?),
            ProgramKind::ModelRegistry => ChainEvent::ModelRegistry(dfpn::ModelRegistryEvent::decode(payload)?),
            ProgramKind::ContentRegistry => ChainEvent::ContentRegistry(dfpn::ContentRegistryEvent::decode(payload)?),
            ProgramKind::Rewards => ChainEvent::Rewards(dfpn::RewardsEvent::decode(payload)?),
            ProgramKind::Psy => ChainEvent::Psy(psy::PsyEvent::decode(payload)?),
        })
    }

    /// Decodes a stored payload of `kind` (see [`ChainEvent::stored_payload`]).
    pub fn decode_stored(program: ProgramKind, kind: PayloadKind, payload: &[u8]) -> Result<Self> {
        match kind {
            PayloadKind::Event => Self::decode(program, payload),
            PayloadKind::Instruction => borsh::from_slice::<dfpn::DfpnInstruction>(payload)
                .map(ChainEvent::Instruction)
                .map_err(|err| Error::InvalidBorsh { event: "DfpnInstruction", reason: err.to_string() }),
        }
    }

    /// The compact stored form: the Anchor payload of an event, the Borsh of an instruction.
    pub fn stored_payload(&self) -> (PayloadKind, Vec<u8>) {
        match self {
            ChainEvent::Instruction(instruction) => {
                (PayloadKind::Instruction, borsh::to_vec(instruction).expect("borsh writes to a Vec"))
            }
            event => (PayloadKind::Event, event.encode()),
        }
    }

    /// The program that emits this event (or defines this instruction).
    pub fn program(&self) -> ProgramKind {
        match self {
            ChainEvent::Marketplace(_) => ProgramKind::AnalysisMarketplace,
            ChainEvent::WorkerRegistry(_) => ProgramKind::WorkerRegistry,
            ChainEvent::ModelRegistry(_) => ProgramKind::ModelRegistry,
            ChainEvent::ContentRegistry(_) => ProgramKind::ContentRegistry,
            ChainEvent::Rewards(_) => ProgramKind::Rewards,
            ChainEvent::Psy(_) => ProgramKind::Psy,
            ChainEvent::Instruction(instruction) => instruction.program(),
        }
    }

    /// The event's (or instruction's) name.
    pub fn name(&self) -> &'static str {
        match self {
            ChainEvent::Marketplace(event) => event.name(),
            ChainEvent::WorkerRegistry(event) => event.name(),
            ChainEvent::ModelRegistry(event) => event.name(),
            ChainEvent::ContentRegistry(event) => event.name(),
            ChainEvent::Rewards(event) => event.name(),
            ChainEvent::Psy(event) => event.name(),
            ChainEvent::Instruction(instruction) => instruction.name(),
        }
    }

    /// The Anchor payload of an event (discriminator followed by Borsh); an instruction's
    /// chain data (discriminator followed by its arguments).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ChainEvent::Marketplace(event) => event.encode(),
            ChainEvent::WorkerRegistry(event) => event.encode(),
            ChainEvent::ModelRegistry(event) => event.encode(),
            ChainEvent::ContentRegistry(event) => event.encode(),
            ChainEvent::Rewards(event) => event.encode(),
            ChainEvent::Psy(event) => event.encode(),
            ChainEvent::Instruction(instruction) => instruction.to_chain().0,
        }
    }

    /// The event as `{"program", "name", "fields"}` JSON (instructions add `"kind": "instruction"`).
    pub fn to_json(&self) -> Value {
        let fields = match self {
            ChainEvent::Marketplace(event) => event.fields_json(),
            ChainEvent::WorkerRegistry(event) => event.fields_json(),
            ChainEvent::ModelRegistry(event) => event.fields_json(),
            ChainEvent::ContentRegistry(event) => event.fields_json(),
            ChainEvent::Rewards(event) => event.fields_json(),
            ChainEvent::Psy(event) => event.fields_json(),
            ChainEvent::Instruction(instruction) => {
                return serde_json::json!({
                    "program": self.program(), "name": self.name(), "kind": "instruction",
                    "fields": instruction.fields_json(),
                })
            }
        };
        serde_json::json!({ "program": self.program(), "name": self.name(), "fields": fields })
    }

    /// Whether this is a decoded instruction rather than an event.
    pub fn is_instruction(&self) -> bool {
        matches!(self, ChainEvent::Instruction(_))
    }
}

macro_rules! chain_event_from {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for ChainEvent {
            fn from(event: $ty) -> Self {
                ChainEvent::$variant(event)
            }
        }
    )*};
}

chain_event_from!(
    Marketplace(dfpn::MarketplaceEvent),
    WorkerRegistry(dfpn::WorkerRegistryEvent),
    ModelRegistry(dfpn::ModelRegistryEvent),
    ContentRegistry(dfpn::ContentRegistryEvent),
    Rewards(dfpn::RewardsEvent),
    Psy(psy::PsyEvent),
    Instruction(dfpn::DfpnInstruction)
);
