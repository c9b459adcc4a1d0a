//! The `deps` namespace: Python dependencies — declared and pinned
//! versions, licences of the installed distributions, and known
//! vulnerabilities from OSV (online, or an offline advisory database).
//!
//! * [`declared`]: `pyproject.toml` (PEP 621, PEP 735 dependency groups,
//!   Poetry), `setup.cfg` and pip requirements files (following `-r`);
//! * [`locked`]: `uv.lock`, `poetry.lock`, `pylock.toml` and requirements
//!   files that are fully pinned with hashes;
//! * [`installed`]: the `*.dist-info/METADATA` headers of the project's
//!   virtual environment;
//! * [`advisories`]: OSV records and PEP 440 matching of versions against
//!   them; [`osv`]: the OSV API client.
//!
//! Every value is located at the file and line it comes from. None of the
//! functions is a `network` function in the schema, so `--offline` does not
//! skip them wholesale: `deps.vulnerabilities()` reads `--advisory-db`
//! without the network, is `skip` under `--offline` without it, and asks
//! the OSV API otherwise. An advisory source that cannot be reached is an
//! error, never an empty list.

pub mod advisories;
pub mod declared;
pub mod installed;
pub mod locked;
pub mod osv;
mod zip;

use crate::collect::{Collector, FactFuture, Settings};
use crate::files::{Changes, Repo};
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::types::{Schema, Type};
use mlpol_lang::value::{record, Origin, Value};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The OSV API used when `MLPOL_OSV_URL` is not set.
pub const DEFAULT_OSV_URL: &str = "https://api.osv.dev";

/// Declares the `deps` namespace and its records.
pub fn schema(s: &mut Schema) {
    s.record(
        "Dependency",
        "A dependency declared by the project, located at its line.",
        &[
            ("name", Type::Str, "The project name, PEP 503-normalised (`Foo_Bar` → `foo-bar`); empty for a URL that names none."),
            (
                "specifier",
                Type::Str,
                "The version constraint as written (`>=2,<3`, Poetry's `^2.31`), `@ URL` for a direct reference, or empty for none.",
            ),
            ("pinned", Type::Bool, "True for exactly one version: `==X` (no wildcard), `===X`, or Poetry's bare `X`."),
            ("hashes", Type::Bool, "True when the requirement carries `--hash` options."),
            ("path", Type::Str, "The file that declares it."),
            ("line", Type::Int, "1-based line of the declaration."),
            ("source", Type::Str, "`pyproject` (PEP 621 / PEP 735), `poetry`, `requirements` or `setup.cfg`."),
            (
                "group",
                Type::Str,
                "The extra, dependency group or Poetry group (`dev`); empty for the main dependencies and requirements files.",
            ),
        ],
    );
    s.record(
        "Locked",
        "A package version fixed by a lock file, located at its entry.",
        &[
            ("name", Type::Str, "The project name, PEP 503-normalised."),
            ("version", Type::Str, "The locked version (empty when the lock gives none)."),
            ("hashes", Type::Bool, "True when the lock records at least one artifact hash for it."),
            ("path", Type::Str, "The lock file."),
            ("line", Type::Int, "1-based line of the entry (its `name` key, or the requirement line)."),
            ("lock", Type::Str, "`uv.lock`, `poetry.lock`, `pylock` or `requirements`."),
            ("source", Type::Str, "Where it comes from: `registry`, `git`, `url` or `path`."),
        ],
    );
    s.record(
        "Distribution",
        "A distribution installed in the project's virtual environment.",
        &[
            ("name", Type::Str, "The project name, PEP 503-normalised."),
            ("version", Type::Str, "The installed version."),
            (
                "license",
                Type::Str,
                "`License-Expression`, else the first line of `License` (not `UNKNOWN`), else the `License ::` classifiers joined by `; `; empty when none.",
            ),
            ("license_expression", Type::optional(Type::Str), "The SPDX `License-Expression` (metadata 2.4), or null."),
            ("classifiers", Type::list(Type::Str), "The `License :: ...` classifiers only."),
            ("path", Type::Str, "The `*.dist-info` directory (relative to the target when inside it)."),
        ],
    );
    s.record(
        "Vulnerability",
        "A known vulnerability of a locked (or pinned) package, located at its lock entry or requirement line.",
        &[
            ("package", Type::Str, "The project name, PEP 503-normalised."),
            ("version", Type::Str, "The affected version in use."),
            ("id", Type::Str, "The advisory id (`GHSA-...`, `PYSEC-...`)."),
            ("aliases", Type::list(Type::Str), "Other ids of the same vulnerability (`CVE-...`)."),
            ("summary", Type::Str, "The advisory's summary (or the start of its details)."),
            ("fixed", Type::list(Type::Str), "Versions that fix it, in version order; empty when no fix is known."),
            (
                "severity",
                Type::optional(Type::Str),
                "`database_specific.severity` (`HIGH`, `MODERATE`, ...) else the first `severity[].score` (a CVSS vector), or null.",
            ),
            ("url", Type::Str, "`https://osv.dev/vulnerability/<id>`."),
            ("path", Type::Str, "The lock or requirements file of the package."),
            ("line", Type::Int, "1-based line of its entry."),
        ],
    );
    s.namespace("deps", "The target's Python dependencies: declared, locked, installed, and their known vulnerabilities (OSV). Values are located at the declaring line.")
        .function("deps", "declared", &[], 0, Type::list(Type::record("Dependency")), false,
            "Dependencies declared in `pyproject.toml` (`[project] dependencies`, `optional-dependencies`, `[dependency-groups]`, `[tool.poetry.*dependencies]`), `setup.cfg` (`install_requires`, `extras_require`) and `*requirements*.txt`/`.in` files at any depth (following `-r` includes inside the target). An invalid requirement is an error at its line.")
        .function("deps", "locked", &[], 0, Type::list(Type::record("Locked")), false,
            "Packages pinned by `uv.lock`, `poetry.lock`, `pylock.toml` / `pylock.*.toml`, and requirements files in which every requirement is `==`-pinned and some carry `--hash`. Local projects (uv `virtual`/`editable`/`directory` sources, Poetry `directory` sources) are left out.")
        .function("deps", "installed", &[("venv", Type::Str)], 0, Type::list(Type::record("Distribution")), false,
            "Distributions in a virtual environment (`*.dist-info/METADATA` headers): the given path (relative to the target, or absolute), else `.venv`, `venv` or `env` in the target. An error when none exists; at most 10000 distributions.")
        .function("deps", "vulnerabilities", &[], 0, Type::list(Type::record("Vulnerability")), false,
            "Known vulnerabilities of every locked package (and `==`-pinned declared one in a directory without a lock file), matched by PEP 440 version against OSV: offline from `--advisory-db` (a directory or a zip of OSV JSON files), else from the OSV API (`MLPOL_OSV_URL`, default `https://api.osv.dev`). Not a network function in the schema: under `--offline` without `--advisory-db` it is `skip`; an unreachable OSV is an error, never an empty list.");
}

