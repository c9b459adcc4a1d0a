//! Installed distributions: the `*.dist-info/METADATA` (and legacy
//! `*.egg-info/PKG-INFO`) headers in the `site-packages` of the project's
//! virtual environment. Only the header block is read (it ends at the first
//! empty line); the description body never is.

use super::normalize_name;
use crate::files::Repo;
use mlpol_lang::eval::FactError;
use mlpol_lang::value::{record, Origin, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The most distributions read.
pub const MAX_DISTRIBUTIONS: usize = 10_000;
/// The most bytes of one metadata file read.
const MAX_HEADER_BYTES: u64 = 1 << 20;
/// Virtual environment directories looked for in the target.
pub(super) const VENV_DIRS: &[&str] = &[".venv", "venv", "env"];

/// The distributions of the virtual environment `venv` (relative to the
/// target or absolute), else of `.venv`, `venv` or `env` in the target.
pub fn installed(repo: &Repo, venv: &str) -> Result<Value, FactError> {
    let root = repo.root();
    let venv_dir = if venv.trim().is_empty() {
        VENV_DIRS
            .iter()
            .map(|d| root.join(d))
            .find(|p| p.is_dir())
            .ok_or_else(|| FactError::new("no virtualenv in the target (.venv, venv); create one or pass a path"))?
    } else {
        let dir = root.join(venv.trim());
        if !dir.is_dir() {
            return Err(FactError::new(format!("virtualenv `{venv}`: no such directory")));
        }
        dir
    };
    let site_dirs = site_packages(&venv_dir)?;
    if site_dirs.is_empty() {
        return Err(FactError::new(format!(
            "virtualenv `{}` has no lib/python*/site-packages",
            shown(root, &venv_dir)
        )));
    }
    let mut out = Vec::new();
    for site in site_dirs {
        let entries = std::fs::read_dir(&site)
            .map_err(|e| FactError::new(format!("cannot list `{}`: {e}", shown(root, &site))))?;
        let mut dists: Vec<(PathBuf, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                let name = p.file_name()?.to_str()?.to_string();
                if name.ends_with(".dist-info") {
                    Some((p.join("METADATA"), p))
                } else if name.ends_with(".egg-info") && p.is_dir() {
                    Some((p.join("PKG-INFO"), p))
                } else {
                    None
                }
            })
            .collect();
        dists.sort();
        for (metadata, dir) in dists {
            if out.len() >= MAX_DISTRIBUTIONS {
                return Err(FactError::new(format!(
                    "more than {MAX_DISTRIBUTIONS} distributions in `{}`",
                    shown(root, &venv_dir)
                )));
            }
            let headers = match read_headers(&metadata) {
                Ok(h) => h,
                // A dist-info without METADATA is a broken install; skip it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(FactError::new(format!("cannot read `{}`: {e}", shown(root, &metadata))));
                }
            };
            out.push(distribution(&headers, &shown(root, &dir), &shown(root, &metadata)));
        }
    }
    Ok(Value::list(out))
}

/// `lib/python3.*/site-packages` (and `lib64`, PyPy's `lib/pypy3.*`, and
/// Windows' `Lib/site-packages`), without duplicates through symlinks.
fn site_packages(venv: &Path) -> Result<Vec<PathBuf>, FactError> {
    let mut found: Vec<PathBuf> = Vec::new();
    for lib in ["lib", "lib64"] {
        let Ok(entries) = std::fs::read_dir(venv.join(lib)) else { continue };
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("python") || n.starts_with("pypy"))
            })
            .map(|p| p.join("site-packages"))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        found.extend(dirs);
    }
    let windows = venv.join("Lib").join("site-packages");
    if windows.is_dir() {
        found.push(windows);
    }
    let mut seen = Vec::new();
    found.retain(|p| {
        let canonical = p.canonicalize().unwrap_or_else(|_| p.clone());
        if seen.contains(&canonical) {
            false
        } else {
            seen.push(canonical);
            true
        }
    });
    Ok(found)
}

/// The header block of a core-metadata file: `(name, value)` in order,
/// folded continuation lines joined with `\n`.
fn read_headers(path: &Path) -> std::io::Result<Vec<(String, String)>> {
    let file = std::fs::File::open(path)?;
    let mut reader = BufReader::new(file.take(MAX_HEADER_BYTES));
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut raw = Vec::new();
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&raw);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    Ok(headers)
}

fn distribution(headers: &[(String, String)], dir: &str, metadata: &str) -> Value {
    let header = |name: &str| {
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    };
    let classifiers: Vec<String> = headers
        .iter()
        .filter(|(k, v)| k.eq_ignore_ascii_case("Classifier") && v.starts_with("License ::"))
        .map(|(_, v)| v.clone())
        .collect();
    let expression = header("License-Expression").map(str::to_string);
    // `License` may hold a whole licence text: its first line names it.
    let license_field = header("License")
        .and_then(|l| l.lines().map(str::trim).find(|l| !l.is_empty()))
        .filter(|l| !l.eq_ignore_ascii_case("UNKNOWN"))
        .map(str::to_string);
    let license = expression.clone().or(license_field).unwrap_or_else(|| classifiers.join("; "));
    record(vec![
        ("name", Value::str(normalize_name(header("Name").unwrap_or_default()))),
        ("version", Value::str(header("Version").unwrap_or_default())),
        ("license", Value::str(license)),
        ("license_expression", expression.map_or_else(Value::null, Value::str)),
        ("classifiers", Value::list(classifiers.iter().map(Value::str).collect())),
        ("path", Value::str(dir)),
    ])
    .with_origin(Origin::file(metadata, Some(1)))
}

/// A path relative to the target when inside it, else as it is.
fn shown(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.to_string_lossy().replace('\\', "/")
}
