//! Answers of the heaviest read endpoints (time-bucket aggregations over every event), kept
//! while the index they read is unchanged: an entry is valid for one searcher generation of its
//! family, so a dashboard asking the same question many times a second costs one computation per
//! indexer commit, and no answer is ever older than the projections it is served with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::Result;

/// Entries kept before the cache is emptied (bounded memory; dashboards ask few questions).
const MAX_ENTRIES: usize = 512;
/// Bytes of the answers kept (as JSON text) before the cache is emptied: varied requests of large
/// answers (many buckets) keep the cache small in memory, not only in entries.
const MAX_BYTES: usize = 1 << 20;

/// Answers by request, each with the index generation it was computed at.
#[derive(Default)]
pub struct AnswerCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    answers: HashMap<String, (u64, Arc<[u8]>)>,
    bytes: usize,
}

impl AnswerCache {
    /// The answer to `key` at index `generation`, computed when not cached for it.
    pub fn get_or_compute(
        &self,
        key: String,
        generation: u64,
        compute: impl FnOnce() -> Result<Value>,
    ) -> Result<Value> {
        let cached = match self.lock().answers.get(&key) {
            Some((cached_generation, text)) if *cached_generation == generation => Some(text.clone()),
            _ => None,
        };
        if let Some(answer) = cached.and_then(|text| serde_json::from_slice(&text).ok()) {
            return Ok(answer);
        }
        let answer = compute()?;
        let Ok(text) = serde_json::to_vec(&answer) else { return Ok(answer) };
        let bytes = key.len() + text.len();
        if bytes > MAX_BYTES / 4 {
            return Ok(answer);
        }
        let mut entries = self.lock();
        if entries.answers.len() >= MAX_ENTRIES || entries.bytes + bytes > MAX_BYTES {
            *entries = Entries::default();
        }
        let key_bytes = key.len();
        if let Some((_, replaced)) = entries.answers.insert(key, (generation, text.into())) {
            entries.bytes = entries.bytes.saturating_sub(key_bytes + replaced.len());
        }
        entries.bytes += bytes;
        Ok(answer)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A cache key for a request: its path and its parameters in a stable order.
pub fn request_key(path: &str, query: &HashMap<String, String>) -> String {
    let mut pairs: Vec<_> = query.iter().collect();
    pairs.sort();
    let mut key = path.to_owned();
    for (name, value) in pairs {
        key.push('&');
        key.push_str(name);
        key.push('=');
        key.push_str(value);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_reused_only_within_their_generation() {
        let cache = AnswerCache::default();
        let mut computed = 0;
        let mut ask = |generation| {
            cache
                .get_or_compute("q".into(), generation, || {
                    computed += 1;
                    Ok(Value::from(generation))
                })
                .unwrap()
        };
        assert_eq!(ask(1), Value::from(1));
        assert_eq!(ask(1), Value::from(1));
        assert_eq!(ask(2), Value::from(2), "a new generation recomputes");
        assert_eq!(computed, 2);
        let big = Value::String("x".repeat(MAX_BYTES / 4));
        let stored = cache.get_or_compute("big".into(), 1, || Ok(big.clone())).unwrap();
        assert_eq!(stored, big);
        assert!(!cache.lock().answers.contains_key("big"), "an answer too large is not kept");
        assert!(cache.lock().bytes <= MAX_BYTES);
        let a = request_key("/x", &HashMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]));
        assert_eq!(a, "/x&a=1&b=2");
    }
}
