//! The file-tree collector: one walk of the target (lazily, on first use),
//! globs over it, and lazy, size-capped reads of contents. `.git/` is never
//! entered; vendored and generated directories are left out of globs.

use crate::docs;
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::value::{record, Kind, Origin, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Directory names never descended into by globs and scans.
pub const SKIPPED_DIRS: &[&str] =
    &[".git", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".tox", "target", ".dvc/cache"];

/// Files larger than this are not read.
pub const MAX_READ: u64 = 8 << 20;

#[derive(Debug, Clone)]
pub struct Entry {
    pub rel: String,
    pub kind: &'static str,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub link: Option<String>,
}

type Walk = Arc<Result<Vec<Entry>, String>>;

pub struct Repo {
    root: PathBuf,
    /// The walk of the target, made on first use and again after `refresh`.
    entries: RwLock<Option<Walk>>,
}

impl Repo {
    pub fn new(root: impl Into<PathBuf>) -> Repo {
        Repo { root: root.into(), entries: RwLock::new(None) }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Forgets the walk: the next fact walks the target again.
    pub fn refresh(&self) {
        if let Ok(mut e) = self.entries.write() {
            *e = None;
        }
    }

    fn walk(&self) -> Walk {
        if let Some(w) = self.entries.read().ok().and_then(|e| e.clone()) {
            return w;
        }
        let w: Walk = Arc::new(walk(&self.root));
        if let Ok(mut e) = self.entries.write() {
            *e = Some(w.clone());
        }
        w
    }

    pub fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
        let arg = |i: usize| call.args.get(i).cloned().unwrap_or_else(Value::null);
        let text_arg = |i: usize| arg(i).as_str().map(str::to_string).unwrap_or_default();
        match (call.namespace.as_str(), call.name.as_str()) {
            ("files", "glob") => self.glob(&text_arg(0), "file"),
            ("files", "dirs") => self.glob(&text_arg(0), "dir"),
            ("files", "get") => {
                let p = normalize(&text_arg(0));
                let walk = self.walk();
                let entries = entries(&walk)?;
                Ok(entries.iter().find(|e| e.rel == p).map_or_else(Value::null, |e| self.file_value(e)))
            }
            ("files", "exists") => {
                let p = normalize(&text_arg(0));
                let walk = self.walk();
                Ok(Value::bool(p.is_empty() || entries(&walk)?.iter().any(|e| e.rel == p)))
            }
            ("files", "text") => {
                let (path, text) = self.read_text(&arg(0))?;
                Ok(Value::str(text).with_origin(Origin::file(path, None)))
            }
            ("files", "lines") => {
                let (path, text) = self.read_text(&arg(0))?;
                Ok(Value::list(lines_of(&path, &text)))
            }
            ("files", "ignores") => {
                // Not in the schema: the runner reads inline ignores through
                // this fact so replays see the same markers.
                let file = Value::str(text_arg(0));
                let Ok((path, text)) = self.read_text(&file) else { return Ok(Value::list(Vec::new())) };
                Ok(Value::list(inline_ignores(&path, &text)))
            }
            ("files", "grep") => self.grep(&arg(0), call.args.get(1).and_then(|g| g.as_str()).unwrap_or("**/*")),
            ("doc", name) => {
                let (path, text) = self.read_text(&arg(0))?;
                let format = match name {
                    "yaml" => Some(docs::Format::Yaml),
                    "json" => Some(docs::Format::Json),
                    "toml" => Some(docs::Format::Toml),
                    "ini" => Some(docs::Format::Ini),
                    "dotenv" => Some(docs::Format::Dotenv),
                    _ => docs::format_for(&path),
                };
                let Some(format) = format else {
                    return Err(FactError::new(format!("cannot tell the format of `{path}` from its name")).at(Origin::file(path, None)));
                };
                docs::parse(format, &path, &text).map_err(|e| {
                    FactError::new(e.message.clone()).at(Origin::file(e.path.clone(), e.line))
                })
            }
            _ => Err(FactError::new(format!("no collector for `{}.{}`", call.namespace, call.name))),
        }
    }

    fn file_value(&self, e: &Entry) -> Value {
        let name = e.rel.rsplit('/').next().unwrap_or(&e.rel).to_string();
        let ext = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => ext.to_string(),
            _ => String::new(),
        };
        let dir = e.rel.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string());
        let binary = e.kind == "file" && is_binary(&self.root.join(&e.rel));
        record(vec![
            ("path", Value::str(&e.rel)),
            ("name", Value::str(name)),
            ("ext", Value::str(ext)),
            ("dir", Value::str(dir)),
            ("kind", Value::str(e.kind)),
            ("size", Value::new(Kind::Size(i64::try_from(e.size).unwrap_or(i64::MAX)))),
            ("mode", Value::int(i64::from(e.mode & 0o7777))),
            ("uid", Value::int(i64::from(e.uid))),
            ("gid", Value::int(i64::from(e.gid))),
            ("link", e.link.as_ref().map_or_else(Value::null, Value::str)),
            ("binary", Value::bool(binary)),
        ])
        .with_origin(Origin::file(e.rel.clone(), None))
    }

    fn glob(&self, pattern: &str, kind: &str) -> Result<Value, FactError> {
        let matcher = compile_glob(pattern)?;
        let mut out = Vec::new();
        let walk = self.walk();
        for e in entries(&walk)? {
            if e.kind == kind && !is_skipped(&e.rel) && matcher.is_match(&e.rel) {
                out.push(self.file_value(e));
            }
        }
        Ok(Value::list(out))
    }

    fn read_text(&self, file: &Value) -> Result<(String, String), FactError> {
        let Some(path) = file.get("path").and_then(|p| p.as_str()).or_else(|| file.as_str()) else {
            return Err(FactError::new("expected a file"));
        };
        let path = normalize(path);
        let origin = Origin::file(path.clone(), None);
        let full = self.root.join(&path);
        let meta = std::fs::metadata(&full).map_err(|e| FactError::new(format!("cannot read: {}", io_reason(&e))).at(origin.clone()))?;
        if !meta.is_file() {
            return Err(FactError::new("not a regular file").at(origin));
        }
        if meta.len() > MAX_READ {
            return Err(FactError::new(format!("file is larger than {} MiB", MAX_READ >> 20)).at(origin));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&full)
            .and_then(|f| f.take(MAX_READ + 1).read_to_end(&mut bytes))
            .map_err(|e| FactError::new(format!("cannot read: {}", io_reason(&e))).at(origin.clone()))?;
        if bytes.iter().take(8192).any(|b| *b == 0) {
            return Err(FactError::new("binary file").at(origin));
        }
        Ok((path, String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn grep(&self, pattern: &Value, glob: &str) -> Result<Value, FactError> {
        let source = match &pattern.kind {
            Kind::Regex(r) | Kind::Str(r) => r.to_string(),
            _ => return Err(FactError::new("`files.grep` needs a regular expression")),
        };
        let re = regex::RegexBuilder::new(&source)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| FactError::new(format!("invalid regular expression: {e}")))?;
        let matcher = compile_glob(glob)?;
        let mut out = Vec::new();
        let walk = self.walk();
        for e in entries(&walk)? {
            if e.kind != "file" || is_skipped(&e.rel) || !matcher.is_match(&e.rel) || e.size > MAX_READ {
                continue;
            }
            let file = Value::str(&e.rel);
            let Ok((path, text)) = self.read_text(&file) else { continue };
            for (i, line) in text.lines().enumerate() {
                if let Some(m) = re.find(line) {
                    let n = i64::try_from(i + 1).unwrap_or(i64::MAX);
                    let origin = Origin::file(path.clone(), u32::try_from(i + 1).ok());
                    out.push(
                        record(vec![
                            ("path", Value::str(&path)),
                            ("line", Value::int(n)),
                            ("text", Value::str(line)),
                            ("match", Value::str(m.as_str())),
                        ])
                        .with_origin(origin),
                    );
                    if out.len() > 100_000 {
                        return Err(FactError::new("more than 100000 matches"));
                    }
                }
            }
        }
        Ok(Value::list(out))
    }
}

/// `mlpol:ignore <check-id> <reason>` markers in a file's comments.
fn inline_ignores(path: &str, text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(pos) = line.find("mlpol:ignore") else { continue };
        let rest = line.get(pos + "mlpol:ignore".len()..).unwrap_or("").trim();
        let (check, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if check.is_empty() {
            continue;
        }
        out.push(
            record(vec![
                ("line", Value::int(i64::try_from(i + 1).unwrap_or(i64::MAX))),
                ("check", Value::str(check)),
                ("reason", Value::str(reason.trim())),
            ])
            .with_origin(Origin::file(path.to_string(), u32::try_from(i + 1).ok())),
        );
    }
    out
}

fn entries(walk: &Walk) -> Result<&[Entry], FactError> {
    walk.as_ref().as_deref().map_err(|e| FactError::new(e.clone()))
}

fn lines_of(path: &str, text: &str) -> Vec<Value> {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            record(vec![
                ("path", Value::str(path)),
                ("line", Value::int(i64::try_from(i + 1).unwrap_or(i64::MAX))),
                ("text", Value::str(line)),
            ])
            .with_origin(Origin::file(path.to_string(), u32::try_from(i + 1).ok()))
        })
        .collect()
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => e.to_string().to_lowercase(),
    }
}

