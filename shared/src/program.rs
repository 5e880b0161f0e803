//! The indexed programs: which program a log line belongs to and which ids are configured.

use std::collections::HashMap;
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which of the two indexed programs an event comes from.
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
#[serde(rename_all = "lowercase")]
pub enum ProgramKind {
    /// The DFPN deepfake-detection program (requests, workers, models).
    Dfpn,
    /// The Psy program (realms, users, contracts, proving jobs, checkpoints).
    Psy,
}

impl ProgramKind {
    /// Both programs.
    pub const ALL: [ProgramKind; 2] = [ProgramKind::Dfpn, ProgramKind::Psy];

    /// The lowercase name used in configuration, IDL files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgramKind::Dfpn => "dfpn",
            ProgramKind::Psy => "psy",
        }
    }

    /// The program id the fixture chain deploys this program at (sha256 of `<name>-program`).
    pub fn default_id(self) -> Pubkey {
        match self {
            ProgramKind::Dfpn => DEFAULT_DFPN_PROGRAM_ID,
            ProgramKind::Psy => DEFAULT_PSY_PROGRAM_ID,
        }
    }
}

/// Default DFPN program id.
pub const DEFAULT_DFPN_PROGRAM_ID: Pubkey = Pubkey::from_str_const("CdVd6SuPjFV3wp62axirvM9qZm54t9qx1LUEjFPxFBGQ");
/// Default Psy program id.
pub const DEFAULT_PSY_PROGRAM_ID: Pubkey = Pubkey::from_str_const("DRkbSHnQBE5pjSP6BhTorUfWV96ynVFJPxpVuBtR59eP");

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

    /// Builds a set from base58 id strings, rejecting invalid keys.
    pub fn parse(dfpn: &str, psy: &str) -> Result<Self> {
        let parse = |s: &str| Pubkey::from_str(s).map_err(|_| Error::InvalidProgramId(s.to_owned()));
        Ok(Self::new([(ProgramKind::Dfpn, parse(dfpn)?), (ProgramKind::Psy, parse(psy)?)]))
    }

    /// The set of both programs at their default (fixture chain) ids.
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

    /// Every configured `(kind, id)` pair.
    pub fn iter(&self) -> impl Iterator<Item = (ProgramKind, Pubkey)> + '_ {
        self.ids.iter().copied()
    }
}
