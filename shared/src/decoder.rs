//! Decodes a transaction's events from its log lines and inner instructions.
//!
//! The runtime writes `Program <id> invoke [n]` when a program is entered and
//! `Program <id> success` / `Program <id> failed: ...` when it returns; everything a program logs
//! itself is prefixed (`Program log:`, `Program data:`), so a program cannot forge an invoke line.
//! The decoder keeps that invocation stack and attributes each `Program data:` line to the program
//! on top of it; only configured programs are decoded. `emit_cpi!` events are read from inner
//! instructions, and the DFPN instructions whose effects no event carries from the message, both
//! of which only `getTransaction` returns.
//!
//! Event order (and so `event_index`) is: log events in line order, then `emit_cpi!` events in
//! instruction order; decoded instructions take `INSTRUCTION_INDEX_BASE` + their position in
//! execution order. Log events therefore get the same index whether the transaction arrived from
//! a log notification (logs only) or from `getTransaction` (logs and inner instructions).
//!
//! Bad input never panics: unknown discriminators, bad base64 and bad Borsh are skipped with a
//! [`SkipReason`]; a failed transaction yields no event; `Log truncated` sets
//! [`DecodedTransaction::truncated`] so the caller re-fetches the transaction.

use anchor_lang::event::EVENT_IX_TAG_LE;
use base64::Engine;

use anchor_lang::prelude::Pubkey;

use crate::dfpn::{DfpnInstruction, INSTRUCTION_INDEX_BASE};
use crate::error::Error;
use crate::event::ChainEvent;
use crate::program::{ProgramKind, ProgramSet};

const PROGRAM_PREFIX: &str = "Program ";
const DATA_PREFIX: &str = "Program data: ";
const LOG_TRUNCATED: &str = "Log truncated";
const INSTRUCTION_PREFIX: &str = "Program log: Instruction: ";

/// An instruction of the message, top level or by cross-program invocation, as
/// `getTransaction` reports it (keys resolved over the static and the lookup-table keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInstruction {
    /// Base58 id of the invoked program.
    pub program_id: String,
    /// Base58 keys of the accounts it takes, in order (filled for configured programs only).
    pub accounts: Vec<String>,
    /// Instruction data (decoded for configured programs only).
    pub data: Vec<u8>,
    /// Invocation depth (1 for top level, 2 for a CPI made by a top-level instruction).
    pub stack_height: u32,
}

/// A top-level instruction and the instructions it invoked, in execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionGroup {
    /// The top-level instruction.
    pub outer: MessageInstruction,
    /// The inner instructions it invoked.
    pub inner: Vec<MessageInstruction>,
}

/// Where a decoded event was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOrigin {
    /// A `Program data:` line, by its index in the log.
    Log {
        /// Index of the log line.
        line: usize,
    },
    /// A decoded instruction of the message, or an `emit_cpi!` inner instruction.
    Instruction {
        /// Index of the top-level instruction.
        outer: usize,
        /// Index within that instruction's inner instructions (`None`: the top-level one).
        inner: Option<usize>,
    },
}

/// One event decoded from a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedEvent {
    /// Position of the event in the transaction; with the signature, the idempotency key.
    pub event_index: u32,
    /// Where it was found.
    pub origin: EventOrigin,
    /// The decoded event (its program is `event.program()`).
    pub event: ChainEvent,
}

/// Why a payload attributed to a configured program was not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// `Program data:` was not valid base64.
    InvalidBase64,
    /// `Program data:` held several base64 fields; Anchor events have one.
    MultipleDataFields,
    /// The payload is shorter than a discriminator.
    PayloadTooShort,
    /// No event of the program has this discriminator.
    UnknownDiscriminator,
    /// The Borsh body did not decode as the event its discriminator names.
    InvalidBorsh,
    /// An instruction the decoder reads lacked accounts or had invalid arguments or keys.
    InvalidInstruction,
}

impl SkipReason {
    /// Every reason, for metrics labels.
    pub const ALL: [SkipReason; 6] = [
        SkipReason::InvalidBase64,
        SkipReason::MultipleDataFields,
        SkipReason::PayloadTooShort,
        SkipReason::UnknownDiscriminator,
        SkipReason::InvalidBorsh,
        SkipReason::InvalidInstruction,
    ];

    /// A snake_case label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::InvalidBase64 => "invalid_base64",
            SkipReason::MultipleDataFields => "multiple_data_fields",
            SkipReason::PayloadTooShort => "payload_too_short",
            SkipReason::UnknownDiscriminator => "unknown_discriminator",
            SkipReason::InvalidBorsh => "invalid_borsh",
            SkipReason::InvalidInstruction => "invalid_instruction",
        }
    }
}

