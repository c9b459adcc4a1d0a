//! The server's state: one salsa database holding every file of the
//! workspace (the bundled stdlib modules, every `.mlpol` under the workspace
//! folders, and documents opened from elsewhere), the open documents'
//! versions, and what was last published.
//!
//! Everything here is synchronous and runs under the server's one
//! `std::sync::Mutex` (see `server.rs`): a method never awaits.

use crate::convert;
use crate::line_index::LineIndex;
use mlpol_lang::db::{self, Database, SourceFile, Workspace};
use mlpol_lang::diagnostic::Diagnostic;
use mlpol_lang::types::Schema;
use mlpol_stdlib::program;
use salsa::Setter as _;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use tower_lsp_server::ls_types::{self as lsp, Uri};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A module embedded in the binary (`std/*.mlpol`); read-only.
    Bundled,
    /// A `.mlpol` file under a workspace folder.
    Workspace,
    /// A document opened from outside the workspace folders.
    Loose,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub file: SourceFile,
    pub uri: Uri,
    pub origin: Origin,
    /// The editor's version while the document is open.
    pub version: Option<i32>,
    /// Bumped on every change of the text, whatever its source.
    pub generation: u64,
}

/// Diagnostics ready to be sent: computed for `generation` of the file.
#[derive(Debug, Clone)]
pub struct Publish {
    pub key: String,
    pub uri: Uri,
    pub version: Option<i32>,
    pub generation: u64,
    pub diagnostics: Vec<lsp::Diagnostic>,
}

/// The last status of a check, from the `mlpol.evaluate` command.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckStatus {
    pub status: String,
    pub message: String,
    pub findings: usize,
}

/// Why an edit was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not an open document.
    Unknown,
    /// A version not newer than the one the server has: handlers may run
    /// out of order, so an older change must never overwrite a newer one.
    Stale,
}

pub struct World {
    pub db: Database,
    pub ws: Workspace,
    pub schema: Arc<Schema>,
    /// Files by key: the normalised path of a `file:` URI, else the URI.
    entries: BTreeMap<String, Entry>,
    keys: HashMap<SourceFile, String>,
    /// The bundled modules, in their fixed order.
    bundled: Vec<SourceFile>,
    pub roots: Vec<PathBuf>,
    /// Where the bundled modules are written, so editors can open them.
    pub std_dir: PathBuf,
    /// What was last published per key: (generation, raw diagnostics).
    published: HashMap<String, (u64, Option<i32>, Vec<Diagnostic>)>,
    /// Keys whose diagnostics must be cleared (closed or deleted files).
    cleared: Vec<(String, Uri)>,
    pub statuses: BTreeMap<String, CheckStatus>,
    /// Paths of the files the last evaluation left out (they had errors).
    pub not_evaluated: BTreeSet<String>,
    next_generation: u64,
    /// Edits since the database was last rebuilt (see [`World::compact`]).
    edits_since_compaction: usize,
}

/// After this many edits the database is rebuilt from the current texts:
/// salsa 0.28 keeps memos of item texts that no file contains any more, so
/// a long editing session would otherwise grow without bound.
pub const COMPACT_EVERY: usize = 2000;

/// The key of a URI: the lexically normalised path for `file:` URIs.
pub fn key_of(uri: &Uri) -> String {
    if uri.scheme().as_str() == "file" {
        if let Some(path) = uri.to_file_path() {
            return normalize_path(&path).to_string_lossy().into_owned();
        }
    }
    uri.as_str().to_string()
}

pub fn normalize_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// The default folder for the bundled modules: the user's cache directory,
/// one folder per version of their text.
pub fn default_std_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("mlpol").join(format!("std-{}-{}", env!("CARGO_PKG_VERSION"), bundled_hash()))
}

