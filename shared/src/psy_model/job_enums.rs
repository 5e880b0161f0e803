//! The numeric job enums of the real Psy model: `QJobTopic`, `ProvingJobDataType` and
//! `ProvingJobCircuitType` (reference §2.5), with their fixed numbers.
//!
//! JSON and Borsh carry the number; query values are the number or the name; answers in the API
//! document's form write the name (the document shows `circuit_type` as a name). Circuit type
//! names are the `psy_core` names the reference lists first (`AddL1Deposit`); the `psy_common`
//! names the real service imports (`AddDeposit`, the "L1" dropped) are accepted as well.

use super::macros::numeric_enum;

numeric_enum! {
    /// Queue topic a proving job is published on (`psy_core` `QJobTopic`).
    QJobTopic {
        /// A standard (Plonky2) proof.
        GenerateStandardProof = 0,
        /// A Groth16 proof.
        GenerateGroth16Proof = 1,
        /// A proof over a block's user signatures.
        BlockUserSignatureProof = 2,
        /// A notification that the coordinator's work completed.
        NotifyCoordinatorComplete = 3,
        /// A notification that a realm's work completed.
        NotifyRealmComplete = 4,
        /// An aggregation of other jobs.
        AggregateJobs = 5,
        /// The invalid marker of one unplaced version (reference §2.5).
        Invalid = 254,
    }
}

numeric_enum! {
    /// What a job's data item is (`psy_core` `ProvingJobDataType`).
    ProvingJobDataType {
        /// The input witness.
        InputWitness = 0,
        /// A proof given as input.
        BaseInputProof = 1,
        /// The proof the job outputs.
        OutputProof = 8,
        /// A counter.
        Counter = 16,
    }
}

numeric_enum! {
    /// Circuit a proving job proves (`psy_core` `ProvingJobCircuitType`).
    ProvingJobCircuitType {
        /// Appends to the user registration tree.
        AppendUserRegistrationTree = 0,
        /// Aggregates user registration tree appends.
        AppendUserRegistrationTreeAggregate = 1,
        /// Adds an L1 deposit.
        AddL1Deposit = 2 | "AddDeposit",
        /// Aggregates L1 deposit additions.
        AddL1DepositAggregate = 3 | "AddDepositAggregate",
        /// Claims an L1 deposit.
        ClaimL1Deposit = 4 | "ClaimDeposit",
        /// Aggregates L1 deposit claims.
        ClaimL1DepositAggregate = 5 | "ClaimDepositAggregate",
        /// The end cap of a user's transactions.
        UserEndCap = 6,
        /// GUTA over two end caps.
        GUTATwoEndCap = 7,
        /// GUTA over two GUTAs.
        GUTATwoGUTA = 8,
        /// GUTA with an end cap left and a GUTA right.
        GUTALeftEndCapRightGUTA = 9,
        /// GUTA with a GUTA left and an end cap right.
        GUTALeftGUTARightEndCap = 10,
        /// GUTA over a single end cap.
        GUTASingleEndCap = 11,
        /// GUTA registering users.
        GUTARegisterUsers = 12,
        /// GUTA verified up to the cap.
        GUTAVerifyToCap = 13,
        /// GUTA that only registers users.
        GUTAOnlyRegisterUsers = 14,
        /// GUTA with no change.
        GUTANoChange = 15,
        /// Adds an L1 withdrawal.
        AddL1Withdrawal = 16 | "AddWithdrawal",
        /// Aggregates L1 withdrawal additions.
        AddL1WithdrawalAggregate = 17 | "AddWithdrawalAggregate",
        /// Deploys a batch of contracts.
        BatchDeployContracts = 18,
        /// Aggregates contract batch deployments.
        BatchDeployContractsAggregate = 19,
        /// Processes an L1 withdrawal.
        ProcessL1Withdrawal = 20 | "ProcessWithdrawal",
        /// Aggregates L1 withdrawal processing.
        ProcessL1WithdrawalAggregate = 21 | "ProcessWithdrawalAggregate",
        /// The rollup's state transition proof.
        GenerateRollupStateTransitionProof = 32,
        /// The sig-hash introspection proof.
        GenerateSigHashIntrospectionProof = 33,
        /// The final sig-hash proof.
        GenerateFinalSigHashProof = 34,
        /// The final sig-hash proof in Groth16.
        GenerateFinalSigHashProofGroth16 = 35,
        /// Wraps the final sig-hash proof over BLS12-381.
        WrapFinalSigHashProofBLS12381 = 36,
        /// Aggregates user registration, contract deployment and GUTA.
        AggUserRegisterDeployContractsGUTA = 40,
        /// Aggregates withdrawal addition and processing with deposit addition.
        AggAddProcessL1WithdrawalAddL1Deposit = 41 | "AggAddProcessWithdrawalAddDeposit",
        /// Dummy user registration tree aggregate.
        DummyAppendUserRegistrationTreeAggregate = 48,
        /// Dummy deposit addition aggregate.
        DummyAddL1DepositAggregate = 49,
        /// Dummy deposit claim aggregate.
        DummyClaimL1DepositAggregate = 50,
        /// Dummy GUTA.
        DummyGUTA = 51,
        /// Dummy withdrawal addition aggregate.
        DummyAddL1WithdrawalAggregate = 52,
        /// Dummy withdrawal processing aggregate.
        DummyProcessL1WithdrawalAggregate = 53,
        /// Dummy contract deployment aggregate.
        DummyBatchDeployContractsAggregate = 54,
        /// GUTA over two GUTAs with a checkpoint upgrade.
        GUTATwoGUTAWithCheckpointUpgrade = 55,
        /// GUTA verified to the cap with a checkpoint upgrade.
        GUTAVerifyToCapWithCheckpointUpgrade = 56,
        /// A realm's final GUTA (only in the `AddDeposit`-named version).
        RealmFinalizeGUTA = 63,
        /// A wrapped signature proof.
        WrappedSignatureProof = 64,
        /// A secp256k1 signature proof.
        Secp256K1SignatureProof = 65,
        /// A realm-complete notification.
        NotifyRealmComplete = 192,
        /// Generic type A.
        TypeA = 224,
        /// Generic type B.
        TypeB = 225,
        /// Generic type C.
        TypeC = 226,
        /// Generic type D.
        TypeD = 227,
        /// Generic type E.
        TypeE = 228,
        /// Generic type F.
        TypeF = 229,
        /// The invalid marker of one unplaced version (reference §2.5).
        Invalid = 254,
        /// Unknown circuit.
        Unknown = 255,
    }
}

