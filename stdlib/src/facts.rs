//! Where the evaluator's facts come from: [`LiveFacts`] asks the collectors
//! (once per fact key) and records what it saw; [`Snapshot`] is that record
//! on disk (`mlpol facts --out`), replayed by `mlpol eval --facts`.

use crate::files::Repo;
use mlpol_lang::eval::{FactCall, FactError, FactSource};
use mlpol_lang::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One recorded fact: its value or why it could not be collected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recorded {
    Ok(Value),
    Error(FactError),
}

impl Recorded {
    fn from_result(r: &Result<Value, FactError>) -> Recorded {
        match r {
            Ok(v) => Recorded::Ok(v.clone()),
            Err(e) => Recorded::Error(e.clone()),
        }
    }
    fn to_result(&self) -> Result<Value, FactError> {
        match self {
            Recorded::Ok(v) => Ok(v.clone()),
            Recorded::Error(e) => Err(e.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub target: String,
    pub facts: BTreeMap<String, Recorded>,
}

impl Snapshot {
    pub const VERSION: u32 = 1;
}

impl FactSource for Snapshot {
    fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
        let key = call.key();
        match self.facts.get(&key) {
            Some(r) => r.to_result(),
            None => Err(FactError::new(format!("fact `{key}` is not in the snapshot"))),
        }
    }
}

/// Facts collected from the target on demand, each once.
pub struct LiveFacts {
    repo: Repo,
    seen: Mutex<BTreeMap<String, Result<Value, FactError>>>,
}

impl LiveFacts {
    pub fn new(repo: Repo) -> LiveFacts {
        LiveFacts { repo, seen: Mutex::new(BTreeMap::new()) }
    }

    /// Everything collected so far, as a snapshot.
    pub fn snapshot(&self, target: &str) -> Snapshot {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        Snapshot {
            version: Snapshot::VERSION,
            target: target.to_string(),
            facts: seen.iter().map(|(k, r)| (k.clone(), Recorded::from_result(r))).collect(),
        }
    }
}

impl FactSource for LiveFacts {
    fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
        let key = call.key();
        if let Some(r) = self.seen.lock().ok().and_then(|s| s.get(&key).cloned()) {
            return r;
        }
        let result = self.repo.fact(call);
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(key, result.clone());
        }
        result
    }
}
