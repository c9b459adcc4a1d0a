//! Declared dependencies: `pyproject.toml` (PEP 621 `[project]`, PEP 735
//! `[dependency-groups]`, Poetry's `[tool.poetry]` tables), `setup.cfg`
//! (`install_requires`, `extras_require`) and pip requirements files, read
//! with the document parsers so that each dependency keeps its line.

use super::{doc_error, glob, line_of, list_items, map_entries, normalize_name, read};
use crate::docs;
use crate::files::Repo;
use mlpol_lang::eval::FactError;
use mlpol_lang::value::{Origin, Value};
use std::collections::HashSet;

/// How deep `-r` includes are followed.
const MAX_INCLUDE_DEPTH: usize = 16;
/// The most dependencies listed.
const MAX_DEPENDENCIES: usize = 100_000;

/// One declared dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub name: String,
    pub specifier: String,
    pub pinned: bool,
    pub hashes: bool,
    pub path: String,
    pub line: u32,
    /// `pyproject`, `poetry`, `requirements` or `setup.cfg`.
    pub source: &'static str,
    pub group: String,
}

/// Requirements files looked at: pip's usual names, at any depth.
pub(super) const REQUIREMENTS_GLOBS: &[&str] =
    &["*requirements*.txt", "*requirements*.in", "**/requirements/*.txt", "**/requirements/*.in"];

/// Every dependency the target declares, file by file in path order:
/// `pyproject.toml` files, then `setup.cfg` files, then requirements files.
pub fn declared(repo: &Repo) -> Result<Vec<Declared>, FactError> {
    let mut out = Vec::new();
    for path in glob(repo, "pyproject.toml")? {
        pyproject(&path, &read(repo, &path)?, &mut out)?;
    }
    for path in glob(repo, "setup.cfg")? {
        setup_cfg(&path, &read(repo, &path)?, &mut out)?;
    }
    let mut visited = HashSet::new();
    for path in requirements_files(repo)? {
        if visited.insert(path.clone()) {
            requirements(repo, &path, 0, &mut visited, &mut out)?;
        }
        if out.len() > MAX_DEPENDENCIES {
            return Err(FactError::new(format!("more than {MAX_DEPENDENCIES} declared dependencies")));
        }
    }
    Ok(out)
}

