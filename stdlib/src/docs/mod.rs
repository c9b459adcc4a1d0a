//! Document parsers with provenance.
//!
//! Each parser turns a configuration file into a [`Value`] tree in which
//! every value carries an [`Origin`] with the file path and the 1-based line
//! it came from, so that a policy finding can point at the exact line.
//!
//! Conventions shared by all formats:
//!
//! * maps keep document order; a duplicate key keeps the last value;
//! * the origin of a map entry's value is the line of its key (for a nested
//!   mapping or an INI/TOML section, the line of the key or section header);
//! * each list element has its own line;
//! * inputs over [`MAX_INPUT`] bytes, nesting deeper than [`MAX_DEPTH`] and
//!   (YAML) alias expansion beyond [`MAX_NODES`] nodes are refused with a
//!   [`DocError`]. The parsers never panic on bad input.

use mlpol_lang::value::{Origin, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

mod dockerfile;
mod dotenv;
mod ini;
mod json;
mod python;
mod requirements;
mod toml_doc;
mod yaml;

/// Largest input accepted, in bytes.
pub const MAX_INPUT: usize = 16 * 1024 * 1024;
/// Deepest nesting of lists and maps accepted.
pub const MAX_DEPTH: usize = 256;
/// Most values that the aliases of a YAML stream may expand to.
pub const MAX_NODES: usize = 1_000_000;

/// A document that could not be parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct DocError {
    pub path: String,
    /// 1-based line, when the format reports one.
    pub line: Option<u32>,
    pub message: String,
}

impl DocError {
    pub(crate) fn new(path: &str, line: Option<u32>, message: impl AsRef<str>) -> DocError {
        DocError { path: path.to_string(), line, message: clean_message(message.as_ref()) }
    }
}

impl fmt::Display for DocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path, line, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for DocError {}

/// The document formats understood by [`parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Json,
    Toml,
    Ini,
    Dotenv,
    Dockerfile,
    Requirements,
    Python,
}

/// The format of a file, from its name (extensions case-insensitive):
///
/// * YAML: `.yaml`, `.yml`, `.dvc`, `MLmodel`, and the YAML lock files
///   `dvc.lock`, `pixi.lock`, `Podfile.lock`, `pubspec.lock`;
/// * JSON: `.json`, and `Pipfile.lock`, `composer.lock`, `flake.lock`,
///   `deno.lock`;
/// * TOML: `.toml`, `Pipfile`, and other `.lock` files (`uv.lock`,
///   `poetry.lock`, `pdm.lock`, `Cargo.lock`);
/// * INI: `.ini`, `.cfg`, `.conf`, and `config` / `config.local` in a
///   `.dvc` directory;
/// * dotenv: `.env`, `.env.*` (`.env.local`), `*.env` (`prod.env`);
/// * Dockerfile: `Dockerfile`, `Dockerfile.*` (but not
///   `Dockerfile.dockerignore` or `Dockerfile.md`), `*.Dockerfile`,
///   `Containerfile`, `Containerfile.*`, `*.Containerfile`;
/// * pip requirements: `.txt` and `.in` files whose name has
///   `requirements` or `constraints` in it (`requirements-dev.txt`,
///   `dev-requirements.in`), and those in a `requirements/` directory;
/// * Python: `.py`.
///
/// `None` for anything else, including `yarn.lock`, `Gemfile.lock`,
/// `mix.lock`, `bun.lock` and `.envrc`, which are none of these.
pub fn format_for(path: &str) -> Option<Format> {
    let normalized = path.replace('\\', "/");
    let mut parts = normalized.rsplit('/').filter(|p| !p.is_empty());
    let name = parts.next()?;
    let parent = parts.next();
    let lower = name.to_ascii_lowercase();

    if name == "MLmodel" {
        return Some(Format::Yaml);
    }
    if parent == Some(".dvc") && (name == "config" || name == "config.local") {
        return Some(Format::Ini);
    }
    if is_dockerfile(&lower) {
        return Some(Format::Dockerfile);
    }
    // Lock files that are not TOML, and other names that look like what
    // they are not.
    match lower.as_str() {
        "pipfile" => return Some(Format::Toml),
        "dvc.lock" | "pixi.lock" | "podfile.lock" | "pubspec.lock" => return Some(Format::Yaml),
        "pipfile.lock" | "composer.lock" | "flake.lock" | "deno.lock" => return Some(Format::Json),
        "yarn.lock" | "gemfile.lock" | "mix.lock" | "bun.lock" | ".envrc" => return None,
        _ => {}
    }
    // An extension needs a dot that is not the first character (`.env` has none).
    let ext = match lower.rfind('.') {
        Some(i) if i > 0 => lower.get(i + 1..),
        _ => None,
    };
    match ext {
        Some("yaml" | "yml" | "dvc") => return Some(Format::Yaml),
        Some("json") => return Some(Format::Json),
        Some("toml" | "lock") => return Some(Format::Toml),
        Some("ini" | "cfg" | "conf") => return Some(Format::Ini),
        Some("env") => return Some(Format::Dotenv),
        Some("py") => return Some(Format::Python),
        Some("txt" | "in")
            if lower.contains("requirements")
                || lower.contains("constraints")
                || parent.is_some_and(|p| p.eq_ignore_ascii_case("requirements")) =>
        {
            return Some(Format::Requirements)
        }
        _ => {}
    }
    if lower.starts_with(".env") {
        return Some(Format::Dotenv);
    }
    None
}

