//! `QProvingJobDataID`, the real job id (reference §2.6), and its one string form.
//!
//! In JSON it is the real object `{"topic":0,"goal_id":0,"slot_id":0,"circuit_type":6,
//! "group_id":0,"sub_group_id":0,"task_index":0,"data_type":8,"data_index":0}`, read with or
//! without `slot_id` (absent in `qed_core`, skipped by one version; it is then 0).
//!
//! **String form** (where the API document shows `"job_id": "..."`): the nine fields as decimal
//! numbers in struct order, joined by `-`:
//! `topic-goal_id-slot_id-circuit_type-group_id-sub_group_id-task_index-data_type-data_index`,
//! e.g. `0-100-0-6-0-0-0-8-0`. Numbers have no sign and no leading zeros, so each id has
//! exactly one string (usable as a key) and the string needs no escaping in a URL. Parsing takes
//! that form and also the real JSON object text.

use super::job_enums::{ProvingJobCircuitType, ProvingJobDataType, QJobTopic};
use crate::error::{Error, Result};

/// The longest string form (every field at its maximum) — inputs longer than
/// [`QProvingJobDataID::MAX_TEXT_LEN`] are refused before parsing.
const LONGEST_FORM: usize = 3 + 20 + 20 + 3 + 10 + 10 + 10 + 3 + 3 + 8;

/// The real proving job id.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[serde(remote = "Self")]
pub struct QProvingJobDataID {
    /// Queue topic.
    pub topic: QJobTopic,
    /// Goal id, usually the checkpoint id.
    pub goal_id: u64,
    /// Slot id (0 when the sender omits it).
    #[serde(default)]
    pub slot_id: u64,
    /// Circuit type.
    pub circuit_type: ProvingJobCircuitType,
    /// Group id.
    pub group_id: u32,
    /// Sub-group id.
    pub sub_group_id: u32,
    /// Task index within the group.
    pub task_index: u32,
    /// What the data item is.
    pub data_type: ProvingJobDataType,
    /// Index of the data item.
    pub data_index: u8,
}

impl QProvingJobDataID {
    /// The longest text [`std::str::FromStr`] reads (a JSON object with spaces fits).
    pub const MAX_TEXT_LEN: usize = 512;

    /// The real JSON object form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl crate::field::EventField for QProvingJobDataID {
    fn idl_type() -> serde_json::Value {
        serde_json::json!({ "defined": { "name": "QProvingJobDataID" } })
    }
    /// The real JSON object.
    fn to_json(&self) -> serde_json::Value {
        QProvingJobDataID::to_json(self)
    }
}

impl crate::field::IdlDefinedType for QProvingJobDataID {
    /// An IDL struct of the nine fields; the enums are `u8`, their Borsh form.
    fn idl_definition() -> serde_json::Value {
        use crate::field::{idl_field, EventField};
        let fields = vec![
            idl_field("topic", &["Queue topic (QJobTopic number)."], QJobTopic::idl_type()),
            idl_field("goal_id", &["Goal id, usually the checkpoint id."], u64::idl_type()),
            idl_field("slot_id", &["Slot id."], u64::idl_type()),
            idl_field("circuit_type", &["ProvingJobCircuitType number."], ProvingJobCircuitType::idl_type()),
            idl_field("group_id", &["Group id."], u32::idl_type()),
            idl_field("sub_group_id", &["Sub-group id."], u32::idl_type()),
            idl_field("task_index", &["Task index within the group."], u32::idl_type()),
            idl_field("data_type", &["ProvingJobDataType number."], ProvingJobDataType::idl_type()),
            idl_field("data_index", &["Index of the data item."], u8::idl_type()),
        ];
        crate::field::idl_struct("QProvingJobDataID", &["The real proving job id."], fields)
    }
}

impl std::fmt::Display for QProvingJobDataID {
    /// Writes the string form `topic-goal_id-slot_id-circuit_type-group_id-sub_group_id-task_index-data_type-data_index`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}-{}-{}-{}-{}-{}-{}-{}-{}",
            self.topic.value(),
            self.goal_id,
            self.slot_id,
            self.circuit_type.value(),
            self.group_id,
            self.sub_group_id,
            self.task_index,
            self.data_type.value(),
            self.data_index
        )
    }
}

