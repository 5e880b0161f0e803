//! Typed aggregations over a family's resolved fields: a tree of [`Agg`]s (terms, stats, max,
//! histogram, range) whose sub-aggregations are read back by position, so a caller names
//! neither a field nor an aggregation. The JSON form tantivy takes is built here, with field
//! names from the schema.

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use tantivy::schema::{Field, Schema};

use crate::query::Q;
use crate::read::{Read, ReadError, Result};

/// Buckets one aggregation may build (tantivy's default is 65,000; nested per-bucket terms need
/// more, and tantivy's memory limit of 500 MB still bounds them).
pub const MAX_AGGREGATION_BUCKETS: u32 = 2_000_000;

/// One aggregation and its sub-aggregations (per bucket, read back by position).
#[derive(Debug, Clone)]
pub struct Agg {
    kind: Kind,
    subs: Vec<Agg>,
}

#[derive(Debug, Clone)]
enum Kind {
    Terms { field: Field, size: u64 },
    Stats { field: Field },
    Max { field: Field },
    Histogram { field: Field, interval: i64, offset: i64 },
    Range { field: Field, ranges: Vec<(i64, i64)> },
}

impl Agg {
    fn of(kind: Kind) -> Self {
        Self { kind, subs: Vec::new() }
    }

    /// A bucket per value of `field` (the `size` most frequent).
    pub fn terms(field: Field, size: u64) -> Self {
        Self::of(Kind::Terms { field, size })
    }

    /// Count, sum, min and max of a numeric field.
    pub fn stats(field: Field) -> Self {
        Self::of(Kind::Stats { field })
    }

    /// Largest value of a numeric field.
    pub fn max(field: Field) -> Self {
        Self::of(Kind::Max { field })
    }

    /// Fixed-width buckets of a numeric field (`interval` wide, starting at `offset`), the
    /// non-empty ones only.
    pub fn histogram(field: Field, interval: i64, offset: i64) -> Self {
        Self::of(Kind::Histogram { field, interval, offset })
    }

    /// A bucket per `[from, to)` range of a numeric field.
    pub fn range(field: Field, ranges: Vec<(i64, i64)>) -> Self {
        Self::of(Kind::Range { field, ranges })
    }

    /// Adds a sub-aggregation computed in every bucket: the next position of [`Bucket::sub`].
    pub fn with(mut self, sub: Agg) -> Self {
        self.subs.push(sub);
        self
    }

    /// Adds sub-aggregations in order.
    pub fn with_all(mut self, subs: impl IntoIterator<Item = Agg>) -> Self {
        self.subs.extend(subs);
        self
    }

    fn request(&self, schema: &Schema) -> Value {
        let name = |field: Field| schema.get_field_name(field).to_owned();
        let mut request = match &self.kind {
            Kind::Terms { field, size } => json!({ "terms": { "field": name(*field), "size": size } }),
            Kind::Stats { field } => json!({ "stats": { "field": name(*field) } }),
            Kind::Max { field } => json!({ "max": { "field": name(*field) } }),
            Kind::Histogram { field, interval, offset } => json!({ "histogram": {
                "field": name(*field), "interval": *interval as f64, "offset": *offset as f64, "min_doc_count": 1 } }),
            Kind::Range { field, ranges } => {
                let ranges: Vec<Value> =
                    ranges.iter().map(|(from, to)| json!({ "from": *from as f64, "to": *to as f64 })).collect();
                json!({ "range": { "field": name(*field), "ranges": ranges } })
            }
        };
        if !self.subs.is_empty() {
            let subs: Map<String, Value> =
                self.subs.iter().enumerate().map(|(i, sub)| (sub_name(i), sub.request(schema))).collect();
            request["aggs"] = Value::Object(subs);
        }
        request
    }
}

fn sub_name(position: usize) -> String {
    format!("s{position}")
}

/// The result of one aggregation.
#[derive(Debug, Clone)]
pub struct Output(Value);

impl Output {
    /// The buckets of a terms, histogram or range aggregation, in tantivy's order.
    pub fn buckets(&self) -> Vec<Bucket> {
        self.0["buckets"].as_array().map(|b| b.iter().cloned().map(Bucket).collect()).unwrap_or_default()
    }

