//! Read-only access to the indexer's tantivy projections.
//!
//! The query service never opens the sled log. An index that does not exist yet (the indexer
//! has not started) is opened on first use after it appears; until then lists are empty and
//! counts are 0. Readers reload shortly after each indexer commit; a failed reload (a merge
//! removed a segment in between) is retried on the next request, never fatal.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use projection::schema::{Family, ResolveFields};
use tantivy::schema::Field;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher};

use crate::error::{ApiError, Result};

/// One family's index and reader.
pub struct FamilyReader {
    /// The index (for its schema).
    pub index: Index,
    reader: IndexReader,
    /// The family's resolved fields struct, resolved on first use.
    fields: OnceLock<Box<dyn std::any::Any + Send + Sync>>,
    /// Per-field totals computed for one searcher generation (search statistics), dropped when
    /// the reader reloads.
    totals: Mutex<(u64, HashMap<Field, u64>)>,
}

impl FamilyReader {
    /// A total over `searcher`'s documents for `field`, computed by `count` once per generation.
    pub fn total_per_generation(
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

    /// The family's fields, resolved once per reader (`F` must be the family's fields struct).
    pub fn fields<F: ResolveFields>(&self) -> &F {
        self.fields
            .get_or_init(|| Box::new(F::resolve_in(&self.index.schema())))
            .downcast_ref::<F>()
            .expect("a reader is asked for its own family's fields")
    }

    /// A searcher over the latest loaded commit.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// The generation of the latest loaded commit: changes whenever the reader reloads.
    pub fn generation(&self) -> u64 {
        self.reader.searcher().generation().generation_id()
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
        let index =
            Index::open_in_dir(&path).map_err(|err| ApiError::Internal(format!("{}: {err}", path.display())))?;
        projection::schema::register_tokenizers(&index);
        let reader = index.reader_builder().reload_policy(ReloadPolicy::OnCommitWithDelay).try_into()?;
        Ok(Some(slot.get_or_init(|| FamilyReader {
            index,
            reader,
            fields: OnceLock::new(),
            totals: Mutex::new((u64::MAX, HashMap::new())),
        })))
    }
}