/// One canonical decimal number (no sign, no leading zero) of at most `T`'s range.
fn number<T: TryFrom<u64>>(part: &str, name: &str) -> Result<T> {
    let canonical = !part.is_empty()
        && part.len() <= 20
        && part.bytes().all(|b| b.is_ascii_digit())
        && (part == "0" || !part.starts_with('0'));
    canonical
        .then(|| part.parse::<u64>().ok())
        .flatten()
        .and_then(|value| T::try_from(value).ok())
        .ok_or_else(|| Error::field("job_id", format!("{name} {part:?} is not a decimal number in range")))
}

/// An enum field given by number.
fn member<T>(part: &str, name: &str, from: fn(u8) -> Option<T>) -> Result<T> {
    from(number::<u8>(part, name)?).ok_or_else(|| Error::field("job_id", format!("{name} {part} is not a known value")))
}

fn parse_form(text: &str) -> Result<QProvingJobDataID> {
    let parts: Vec<&str> = text.split('-').collect();
    let [topic, goal, slot, circuit, group, sub_group, task, data_type, data_index] = parts[..] else {
        return Err(Error::field(
            "job_id",
            format!("expected 9 numbers joined by '-' (topic-goal_id-slot_id-circuit_type-group_id-sub_group_id-task_index-data_type-data_index), got {} part(s)", parts.len()),
        ));
    };
    Ok(QProvingJobDataID {
        topic: member(topic, "topic", QJobTopic::from_value)?,
        goal_id: number(goal, "goal_id")?,
        slot_id: number(slot, "slot_id")?,
        circuit_type: member(circuit, "circuit_type", ProvingJobCircuitType::from_value)?,
        group_id: number(group, "group_id")?,
        sub_group_id: number(sub_group, "sub_group_id")?,
        task_index: number(task, "task_index")?,
        data_type: member(data_type, "data_type", ProvingJobDataType::from_value)?,
        data_index: number(data_index, "data_index")?,
    })
}

impl std::str::FromStr for QProvingJobDataID {
    type Err = Error;
    /// Parses the string form, or the real JSON object text.
    fn from_str(text: &str) -> Result<Self> {
        if text.len() > Self::MAX_TEXT_LEN {
            return Err(Error::field("job_id", format!("longer than {} bytes", Self::MAX_TEXT_LEN)));
        }
        if text.trim_start().starts_with('{') {
            return serde_json::from_str(text).map_err(|err| Error::field("job_id", err.to_string()));
        }
        if text.len() > LONGEST_FORM {
            return Err(Error::field("job_id", format!("longer than the {LONGEST_FORM} characters of the longest id")));
        }
        parse_form(text)
    }
}

impl serde::Serialize for QProvingJobDataID {
    /// Writes the real JSON object.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        Self::serialize(self, serializer)
    }
}

impl<'de> serde::Deserialize<'de> for QProvingJobDataID {
    /// Reads the real JSON object (with or without `slot_id`), or the string form.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = QProvingJobDataID;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a QProvingJobDataID object or its string form")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> std::result::Result<Self::Value, E> {
                if text.len() > LONGEST_FORM {
                    return Err(E::custom("job id string longer than the longest id"));
                }
                parse_form(text).map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
                QProvingJobDataID::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The job id of the real example clients (reference §2.6 and §5).
    const EXAMPLE: &str = r#"{"topic":0,"goal_id":0,"slot_id":0,"circuit_type":6,"group_id":0,"sub_group_id":0,"task_index":0,"data_type":8,"data_index":0}"#;

    fn full() -> QProvingJobDataID {
        QProvingJobDataID {
            topic: QJobTopic::AggregateJobs,
            goal_id: u64::MAX,
            slot_id: 7,
            circuit_type: ProvingJobCircuitType::GUTAVerifyToCapWithCheckpointUpgrade,
            group_id: u32::MAX,
            sub_group_id: 3,
            task_index: 12,
            data_type: ProvingJobDataType::Counter,
            data_index: 255,
        }
    }

