//! The keys of the log's sled tree: one tag byte per kind (see the module documentation of
//! [`super`]) followed by the signature, seq or program they are about.

use shared::ProgramKind;

use crate::error::{Error, Result};

pub(super) const RECORD: u8 = b'L';
pub(super) const KEY: u8 = b'K';
pub(super) const CURSOR: u8 = b'C';
pub(super) const PENDING: u8 = b'P';
pub(super) const FORMAT: u8 = b'V';
pub(super) const SET_ASIDE: u8 = b'U';
pub(super) const RETRACTED: u8 = b'X';
pub(super) const MIRROR: u8 = b'M';
pub(super) const LEGACY_PSY: u8 = b'O';

pub(super) fn record_key(seq: u64) -> [u8; 9] {
    let mut key = [RECORD; 9];
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

pub(super) fn idempotency_key(signature: &[u8; 64], event_index: u32) -> [u8; 69] {
    let mut key = [KEY; 69];
    key[1..65].copy_from_slice(signature);
    key[65..].copy_from_slice(&event_index.to_be_bytes());
    key
}

pub(super) fn pending_key(signature: &[u8; 64]) -> [u8; 65] {
    let mut key = [PENDING; 65];
    key[1..].copy_from_slice(signature);
    key
}

pub(super) fn retracted_key(signature: &[u8; 64], seq: u64) -> [u8; 73] {
    let mut key = [RETRACTED; 73];
    key[1..65].copy_from_slice(signature);
    key[65..].copy_from_slice(&seq.to_be_bytes());
    key
}

pub(super) fn signature_prefix(kind: u8, signature: &[u8; 64]) -> [u8; 65] {
    let mut key = [kind; 65];
    key[1..].copy_from_slice(signature);
    key
}

pub(super) fn seq_value(value: &[u8]) -> Result<u64> {
    Ok(u64::from_be_bytes(value.try_into().map_err(|_| Error::Corrupt("seq value".into()))?))
}

pub(super) fn set_aside_key(signature: &[u8; 64]) -> [u8; 65] {
    let mut key = [SET_ASIDE; 65];
    key[1..].copy_from_slice(signature);
    key
}

pub(super) fn cursor_key(program: ProgramKind) -> Vec<u8> {
    let mut key = vec![CURSOR];
    key.extend_from_slice(program.as_str().as_bytes());
    key
}
