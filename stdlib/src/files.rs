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
    /// Inside (or itself) a skipped directory: listed, but left out of
    /// globs, greps and scans.
    pub skipped: bool,
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
    /// The results of globs, greps and secret scans, file by file, so that
    /// a changed path patches them ([`Repo::refresh_paths`]) instead of a
    /// new pass over every entry.
    listings: Mutex<HashMap<String, Listing>>,
}

/// What a listing collects from each entry its glob matches.
enum Scan {
    /// `files.glob`: the file's record.
    Files,
    /// `files.dirs`: the directory's record.
    Dirs,
    /// `files.grep`: the matching lines of the file.
    Grep(Arc<regex::Regex>),
    /// `secrets.scan`: the secrets in the file.
    Secrets,
}

/// One glob's results over the tree: for each entry with results (in walk
/// order), what [`Scan`] found in it.
struct Listing {
    matcher: Arc<Glob>,
    scan: Scan,
    items: Vec<(String, Arc<[Value]>)>,
    /// Patched into something other than what its fact last returned.
    changed: bool,
}

impl Listing {
    /// The key of the listing behind a glob, grep or secret-scan fact.
    fn key(call: &FactCall) -> Option<String> {
        let text = |i: usize, default: &'static str| match call.args.get(i).map(|v| &v.kind) {
            Some(Kind::Str(s) | Kind::Regex(s)) => s.to_string(),
            _ => default.to_string(),
        };
        match (call.namespace.as_str(), call.name.as_str()) {
            ("files", "glob") => Some(format!("file\0{}", text(0, ""))),
            ("files", "dirs") => Some(format!("dir\0{}", text(0, ""))),
            ("files", "grep") => Some(format!("grep\0{}\0{}", text(0, ""), text(1, "**/*"))),
            ("secrets", "scan") => Some(format!("secrets\0{}", text(0, "**/*"))),
            _ => None,
        }
    }

    fn value(&self) -> Value {
        Value::list(self.items.iter().flat_map(|(_, found)| found.iter().cloned()).collect())
    }
}

/// Files of the target that changed (`mlpol eval --watch`), as
/// [`Repo::refresh_paths`] applied them to the walk.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Paths relative to the target, `/`-separated.
    pub paths: Vec<String>,
    /// The walk was made again from scratch (a directory appeared or went,
    /// an ignore file changed, a path could not be applied alone): every
    /// fact over the tree may have changed.
    pub full: bool,
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
    /// Compiled globs by pattern: a policy names a few dozen, and watch mode
    /// matches each changed path against all of them.
    matchers: Mutex<HashMap<String, Arc<Glob>>>,
    /// Compiled regular expressions of greps by source.
    regexes: Mutex<HashMap<String, Arc<regex::Regex>>>,
}

impl Repo {
    pub fn new(root: impl Into<PathBuf>) -> Repo {
        Repo::with_skipped(root, SKIPPED_DIRS.iter().map(|s| s.to_string()).collect())
    }

