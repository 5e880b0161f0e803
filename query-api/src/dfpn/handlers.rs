//! The DFPN endpoints as plain functions: typed parameters in, API objects (or errors) out.

use std::collections::HashMap;
use std::ops::Bound;

use projection::entity::{ModelObject, RequestObject, WorkerObject};
use projection::schema::dfpn::{Model, ModelFields, Request, RequestFields, Worker, WorkerFields};
use projection::schema::Family;
use shared::dfpn as chain;
use shared::enums::{ModelStatus, RequestStatus, StatusFilter, WorkerStatus};
use shared::modality;
use tantivy::collector::TopDocs;
use tantivy::query::{
    Bm25StatisticsProvider, BooleanQuery, Occur, PhraseQuery, Query, QueryParser, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, TERMINATED};
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

fn modality_terms(field: Field, required: u8) -> Vec<Box<dyn Query>> {
    (0..8)
        .map(|bit| 1u8 << bit)
        .filter(|bit| required & bit != 0)
        .map(|bit| {
            Box::new(TermQuery::new(Term::from_field_u64(field, u64::from(bit)), IndexRecordOption::Basic))
                as Box<dyn Query>
        })
        .collect()
}

fn modalities(params: &Params) -> Result<Option<u8>> {
    params.text("modalities").map(|value| modality::parse(value).map_err(ApiError::BadRequest)).transpose()
}

/// The clause of a `status` filter: API names match the API status, on-chain aliases the
/// on-chain status.
fn status_clause(filter: StatusFilter, api: Field, chain: Field) -> Box<dyn Query> {
    match filter {
        StatusFilter::Api(value) => term(api, value),
        StatusFilter::Chain(value) => term(chain, value),
    }
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

/// Newest first (by the creation's chain position, `created_version`: the same live and
/// backfilled), paginated.
fn list(
    searcher: &Searcher,
    seq: Field,
    query: &dyn Query,
    limit: usize,
    offset: usize,
) -> Result<Vec<TantivyDocument>> {
    let schema = searcher.schema().clone();
    page_by(searcher, query, schema.get_field_name(seq), Order::Desc, limit, offset)
}

/// The query of a search. A query of one word (no whitespace) that does not start with a
/// searched field's name and `:` is taken literally, as users paste a URI, a content id or a
/// model name: the phrase of its words (what the index tokenizer makes of it) in any searched
/// field, so a leading `-` or a `:` is no query syntax. Anything else is tantivy query syntax.
fn search_query(reader: &FamilyReader, fields: &[Field], q: &str) -> Result<Box<dyn Query>> {
    let q = q.trim();
    let schema = reader.index.schema();
    let field_syntax = fields
        .iter()
        .any(|field| q.strip_prefix(schema.get_field_name(*field)).is_some_and(|rest| rest.starts_with(':')));
    if q.contains(char::is_whitespace) || field_syntax {
        let parser = QueryParser::for_index(&reader.index, fields.to_vec());
        return parser.parse_query(q).map_err(|err| ApiError::BadRequest(format!("invalid search syntax: {err}")));
    }
    let words = projection::schema::words(q);
    if words.is_empty() {
        return Err(ApiError::BadRequest(format!("`q` {q:?} has no letters or digits to search for")));
    }
    let per_field = fields.iter().map(|field| {
        let terms: Vec<Term> = words.iter().map(|word| Term::from_field_text(*field, word)).collect();
        let query: Box<dyn Query> = match terms.len() {
            1 => Box::new(TermQuery::new(terms[0].clone(), IndexRecordOption::WithFreqs)),
            _ => Box::new(PhraseQuery::new(terms)),
        };
        (Occur::Should, query)
    });
    Ok(Box::new(BooleanQuery::new(per_field.collect())))
}

/// BM25 statistics over the documents that count (alive ones): tantivy's own also count the
/// replaced versions of updated documents until a merge drops them, so the same entities would
/// score differently live and after a replay.
/// The field's token total is computed once per reader generation.
struct AliveStatistics<'a> {
    reader: &'a FamilyReader,
    searcher: &'a Searcher,
}

