//! `indexer export`: the log's chain records as JSON lines, offline (like `replay`), for checks
//! that compare the log with what was put on chain (the real-validator end-to-end test).
//!
//! An event line is the envelope's JSON (`program`, `name`, `fields`, `slot`, `signature`,
//! `tx_index`, `event_index`, `block_time`) plus `"kind": "event"`, its `seq`, `source` and
//! `payload_hex` (discriminator + Borsh, as on chain); a decoded instruction's line has
//! `"kind": "instruction"` and its instruction data (discriminator + arguments) as `payload_hex`. A retraction line is `{"kind": "retraction", "seq",
//! "signature", "slot"}`. Telemetry and off-chain (API) records are left out unless `all`, then
//! they appear as `{"kind": "telemetry" | "api", "seq"}`; Psy records of the invented model kept
//! from a format-3 log are left out.

use std::io::Write;

use serde_json::json;

use crate::error::Result;
use crate::log::{EventLog, LogRecord};

/// Writes the log's records from seq 1 to `out`; returns the number of lines written.
pub fn export(log: &EventLog, all: bool, out: &mut impl Write) -> Result<u64> {
    let mut lines = 0;
    for entry in log.read_from(1) {
        let (seq, record) = entry?;
        let line = match record {
            LogRecord::Event(stored) => {
                if log.decode_event(&stored, seq)?.is_none() {
                    continue;
                }
                let envelope = stored.to_envelope(seq)?;
                let mut value = envelope.to_json();
                let object = value.as_object_mut().expect("an envelope renders as an object");
                let kind = if envelope.event.is_instruction() { "instruction" } else { "event" };
                object.insert("kind".into(), kind.into());
                object.insert("seq".into(), seq.into());
                object.insert("source".into(), serde_json::to_value(stored.source).unwrap_or_default());
                object.insert("payload_hex".into(), hex(&envelope.event.encode()).into());
                value
            }
            LogRecord::Retraction { signature, slot } => json!({
                "kind": "retraction",
                "seq": seq,
                "signature": bs58::encode(signature).into_string(),
                "slot": slot,
            }),
            LogRecord::Telemetry(_) if all => json!({ "kind": "telemetry", "seq": seq }),
            LogRecord::Api(_) if all => json!({ "kind": "api", "seq": seq }),
            LogRecord::Telemetry(_) | LogRecord::Api(_) => continue,
        };
        // The crate's error has no I/O variant of its own: a failed write of the export is
        // reported as a failure to encode its output.
        writeln!(out, "{line}").map_err(crate::error::Error::Encode)?;
        lines += 1;
    }
    Ok(lines)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::tests::envelope;
    use crate::log::Telemetry;

    #[test]
    fn exports_events_and_retractions_in_log_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        let first = envelope(1, 0, 10);
        log.append(&[first.clone(), envelope(2, 1, 11)], None, 0).unwrap();
        log.append_telemetry(&Telemetry {
            observed_at: 1,
            slot: 12,
            block_height: 12,
            sample_slot: 12,
            num_transactions: 0,
            num_slots: 1,
            sample_period_secs: 60,
        })
        .unwrap();
        log.retract([2; 64], 11).unwrap();

        let mut out = Vec::new();
        assert_eq!(export(&log, false, &mut out).unwrap(), 3);
        let lines: Vec<serde_json::Value> =
            String::from_utf8(out).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines[0]["kind"], "event");
        assert_eq!(lines[0]["seq"], 1);
        assert_eq!(lines[0]["signature"], first.signature);
        assert_eq!(lines[0]["name"], "ModelScoreUpdated");
        assert_eq!(lines[0]["fields"]["new_score"], 100);
        assert_eq!(lines[0]["source"], "chain");
        assert_eq!(lines[0]["payload_hex"], hex(&first.event.encode()));
        assert_eq!(lines[1]["event_index"], 1);
        assert_eq!(
            lines[2],
            json!({"kind": "retraction", "seq": 4, "signature": bs58::encode([2u8; 64]).into_string(), "slot": 11})
        );

        let mut out = Vec::new();
        assert_eq!(export(&log, true, &mut out).unwrap(), 4);
        assert!(String::from_utf8(out).unwrap().contains(r#""kind":"telemetry""#));
    }
}
