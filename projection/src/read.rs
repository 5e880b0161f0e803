//! The reader side of the projections: each family's index opened read-only, its fields
//! resolved once when it opens, and typed snapshots ([`Read`]) that hand out a searcher with
//! those fields.
//!
//! A reader never opens the sled log. An index that does not exist yet (the indexer has not
//! started) is opened on first use after it appears; until then [`Projections::read`] answers
//! `None`. Readers reload shortly after each indexer commit; a failed reload (a merge removed a
//! segment in between) is retried on the next request, never fatal.

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tantivy::schema::Field;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument};

use crate::doc_value::MissingField;
use crate::query::Q;
use crate::schema::{Family, FamilyFields, FromDocument};

/// A failed read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    /// The query cannot run as asked (a query the parser accepted over a field without the
    /// needed index, a malformed search): the caller's mistake.
    #[error("{0}")]
    BadQuery(String),
    /// The index failed, or a stored document lacks a declared field.
    #[error("{0}")]
    Internal(String),
}

impl From<tantivy::TantivyError> for ReadError {
    fn from(err: tantivy::TantivyError) -> Self {
        ReadError::Internal(err.to_string())
    }
}

impl From<MissingField> for ReadError {
    fn from(err: MissingField) -> Self {
        ReadError::Internal(err.to_string())
    }
}

/// Result of a read.
pub type Result<T, E = ReadError> = std::result::Result<T, E>;

/// One family's index and reader, with its fields resolved when it opened.
pub struct FamilyReader {
    index: Index,
    reader: IndexReader,
    fields: Box<dyn Any + Send + Sync>,
    /// Per-field totals computed for one searcher generation (search statistics), dropped when
    /// the reader reloads.
    totals: Mutex<(u64, HashMap<Field, u64>)>,
}

impl FamilyReader {
    fn open(family: Family, path: &Path) -> Result<Self> {
        let index =
            Index::open_in_dir(path).map_err(|err| ReadError::Internal(format!("{}: {err}", path.display())))?;
        crate::schema::register_tokenizers(&index);
        let reader = index.reader_builder().reload_policy(ReloadPolicy::OnCommitWithDelay).try_into()?;
        let fields = family.resolve_any(&index.schema());
        Ok(Self { index, reader, fields, totals: Mutex::new((u64::MAX, HashMap::new())) })
    }

    /// A total over `searcher`'s documents for `field`, computed by `count` once per generation.
    pub(crate) fn total_per_generation(
        &self,
        searcher: &Searcher,
        field: Field,
        count: impl FnOnce() -> tantivy::Result<u64>,
    ) -> tantivy::Result<u64> {
        let generation = searcher.generation().generation_id();
        let known = {
            let totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
            (totals.0 == generation).then(|| totals.1.get(&field).copied()).flatten()
        };
        if let Some(total) = known {
            return Ok(total);
        }
        let total = count()?;
        let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        if totals.0 != generation {
            *totals = (generation, HashMap::new());
        }
        totals.1.insert(field, total);
        Ok(total)
    }

    /// The index (its schema and tokenizers, for the query parser).
    pub(crate) fn index(&self) -> &Index {
        &self.index
    }

    /// The generation of the latest loaded commit: changes whenever the reader reloads.
    pub fn generation(&self) -> u64 {
        self.reader.searcher().generation().generation_id()
    }

    /// Documents in the latest loaded commit.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

/// The projections directory and its lazily opened readers.
pub struct Projections {
    dir: PathBuf,
    readers: [OnceLock<FamilyReader>; Family::ALL.len()],
}

impl Projections {
    /// Projections under `dir` (`<data-dir>/projections`).
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), readers: Default::default() }
    }

    /// The reader of a family, or `None` while its index does not exist.
    pub fn family(&self, family: Family) -> Result<Option<&FamilyReader>> {
        let slot = &self.readers[Family::ALL.iter().position(|f| *f == family).expect("family listed")];
        if let Some(reader) = slot.get() {
            return Ok(Some(reader));
        }
        let path = self.dir.join(family.dir_name());
        if !path.join("meta.json").exists() {
            return Ok(None);
        }
        let reader = FamilyReader::open(family, &path)?;
        Ok(Some(slot.get_or_init(|| reader)))
    }

    /// A snapshot of the family whose fields struct is `F` (its latest loaded commit), or `None`
    /// while its index does not exist.
    pub fn read<F: FamilyFields>(&self) -> Result<Option<Read<'_, F>>> {
        Ok(self.family(F::FAMILY)?.map(Read::of))
    }

    /// The generation of a family's reader, `None` while its index does not exist.
    pub fn generation(&self, family: Family) -> Result<Option<u64>> {
        Ok(self.family(family)?.map(FamilyReader::generation))
    }
}

/// A snapshot of one family: a searcher over one commit with the family's resolved fields.
pub struct Read<'a, F> {
    /// The family's fields.
    pub f: &'a F,
    pub(crate) searcher: Searcher,
    pub(crate) reader: &'a FamilyReader,
}

impl<'a, F: FamilyFields> Read<'a, F> {
    fn of(reader: &'a FamilyReader) -> Self {
        let f = reader.fields.downcast_ref::<F>().expect("a reader holds its own family's fields");
        Self { f, searcher: reader.reader.searcher(), reader }
    }
}

impl<F> Read<'_, F> {
    /// The name `field` is declared with.
    pub fn name(&self, field: Field) -> &str {
        self.searcher.schema().get_field_name(field)
    }

    /// Documents in the snapshot.
    pub fn num_docs(&self) -> u64 {
        self.searcher.num_docs()
    }

    /// Number of matching documents.
    pub fn count(&self, query: &Q) -> Result<u64> {
        page::count(&self.searcher, &**query)
    }

    /// Reads the entity `E` of this family from `doc`.
    pub(crate) fn load<E: FromDocument<Fields = F>>(&self, doc: &TantivyDocument) -> Result<E> {
        Ok(E::from_document(doc, self.f)?)
    }

    /// Loads the entities of `docs`.
    pub(crate) fn load_all<E: FromDocument<Fields = F>>(&self, docs: &[TantivyDocument]) -> Result<Vec<E>> {
        docs.iter().map(|doc| self.load(doc)).collect()
    }

    /// The entity of the first document whose text field equals `value`.
    pub fn first<E: FromDocument<Fields = F>>(&self, field: Field, value: &str) -> Result<Option<E>> {
        page::first(&self.searcher, field, value)?.map(|doc| self.load(&doc)).transpose()
    }
}

mod columns;
mod page;
mod search;

pub use columns::Segment;
