//! The DFPN status enums with exactly the string forms the API documents use, their mapping from
//! the on-chain ones, and the `status` filter's on-chain aliases (the Psy ones are
//! `psy_model::doc`).
//!
//! Each enum is Borsh-encoded on chain as its variant index (Anchor's layout), is written and
//! parsed as its variant name (`"Committed"`, `"InProgress"`, ...), and lists its values in `ALL`
//! so that error messages can name them.

use crate::error::Error;
use crate::event::dfpn;
use crate::string_enum::string_enum;

string_enum! {
    /// Status of a DFPN analysis request as the API document names it (see
    /// [`RequestStatus::from_chain`] for the mapping from the on-chain status).
    RequestStatus {
        /// Request submitted, awaiting worker commits.
        Created,
        /// At least one worker has committed a result hash.
        Committed,
        /// Workers have revealed their results.
        Revealed,
        /// Consensus reached, result is final.
        Finalized,
        /// Request cancelled by the requester.
        Cancelled,
        /// Deadline passed without sufficient results.
        Expired,
        /// Result is under dispute.
        Disputed,
    }
}

string_enum! {
    /// Status of a DFPN worker as the API document names it (the on-chain names, payload dropped).
    WorkerStatus {
        /// Accepting tasks.
        Active,
        /// Registered but not currently accepting tasks.
        Inactive,
        /// Stake withdrawal in progress.
        Unbonding,
        /// Penalized for misbehavior.
        Slashed,
    }
}

string_enum! {
    /// Status of a DFPN detection model as the API document names it (see
    /// [`ModelStatus::from_chain`]).
    ModelStatus {
        /// Available for use by workers.
        Active,
        /// Registered but disabled.
        Inactive,
        /// Superseded by a newer version.
        Deprecated,
    }
}

impl RequestStatus {
    /// The API status of a request in on-chain status `chain` with `commit_count` commits: an
    /// `Open` request is `Created` until its first commit, then `Committed`; `CommitClosed`
    /// (set by the first reveal) is `Revealed`; the other states keep their names.
    pub fn from_chain(chain: dfpn::RequestStatus, commit_count: u64) -> Self {
        match chain {
            dfpn::RequestStatus::Open if commit_count == 0 => Self::Created,
            dfpn::RequestStatus::Open => Self::Committed,
            dfpn::RequestStatus::CommitClosed => Self::Revealed,
            dfpn::RequestStatus::Finalized => Self::Finalized,
            dfpn::RequestStatus::Expired => Self::Expired,
            dfpn::RequestStatus::Cancelled => Self::Cancelled,
            dfpn::RequestStatus::Disputed => Self::Disputed,
        }
    }
}

impl WorkerStatus {
    /// The API status of an on-chain worker status: the same name, the unbonding payload dropped.
    pub fn from_chain(chain: dfpn::WorkerStatus) -> Self {
        match chain {
            dfpn::WorkerStatus::Active => Self::Active,
            dfpn::WorkerStatus::Inactive => Self::Inactive,
            dfpn::WorkerStatus::Slashed => Self::Slashed,
            dfpn::WorkerStatus::Unbonding { .. } => Self::Unbonding,
        }
    }
}

impl ModelStatus {
    /// The API status of an on-chain model status: `Pending` (registered or updated, not yet
    /// activated) and `Suspended` (disabled, can be reactivated) are `Inactive`; `Retired` is
    /// `Deprecated`, also after its account was closed by `withdraw_model_stake`.
    pub fn from_chain(chain: dfpn::ModelStatus) -> Self {
        match chain {
            dfpn::ModelStatus::Active => Self::Active,
            dfpn::ModelStatus::Pending | dfpn::ModelStatus::Suspended => Self::Inactive,
            dfpn::ModelStatus::Retired => Self::Deprecated,
        }
    }
}

