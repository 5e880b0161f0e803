//! Generates the Anchor IDL (0.30+ format) of each program from the Rust event types.
//!
//! The files under `fixtures/idl/` are this output; a test keeps them equal, so TypeScript and
//! Python clients decoding with their own Anchor tooling see exactly our layout. The DFPN IDLs
//! also list the instructions the decoder reads from the message.

use serde_json::{json, Value};

use crate::event::{dfpn, psy};
use crate::program::ProgramKind;

/// Event names with their discriminators, as `define_events!` lists them.
type Discriminators = &'static [(&'static str, &'static [u8])];

fn events_and_types(program: ProgramKind) -> (Discriminators, Vec<Value>, &'static str) {
    match program {
        ProgramKind::AnalysisMarketplace => (
            dfpn::MarketplaceEvent::DISCRIMINATORS,
            dfpn::MarketplaceEvent::idl_event_types(),
            "DFPN analysis marketplace: requests, commit/reveal, finalization, disputes",
        ),
        ProgramKind::WorkerRegistry => (
            dfpn::WorkerRegistryEvent::DISCRIMINATORS,
            dfpn::WorkerRegistryEvent::idl_event_types(),
            "DFPN worker registry: registration, stake, status, reputation, slashing",
        ),
        ProgramKind::ModelRegistry => (
            dfpn::ModelRegistryEvent::DISCRIMINATORS,
            dfpn::ModelRegistryEvent::idl_event_types(),
            "DFPN model registry: detection models and their lifecycle",
        ),
        ProgramKind::ContentRegistry => (
            dfpn::ContentRegistryEvent::DISCRIMINATORS,
            dfpn::ContentRegistryEvent::idl_event_types(),
            "DFPN content registry: content records and provenance claims",
        ),
        ProgramKind::Rewards => (
            dfpn::RewardsEvent::DISCRIMINATORS,
            dfpn::RewardsEvent::idl_event_types(),
            "DFPN rewards: treasury, fees, epochs, reward accounts",
        ),
        ProgramKind::Psy => (
            psy::PsyEvent::DISCRIMINATORS,
            psy::PsyEvent::idl_event_types(),
            "Psy: the real Psy telemetry records (worker events, user events, checkpoint leaves, contract reports)",
        ),
    }
}

/// Names of the types an IDL value refers to (`{"defined": {"name": ..}}`).
fn referenced_types(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map.get("defined").and_then(|d| d["name"].as_str()) {
                out.push(name.to_owned());
            }
            map.values().for_each(|v| referenced_types(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| referenced_types(v, out)),
        _ => {}
    }
}

/// The IDL of `program` deployed at its default id.
pub fn program_idl(program: ProgramKind) -> Value {
    let (discriminators, mut types, description) = events_and_types(program);
    let support = if program.is_dfpn() { dfpn::types::idl_enum_types() } else { psy::idl_support_types() };
    let mut referenced = Vec::new();
    referenced_types(&Value::Array(types.clone()), &mut referenced);
    types.extend(
        support.into_iter().filter(|ty| ty["name"].as_str().is_some_and(|n| referenced.iter().any(|r| r == n))),
    );
    let events: Vec<Value> = discriminators
        .iter()
        .map(|(name, discriminator)| json!({ "name": name, "discriminator": discriminator }))
        .collect();
    let instructions: Vec<Value> = dfpn::instruction::DECODED_INSTRUCTIONS
        .iter()
        .filter(|spec| spec.program == program)
        .map(|spec| {
            json!({
                "name": spec.name,
                "discriminator": dfpn::instruction::discriminator(spec.name),
                "accounts": spec.accounts.iter().map(|name| json!({ "name": name })).collect::<Vec<_>>(),
                "args": spec.args.iter().map(|(name, ty)| json!({ "name": name, "type": ty })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "address": program.default_id().to_string(),
        "metadata": {
            "name": program.as_str(),
            "version": if program.is_dfpn() { "0.1.0" } else { env!("CARGO_PKG_VERSION") },
            "spec": "0.1.0",
            "description": description,
        },
        "instructions": instructions,
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