/// A payload that was skipped, with the reason and a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The program it was attributed to.
    pub program: ProgramKind,
    /// Why it was skipped.
    pub reason: SkipReason,
    /// What exactly was wrong.
    pub detail: String,
}

/// The result of decoding one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedTransaction {
    /// Decoded events in `event_index` order.
    pub events: Vec<DecodedEvent>,
    /// Payloads of configured programs that could not be decoded.
    pub skipped: Vec<Skipped>,
    /// The log ends in `Log truncated`: events may be missing, re-fetch the transaction.
    pub truncated: bool,
    /// The transaction failed; it changed no state, so no event is reported.
    pub failed: bool,
    /// Invoke/return lines that did not match the stack (only seen in damaged logs).
    pub stack_anomalies: u32,
    /// A configured program invoked itself, the shape of `emit_cpi!`: its events are only in the
    /// inner instructions, so a caller holding only logs should fetch the transaction.
    pub self_invocations: u32,
    /// A configured program logged `Instruction: <Name>` of an instruction the decoder reads from
    /// the message: a caller holding only logs should fetch the transaction.
    pub needs_message: bool,
}

impl DecodedTransaction {
    /// Whether the logs alone miss something: truncated, `emit_cpi!` events, or instructions
    /// read from the message.
    pub fn needs_fetch(&self) -> bool {
        self.truncated || self.self_invocations > 0 || self.needs_message
    }
}

