//! The projections: one tantivy index per entity family, declared once here for the projector
//! that writes them (indexer) and the service that reads them (query-api).
//!
//! `schema` declares every family (fields, options, entity struct, document conversions),
//! `doc_value` says how a Rust value is stored in a field, `entity` holds the DFPN API objects
//! built from the stored entities. `read` is the readers' side: each family opened with its
//! fields resolved once, typed snapshots, paged and column reads and the DFPN search; `query`
//! and `aggregate` build queries and aggregations from resolved fields and enum values, never
//! from field names. This is the only crate of the workspace that names tantivy (query-api uses
//! it only in its tests); the chain model stays in `shared`.
#![deny(missing_docs)]

pub mod aggregate;
pub mod doc_value;
pub mod entity;
pub mod query;
pub mod read;
pub mod schema;
pub mod store;

pub use schema::Family;