/// The `deps` collector over one target.
pub struct DepsCollector {
    inner: Arc<Inner>,
}

struct Inner {
    repo: Arc<Repo>,
    advisory_db: Option<PathBuf>,
    offline: bool,
    timeout: Duration,
    osv_url: String,
    /// The offline database, read once.
    db: OnceLock<Result<Arc<advisories::Db>, String>>,
}

impl DepsCollector {
    /// A collector over `repo`; the OSV API is `MLPOL_OSV_URL` or
    /// [`DEFAULT_OSV_URL`].
    pub fn new(repo: Arc<Repo>, settings: &Settings) -> DepsCollector {
        let url = std::env::var("MLPOL_OSV_URL").ok().filter(|u| !u.trim().is_empty());
        DepsCollector::with_osv_url(repo, settings, url.as_deref().unwrap_or(DEFAULT_OSV_URL))
    }

    /// A collector that asks the OSV API at `osv_url` (for tests and
    /// mirrors).
    pub fn with_osv_url(repo: Arc<Repo>, settings: &Settings, osv_url: &str) -> DepsCollector {
        DepsCollector {
            inner: Arc::new(Inner {
                repo,
                advisory_db: settings.advisory_db.clone(),
                offline: settings.offline,
                timeout: settings.timeout,
                osv_url: osv_url.trim_end_matches('/').to_string(),
                db: OnceLock::new(),
            }),
        }
    }
}

impl Collector for DepsCollector {
    fn namespaces(&self) -> &[&str] {
        &["deps"]
    }
    fn collect(&self, call: FactCall) -> FactFuture {
        let inner = self.inner.clone();
        Box::pin(async move {
            match call.name.as_str() {
                "declared" => blocking(move || Ok(declared_values(&declared::declared(&inner.repo)?))).await,
                "locked" => blocking(move || Ok(locked_values(&locked::locked(&inner.repo)?))).await,
                "installed" => {
                    let venv = call.args.first().and_then(|v| v.as_str()).unwrap_or_default().to_string();
                    blocking(move || installed::installed(&inner.repo, &venv)).await
                }
                "vulnerabilities" => vulnerabilities(inner).await,
                other => Err(FactError::new(format!("no collector for `deps.{other}`"))),
            }
        })
    }
    /// Declared, locked and vulnerable packages change with the files they
    /// are read from: the manifests, lock files and requirements files (any
    /// `.txt` or `.in`, since a requirements file may include one of any
    /// name); installed ones with the virtualenv's files.
    fn affected(&self, call: &FactCall, changes: &Changes) -> bool {
        match call.name.as_str() {
            "installed" => {
                let venv = call.args.first().and_then(|v| v.as_str()).unwrap_or_default().trim().trim_matches('/');
                let dirs: Vec<&str> = if venv.is_empty() { installed::VENV_DIRS.to_vec() } else { vec![venv] };
                changes.full || changes.paths.iter().any(|p| dirs.iter().any(|d| crate::files::at_or_under(p, d)))
            }
            _ => changes.paths.iter().map(|p| p.rsplit('/').next().unwrap_or(p)).any(|n| {
                matches!(n, "pyproject.toml" | "setup.cfg" | "uv.lock" | "poetry.lock")
                    || (n.starts_with("pylock.") && n.ends_with(".toml"))
                    || n.ends_with(".txt")
                    || n.ends_with(".in")
            }),
        }
    }
}