/// The requirements files of the target, sorted, without duplicates.
pub(super) fn requirements_files(repo: &Repo) -> Result<Vec<String>, FactError> {
    let mut paths = Vec::new();
    for pattern in REQUIREMENTS_GLOBS {
        paths.extend(glob(repo, pattern)?);
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}

// ---------------------------------------------------------------- pyproject.toml

fn pyproject(path: &str, text: &str, out: &mut Vec<Declared>) -> Result<(), FactError> {
    let doc = docs::parse_toml(path, text).map_err(doc_error)?;
    let project = doc.get("project");
    for item in list_items(project.and_then(|p| p.get("dependencies"))) {
        pep508(path, item, "pyproject", "", out)?;
    }
    for (extra, items) in map_entries(project.and_then(|p| p.get("optional-dependencies"))) {
        for item in list_items(Some(items)) {
            pep508(path, item, "pyproject", extra, out)?;
        }
    }
    for (group, items) in map_entries(doc.get("dependency-groups")) {
        for item in list_items(Some(items)) {
            // `{include-group = "..."}` entries name other groups.
            if item.as_str().is_some() {
                pep508(path, item, "pyproject", group, out)?;
            }
        }
    }
    let poetry = doc.get("tool").and_then(|t| t.get("poetry"));
    for (name, spec) in map_entries(poetry.and_then(|p| p.get("dependencies"))) {
        poetry_dependency(path, name, spec, "", out);
    }
    for (name, spec) in map_entries(poetry.and_then(|p| p.get("dev-dependencies"))) {
        poetry_dependency(path, name, spec, "dev", out);
    }
    for (group, table) in map_entries(poetry.and_then(|p| p.get("group"))) {
        for (name, spec) in map_entries(table.get("dependencies")) {
            poetry_dependency(path, name, spec, group, out);
        }
    }
    Ok(())
}

/// A PEP 508 string, parsed as a one-line requirements file so that names,
/// specifiers and pins follow exactly the requirements parser's rules.
fn pep508(
    path: &str,
    item: &Value,
    source: &'static str,
    group: &str,
    out: &mut Vec<Declared>,
) -> Result<(), FactError> {
    let line = line_of(item);
    let Some(text) = item.as_str() else {
        return Err(FactError::new(format!("expected a requirement string, found {}", item.type_name()))
            .at(Origin::file(path, Some(line))));
    };
    let origin = || Origin::file(path, Some(line));
    if text.trim_start().starts_with('-') || text.contains('\n') {
        return Err(FactError::new(format!("invalid requirement {text:?}")).at(origin()));
    }
    let doc = docs::parse_requirements(path, text)
        .map_err(|e| FactError::new(format!("invalid requirement: {}", e.message)).at(origin()))?;
    for req in list_items(doc.get("requirements")) {
        if let Some(d) = from_requirement(path, req, line, source, group) {
            out.push(d);
        }
    }
    Ok(())
}

/// A requirement record of the requirements parser as a dependency; `None`
/// for a local path without a project name (`-e .`).
fn from_requirement(path: &str, req: &Value, line: u32, source: &'static str, group: &str) -> Option<Declared> {
    let text = |k: &str| req.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let name = text("name");
    let url = text("url");
    if name.is_none() && url.as_deref().is_none_or(|u| !u.contains("://")) {
        return None;
    }
    let specifier = match (text("specifier"), &url) {
        (Some(s), _) => s,
        (None, Some(u)) => format!("@ {u}"),
        (None, None) => String::new(),
    };
    Some(Declared {
        name: name.unwrap_or_default(),
        specifier,
        pinned: req.get("pinned").is_some_and(Value::is_true),
        hashes: !list_items(req.get("hashes")).is_empty(),
        path: path.to_string(),
        line,
        source,
        group: group.to_string(),
    })
}

/// `name = "^1.2"`, `name = {version = "1.2", ...}`, `name = {git = ...}`
/// or a list of such tables (one per marker).
fn poetry_dependency(path: &str, name: &str, spec: &Value, group: &str, out: &mut Vec<Declared>) {
    if name.eq_ignore_ascii_case("python") {
        return;
    }
    let alternatives: Vec<&Value> = match list_items(Some(spec)) {
        [] => vec![spec],
        items => items.iter().collect(),
    };
    for alt in alternatives {
        let line = line_of(alt);
        let field = |k: &str| alt.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let specifier = if let Some(s) = alt.as_str() {
            s.to_string()
        } else if let Some(v) = field("version") {
            v
        } else if let Some(git) = field("git") {
            let at = field("rev").or_else(|| field("tag")).or_else(|| field("branch"));
            format!("@ git+{git}{}", at.map(|a| format!("@{a}")).unwrap_or_default())
        } else if let Some(url) = field("url") {
            format!("@ {url}")
        } else if field("path").is_some() {
            // A local project, not a dependency from an index.
            continue;
        } else {
            String::new()
        };
        out.push(Declared {
            name: normalize_name(name),
            pinned: poetry_pinned(&specifier),
            specifier: specifier.trim().to_string(),
            hashes: false,
            path: path.to_string(),
            line,
            source: "poetry",
            group: group.to_string(),
        });
    }
}

/// Poetry pins with a bare version (`1.2.3`), `==1.2.3` or `===1.2.3`.
fn poetry_pinned(spec: &str) -> bool {
    let spec = spec.trim();
    let version = spec.strip_prefix("===").or_else(|| spec.strip_prefix("==")).unwrap_or(spec).trim();
    !version.is_empty()
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '!' | '+' | '-' | '_'))
}

// ---------------------------------------------------------------- setup.cfg