/// `dockerfile`, `dockerfile.*`, `*.dockerfile` and the same for
/// `containerfile` (a lowercase name).
fn is_dockerfile(lower: &str) -> bool {
    if lower.ends_with(".dockerignore") || lower.ends_with(".md") {
        return false;
    }
    ["dockerfile", "containerfile"].iter().any(|base| {
        lower == *base
            || lower.strip_prefix(base).is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'))
            || lower.strip_suffix(base).is_some_and(|rest| rest.len() > 1 && rest.ends_with('.'))
    })
}

/// Parses `text` (the contents of `path`) as `format`.
pub fn parse(format: Format, path: &str, text: &str) -> Result<Value, DocError> {
    match format {
        Format::Yaml => parse_yaml(path, text),
        Format::Json => parse_json(path, text),
        Format::Toml => parse_toml(path, text),
        Format::Ini => parse_ini(path, text),
        Format::Dotenv => parse_dotenv(path, text),
        Format::Dockerfile => parse_dockerfile(path, text),
        Format::Requirements => parse_requirements(path, text),
        Format::Python => parse_python(path, text),
    }
}

/// YAML 1.2 (core schema). A stream with one document gives that document;
/// with several, a list of them; with none, null. Aliases are expanded and
/// `<<` merge keys applied.
pub fn parse_yaml(path: &str, text: &str) -> Result<Value, DocError> {
    let text = check_input(path, text)?;
    yaml::parse(path, text, yaml::Mode::Yaml)
}

/// JSON, with object keys in document order.
pub fn parse_json(path: &str, text: &str) -> Result<Value, DocError> {
    let text = check_input(path, text)?;
    json::parse(path, text)
}

/// TOML 1.0/1.1. Datetimes become strings; arrays of tables, lists of maps.
pub fn parse_toml(path: &str, text: &str) -> Result<Value, DocError> {
    let text = check_input(path, text)?;
    toml_doc::parse(path, text)
}

/// INI with Python `configparser` semantics: section → key → string.
pub fn parse_ini(path: &str, text: &str) -> Result<Value, DocError> {
    let text = check_input(path, text)?;
    ini::parse(path, text)
}

/// A dotenv file: KEY → string.
pub fn parse_dotenv(path: &str, text: &str) -> Result<Value, DocError> {
    let text = check_input(path, text)?;
    dotenv::parse(path, text)
}

/// A Dockerfile: instructions, stages, users, `ADD` URLs, environment,
/// health check and exposed ports (see the `dockerfile` module).
pub fn parse_dockerfile(path: &str, text: &str) -> Result<Value, DocError> {
    let text = check_input(path, text)?;
    dockerfile::parse(path, text)
}

/// A pip requirements or constraints file: requirements, includes and
/// options, passwords in URLs redacted (see the `requirements` module).
pub fn parse_requirements(path: &str, text: &str) -> Result<Value, DocError> {
    let text = check_input(path, text)?;
    requirements::parse(path, text)
}

/// A Python source file: string-literal assignments, shell subprocess
/// calls, dumps of the environment and imports (see the `python` module).
pub fn parse_python(path: &str, text: &str) -> Result<Value, DocError> {
    let text = check_input(path, text)?;
    python::parse(path, text)
}

/// Refuses oversized input and drops a leading byte-order mark.
fn check_input<'t>(path: &str, text: &'t str) -> Result<&'t str, DocError> {
    if text.len() > MAX_INPUT {
        return Err(DocError::new(
            path,
            None,
            format!("file is too large ({} bytes, the limit is {MAX_INPUT})", text.len()),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(nul) = text.bytes().position(|b| b == 0) {
        let line = text.bytes().take(nul).filter(|&b| b == b'\n').count() + 1;
        return Err(DocError::new(path, Some(line_u32(line)), "binary content (NUL byte)"));
    }
    Ok(text)
}

/// Error messages: one line, lowercase first letter, no trailing period.
fn clean_message(message: &str) -> String {
    let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = one_line.trim_end_matches('.').trim();
    let mut chars = trimmed.chars();
    match chars.next() {
        Some(first) if first.is_uppercase() && !chars.clone().next().is_some_and(char::is_uppercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => trimmed.to_string(),
    }
}

/// Converts a 1-based line count to `u32`, saturating.
fn line_u32(line: usize) -> u32 {
    u32::try_from(line.max(1)).unwrap_or(u32::MAX)
}

/// Hands out shared origins, one per line.
struct Origins {
    path: String,
    by_line: HashMap<u32, Arc<Origin>>,
}

impl Origins {
    fn new(path: &str) -> Origins {
        Origins { path: path.to_string(), by_line: HashMap::new() }
    }

    fn at(&mut self, line: u32) -> Arc<Origin> {
        self.by_line.entry(line).or_insert_with(|| Arc::new(Origin::file(self.path.clone(), Some(line)))).clone()
    }

    /// `value` with its origin set to `line`.
    fn put(&mut self, value: Value, line: u32) -> Value {
        value.with_origin_arc(Some(self.at(line)))
    }
}

/// Byte offset → 1-based line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> u32 {
        line_u32(self.starts.partition_point(|&s| s <= offset))
    }
}

/// A map value that keeps the last of duplicate keys, in the position of the
/// first.
#[derive(Default)]
struct MapBuilder {
    entries: Vec<(String, Value)>,
    index: HashMap<String, usize>,
}

impl MapBuilder {
    fn insert(&mut self, key: String, value: Value) {
        match self.index.get(&key) {
            Some(&i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    slot.1 = value;
                }
            }
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    fn into_value(self) -> Value {
        Value::map(self.entries)
    }
}