    /// A repository whose content scans leave out these directories instead
    /// of [`SKIPPED_DIRS`] (`[files] skip` in mlpol.toml).
    pub fn with_skipped(root: impl Into<PathBuf>, skipped: Vec<String>) -> Repo {
        Repo {
            root: root.into(),
            skipped,
            entries: RwLock::new(None),
            walking: Mutex::new(()),
            matchers: Mutex::default(),
            regexes: Mutex::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Applies changed paths (relative to the target) to the walk already
    /// made: each path is `stat`ed again, its entry added, replaced or
    /// removed, and the listings that match it patched. What one path
    /// cannot tell — a directory that appeared or went, a changed
    /// `.gitignore`/`.dvcignore`, a tree with unlisted directories or with a
    /// name that is not UTF-8 — forgets the whole walk instead, so the next
    /// fact walks the target again; [`Changes::full`] says so.
    pub fn refresh_paths(&self, paths: &[String]) -> Changes {
        let paths: Vec<String> = paths.iter().map(|p| normalize(p)).collect();
        let full = match self.entries.write() {
            Ok(mut slot) => {
                let applied = match slot.as_mut().map(Arc::get_mut) {
                    // Nothing walked yet: the first fact walks what is there.
                    None => true,
                    Some(Some(Ok(tree))) => paths.iter().all(|p| self.apply(tree, p)),
                    // A walk that failed, or one a fact still holds.
                    Some(_) => false,
                };
                if !applied {
                    *slot = None;
                }
                !applied
            }
            Err(_) => true,
        };
        Changes { paths, full }
    }

    /// Applies one changed path to the tree; `false` when it takes a new walk.
    fn apply(&self, tree: &mut Tree, rel: &str) -> bool {
        // Listings are kept in the order of the names as shown, which is the
        // walk's order only while every name is UTF-8.
        let lossy = || rel.contains(char::REPLACEMENT_CHARACTER) || tree.entries.iter().any(|e| e.os_rel.is_some());
        if rel.is_empty() || !tree.errors.is_empty() || lossy() {
            return false;
        }
        if rel.split('/').any(|c| c == ".git") {
            return true;
        }
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        if is_skipped(&self.skipped, parent) {
            return true; // never walked
        }
        if matches!(name, ".gitignore" | ".dvcignore") {
            return false;
        }
        if !parent.is_empty() && tree.find(parent).is_none_or(|i| tree.entries.get(i).is_none_or(|e| e.kind != "dir")) {
            return false;
        }
        tree.forget(rel);
        let existing = tree.find(rel);
        let was_dir = existing.and_then(|i| tree.entries.get(i)).is_some_and(|e| e.kind == "dir");
        let applied = match std::fs::symlink_metadata(self.root.join(rel)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(i) = existing {
                    tree.entries.remove(i);
                }
                !was_dir
            }
            Err(_) => false,
            Ok(meta) => {
                if meta.is_dir() != was_dir {
                    return false;
                }
                let skipped = is_skipped(&self.skipped, rel);
                let entry = entry_of(rel.to_string(), None, &meta, &self.root.join(rel), skipped);
                match existing {
                    Some(i) => {
                        if let Some(slot) = tree.entries.get_mut(i) {
                            *slot = entry;
                        }
                    }
                    None => {
                        let at = tree.entries.partition_point(|e| e.fs_rel() < Path::new(rel));
                        tree.entries.insert(at, entry);
                    }
                }
                true
            }
        };
        if applied {
            self.patch_listings(tree, rel);
        }
        applied
    }

    /// Brings every listing whose glob matches `rel` up to date with its
    /// entry (changed, added or gone). A listing that cannot be (the file
    /// cannot be read) is dropped: the next fact makes it again and reports
    /// the error.
    fn patch_listings(&self, tree: &mut Tree, rel: &str) {
        let mut listings = std::mem::take(tree.listings.get_mut().unwrap_or_else(|e| e.into_inner()));
        let entry = tree.find(rel).and_then(|i| tree.entries.get(i));
        listings.retain(|_, l| {
            if !l.matcher.is_match(rel) {
                return true;
            }
            let at = l.items.partition_point(|(p, _)| walk_order(p, rel).is_lt());
            let old = if l.items.get(at).is_some_and(|(p, _)| p == rel) { Some(l.items.remove(at).1) } else { None };
            let new = match entry.filter(|e| self.lists(&l.scan, e)).map(|e| self.scan(tree, &l.scan, e)) {
                Some(Ok(found)) if !found.is_empty() => Some(found),
                Some(Err(_)) => return false,
                _ => None,
            };
            l.changed |= old != new;
            if let Some(found) = new {
                l.items.insert(at, (rel.to_string(), found));
            }
            true
        });
        *tree.listings.get_mut().unwrap_or_else(|e| e.into_inner()) = listings;
    }

    /// Whether a fact over the target may have changed with these changes:
    /// a glob, grep or secret scan when a changed path changed what it
    /// lists, a fact about one path when that path or a directory above it
    /// changed, and every fact over the tree after a full refresh.
    pub fn affected(&self, call: &FactCall, changes: &Changes) -> bool {
        let text = |i: usize| call.args.get(i).and_then(|v| v.get("path").or(Some(v))).and_then(|v| v.as_str());
        // This runs for every collected fact after every edit: no
        // allocation unless a path needs normalising.
        let changed_here = |p: &str| {
            let normal: std::borrow::Cow<str> =
                if p.split('/').any(|c| matches!(c, "" | "." | "..")) { normalize(p).into() } else { p.into() };
            changes.paths.iter().any(|c| at_or_under(&normal, c))
        };
        if let Some(key) = Listing::key(call) {
            // `refresh_paths` patched the listing and knows.
            let walk = self.entries.read().ok().and_then(|w| w.clone());
            let listing_changed =
                |tree: &Tree| tree.listings.lock().ok().is_none_or(|l| l.get(&key).is_none_or(|l| l.changed));
            return changes.full || walk.as_deref().is_none_or(|w| w.as_ref().map_or(true, listing_changed));
        }
        match (call.namespace.as_str(), call.name.as_str()) {
            // History is read from `.git/`, whose changes are not watched;
            // whether a secret is still present depends on the files.
            ("secrets", "history") => !changes.paths.is_empty(),
            ("git", _) => changes.full,
            ("files", "exists" | "get" | "gitignored" | "dvcignored") => {
                changes.full || text(0).is_some_and(changed_here)
            }
            _ => text(0).is_some_and(changed_here),
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
        let w: Walk = Arc::new(walk(&self.root, &self.skipped).map(|entries| Tree::new(&self.root, entries)));
        if let Ok(mut e) = self.entries.write() {
            *e = Some(w.clone());
        }
        w
    }

    pub fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
        let arg = |i: usize| call.args.get(i).cloned().unwrap_or_else(Value::null);
        let text_arg = |i: usize| arg(i).as_str().map(str::to_string).unwrap_or_default();
        match (call.namespace.as_str(), call.name.as_str()) {
            ("files", "glob") => self.listing(call, &text_arg(0), Scan::Files),
            ("files", "dirs") => self.listing(call, &text_arg(0), Scan::Dirs),
            ("files", "get") => {
                let p = normalize(&text_arg(0));
                let walk = self.walk();
                let tree = tree(&walk)?;
                tree.complete_under(&p)?;
                Ok(tree
                    .find(&p)
                    .and_then(|i| tree.entries.get(i))
                    .map_or_else(Value::null, |e| self.file_value(tree, e)))
            }
            ("files", "exists") => {
                let p = normalize(&text_arg(0));
                let walk = self.walk();
                let tree = tree(&walk)?;
                tree.complete_under(&p)?;
                Ok(Value::bool(p.is_empty() || tree.find(&p).is_some()))
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
            ("secrets", "scan") => {
                self.listing(call, call.args.first().and_then(|g| g.as_str()).unwrap_or("**/*"), Scan::Secrets)
            }
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
            ("files", "grep") => self.grep(call, &arg(0), call.args.get(1).and_then(|g| g.as_str()).unwrap_or("**/*")),
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

    /// The results of a glob, grep or secret scan over the tree, from its
    /// listing (made on first use, patched by [`Repo::refresh_paths`]).
    fn listing(&self, call: &FactCall, pattern: &str, scan: Scan) -> Result<Value, FactError> {
        let key = Listing::key(call).unwrap_or_default();
        let matcher = self.matcher(pattern)?;
        let walk = self.walk();
        let tree = tree(&walk)?;
        tree.complete_for(pattern)?;
        let known = tree.listings.lock().ok().and_then(|mut all| {
            let l = all.get_mut(&key)?;
            l.changed = false;
            Some(l.value())
        });
        if let Some(value) = known {
            return Ok(value);
        }
        let mut items = Vec::new();
        for e in &tree.entries {
            if matcher.is_match(&e.rel) && self.lists(&scan, e) {
                let found = self.scan(tree, &scan, e)?;
                if !found.is_empty() {
                    items.push((e.rel.clone(), found));
                }
            }
        }
        let listing = Listing { matcher, scan, items, changed: false };
        let value = listing.value();
        if let Ok(mut l) = tree.listings.lock() {
            l.insert(key, listing);
        }
        Ok(value)
    }

    /// Whether a listing looks at this entry (its glob aside).
    fn lists(&self, scan: &Scan, e: &Entry) -> bool {
        !e.skipped
            && match scan {
                Scan::Files => e.kind == "file",
                Scan::Dirs => e.kind == "dir",
                Scan::Grep(_) | Scan::Secrets => e.kind == "file" && e.size <= MAX_READ,
            }
    }

    /// What a listing finds in one entry.
    fn scan(&self, tree: &Tree, scan: &Scan, e: &Entry) -> Result<Arc<[Value]>, FactError> {
        Ok(match scan {
            Scan::Files | Scan::Dirs => Arc::new([self.file_value(tree, e)]),
            Scan::Grep(re) => self.grep_file(re, e).into(),
            Scan::Secrets => {
                let bytes = read_capped(&self.root.join(e.fs_rel())).map_err(|err| read_error(&e.rel, &err))?;
                let found = crate::secrets::Scanner::shared().scan_bytes(&e.rel, &bytes);
                found.iter().map(crate::secrets::finding_value).collect()
            }
        })
    }

    /// The compiled regular expression of a grep, compiled once: a policy
    /// may grep file by file with one pattern (a listing per file keeps it).
    fn regex(&self, source: &str) -> Result<Arc<regex::Regex>, FactError> {
        compiled(&self.regexes, source, || {
            regex::RegexBuilder::new(source)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| FactError::new(format!("invalid regular expression: {e}")))
        })
    }

    /// The compiled glob of a pattern, compiled once.
    fn matcher(&self, pattern: &str) -> Result<Arc<Glob>, FactError> {
        compiled(&self.matchers, pattern, || compile_glob(pattern))
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

    fn grep(&self, call: &FactCall, pattern: &Value, glob: &str) -> Result<Value, FactError> {
        let source = match &pattern.kind {
            Kind::Regex(r) | Kind::Str(r) => r.to_string(),
            _ => return Err(FactError::new("`files.grep` needs a regular expression")),
        };
        let re = self.regex(&source)?;
        let found = self.listing(call, glob, Scan::Grep(re))?;
        if matches!(&found.kind, Kind::List(items) if items.len() > 100_000) {
            return Err(FactError::new("more than 100000 matches"));
        }
        Ok(found)
    }

    /// The lines of one walked file that match (the first match of each).
    fn grep_file(&self, re: &regex::Regex, e: &Entry) -> Vec<Value> {
        // A walked `file` is a regular file inside the target (the walk
        // never follows links): read it without `read_text`'s checks.
        let Ok(bytes) = read_capped(&self.root.join(e.fs_rel())) else { return Vec::new() };
        if bytes.iter().take(8192).any(|b| *b == 0) {
            return Vec::new();
        }
        let (path, text) = (&e.rel, String::from_utf8_lossy(&bytes));
        let mut out = Vec::new();
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
                    break;
                }
            }
        }
        out
    }
}

impl Repo {
    /// Whether a secret found in history is still in the file today.
    fn still_present(&self, tree: &Tree, f: &crate::secrets::SecretFinding) -> bool {
        let Some(e) = tree.find(&f.path).and_then(|i| tree.entries.get(i)).filter(|e| e.kind == "file") else {
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
            listings: Mutex::default(),
        }
    }

