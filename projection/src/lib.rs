//! The projections: one tantivy index per entity family, declared once here for the projector
//! that writes them (indexer) and the service that reads them (query-api).
//!
//! `schema` declares every family (fields, options, entity struct, document conversions),
//! `doc_value` says how a Rust value is stored in a field, `entity` holds the DFPN API objects
//! built from the stored entities. This is the only crate of the workspace that names tantivy's
//! schema; the chain model stays in `shared`.
#![deny(missing_docs)]

pub mod doc_value;
pub mod entity;
pub mod schema;
pub mod store;

pub use schema::Family;
