//! Reads of fast-field columns over the matching documents, segment by segment: the exact
//! sums, the per-document values and the distinct values the Psy reads fold themselves
//! (tantivy's `sum` aggregation is an f64, inexact above 2^53).

use std::collections::{BTreeMap, BTreeSet};

use tantivy::collector::DocSetCollector;
use tantivy::columnar::StrColumn;
use tantivy::schema::{Field, Schema};
use tantivy::{DocId, SegmentReader};

use super::{Read, ReadError, Result};
use crate::query::Q;

/// One segment's matching documents (ascending doc ids) and their columns.
pub struct Segment<'s> {
    reader: &'s SegmentReader,
    schema: &'s Schema,
    docs: &'s [DocId],
}

impl Segment<'_> {
    /// Number of matching documents in the segment.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether no document of the segment matches.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The u64 values of `field`, one per matching document in order (`None` without one).
    pub fn u64s(&self, field: Field) -> Result<Vec<Option<u64>>> {
        let column = self.reader.fast_fields().u64(self.schema.get_field_name(field))?;
        Ok(self.docs.iter().map(|doc| column.first(*doc)).collect())
    }

    /// The i64 values of `field`, one per matching document in order (`None` without one).
    pub fn i64s(&self, field: Field) -> Result<Vec<Option<i64>>> {
        let column = self.reader.fast_fields().i64(self.schema.get_field_name(field))?;
        Ok(self.docs.iter().map(|doc| column.first(*doc)).collect())
    }

    /// The values of a text fast field, one per matching document in order (`None` without
    /// one).
    pub fn texts(&self, field: Field) -> Result<Vec<Option<String>>> {
        let column = self.reader.fast_fields().str(self.schema.get_field_name(field))?;
        text_values(column.as_ref(), self.docs)
    }
}

/// The values of a text fast field for `docs`, in their order: each distinct term is read once
/// from the dictionary, in term order (a lookup per document costs a block decode each).
fn text_values(column: Option<&StrColumn>, docs: &[DocId]) -> Result<Vec<Option<String>>> {
    let Some(column) = column else { return Ok(vec![None; docs.len()]) };
    let ords: Vec<Option<u64>> = docs.iter().map(|doc| column.term_ords(*doc).next()).collect();
    let mut sorted: Vec<u64> = ords.iter().flatten().copied().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut terms = Vec::with_capacity(sorted.len());
    column
        .dictionary()
        .sorted_ords_to_term_cb(&sorted, |bytes| terms.push(String::from_utf8_lossy(bytes).into_owned()))
        .map_err(|err| ReadError::Internal(err.to_string()))?;
    if terms.len() != sorted.len() {
        return Err(ReadError::Internal("a text fast field's dictionary lacks a term".into()));
    }
    Ok(ords.iter().map(|ord| ord.and_then(|o| sorted.binary_search(&o).ok()).map(|i| terms[i].clone())).collect())
}

impl<F> Read<'_, F> {
    /// Reads the columns of the matching documents, segment by segment in document order.
    pub fn scan(&self, query: &Q, mut read: impl FnMut(&Segment<'_>) -> Result<()>) -> Result<()> {
        let mut by_segment: BTreeMap<u32, Vec<DocId>> = BTreeMap::new();
        for address in self.searcher.search(&**query, &DocSetCollector)? {
            by_segment.entry(address.segment_ord).or_default().push(address.doc_id);
        }
        let schema = self.searcher.schema();
        for (segment, mut docs) in by_segment {
            docs.sort_unstable();
            read(&Segment { reader: self.searcher.segment_reader(segment), schema, docs: &docs })?;
        }
        Ok(())
    }

    /// The exact sum of a u64 fast field over the matches (saturating), and the match count.
    pub fn exact_sum(&self, query: &Q, field: Field) -> Result<(u64, u64)> {
        let (mut sum, mut matches) = (0u64, 0u64);
        self.scan(query, |segment| {
            for value in segment.u64s(field)? {
                sum = sum.saturating_add(value.unwrap_or(0));
            }
            matches += segment.len() as u64;
            Ok(())
        })?;
        Ok((sum, matches))
    }

    /// The distinct values of a u64 fast field over the matching documents, ascending.
    pub fn distinct_u64(&self, query: &Q, field: Field) -> Result<BTreeSet<u64>> {
        let mut values = BTreeSet::new();
        self.scan(query, |segment| {
            values.extend(segment.u64s(field)?.into_iter().flatten());
            Ok(())
        })?;
        Ok(values)
    }

    /// The distinct values of an i64 fast field over the matching documents, ascending.
    pub fn distinct_i64(&self, query: &Q, field: Field) -> Result<BTreeSet<i64>> {
        let mut values = BTreeSet::new();
        self.scan(query, |segment| {
            values.extend(segment.i64s(field)?.into_iter().flatten());
            Ok(())
        })?;
        Ok(values)
    }
}
