//! The file-tree collector: one walk of the target (lazily, on first use),
//! globs over it, and lazy, size-capped reads of contents. `.git/` is never
//! entered; vendored and generated directories are left out of globs.

use crate::docs;
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::value::{record, Kind, Origin, Value};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// Directory names never descended into by globs and scans.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".tox",
    "target",
    ".dvc/cache",
];

/// Files larger than this are not read.
pub const MAX_READ: u64 = 8 << 20;

#[derive(Debug, Clone)]
pub struct Entry {
    /// The path relative to the target, `/`-separated; a name that is not
    /// UTF-8 is shown lossily (`\u{FFFD}`).
    pub rel: String,
    /// The path relative to the target as the file system spells it, when
    /// `rel` does not (a name that is not UTF-8), to read the file.
    pub os_rel: Option<PathBuf>,
    pub kind: &'static str,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub link: Option<String>,
}

/// One walk of the target: its entries, its ignore files, what git tracks,
/// and what could not be read.
pub struct Tree {
    pub entries: Vec<Entry>,
    /// `.gitignore` matchers by directory (relative, `` for the root), root
    /// first; `.git/info/exclude` belongs to the root.
    git_ignores: Vec<(String, ignore::gitignore::Gitignore)>,
    dvc_ignores: Vec<(String, ignore::gitignore::Gitignore)>,
    /// Paths git tracks, when the target is in a git work tree.
    tracked: Option<HashSet<String>>,
    /// Directories that could not be listed, with the reason.
    pub errors: Vec<(String, String)>,
    /// Whether a file is binary, sniffed once per walk: every glob that
    /// lists a file reports it.
    binary: Mutex<HashMap<String, bool>>,
}

impl Entry {
    /// The path relative to the target, as the file system spells it.
    pub fn fs_rel(&self) -> &Path {
        self.os_rel.as_deref().unwrap_or_else(|| Path::new(&self.rel))
    }
}

type Walk = Arc<Result<Tree, String>>;

pub struct Repo {
    root: PathBuf,
    /// Directories left out of globs, greps and scans (names at any depth,
    /// or paths relative to the target).
    skipped: Vec<String>,
    /// The walk of the target, made on first use and again after `refresh`.
    entries: RwLock<Option<Walk>>,
    /// Held while the target is walked, so that facts collected at once
    /// share one walk instead of each making its own.
    walking: Mutex<()>,
}

impl Repo {
    pub fn new(root: impl Into<PathBuf>) -> Repo {
        Repo::with_skipped(root, SKIPPED_DIRS.iter().map(|s| s.to_string()).collect())
    }

