//! The DFPN endpoints as plain functions: typed parameters in, API objects (or errors) out.

use std::collections::HashMap;
use std::ops::Bound;

use shared::entity::{Model, Request, Worker};
use shared::enums::{ModelStatus, RequestStatus, WorkerStatus};
use shared::modality;
use shared::schema::{Family, ModelFields, RequestFields, WorkerFields};
use tantivy::collector::TopDocs;
use tantivy::query::{Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Order, Searcher, TantivyDocument, Term};

use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::{FamilyReader, Projections};
use crate::query::{conjunction, first, page_by, text_term as term};

/// Default `limit` of every list.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest `limit`; larger values are capped.
pub const MAX_LIMIT: usize = 1_000;

/// `GET /health`.
pub fn health(projections: &Projections) -> Result<serde_json::Value> {
    let count = |family| -> Result<u64> { Ok(projections.family(family)?.map_or(0, |r| r.searcher().num_docs())) };
    Ok(serde_json::json!({
        "status": "healthy",
        "request_count": count(Family::Requests)?,
        "worker_count": count(Family::Workers)?,
        "model_count": count(Family::Models)?,
    }))
}

fn modality_terms(field: Field, required: u32) -> Vec<Box<dyn Query>> {
    modality::NAMED_BITS
        .iter()
        .filter(|(bit, _)| required & bit != 0)
        .map(|(bit, _)| {
            Box::new(TermQuery::new(Term::from_field_u64(field, u64::from(*bit)), IndexRecordOption::Basic))
                as Box<dyn Query>
        })
        .collect()
}

fn modalities(params: &Params) -> Result<Option<u32>> {
    match params.integer::<u32>("modalities")? {
        Some(bits) if bits & !modality::ALL != 0 => Err(ApiError::BadRequest(format!(
            "`modalities` {bits} has bits outside the defined set (image 1, video 2, audio 4, face 8, text 16, voice 32)"
        ))),
        other => Ok(other),
    }
}

/// Newest first (by creation seq), paginated.
fn list(searcher: &Searcher, query: &dyn Query, limit: usize, offset: usize) -> Result<Vec<TantivyDocument>> {
    page_by(searcher, query, "seq", Order::Desc, limit, offset)
}

fn search(reader: &FamilyReader, fields: Vec<Field>, q: &str, limit: usize) -> Result<Vec<TantivyDocument>> {
    let parser = QueryParser::for_index(&reader.index, fields);
    let query = parser.parse_query(q).map_err(|err| ApiError::BadRequest(format!("invalid search syntax: {err}")))?;
    if limit == 0 {
        return Ok(Vec::new());
    }
    let searcher = reader.searcher();
    let hits = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
    hits.into_iter().map(|(_, address)| searcher.doc(address).map_err(ApiError::from)).collect()
}

fn corrupt(err: shared::entity::MissingField) -> ApiError {
    ApiError::Internal(err.to_string())
}

/// `GET /requests`.
pub fn requests(projections: &Projections, query: HashMap<String, String>) -> Result<Vec<Request>> {
    let params = Params::new(query, &["status", "requester", "modalities", "limit", "offset"])?;
    let status = params.parsed::<RequestStatus>("status")?;
    let requester = params.pubkey("requester")?;
    let modalities = modalities(&params)?;
    let (limit, offset) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let Some(reader) = projections.family(Family::Requests)? else { return Ok(Vec::new()) };
    let f = RequestFields::resolve(&reader.index.schema());
    let mut clauses = Vec::new();
    if let Some(status) = status {
        clauses.push(term(f.status, status.as_str()));
    }
    if let Some(requester) = requester {
        clauses.push(term(f.requester, requester));
    }
    if let Some(bits) = modalities {
        clauses.extend(modality_terms(f.modality_bits, bits));
    }
    let docs = list(&reader.searcher(), &*conjunction(clauses), limit, offset)?;
    docs.iter().map(|doc| Request::from_document(doc, &f).map_err(corrupt)).collect()
}

/// `GET /requests/:id`.
pub fn request(projections: &Projections, id: &str) -> Result<Request> {
    let not_found = || ApiError::NotFound(format!("No request found with the given ID {id:?}"));
    let reader = projections.family(Family::Requests)?.ok_or_else(not_found)?;
    let f = RequestFields::resolve(&reader.index.schema());
    let doc = first(reader, f.id, id)?.ok_or_else(not_found)?;
    Request::from_document(&doc, &f).map_err(corrupt)
}

