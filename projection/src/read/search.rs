//! Relevance search of the DFPN families (`/requests/search`, `/models/search`): a query of one
//! word is taken literally, anything else is tantivy query syntax; scored by BM25 over the
//! documents that count, equal scores newest creation first.

use tantivy::collector::TopDocs;
use tantivy::query::{Bm25StatisticsProvider, BooleanQuery, Occur, PhraseQuery, Query, QueryParser, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, Searcher, Term, TERMINATED};

use super::{FamilyReader, Read, ReadError, Result};
use crate::schema::FromDocument;

impl<F> Read<'_, F> {
    /// The best `limit` matches of `q` over the text `fields` by relevance, equal scores newest
    /// `created` first: the same answer live and after a replay, however the index is segmented.
    /// A query that cannot be parsed or run is [`ReadError::BadQuery`].
    pub fn search<E: FromDocument<Fields = F>>(
        &self,
        fields: &[Field],
        created: Field,
        q: &str,
        limit: usize,
    ) -> Result<Vec<E>> {
        let query = search_query(self.reader, fields, q)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = &self.searcher;
        let created = self.name(created).to_owned();
        let ranked = TopDocs::with_limit(limit).tweak_score(move |segment: &tantivy::SegmentReader| {
            let versions = segment.fast_fields().u64(&created).ok().map(|column| column.first_or_default_col(0));
            move |doc: tantivy::DocId, score: tantivy::Score| {
                (score, versions.as_ref().map_or(0, |column| column.get_val(doc)))
            }
        });
        let statistics = AliveStatistics { reader: self.reader, searcher };
        let hits = searcher.search_with_statistics_provider(&query, &ranked, &statistics).map_err(unrunnable)?;
        let docs = hits
            .into_iter()
            .map(|(_, address)| searcher.doc(address).map_err(ReadError::from))
            .collect::<Result<Vec<_>>>()?;
        self.load_all(&docs)
    }
}

/// The query of a search. A query of one word (no whitespace) that does not start with a
/// searched field's name and `:` is taken literally, as users paste a URI, a content id or a
/// model name: the phrase of its words (what the index tokenizer makes of it) in any searched
/// field, so a leading `-` or a `:` is no query syntax. Anything else is tantivy query syntax.
fn search_query(reader: &FamilyReader, fields: &[Field], q: &str) -> Result<Box<dyn Query>> {
    let q = q.trim();
    let schema = reader.index().schema();
    let field_syntax = fields
        .iter()
        .any(|field| q.strip_prefix(schema.get_field_name(*field)).is_some_and(|rest| rest.starts_with(':')));
    if q.contains(char::is_whitespace) || field_syntax {
        let parser = QueryParser::for_index(reader.index(), fields.to_vec());
        return parser.parse_query(q).map_err(|err| ReadError::BadQuery(format!("invalid search syntax: {err}")));
    }
    let words = crate::schema::words(q);
    if words.is_empty() {
        return Err(ReadError::BadQuery(format!("`q` {q:?} has no letters or digits to search for")));
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

/// A query tantivy parsed but cannot run (`field:*` over a field without fast values, a field
/// the schema lacks) is the user's query. Index failures stay internal.
fn unrunnable(err: tantivy::TantivyError) -> ReadError {
    match err {
        tantivy::TantivyError::FieldNotFound(_)
        | tantivy::TantivyError::SchemaError(_)
        | tantivy::TantivyError::InvalidArgument(_) => {
            ReadError::BadQuery(format!("invalid search: this query cannot be run ({err})"))
        }
        other => ReadError::from(other),
    }
}
