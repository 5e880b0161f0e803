//! The DFPN reads: typed filters in, API objects out, over the DFPN families
//! (`projection::schema::dfpn`). Lists are newest first by the creation's chain position
//! (`created_version`: the same live and backfilled).

use projection::entity::{ModelObject, RequestObject, WorkerObject};
use projection::query::{all_bits, conjunction, text_term, u64_range, Field, Order, Q};
use projection::read::Projections;
use projection::schema::dfpn::{Model, ModelFields, Request, RequestFields, Worker, WorkerFields};
use projection::schema::Family;
use serde::Serialize;
use shared::enums::{StatusFilter, WorkerStatus};

use crate::error::{ApiError, Result};

/// The filters of `GET /requests`.
#[derive(Debug, Clone)]
pub struct RequestFilter {
    /// API status or on-chain alias.
    pub status: Option<StatusFilter>,
    /// Requester key.
    pub requester: Option<String>,
    /// Modality bits every match requires.
    pub modalities: Option<u8>,
    /// Page size.
    pub limit: usize,
    /// Matches skipped.
    pub offset: usize,
}

/// The filters of `GET /workers`.
#[derive(Debug, Clone)]
pub struct WorkerFilter {
    /// Status.
    pub status: Option<WorkerStatus>,
    /// Operator key.
    pub operator: Option<String>,
    /// Smallest reputation.
    pub min_reputation: Option<u64>,
    /// Modality bits every match supports.
    pub modalities: Option<u8>,
    /// Page size.
    pub limit: usize,
    /// Matches skipped.
    pub offset: usize,
}

/// The filters of `GET /models`.
#[derive(Debug, Clone)]
pub struct ModelFilter {
    /// API status or on-chain alias.
    pub status: Option<StatusFilter>,
    /// Developer key.
    pub developer: Option<String>,
    /// Modality bits every match supports.
    pub modalities: Option<u8>,
    /// Page size.
    pub limit: usize,
    /// Matches skipped.
    pub offset: usize,
}

/// A search: the query text and the number of matches wanted.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// The query (one literal word, or tantivy query syntax).
    pub q: String,
    /// Matches wanted.
    pub limit: usize,
}

/// The service's status in `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Up {
    /// Serving.
    Healthy,
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// Always `healthy`.
    pub status: Up,
    /// Requests indexed.
    pub request_count: u64,
    /// Workers indexed.
    pub worker_count: u64,
    /// Models indexed.
    pub model_count: u64,
}

/// `GET /health`.
pub fn health(projections: &Projections) -> Result<Health> {
    let count = |family| -> Result<u64> { Ok(projections.family(family)?.map_or(0, |r| r.num_docs())) };
    Ok(Health {
        status: Up::Healthy,
        request_count: count(Family::Requests)?,
        worker_count: count(Family::Workers)?,
        model_count: count(Family::Models)?,
    })
}

/// The clause of a `status` filter: API names match the API status, on-chain aliases the
/// on-chain status.
fn status_clause(filter: StatusFilter, api: Field, chain: Field) -> Q {
    match filter {
        StatusFilter::Api(value) => text_term(api, value),
        StatusFilter::Chain(value) => text_term(chain, value),
    }
}

/// `GET /requests`.
pub fn requests(projections: &Projections, filter: &RequestFilter) -> Result<Vec<RequestObject>> {
    let Some(read) = projections.read::<RequestFields>()? else { return Ok(Vec::new()) };
    let f = read.f;
    let mut clauses = Vec::new();
    if let Some(status) = filter.status {
        clauses.push(status_clause(status, f.status, f.chain_status));
    }
    if let Some(requester) = &filter.requester {
        clauses.push(text_term(f.requester, requester));
    }
    if let Some(bits) = filter.modalities {
        clauses.extend(all_bits(f.modalities, bits));
    }
    let found: Vec<Request> =
        read.page(&conjunction(clauses), f.created_version, Order::Desc, filter.limit, filter.offset)?;
    Ok(found.iter().map(RequestObject::from).collect())
}

