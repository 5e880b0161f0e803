//! The tantivy projection schemas, shared by the writer (indexer) and the readers (query-api).
//!
//! One index per entity family, in `<data-dir>/projections/<family>`. Every field is stored, so
//! a document is the whole entity snapshot (the projector reloads entity state from it after a
//! restart); filters, sorts and aggregations use fast/indexed fields. The `seq` field orders
//! lists stably: the log seq of the entity's creation.

use tantivy::schema::{Schema, FAST, INDEXED, STORED, STRING};

/// Declares every family once: the [`Family`] enum, [`Family::ALL`], each index's directory name,
/// schema and type-erased resolved fields, the fields structs' [`FamilyFields`], and
/// `with_families!`, which hands the list to a macro of another module (the store's).
macro_rules! families {
    ($( $(#[doc = $doc:literal])* $family:ident = $dir:literal: $module:ident::$entity:ident / $fields:ident, $name:ident; )*) => {
        /// An entity family with its own index.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Family {
            $( $(#[doc = $doc])* $family, )*
        }

        /// How many families there are.
        const FAMILY_COUNT: usize = [$(stringify!($family)),*].len();

        impl Family {
            /// Every family.
            pub const ALL: [Family; FAMILY_COUNT] = [$(Family::$family),*];

            /// The index directory name.
            pub fn dir_name(self) -> &'static str {
                match self {
                    $( Family::$family => $dir, )*
                }
            }

            /// The schema of the family's index.
            pub fn schema(self) -> Schema {
                let mut builder = Schema::builder();
                match self {
                    $( Family::$family => $module::$fields::declare(&mut builder), )*
                }
                builder.build()
            }

            /// The family's fields struct resolved in `schema`, type-erased (a reader holds one
            /// per family and hands it out typed).
            pub fn resolve_any(self, schema: &Schema) -> Box<dyn std::any::Any + Send + Sync> {
                match self {
                    $( Family::$family => Box::new($module::$fields::resolve(schema)), )*
                }
            }
        }

        $(impl FamilyFields for $module::$fields {
            const FAMILY: Family = Family::$family;
        })*

        /// Calls `$callback! { module::Entity => Family, module::Fields, name; ... }` with every
        /// family.
        macro_rules! with_families {
            ($callback:ident) => {
                $callback! { $( crate::schema::$module::$entity => $family, crate::schema::$module::$fields, $name; )* }
            };
        }
        pub(crate) use with_families;
    };
}

families! {
    /// DFPN analysis requests.
    Requests = "requests": dfpn::Request / RequestFields, requests;
    /// DFPN workers.
    Workers = "workers": dfpn::Worker / WorkerFields, workers;
    /// DFPN detection models.
    Models = "models": dfpn::Model / ModelFields, models;
    /// Psy registered users.
    Users = "users": psy::User / UserFields, users;
    /// Psy user events (registrations, deployments, transactions), one document per event.
    UserEvents = "user_events": psy::UserEvent / UserEventFields, user_events;
    /// Psy proving-job worker events, one document per event.
    WorkerEvents = "worker_events": psy::WorkerEvent / WorkerEventFields, worker_events;
    /// Psy proving jobs folded from their worker events (start, end, duration, final status).
    Jobs = "jobs": psy::Job / JobFields, jobs;
    /// Psy checkpoints.
    Checkpoints = "checkpoints": psy::Checkpoint / CheckpointFields, checkpoints;
    /// Psy deployed contracts.
    Contracts = "contracts": psy::Contract / ContractFields, contracts;
    /// Cluster telemetry: one document per performance sample, updated by every poll.
    Telemetry = "telemetry": psy::TelemetrySample / TelemetrySampleFields, telemetry;
    /// Psy reward distributions (one per rewarded job), from the reward calculation.
    RewardDistributions = "reward_distributions": psy::RewardDistribution / RewardDistributionFields, reward_distributions;
    /// Psy checkpoints whose rewards were calculated, one document per checkpoint.
    RewardRuns = "reward_runs": psy::RewardRun / RewardRunFields, reward_runs;
}

impl Family {
    /// The field that identifies an entity's document (its key in the projector): the worker's
    /// operator for workers (every worker event names it; the account is derived from it),
    /// `id` elsewhere.
    pub fn key_field(self) -> &'static str {
        match self {
            Family::Workers => "operator",
            _ => "id",
        }
    }
}

/// A family's fields struct, resolved from its index's schema (readers resolve it once).
pub trait ResolveFields: Sized + Send + Sync + 'static {
    /// Resolves every field in `schema`.
    fn resolve_in(schema: &Schema) -> Self;
}

/// A fields struct with the family it belongs to (readers find a family's snapshot by it).
pub trait FamilyFields: ResolveFields {
    /// The family whose index these fields are of.
    const FAMILY: Family;
}

/// An entity read back from its family's documents.
pub trait FromDocument: Sized {
    /// The fields struct of its family.
    type Fields;
    /// Reads the entity from its document.
    fn from_document(doc: &tantivy::TantivyDocument, f: &Self::Fields) -> Result<Self, crate::doc_value::MissingField>;
}

