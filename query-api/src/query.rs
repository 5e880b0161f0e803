//! Small builders over tantivy queries and collectors, shared by both surfaces.

use std::ops::Bound;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use crate::error::{ApiError, Result};
use crate::projections::FamilyReader;

/// Documents whose text field equals `value`.
pub fn text_term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
}

/// Documents whose u64 field equals `value`.
pub fn u64_term(field: Field, value: u64) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_u64(field, value), IndexRecordOption::Basic))
}

/// Documents whose u64 field is within `[lower, upper]` (either side optional).
pub fn u64_range(field: Field, lower: Option<u64>, upper: Option<u64>) -> Box<dyn Query> {
    let bound =
        |value: Option<u64>| value.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_u64(field, v)));
    Box::new(RangeQuery::new(bound(lower), bound(upper)))
}

/// Documents whose i64 field is within `[lower, upper]` (either side optional).
pub fn i64_range(field: Field, lower: Option<i64>, upper: Option<i64>) -> Box<dyn Query> {
    let bound =
        |value: Option<i64>| value.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_i64(field, v)));
    Box::new(RangeQuery::new(bound(lower), bound(upper)))
}

/// All clauses must match; no clause matches everything.
pub fn conjunction(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if clauses.is_empty() {
        Box::new(AllQuery)
    } else {
        Box::new(BooleanQuery::new(clauses.into_iter().map(|q| (Occur::Must, q)).collect()))
    }
}

/// A page of matching documents sorted by a u64 fast field.
pub fn page_by(
    searcher: &Searcher,
    query: &dyn Query,
    sort_field: &str,
    order: Order,
    limit: usize,
    offset: usize,
) -> Result<Vec<TantivyDocument>> {
    if limit == 0 || offset as u64 >= searcher.num_docs() {
        return Ok(Vec::new());
    }
    let collector = TopDocs::with_limit(limit).and_offset(offset).order_by_fast_field::<u64>(sort_field, order);
    let hits: Vec<(Option<u64>, DocAddress)> = searcher.search(query, &collector)?;
    hits.into_iter().map(|(_, address)| searcher.doc(address).map_err(ApiError::from)).collect()
}

/// Number of matching documents.
pub fn count(searcher: &Searcher, query: &dyn Query) -> Result<u64> {
    Ok(searcher.search(query, &Count)? as u64)
}

/// The first document whose text field equals `value`.
pub fn first(reader: &FamilyReader, field: Field, value: &str) -> Result<Option<TantivyDocument>> {
    let searcher = reader.searcher();
    let hits = searcher.search(&*text_term(field, value), &TopDocs::with_limit(1).order_by_score())?;
    hits.first().map(|(_, address)| searcher.doc(*address).map_err(ApiError::from)).transpose()
}

/// The values of a u64 fast field over the matching documents, sorted (documents without a value
/// are skipped).
pub fn u64_values(searcher: &Searcher, query: &dyn Query, field: &str) -> Result<Vec<u64>> {
    let addresses = searcher.search(query, &tantivy::collector::DocSetCollector)?;
    let mut columns = std::collections::HashMap::new();
    let mut values = Vec::with_capacity(addresses.len());
    for address in addresses {
        let column = match columns.entry(address.segment_ord) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(searcher.segment_reader(address.segment_ord).fast_fields().u64(field)?)
            }
        };
        values.extend(column.first(address.doc_id));
    }
    values.sort_unstable();
    Ok(values)
}
