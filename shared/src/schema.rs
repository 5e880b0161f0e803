//! The tantivy projection schemas, shared by the writer (indexer) and the readers (query-api).
//!
//! One index per entity family, in `<data-dir>/projections/<family>`. Every field is stored, so
//! a document is the whole entity snapshot (the projector reloads entity state from it after a
//! restart); filters, sorts and aggregations use fast/indexed fields. The `seq` field orders
//! lists stably: the log seq of the entity's creation.

use tantivy::schema::{Field, Schema, SchemaBuilder, FAST, INDEXED, STORED, STRING, TEXT};

/// An entity family with its own index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// DFPN analysis requests.
    Requests,
    /// DFPN workers.
    Workers,
    /// DFPN detection models.
    Models,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 3] = [Family::Requests, Family::Workers, Family::Models];

    /// The index directory name.
    pub fn dir_name(self) -> &'static str {
        match self {
            Family::Requests => "requests",
            Family::Workers => "workers",
            Family::Models => "models",
        }
    }

    /// The schema of the family's index.
    pub fn schema(self) -> Schema {
        let mut builder = Schema::builder();
        match self {
            Family::Requests => RequestFields::declare(&mut builder),
            Family::Workers => WorkerFields::declare(&mut builder),
            Family::Models => ModelFields::declare(&mut builder),
        }
        builder.build()
    }
}

/// Name of the multi-valued field holding each set modality bit as its own value, so that
/// "supports all of these bits" is a conjunction of term queries.
pub const MODALITY_BITS: &str = "modality_bits";

macro_rules! fields {
    (@add $builder:ident, text, $name:expr, $options:expr) => { $builder.add_text_field($name, $options) };
    (@add $builder:ident, u64, $name:expr, $options:expr) => { $builder.add_u64_field($name, $options) };
    (@add $builder:ident, i64, $name:expr, $options:expr) => { $builder.add_i64_field($name, $options) };
    ($(#[doc = $doc:literal])* $name:ident { $($(#[doc = $fdoc:literal])* $field:ident : $kind:ident ($options:expr)),* $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name {
            $($(#[doc = $fdoc])* pub $field: Field,)*
        }

        impl $name {
            fn declare(builder: &mut SchemaBuilder) {
                $( fields!(@add builder, $kind, stringify!($field), $options); )*
            }

            /// Resolves the fields in a schema built by [`Family::schema`].
            pub fn resolve(schema: &Schema) -> Self {
                Self { $($field: schema.get_field(stringify!($field)).expect(concat!("schema declares ", stringify!($field))),)* }
            }
        }
    };
}

fn key() -> tantivy::schema::TextOptions {
    STRING | STORED | FAST
}
fn text() -> tantivy::schema::TextOptions {
    TEXT | STORED
}
fn number() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(INDEXED | STORED | FAST)
}
fn bits() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(INDEXED)
}

fields! {
    /// Fields of the requests index.
    RequestFields {
        /// Request account (base58), the document id.
        id: text(key()),
        /// Requester public key.
        requester: text(key()),
        /// SHA-256 of the media, hex.
        content_hash: text(key()),
        /// Media location, tokenized for full-text search.
        storage_uri: text(text()),
        /// Modality bitfield.
        modalities: u64(number()),
        /// Each set modality bit.
        modality_bits: u64(bits()),
        /// Status string.
        status: text(key()),
        /// Fee in base units.
        fee_amount: u64(number()),
        /// Reveal deadline (unix seconds).
        deadline: i64(number()),
        /// Commit deadline (unix seconds).
        commit_deadline: i64(number()),
        /// Creation time (unix seconds).
        created_at: i64(number()),
        /// Commits received.
        commit_count: u64(number()),
        /// Reveals received.
        reveal_count: u64(number()),
        /// Log seq of the creation event: list order.
        seq: u64(number()),
    }
}

fields! {
    /// Fields of the workers index.
    WorkerFields {
        /// Worker account (base58), the document id.
        id: text(key()),
        /// Operator public key (unique per worker).
        operator: text(key()),
        /// Stake in base units.
        stake: u64(number()),
        /// Reputation 0-10000.
        reputation: u64(number()),
        /// Modality bitfield.
        modalities: u64(number()),
        /// Each set modality bit.
        modality_bits: u64(bits()),
        /// Status string.
        status: text(key()),
        /// Lifetime successful tasks.
        tasks_completed: u64(number()),
        /// Lifetime failed tasks.
        tasks_failed: u64(number()),
        /// Slot of last activity.
        last_active_slot: u64(number()),
        /// Log seq of the registration: list order.
        seq: u64(number()),
    }
}

fields! {
    /// Fields of the models index.
    ModelFields {
        /// Model account (base58), the document id.
        id: text(key()),
        /// Developer public key.
        developer: text(key()),
        /// Model name, tokenized.
        name: text(text()),
        /// Semantic version.
        version: text(key()),
        /// Modality bitfield.
        modalities: u64(number()),
        /// Each set modality bit.
        modality_bits: u64(bits()),
        /// Weights/code URL, tokenized.
        model_uri: text(text()),
        /// Status string.
        status: text(key()),
        /// Score 0-10000.
        score: u64(number()),
        /// Lifetime uses.
        total_uses: u64(number()),
        /// Registration time (unix seconds).
        created_at: i64(number()),
        /// Log seq of the registration: list order.
        seq: u64(number()),
    }
}
