//! A session: the program, its facts and the collectors, kept together so
//! that evaluation is incremental. `evaluate` plans, collects and evaluates
//! in rounds: checks are evaluated against the facts collected so far, the
//! facts they asked for but did not find are collected concurrently, and
//! only the checks that read new or changed facts are evaluated again. The
//! same loop serves `mlpol eval`, `mlpol facts` and `mlpol eval --watch`.

use crate::collect::Collectors;
use crate::facts::{Recorded, Snapshot};
use crate::files::Changes;
use crate::program::Program;
use mlpol_lang::db::FactChange;
use mlpol_lang::eval::{self, CheckResult, EvalConfig, FactCall, FactError, FactSource};
use mlpol_lang::value::{Params, Value};
use salsa::Setter;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

/// How many rounds of "evaluate, collect what was missing" before giving up:
/// a chain of facts that each depend on the previous one is rarely longer
/// than three.
pub const MAX_ROUNDS: usize = 16;

/// A collected fact, or why it could not be.
type Collected = Result<Value, FactError>;

pub enum Source {
    Live {
        collectors: Collectors,
        runtime: tokio::runtime::Runtime,
    },
    /// Replay of a snapshot: every fact is there or is an error.
    Replay,
}

pub struct Session {
    pub program: Program,
    config: EvalConfig,
    source: Source,
    /// Facts read by the report (inline ignores, evidence files), outside
    /// the checks, with their calls (none in a replay).
    extra: Mutex<HashMap<String, (Option<FactCall>, Collected)>>,
    /// The call behind each fact in the database, to collect it again.
    calls: Mutex<HashMap<String, FactCall>>,
    pub rounds: usize,
}

impl Session {
    pub fn live(program: Program, params: Params, collectors: Collectors) -> Result<Session, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(collectors.jobs.clamp(1, 4))
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the collector runtime: {e}"))?;
        let config = EvalConfig::new(&program.db, params, 0, false);
        Ok(Session {
            program,
            config,
            source: Source::Live { collectors, runtime },
            extra: Mutex::default(),
            calls: Mutex::default(),
            rounds: 0,
        })
    }

    pub fn replay(mut program: Program, params: Params, snapshot: &Snapshot) -> Session {
        let mut extra = HashMap::new();
        for (key, recorded) in &snapshot.facts {
            let value = match recorded {
                Recorded::Ok(v) => Ok(v.clone()),
                Recorded::Error(e) => Err(e.clone()),
            };
            extra.insert(key.clone(), (None, value.clone()));
            let _ = program.db.set_fact(key, value);
        }
        let config = EvalConfig::new(&program.db, params, 0, true);
        Session {
            program,
            config,
            source: Source::Replay,
            extra: Mutex::new(extra),
            calls: Mutex::default(),
            rounds: 0,
        }
    }

    /// Evaluates the selected checks, collecting facts as they are needed.
    pub fn evaluate(
        &mut self,
        only: Option<&BTreeSet<String>>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Vec<CheckResult> {
        self.rounds = 0;
        if let Source::Live { collectors, .. } = &self.source {
            collectors.begin_phase();
        }
        loop {
            let outcomes = eval::eval_workspace(&self.program.db, self.program.ws, self.config, only);
            self.rounds += 1;
            let mut missing: Vec<FactCall> = Vec::new();
            let mut seen = BTreeSet::new();
            for o in &outcomes {
                for call in &o.missing {
                    if seen.insert(call.key()) {
                        missing.push(call.clone());
                    }
                }
            }
            let Source::Live { collectors, runtime } = &self.source else {
                return outcomes.into_iter().map(|o| o.result).collect();
            };
            if missing.is_empty() {
                return outcomes.into_iter().map(|o| o.result).collect();
            }
            if self.rounds > MAX_ROUNDS {
                return outcomes
                    .into_iter()
                    .map(|o| {
                        let mut r = o.result;
                        if !o.missing.is_empty() {
                            r.status = eval::Status::Error;
                            r.message = format!("its facts depend on each other more than {MAX_ROUNDS} levels deep");
                            r.findings.clear();
                        }
                        r
                    })
                    .collect();
            }
            let collected = collectors.collect_all(runtime, missing, progress);
            let mut added = false;
            for (call, value) in collected {
                let key = call.key();
                added |= self.program.db.set_fact(&key, value) == FactChange::New;
                if let Ok(mut calls) = self.calls.lock() {
                    calls.insert(key, call);
                }
            }
            if added {
                let generation = self.config.generation(&self.program.db);
                let _previous = self.config.set_generation(&mut self.program.db).to(generation + 1);
            }
        }
    }

    /// Collects again every fact already collected that the collectors say
    /// the file changes may have changed (`mlpol eval --watch`); only
    /// changed values invalidate the checks that read them. Returns how many
    /// facts changed.
    pub fn recollect(&mut self, changes: &Changes) -> usize {
        let Source::Live { collectors, runtime } = &self.source else { return 0 };
        collectors.begin_phase();
        let Ok(known) = self.calls.lock() else { return 0 };
        let calls: Vec<FactCall> = known.values().filter(|call| collectors.affected(call, changes)).cloned().collect();
        drop(known);
        let collected = collectors.collect_all(runtime, calls, &mut |_, _| {});
        let mut changed = 0;
        for (call, value) in collected {
            if self.program.db.set_fact(&call.key(), value) != FactChange::Unchanged {
                changed += 1;
            }
        }
        // Report facts (inline ignores, evidence) are read again on demand.
        if let Ok(mut extra) = self.extra.lock() {
            extra.retain(|_, (call, _)| call.as_ref().is_some_and(|call| !collectors.affected(call, changes)));
        }
        changed
    }

    /// Every fact read so far, checks and report alike.
    pub fn snapshot(&self, target: &str) -> Snapshot {
        let mut facts: BTreeMap<String, Recorded> = BTreeMap::new();
        // A key whose arguments hold a secret is recorded redacted: its
        // replay is then an error ("not in the snapshot"), never a leak.
        for (k, v) in self.program.db.facts() {
            facts.insert(crate::redact::line(&k), recorded(&v));
        }
        if let Ok(extra) = self.extra.lock() {
            for (k, (_, v)) in extra.iter() {
                facts.insert(crate::redact::line(k), recorded(v));
            }
        }
        Snapshot { version: Snapshot::VERSION, target: target.to_string(), facts }
    }
}

