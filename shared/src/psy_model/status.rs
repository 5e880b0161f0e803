//! The real string enums of worker and user events — `WorkerEventStatus`, `WorkerEventSource`,
//! `UserEventTxType` (reference §2.1–§2.3) — their rendering in the API document's spelling and
//! the filter parsers that take both spellings.
//!
//! The document's enums are the ones in [`super::doc`] (`Pending`, `InProgress`, ...).
//! Where the document names a value the real model lacks, its meaning over the real values is a
//! judgement of ours, written on [`status_filter`] and [`tx_type_filter`].

use super::doc;
use super::macros::spelled_enum;
use crate::error::{Error, Result};

spelled_enum! {
    /// Status of a real worker event (SCREAMING_SNAKE_CASE in JSON, the database and queries).
    WorkerEventStatus {
        /// The job waits for a worker.
        Pending = "PENDING",
        /// A worker is proving the job (the document's `InProgress`).
        Processing = "PROCESSING",
        /// The proof was produced.
        Completed = "COMPLETED",
        /// The worker failed.
        Failed = "FAILED",
    }
}

spelled_enum! {
    /// Which node reported a worker event; required on ingest, not in the document.
    WorkerEventSource {
        /// The coordinator.
        Coordinator = "COORDINATOR",
        /// A realm node.
        Realm = "REALM",
    }
}

spelled_enum! {
    /// Kind of a real user event.
    UserEventTxType {
        /// A user registered.
        RegisterUser = "REGISTER_USER",
        /// A user deployed a contract.
        DeployContract = "DEPLOY_CONTRACT",
        /// A GUTA (global user tree aggregation) of users' transactions.
        Guta = "GUTA",
        /// The end cap of a user's transactions.
        UserEndCap = "USER_ENDCAP",
    }
}

impl WorkerEventStatus {
    /// The document's spelling: `PROCESSING` is `InProgress`, the others keep their word
    /// (`COMPLETED` is `Completed`). The document's `Cancelled` is never produced.
    pub fn doc(self) -> doc::WorkerEventStatus {
        match self {
            Self::Pending => doc::WorkerEventStatus::Pending,
            Self::Processing => doc::WorkerEventStatus::InProgress,
            Self::Completed => doc::WorkerEventStatus::Completed,
            Self::Failed => doc::WorkerEventStatus::Failed,
        }
    }
}

impl UserEventTxType {
    /// The document's spelling: `GUTA` and `USER_ENDCAP` are both `UserTransaction` (see
    /// [`tx_type_filter`]).
    pub fn doc(self) -> doc::UserEventTxType {
        match self {
            Self::RegisterUser => doc::UserEventTxType::RegisterUser,
            Self::DeployContract => doc::UserEventTxType::DeployContract,
            Self::Guta | Self::UserEndCap => doc::UserEventTxType::UserTransaction,
        }
    }

    /// The event's weight in `/ws/tps` in the real psy_services model (reference §2.3): GUTA
    /// counts 0, the other three count 1.
    pub fn tps_weight(self) -> u64 {
        match self {
            Self::Guta => 0,
            Self::RegisterUser | Self::DeployContract | Self::UserEndCap => 1,
        }
    }
}

/// The real statuses a `status` filter value matches.
///
/// Accepts the real spellings (`PENDING`, `PROCESSING`, `COMPLETED`, `FAILED`) and the document's
/// (`Pending`, `InProgress` = `PROCESSING`, `Completed`, `Failed`, `Cancelled`).
///
/// **`Cancelled`** (judgement): the real feed has no cancellation — a job nobody reports again
/// keeps its last status — so `Cancelled` is accepted, because the document lists it, and
/// matches no event (an empty set); no answer carries it.
pub fn status_filter(value: &str) -> Result<&'static [WorkerEventStatus]> {
    use WorkerEventStatus as S;
    if let Some(real) = S::from_real(value) {
        return Ok(match real {
            S::Pending => &[S::Pending],
            S::Processing => &[S::Processing],
            S::Completed => &[S::Completed],
            S::Failed => &[S::Failed],
        });
    }
    match value.parse::<doc::WorkerEventStatus>() {
        Ok(doc::WorkerEventStatus::Pending) => Ok(&[S::Pending]),
        Ok(doc::WorkerEventStatus::InProgress) => Ok(&[S::Processing]),
        Ok(doc::WorkerEventStatus::Completed) => Ok(&[S::Completed]),
        Ok(doc::WorkerEventStatus::Failed) => Ok(&[S::Failed]),
        Ok(doc::WorkerEventStatus::Cancelled) => Ok(&[]),
        Err(_) => Err(both_spellings(
            "WorkerEventStatus",
            value,
            &S::expected(),
            "Pending, InProgress, Completed, Failed, Cancelled",
        )),
    }
}