/// `[options] install_requires` and `[options.extras_require]`, one
/// requirement per (continuation) line, the way setuptools reads them.
fn setup_cfg(path: &str, text: &str, out: &mut Vec<Declared>) -> Result<(), FactError> {
    let mut section = String::new();
    // The key whose value the continuation lines belong to, if it lists
    // requirements: its group.
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let continuation = raw.starts_with(char::is_whitespace);
        let value = if continuation {
            trimmed
        } else if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.trim().to_string();
            current = None;
            continue;
        } else {
            let Some((key, value)) = trimmed.split_once(['=', ':']) else {
                current = None;
                continue;
            };
            let key = key.trim();
            current = match section.as_str() {
                "options" if key == "install_requires" => Some(String::new()),
                "options.extras_require" => Some(key.to_string()),
                _ => None,
            };
            value.trim()
        };
        let Some(group) = &current else { continue };
        if value.is_empty() || value.starts_with("file:") || value.starts_with("attr:") {
            continue;
        }
        let item = Value::str(value).with_origin(Origin::file(path, Some(line)));
        pep508(path, &item, "setup.cfg", group, out)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- requirements files

/// One requirements file, then the files it includes with `-r` (relative to
/// its directory, inside the target). A missing include is an error at its
/// line, as it is for pip.
fn requirements(
    repo: &Repo,
    path: &str,
    depth: usize,
    visited: &mut HashSet<String>,
    out: &mut Vec<Declared>,
) -> Result<(), FactError> {
    let doc = docs::parse_requirements(path, &read(repo, path)?).map_err(doc_error)?;
    for req in list_items(doc.get("requirements")) {
        if let Some(d) = from_requirement(path, req, line_of(req), "requirements", "") {
            out.push(d);
        }
    }
    for include in list_items(doc.get("includes")) {
        if include.get("kind").and_then(|k| k.as_str()) != Some("requirement") {
            continue;
        }
        let target = include.get("path").and_then(|p| p.as_str()).unwrap_or_default();
        let line = line_of(include);
        let Some(rel) = resolve_include(path, target) else { continue };
        if !visited.insert(rel.clone()) {
            continue;
        }
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(FactError::new(format!("`-r` includes nested deeper than {MAX_INCLUDE_DEPTH}"))
                .at(Origin::file(path, Some(line))));
        }
        if !repo.root().join(&rel).is_file() {
            return Err(FactError::new(format!("`-r {target}`: no such file in the target ({rel})"))
                .at(Origin::file(path, Some(line))));
        }
        requirements(repo, &rel, depth + 1, visited, out)?;
    }
    Ok(())
}

/// The target-relative path of `-r target` in the file `from`; `None` for a
/// URL or a path outside the target.
pub(super) fn resolve_include(from: &str, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with('/') {
        return None;
    }
    let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
    let joined = if dir.is_empty() { target.to_string() } else { format!("{dir}/{target}") };
    let rel = mlpol_lang::db::normalize(&joined);
    (!rel.is_empty() && !rel.starts_with("..")).then_some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poetry_pins() {
        assert!(poetry_pinned("2.31.0"));
        assert!(poetry_pinned("==2.31.0"));
        assert!(poetry_pinned("1!2.0+local"));
        assert!(!poetry_pinned("^2.31"));
        assert!(!poetry_pinned("~2.31"));
        assert!(!poetry_pinned("2.*"));
        assert!(!poetry_pinned(">=2,<3"));
        assert!(!poetry_pinned("*"));
        assert!(!poetry_pinned(""));
    }

    #[test]
    fn includes_stay_inside() {
        assert_eq!(resolve_include("reqs/prod.txt", "base.txt").as_deref(), Some("reqs/base.txt"));
        assert_eq!(resolve_include("requirements.txt", "./reqs/base.txt").as_deref(), Some("reqs/base.txt"));
        assert_eq!(resolve_include("a/b.txt", "../c.txt").as_deref(), Some("c.txt"));
        assert_eq!(resolve_include("b.txt", "../c.txt"), None);
        assert_eq!(resolve_include("b.txt", "/etc/passwd"), None);
        assert_eq!(resolve_include("b.txt", "https://x/r.txt"), None);
    }
}
