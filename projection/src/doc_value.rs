//! How a Rust value is written to and read from a tantivy document field, so that entity types
//! can be declared once (see `family!` in [`crate::schema`]) and converted both ways.

use tantivy::schema::{Field, Value};
use tantivy::TantivyDocument;

/// A document that does not hold a field its schema requires (a [`DocValue`] read back as
/// `None`): what reading a stored entity from its document fails with.
#[derive(Debug, thiserror::Error)]
#[error("projection document lacks a valid `{0}` field")]
pub struct MissingField(pub &'static str);

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

/// An absent value writes nothing and reads back as `None`.
impl<T: DocValue> DocValue for Option<T> {
    fn add(&self, doc: &mut TantivyDocument, field: Field) {
        if let Some(value) = self {
            value.add(doc, field);
        }
    }
    fn read(doc: &TantivyDocument, field: Field) -> Option<Self> {
        Some(T::read(doc, field))
    }
}

/// A DFPN modality bitfield, written as one value per set bit (so "supports every bit of M" is a
/// conjunction of term queries) and read back as their union.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Modalities(pub u8);

impl DocValue for Modalities {
    fn add(&self, doc: &mut TantivyDocument, field: Field) {
        for bit in 0..8 {
            if self.0 & (1 << bit) != 0 {
                doc.add_u64(field, 1 << bit);
            }
        }
    }
    fn read(doc: &TantivyDocument, field: Field) -> Option<Self> {
        let bits = doc.get_all(field).map(|value| value.as_u64().and_then(|v| u8::try_from(v).ok()));
        bits.sum::<Option<u8>>().map(Modalities)
    }
}

/// A value stored as its Borsh bytes in a stored-only bytes field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stored<T>(pub T);

impl<T: borsh::BorshSerialize + borsh::BorshDeserialize> DocValue for Stored<T> {
    fn add(&self, doc: &mut TantivyDocument, field: Field) {
        doc.add_bytes(field, &borsh::to_vec(&self.0).expect("borsh writes to a Vec"));
    }
    fn read(doc: &TantivyDocument, field: Field) -> Option<Self> {
        borsh::from_slice(doc.get_first(field)?.as_bytes()?).ok().map(Stored)
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

/// The real Psy string enums, stored in their real spelling.
macro_rules! real_enum_doc_value {
    ($($ty:ty),*) => {$(
        impl DocValue for $ty {
            fn add(&self, doc: &mut TantivyDocument, field: Field) {
                doc.add_text(field, self.as_str());
            }
            fn read(doc: &TantivyDocument, field: Field) -> Option<Self> {
                <$ty>::from_real(doc.get_first(field)?.as_str()?)
            }
        }
    )*};
}

real_enum_doc_value!(
    shared::psy_model::WorkerEventStatus,
    shared::psy_model::WorkerEventSource,
    shared::psy_model::UserEventTxType
);

enum_doc_value!(
    shared::enums::RequestStatus,
    shared::enums::WorkerStatus,
    shared::enums::ModelStatus,
    shared::dfpn::RequestStatus,
    shared::dfpn::ModelStatus
);
