//! The log format marker (`V`) and the migration of logs of the previous format.

use std::path::Path;

use super::keys::{record_key, retracted_key, seq_value, signature_prefix, FORMAT, KEY, LEGACY_PSY, RECORD};
use super::record::LogRecord;
use crate::error::{Error, Result};

/// The log format this version writes and reads. 2 is the five real DFPN programs (per-program
/// kinds, decoded instructions); 3 moves a retracted transaction's records out of the
/// idempotency index into the retracted index, so that a transaction that reappears is appended
/// again; 4 is the real Psy model (Psy events are the telemetry records; a log of format 3 keeps
/// its Psy records of the invented model, below the boundary `O` holds, read as nothing). Logs
/// of the invented single-program model carry no marker and are refused.
pub const LOG_FORMAT: u32 = 4;

/// The oldest format whose logs are migrated at open rather than refused.
const OLDEST_MIGRATED: u32 = 2;

/// Refuses a log of an unknown format, migrates one of formats 2 and 3, and marks a new one
/// with [`LOG_FORMAT`].
pub(super) fn check(tree: &sled::Tree, dir: &Path) -> Result<()> {
    let format = tree.get([FORMAT])?.map(|value| value.as_ref().try_into().map(u32::from_be_bytes));
    match format {
        Some(Ok(LOG_FORMAT)) => Ok(()),
        Some(Ok(OLDEST_MIGRATED)) => {
            migrate_retractions(tree, dir)?;
            migrate_psy_model(tree, dir)
        }
        Some(Ok(3)) => migrate_psy_model(tree, dir),
        Some(_) => Err(Error::IncompatibleLog(dir.to_path_buf())),
        None if tree.first()?.is_some() => Err(Error::IncompatibleLog(dir.to_path_buf())),
        None => mark(tree),
    }
}

/// The seq at or below which a Psy record may be of the invented model (0: none).
pub(super) fn legacy_psy_upto(tree: &sled::Tree) -> Result<u64> {
    match tree.get([LEGACY_PSY])? {
        Some(value) => seq_value(&value),
        None => Ok(0),
    }
}

/// Format 3 → 4: nothing is rewritten; the last seq is recorded as the boundary of the Psy
/// records of the invented model, with the new format marker, in one atomic batch.
fn migrate_psy_model(tree: &sled::Tree, dir: &Path) -> Result<()> {
    let last = match tree.scan_prefix([RECORD]).next_back() {
        Some(entry) => seq_value(&entry?.0[1..9])?,
        None => 0,
    };
    let mut batch = sled::Batch::default();
    batch.insert(&[LEGACY_PSY][..], &last.to_be_bytes()[..]);
    batch.insert(&[FORMAT][..], &LOG_FORMAT.to_be_bytes()[..]);
    tree.apply_batch(batch)?;
    tree.flush()?;
    tracing::info!(dir = %dir.display(), legacy_psy_upto = last, to = LOG_FORMAT, "event log migrated to the real Psy model");
    Ok(())
}

fn mark(tree: &sled::Tree) -> Result<()> {
    tree.insert([FORMAT], &LOG_FORMAT.to_be_bytes())?;
    tree.flush()?;
    Ok(())
}

/// Format 2 → 3: the records of every retracted transaction move from the idempotency index to
/// the retracted index, with the format-3 marker, in one atomic batch (a crash leaves the log
/// of format 2, migrated again at the next open).
fn migrate_retractions(tree: &sled::Tree, dir: &Path) -> Result<()> {
    let mut batch = sled::Batch::default();
    let mut moved = 0u64;
    for entry in tree.range(record_key(1)..record_key(u64::MAX)) {
        let (key, value) = entry?;
        debug_assert_eq!(key[0], RECORD);
        // Borsh tags the stored record's variant first; 1 is a retraction.
        if value.first() != Some(&1) {
            continue;
        }
        let seq = seq_value(&key[1..9])?;
        let LogRecord::Retraction { signature, .. } = LogRecord::decode(seq, &value)? else { continue };
        for entry in tree.scan_prefix(signature_prefix(KEY, &signature)) {
            let (key, value) = entry?;
            batch.remove(key);
            batch.insert(&retracted_key(&signature, seq_value(&value)?)[..], &[][..]);
            moved += 1;
        }
    }
    batch.insert(&[FORMAT][..], &3u32.to_be_bytes()[..]);
    tree.apply_batch(batch)?;
    tree.flush()?;
    tracing::info!(dir = %dir.display(), moved, from = OLDEST_MIGRATED, to = 3, "event log migrated");
    Ok(())
}
