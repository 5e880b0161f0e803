//! The paged reads of a snapshot: counts, first matches, pages sorted by fast fields (narrowed
//! to a window at either end when that is exact) and fast-field bounds.

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query};
use tantivy::schema::Field;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument};

use super::{Read, ReadError, Result};
use crate::query::{i64_range, text_term, u64_range, Q};
use crate::schema::FromDocument;

impl<F> Read<'_, F> {
    /// A page of the matching entities sorted by a u64 fast field (`page_by`).
    pub fn page<E: FromDocument<Fields = F>>(
        &self,
        query: &Q,
        sort: Field,
        order: Order,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<E>> {
        let docs = page_by(&self.searcher, &**query, self.name(sort), order, limit, offset)?;
        self.load_all(&docs)
    }

    /// A page of the matching entities sorted by two i64 fast fields then a u64 one
    /// (`page_by_keys`).
    pub fn page_by_keys<E: FromDocument<Fields = F>>(
        &self,
        query: &Q,
        keys: (Field, Field, Field),
        order: Order,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<E>> {
        let docs = page_by_keys(&self.searcher, &**query, keys, order, limit, offset)?;
        self.load_all(&docs)
    }

    /// The first `limit` matching entities by an i64 fast field in `order`.
    pub fn top_by_i64<E: FromDocument<Fields = F>>(
        &self,
        query: &Q,
        sort: Field,
        order: Order,
        limit: usize,
    ) -> Result<Vec<E>> {
        let top = TopDocs::with_limit(limit).order_by_fast_field::<i64>(self.name(sort), order);
        let hits = self.searcher.search(&**query, &top)?;
        let docs = load(&self.searcher, hits)?;
        self.load_all(&docs)
    }

    /// The largest value of an i64 fast field over the matching documents.
    pub fn max_i64(&self, query: &Q, field: Field) -> Result<Option<i64>> {
        let top = TopDocs::with_limit(1).order_by_fast_field::<i64>(self.name(field), Order::Desc);
        let hits = self.searcher.search(&**query, &top)?;
        Ok(hits.first().and_then(|(value, _)| *value))
    }

    /// The smallest and largest value of an i64 fast field over every segment (deleted
    /// documents included), or `None` without documents: cheap bounds for planning.
    pub fn i64_bounds(&self, field: Field) -> Result<Option<(i64, i64)>> {
        let name = self.name(field).to_owned();
        bounds(&self.searcher, |fast| fast.i64(&name))
    }
}

/// Number of matching documents.
pub(crate) fn count(searcher: &Searcher, query: &dyn Query) -> Result<u64> {
    Ok(searcher.search(query, &Count)? as u64)
}

/// The first document whose text field equals `value`.
pub(crate) fn first(searcher: &Searcher, field: Field, value: &str) -> Result<Option<TantivyDocument>> {
    let hits = searcher.search(&*text_term(field, value), &TopDocs::with_limit(1).order_by_score())?;
    hits.first().map(|(_, address)| searcher.doc(*address).map_err(ReadError::from)).transpose()
}

/// A page of matching documents sorted by an i64 fast field, then a second i64 fast field, then
/// a u64 fast field (the tie-breaker), all in `order`.
///
/// As [`page_by`], a page at either end is found first among the matches whose first key lies in
/// a narrow window at that end, widened until it holds `offset + limit` matches: the window is
/// exact, since every match outside it sorts after the ones inside on the first key alone.
pub(crate) fn page_by_keys(
    searcher: &Searcher,
    query: &dyn Query,
    keys: (Field, Field, Field),
    order: Order,
    limit: usize,
    offset: usize,
) -> Result<Vec<TantivyDocument>> {
    use tantivy::collector::sort_key::SortByStaticFastValue;
    if limit == 0 || offset as u64 >= searcher.num_docs() {
        return Ok(Vec::new());
    }
    let schema = searcher.schema();
    let (first, second, third) =
        (schema.get_field_name(keys.0), schema.get_field_name(keys.1), schema.get_field_name(keys.2));
    let top = || {
        TopDocs::with_limit(limit).and_offset(offset).order_by((
            (SortByStaticFastValue::<i64>::for_field(first), order),
            (SortByStaticFastValue::<i64>::for_field(second), order),
            (SortByStaticFastValue::<u64>::for_field(third), order),
        ))
    };
    let needed = (offset + limit) as u64;
    let matches = count(searcher, query)?;
    if matches > NARROWING_MIN_FACTOR * needed {
        if let Some((min, max)) = i64_bounds(searcher, first)? {
            let mut share = (NARROWING_MIN_FACTOR * needed) as f64 / matches as f64;
            while share < 1.0 {
                let span = (max.saturating_sub(min) as f64 * share) as i64;
                let window = match order {
                    Order::Desc => i64_range(keys.0, Some(max.saturating_sub(span)), None),
                    Order::Asc => i64_range(keys.0, None, Some(min.saturating_add(span))),
                };
                let narrowed = BooleanQuery::new(vec![(Occur::Must, query.box_clone()), (Occur::Must, window)]);
                let (hits, found) = searcher.search(&narrowed, &(top(), Count))?;
                if found as u64 >= needed {
                    return hits.into_iter().map(|(_, a)| searcher.doc(a).map_err(ReadError::from)).collect();
                }
                share *= NARROWING_GROWTH;
            }
        }
    }
    let hits = searcher.search(query, &top())?;
    hits.into_iter().map(|(_, address)| searcher.doc(address).map_err(ReadError::from)).collect()
}

/// A page of matching documents sorted by a u64 fast field.
///
/// Sorting every match costs a fast-field read per document (≈ 45 ms over a million); a page of
/// the newest or oldest is found first among the matches whose value lies in a narrow window at
/// that end (a fast-field range scan), widened until it holds `offset + limit` matches. The
/// window is exact: when it holds enough matches, every match outside it sorts after them.
pub(crate) fn page_by(
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
    let top = || TopDocs::with_limit(limit).and_offset(offset).order_by_fast_field::<u64>(sort_field, order);
    let needed = (offset + limit) as u64;
    let matches = count(searcher, query)?;
    if matches > NARROWING_MIN_FACTOR * needed {
        if let Some((min, max)) = u64_bounds(searcher, sort_field)? {
            let field = searcher.schema().get_field(sort_field)?;
            let mut share = (NARROWING_MIN_FACTOR * needed) as f64 / matches as f64;
            while share < 1.0 {
                let span = ((max - min) as f64 * share) as u64;
                let window = match order {
                    Order::Desc => u64_range(field, Some(max - span), None),
                    Order::Asc => u64_range(field, None, Some(min + span)),
                };
                let narrowed = BooleanQuery::new(vec![(Occur::Must, query.box_clone()), (Occur::Must, window)]);
                let (hits, found) = searcher.search(&narrowed, &(top(), Count))?;
                if found as u64 >= needed {
                    return load(searcher, hits);
                }
                share *= NARROWING_GROWTH;
            }
        }
    }
    let hits = searcher.search(query, &top())?;
    load(searcher, hits)
}

/// The first window holds this many times the documents a page needs (by the matches' share).
const NARROWING_MIN_FACTOR: u64 = 4;
/// How much a window too narrow grows.
const NARROWING_GROWTH: f64 = 8.0;

fn load<K>(searcher: &Searcher, hits: Vec<(K, DocAddress)>) -> Result<Vec<TantivyDocument>> {
    hits.into_iter().map(|(_, address)| searcher.doc(address).map_err(ReadError::from)).collect()
}

/// The smallest and largest value of a u64 fast field over every segment (deleted documents
/// included), or `None` without documents.
fn u64_bounds(searcher: &Searcher, field: &str) -> Result<Option<(u64, u64)>> {
    bounds(searcher, |fast| fast.u64(field))
}

/// The bounds of an i64 fast field (see [`Read::i64_bounds`]).
fn i64_bounds(searcher: &Searcher, field: &str) -> Result<Option<(i64, i64)>> {
    bounds(searcher, |fast| fast.i64(field))
}

/// The bounds of the column `open` gives in every segment with documents.
pub(crate) fn bounds<T: PartialOrd + Copy + std::fmt::Debug + Send + Sync + 'static>(
    searcher: &Searcher,
    open: impl Fn(&tantivy::fastfield::FastFieldReaders) -> tantivy::Result<tantivy::columnar::Column<T>>,
) -> Result<Option<(T, T)>> {
    let mut bounds: Option<(T, T)> = None;
    for segment in searcher.segment_readers() {
        if segment.num_docs() == 0 {
            continue;
        }
        let column = open(segment.fast_fields())?;
        let (min, max) = (column.min_value(), column.max_value());
        bounds = Some(
            bounds.map_or((min, max), |(lo, hi)| (if min < lo { min } else { lo }, if max > hi { max } else { hi })),
        );
    }
    Ok(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::u64_term;
    use tantivy::query::AllQuery;
    use tantivy::schema::{Schema, FAST, INDEXED, STORED};
    use tantivy::{doc, Index};

    #[test]
    fn narrowed_pages_equal_a_full_sort() {
        let mut builder = Schema::builder();
        let key = builder.add_u64_field("key", INDEXED | STORED | FAST);
        let kind = builder.add_u64_field("kind", INDEXED | STORED | FAST);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 20_000_000).unwrap();
        let mut values = Vec::new();
        let mut state = 7u64;
        for i in 0..20_000u64 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Skewed values with ties: most documents are old, a few are recent.
            let value = if i % 10 == 0 { 1_000_000 + (state >> 50) } else { (state >> 54) * 3 };
            values.push((value, i % 3));
            writer.add_document(doc!(key => value, kind => i % 3)).unwrap();
            if i % 5_000 == 4_999 {
                writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let keys = |docs: Vec<TantivyDocument>| -> Vec<u64> {
            docs.iter().map(|d| d.get_first(key).and_then(|v| tantivy::schema::Value::as_u64(&v)).unwrap()).collect()
        };
        for (filter, order, limit, offset) in [
            (None, Order::Desc, 10, 0),
            (None, Order::Desc, 300, 0),
            (Some(1), Order::Desc, 50, 100),
            (None, Order::Asc, 25, 10),
            (Some(2), Order::Asc, 1_000, 0),
            (None, Order::Desc, 100, 19_950),
        ] {
            let query = match filter {
                Some(k) => u64_term(kind, k),
                None => Box::new(AllQuery) as Box<dyn Query>,
            };
            let mut expected: Vec<u64> =
                values.iter().filter(|(_, k)| filter.is_none_or(|f| f == *k)).map(|(v, _)| *v).collect();
            expected.sort_unstable();
            if order == Order::Desc {
                expected.reverse();
            }
            let expected: Vec<u64> = expected.into_iter().skip(offset).take(limit).collect();
            let page = keys(page_by(&searcher, &*query, "key", order, limit, offset).unwrap());
            assert_eq!(page, expected, "{filter:?} {order:?} limit {limit} offset {offset}");
        }
    }

    #[test]
    fn pages_by_three_keys_equal_a_full_sort() {
        let mut builder = Schema::builder();
        let first = builder.add_i64_field("first", INDEXED | STORED | FAST);
        let second = builder.add_i64_field("second", INDEXED | STORED | FAST);
        let third = builder.add_u64_field("third", INDEXED | STORED | FAST);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 20_000_000).unwrap();
        let mut rows = Vec::new();
        let mut state = 11u64;
        for i in 0..12_000u64 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Few distinct first keys, many ties on the second: the third decides.
            let row = ((state >> 58) as i64 - 8, (state >> 61) as i64 * 1_000_000, i);
            rows.push(row);
            writer.add_document(doc!(first => row.0, second => row.1, third => row.2)).unwrap();
            if i % 4_000 == 3_999 {
                writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let thirds = |docs: Vec<TantivyDocument>| -> Vec<u64> {
            docs.iter().map(|d| d.get_first(third).and_then(|v| tantivy::schema::Value::as_u64(&v)).unwrap()).collect()
        };
        let mut sorted = rows.clone();
        sorted.sort_unstable();
        for (order, limit, offset) in
            [(Order::Desc, 10, 0), (Order::Asc, 300, 0), (Order::Desc, 50, 1_000), (Order::Asc, 7, 11_990)]
        {
            let mut expected: Vec<u64> = sorted.iter().map(|r| r.2).collect();
            if order == Order::Desc {
                expected.reverse();
            }
            let expected: Vec<u64> = expected.into_iter().skip(offset).take(limit).collect();
            let page = page_by_keys(&searcher, &AllQuery, (first, second, third), order, limit, offset).unwrap();
            assert_eq!(thirds(page), expected, "{order:?} limit {limit} offset {offset}");
        }
    }
}