/// A pattern without `/` matches the file name at any depth.
fn compile_glob(pattern: &str) -> Result<globset::GlobMatcher, FactError> {
    let pattern = pattern.trim_start_matches("./");
    let full = if pattern.contains('/') { pattern.to_string() } else { format!("**/{pattern}") };
    globset::GlobBuilder::new(&full)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| FactError::new(format!("invalid glob `{pattern}`: {}", e.kind())))
}

fn is_skipped(rel: &str) -> bool {
    SKIPPED_DIRS.iter().any(|d| rel == *d || rel.starts_with(&format!("{d}/")) || rel.contains(&format!("/{d}/")))
}

fn normalize(path: &str) -> String {
    mlpol_lang::db::normalize(path)
}

fn is_binary(path: &Path) -> bool {
    let mut buf = [0u8; 8192];
    match std::fs::File::open(path).and_then(|mut f| f.read(&mut buf)) {
        Ok(n) => buf.get(..n).is_some_and(|b| b.contains(&0)),
        Err(_) => false,
    }
}

fn walk(root: &Path) -> Result<Vec<Entry>, String> {
    use std::os::unix::fs::MetadataExt;
    if !root.exists() {
        return Err(format!("target `{}` does not exist", root.display()));
    }
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || e.file_name() != ".git");
    for entry in walker {
        let Ok(entry) = entry else { continue };
        if entry.depth() == 0 {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else { continue };
        let Some(rel) = rel.to_str() else { continue };
        let rel = rel.replace('\\', "/");
        let Ok(meta) = entry.path().symlink_metadata() else { continue };
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            "symlink"
        } else if ft.is_dir() {
            "dir"
        } else if ft.is_file() {
            "file"
        } else {
            "other"
        };
        let link = if ft.is_symlink() {
            std::fs::read_link(entry.path()).ok().map(|p| p.to_string_lossy().into_owned())
        } else {
            None
        };
        out.push(Entry { rel, kind, size: meta.len(), mode: meta.mode(), uid: meta.uid(), gid: meta.gid(), link });
        if out.len() > 5_000_000 {
            return Err("more than 5000000 entries in the target".to_string());
        }
    }
    Ok(out)
}