/// A `status` filter value: one of the API document's names, or an on-chain name that the DFPN
/// project's own dashboard and worker send (an alias filtered on the on-chain status field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Match the API status field.
    Api(&'static str),
    /// Match the on-chain status field.
    Chain(&'static str),
}

impl StatusFilter {
    /// Parses a filter value against the API enum `A` first, then the on-chain enum `C`.
    pub fn parse<A, C>(value: &str) -> Result<Self, Error>
    where
        A: std::str::FromStr<Err = Error> + Copy + Into<&'static str>,
        C: std::str::FromStr<Err = Error> + Copy + Into<&'static str>,
    {
        match (value.parse::<A>(), value.parse::<C>()) {
            (Ok(api), _) => Ok(Self::Api(api.into())),
            (Err(_), Ok(chain)) => Ok(Self::Chain(chain.into())),
            (
                Err(Error::InvalidEnumValue { kind, value, expected }),
                Err(Error::InvalidEnumValue { expected: aliases, .. }),
            ) => Err(Error::InvalidEnumValue {
                kind,
                value,
                expected: format!("{expected} (or the on-chain {aliases})"),
            }),
            (Err(err), Err(_)) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip_and_errors_name_the_values() {
        for status in RequestStatus::ALL {
            assert_eq!(status.as_str().parse::<RequestStatus>(), Ok(*status));
        }
        let err = "committed".parse::<RequestStatus>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid RequestStatus value \"committed\"; expected one of: Created, Committed, Revealed, Finalized, Cancelled, Expired, Disputed"
        );
    }

    #[test]
    fn borsh_encodes_the_variant_index() {
        assert_eq!(borsh::to_vec(&dfpn::RequestStatus::Expired).unwrap(), vec![3]);
        assert_eq!(
            borsh::to_vec(&dfpn::WorkerStatus::Unbonding { unlock_slot: 9 }).unwrap(),
            vec![3, 9, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(borsh::from_slice::<dfpn::ModelStatus>(&[3]).unwrap(), dfpn::ModelStatus::Suspended);
        assert!(borsh::from_slice::<dfpn::ModelStatus>(&[4]).is_err());
    }

    #[test]
    fn status_filters_take_api_names_and_on_chain_aliases() {
        let request = |v| StatusFilter::parse::<RequestStatus, dfpn::RequestStatus>(v);
        assert_eq!(request("Committed"), Ok(StatusFilter::Api("Committed")));
        assert_eq!(request("Finalized"), Ok(StatusFilter::Api("Finalized")));
        assert_eq!(request("Open"), Ok(StatusFilter::Chain("Open")));
        assert_eq!(request("CommitClosed"), Ok(StatusFilter::Chain("CommitClosed")));
        let model = |v| StatusFilter::parse::<ModelStatus, dfpn::ModelStatus>(v);
        assert_eq!(model("Pending"), Ok(StatusFilter::Chain("Pending")));
        assert_eq!(model("Retired"), Ok(StatusFilter::Chain("Retired")));
        assert_eq!(model("Suspended"), Ok(StatusFilter::Chain("Suspended")));
        let err = model("paused").unwrap_err().to_string();
        assert!(
            err.contains("Active, Inactive, Deprecated (or the on-chain Pending, Active, Retired, Suspended)"),
            "{err}"
        );
    }

    #[test]
    fn chain_statuses_map_to_the_documented_strings() {
        use dfpn::RequestStatus as Chain;
        assert_eq!(RequestStatus::from_chain(Chain::Open, 0), RequestStatus::Created);
        assert_eq!(RequestStatus::from_chain(Chain::Open, 2), RequestStatus::Committed);
        assert_eq!(RequestStatus::from_chain(Chain::CommitClosed, 2), RequestStatus::Revealed);
        assert_eq!(ModelStatus::from_chain(dfpn::ModelStatus::Pending), ModelStatus::Inactive);
        assert_eq!(ModelStatus::from_chain(dfpn::ModelStatus::Suspended), ModelStatus::Inactive);
        assert_eq!(ModelStatus::from_chain(dfpn::ModelStatus::Retired), ModelStatus::Deprecated);
        assert_eq!(WorkerStatus::from_chain(dfpn::WorkerStatus::Unbonding { unlock_slot: 5 }), WorkerStatus::Unbonding);
    }
}
