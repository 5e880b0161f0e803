//! The status JSON of `indexer status` (and the summary `backfill` prints): log length, cursors,
//! pending and set-aside transactions, projection progress, stream lags.

use shared::ProgramKind;

use crate::error::Result;
use crate::log::EventLog;
use crate::stream::{self, NatsConfig};

/// The log's side of the status: last seq, cursors, pending finality, set-aside transactions,
/// size on disk.
pub fn log_status(log: &EventLog) -> Result<serde_json::Value> {
    let mut cursors = serde_json::Map::new();
    for program in ProgramKind::ALL {
        let cursor = log
            .cursor(program)?
            .map(|c| serde_json::json!({ "signature": bs58::encode(c.signature).into_string(), "slot": c.slot }));
        cursors.insert(program.as_str().to_owned(), cursor.into());
    }
    Ok(serde_json::json!({
        "last_seq": log.last_seq(),
        "cursors": cursors,
        "pending_finality": log.pending(u64::MAX)?.len(),
        "set_aside": log.set_aside_list()?.len(),
        "log_bytes_on_disk": log.size_on_disk()?,
    }))
}

/// The whole status: [`log_status`], the projections' committed seq (`projection_seq`) and lag,
/// whether the log is a replica's mirror, and with `nats` the stream's last seq and the lags.
pub async fn status(log: &EventLog, projection_seq: u64, nats: Option<&NatsConfig>) -> Result<serde_json::Value> {
    let mut status = log_status(log)?;
    status["projection_seq"] = projection_seq.into();
    status["projection_lag"] = log.last_seq().saturating_sub(projection_seq).into();
    status["replica"] = log.is_mirror()?.into();
    if let Some(nats) = nats {
        let stream_seq = stream::stream_seq(nats).await?;
        status["stream_seq"] = stream_seq.into();
        // A replica's log is its mirror of the stream: it publishes nothing.
        if !log.is_mirror()? {
            status["publish_lag"] = log.last_seq().saturating_sub(stream_seq).into();
        }
        status["follow_lag"] = stream_seq.saturating_sub(projection_seq).into();
    }
    Ok(status)
}
