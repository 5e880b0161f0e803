//! The indexed programs: which program a log line belongs to and which ids are configured.
//!
//! DFPN's chain side is five Anchor programs of the public `cryptuon/dfpn` repository, each at
//! its own id; Psy is one program. Every id is configurable; the defaults are the DFPN programs'
//! real ids (`declare_id!` in each program) and the fixture chain's Psy id.

use std::collections::HashMap;
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which indexed program an event or instruction comes from.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ProgramKind {
    /// DFPN `analysis_marketplace`: analysis requests, commits, reveals, disputes.
    AnalysisMarketplace,
    /// DFPN `worker_registry`: workers, stake, reputation.
    WorkerRegistry,
    /// DFPN `model_registry`: detection models.
    ModelRegistry,
    /// DFPN `content_registry`: content records and provenance claims.
    ContentRegistry,
    /// DFPN `rewards`: treasury, epochs, reward accounts.
    Rewards,
    /// The Psy program (worker and user events, checkpoint leaves, contract reports).
    Psy,
}

impl ProgramKind {
    /// Every program.
    pub const ALL: [ProgramKind; 6] = [
        ProgramKind::AnalysisMarketplace,
        ProgramKind::WorkerRegistry,
        ProgramKind::ModelRegistry,
        ProgramKind::ContentRegistry,
        ProgramKind::Rewards,
        ProgramKind::Psy,
    ];

    /// The five DFPN programs.
    pub const DFPN: [ProgramKind; 5] = [
        ProgramKind::AnalysisMarketplace,
        ProgramKind::WorkerRegistry,
        ProgramKind::ModelRegistry,
        ProgramKind::ContentRegistry,
        ProgramKind::Rewards,
    ];

    /// The snake_case name (the Anchor module name) used in configuration, IDL files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgramKind::AnalysisMarketplace => "analysis_marketplace",
            ProgramKind::WorkerRegistry => "worker_registry",
            ProgramKind::ModelRegistry => "model_registry",
            ProgramKind::ContentRegistry => "content_registry",
            ProgramKind::Rewards => "rewards",
            ProgramKind::Psy => "psy",
        }
    }

    /// Whether this is one of the DFPN programs.
    pub fn is_dfpn(self) -> bool {
        self != ProgramKind::Psy
    }

    /// The default id: the DFPN programs' real ids, the fixture chain's Psy id.
    pub fn default_id(self) -> Pubkey {
        match self {
            ProgramKind::AnalysisMarketplace => Pubkey::from_str_const("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"),
            ProgramKind::WorkerRegistry => Pubkey::from_str_const("HmbTLCmaGvZhKnn1Zfa1JVnp7vkMV4DYVxPLWBVoN65L"),
            ProgramKind::ModelRegistry => Pubkey::from_str_const("Fg6PaFpoGXkYsidMpWTK6W2BeZ7FEfcYkg476zPFsLnS"),
            ProgramKind::ContentRegistry => Pubkey::from_str_const("GokivDYuQXPZCWRkwMhdH2h91KpDQXBEmpgBgs55bnpH"),
            ProgramKind::Rewards => Pubkey::from_str_const("4uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofM"),
            ProgramKind::Psy => Pubkey::from_str_const("DRkbSHnQBE5pjSP6BhTorUfWV96ynVFJPxpVuBtR59eP"),
        }
    }

    /// The environment variable that configures this program's id.
    pub fn env_var(self) -> &'static str {
        match self {
            ProgramKind::AnalysisMarketplace => "DFPN_MARKETPLACE_PROGRAM_ID",
            ProgramKind::WorkerRegistry => "DFPN_WORKER_REGISTRY_PROGRAM_ID",
            ProgramKind::ModelRegistry => "DFPN_MODEL_REGISTRY_PROGRAM_ID",
            ProgramKind::ContentRegistry => "DFPN_CONTENT_REGISTRY_PROGRAM_ID",
            ProgramKind::Rewards => "DFPN_REWARDS_PROGRAM_ID",
            ProgramKind::Psy => "PSY_PROGRAM_ID",
        }
    }
}

/// The configured program ids, looked up by the id string found in log lines.
#[derive(Debug, Clone)]
pub struct ProgramSet {
    by_id: HashMap<String, ProgramKind>,
    ids: Vec<(ProgramKind, Pubkey)>,
}

impl ProgramSet {
    /// Builds a set from `(kind, id)` pairs.
    pub fn new(programs: impl IntoIterator<Item = (ProgramKind, Pubkey)>) -> Self {
        let ids: Vec<_> = programs.into_iter().collect();
        let by_id = ids.iter().map(|(kind, id)| (id.to_string(), *kind)).collect();
        Self { by_id, ids }
    }

