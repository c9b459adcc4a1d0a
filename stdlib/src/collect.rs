//! Collectors: the only code that touches the world. Each answers the fact
//! calls of its namespaces asynchronously; [`Collectors`] runs a batch of
//! calls concurrently on tokio with a concurrency limit and a timeout per
//! fact, and turns `--offline` into `skip` for network facts.

use crate::files::{Changes, Repo};
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::types::Schema;
use mlpol_lang::value::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type FactFuture = Pin<Box<dyn Future<Output = Result<Value, FactError>> + Send + 'static>>;

pub trait Collector: Send + Sync {
    /// The namespaces whose calls this collector answers.
    fn namespaces(&self) -> &[&str];
    /// Collects one fact. Dropping the future cancels the work that can be
    /// cancelled (blocking file reads finish in the background).
    fn collect(&self, call: FactCall) -> FactFuture;
    /// Whether a fact this collector answered may have changed when files
    /// of the target changed (`mlpol eval --watch`). Facts that read no file
    /// of the target (network, host) never do.
    fn affected(&self, _call: &FactCall, _changes: &Changes) -> bool {
        false
    }
}

/// The file tree and documents of the target.
pub struct FileCollector {
    repo: Arc<Repo>,
}

impl FileCollector {
    pub fn new(repo: Arc<Repo>) -> FileCollector {
        FileCollector { repo }
    }
}

impl Collector for FileCollector {
    fn namespaces(&self) -> &[&str] {
        &["files", "doc", "secrets", "git"]
    }
    fn collect(&self, call: FactCall) -> FactFuture {
        let repo = self.repo.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || repo.fact(&call)).await {
                Ok(r) => r,
                Err(e) => Err(FactError::new(format!("the file collector failed: {e}"))),
            }
        })
    }
    fn affected(&self, call: &FactCall, changes: &Changes) -> bool {
        self.repo.affected(call, changes)
    }
}

/// What the standard collectors take from the command line and mlpol.toml.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The bound on one network request (connect to last byte); a whole fact
    /// is also bounded by [`Collectors::timeout`].
    pub timeout: Duration,
    /// An OSV-format advisory database (a directory or a zip) for
    /// `deps.vulnerabilities()` without the network (`--advisory-db`).
    pub advisory_db: Option<std::path::PathBuf>,
    /// `--offline`: network facts are `skip`. [`Collectors`] enforces it for
    /// the schema's network functions; a collector that can answer some
    /// calls offline (vulnerabilities from `advisory_db`) reads it here.
    pub offline: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { timeout: Duration::from_secs(10), advisory_db: None, offline: false }
    }
}

/// Every collector mlpol ships, over one target.
pub fn standard(repo: Arc<Repo>, settings: &Settings) -> Vec<Arc<dyn Collector>> {
    vec![
        Arc::new(FileCollector::new(repo.clone())),
        Arc::new(crate::http::HttpCollector::new(settings)),
        Arc::new(crate::buckets::BucketCollector::new(settings)),
        Arc::new(crate::host::HostCollector::new(settings)),
        Arc::new(crate::deps::DepsCollector::new(repo, settings)),
    ]
}

/// Facts given in advance, for unit tests of a layer.
pub struct MemoryCollector {
    pub namespaces: Vec<&'static str>,
    pub facts: BTreeMap<String, Result<Value, FactError>>,
}

impl Collector for MemoryCollector {
    fn namespaces(&self) -> &[&str] {
        &self.namespaces
    }
    fn collect(&self, call: FactCall) -> FactFuture {
        let key = call.key();
        let r = self.facts.get(&key).cloned().unwrap_or_else(|| Err(FactError::new(format!("no fact `{key}`"))));
        Box::pin(async move { r })
    }
}