impl Bm25StatisticsProvider for AliveStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        self.reader.total_per_generation(self.searcher, field, || {
            let mut total = 0u64;
            for segment in self.searcher.segment_readers() {
                let norms = segment.get_fieldnorms_reader(field)?;
                let alive = segment.alive_bitset();
                total += (0..segment.max_doc())
                    .filter(|doc| alive.is_none_or(|bits| bits.is_alive(*doc)))
                    .map(|doc| u64::from(norms.fieldnorm(doc)))
                    .sum::<u64>();
            }
            Ok(total)
        })
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.searcher.num_docs())
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let mut count = 0u64;
        for segment in self.searcher.segment_readers() {
            let alive = segment.alive_bitset();
            let Some(mut postings) =
                segment.inverted_index(term.field())?.read_postings(term, IndexRecordOption::Basic)?
            else {
                continue;
            };
            while postings.doc() != TERMINATED {
                count += u64::from(alive.is_none_or(|bits| bits.is_alive(postings.doc())));
                postings.advance();
            }
        }
        Ok(count)
    }
}

/// The best `limit` matches by relevance, equal scores newest creation first: the same answer
/// live and after a replay, however the index is segmented.
fn search(
    reader: &FamilyReader,
    fields: &[Field],
    created: Field,
    q: &str,
    limit: usize,
) -> Result<Vec<TantivyDocument>> {
    let query = search_query(reader, fields, q)?;
    if limit == 0 {
        return Ok(Vec::new());
    }
    let searcher = reader.searcher();
    let created = searcher.schema().get_field_name(created).to_owned();
    let ranked = TopDocs::with_limit(limit).tweak_score(move |segment: &tantivy::SegmentReader| {
        let versions = segment.fast_fields().u64(&created).ok().map(|column| column.first_or_default_col(0));
        move |doc: tantivy::DocId, score: tantivy::Score| {
            (score, versions.as_ref().map_or(0, |column| column.get_val(doc)))
        }
    });
    let statistics = AliveStatistics { reader, searcher: &searcher };
    let hits = searcher.search_with_statistics_provider(&query, &ranked, &statistics).map_err(unrunnable)?;
    hits.into_iter().map(|(_, address)| searcher.doc(address).map_err(ApiError::from)).collect()
}

/// A query tantivy parsed but cannot run (`field:*` over a field without fast values, a field
/// the schema lacks) is the user's query: 400. Index failures stay internal.
fn unrunnable(err: tantivy::TantivyError) -> ApiError {
    match err {
        tantivy::TantivyError::FieldNotFound(_)
        | tantivy::TantivyError::SchemaError(_)
        | tantivy::TantivyError::InvalidArgument(_) => {
            ApiError::BadRequest(format!("invalid search: this query cannot be run ({err})"))
        }
        other => ApiError::from(other),
    }
}

fn corrupt(err: projection::entity::MissingField) -> ApiError {
    ApiError::Internal(err.to_string())
}

fn requests_of(docs: &[TantivyDocument], f: &RequestFields) -> Result<Vec<RequestObject>> {
    docs.iter().map(|doc| Request::from_document(doc, f).map(|r| RequestObject::from(&r)).map_err(corrupt)).collect()
}

fn workers_of(docs: &[TantivyDocument], f: &WorkerFields) -> Result<Vec<WorkerObject>> {
    docs.iter().map(|doc| Worker::from_document(doc, f).map(|w| WorkerObject::from(&w)).map_err(corrupt)).collect()
}

fn models_of(docs: &[TantivyDocument], f: &ModelFields) -> Result<Vec<ModelObject>> {
    docs.iter().map(|doc| Model::from_document(doc, f).map(|m| ModelObject::from(&m)).map_err(corrupt)).collect()
}

/// `GET /requests`.
pub fn requests(projections: &Projections, query: HashMap<String, String>) -> Result<Vec<RequestObject>> {
    let params = Params::new(query, &["status", "requester", "modalities", "limit", "offset"])?;
    let status = status_filter::<RequestStatus, chain::RequestStatus>(&params)?;
    let requester = params.pubkey("requester")?;
    let modalities = modalities(&params)?;
    let (limit, offset) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let Some(reader) = projections.family(Family::Requests)? else { return Ok(Vec::new()) };
    let f: &RequestFields = reader.fields();
    let mut clauses = Vec::new();
    if let Some(status) = status {
        clauses.push(status_clause(status, f.status, f.chain_status));
    }
    if let Some(requester) = requester {
        clauses.push(term(f.requester, requester));
    }
    if let Some(bits) = modalities {
        clauses.extend(modality_terms(f.modalities, bits));
    }
    let docs = list(&reader.searcher(), f.created_version, &*conjunction(clauses), limit, offset)?;
    requests_of(&docs, f)
}

