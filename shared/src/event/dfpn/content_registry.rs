//! Events of `content_registry` (`Gokiv…`): logged and exported; no endpoint reads them yet.

#![allow(missing_docs)] // `#[event]` adds derives whose generated items carry no docs.

use anchor_lang::prelude::*;

use super::types::{ClaimType, MediaType};

crate::event::define_events! {
    /// Any `content_registry` event.
    ContentRegistryEvent {
        /// `register_content`.
        ContentRegistered {
            content_hash: [u8; 32],
            media_type: MediaType,
            creator: Pubkey,
            storage_uri: String,
        }
        /// `update_storage_uri`.
        ContentStorageUpdated {
            content_hash: [u8; 32],
            old_uri: String,
            new_uri: String,
        }
        /// `add_provenance_claim`.
        ProvenanceClaimAdded {
            content_hash: [u8; 32],
            attestor: Pubkey,
            claim_type: ClaimType,
            evidence_uri: Option<String>,
        }
        /// `verify_claim`.
        ClaimVerified {
            content_hash: [u8; 32],
            attestor: Pubkey,
            verified: bool,
            verifier: Pubkey,
        }
        /// `transfer_ownership`.
        ContentOwnershipTransferred {
            content_hash: [u8; 32],
            old_owner: Pubkey,
            new_owner: Pubkey,
        }
    }
}