/// A value as a snapshot keeps it: every string (and map key) through the
/// output redaction, so a snapshot on disk holds no secret in clear. A check
/// that inspects a secret's exact text sees the redacted form on replay.
fn redacted(v: &Value) -> Value {
    use mlpol_lang::value::Kind;
    let kind = match &v.kind {
        Kind::Str(s) => Kind::Str(crate::redact::text(s).into()),
        Kind::List(xs) => Kind::List(std::sync::Arc::new(xs.iter().map(redacted).collect())),
        Kind::Map(entries) => Kind::Map(std::sync::Arc::new(
            entries
                .iter()
                .map(|(k, x)| {
                    let x = match &x.kind {
                        // `password = "…"` in a document: the key says what it is.
                        Kind::Str(s) => {
                            Value { kind: Kind::Str(crate::redact::value_of(k, s).into()), origin: x.origin.clone() }
                        }
                        _ => redacted(x),
                    };
                    (crate::redact::line(k), x)
                })
                .collect(),
        )),
        other => other.clone(),
    };
    Value { kind, origin: v.origin.clone() }
}

fn recorded(v: &Result<Value, FactError>) -> Recorded {
    match v {
        Ok(v) => Recorded::Ok(redacted(v)),
        Err(e) => Recorded::Error(FactError { message: crate::redact::text(&e.message), ..e.clone() }),
    }
}

/// Facts the report reads after evaluation (inline ignores, attestation
/// evidence) are collected on demand and recorded for replay.
impl FactSource for Session {
    fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
        let key = call.key();
        if let Some(v) = self.extra.lock().ok().and_then(|e| e.get(&key).map(|(_, v)| v.clone())) {
            return v;
        }
        let value = match &self.source {
            Source::Live { collectors, runtime } => collectors
                .collect_all(runtime, vec![call.clone()], &mut |_, _| {})
                .pop()
                .map_or_else(|| Err(FactError::new("not collected")), |(_, v)| v),
            Source::Replay => Err(FactError::new(format!("fact `{key}` is not in the snapshot"))),
        };
        if let Ok(mut extra) = self.extra.lock() {
            extra.insert(key, (Some(call.clone()), value.clone()));
        }
        value
    }
}
