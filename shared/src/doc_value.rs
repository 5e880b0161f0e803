//! How a Rust value is written to and read from a tantivy document field, so that entity types
//! can be declared once (see `psy_family!` in [`crate::schema`]) and converted both ways.

use tantivy::schema::{Field, Value};
use tantivy::TantivyDocument;

use crate::enums::{ProvingJobCircuitType, QJobTopic, UserEventTxType, WorkerEventStatus};

/// A value stored in one document field.
pub trait DocValue: Sized {
    /// Writes the value (nothing for `None`).
    fn add(&self, doc: &mut TantivyDocument, field: Field);
    /// Reads the value back (`None` if absent or of the wrong type).
    fn read(doc: &TantivyDocument, field: Field) -> Option<Self>;
}

impl DocValue for u64 {
    fn add(&self, doc: &mut TantivyDocument, field: Field) {
        doc.add_u64(field, *self);
    }
    fn read(doc: &TantivyDocument, field: Field) -> Option<Self> {
        doc.get_first(field)?.as_u64()
    }
}

impl DocValue for i64 {
    fn add(&self, doc: &mut TantivyDocument, field: Field) {
        doc.add_i64(field, *self);
    }
    fn read(doc: &TantivyDocument, field: Field) -> Option<Self> {
        doc.get_first(field)?.as_i64()
    }
}

impl DocValue for bool {
    fn add(&self, doc: &mut TantivyDocument, field: Field) {
        doc.add_u64(field, u64::from(*self));
    }
    fn read(doc: &TantivyDocument, field: Field) -> Option<Self> {
        Some(doc.get_first(field)?.as_u64()? != 0)
    }
}

impl DocValue for String {
    fn add(&self, doc: &mut TantivyDocument, field: Field) {
        doc.add_text(field, self);
    }
    fn read(doc: &TantivyDocument, field: Field) -> Option<Self> {
        doc.get_first(field)?.as_str().map(str::to_owned)
    }
}

impl DocValue for Option<i64> {
    fn add(&self, doc: &mut TantivyDocument, field: Field) {
        if let Some(value) = self {
            doc.add_i64(field, *value);
        }
    }
    fn read(doc: &TantivyDocument, field: Field) -> Option<Self> {
        Some(doc.get_first(field).and_then(|v| v.as_i64()))
    }
}

macro_rules! enum_doc_value {
    ($($ty:ty),*) => {$(
        impl DocValue for $ty {
            fn add(&self, doc: &mut TantivyDocument, field: Field) {
                doc.add_text(field, self.as_str());
            }
            fn read(doc: &TantivyDocument, field: Field) -> Option<Self> {
                doc.get_first(field)?.as_str()?.parse().ok()
            }
        }
    )*};
}

enum_doc_value!(ProvingJobCircuitType, QJobTopic, UserEventTxType, WorkerEventStatus, crate::enums::JobFilterCategory);
