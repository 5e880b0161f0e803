//! Fixture event lines (the output of `fixture-node events`) and how they are packed into
//! transactions.

use std::io::BufRead;

use anyhow::Context;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// One line of `fixture-node events`: an event with its program and Anchor payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLine {
    /// Position in the fixture history's ground truth, from 0.
    pub n: u64,
    /// The fixture transaction the event belongs to (events of one travel together).
    pub tx: u64,
    /// `dfpn` or `psy`.
    pub program: String,
    /// Base58 program id.
    pub program_id: String,
    /// Event name.
    pub name: String,
    /// Base64 of discriminator + Borsh.
    pub payload: String,
}

impl EventLine {
    /// The decoded payload bytes.
    pub fn payload_bytes(&self) -> anyhow::Result<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.payload)
            .with_context(|| format!("event {}: payload is not base64", self.n))
    }
}

/// Reads event lines, keeping those with `n` in `[from, from + count)` (`count` 0: no end).
pub fn read_events(reader: impl BufRead, from: u64, count: u64) -> anyhow::Result<Vec<EventLine>> {
    let end = if count == 0 { u64::MAX } else { from.saturating_add(count) };
    let mut events = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let event: EventLine =
            serde_json::from_str(&line).with_context(|| format!("event line {}: not an event", number + 1))?;
        if (from..end).contains(&event.n) {
            events.push(event);
        }
    }
    Ok(events)
}

/// Instruction data bytes one transaction may carry for its events: a legacy transaction is at
/// most 1,232 bytes, of which a signature, the header, two keys, the blockhash, the nonce
/// instruction and each instruction's own framing take about 300.
pub const MAX_EVENT_BYTES_PER_TX: usize = 900;

/// Bytes an event costs in a transaction: its payload, the mode byte, and the instruction's
/// program index, account count and data length.
pub fn event_cost(payload_len: usize) -> usize {
    payload_len + 1 + 4
}

/// A transaction to send: events of one program, in order, and whether it must fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTx {
    /// Position among the planned transactions, from 0.
    pub index: u64,
    /// The events, one emitter instruction each.
    pub events: Vec<EventLine>,
    /// Whether the last instruction fails after emitting (the whole transaction then fails).
    pub fail: bool,
}

/// Packs events into transactions: consecutive events of the same fixture transaction and
/// program, at most `per_tx` of them and [`MAX_EVENT_BYTES_PER_TX`] bytes; every `fail_every`-th
/// transaction (1-based; 0: none) fails.
pub fn plan(events: &[EventLine], per_tx: usize, fail_every: u64) -> anyhow::Result<Vec<PlannedTx>> {
    let per_tx = per_tx.max(1);
    let mut planned: Vec<PlannedTx> = Vec::new();
    let mut current: Vec<EventLine> = Vec::new();
    let mut bytes = 0;
    let flush = |current: &mut Vec<EventLine>, planned: &mut Vec<PlannedTx>| {
        if current.is_empty() {
            return;
        }
        let index = planned.len() as u64;
        let fail = fail_every > 0 && (index + 1) % fail_every == 0;
        planned.push(PlannedTx { index, events: std::mem::take(current), fail });
    };
    for event in events {
        let cost = event_cost(event.payload_bytes()?.len());
        let fits = current.last().is_some_and(|last| {
            last.tx == event.tx
                && last.program_id == event.program_id
                && current.len() < per_tx
                && bytes + cost <= MAX_EVENT_BYTES_PER_TX
        });
        if !fits {
            flush(&mut current, &mut planned);
            bytes = 0;
        }
        bytes += cost;
        current.push(event.clone());
    }
    flush(&mut current, &mut planned);
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64, tx: u64, program: &str, len: usize) -> EventLine {
        EventLine {
            n,
            tx,
            program: program.into(),
            program_id: format!("{program}-id"),
            name: "Event".into(),
            payload: base64::engine::general_purpose::STANDARD.encode(vec![n as u8; len]),
        }
    }

    #[test]
    fn reads_a_window_of_lines() {
        let text: String =
            (0..10).map(|n| serde_json::to_string(&event(n, n / 2, "dfpn", 12)).unwrap() + "\n").collect();
        let events = read_events(text.as_bytes(), 3, 4).unwrap();
        assert_eq!(events.iter().map(|e| e.n).collect::<Vec<_>>(), vec![3, 4, 5, 6]);
        assert_eq!(read_events(text.as_bytes(), 0, 0).unwrap().len(), 10);
        assert!(read_events("{\"n\":1}\n".as_bytes(), 0, 0).is_err());
    }

    #[test]
    fn packs_by_fixture_transaction_program_count_and_size() {
        let events = vec![
            event(0, 0, "dfpn", 40),
            event(1, 0, "dfpn", 40),
            event(2, 0, "dfpn", 40),
            event(3, 1, "dfpn", 40),
            event(4, 2, "psy", 40),
            event(5, 2, "dfpn", 40),
            event(6, 3, "psy", 600),
            event(7, 3, "psy", 600),
        ];
        let planned = plan(&events, 2, 3).unwrap();
        let shape: Vec<Vec<u64>> = planned.iter().map(|tx| tx.events.iter().map(|e| e.n).collect()).collect();
        assert_eq!(shape, vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5], vec![6], vec![7]]);
        let failing: Vec<u64> = planned.iter().filter(|tx| tx.fail).map(|tx| tx.index).collect();
        assert_eq!(failing, vec![2, 5]);
        assert!(plan(&events, 4, 0).unwrap().iter().all(|tx| !tx.fail));
    }
}