/// Name of the tokenizer of URIs, content ids and model names: splits on every character that
/// is not a letter or digit, lowercases, and keeps long tokens (tantivy's default drops tokens
/// over 40 bytes, which loses Arweave ids and IPFS CIDs).
pub const WORDS_TOKENIZER: &str = "dfpn_words";
/// Longest token kept by [`WORDS_TOKENIZER`] (tantivy's hard limit is 65,530 bytes).
const MAX_TOKEN_BYTES: usize = 255;

fn words_analyzer() -> tantivy::tokenizer::TextAnalyzer {
    use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .build()
}

/// Registers the projections' tokenizers on an opened index (writer and readers alike).
pub fn register_tokenizers(index: &tantivy::Index) {
    index.tokenizers().register(WORDS_TOKENIZER, words_analyzer());
}

/// Tokenizes `text` as [`WORDS_TOKENIZER`] does (the query side builds phrase queries from it).
pub fn words(text: &str) -> Vec<String> {
    let mut analyzer = words_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

macro_rules! fields {
    (@add $builder:ident, text, $name:expr, $options:expr) => { $builder.add_text_field($name, $options) };
    (@add $builder:ident, u64, $name:expr, $options:expr) => { $builder.add_u64_field($name, $options) };
    (@add $builder:ident, i64, $name:expr, $options:expr) => { $builder.add_i64_field($name, $options) };
    (@add $builder:ident, bool, $name:expr, $options:expr) => { $builder.add_u64_field($name, $options) };
    (@add $builder:ident, bytes, $name:expr, $options:expr) => { $builder.add_bytes_field($name, $options) };
    ($(#[$meta:meta])* $name:ident { $($(#[doc = $fdoc:literal])* $field:ident : $kind:ident ($options:expr)),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name {
            $($(#[doc = $fdoc])* pub $field: Field,)*
        }

        impl $name {
            pub(crate) fn declare(builder: &mut SchemaBuilder) {
                $( fields!(@add builder, $kind, stringify!($field), $options); )*
            }

            /// Resolves the fields in a schema built by [`crate::schema::Family::schema`].
            pub fn resolve(schema: &Schema) -> Self {
                Self { $($field: schema.get_field(stringify!($field)).expect(concat!("schema declares ", stringify!($field))),)* }
            }
        }

        impl $crate::schema::ResolveFields for $name {
            fn resolve_in(schema: &Schema) -> Self {
                Self::resolve(schema)
            }
        }
    };
}

fn key() -> tantivy::schema::TextOptions {
    STRING | STORED | FAST
}
fn words_text() -> tantivy::schema::TextOptions {
    let indexing = tantivy::schema::TextFieldIndexing::default()
        .set_tokenizer(WORDS_TOKENIZER)
        .set_index_option(tantivy::schema::IndexRecordOption::WithFreqsAndPositions);
    tantivy::schema::TextOptions::default().set_indexing_options(indexing).set_stored()
}
fn stored_bytes() -> tantivy::schema::BytesOptions {
    tantivy::schema::BytesOptions::default().set_stored()
}
fn number() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(INDEXED | STORED | FAST)
}
fn stored() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(STORED)
}
fn bits() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(INDEXED | STORED)
}

/// Declares a family whose entity is stored field by field: the fields struct, the entity
/// struct, and the conversions between them.
macro_rules! family {
    (
        $(#[doc = $doc:literal])* $entity:ident / $fields:ident {
            $( $(#[doc = $fdoc:literal])* $field:ident : $ty:ty => $kind:ident ($options:expr) ),* $(,)?
        }
    ) => {
        fields! {
            #[doc = concat!("Fields of the [`", stringify!($entity), "`] index.")]
            $fields { $( $(#[doc = $fdoc])* $field: $kind($options) ),* }
        }

        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $entity {
            $( $(#[doc = $fdoc])* pub $field: $ty, )*
        }

        impl $entity {
            /// The entity as a document of its index.
            pub fn to_document(&self, f: &$fields) -> tantivy::TantivyDocument {
                let mut doc = tantivy::TantivyDocument::new();
                $( $crate::doc_value::DocValue::add(&self.$field, &mut doc, f.$field); )*
                doc
            }

            /// Reads the entity back from its document.
            pub fn from_document(doc: &tantivy::TantivyDocument, f: &$fields) -> Result<Self, $crate::doc_value::MissingField> {
                Ok(Self {
                    $( $field: <$ty as $crate::doc_value::DocValue>::read(doc, f.$field)
                        .ok_or($crate::doc_value::MissingField(stringify!($field)))?, )*
                })
            }
        }

        impl $crate::schema::FromDocument for $entity {
            type Fields = $fields;
            fn from_document(doc: &tantivy::TantivyDocument, f: &$fields) -> Result<Self, $crate::doc_value::MissingField> {
                $entity::from_document(doc, f)
            }
        }
    };
}

pub mod dfpn;
pub mod psy;