async fn blocking<F>(work: F) -> Result<Value, FactError>
where
    F: FnOnce() -> Result<Value, FactError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(r) => r,
        Err(e) => Err(FactError::new(format!("the deps collector failed: {e}"))),
    }
}

/// A package version in use, and where it is fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub path: String,
    pub line: u32,
}

/// What to look up: every locked package, and the `==`-pinned declared ones
/// of directories that have no lock file (a project without a lock next to
/// one with a lock is still checked).
fn packages(repo: &Repo) -> Result<Vec<Package>, FactError> {
    let locked = locked::locked(repo)?;
    let dir = |path: &str| path.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string());
    let lock_dirs: std::collections::HashSet<String> = locked.iter().map(|l| dir(&l.path)).collect();
    let pinned = declared::declared(repo)?
        .into_iter()
        .filter(|d| d.pinned && !d.name.is_empty() && !lock_dirs.contains(&dir(&d.path)))
        .map(|d| Package {
            version: d.specifier.trim_start_matches('=').trim().to_string(),
            name: d.name,
            path: d.path,
            line: d.line,
        });
    let mut out: Vec<Package> =
        locked.into_iter().map(|l| Package { name: l.name, version: l.version, path: l.path, line: l.line }).collect();
    out.extend(pinned);
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| !p.version.is_empty() && seen.insert((p.name.clone(), p.version.clone(), p.path.clone(), p.line)));
    Ok(out)
}

async fn vulnerabilities(inner: Arc<Inner>) -> Result<Value, FactError> {
    let repo = inner.repo.clone();
    let packages = match tokio::task::spawn_blocking(move || packages(&repo)).await {
        Ok(r) => r?,
        Err(e) => return Err(FactError::new(format!("the deps collector failed: {e}"))),
    };
    let found = if let Some(path) = inner.advisory_db.clone() {
        let inner = inner.clone();
        let task = tokio::task::spawn_blocking(move || {
            let db = inner.db.get_or_init(|| advisories::Db::load(&path).map(Arc::new)).clone();
            db.map(|db| db.matches(&packages)).map_err(FactError::new)
        });
        match task.await {
            Ok(r) => r?,
            Err(e) => return Err(FactError::new(format!("the deps collector failed: {e}"))),
        }
    } else if inner.offline {
        return Err(FactError {
            message: "not collected: --offline and no --advisory-db".to_string(),
            origin: None,
            skipped: true,
        });
    } else {
        osv::query(&inner.osv_url, inner.timeout, &packages).await?
    };
    Ok(Value::list(found.iter().map(vulnerability_value).collect()))
}

fn strs(items: &[String]) -> Value {
    Value::list(items.iter().map(Value::str).collect())
}

fn line_value(line: u32) -> Value {
    Value::int(i64::from(line))
}

fn declared_values(deps: &[declared::Declared]) -> Value {
    Value::list(
        deps.iter()
            .map(|d| {
                record(vec![
                    ("name", Value::str(&d.name)),
                    ("specifier", Value::str(&d.specifier)),
                    ("pinned", Value::bool(d.pinned)),
                    ("hashes", Value::bool(d.hashes)),
                    ("path", Value::str(&d.path)),
                    ("line", line_value(d.line)),
                    ("source", Value::str(d.source)),
                    ("group", Value::str(&d.group)),
                ])
                .with_origin(Origin::file(d.path.clone(), Some(d.line)))
            })
            .collect(),
    )
}

fn locked_values(locked: &[locked::Locked]) -> Value {
    Value::list(
        locked
            .iter()
            .map(|l| {
                record(vec![
                    ("name", Value::str(&l.name)),
                    ("version", Value::str(&l.version)),
                    ("hashes", Value::bool(l.hashes)),
                    ("path", Value::str(&l.path)),
                    ("line", line_value(l.line)),
                    ("lock", Value::str(l.lock)),
                    ("source", Value::str(l.source)),
                ])
                .with_origin(Origin::file(l.path.clone(), Some(l.line)))
            })
            .collect(),
    )
}

