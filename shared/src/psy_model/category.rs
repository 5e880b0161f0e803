//! The `category` filter of `/worker_events`: the real `JobFilterCategory` (`all`,
//! `reward_only`; reference §2.4) beside the API document's five categories, each defined over
//! the real circuit types.

use super::doc;
use super::job_enums::ProvingJobCircuitType as C;
use super::macros::spelled_enum;
use super::status::{both_spellings, WorkerEventStatus};
use crate::error::Result;

spelled_enum! {
    /// The real job category filter (serde snake_case).
    JobFilterCategory {
        /// Every job (the default).
        All = "all",
        /// Completed GUTA jobs, the ones the real reward models pay.
        RewardOnly = "reward_only",
    }
}

/// What a `category` value selects: a set of circuit types and a status, each when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryFilter {
    /// Only jobs of these circuit types; `None` is any.
    pub circuit_types: Option<&'static [C]>,
    /// Only events of this status; `None` is any.
    pub status: Option<WorkerEventStatus>,
}

impl CategoryFilter {
    /// No condition.
    pub const ANY: Self = Self { circuit_types: None, status: None };

    /// Whether an event of `circuit` in `status` passes.
    pub fn matches(&self, circuit: C, status: WorkerEventStatus) -> bool {
        self.circuit_types.is_none_or(|set| set.contains(&circuit)) && self.status.is_none_or(|s| s == status)
    }
}

/// The document's `UserRegistration` category: the circuits that append to the user
/// registration tree, their aggregate and its dummy.
pub const USER_REGISTRATION: &[C] = &[
    C::AppendUserRegistrationTree,
    C::AppendUserRegistrationTreeAggregate,
    C::DummyAppendUserRegistrationTreeAggregate,
];

/// The document's `ContractDeployment` category: batch contract deployment, its aggregate and
/// its dummy.
pub const CONTRACT_DEPLOYMENT: &[C] =
    &[C::BatchDeployContracts, C::BatchDeployContractsAggregate, C::DummyBatchDeployContractsAggregate];

/// The document's `ContractExecution` category: the proofs of users' own transactions — the
/// user end cap and the user signature proofs.
pub const CONTRACT_EXECUTION: &[C] = &[C::UserEndCap, C::WrappedSignatureProof, C::Secp256K1SignatureProof];

/// The document's category of a circuit type (judgement; every circuit type is in exactly one).
///
/// `UserRegistration`, `ContractDeployment` and `ContractExecution` are the lists above; every
/// other circuit type is `Maintenance`: the L1 deposit and withdrawal bridge, the GUTA
/// aggregations (also those that fold registrations or deployments in, such as
/// `GUTARegisterUsers` and `AggUserRegisterDeployContractsGUTA`: they aggregate, they do not
/// register), the rollup and sig-hash proofs, the other dummies, notifications, `TypeA`–`TypeF`,
/// `Invalid` and `Unknown`. So the real `reward_only` jobs are all `Maintenance`.
pub fn doc_category(circuit: C) -> doc::JobFilterCategory {
    if USER_REGISTRATION.contains(&circuit) {
        doc::JobFilterCategory::UserRegistration
    } else if CONTRACT_DEPLOYMENT.contains(&circuit) {
        doc::JobFilterCategory::ContractDeployment
    } else if CONTRACT_EXECUTION.contains(&circuit) {
        doc::JobFilterCategory::ContractExecution
    } else {
        doc::JobFilterCategory::Maintenance
    }
}

/// Every circuit type of the document's `Maintenance` category.
pub fn maintenance() -> &'static [C] {
    static MAINTENANCE: std::sync::OnceLock<Vec<C>> = std::sync::OnceLock::new();
    MAINTENANCE.get_or_init(|| {
        C::ALL.iter().copied().filter(|c| doc_category(*c) == doc::JobFilterCategory::Maintenance).collect()
    })
}

