//! The error type of the shared crate.

/// Errors raised while decoding or parsing shared types.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The event payload is shorter than an 8-byte discriminator.
    #[error("event payload of {0} bytes is shorter than a discriminator")]
    PayloadTooShort(usize),
    /// No event of the program has this discriminator.
    #[error("unknown event discriminator {0:02x?}")]
    UnknownDiscriminator([u8; 8]),
    /// The bytes after the discriminator are not a valid Borsh encoding of the event.
    #[error("invalid borsh for event {event}: {reason}")]
    InvalidBorsh {
        /// Name of the event whose layout was expected.
        event: &'static str,
        /// What borsh reported.
        reason: String,
    },
    /// A string is not one of an enum's documented values.
    #[error("invalid {kind} value {value:?}; expected one of: {expected}")]
    InvalidEnumValue {
        /// The enum's name.
        kind: &'static str,
        /// The rejected value.
        value: String,
        /// The accepted values, comma separated.
        expected: String,
    },
    /// A `getTransaction` answer lacks what decoding needs (logs, JSON message, valid keys).
    #[error("unusable transaction answer: {0}")]
    UnusableTransaction(String),
    /// A program id string is not a valid base58 public key.
    #[error("invalid program id {0:?}")]
    InvalidProgramId(String),
    /// A field of a Psy telemetry payload, job id or query value is out of its documented form.
    #[error("invalid `{field}`: {reason}")]
    InvalidField {
        /// The field's path in its payload (`worker_events[2].public_key`, `job_id`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// An [`Error::InvalidField`] naming `field`.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField { field: field.into(), reason: reason.into() }
    }
}

/// Result alias for the shared crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