impl ProvingJobCircuitType {
    /// The GUTA circuit types: the real `reward_only` category's list
    /// `circuit_type IN (7,8,9,10,11,12,13,14,15,55,56)` (reference §2.4).
    pub const GUTA: &'static [ProvingJobCircuitType] = &[
        Self::GUTATwoEndCap,
        Self::GUTATwoGUTA,
        Self::GUTALeftEndCapRightGUTA,
        Self::GUTALeftGUTARightEndCap,
        Self::GUTASingleEndCap,
        Self::GUTARegisterUsers,
        Self::GUTAVerifyToCap,
        Self::GUTAOnlyRegisterUsers,
        Self::GUTANoChange,
        Self::GUTATwoGUTAWithCheckpointUpgrade,
        Self::GUTAVerifyToCapWithCheckpointUpgrade,
    ];

    /// Whether this is a GUTA circuit type (one of [`Self::GUTA`]).
    pub fn is_guta(self) -> bool {
        Self::GUTA.contains(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's §2.5 circuit table, copied by hand: number, psy_core name, psy_common name.
    const CIRCUITS: &[(u8, &str, Option<&str>)] = &[
        (0, "AppendUserRegistrationTree", None),
        (1, "AppendUserRegistrationTreeAggregate", None),
        (2, "AddL1Deposit", Some("AddDeposit")),
        (3, "AddL1DepositAggregate", Some("AddDepositAggregate")),
        (4, "ClaimL1Deposit", Some("ClaimDeposit")),
        (5, "ClaimL1DepositAggregate", Some("ClaimDepositAggregate")),
        (6, "UserEndCap", None),
        (7, "GUTATwoEndCap", None),
        (8, "GUTATwoGUTA", None),
        (9, "GUTALeftEndCapRightGUTA", None),
        (10, "GUTALeftGUTARightEndCap", None),
        (11, "GUTASingleEndCap", None),
        (12, "GUTARegisterUsers", None),
        (13, "GUTAVerifyToCap", None),
        (14, "GUTAOnlyRegisterUsers", None),
        (15, "GUTANoChange", None),
        (16, "AddL1Withdrawal", Some("AddWithdrawal")),
        (17, "AddL1WithdrawalAggregate", Some("AddWithdrawalAggregate")),
        (18, "BatchDeployContracts", None),
        (19, "BatchDeployContractsAggregate", None),
        (20, "ProcessL1Withdrawal", Some("ProcessWithdrawal")),
        (21, "ProcessL1WithdrawalAggregate", Some("ProcessWithdrawalAggregate")),
        (32, "GenerateRollupStateTransitionProof", None),
        (33, "GenerateSigHashIntrospectionProof", None),
        (34, "GenerateFinalSigHashProof", None),
        (35, "GenerateFinalSigHashProofGroth16", None),
        (36, "WrapFinalSigHashProofBLS12381", None),
        (40, "AggUserRegisterDeployContractsGUTA", None),
        (41, "AggAddProcessL1WithdrawalAddL1Deposit", Some("AggAddProcessWithdrawalAddDeposit")),
        (48, "DummyAppendUserRegistrationTreeAggregate", None),
        (49, "DummyAddL1DepositAggregate", None),
        (50, "DummyClaimL1DepositAggregate", None),
        (51, "DummyGUTA", None),
        (52, "DummyAddL1WithdrawalAggregate", None),
        (53, "DummyProcessL1WithdrawalAggregate", None),
        (54, "DummyBatchDeployContractsAggregate", None),
        (55, "GUTATwoGUTAWithCheckpointUpgrade", None),
        (56, "GUTAVerifyToCapWithCheckpointUpgrade", None),
        (63, "RealmFinalizeGUTA", None),
        (64, "WrappedSignatureProof", None),
        (65, "Secp256K1SignatureProof", None),
        (192, "NotifyRealmComplete", None),
        (224, "TypeA", None),
        (225, "TypeB", None),
        (226, "TypeC", None),
        (227, "TypeD", None),
        (228, "TypeE", None),
        (229, "TypeF", None),
        (254, "Invalid", None),
        (255, "Unknown", None),
    ];

    #[test]
    fn circuit_types_have_the_reference_numbers_and_names() {
        assert_eq!(ProvingJobCircuitType::ALL.len(), CIRCUITS.len());
        for &(number, name, other) in CIRCUITS {
            let circuit = ProvingJobCircuitType::from_value(number);
            assert_eq!(circuit.map(ProvingJobCircuitType::name), Some(name), "{number}");
            assert_eq!(name.parse::<ProvingJobCircuitType>().ok(), circuit, "{name}");
            assert_eq!(number.to_string().parse::<ProvingJobCircuitType>().ok(), circuit, "{number}");
            if let Some(other) = other {
                assert_eq!(other.parse::<ProvingJobCircuitType>().ok(), circuit, "{other}");
            }
            let json = circuit.map(|c| serde_json::to_string(&c).unwrap_or_default());
            assert_eq!(json, Some(number.to_string()));
            assert_eq!(circuit.map(|c| borsh::to_vec(&c).unwrap_or_default()), Some(vec![number]));
        }
        for gap in [22u8, 31, 37, 42, 57, 62, 66, 191, 193, 230, 253] {
            assert_eq!(ProvingJobCircuitType::from_value(gap), None, "{gap}");
            assert!(borsh::from_slice::<ProvingJobCircuitType>(&[gap]).is_err());
            assert!(serde_json::from_str::<ProvingJobCircuitType>(&gap.to_string()).is_err());
        }
    }

    #[test]
    fn guta_list_is_the_reward_only_list() {
        let numbers: Vec<u8> = ProvingJobCircuitType::GUTA.iter().map(|c| c.value()).collect();
        assert_eq!(numbers, vec![7, 8, 9, 10, 11, 12, 13, 14, 15, 55, 56]);
        assert!(!ProvingJobCircuitType::DummyGUTA.is_guta());
        assert!(!ProvingJobCircuitType::AggUserRegisterDeployContractsGUTA.is_guta());
    }

    #[test]
    fn topics_and_data_types_have_the_reference_numbers() {
        let topics = [
            (0u8, "GenerateStandardProof"),
            (1, "GenerateGroth16Proof"),
            (2, "BlockUserSignatureProof"),
            (3, "NotifyCoordinatorComplete"),
            (4, "NotifyRealmComplete"),
            (5, "AggregateJobs"),
            (254, "Invalid"),
        ];
        assert_eq!(QJobTopic::ALL.len(), topics.len());
        for (number, name) in topics {
            assert_eq!(QJobTopic::from_value(number).map(QJobTopic::name), Some(name));
            assert_eq!(name.parse::<QJobTopic>().map(QJobTopic::value), Ok(number));
        }
        let data = [(0u8, "InputWitness"), (1, "BaseInputProof"), (8, "OutputProof"), (16, "Counter")];
        assert_eq!(ProvingJobDataType::ALL.len(), data.len());
        for (number, name) in data {
            assert_eq!(ProvingJobDataType::from_value(number).map(ProvingJobDataType::name), Some(name));
        }
        assert_eq!(QJobTopic::from_value(6), None);
    }

    #[test]
    fn query_values_take_numbers_or_names_only() {
        assert_eq!("7".parse::<ProvingJobCircuitType>(), Ok(ProvingJobCircuitType::GUTATwoEndCap));
        assert_eq!(
            serde_json::from_str::<ProvingJobCircuitType>("\"7\"").ok(),
            Some(ProvingJobCircuitType::GUTATwoEndCap)
        );
        assert_eq!(
            serde_json::from_str::<ProvingJobCircuitType>("\"UserEndCap\"").ok(),
            Some(ProvingJobCircuitType::UserEndCap)
        );
        for bad in ["", "+7", "07x", "256", "-1", "userendcap", "UserRegistration", "7 "] {
            assert!(bad.parse::<ProvingJobCircuitType>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<ProvingJobCircuitType>("300").is_err());
        assert!(serde_json::from_str::<ProvingJobCircuitType>("-1").is_err());
        let err = "9000".parse::<QJobTopic>().map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(err.contains("0 GenerateStandardProof, 1 GenerateGroth16Proof"), "{err}");
    }
}