    /// The document count per key of a terms aggregation over a text field.
    pub fn counts(&self) -> HashMap<String, u64> {
        self.buckets().iter().filter_map(|b| Some((b.key_str()?.to_owned(), b.doc_count()))).collect()
    }

    /// The figures of a stats aggregation.
    pub fn stats(&self) -> Stats {
        Stats {
            count: self.0["count"].as_u64().unwrap_or(0),
            sum: self.0["sum"].as_f64(),
            min: self.0["min"].as_f64(),
            max: self.0["max"].as_f64(),
        }
    }

    /// The value of a max aggregation (`None` without values).
    pub fn value(&self) -> Option<f64> {
        self.0["value"].as_f64()
    }
}

/// One bucket of a bucket aggregation.
#[derive(Debug, Clone)]
pub struct Bucket(Value);

impl Bucket {
    /// Its key as text (terms over a text field).
    pub fn key_str(&self) -> Option<&str> {
        self.0["key"].as_str()
    }

    /// Its key as a number (terms over a numeric field, a histogram's start).
    pub fn key_f64(&self) -> Option<f64> {
        self.0["key"].as_f64()
    }

    /// Where a range bucket starts.
    pub fn from(&self) -> Option<f64> {
        self.0["from"].as_f64()
    }

    /// Documents in the bucket.
    pub fn doc_count(&self) -> u64 {
        self.0["doc_count"].as_u64().unwrap_or(0)
    }

    /// The result of the sub-aggregation at `position` (the order of [`Agg::with`]).
    pub fn sub(&self, position: usize) -> Output {
        Output(self.0[sub_name(position)].clone())
    }
}

/// The figures of a stats aggregation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Values counted.
    pub count: u64,
    /// Their sum (an f64).
    pub sum: Option<f64>,
    /// The smallest.
    pub min: Option<f64>,
    /// The largest.
    pub max: Option<f64>,
}

impl Stats {
    /// The average over an integer field: its sum (rounded to the integer it is: tantivy's
    /// float sum may be off in the last bits) over its count (`None` without values).
    pub fn average(&self) -> Option<f64> {
        let count = Some(self.count).filter(|n| *n > 0)?;
        Some(self.sum?.round() / count as f64)
    }

    /// The smallest and largest value as integers, `None` without values.
    pub fn span(&self) -> Option<(i64, i64)> {
        self.min.zip(self.max).map(|(min, max)| (min as i64, max as i64))
    }
}

impl<F> Read<'_, F> {
    /// Runs `agg` over the matching documents.
    pub fn aggregate(&self, query: &Q, agg: &Agg) -> Result<Output> {
        let request = json!({ "a": agg.request(self.searcher.schema()) });
        let aggregations: Aggregations = serde_json::from_value(request)
            .map_err(|err| ReadError::Internal(format!("aggregation request: {err}")))?;
        let limits = AggregationLimitsGuard::new(None, Some(MAX_AGGREGATION_BUCKETS));
        let context = AggContextParams::new(limits, tantivy::tokenizer::TokenizerManager::default());
        let collector = AggregationCollector::from_aggs(aggregations, context);
        let results = self.searcher.search(&**query, &collector)?;
        let mut value =
            serde_json::to_value(results).map_err(|err| ReadError::Internal(format!("aggregation result: {err}")))?;
        Ok(Output(value["a"].take()))
    }

    /// Average of an integer fast field over the matching documents that have it (`None` when
    /// none): their sum over their count, the same whatever the segments.
    pub fn average(&self, query: &Q, field: Field) -> Result<Option<f64>> {
        Ok(self.aggregate(query, &Agg::stats(field))?.stats().average())
    }

    /// The distinct values of a fast field over the matching documents (at most `size`), as
    /// bucket keys (documents without the field count in none).
    pub fn distinct(&self, query: &Q, field: Field, size: u64) -> Result<Vec<Bucket>> {
        Ok(self.aggregate(query, &Agg::terms(field, size))?.buckets())
    }
}