/// What a `category` value selects.
///
/// Accepts the real spellings (`all`, `reward_only`) and the document's (`All`,
/// `UserRegistration`, `ContractDeployment`, `ContractExecution`, `Maintenance`). `all` and `All`
/// add no condition; `reward_only` is the real rule — the GUTA circuit types and status
/// `COMPLETED`; each of the document's other four is its circuit types ([`doc_category`]), any
/// status.
pub fn category_filter(value: &str) -> Result<CategoryFilter> {
    if let Some(real) = JobFilterCategory::from_real(value) {
        return Ok(match real {
            JobFilterCategory::All => CategoryFilter::ANY,
            JobFilterCategory::RewardOnly => {
                CategoryFilter { circuit_types: Some(C::GUTA), status: Some(WorkerEventStatus::Completed) }
            }
        });
    }
    let only = |set| Ok(CategoryFilter { circuit_types: Some(set), status: None });
    match value.parse::<doc::JobFilterCategory>() {
        Ok(doc::JobFilterCategory::All) => Ok(CategoryFilter::ANY),
        Ok(doc::JobFilterCategory::UserRegistration) => only(USER_REGISTRATION),
        Ok(doc::JobFilterCategory::ContractDeployment) => only(CONTRACT_DEPLOYMENT),
        Ok(doc::JobFilterCategory::ContractExecution) => only(CONTRACT_EXECUTION),
        Ok(doc::JobFilterCategory::Maintenance) => only(maintenance()),
        Err(_) => Err(both_spellings(
            "JobFilterCategory",
            value,
            &JobFilterCategory::expected(),
            "All, UserRegistration, ContractDeployment, ContractExecution, Maintenance",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(set: Option<&[C]>) -> Vec<u8> {
        set.unwrap_or_default().iter().map(|c| c.value()).collect()
    }

    #[test]
    fn reward_only_is_the_real_condition() {
        let filter = category_filter("reward_only").unwrap_or(CategoryFilter::ANY);
        assert_eq!(numbers(filter.circuit_types), vec![7, 8, 9, 10, 11, 12, 13, 14, 15, 55, 56]);
        assert_eq!(filter.status, Some(WorkerEventStatus::Completed));
        assert!(filter.matches(C::GUTANoChange, WorkerEventStatus::Completed));
        assert!(!filter.matches(C::GUTANoChange, WorkerEventStatus::Failed));
        assert!(!filter.matches(C::UserEndCap, WorkerEventStatus::Completed));
        assert!(category_filter("RewardOnly").is_err());
        assert!(category_filter("REWARD_ONLY").is_err());
    }

    #[test]
    fn all_in_either_spelling_adds_nothing() {
        assert_eq!(category_filter("all"), Ok(CategoryFilter::ANY));
        assert_eq!(category_filter("All"), Ok(CategoryFilter::ANY));
        assert!(CategoryFilter::ANY.matches(C::Unknown, WorkerEventStatus::Pending));
    }

    #[test]
    fn document_categories_partition_the_circuit_types() {
        let sets = ["UserRegistration", "ContractDeployment", "ContractExecution", "Maintenance"]
            .map(|name| category_filter(name).map(|f| numbers(f.circuit_types)).unwrap_or_default());
        assert_eq!(sets[0], vec![0, 1, 48]);
        assert_eq!(sets[1], vec![18, 19, 54]);
        assert_eq!(sets[2], vec![6, 64, 65]);
        let total: usize = sets.iter().map(Vec::len).sum();
        assert_eq!(total, C::ALL.len());
        for circuit in C::ALL {
            let hits = sets.iter().filter(|set| set.contains(&circuit.value())).count();
            assert_eq!(hits, 1, "{circuit}");
        }
        for guta in C::GUTA {
            assert_eq!(doc_category(*guta), doc::JobFilterCategory::Maintenance);
        }
        assert!(category_filter("Other").is_err());
    }
}
