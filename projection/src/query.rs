//! Typed query builders over a family's resolved fields.
//!
//! Callers build queries from the fields a snapshot hands out and from enum values (their
//! spellings come from `shared`), never from field names: a name is looked up in the schema
//! where tantivy needs one. The paged reads that run them are the snapshot's (`read`), which
//! depends on this module, never the reverse.

use std::ops::Bound;

use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

pub use tantivy::schema::Field;
pub use tantivy::Order;

/// A query.
pub type Q = Box<dyn Query>;

/// Every document.
pub fn all() -> Q {
    Box::new(AllQuery)
}

/// Documents whose text field equals `value`.
pub fn text_term(field: Field, value: &str) -> Q {
    Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
}

/// Documents whose u64 field equals `value`.
pub fn u64_term(field: Field, value: u64) -> Q {
    Box::new(TermQuery::new(Term::from_field_u64(field, value), IndexRecordOption::Basic))
}

/// Documents whose u64 field is within `[lower, upper]` (either side optional).
pub fn u64_range(field: Field, lower: Option<u64>, upper: Option<u64>) -> Q {
    let bound =
        |value: Option<u64>| value.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_u64(field, v)));
    Box::new(RangeQuery::new(bound(lower), bound(upper)))
}

/// Documents whose i64 field is within `[lower, upper]` (either side optional).
pub fn i64_range(field: Field, lower: Option<i64>, upper: Option<i64>) -> Q {
    let bound =
        |value: Option<i64>| value.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_i64(field, v)));
    Box::new(RangeQuery::new(bound(lower), bound(upper)))
}

/// Documents whose i64 field is within `[lower, upper]`, or every document when both sides are
/// open (no clause).
pub fn i64_window(field: Field, lower: Option<i64>, upper: Option<i64>) -> Vec<Q> {
    if lower.is_some() || upper.is_some() {
        vec![i64_range(field, lower, upper)]
    } else {
        Vec::new()
    }
}

/// Documents whose i64 field equals `value`.
pub fn i64_term(field: Field, value: i64) -> Q {
    Box::new(TermQuery::new(Term::from_field_i64(field, value), IndexRecordOption::Basic))
}

/// Documents whose text field equals one of `values`; no value matches nothing.
pub fn any_text<S: AsRef<str>>(field: Field, values: &[S]) -> Q {
    any(values.iter().map(|value| text_term(field, value.as_ref())).collect())
}

/// Documents whose text field holds one of the enum `values`, by their stored spelling
/// (`as_str`, e.g. `WorkerEventStatus::Completed.as_str()`); no value matches nothing.
pub fn any_of<T: Copy>(field: Field, values: &[T], spelling: impl Fn(T) -> &'static str) -> Q {
    any(values.iter().map(|value| text_term(field, spelling(*value))).collect())
}

/// Documents whose u64 field equals one of `values`; no value matches nothing.
pub fn any_u64(field: Field, values: impl IntoIterator<Item = u64>) -> Q {
    any(values.into_iter().map(|value| u64_term(field, value)).collect())
}

/// Documents whose bits field (one term per set bit) has every bit of `required`.
pub fn all_bits(field: Field, required: u8) -> Vec<Q> {
    (0..8).map(|bit| 1u8 << bit).filter(|bit| required & bit != 0).map(|bit| u64_term(field, u64::from(bit))).collect()
}

/// Documents matching one of `clauses`; no clause matches nothing.
pub fn any(mut clauses: Vec<Q>) -> Q {
    match clauses.len() {
        0 => Box::new(tantivy::query::EmptyQuery),
        1 => clauses.remove(0),
        _ => Box::new(BooleanQuery::new(clauses.into_iter().map(|q| (Occur::Should, q)).collect())),
    }
}

/// All clauses must match; no clause matches everything.
pub fn conjunction(clauses: Vec<Q>) -> Q {
    if clauses.is_empty() {
        Box::new(AllQuery)
    } else {
        Box::new(BooleanQuery::new(clauses.into_iter().map(|q| (Occur::Must, q)).collect()))
    }
}