/// `GET /requests/search`.
pub fn search_requests(projections: &Projections, query: HashMap<String, String>) -> Result<Vec<Request>> {
    let params = Params::new(query, &["q", "limit"])?;
    let q = params.query("q")?;
    let (limit, _) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let Some(reader) = projections.family(Family::Requests)? else { return Ok(Vec::new()) };
    let f = RequestFields::resolve(&reader.index.schema());
    let docs = search(reader, vec![f.storage_uri], q, limit)?;
    docs.iter().map(|doc| Request::from_document(doc, &f).map_err(corrupt)).collect()
}

/// `GET /workers`.
pub fn workers(projections: &Projections, query: HashMap<String, String>) -> Result<Vec<Worker>> {
    let params = Params::new(query, &["status", "operator", "min_reputation", "modalities", "limit", "offset"])?;
    let status = params.parsed::<WorkerStatus>("status")?;
    let operator = params.pubkey("operator")?;
    let min_reputation = match params.integer::<u64>("min_reputation")? {
        Some(value) if value > 10_000 => {
            return Err(ApiError::BadRequest(format!("`min_reputation` must be between 0 and 10000, got {value}")))
        }
        other => other,
    };
    let modalities = modalities(&params)?;
    let (limit, offset) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let Some(reader) = projections.family(Family::Workers)? else { return Ok(Vec::new()) };
    let f = WorkerFields::resolve(&reader.index.schema());
    let mut clauses = Vec::new();
    if let Some(status) = status {
        clauses.push(term(f.status, status.as_str()));
    }
    if let Some(operator) = operator {
        clauses.push(term(f.operator, operator));
    }
    if let Some(min) = min_reputation {
        let lower = Bound::Included(Term::from_field_u64(f.reputation, min));
        clauses.push(Box::new(RangeQuery::new(lower, Bound::Unbounded)));
    }
    if let Some(bits) = modalities {
        clauses.extend(modality_terms(f.modality_bits, bits));
    }
    let docs = list(&reader.searcher(), &*conjunction(clauses), limit, offset)?;
    docs.iter().map(|doc| Worker::from_document(doc, &f).map_err(corrupt)).collect()
}

/// `GET /workers/:operator`.
pub fn worker(projections: &Projections, operator: &str) -> Result<Worker> {
    let not_found = || ApiError::NotFound(format!("No worker found for operator {operator:?}"));
    let reader = projections.family(Family::Workers)?.ok_or_else(not_found)?;
    let f = WorkerFields::resolve(&reader.index.schema());
    let doc = first(reader, f.operator, operator)?.ok_or_else(not_found)?;
    Worker::from_document(&doc, &f).map_err(corrupt)
}

/// `GET /models`.
pub fn models(projections: &Projections, query: HashMap<String, String>) -> Result<Vec<Model>> {
    let params = Params::new(query, &["status", "developer", "modalities", "limit", "offset"])?;
    let status = params.parsed::<ModelStatus>("status")?;
    let developer = params.pubkey("developer")?;
    let modalities = modalities(&params)?;
    let (limit, offset) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let Some(reader) = projections.family(Family::Models)? else { return Ok(Vec::new()) };
    let f = ModelFields::resolve(&reader.index.schema());
    let mut clauses = Vec::new();
    if let Some(status) = status {
        clauses.push(term(f.status, status.as_str()));
    }
    if let Some(developer) = developer {
        clauses.push(term(f.developer, developer));
    }
    if let Some(bits) = modalities {
        clauses.extend(modality_terms(f.modality_bits, bits));
    }
    let docs = list(&reader.searcher(), &*conjunction(clauses), limit, offset)?;
    docs.iter().map(|doc| Model::from_document(doc, &f).map_err(corrupt)).collect()
}

/// `GET /models/:id`.
pub fn model(projections: &Projections, id: &str) -> Result<Model> {
    let not_found = || ApiError::NotFound(format!("No model found with the given ID {id:?}"));
    let reader = projections.family(Family::Models)?.ok_or_else(not_found)?;
    let f = ModelFields::resolve(&reader.index.schema());
    let doc = first(reader, f.id, id)?.ok_or_else(not_found)?;
    Model::from_document(&doc, &f).map_err(corrupt)
}

/// `GET /models/search`.
pub fn search_models(projections: &Projections, query: HashMap<String, String>) -> Result<Vec<Model>> {
    let params = Params::new(query, &["q", "limit"])?;
    let q = params.query("q")?;
    let (limit, _) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let Some(reader) = projections.family(Family::Models)? else { return Ok(Vec::new()) };
    let f = ModelFields::resolve(&reader.index.schema());
    let docs = search(reader, vec![f.name, f.model_uri], q, limit)?;
    docs.iter().map(|doc| Model::from_document(doc, &f).map_err(corrupt)).collect()
}