/// FNV-1a over the bundled texts: a new text gets a new folder.
fn bundled_hash() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (path, text) in program::BUNDLED {
        for b in path.bytes().chain(text.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{:08x}", h >> 32)
}

/// Writes the bundled modules under `dir` (read-only files). Errors are
/// returned for a log line: go-to-definition into the stdlib then points at
/// a file that may be missing, nothing else breaks.
pub fn write_bundled(dir: &Path) -> Result<(), String> {
    for (path, text) in program::BUNDLED {
        let target = dir.join(path);
        if std::fs::read_to_string(&target).is_ok_and(|t| t == *text) {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        // A stale copy is read-only: replace it rather than write into it.
        let _ = std::fs::remove_file(&target);
        std::fs::write(&target, text).map_err(|e| format!("{}: {e}", target.display()))?;
        if let Ok(meta) = std::fs::metadata(&target) {
            let mut perms = meta.permissions();
            perms.set_readonly(true);
            let _ = std::fs::set_permissions(&target, perms);
        }
    }
    Ok(())
}

impl World {
    pub fn new(std_dir: PathBuf) -> World {
        let std_dir = if std_dir.is_absolute() {
            std_dir
        } else {
            std::env::current_dir().map(|d| d.join(&std_dir)).unwrap_or(std_dir)
        };
        let schema = Arc::new(mlpol_stdlib::schema::schema());
        let db = Database::new(schema.clone());
        let ws = Workspace::new(&db, Vec::new());
        let mut world = World {
            db,
            ws,
            schema,
            entries: BTreeMap::new(),
            keys: HashMap::new(),
            bundled: Vec::new(),
            roots: Vec::new(),
            std_dir,
            published: HashMap::new(),
            cleared: Vec::new(),
            statuses: BTreeMap::new(),
            not_evaluated: BTreeSet::new(),
            next_generation: 1,
            edits_since_compaction: 0,
        };
        for (path, text) in program::BUNDLED {
            let disk = world.std_dir.join(path);
            let key = normalize_path(&disk).to_string_lossy().into_owned();
            let file = SourceFile::new(&world.db, path.to_string(), text.to_string());
            world.bundled.push(file);
            // A file URI for an absolute path always exists; the virtual
            // URI is a fallback that editors cannot open.
            let uri = Uri::from_file_path(&disk).or_else(|| format!("mlpol-std:/{path}").parse().ok());
            if let Some(uri) = uri {
                world.insert(key, Entry { file, uri, origin: Origin::Bundled, version: None, generation: 0 });
            }
        }
        world.sync_files();
        world
    }

    fn insert(&mut self, key: String, entry: Entry) {
        self.keys.insert(entry.file, key.clone());
        self.entries.insert(key, entry);
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// Bundled modules first (in their fixed order), then the others by
    /// key. A workspace file that declares a bundled module's name (the
    /// stdlib's own sources, `module std.secrets`, in a checkout of mlpol)
    /// shadows the bundled copy, instead of clashing with it.
    fn sync_files(&mut self) {
        let user: Vec<SourceFile> =
            self.entries.values().filter(|e| e.origin != Origin::Bundled).map(|e| e.file).collect();
        let declared: BTreeSet<String> = user.iter().filter_map(|f| db::module_name(&self.db, *f)).collect();
        let mut files: Vec<SourceFile> = self
            .bundled
            .iter()
            .copied()
            .filter(|b| !db::module_name(&self.db, *b).is_some_and(|m| declared.contains(&m)))
            .collect();
        files.extend(user);
        if *self.ws.files(&self.db) != files {
            let _previous = self.ws.set_files(&mut self.db).to(files);
        }
    }

    /// Adds every `.mlpol` file under the folders. Unreadable files are
    /// returned as messages.
    pub fn add_roots(&mut self, roots: Vec<PathBuf>) -> Vec<String> {
        let mut problems = Vec::new();
        for root in roots {
            let root = normalize_path(&root);
            if !self.roots.contains(&root) {
                self.roots.push(root.clone());
            }
            let paths = match program::policy_files(&root) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(format!("{}: {}", e.path, e.message));
                    continue;
                }
            };
            for path in paths {
                if let Err(e) = self.load_from_disk(&path) {
                    problems.push(e);
                }
            }
        }
        self.sync_files();
        problems
    }

    /// (Re)reads a file from disk unless it is open in the editor.
    fn load_from_disk(&mut self, path: &Path) -> Result<(), String> {
        let path = normalize_path(path);
        let key = path.to_string_lossy().into_owned();
        if self.entries.get(&key).is_some_and(|e| e.version.is_some() || e.origin == Origin::Bundled) {
            return Ok(());
        }
        let (text, _) = program::read_policy(&path).map_err(|e| format!("{}: {}", e.path, e.message))?;
        self.set_or_add(key, || Uri::from_file_path(&path), text, Origin::Workspace);
        Ok(())
    }

    fn set_or_add(&mut self, key: String, uri: impl FnOnce() -> Option<Uri>, text: String, origin: Origin) -> bool {
        let generation = self.generation();
        if let Some(entry) = self.entries.get_mut(&key) {
            if entry.origin == Origin::Bundled {
                return false;
            }
            if *entry.file.text(&self.db) != text {
                let _previous = entry.file.set_text(&mut self.db).to(text);
                entry.generation = generation;
                self.sync_files();
            }
            return true;
        }
        let Some(uri) = uri() else { return false };
        let file = SourceFile::new(&self.db, key.clone(), text);
        self.insert(key, Entry { file, uri, origin, version: None, generation });
        self.sync_files();
        true
    }

    fn under_root(&self, key: &str) -> bool {
        let path = Path::new(key);
        path.is_absolute() && self.roots.iter().any(|r| path.starts_with(r))
    }

    /// `textDocument/didOpen`: the editor's text replaces the disk's.
    pub fn open(&mut self, uri: &Uri, version: i32, text: String) -> String {
        let key = key_of(uri);
        let origin = if self.under_root(&key) { Origin::Workspace } else { Origin::Loose };
        self.set_or_add(key.clone(), || Some(uri.clone()), text, origin);
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.version = Some(version);
            // Publish to the URI the editor uses.
            entry.uri = uri.clone();
        }
        key
    }

    /// `textDocument/didChange` with the full text. A version not newer
    /// than the current one is rejected.
    pub fn change(&mut self, uri: &Uri, version: i32, text: String) -> Result<String, Rejected> {
        let key = key_of(uri);
        let generation = self.generation();
        let Some(entry) = self.entries.get_mut(&key) else { return Err(Rejected::Unknown) };
        match entry.version {
            None => return Err(Rejected::Unknown),
            Some(v) if v >= version => return Err(Rejected::Stale),
            Some(_) => {}
        }
        entry.version = Some(version);
        if entry.origin != Origin::Bundled && *entry.file.text(&self.db) != text {
            let _previous = entry.file.set_text(&mut self.db).to(text);
        }
        entry.generation = generation;
        self.edits_since_compaction += 1;
        // A `module` header may have come or gone.
        self.sync_files();
        Ok(key)
    }

    /// Rebuilds the database from the current texts, dropping every memo of
    /// text that is gone. Versions, generations and what was published stay;
    /// the next diagnostics are computed from scratch (and equal the old
    /// ones, so nothing is published again).
    pub fn compact(&mut self) {
        let db = Database::new(self.schema.clone());
        let mut renamed: HashMap<SourceFile, SourceFile> = HashMap::new();
        for old in self.bundled.iter().copied().chain(self.entries.values().map(|e| e.file)) {
            renamed
                .entry(old)
                .or_insert_with(|| SourceFile::new(&db, old.path(&self.db).clone(), old.text(&self.db).clone()));
        }
        let rename = |f: SourceFile| renamed.get(&f).copied().unwrap_or(f);
        self.bundled = self.bundled.iter().map(|f| rename(*f)).collect();
        for entry in self.entries.values_mut() {
            entry.file = rename(entry.file);
        }
        self.keys = self.entries.iter().map(|(k, e)| (e.file, k.clone())).collect();
        let files: Vec<SourceFile> = self.ws.files(&self.db).iter().map(|f| rename(*f)).collect();
        self.ws = Workspace::new(&db, files);
        self.db = db;
        self.edits_since_compaction = 0;
    }

    /// Compacts when enough edits have piled up (called before diagnostics
    /// are computed, so the rebuild is paid once, off the edit path).
    pub fn maybe_compact(&mut self) -> bool {
        if self.edits_since_compaction >= COMPACT_EVERY {
            self.compact();
            true
        } else {
            false
        }
    }

    /// `textDocument/didClose`: a workspace file goes back to its text on
    /// disk; a loose document leaves the workspace.
    pub fn close(&mut self, uri: &Uri) {
        let key = key_of(uri);
        let Some(entry) = self.entries.get_mut(&key) else { return };
        entry.version = None;
        match entry.origin {
            Origin::Bundled => {}
            Origin::Workspace => {
                if self.load_from_disk(Path::new(&key)).is_err() {
                    self.remove(&key);
                }
            }
            Origin::Loose => self.remove(&key),
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.keys.remove(&entry.file);
            self.published.remove(key);
            self.cleared.push((key.to_string(), entry.uri));
            self.sync_files();
        }
    }

    /// A file changed on disk (`workspace/didChangeWatchedFiles`).
    pub fn file_changed(&mut self, uri: &Uri, deleted: bool) {
        let key = key_of(uri);
        if !key.ends_with(".mlpol")
            || self.entries.get(&key).is_some_and(|e| e.version.is_some() || e.origin == Origin::Bundled)
        {
            return;
        }
        if deleted {
            self.remove(&key);
        } else if self.under_root(&key) {
            let _ = self.load_from_disk(Path::new(&key));
        }
    }

    pub fn entry(&self, uri: &Uri) -> Option<&Entry> {
        self.entries.get(&key_of(uri))
    }

    pub fn entry_by_key(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub fn entry_of(&self, file: SourceFile) -> Option<&Entry> {
        self.keys.get(&file).and_then(|k| self.entries.get(k))
    }

    pub fn entries(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.entries.iter()
    }

    pub fn files(&self) -> Vec<SourceFile> {
        self.ws.files(&self.db).clone()
    }

    pub fn text(&self, file: SourceFile) -> &str {
        file.text(&self.db)
    }

    /// The generation of a file's text, to check that a result is still
    /// about the latest text.
    pub fn generation_of(&self, key: &str) -> Option<u64> {
        self.entries.get(key).map(|e| e.generation)
    }

    /// Diagnostics that differ from what was last published for each file
    /// (bundled modules are never published), and empty lists for files
    /// that left the workspace.
    pub fn pending_diagnostics(&mut self) -> Vec<Publish> {
        self.maybe_compact();
        let mut out: Vec<Publish> = self
            .cleared
            .drain(..)
            .map(|(key, uri)| Publish { key, uri, version: None, generation: 0, diagnostics: Vec::new() })
            .collect();
        let targets: Vec<(String, Entry)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.origin != Origin::Bundled)
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        for (key, entry) in targets {
            let raw = db::file_diagnostics(&self.db, self.ws, entry.file);
            if self
                .published
                .get(&key)
                .is_some_and(|(g, v, d)| *g == entry.generation && *v == entry.version && d == raw)
            {
                continue;
            }
            let raw = raw.clone();
            let text = entry.file.text(&self.db);
            let index = LineIndex::new(text);
            let diagnostics = raw.iter().map(|d| convert::diagnostic(&entry.uri, text, &index, d)).collect();
            self.published.insert(key.clone(), (entry.generation, entry.version, raw));
            out.push(Publish {
                key,
                uri: entry.uri,
                version: entry.version,
                generation: entry.generation,
                diagnostics,
            });
        }
        out
    }

    /// The raw diagnostics of a file (for code actions).
    pub fn diagnostics_of(&self, file: SourceFile) -> Vec<Diagnostic> {
        db::file_diagnostics(&self.db, self.ws, file).clone()
    }

    /// The workspace folder a file belongs to (the deepest), or the first
    /// folder, or the file's directory.
    pub fn root_for(&self, key: &str) -> Option<PathBuf> {
        let path = Path::new(key);
        self.roots
            .iter()
            .filter(|r| path.starts_with(r))
            .max_by_key(|r| r.components().count())
            .or_else(|| self.roots.first())
            .cloned()
            .or_else(|| path.parent().map(Path::to_path_buf))
    }

    /// Paths and texts of the workspace's files in order (the bundled
    /// modules that are not shadowed, then the user's files), for an
    /// evaluation.
    pub fn sources(&self) -> Vec<(String, String)> {
        self.files().iter().map(|f| (f.path(&self.db).clone(), f.text(&self.db).clone())).collect()
    }
}
