//! Status and kind enums with exactly the string forms the API documents use.
//!
//! Each enum is Borsh-encoded on chain as its variant index (Anchor's layout), is written and
//! parsed as its variant name (`"Committed"`, `"InProgress"`, ...), and lists its values in `ALL`
//! so that error messages can name them.

use anchor_lang::prelude::{AnchorDeserialize, AnchorSerialize};
use serde_json::{json, Value};

use crate::error::Error;
use crate::field::{EventField, IdlDefinedType};

macro_rules! string_enum {
    ($(#[doc = $doc:literal])* $name:ident { $($(#[doc = $vdoc:literal])* $variant:ident),* $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(AnchorSerialize, AnchorDeserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant),*
        }

        impl $name {
            /// Every value, in declaration (and Borsh index) order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The documented string form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),* }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(value: &str) -> Result<Self, Error> {
                match value {
                    $(stringify!($variant) => Ok($name::$variant),)*
                    _ => Err(Error::InvalidEnumValue {
                        kind: stringify!($name),
                        value: value.to_owned(),
                        expected: [$(stringify!($variant)),*].join(", "),
                    }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <String as serde::Deserialize>::deserialize(deserializer)?;
                value.parse().map_err(serde::de::Error::custom)
            }
        }

        impl EventField for $name {
            fn idl_type() -> Value {
                json!({ "defined": { "name": stringify!($name) } })
            }
            fn to_json(&self) -> Value {
                json!(self.as_str())
            }
        }

        impl IdlDefinedType for $name {
            fn idl_definition() -> Value {
                json!({
                    "name": stringify!($name),
                    "docs": $crate::field::trim_docs(&[$($doc),*]),
                    "type": { "kind": "enum", "variants": [$(json!({ "name": stringify!($variant) })),*] }
                })
            }
        }
    };
}

string_enum! {
    /// Lifecycle status of a DFPN analysis request.
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
    /// Status of a DFPN worker.
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
    /// Status of a DFPN detection model.
    ModelStatus {
        /// Available for use by workers.
        Active,
        /// Registered but disabled.
        Inactive,
        /// Superseded by a newer version.
        Deprecated,
    }
}

string_enum! {
    /// Status carried by a Psy proving-job worker event.
    WorkerEventStatus {
        /// The job exists and waits for a worker.
        Pending,
        /// A worker is proving the job.
        InProgress,
        /// The proof was produced.
        Completed,
        /// The worker failed to produce the proof.
        Failed,
        /// The job was withdrawn before completion.
        Cancelled,
    }
}

string_enum! {
    /// Kind of a Psy user event.
    UserEventTxType {
        /// A user registered.
        RegisterUser,
        /// A user deployed a contract.
        DeployContract,
        /// A user called a contract function.
        UserTransaction,
    }
}

string_enum! {
    /// Job category filter of `/worker_events`; each circuit type belongs to one category.
    JobFilterCategory {
        /// Every job.
        All,
        /// Jobs proving user registrations.
        UserRegistration,
        /// Jobs proving contract deployments.
        ContractDeployment,
        /// Jobs proving contract executions.
        ContractExecution,
        /// Aggregation and state maintenance jobs.
        Maintenance,
    }
}

string_enum! {
    /// Circuit proven by a Psy proving job.
    ProvingJobCircuitType {
        /// Proves a user registration.
        UserRegistration,
        /// Proves a contract deployment.
        ContractDeployment,
        /// Proves a contract function call.
        ContractExecution,
        /// Aggregates proofs of one checkpoint.
        CheckpointAggregation,
        /// Updates the global state tree.
        StateTreeUpdate,
        /// Proves a realm's block.
        RealmBlock,
    }
}

impl ProvingJobCircuitType {
    /// The job category this circuit type is filtered under.
    pub fn category(self) -> JobFilterCategory {
        match self {
            Self::UserRegistration => JobFilterCategory::UserRegistration,
            Self::ContractDeployment => JobFilterCategory::ContractDeployment,
            Self::ContractExecution => JobFilterCategory::ContractExecution,
            Self::CheckpointAggregation | Self::StateTreeUpdate | Self::RealmBlock => JobFilterCategory::Maintenance,
        }
    }
}

impl JobFilterCategory {
    /// Whether a job of this circuit type passes the filter.
    pub fn matches(self, circuit_type: ProvingJobCircuitType) -> bool {
        self == Self::All || circuit_type.category() == self
    }
}

string_enum! {
    /// Queue topic a Psy proving job was published on.
    QJobTopic {
        /// A leaf proof of one user action.
        GenerateStandardProof,
        /// A recursive proof over other proofs.
        GenerateRecursiveProof,
        /// Aggregation of a checkpoint's proofs.
        AggregateProofs,
        /// Verification of a submitted proof.
        VerifyProof,
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
        assert_eq!(serde_json::to_string(&WorkerEventStatus::InProgress).unwrap(), "\"InProgress\"");
    }

    #[test]
    fn borsh_encodes_the_variant_index() {
        assert_eq!(borsh::to_vec(&WorkerStatus::Unbonding).unwrap(), vec![2]);
        assert_eq!(borsh::from_slice::<ModelStatus>(&[2]).unwrap(), ModelStatus::Deprecated);
        assert!(borsh::from_slice::<ModelStatus>(&[3]).is_err());
    }

    #[test]
    fn categories_cover_every_circuit_type() {
        for circuit in ProvingJobCircuitType::ALL {
            assert!(JobFilterCategory::All.matches(*circuit));
            assert!(circuit.category().matches(*circuit));
        }
        assert!(!JobFilterCategory::Maintenance.matches(ProvingJobCircuitType::UserRegistration));
    }
}