    /// A repository whose content scans leave out these directories instead
    /// of [`SKIPPED_DIRS`] (`[files] skip` in mlpol.toml).
    pub fn with_skipped(root: impl Into<PathBuf>, skipped: Vec<String>) -> Repo {
        Repo { root: root.into(), skipped, entries: RwLock::new(None), walking: Mutex::new(()) }
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
        let _walking = self.walking.lock();
        if let Some(w) = self.entries.read().ok().and_then(|e| e.clone()) {
            return w;
        }
        let under_skipped = |rel: &str| rel.rsplit_once('/').is_some_and(|(parent, _)| self.is_skipped(parent));
        let w: Walk = Arc::new(walk(&self.root, &under_skipped).map(|entries| Tree::new(&self.root, entries)));
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
                let tree = tree(&walk)?;
                tree.complete_under(&p)?;
                Ok(tree.entries.iter().find(|e| e.rel == p).map_or_else(Value::null, |e| self.file_value(tree, e)))
            }
            ("files", "exists") => {
                let p = normalize(&text_arg(0));
                let walk = self.walk();
                let tree = tree(&walk)?;
                tree.complete_under(&p)?;
                Ok(Value::bool(p.is_empty() || tree.entries.iter().any(|e| e.rel == p)))
            }
            ("files", "gitignored") | ("files", "dvcignored") => {
                let p = normalize(&text_arg(0));
                let walk = self.walk();
                let tree = tree(&walk)?;
                let is_dir = tree.entries.iter().any(|e| e.rel == p && e.kind == "dir");
                let list = if call.name == "gitignored" { &tree.git_ignores } else { &tree.dvc_ignores };
                Ok(Value::bool(ignored(&self.root, list, &p, is_dir)))
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
            ("secrets", "scan") => self.scan_secrets(call.args.first().and_then(|g| g.as_str()).unwrap_or("**/*")),
            ("secrets", "history") => {
                let depth = match call.args.first().map(|d| &d.kind) {
                    Some(Kind::Int(n)) => usize::try_from(*n).unwrap_or(1),
                    _ => crate::git::DEFAULT_DEPTH,
                };
                let found = crate::git::secret_history(&self.root, depth, crate::secrets::Scanner::shared())
                    .map_err(FactError::new)?;
                let walk = self.walk();
                let tree = tree(&walk)?;
                let values = found
                    .iter()
                    .map(|h| {
                        let present = self.still_present(tree, &h.finding);
                        let mut v = crate::secrets::finding_value(&h.finding);
                        if let Kind::Map(entries) = &mut v.kind {
                            let entries = std::sync::Arc::make_mut(entries);
                            entries.push(("commit".to_string(), Value::str(&h.commit)));
                            entries.push(("date".to_string(), Value::str(&h.date)));
                            entries.push(("subject".to_string(), Value::str(&h.subject)));
                            entries.push(("present".to_string(), Value::bool(present)));
                        }
                        // A removed secret has no line to point at today.
                        if !present {
                            v.origin = Some(std::sync::Arc::new(Origin {
                                path: Some(h.finding.path.clone()),
                                line: None,
                                uri: None,
                            }));
                        }
                        v
                    })
                    .collect();
                Ok(Value::list(values))
            }
            ("git", "is_repo") => Ok(Value::bool(crate::git::is_repo(&self.root))),
            ("files", "grep") => self.grep(&arg(0), call.args.get(1).and_then(|g| g.as_str()).unwrap_or("**/*")),
            ("doc", name) => {
                let (path, text) = self.read_text(&arg(0))?;
                let format = match name {
                    "yaml" => Some(docs::Format::Yaml),
                    "json" => Some(docs::Format::Json),
                    "toml" => Some(docs::Format::Toml),
                    "ini" => Some(docs::Format::Ini),
                    "dotenv" => Some(docs::Format::Dotenv),
                    "dockerfile" => Some(docs::Format::Dockerfile),
                    "requirements" => Some(docs::Format::Requirements),
                    "python" => Some(docs::Format::Python),
                    _ => docs::format_for(&path),
                };
                let Some(format) = format else {
                    return Err(FactError::new(format!("cannot tell the format of `{path}` from its name"))
                        .at(Origin::file(path, None)));
                };
                docs::parse(format, &path, &text)
                    .map_err(|e| FactError::new(e.message.clone()).at(Origin::file(e.path.clone(), e.line)))
            }
            _ => Err(FactError::new(format!("no collector for `{}.{}`", call.namespace, call.name))),
        }
    }

    fn file_value(&self, tree: &Tree, e: &Entry) -> Value {
        let name = e.rel.rsplit('/').next().unwrap_or(&e.rel).to_string();
        let ext = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => ext.to_string(),
            _ => String::new(),
        };
        let dir = e.rel.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string());
        let binary = e.kind == "file" && tree.is_binary(&self.root, &e.rel);
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
            ("gitignored", Value::bool(ignored(&self.root, &tree.git_ignores, &e.rel, e.kind == "dir"))),
            ("dvcignored", Value::bool(ignored(&self.root, &tree.dvc_ignores, &e.rel, e.kind == "dir"))),
            ("tracked", tree.tracked.as_ref().map_or_else(Value::null, |t| Value::bool(t.contains(&e.rel)))),
        ])
        .with_origin(Origin::file(e.rel.clone(), None))
    }

    fn glob(&self, pattern: &str, kind: &str) -> Result<Value, FactError> {
        let matcher = compile_glob(pattern)?;
        let mut out = Vec::new();
        let walk = self.walk();
        let tree = tree(&walk)?;
        tree.complete_for(pattern)?;
        for e in &tree.entries {
            if e.kind == kind && matcher.is_match(&e.rel) && !self.is_skipped(&e.rel) {
                out.push(self.file_value(tree, e));
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
        let full = self.root.join(self.os_rel(&path));
        let meta = std::fs::metadata(&full).map_err(|e| read_error(&path, &e))?;
        // A symbolic link (or `..`) must not take a read out of the target:
        // a hostile repository could otherwise show files of the machine
        // that evaluates it (credentials, `/proc/self/environ`).
        let inside = match (std::fs::canonicalize(&full), std::fs::canonicalize(&self.root)) {
            (Ok(real), Ok(root)) => real.starts_with(root),
            _ => false,
        };
        if !inside {
            return Err(FactError::new("a symbolic link or `..` leads out of the target; not read").at(origin));
        }
        if !meta.is_file() {
            return Err(FactError::new("not a regular file").at(origin));
        }
        if meta.len() > MAX_READ {
            return Err(FactError::new(format!("file is larger than {} MiB", MAX_READ >> 20)).at(origin));
        }
        let bytes = read_capped(&full).map_err(|e| read_error(&path, &e))?;
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
        let tree = tree(&walk)?;
        tree.complete_for(glob)?;
        for e in &tree.entries {
            if e.kind != "file" || e.size > MAX_READ || !matcher.is_match(&e.rel) || self.is_skipped(&e.rel) {
                continue;
            }
            // A walked `file` is a regular file inside the target (the walk
            // never follows links): read it without `read_text`'s checks.
            let Ok(bytes) = read_capped(&self.root.join(e.fs_rel())) else { continue };
            if bytes.iter().take(8192).any(|b| *b == 0) {
                continue;
            }
            let (path, text) = (&e.rel, String::from_utf8_lossy(&bytes));
            for (i, line) in text.lines().enumerate() {
                if let Some(m) = re.find(line) {
                    let n = i64::try_from(i + 1).unwrap_or(i64::MAX);
                    let origin = Origin::file(path.clone(), u32::try_from(i + 1).ok());
                    out.push(
                        record(vec![
                            ("path", Value::str(path)),
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

impl Repo {
    /// Secrets in the text files matching the glob.
    pub fn scan_secrets(&self, glob: &str) -> Result<Value, FactError> {
        let found = self.secret_findings(glob)?;
        Ok(Value::list(found.iter().map(crate::secrets::finding_value).collect()))
    }

    /// The raw findings of the scanner over the target (for `mlpol secrets`).
    pub fn secret_findings(&self, glob: &str) -> Result<Vec<crate::secrets::SecretFinding>, FactError> {
        let matcher = compile_glob(glob)?;
        let walk = self.walk();
        let tree = tree(&walk)?;
        tree.complete_for(glob)?;
        let scanner = crate::secrets::Scanner::shared();
        let mut out = Vec::new();
        for e in &tree.entries {
            if e.kind != "file" || e.size > MAX_READ || !matcher.is_match(&e.rel) || self.is_skipped(&e.rel) {
                continue;
            }
            let bytes = read_capped(&self.root.join(e.fs_rel())).map_err(|err| read_error(&e.rel, &err))?;
            out.extend(scanner.scan_bytes(&e.rel, &bytes));
        }
        Ok(out)
    }

    /// Whether a secret found in history is still in the file today.
    fn still_present(&self, tree: &Tree, f: &crate::secrets::SecretFinding) -> bool {
        let Some(e) = tree.entries.iter().find(|e| e.rel == f.path && e.kind == "file") else {
            return false;
        };
        read_capped(&self.root.join(e.fs_rel())).is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(&f.clear))
    }

    /// The path to open for `rel`: itself, or for a name shown lossily (not
    /// UTF-8), the real name of the walked entry shown that way.
    fn os_rel(&self, rel: &str) -> PathBuf {
        if rel.contains(char::REPLACEMENT_CHARACTER) {
            let walk = self.walk();
            if let Ok(tree) = walk.as_ref() {
                if let Some(e) = tree.entries.iter().find(|e| e.rel == rel) {
                    return e.fs_rel().to_path_buf();
                }
            }
        }
        PathBuf::from(rel)
    }
}

/// The first [`MAX_READ`] bytes of a file.
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_READ).read_to_end(&mut bytes)?;
    Ok(bytes)
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

fn tree(walk: &Walk) -> Result<&Tree, FactError> {
    walk.as_ref().as_ref().map_err(|e| FactError::new(e.clone()))
}

impl Tree {
    fn new(root: &Path, walked: Walked) -> Tree {
        let mut git_ignores = Vec::new();
        let mut dvc_ignores = Vec::new();
        if let Some(g) = gitignore(root, "", &root.join(".git/info/exclude")) {
            git_ignores.push((String::new(), g));
        }
        for e in &walked.entries {
            if e.kind != "file" || e.size > 1 << 20 {
                continue;
            }
            let (dir, name) = e.rel.rsplit_once('/').map_or(("", e.rel.as_str()), |(d, n)| (d, n));
            let list = match name {
                ".gitignore" => &mut git_ignores,
                ".dvcignore" => &mut dvc_ignores,
                _ => continue,
            };
            if let Some(g) = gitignore(root, dir, &root.join(&e.rel)) {
                list.push((dir.to_string(), g));
            }
        }
        // Root first, deeper directories later: a deeper file decides last.
        git_ignores.sort_by_key(|(d, _)| d.matches('/').count() + usize::from(!d.is_empty()));
        dvc_ignores.sort_by_key(|(d, _)| d.matches('/').count() + usize::from(!d.is_empty()));
        Tree {
            entries: walked.entries,
            git_ignores,
            dvc_ignores,
            tracked: git_tracked(root),
            errors: walked.errors,
            binary: Mutex::default(),
        }
    }

    fn is_binary(&self, root: &Path, rel: &str) -> bool {
        if let Some(b) = self.binary.lock().ok().and_then(|m| m.get(rel).copied()) {
            return b;
        }
        let b = is_binary(&root.join(rel));
        if let Ok(mut m) = self.binary.lock() {
            m.insert(rel.to_string(), b);
        }
        b
    }

    /// An error when a directory that could hold matches of `pattern` could
    /// not be listed: an incomplete answer must not pass a check.
    fn complete_for(&self, pattern: &str) -> Result<(), FactError> {
        let pattern = pattern.trim_start_matches("./");
        let literal: String = if pattern.contains('/') {
            pattern.chars().take_while(|c| !matches!(c, '*' | '?' | '[' | '{')).collect()
        } else {
            String::new()
        };
        let literal = literal.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string());
        match self.errors.iter().find(|(dir, _)| dir.starts_with(&literal) || literal.starts_with(dir.as_str())) {
            Some((dir, reason)) => {
                Err(FactError::new(format!("cannot list `{dir}`: {reason}")).at(Origin::file(dir.clone(), None)))
            }
            None => Ok(()),
        }
    }

    fn complete_under(&self, path: &str) -> Result<(), FactError> {
        match self.errors.iter().find(|(dir, _)| path.starts_with(&format!("{dir}/")) || dir.is_empty()) {
            Some((dir, reason)) => {
                Err(FactError::new(format!("cannot list `{dir}`: {reason}")).at(Origin::file(dir.clone(), None)))
            }
            None => Ok(()),
        }
    }
}

fn gitignore(root: &Path, dir: &str, file: &Path) -> Option<ignore::gitignore::Gitignore> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut builder = ignore::gitignore::GitignoreBuilder::new(root.join(dir));
    for line in text.lines() {
        // A malformed pattern is skipped, as git skips it.
        let _ = builder.add_line(None, line);
    }
    builder.build().ok()
}

/// Whether the ignore files say `rel` is ignored: the deepest file with a
/// matching pattern decides, and an ignored directory ignores what is in it.
fn ignored(root: &Path, list: &[(String, ignore::gitignore::Gitignore)], rel: &str, is_dir: bool) -> bool {
    if rel.is_empty() {
        return false;
    }
    let mut result = false;
    for (dir, matcher) in list {
        let under = dir.is_empty() || rel.starts_with(&format!("{dir}/"));
        if !under {
            continue;
        }
        // Paths are always under the matcher's root here, which the ignore
        // crate requires.
        match matcher.matched_path_or_any_parents(root.join(rel), is_dir) {
            ignore::Match::Ignore(_) => result = true,
            ignore::Match::Whitelist(_) => result = false,
            ignore::Match::None => {}
        }
    }
    result
}

/// `git ls-files` of the target, or `None` when it is not in a git work tree
/// (or git is not installed).
fn git_tracked(root: &Path) -> Option<HashSet<String>> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "core.quotepath=off", "ls-files", "-z"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        out.stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect(),
    )
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

/// `cannot read: permission denied`, located at the file.
fn read_error(rel: &str, e: &std::io::Error) -> FactError {
    FactError::new(format!("cannot read: {}", io_reason(e))).at(Origin::file(rel.to_string(), None))
}

/// The reason of an I/O error, short and stable (no "os error" numbers).
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match (e.kind(), e.raw_os_error()) {
        (std::io::ErrorKind::PermissionDenied, _) => "permission denied".to_string(),
        (std::io::ErrorKind::NotFound, _) => "no such file".to_string(),
        (_, Some(40)) => "filesystem loop or too many symbolic links".to_string(),
        _ => {
            let text = e.to_string().to_lowercase();
            match text.find(" (os error") {
                Some(i) => text.get(..i).unwrap_or(&text).to_string(),
                None => text,
            }
        }
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

impl Repo {
    /// Whether `rel` is a skipped directory or under one (without
    /// allocating: this runs for every entry of every glob).
    fn is_skipped(&self, rel: &str) -> bool {
        let dirs = rel.rsplit_once('/').map(|(dirs, _)| dirs);
        self.skipped.iter().any(|d| {
            let d = d.trim_matches('/');
            if rel == d {
                true
            } else if d.contains('/') {
                rel.strip_prefix(d).is_some_and(|rest| rest.starts_with('/'))
            } else {
                dirs.is_some_and(|dirs| dirs.split('/').any(|c| c == d))
            }
        })
    }
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

struct Walked {
    entries: Vec<Entry>,
    errors: Vec<(String, String)>,
}

/// Walks the target. Directories that `under_skipped` says are inside a
/// skipped directory are not entered: a skipped directory is listed itself
/// (so `files.exists(".venv")` holds) but its contents are not walked, which
/// keeps a `node_modules` or `target` of a million files from slowing every
/// fact down.
fn walk(root: &Path, under_skipped: &dyn Fn(&str) -> bool) -> Result<Walked, String> {
    use std::os::unix::fs::MetadataExt;
    if !root.is_dir() {
        return Err(format!("target `{}` is not a directory", root.display()));
    }
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let walker = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name().into_iter().filter_entry(|e| {
        if e.depth() == 0 {
            return true;
        }
        let rel = e.path().strip_prefix(root).map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
        e.file_name() != ".git" && !under_skipped(&rel)
    });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            // Gone since its directory was listed (a build running beside
            // us): it is not part of the tree, and nothing was left unread.
            Err(e) if e.io_error().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) => continue,
            Err(e) => {
                let rel = e
                    .path()
                    .and_then(|p| p.strip_prefix(root).ok())
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                let reason = e.io_error().map_or_else(|| e.to_string(), io_reason);
                errors.push((rel, reason));
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let Ok(os_rel) = entry.path().strip_prefix(root) else { continue };
        // A name that is not UTF-8 is kept (lossily) so it is seen, and
        // its real name is kept to read it.
        let rel = os_rel.to_string_lossy().replace('\\', "/");
        let os_rel = os_rel.to_str().is_none().then(|| os_rel.to_path_buf());
        let meta = match entry.path().symlink_metadata() {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                errors.push((rel, io_reason(&e)));
                continue;
            }
        };
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
        entries.push(Entry {
            rel,
            os_rel,
            kind,
            size: meta.len(),
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
            link,
        });
        if entries.len() > 5_000_000 {
            return Err("more than 5000000 entries in the target".to_string());
        }
    }
    Ok(Walked { entries, errors })
}