/// A log line the runtime writes about an invocation.
enum RuntimeLine<'a> {
    Invoke { program: &'a str, depth: usize },
    InstructionName(&'a str),
    Return { program: &'a str },
    Data(&'a str),
    Truncated,
    Other,
}

fn classify(line: &str) -> RuntimeLine<'_> {
    if let Some(data) = line.strip_prefix(DATA_PREFIX) {
        return RuntimeLine::Data(data);
    }
    if line == LOG_TRUNCATED {
        return RuntimeLine::Truncated;
    }
    if let Some(name) = line.strip_prefix(INSTRUCTION_PREFIX) {
        return RuntimeLine::InstructionName(name);
    }
    let Some(rest) = line.strip_prefix(PROGRAM_PREFIX) else {
        return RuntimeLine::Other;
    };
    let Some((program, action)) = rest.split_once(' ') else {
        return RuntimeLine::Other;
    };
    if !is_base58_key(program) {
        return RuntimeLine::Other;
    }
    if let Some(depth) = action.strip_prefix("invoke [").and_then(|d| d.strip_suffix(']')) {
        return match depth.parse() {
            Ok(depth) => RuntimeLine::Invoke { program, depth },
            Err(_) => RuntimeLine::Other,
        };
    }
    if action == "success" || action.starts_with("failed") {
        return RuntimeLine::Return { program };
    }
    RuntimeLine::Other
}

fn is_base58_key(s: &str) -> bool {
    (32..=44).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

fn skip_reason(err: &Error) -> SkipReason {
    match err {
        Error::PayloadTooShort(_) => SkipReason::PayloadTooShort,
        Error::UnknownDiscriminator(_) => SkipReason::UnknownDiscriminator,
        _ => SkipReason::InvalidBorsh,
    }
}

impl DecodedTransaction {
    fn push_payload(&mut self, program: ProgramKind, payload: &[u8], origin: EventOrigin) {
        match ChainEvent::decode(program, payload) {
            Ok(event) => {
                let event_index = self.events.len() as u32;
                self.events.push(DecodedEvent { event_index, origin, event });
            }
            Err(err) => self.skip(program, skip_reason(&err), err.to_string()),
        }
    }

    fn skip(&mut self, program: ProgramKind, reason: SkipReason, detail: String) {
        self.skipped.push(Skipped { program, reason, detail });
    }
}

/// Decodes the events of one transaction.
///
/// `logs` are the transaction's log messages, `failed` whether its `err` is non-null, and
/// `instructions` its message's instructions with their inner instructions when known (from
/// `getTransaction`; `None` for a log notification).
pub fn decode_transaction<S: AsRef<str>>(
    programs: &ProgramSet,
    logs: &[S],
    failed: bool,
    instructions: Option<&[InstructionGroup]>,
) -> DecodedTransaction {
    let mut decoded = DecodedTransaction { failed, ..Default::default() };
    if failed {
        return decoded;
    }
    let mut stack: Vec<&str> = Vec::new();
    for (line_index, line) in logs.iter().enumerate() {
        match classify(line.as_ref()) {
            RuntimeLine::Invoke { program, depth } => {
                if stack.last() == Some(&program) && programs.kind_of(program).is_some() {
                    decoded.self_invocations += 1;
                }
                if depth != stack.len() + 1 {
                    decoded.stack_anomalies += 1;
                    stack.truncate(depth.saturating_sub(1));
                }
                stack.push(program);
            }
            RuntimeLine::Return { program } => match stack.iter().rposition(|p| *p == program) {
                Some(position) => {
                    if position + 1 != stack.len() {
                        decoded.stack_anomalies += 1;
                    }
                    stack.truncate(position);
                }
                None => decoded.stack_anomalies += 1,
            },
            RuntimeLine::Data(data) => {
                let Some(program) = stack.last().and_then(|top| programs.kind_of(top)) else {
                    continue;
                };
                let origin = EventOrigin::Log { line: line_index };
                if data.contains(' ') {
                    decoded.skip(program, SkipReason::MultipleDataFields, format!("line {line_index}"));
                    continue;
                }
                match base64::engine::general_purpose::STANDARD.decode(data) {
                    Ok(payload) => decoded.push_payload(program, &payload, origin),
                    Err(err) => decoded.skip(program, SkipReason::InvalidBase64, format!("line {line_index}: {err}")),
                }
            }
            RuntimeLine::InstructionName(name) => {
                if let Some(program) = stack.last().and_then(|top| programs.kind_of(top)) {
                    decoded.needs_message |= crate::dfpn::instruction::is_decoded(program, name);
                }
            }
            RuntimeLine::Truncated => decoded.truncated = true,
            RuntimeLine::Other => {}
        }
    }
    let groups = instructions.unwrap_or_default();
    for (outer_index, group) in groups.iter().enumerate() {
        decode_emit_cpi(programs, group, outer_index, &mut decoded);
    }
    decode_instructions(programs, groups, &mut decoded);
    decoded
}

/// Decodes the instructions of our programs that the fold reads from the message, each with
/// event index [`INSTRUCTION_INDEX_BASE`] + its position in execution order.
fn decode_instructions(programs: &ProgramSet, groups: &[InstructionGroup], decoded: &mut DecodedTransaction) {
    let mut position = 0u32;
    for (outer_index, group) in groups.iter().enumerate() {
        let all =
            std::iter::once((None, &group.outer)).chain(group.inner.iter().enumerate().map(|(i, ix)| (Some(i), ix)));
        for (inner_index, instruction) in all {
            let event_index = INSTRUCTION_INDEX_BASE + position;
            position += 1;
            let Some(program) = programs.kind_of(&instruction.program_id).filter(|kind| kind.is_dfpn()) else {
                continue;
            };
            let accounts: Option<Vec<Pubkey>> = instruction.accounts.iter().map(|key| key.parse().ok()).collect();
            let Some(accounts) = accounts else {
                decoded.skip(program, SkipReason::InvalidInstruction, "account key is not base58".into());
                continue;
            };
            match DfpnInstruction::decode(program, &instruction.data, &accounts) {
                Ok(Some(instruction)) => decoded.events.push(DecodedEvent {
                    event_index,
                    origin: EventOrigin::Instruction { outer: outer_index, inner: inner_index },
                    event: ChainEvent::Instruction(instruction),
                }),
                Ok(None) => {}
                Err(err) => decoded.skip(program, SkipReason::InvalidInstruction, err.to_string()),
            }
        }
    }
}

/// Decodes `emit_cpi!` events: a program invoking itself with `EVENT_IX_TAG` + event payload.
fn decode_emit_cpi(
    programs: &ProgramSet,
    group: &InstructionGroup,
    outer_index: usize,
    decoded: &mut DecodedTransaction,
) {
    // `callers[d]` is the program running at stack height d + 1.
    let mut callers: Vec<&str> = vec![group.outer.program_id.as_str()];
    for (inner_index, instruction) in group.inner.iter().enumerate() {
        let height = (instruction.stack_height as usize).max(2);
        callers.truncate(height - 1);
        let caller = callers.last().copied();
        callers.push(instruction.program_id.as_str());
        let Some(program) = programs.kind_of(&instruction.program_id) else {
            continue;
        };
        let Some(payload) = instruction.data.strip_prefix(EVENT_IX_TAG_LE) else {
            continue;
        };
        if caller != Some(instruction.program_id.as_str()) {
            continue;
        }
        let origin = EventOrigin::Instruction { outer: outer_index, inner: Some(inner_index) };
        decoded.push_payload(program, payload, origin);
    }
}
