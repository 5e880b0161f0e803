//! Generates the Anchor IDL (0.30+ format) of each program from the Rust event types.
//!
//! The files under `fixtures/idl/` are this output; a test keeps them equal, so TypeScript and
//! Python clients decoding with their own Anchor tooling see exactly our layout.

use serde_json::{json, Value};

use crate::event::{dfpn, psy};
use crate::program::ProgramKind;

/// The IDL of `program` deployed at its default id.
pub fn program_idl(program: ProgramKind) -> Value {
    let (discriminators, mut types, description) = match program {
        ProgramKind::Dfpn => (
            dfpn::DfpnEvent::DISCRIMINATORS,
            dfpn::DfpnEvent::idl_event_types(),
            "DFPN deepfake-detection network: analysis requests, workers and detection models",
        ),
        ProgramKind::Psy => (
            psy::PsyEvent::DISCRIMINATORS,
            psy::PsyEvent::idl_event_types(),
            "Psy: realms, users, contracts, proving jobs and checkpoints",
        ),
    };
    types.extend(match program {
        ProgramKind::Dfpn => dfpn::idl_enum_types(),
        ProgramKind::Psy => psy::idl_support_types(),
    });
    let events: Vec<Value> = discriminators
        .iter()
        .map(|(name, discriminator)| json!({ "name": name, "discriminator": discriminator }))
        .collect();
    json!({
        "address": program.default_id().to_string(),
        "metadata": {
            "name": program.as_str(),
            "version": env!("CARGO_PKG_VERSION"),
            "spec": "0.1.0",
            "description": description,
        },
        "instructions": [],
        "accounts": [],
        "events": events,
        "types": types,
    })
}

/// The IDL as the pretty-printed text committed under `fixtures/idl/<program>.json`.
pub fn program_idl_text(program: ProgramKind) -> String {
    let mut text = serde_json::to_string_pretty(&program_idl(program)).expect("IDL JSON serializes");
    text.push('\n');
    text
}