fn vulnerability_value(v: &advisories::Found) -> Value {
    record(vec![
        ("package", Value::str(&v.package.name)),
        ("version", Value::str(&v.package.version)),
        ("id", Value::str(&v.advisory.id)),
        ("aliases", strs(&v.advisory.aliases)),
        ("summary", Value::str(&v.advisory.summary)),
        ("fixed", strs(&v.fixed)),
        ("severity", v.advisory.severity.as_ref().map_or_else(Value::null, Value::str)),
        ("url", Value::str(format!("https://osv.dev/vulnerability/{}", v.advisory.id))),
        ("path", Value::str(&v.package.path)),
        ("line", line_value(v.package.line)),
    ])
    .with_origin(Origin::file(v.package.path.clone(), Some(v.package.line)))
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

// ---------------------------------------------------------------- reading the target

/// Paths of the target's files matching the glob (virtual environments and
/// build outputs left out, as `files.glob`).
fn glob(repo: &Repo, pattern: &str) -> Result<Vec<String>, FactError> {
    let call = FactCall { namespace: "files".into(), name: "glob".into(), args: vec![Value::str(pattern)] };
    let found = repo.fact(&call)?;
    let mut paths: Vec<String> = match &found.kind {
        mlpol_lang::value::Kind::List(items) => {
            items.iter().filter_map(|f| f.get("path").and_then(|p| p.as_str()).map(str::to_string)).collect()
        }
        _ => Vec::new(),
    };
    paths.sort();
    Ok(paths)
}

/// The text of a file of the target (size-capped; binary files refused).
fn read(repo: &Repo, path: &str) -> Result<String, FactError> {
    let call = FactCall { namespace: "files".into(), name: "text".into(), args: vec![Value::str(path)] };
    let text = repo.fact(&call)?;
    Ok(text.as_str().unwrap_or_default().to_string())
}

/// The 1-based line of a parsed document value (1 when it has none).
fn line_of(v: &Value) -> u32 {
    v.origin.as_ref().and_then(|o| o.line).unwrap_or(1)
}

/// The elements of a list value (none for anything else).
fn list_items(v: Option<&Value>) -> &[Value] {
    match v.map(|v| &v.kind) {
        Some(mlpol_lang::value::Kind::List(items)) => items.as_slice(),
        _ => &[],
    }
}

/// The entries of a map value (none for anything else).
fn map_entries(v: Option<&Value>) -> &[(String, Value)] {
    match v.map(|v| &v.kind) {
        Some(mlpol_lang::value::Kind::Map(entries)) => entries.as_slice(),
        _ => &[],
    }
}

/// A document error as a fact error at its line.
fn doc_error(e: crate::docs::DocError) -> FactError {
    FactError::new(e.message.clone()).at(Origin::file(e.path.clone(), e.line))
}

#[cfg(test)]
mod tests {
    use super::normalize_name;

    #[test]
    fn pep503_names() {
        assert_eq!(normalize_name("Foo_Bar"), "foo-bar");
        assert_eq!(normalize_name("ruamel.yaml"), "ruamel-yaml");
        assert_eq!(normalize_name("a-_.b"), "a-b");
        assert_eq!(normalize_name("requests"), "requests");
    }
}

#[cfg(test)]
mod watch_tests {
    use super::*;

    #[test]
    fn dependency_facts_follow_the_files_they_are_read_from() {
        let deps = DepsCollector::new(Arc::new(Repo::new(std::env::temp_dir())), &Settings::default());
        let call = |name: &str, args: Vec<Value>| FactCall { namespace: "deps".into(), name: name.into(), args };
        let changed = |paths: &[&str]| Changes { paths: paths.iter().map(|p| p.to_string()).collect(), full: false };
        for name in ["declared", "locked", "vulnerabilities"] {
            let c = call(name, vec![]);
            for p in
                ["pyproject.toml", "svc/requirements-dev.txt", "uv.lock", "a/poetry.lock", "pylock.ci.toml", "base.in"]
            {
                assert!(deps.affected(&c, &changed(&[p])), "{name} after {p}");
            }
            for p in ["README.md", "src/app.py", "docker-compose.yml"] {
                assert!(!deps.affected(&c, &changed(&[p])), "{name} after {p}");
            }
        }
        let installed = call("installed", vec![Value::str("")]);
        assert!(deps.affected(&installed, &changed(&[".venv/lib/python3.12/site-packages/x/METADATA"])));
        assert!(!deps.affected(&installed, &changed(&["src/app.py"])));
        let named = call("installed", vec![Value::str("envs/ci")]);
        assert!(deps.affected(&named, &changed(&["envs/ci/lib/x"])));
        assert!(!deps.affected(&named, &changed(&[".venv/lib/x"])));
    }
}