    /// The index of the entry at `rel`. Entries are in walk order: by the
    /// bytes of the names the file system has, which a name that is not
    /// UTF-8 no longer has in `rel` (shown lossily), hence `fs_rel`.
    fn find(&self, rel: &str) -> Option<usize> {
        self.entries.binary_search_by(|e| e.fs_rel().cmp(Path::new(rel))).ok()
    }

    /// Forgets what was read from a file.
    fn forget(&self, rel: &str) {
        if let Ok(mut m) = self.binary.lock() {
            m.remove(rel);
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

/// What `source` compiles to, from `cache` or compiled once and kept.
fn compiled<T>(
    cache: &Mutex<HashMap<String, Arc<T>>>,
    source: &str,
    compile: impl FnOnce() -> Result<T, FactError>,
) -> Result<Arc<T>, FactError> {
    if let Some(done) = cache.lock().ok().and_then(|c| c.get(source).cloned()) {
        return Ok(done);
    }
    let done = Arc::new(compile()?);
    if let Ok(mut c) = cache.lock() {
        c.insert(source.to_string(), done.clone());
    }
    Ok(done)
}

/// A compiled glob. A pattern without `/` matches the file name at any
/// depth. Cheap tests decide most paths before the glob's regular
/// expression runs (watch mode matches every changed path against every
/// glob a policy used): a pattern without wildcards is compared as text, and
/// a path outside the pattern's leading literal directories cannot match.
struct Glob {
    /// The pattern, when it has no wildcard.
    literal: Option<String>,
    /// The leading directories without wildcards (`dags/` for `dags/**/*.py`).
    prefix: String,
    matcher: globset::GlobMatcher,
}

impl Glob {
    fn is_match(&self, rel: &str) -> bool {
        match &self.literal {
            Some(lit) if lit.contains('/') => rel == lit,
            Some(name) => rel.strip_suffix(name.as_str()).is_some_and(|dir| dir.is_empty() || dir.ends_with('/')),
            None => rel.starts_with(&self.prefix) && self.matcher.is_match(rel),
        }
    }
}

fn compile_glob(pattern: &str) -> Result<Glob, FactError> {
    let pattern = pattern.trim_start_matches("./");
    let full = if pattern.contains('/') { pattern.to_string() } else { format!("**/{pattern}") };
    let matcher = globset::GlobBuilder::new(&full)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| FactError::new(format!("invalid glob `{pattern}`: {}", e.kind())))?;
    let wild = pattern.find(['*', '?', '[', ']', '{', '}', '\\']);
    let literal = wild.is_none().then(|| pattern.to_string());
    let prefix = match wild {
        Some(at) if pattern.contains('/') => {
            pattern.get(..at).and_then(|lead| lead.rfind('/')).and_then(|i| pattern.get(..=i)).unwrap_or_default()
        }
        _ => "",
    };
    Ok(Glob { literal, prefix: prefix.to_string(), matcher })
}

/// Whether `path` is `dir` or inside it (both relative to the target).
pub(crate) fn at_or_under(path: &str, dir: &str) -> bool {
    path == dir || path.strip_prefix(dir.trim_end_matches('/')).is_some_and(|rest| rest.starts_with('/'))
}

/// Whether `rel` is a skipped directory or under one: a name without `/`
/// is a directory name at any depth, a name with `/` a path relative to the
/// target. The file collector and the parallel secret walk both use it; it
/// runs for every entry of every glob, so it does not allocate.
pub(crate) fn is_skipped(skipped: &[String], rel: &str) -> bool {
    skipped.iter().any(|d| {
        let d = d.trim_matches('/');
        if d.is_empty() {
            false
        } else if d.contains('/') {
            rel == d || rel.strip_prefix(d).is_some_and(|rest| rest.starts_with('/'))
        } else {
            rel.split('/').any(|c| c == d)
        }
    })
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

/// The entry of a walked path, from its `symlink_metadata`.
fn entry_of(rel: String, os_rel: Option<PathBuf>, meta: &std::fs::Metadata, full: &Path, skipped: bool) -> Entry {
    use std::os::unix::fs::MetadataExt;
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
    let link =
        if ft.is_symlink() { std::fs::read_link(full).ok().map(|p| p.to_string_lossy().into_owned()) } else { None };
    Entry { rel, os_rel, kind, size: meta.len(), mode: meta.mode(), uid: meta.uid(), gid: meta.gid(), link, skipped }
}

/// Orders paths as the walk does: by name within each directory, a
/// directory's contents right after it.
pub(crate) fn walk_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
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
fn walk(root: &Path, skipped_dirs: &[String]) -> Result<Walked, String> {
    let under_skipped = |rel: &str| rel.rsplit_once('/').is_some_and(|(parent, _)| is_skipped(skipped_dirs, parent));
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
        let skipped = is_skipped(skipped_dirs, &rel);
        entries.push(entry_of(rel, os_rel, &meta, entry.path(), skipped));
        if entries.len() > 5_000_000 {
            return Err("more than 5000000 entries in the target".to_string());
        }
    }
    Ok(Walked { entries, errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cheap_glob_tests_agree_with_the_glob() {
        let patterns = [
            "docker-compose.yml",
            "services/svc01/docker-compose.yml",
            "dags/**/*.py",
            "dags/*.py",
            "**/*.{yml,yaml}",
            "{a,b}/x.yml",
            "mlruns/**",
            "a/b/[xy].txt",
            ".dvc/config",
            "./conf/app.yml",
            "x?.yml",
        ];
        let paths = [
            "docker-compose.yml",
            "services/svc01/docker-compose.yml",
            "services/svc01/docker-compose.yml.bak",
            "xdocker-compose.yml",
            "a/docker-compose.yml",
            "dags/a.py",
            "dags/x/y/a.py",
            "dagsx/a.py",
            "a/x.yml",
            "c/x.yml",
            "mlruns/1/2",
            "mlruns",
            "a/b/x.txt",
            "a/b/z.txt",
            ".dvc/config",
            "conf/app.yml",
            "x1.yml",
            "d/x1.yml",
        ];
        for p in patterns {
            let g = compile_glob(p).unwrap();
            for rel in paths {
                assert_eq!(g.is_match(rel), g.matcher.is_match(rel), "`{p}` on `{rel}`");
            }
        }
        assert_eq!(compile_glob("dags/**/*.py").unwrap().prefix, "dags/");
        assert!(compile_glob("a/b.yml").unwrap().literal.is_some());
    }

    #[test]
    fn skipped_directories_are_names_at_any_depth_or_paths() {
        let skipped: Vec<String> = [".venv", "node_modules", "build/out"].iter().map(|s| s.to_string()).collect();
        for rel in [".venv", ".venv/x.py", "a/.venv", "a/b/node_modules/m.js", "build/out", "build/out/x"] {
            assert!(is_skipped(&skipped, rel), "{rel}");
        }
        for rel in ["a/.venvx/y", "x.venv", "a/build/out/x", "build/outer/x", "src/venv.py", "build"] {
            assert!(!is_skipped(&skipped, rel), "{rel}");
        }
    }
}