/// The real transaction types a `tx_type` filter value matches.
///
/// Accepts the real spellings (`REGISTER_USER`, `DEPLOY_CONTRACT`, `GUTA`, `USER_ENDCAP`) and
/// the document's (`RegisterUser`, `DeployContract`, `UserTransaction`).
///
/// **`UserTransaction`** (judgement): the document's one value for what a user does besides
/// registering and deploying. In the real feed those are `GUTA` (the aggregation of users'
/// transactions; the real example clients put transaction counts in its metadata) and
/// `USER_ENDCAP` (the end cap of one user's transactions), so `UserTransaction` matches both,
/// and both are answered as `UserTransaction` (see [`UserEventTxType::doc`]).
pub fn tx_type_filter(value: &str) -> Result<&'static [UserEventTxType]> {
    use UserEventTxType as T;
    if let Some(real) = T::from_real(value) {
        return Ok(match real {
            T::RegisterUser => &[T::RegisterUser],
            T::DeployContract => &[T::DeployContract],
            T::Guta => &[T::Guta],
            T::UserEndCap => &[T::UserEndCap],
        });
    }
    match value.parse::<doc::UserEventTxType>() {
        Ok(doc::UserEventTxType::RegisterUser) => Ok(&[T::RegisterUser]),
        Ok(doc::UserEventTxType::DeployContract) => Ok(&[T::DeployContract]),
        Ok(doc::UserEventTxType::UserTransaction) => Ok(&[T::Guta, T::UserEndCap]),
        Err(_) => Err(both_spellings(
            "UserEventTxType",
            value,
            &T::expected(),
            "RegisterUser, DeployContract, UserTransaction",
        )),
    }
}

/// The error of a filter value in neither spelling, listing both.
pub(crate) fn both_spellings(kind: &'static str, value: &str, real: &str, document: &str) -> Error {
    Error::InvalidEnumValue {
        kind,
        value: value.chars().take(64).collect(),
        expected: format!("{document} (or the real service's {real})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_spellings_are_the_reference_ones() {
        let statuses: Vec<String> =
            WorkerEventStatus::ALL.iter().map(|s| serde_json::to_string(s).unwrap_or_default()).collect();
        assert_eq!(statuses, ["\"PENDING\"", "\"PROCESSING\"", "\"COMPLETED\"", "\"FAILED\""]);
        let sources: Vec<&str> = WorkerEventSource::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(sources, ["COORDINATOR", "REALM"]);
        let txs: Vec<&str> = UserEventTxType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(txs, ["REGISTER_USER", "DEPLOY_CONTRACT", "GUTA", "USER_ENDCAP"]);
        assert_eq!(serde_json::from_str::<WorkerEventStatus>("\"COMPLETED\"").ok(), Some(WorkerEventStatus::Completed));
        // The real serde refuses the document's spelling in JSON; ours too (filters take both).
        assert!(serde_json::from_str::<WorkerEventStatus>("\"Completed\"").is_err());
        assert!(serde_json::from_str::<WorkerEventSource>("\"coordinator\"").is_err());
    }

    #[test]
    fn answers_use_the_document_spelling() {
        let doc: Vec<&str> = WorkerEventStatus::ALL.iter().map(|s| s.doc().as_str()).collect();
        assert_eq!(doc, ["Pending", "InProgress", "Completed", "Failed"]);
        let doc: Vec<&str> = UserEventTxType::ALL.iter().map(|t| t.doc().as_str()).collect();
        assert_eq!(doc, ["RegisterUser", "DeployContract", "UserTransaction", "UserTransaction"]);
    }

    #[test]
    fn status_filters_take_both_spellings() {
        use WorkerEventStatus as S;
        for (real, document, expected) in [
            ("PENDING", "Pending", S::Pending),
            ("PROCESSING", "InProgress", S::Processing),
            ("COMPLETED", "Completed", S::Completed),
            ("FAILED", "Failed", S::Failed),
        ] {
            assert_eq!(status_filter(real), Ok(&[expected][..]));
            assert_eq!(status_filter(document), status_filter(real));
        }
        assert_eq!(status_filter("Cancelled"), Ok(&[][..]));
        for bad in ["Processing", "completed", "CANCELLED", "", "IN_PROGRESS"] {
            assert!(status_filter(bad).is_err(), "{bad}");
        }
        let err = status_filter("done").map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(err.contains("Pending, InProgress") && err.contains("PENDING, PROCESSING"), "{err}");
    }

    #[test]
    fn tx_type_filters_take_both_spellings() {
        use UserEventTxType as T;
        assert_eq!(tx_type_filter("REGISTER_USER"), Ok(&[T::RegisterUser][..]));
        assert_eq!(tx_type_filter("RegisterUser"), tx_type_filter("REGISTER_USER"));
        assert_eq!(tx_type_filter("DeployContract"), Ok(&[T::DeployContract][..]));
        assert_eq!(tx_type_filter("DEPLOY_CONTRACT"), tx_type_filter("DeployContract"));
        assert_eq!(tx_type_filter("GUTA"), Ok(&[T::Guta][..]));
        assert_eq!(tx_type_filter("USER_ENDCAP"), Ok(&[T::UserEndCap][..]));
        assert_eq!(tx_type_filter("UserTransaction"), Ok(&[T::Guta, T::UserEndCap][..]));
        for bad in ["Guta", "register_user", "USER_TRANSACTION", ""] {
            assert!(tx_type_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tps_weights_follow_psy_services() {
        let weights: Vec<u64> = UserEventTxType::ALL.iter().map(|t| t.tps_weight()).collect();
        assert_eq!(weights, [1, 1, 0, 1]);
    }
}