pub struct Collectors {
    collectors: Vec<Arc<dyn Collector>>,
    schema: Arc<Schema>,
    pub offline: bool,
    pub jobs: usize,
    /// The bound on one fact.
    pub timeout: Duration,
    /// The bound on a whole collection phase (every round of one
    /// evaluation): facts still running or queued when it is spent fail.
    pub phase_timeout: Duration,
    /// When the current phase ends; set by [`Collectors::begin_phase`].
    deadline: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Collectors {
    pub fn new(schema: Arc<Schema>, collectors: Vec<Arc<dyn Collector>>) -> Collectors {
        Collectors {
            collectors,
            schema,
            offline: false,
            jobs: 8,
            timeout: Duration::from_secs(30),
            phase_timeout: Duration::from_secs(300),
            deadline: std::sync::Mutex::new(None),
        }
    }

    /// Starts a collection phase: from now on, [`Collectors::collect_all`]
    /// gives up on facts after `phase_timeout`.
    pub fn begin_phase(&self) {
        if let Ok(mut d) = self.deadline.lock() {
            *d = tokio::time::Instant::now().checked_add(self.phase_timeout);
        }
    }

    fn start(&self, call: FactCall) -> FactFuture {
        let network = self.schema.fact_fn(&call.namespace, &call.name).is_some_and(|f| f.network);
        if network && self.offline {
            let e = FactError { message: "not collected: --offline".to_string(), origin: None, skipped: true };
            return Box::pin(async move { Err(e) });
        }
        match self.collector_for(&call.namespace) {
            Some(c) => {
                let timeout = self.timeout;
                let key = call.key();
                let fut = c.collect(call);
                Box::pin(async move {
                    match tokio::time::timeout(timeout, fut).await {
                        Ok(r) => r,
                        Err(_) => Err(FactError::new(format!("`{key}` timed out after {}s", timeout.as_secs_f64()))),
                    }
                })
            }
            None => {
                let e = FactError::new(format!("no collector for `{}`", call.namespace));
                Box::pin(async move { Err(e) })
            }
        }
    }

    /// Whether a collected fact may have changed with these file changes
    /// (see [`Collector::affected`]).
    pub fn affected(&self, call: &FactCall, changes: &Changes) -> bool {
        self.collector_for(&call.namespace).is_some_and(|c| c.affected(call, changes))
    }

    /// The collector that answers a namespace.
    fn collector_for(&self, namespace: &str) -> Option<&Arc<dyn Collector>> {
        self.collectors.iter().find(|c| c.namespaces().contains(&namespace))
    }

    /// Collects the calls concurrently (at most `jobs` at a time); results
    /// come back in the order of `calls`. `progress(done, total)` is called
    /// as they finish.
    pub fn collect_all(
        &self,
        runtime: &tokio::runtime::Runtime,
        calls: Vec<FactCall>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Vec<(FactCall, Result<Value, FactError>)> {
        let total = calls.len();
        let jobs = self.jobs.max(1);
        let futures: Vec<(FactCall, FactFuture)> = calls.into_iter().map(|c| (c.clone(), self.start(c))).collect();
        let deadline = self.deadline.lock().ok().and_then(|d| *d);
        let budget = self.phase_timeout.as_secs_f64();
        runtime.block_on(async move {
            let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs));
            let mut handles = Vec::with_capacity(total);
            for (call, fut) in futures {
                let semaphore = semaphore.clone();
                let key = call.key();
                handles.push((
                    call,
                    tokio::spawn(async move {
                        let run = async move {
                            let _permit = semaphore.acquire_owned().await;
                            fut.await
                        };
                        match deadline {
                            Some(at) => tokio::time::timeout_at(at, run).await.unwrap_or_else(|_| {
                                Err(FactError::new(format!(
                                    "`{key}` was not collected: the collection phase used up its {budget}s"
                                )))
                            }),
                            None => run.await,
                        }
                    }),
                ));
            }
            let mut out = Vec::with_capacity(total);
            for (i, (call, handle)) in handles.into_iter().enumerate() {
                let r = match handle.await {
                    Ok(r) => r,
                    Err(e) => Err(FactError::new(format!("collector task failed: {e}"))),
                };
                progress(i + 1, total);
                out.push((call, r));
            }
            out
        })
    }
}
