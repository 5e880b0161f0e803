//! The DFPN query strings parsed into the typed filters of [`super::read`]: every parameter
//! checked by name, in the order the answers' messages name them.

use std::collections::HashMap;

use shared::dfpn as chain;
use shared::enums::{ModelStatus, RequestStatus, StatusFilter, WorkerStatus};
use shared::modality;

use super::read::{ModelFilter, RequestFilter, SearchQuery, WorkerFilter};
use crate::error::{ApiError, Result};
use crate::params::Params;

/// Default `limit` of every list.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest `limit`; larger values are capped.
pub const MAX_LIMIT: usize = 1_000;

fn modalities(params: &Params) -> Result<Option<u8>> {
    params.text("modalities").map(|value| modality::parse(value).map_err(ApiError::BadRequest)).transpose()
}

fn status_filter<A, C>(params: &Params) -> Result<Option<StatusFilter>>
where
    A: std::str::FromStr<Err = shared::Error> + Copy + Into<&'static str>,
    C: std::str::FromStr<Err = shared::Error> + Copy + Into<&'static str>,
{
    params
        .text("status")
        .map(|value| StatusFilter::parse::<A, C>(value).map_err(|err| ApiError::BadRequest(format!("`status`: {err}"))))
        .transpose()
}

/// `GET /requests`.
pub fn requests(query: HashMap<String, String>) -> Result<RequestFilter> {
    let params = Params::new(query, &["status", "requester", "modalities", "limit", "offset"])?;
    let status = status_filter::<RequestStatus, chain::RequestStatus>(&params)?;
    let requester = params.pubkey("requester")?.map(str::to_owned);
    let modalities = modalities(&params)?;
    let (limit, offset) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    Ok(RequestFilter { status, requester, modalities, limit, offset })
}

/// `GET /workers`.
pub fn workers(query: HashMap<String, String>) -> Result<WorkerFilter> {
    let params = Params::new(query, &["status", "operator", "min_reputation", "modalities", "limit", "offset"])?;
    let status = params.parsed::<WorkerStatus>("status")?;
    let operator = params.pubkey("operator")?.map(str::to_owned);
    let min_reputation = match params.integer::<u64>("min_reputation")? {
        Some(value) if value > 10_000 => {
            return Err(ApiError::BadRequest(format!("`min_reputation` must be between 0 and 10000, got {value}")))
        }
        other => other,
    };
    let modalities = modalities(&params)?;
    let (limit, offset) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    Ok(WorkerFilter { status, operator, min_reputation, modalities, limit, offset })
}

/// `GET /models`.
pub fn models(query: HashMap<String, String>) -> Result<ModelFilter> {
    let params = Params::new(query, &["status", "developer", "modalities", "limit", "offset"])?;
    let status = status_filter::<ModelStatus, chain::ModelStatus>(&params)?;
    let developer = params.pubkey("developer")?.map(str::to_owned);
    let modalities = modalities(&params)?;
    let (limit, offset) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    Ok(ModelFilter { status, developer, modalities, limit, offset })
}

/// `GET /requests/search`, `GET /models/search`.
pub fn search(query: HashMap<String, String>) -> Result<SearchQuery> {
    let params = Params::new(query, &["q", "limit"])?;
    let q = params.query("q")?.to_owned();
    let (limit, _) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    Ok(SearchQuery { q, limit })
}