/// `GET /requests/:id`.
pub fn request(projections: &Projections, id: &str) -> Result<RequestObject> {
    let not_found = || ApiError::NotFound(format!("No request found with the given ID {}", crate::params::shown(id)));
    let read = projections.read::<RequestFields>()?.ok_or_else(not_found)?;
    let found: Request = read.first(read.f.id, id)?.ok_or_else(not_found)?;
    Ok(RequestObject::from(&found))
}

/// `GET /requests/search`.
pub fn search_requests(projections: &Projections, search: &SearchQuery) -> Result<Vec<RequestObject>> {
    let Some(read) = projections.read::<RequestFields>()? else { return Ok(Vec::new()) };
    let found: Vec<Request> = read.search(&[read.f.storage_uri], read.f.created_version, &search.q, search.limit)?;
    Ok(found.iter().map(RequestObject::from).collect())
}

/// `GET /workers`.
pub fn workers(projections: &Projections, filter: &WorkerFilter) -> Result<Vec<WorkerObject>> {
    let Some(read) = projections.read::<WorkerFields>()? else { return Ok(Vec::new()) };
    let f = read.f;
    let mut clauses = Vec::new();
    if let Some(status) = filter.status {
        clauses.push(text_term(f.status, status.as_str()));
    }
    if let Some(operator) = &filter.operator {
        clauses.push(text_term(f.operator, operator));
    }
    if let Some(min) = filter.min_reputation {
        clauses.push(u64_range(f.reputation, Some(min), None));
    }
    if let Some(bits) = filter.modalities {
        clauses.extend(all_bits(f.modalities, bits));
    }
    let found: Vec<Worker> =
        read.page(&conjunction(clauses), f.created_version, Order::Desc, filter.limit, filter.offset)?;
    Ok(found.iter().map(WorkerObject::from).collect())
}

/// `GET /workers/:operator`.
pub fn worker(projections: &Projections, operator: &str) -> Result<WorkerObject> {
    let not_found = || ApiError::NotFound(format!("No worker found for operator {}", crate::params::shown(operator)));
    let read = projections.read::<WorkerFields>()?.ok_or_else(not_found)?;
    let found: Worker = read.first(read.f.operator, operator)?.ok_or_else(not_found)?;
    Ok(WorkerObject::from(&found))
}

/// `GET /models`.
pub fn models(projections: &Projections, filter: &ModelFilter) -> Result<Vec<ModelObject>> {
    let Some(read) = projections.read::<ModelFields>()? else { return Ok(Vec::new()) };
    let f = read.f;
    let mut clauses = Vec::new();
    if let Some(status) = filter.status {
        clauses.push(status_clause(status, f.status, f.chain_status));
    }
    if let Some(developer) = &filter.developer {
        clauses.push(text_term(f.developer, developer));
    }
    if let Some(bits) = filter.modalities {
        clauses.extend(all_bits(f.modalities, bits));
    }
    let found: Vec<Model> =
        read.page(&conjunction(clauses), f.created_version, Order::Desc, filter.limit, filter.offset)?;
    Ok(found.iter().map(ModelObject::from).collect())
}

/// `GET /models/:id`.
pub fn model(projections: &Projections, id: &str) -> Result<ModelObject> {
    let not_found = || ApiError::NotFound(format!("No model found with the given ID {}", crate::params::shown(id)));
    let read = projections.read::<ModelFields>()?.ok_or_else(not_found)?;
    let found: Model = read.first(read.f.id, id)?.ok_or_else(not_found)?;
    Ok(ModelObject::from(&found))
}

/// `GET /models/search`.
pub fn search_models(projections: &Projections, search: &SearchQuery) -> Result<Vec<ModelObject>> {
    let Some(read) = projections.read::<ModelFields>()? else { return Ok(Vec::new()) };
    let f = read.f;
    let found: Vec<Model> = read.search(&[f.name, f.model_uri], f.created_version, &search.q, search.limit)?;
    Ok(found.iter().map(ModelObject::from).collect())
}
