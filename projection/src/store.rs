//! The writer side of the projections (the indexer's projector): every family's index opened or
//! created under one directory with its tokenizers, one writer per index, entities read back and
//! documents added or deleted by key, and commits that carry the last folded log seq as payload.
//!
//! [`Store`] is typed by family and entity ([`Stored`]); a writer needs no tantivy of its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};

use crate::doc_value::MissingField;
use crate::schema::Family;

/// A document of a family's index (an entity converted by [`Store::document`]).
pub type Document = tantivy::TantivyDocument;

/// Writer memory per index.
const WRITER_MEMORY: usize = 32 << 20;

/// A failure of the projections' storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A directory, a commit payload or a stored document is not what it should be.
    #[error("projection: {0}")]
    Projection(String),
    /// tantivy failed.
    #[error("projection index: {0}")]
    Index(#[from] tantivy::TantivyError),
}

/// What the store's operations return.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An entity stored as one document of its family's index.
pub trait Stored: Sized {
    /// The family whose index holds it.
    const FAMILY: Family;
    /// Its family's fields.
    type Fields;
    /// Its family's fields among all of them.
    fn fields(all: &Fields) -> &Self::Fields;
    /// The entity as a document.
    fn to_document(&self, fields: &Self::Fields) -> Document;
    /// The entity read back from its document.
    fn from_document(doc: &Document, fields: &Self::Fields) -> Result<Self, MissingField>;
}

macro_rules! stored {
    ($($entity:ty => $family:ident, $fields:ty, $name:ident;)*) => {
        $(
            impl Stored for $entity {
                const FAMILY: Family = Family::$family;
                type Fields = $fields;
                fn fields(all: &Fields) -> &$fields {
                    &all.$name
                }
                fn to_document(&self, fields: &$fields) -> Document {
                    <$entity>::to_document(self, fields)
                }
                fn from_document(doc: &Document, fields: &$fields) -> Result<Self, MissingField> {
                    <$entity>::from_document(doc, fields)
                }
            }
        )*

        /// Every family's resolved fields, looked up once when the store opens.
        pub struct Fields {
            $( $name: $fields, )*
        }

        impl Fields {
            fn resolve(families: &HashMap<Family, FamilyIndex>) -> Self {
                Self { $( $name: <$fields>::resolve(&families[&Family::$family].schema), )* }
            }
        }
    };
}

crate::schema::with_families!(stored);

/// One family's index, writer and reader.
struct FamilyIndex {
    writer: IndexWriter,
    reader: IndexReader,
    key_field: Field,
    schema: tantivy::schema::Schema,
    /// Last seq folded into the committed index (its commit payload).
    committed_seq: u64,
    /// Whether the index held no document when opened.
    started_empty: bool,
}

impl FamilyIndex {
    fn open(dir: &Path, family: Family) -> Result<Self> {
        let path = dir.join(family.dir_name());
        std::fs::create_dir_all(&path).map_err(|err| StoreError::Projection(format!("{}: {err}", path.display())))?;
        let directory =
            tantivy::directory::MmapDirectory::open(&path).map_err(|err| StoreError::Projection(err.to_string()))?;
        let index = Index::open_or_create(directory, family.schema())?;
        crate::schema::register_tokenizers(&index);
        let committed_seq = index
            .load_metas()?
            .payload
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| StoreError::Projection(format!("{}: bad commit payload", family.dir_name())))?
            .unwrap_or(0);
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let schema = index.schema();
        let key_field = schema.get_field(family.key_field())?;
        let started_empty = reader.searcher().num_docs() == 0;
        Ok(Self { writer, reader, key_field, schema, committed_seq, started_empty })
    }

    fn load(&self, key: &str) -> Result<Option<Document>> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(Term::from_field_text(self.key_field, key), IndexRecordOption::Basic);
        let hits = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        match hits.first() {
            Some((_, address)) => Ok(Some(searcher.doc(*address)?)),
            None => Ok(None),
        }
    }
}

/// Every family's index under one directory, open for writing.
pub struct Store {
    dir: PathBuf,
    families: HashMap<Family, FamilyIndex>,
    fields: Fields,
}

impl Store {
    /// Opens (or creates) every family's index under `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let mut families = HashMap::new();
        for family in Family::ALL {
            families.insert(family, FamilyIndex::open(dir, family)?);
        }
        Ok(Self { dir: dir.to_path_buf(), fields: Fields::resolve(&families), families })
    }

    /// Deletes every index under `dir` (for a rebuild from the log).
    pub fn destroy(dir: &Path) -> Result<()> {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(StoreError::Projection(format!("removing {}: {err}", dir.display()))),
        }
    }

    /// The directory of the indexes.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn family(&self, family: Family) -> &FamilyIndex {
        &self.families[&family]
    }

    fn family_mut(&mut self, family: Family) -> &mut FamilyIndex {
        self.families.get_mut(&family).expect("every family is open")
    }

    /// The smallest committed seq over the families: what a restart resumes after.
    pub fn committed_seq(&self) -> u64 {
        self.families.values().map(|f| f.committed_seq).min().unwrap_or(0)
    }

    /// The seq `family`'s last commit recorded as folded.
    pub fn family_committed_seq(&self, family: Family) -> u64 {
        self.family(family).committed_seq
    }

    /// Whether `family`'s index held no document when opened (a replay or a first backfill):
    /// then an entity not written since cannot be in it.
    pub fn started_empty(&self, family: Family) -> bool {
        self.family(family).started_empty
    }

    /// Treats every family as non-empty from now on.
    pub fn forget_started_empty(&mut self) {
        for family in self.families.values_mut() {
            family.started_empty = false;
        }
    }

    /// The committed entity of `key`, if any.
    pub fn load<T: Stored>(&self, key: &str) -> Result<Option<T>> {
        let Some(doc) = self.family(T::FAMILY).load(key)? else { return Ok(None) };
        T::from_document(&doc, T::fields(&self.fields)).map(Some).map_err(|err| StoreError::Projection(err.to_string()))
    }

    /// `entity` as a document of its family.
    pub fn document<T: Stored>(&self, entity: &T) -> Document {
        entity.to_document(T::fields(&self.fields))
    }

    /// Adds `document` to `family`'s index (at the next commit).
    pub fn add(&mut self, family: Family, document: Document) -> Result<()> {
        self.family_mut(family).writer.add_document(document)?;
        Ok(())
    }

    /// Deletes the documents of `key` from `family`'s index (resolved at the next commit,
    /// against the documents added before it).
    pub fn delete(&mut self, family: Family, key: &str) {
        let family = self.family_mut(family);
        family.writer.delete_term(Term::from_field_text(family.key_field, key));
    }

    /// Commits every index with `seq` as payload (the last log seq folded) and reloads its reader.
    pub fn commit(&mut self, seq: u64) -> Result<()> {
        let payload = seq.to_string();
        for family in self.families.values_mut() {
            let mut prepared = family.writer.prepare_commit()?;
            prepared.set_payload(&payload);
            prepared.commit()?;
            family.committed_seq = seq;
            family.reader.reload()?;
        }
        Ok(())
    }

    /// Waits for background merges to finish (before exiting).
    pub fn finish(self) -> Result<()> {
        for (_, family) in self.families {
            family.writer.wait_merging_threads()?;
        }
        Ok(())
    }
}
