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

/// Answers by request, each with the index generation it was computed at.
#[derive(Default)]
pub struct AnswerCache {
    entries: Mutex<HashMap<String, (u64, Arc<Value>)>>,
}

impl AnswerCache {
    /// The answer to `key` at index `generation`, computed when not cached for it.
    pub fn get_or_compute(
        &self,
        key: String,
        generation: u64,
        compute: impl FnOnce() -> Result<Value>,
    ) -> Result<Value> {
        if let Some((cached_generation, answer)) = self.lock().get(&key) {
            if *cached_generation == generation {
                return Ok(Value::clone(answer));
            }
        }
        let answer = compute()?;
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (generation, Arc::new(answer.clone())));
        Ok(answer)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Arc<Value>)>> {
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
        let a = request_key("/x", &HashMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]));
        assert_eq!(a, "/x&a=1&b=2");
    }
}