/// `GET /requests/:id`.
pub fn request(projections: &Projections, id: &str) -> Result<RequestObject> {
    let not_found = || ApiError::NotFound(format!("No request found with the given ID {}", crate::params::shown(id)));
    let reader = projections.family(Family::Requests)?.ok_or_else(not_found)?;
    let f: &RequestFields = reader.fields();
    let doc = first(reader, f.id, id)?.ok_or_else(not_found)?;
    requests_of(&[doc], f)?.pop().ok_or_else(not_found)
}

/// `GET /requests/search`.
pub fn search_requests(projections: &Projections, query: HashMap<String, String>) -> Result<Vec<RequestObject>> {
    let params = Params::new(query, &["q", "limit"])?;
    let q = params.query("q")?;
    let (limit, _) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let Some(reader) = projections.family(Family::Requests)? else { return Ok(Vec::new()) };
    let f: &RequestFields = reader.fields();
    let docs = search(reader, &[f.storage_uri], f.created_version, q, limit)?;
    requests_of(&docs, f)
}

/// `GET /workers`.
pub fn workers(projections: &Projections, query: HashMap<String, String>) -> Result<Vec<WorkerObject>> {
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
    let f: &WorkerFields = reader.fields();
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
        clauses.extend(modality_terms(f.modalities, bits));
    }
    let docs = list(&reader.searcher(), f.created_version, &*conjunction(clauses), limit, offset)?;
    workers_of(&docs, f)
}

/// `GET /workers/:operator`.
pub fn worker(projections: &Projections, operator: &str) -> Result<WorkerObject> {
    let not_found = || ApiError::NotFound(format!("No worker found for operator {}", crate::params::shown(operator)));
    let reader = projections.family(Family::Workers)?.ok_or_else(not_found)?;
    let f: &WorkerFields = reader.fields();
    let doc = first(reader, f.operator, operator)?.ok_or_else(not_found)?;
    workers_of(&[doc], f)?.pop().ok_or_else(not_found)
}

/// `GET /models`.
pub fn models(projections: &Projections, query: HashMap<String, String>) -> Result<Vec<ModelObject>> {
    let params = Params::new(query, &["status", "developer", "modalities", "limit", "offset"])?;
    let status = status_filter::<ModelStatus, chain::ModelStatus>(&params)?;
    let developer = params.pubkey("developer")?;
    let modalities = modalities(&params)?;
    let (limit, offset) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let Some(reader) = projections.family(Family::Models)? else { return Ok(Vec::new()) };
    let f: &ModelFields = reader.fields();
    let mut clauses = Vec::new();
    if let Some(status) = status {
        clauses.push(status_clause(status, f.status, f.chain_status));
    }
    if let Some(developer) = developer {
        clauses.push(term(f.developer, developer));
    }
    if let Some(bits) = modalities {
        clauses.extend(modality_terms(f.modalities, bits));
    }
    let docs = list(&reader.searcher(), f.created_version, &*conjunction(clauses), limit, offset)?;
    models_of(&docs, f)
}

/// `GET /models/:id`.
pub fn model(projections: &Projections, id: &str) -> Result<ModelObject> {
    let not_found = || ApiError::NotFound(format!("No model found with the given ID {}", crate::params::shown(id)));
    let reader = projections.family(Family::Models)?.ok_or_else(not_found)?;
    let f: &ModelFields = reader.fields();
    let doc = first(reader, f.id, id)?.ok_or_else(not_found)?;
    models_of(&[doc], f)?.pop().ok_or_else(not_found)
}

/// `GET /models/search`.
pub fn search_models(projections: &Projections, query: HashMap<String, String>) -> Result<Vec<ModelObject>> {
    let params = Params::new(query, &["q", "limit"])?;
    let q = params.query("q")?;
    let (limit, _) = params.page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let Some(reader) = projections.family(Family::Models)? else { return Ok(Vec::new()) };
    let f: &ModelFields = reader.fields();
    let docs = search(reader, &[f.name, f.model_uri], f.created_version, q, limit)?;
    models_of(&docs, f)
}
