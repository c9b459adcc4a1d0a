//! Fact snapshots: what a session collected, on disk (`mlpol facts --out`),
//! replayed by `mlpol eval --facts`.

use mlpol_lang::eval::{FactCall, FactError, FactSource};
use mlpol_lang::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One recorded fact: its value or why it could not be collected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recorded {
    Ok(Value),
    Error(FactError),
}

impl Recorded {
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
