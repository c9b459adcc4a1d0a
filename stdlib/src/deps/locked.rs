//! Locked versions: `uv.lock`, `poetry.lock`, `pylock.toml` (PEP 751) and
//! requirements files that pin every requirement with `==` and carry
//! `--hash` options (pip-compile `--generate-hashes` output). Local
//! projects (the workspace itself, path dependencies installed from a
//! directory) are not packages from an index and are left out.

use super::declared::requirements_files;
use super::{doc_error, glob, line_of, list_items, map_entries, normalize_name, read};
use crate::docs;
use crate::files::Repo;
use mlpol_lang::eval::FactError;
use mlpol_lang::value::Value;

/// The most locked packages listed.
const MAX_LOCKED: usize = 100_000;

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub name: String,
    pub version: String,
    pub hashes: bool,
    pub path: String,
    pub line: u32,
    /// `uv.lock`, `poetry.lock`, `pylock` or `requirements`.
    pub lock: &'static str,
    /// `registry`, `git`, `url` or `path`.
    pub source: &'static str,
}

/// Every package locked in the target, lock file by lock file in path
/// order.
pub fn locked(repo: &Repo) -> Result<Vec<Locked>, FactError> {
    let mut out = Vec::new();
    for path in glob(repo, "uv.lock")? {
        uv_lock(&path, &read(repo, &path)?, &mut out)?;
    }
    for path in glob(repo, "poetry.lock")? {
        poetry_lock(&path, &read(repo, &path)?, &mut out)?;
    }
    let mut pylocks = glob(repo, "pylock.toml")?;
    pylocks.extend(glob(repo, "pylock.*.toml")?);
    pylocks.sort();
    pylocks.dedup();
    for path in pylocks {
        pylock(&path, &read(repo, &path)?, &mut out)?;
    }
    for path in requirements_files(repo)? {
        if path.ends_with(".txt") {
            requirements_lock(&path, &read(repo, &path)?, &mut out)?;
        }
    }
    if out.len() > MAX_LOCKED {
        return Err(FactError::new(format!("more than {MAX_LOCKED} locked packages")));
    }
    Ok(out)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(|x| x.as_str())
}

/// The line of a package entry: its `name` key, else the entry.
fn entry_line(package: &Value) -> u32 {
    package.get("name").map_or_else(|| line_of(package), line_of)
}

/// `[[package]]` with `name`, `version`, `source = { registry | git | url |
/// path | directory | editable | virtual = ... }`, `sdist = { hash }` and
/// `wheels = [{ hash }]`.
fn uv_lock(path: &str, text_: &str, out: &mut Vec<Locked>) -> Result<(), FactError> {
    let doc = docs::parse_toml(path, text_).map_err(doc_error)?;
    for package in list_items(doc.get("package")) {
        let Some(name) = text(package, "name") else { continue };
        let source = match map_entries(package.get("source")).first().map(|(k, _)| k.as_str()) {
            Some("virtual" | "editable" | "directory") => continue,
            Some("git") => "git",
            Some("url") => "url",
            Some("path") => "path",
            _ => "registry",
        };
        let sdist_hash = package.get("sdist").and_then(|s| text(s, "hash")).is_some_and(|h| !h.is_empty());
        let wheel_hash =
            list_items(package.get("wheels")).iter().any(|w| text(w, "hash").is_some_and(|h| !h.is_empty()));
        out.push(Locked {
            name: normalize_name(name),
            version: text(package, "version").unwrap_or_default().to_string(),
            hashes: sdist_hash || wheel_hash,
            path: path.to_string(),
            line: entry_line(package),
            lock: "uv.lock",
            source,
        });
    }
    Ok(())
}

/// `[[package]]` with `name`, `version`, `files = [{ file, hash }]` (or,
/// before Poetry 1.2, `[metadata.files] name = [...]`) and an optional
/// `[package.source] type = git | url | file | directory | legacy`.
fn poetry_lock(path: &str, text_: &str, out: &mut Vec<Locked>) -> Result<(), FactError> {
    let doc = docs::parse_toml(path, text_).map_err(doc_error)?;
    let old_files = doc.get("metadata").and_then(|m| m.get("files"));
    let hashed = |files: &[Value]| files.iter().any(|f| text(f, "hash").is_some_and(|h| !h.is_empty()));
    for package in list_items(doc.get("package")) {
        let Some(name) = text(package, "name") else { continue };
        let source = match package.get("source").and_then(|s| text(s, "type")) {
            Some("directory") => continue,
            Some("git") => "git",
            Some("url") => "url",
            Some("file") => "path",
            _ => "registry",
        };
        let old = map_entries(old_files)
            .iter()
            .find(|(k, _)| normalize_name(k) == normalize_name(name))
            .map(|(_, v)| list_items(Some(v)))
            .unwrap_or_default();
        out.push(Locked {
            name: normalize_name(name),
            version: text(package, "version").unwrap_or_default().to_string(),
            hashes: hashed(list_items(package.get("files"))) || hashed(old),
            path: path.to_string(),
            line: entry_line(package),
            lock: "poetry.lock",
            source,
        });
    }
    Ok(())
}

/// PEP 751: `[[packages]]` with `name`, `version`, and `sdist`, `wheels`,
/// `archive` (each with a `hashes` table), `vcs` or `directory`.
fn pylock(path: &str, text_: &str, out: &mut Vec<Locked>) -> Result<(), FactError> {
    let doc = docs::parse_toml(path, text_).map_err(doc_error)?;
    let has_hashes = |v: Option<&Value>| v.is_some_and(|v| !map_entries(v.get("hashes")).is_empty());
    for package in list_items(doc.get("packages")) {
        let Some(name) = text(package, "name") else { continue };
        if package.get("directory").is_some() {
            continue;
        }
        let source = if package.get("vcs").is_some() {
            "git"
        } else if let Some(archive) = package.get("archive") {
            if archive.get("url").is_some() {
                "url"
            } else {
                "path"
            }
        } else {
            "registry"
        };
        let hashes = has_hashes(package.get("sdist"))
            || has_hashes(package.get("archive"))
            || list_items(package.get("wheels")).iter().any(|w| has_hashes(Some(w)));
        out.push(Locked {
            name: normalize_name(name),
            version: text(package, "version").unwrap_or_default().to_string(),
            hashes,
            path: path.to_string(),
            line: entry_line(package),
            lock: "pylock",
            source,
        });
    }
    Ok(())
}

/// A requirements file is a lock when every named requirement is pinned
/// with `==`/`===` and at least one carries `--hash`.
fn requirements_lock(path: &str, text_: &str, out: &mut Vec<Locked>) -> Result<(), FactError> {
    let doc = docs::parse_requirements(path, text_).map_err(doc_error)?;
    let named: Vec<&Value> = list_items(doc.get("requirements")).iter().filter(|r| text(r, "name").is_some()).collect();
    let pinned = |r: &Value| r.get("pinned").is_some_and(Value::is_true);
    let hashed = |r: &Value| !list_items(r.get("hashes")).is_empty();
    if named.is_empty() || !named.iter().all(|r| pinned(r)) || !named.iter().any(|r| hashed(r)) {
        return Ok(());
    }
    for r in named {
        let spec = text(r, "specifier").unwrap_or_default();
        out.push(Locked {
            name: text(r, "name").unwrap_or_default().to_string(),
            version: spec.trim_start_matches('=').to_string(),
            hashes: hashed(r),
            path: path.to_string(),
            line: line_of(r),
            lock: "requirements",
            source: "registry",
        });
    }
    Ok(())
}
