//! The error type of the indexer.

use std::path::PathBuf;

/// Errors of the indexer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process holds the data directory.
    #[error(
        "data directory {0} is in use by another indexer process (sled allows one); stop it or use another --data-dir"
    )]
    DataDirLocked(PathBuf),
    /// sled failed.
    #[error("event log storage: {0}")]
    Storage(#[from] sled::Error),
    /// A record could not be encoded.
    #[error("encoding a log record: {0}")]
    Encode(std::io::Error),
    /// The data directory was written by a version whose log this one cannot read.
    #[error(
        "data directory {0} holds an event log of an earlier format (the invented single DFPN program, before the five real DFPN programs); nothing in it is read: backfill into a new directory with `indexer backfill --from genesis --data-dir <new dir>`"
    )]
    IncompatibleLog(PathBuf),
    /// A write to the log failed (applying or flushing it): the process must stop, never go
    /// on with seqs that may already be taken.
    #[error("event log write failed, the indexer stops (restart it; the log is read as it is on disk): {0}")]
    LogFailed(String),
    /// A stored record does not decode: the log is damaged.
    #[error("corrupt event log: {0}")]
    Corrupt(String),
    /// A signature string is not 64 base58 bytes.
    #[error("invalid signature {0:?}")]
    InvalidSignature(String),
    /// The RPC node answered with an error (after retries).
    #[error("rpc: {0}")]
    Rpc(String),
    /// The PubSub connection failed.
    #[error("pubsub: {0}")]
    Pubsub(String),
    /// A projection index failed.
    #[error("projection: {0}")]
    Projection(String),
    /// The projections' storage failed (tantivy, a directory, a commit payload).
    #[error(transparent)]
    Store(#[from] projection::store::StoreError),
    /// An off-chain write is inconsistent.
    #[error("invalid write: {0}")]
    InvalidWrite(String),
    /// NATS failed (connecting, the stream's API, a publish): retried by the task that met it.
    #[error("nats: {0}")]
    Nats(String),
    /// The stream and a log disagree (the stream holds records the log does not, or skips one):
    /// publishing or following it would corrupt one of them.
    #[error("stream and log disagree: {0}")]
    StreamMismatch(String),
    /// Invalid configuration.
    #[error("configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether the error must stop the indexer rather than be retried by a reconnecting loop.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Error::LogFailed(_) | Error::Corrupt(_) | Error::IncompatibleLog(_) | Error::StreamMismatch(_))
    }
}

/// Result alias of the indexer.
pub type Result<T, E = Error> = std::result::Result<T, E>;
