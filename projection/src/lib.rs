//! The projections: one tantivy index per entity family, declared once here for the projector
//! that writes them (indexer) and the service that reads them (query-api).
//!
//! `schema` declares every family (fields, options, entity struct, document conversions),
//! `doc_value` says how a Rust value is stored in a field (and what a document lacking one fails
//! with), `worker_history` holds the worker stake and status changes the fold keeps, `entity` the
//! DFPN API objects built from the stored entities. `store` is the writer's side (the indexer's projector): each
//! family's index opened or created, entities read back, documents written and deleted by key,
//! commits with the folded seq as payload. `read` is the readers' side: each family opened with
//! its fields resolved once, typed snapshots, paged and column reads and the DFPN search; `query`
//! and `aggregate` build queries and aggregations from resolved fields and enum values, never
//! from field names. This is the only crate whose code depends on tantivy (indexer and query-api
//! use it only in their tests, test-support to read indexes back); the chain model stays in
//! `shared`.
#![deny(missing_docs)]

pub mod aggregate;
pub mod doc_value;
pub mod entity;
pub mod query;
pub mod read;
pub mod schema;
pub mod store;
pub mod worker_history;

pub use schema::Family;

use std::path::{Path, PathBuf};

/// The indexer's data directory unless configured (`<dir>/log`, `<dir>/projections`): the
/// indexer writes there and query-api reads there, so both take the default from here.
pub const DEFAULT_DATA_DIR: &str = "data";

/// Where the projections live under a data directory (one index per family inside).
pub fn projections_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("projections")
}