    #[test]
    fn reads_and_writes_the_real_object() {
        let id: QProvingJobDataID = serde_json::from_str(EXAMPLE).unwrap_or_else(|_| full());
        assert_eq!(id.circuit_type, ProvingJobCircuitType::UserEndCap);
        assert_eq!(id.data_type, ProvingJobDataType::OutputProof);
        assert_eq!(serde_json::to_string(&id).unwrap_or_default(), EXAMPLE);
        assert_eq!(id.to_string(), "0-0-0-6-0-0-0-8-0");
        let without_slot = r#"{"topic":1,"goal_id":100,"circuit_type":7,"group_id":2,"sub_group_id":0,"task_index":4,"data_type":8,"data_index":1}"#;
        let id: QProvingJobDataID = serde_json::from_str(without_slot).unwrap_or_else(|_| full());
        assert_eq!(id.to_string(), "1-100-0-7-2-0-4-8-1");
        assert_eq!(EXAMPLE.parse::<QProvingJobDataID>().map(|id| id.to_string()), Ok("0-0-0-6-0-0-0-8-0".into()));
    }

    #[test]
    fn string_form_round_trips_at_the_limits() {
        let id = full();
        let text = id.to_string();
        assert_eq!(text, "5-18446744073709551615-7-56-4294967295-3-12-16-255");
        assert_eq!(text.parse::<QProvingJobDataID>(), Ok(id));
        let quoted = serde_json::to_string(&text).unwrap_or_default();
        assert_eq!(serde_json::from_str::<QProvingJobDataID>(&quoted).ok(), Some(id));
        let bytes = borsh::to_vec(&id).unwrap_or_default();
        assert_eq!(bytes.len(), 1 + 8 + 8 + 1 + 4 + 4 + 4 + 1 + 1);
        assert_eq!(borsh::from_slice::<QProvingJobDataID>(&bytes).ok(), Some(id));
    }

    #[test]
    fn refuses_non_canonical_or_unknown_parts() {
        for bad in [
            "",
            "0-0-0-6-0-0-0-8",
            "0-0-0-6-0-0-0-8-0-0",
            "0-00-0-6-0-0-0-8-0",
            "0-+1-0-6-0-0-0-8-0",
            "0-0-0-22-0-0-0-8-0",
            "6-0-0-6-0-0-0-8-0",
            "0-0-0-6-0-0-0-2-0",
            "0-0-0-6-4294967296-0-0-8-0",
            "0-0-0-6-0-0-0-8-256",
            "0-18446744073709551616-0-6-0-0-0-8-0",
            "0 -0-0-6-0-0-0-8-0",
            "0:0:0:6:0:0:0:8:0",
        ] {
            let err = bad.parse::<QProvingJobDataID>();
            assert!(matches!(&err, Err(Error::InvalidField { field, .. }) if field == "job_id"), "{bad:?}: {err:?}");
        }
        assert!("7".repeat(600).parse::<QProvingJobDataID>().is_err());
        assert!(r#"{"topic":0,"goal_id":0}"#.parse::<QProvingJobDataID>().is_err());
        // The psy_api_services README example does not deserialize in the real service either.
        assert!(serde_json::from_str::<QProvingJobDataID>(r#"{"task_id":123,"circuit_type":"AddDeposit"}"#).is_err());
    }

    #[test]
    fn idl_lists_the_fields_in_borsh_order() {
        use crate::field::IdlDefinedType;
        let idl = QProvingJobDataID::idl_definition();
        let names: Vec<&str> = idl["type"]["fields"]
            .as_array()
            .map(|fields| fields.iter().filter_map(|f| f["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            names,
            [
                "topic",
                "goal_id",
                "slot_id",
                "circuit_type",
                "group_id",
                "sub_group_id",
                "task_index",
                "data_type",
                "data_index"
            ]
        );
        assert_eq!(idl["type"]["fields"][3]["type"], "u8");
        assert_eq!(crate::field::EventField::to_json(&full())["circuit_type"], 56);
    }

    #[test]
    fn borsh_carries_the_real_numbers() {
        let id: QProvingJobDataID = serde_json::from_str(EXAMPLE).unwrap_or_else(|_| full());
        let bytes = borsh::to_vec(&id).unwrap_or_default();
        assert_eq!(bytes[0], 0);
        assert_eq!(bytes[17], 6, "circuit type after topic, goal_id and slot_id");
        assert_eq!(bytes[30], 8, "data type after the three u32s");
    }
}