    /// Builds a set from base58 id strings, rejecting invalid keys and ids given twice.
    pub fn parse<'a>(programs: impl IntoIterator<Item = (ProgramKind, &'a str)>) -> Result<Self> {
        let mut ids = Vec::new();
        for (kind, text) in programs {
            let id = Pubkey::from_str(text).map_err(|_| Error::InvalidProgramId(text.to_owned()))?;
            if ids.iter().any(|(_, other)| *other == id) {
                return Err(Error::InvalidProgramId(format!("{text} is configured for two programs")));
            }
            ids.push((kind, id));
        }
        Ok(Self::new(ids))
    }

    /// Every program at its default id.
    pub fn defaults() -> Self {
        Self::new(ProgramKind::ALL.map(|kind| (kind, kind.default_id())))
    }

    /// The program kind deployed at `id`, if it is configured.
    pub fn kind_of(&self, id: &str) -> Option<ProgramKind> {
        self.by_id.get(id).copied()
    }

    /// The id of a program kind, if configured.
    pub fn id_of(&self, kind: ProgramKind) -> Option<Pubkey> {
        self.ids.iter().find(|(k, _)| *k == kind).map(|(_, id)| *id)
    }

    /// The id of a program kind, its default when not configured.
    pub fn id_or_default(&self, kind: ProgramKind) -> Pubkey {
        self.id_of(kind).unwrap_or_else(|| kind.default_id())
    }

    /// Every configured `(kind, id)` pair.
    pub fn iter(&self) -> impl Iterator<Item = (ProgramKind, Pubkey)> + '_ {
        self.ids.iter().copied()
    }
}

/// The `--<program>-program-id` flags (with their environment variables) of every binary that
/// talks to the chain, defaulting to the real ids.
#[derive(Debug, Clone, clap::Args)]
pub struct ProgramIdArgs {
    /// DFPN analysis-marketplace program id.
    #[arg(long, global = true, env = "DFPN_MARKETPLACE_PROGRAM_ID", default_value_t = ProgramKind::AnalysisMarketplace.default_id().to_string())]
    pub marketplace_program_id: String,
    /// DFPN worker-registry program id.
    #[arg(long, global = true, env = "DFPN_WORKER_REGISTRY_PROGRAM_ID", default_value_t = ProgramKind::WorkerRegistry.default_id().to_string())]
    pub worker_registry_program_id: String,
    /// DFPN model-registry program id.
    #[arg(long, global = true, env = "DFPN_MODEL_REGISTRY_PROGRAM_ID", default_value_t = ProgramKind::ModelRegistry.default_id().to_string())]
    pub model_registry_program_id: String,
    /// DFPN content-registry program id.
    #[arg(long, global = true, env = "DFPN_CONTENT_REGISTRY_PROGRAM_ID", default_value_t = ProgramKind::ContentRegistry.default_id().to_string())]
    pub content_registry_program_id: String,
    /// DFPN rewards program id.
    #[arg(long, global = true, env = "DFPN_REWARDS_PROGRAM_ID", default_value_t = ProgramKind::Rewards.default_id().to_string())]
    pub rewards_program_id: String,
    /// Psy program id.
    #[arg(long, global = true, env = "PSY_PROGRAM_ID", default_value_t = ProgramKind::Psy.default_id().to_string())]
    pub psy_program_id: String,
}

impl ProgramIdArgs {
    /// The configured set, every id validated.
    pub fn program_set(&self) -> Result<ProgramSet> {
        ProgramSet::parse([
            (ProgramKind::AnalysisMarketplace, self.marketplace_program_id.as_str()),
            (ProgramKind::WorkerRegistry, self.worker_registry_program_id.as_str()),
            (ProgramKind::ModelRegistry, self.model_registry_program_id.as_str()),
            (ProgramKind::ContentRegistry, self.content_registry_program_id.as_str()),
            (ProgramKind::Rewards, self.rewards_program_id.as_str()),
            (ProgramKind::Psy, self.psy_program_id.as_str()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_real_program_ids() {
        let set = ProgramSet::defaults();
        assert_eq!(set.kind_of("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"), Some(ProgramKind::AnalysisMarketplace));
        assert_eq!(set.kind_of("4uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofM"), Some(ProgramKind::Rewards));
        let twice = ProgramSet::parse([
            (ProgramKind::Rewards, "4uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofM"),
            (ProgramKind::Psy, "4uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofM"),
        ]);
        assert!(twice.is_err());
    }
}
