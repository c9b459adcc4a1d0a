//! The salsa database. Source files and the workspace are inputs; the item
//! is the unit of incrementality: a file is cut into items, each item's text
//! is interned, and parsing and checking are memoized per item text. Editing
//! one check's body re-parses and re-checks that check only — the module's
//! globals are recomputed but compare equal, so nothing that depends on them
//! re-runs. No IO, no clock in any tracked function.

use crate::check::{self, Env, Globals, ItemCheck};
use crate::diagnostic::Diagnostic;
use crate::eval::FactError;
use crate::syntax::ast::{ImportTarget, Item, ItemKind};
use crate::syntax::{self, Parse};
use crate::types::Schema;
use crate::value::Value;
use salsa::Setter;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex};

#[salsa::input(debug)]
pub struct SourceFile {
    /// The path as given (workspace files) or `std/<name>.mlpol` (bundled).
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub text: String,
}

#[salsa::input(debug)]
pub struct Workspace {
    #[returns(ref)]
    pub files: Vec<SourceFile>,
}

#[salsa::interned(debug)]
pub struct ItemText<'db> {
    #[returns(ref)]
    pub text: String,
}

/// One top-level item of a file: where it starts and its (interned) text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, salsa::SalsaValue)]
pub struct ItemRef<'db> {
    pub offset: usize,
    pub text: ItemText<'db>,
}

/// What [`Database::set_fact`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactChange {
    New,
    Changed,
    Unchanged,
}

/// One collected fact, by key. Facts are inputs: setting one re-evaluates
/// only the checks that read it.
#[salsa::input(debug)]
pub struct FactSlot {
    #[returns(ref)]
    pub value: Result<Value, FactError>,
}

#[salsa::db]
pub trait Db: salsa::Database {
    fn schema(&self) -> &Schema;
    /// The slot of a fact key, if the fact has been collected.
    fn fact_slot(&self, _key: &str) -> Option<FactSlot> {
        None
    }
    /// Records which item a check ran for (tests of incrementality).
    fn log(&self, _event: String) {}
}

#[salsa::db]
#[derive(Clone)]
pub struct Database {
    storage: salsa::Storage<Self>,
    schema: Arc<Schema>,
    /// Fact slots by key. The map only grows; a lookup that finds nothing is
    /// made visible to salsa through `EvalConfig::generation`.
    facts: Arc<Mutex<HashMap<String, FactSlot>>>,
    log: Option<Arc<Mutex<Vec<String>>>>,
}

impl Database {
    pub fn new(schema: Arc<Schema>) -> Database {
        Database { storage: salsa::Storage::default(), schema, facts: Arc::default(), log: None }
    }

    /// Sets a fact. A new slot means the caller bumps
    /// `EvalConfig::generation`; an unchanged value is not set, so nothing
    /// that read it is invalidated.
    pub fn set_fact(&mut self, key: &str, value: Result<Value, FactError>) -> FactChange {
        let existing = self.facts.lock().ok().and_then(|m| m.get(key).copied());
        match existing {
            Some(slot) if *slot.value(self) == value => FactChange::Unchanged,
            Some(slot) => {
                let _previous = slot.set_value(self).to(value);
                FactChange::Changed
            }
            None => {
                let slot = FactSlot::new(self, value);
                if let Ok(mut m) = self.facts.lock() {
                    m.insert(key.to_string(), slot);
                }
                FactChange::New
            }
        }
    }

    /// Every fact collected so far.
    pub fn facts(&self) -> Vec<(String, Result<Value, FactError>)> {
        let slots: Vec<(String, FactSlot)> = match self.facts.lock() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            Err(_) => Vec::new(),
        };
        let mut out: Vec<(String, Result<Value, FactError>)> =
            slots.into_iter().map(|(k, s)| (k, s.value(self).clone())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Starts recording query executions; see [`Database::take_log`].
    pub fn with_log(mut self) -> Database {
        self.log = Some(Arc::default());
        self
    }

    /// Starts recording query executions on a database in use.
    pub fn enable_log(&mut self) {
        if self.log.is_none() {
            self.log = Some(Arc::default());
        }
    }

    pub fn take_log(&self) -> Vec<String> {
        match &self.log {
            Some(log) => log.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn fact_slot(&self, key: &str) -> Option<FactSlot> {
        self.facts.lock().ok().and_then(|m| m.get(key).copied())
    }
    fn log(&self, event: String) {
        if let Some(log) = &self.log {
            if let Ok(mut l) = log.lock() {
                l.push(event);
            }
        }
    }
}

#[salsa::tracked(returns(ref))]
pub fn file_items(db: &dyn Db, file: SourceFile) -> Vec<ItemRef<'_>> {
    let text = file.text(db);
    syntax::split_items(text)
        .into_iter()
        .map(|r| ItemRef { offset: r.start, text: ItemText::new(db, text.get(r).unwrap_or("").to_string()) })
        .collect()
}

#[salsa::tracked(returns(ref))]
pub fn parse<'db>(db: &'db dyn Db, item: ItemText<'db>) -> Parse {
    db.log(format!("parse {}", first_line(item.text(db))));
    syntax::parse_item(item.text(db))
}

fn first_line(text: &str) -> &str {
    text.lines().find(|l| !l.trim_start().starts_with("//") && !l.trim().is_empty()).unwrap_or("").trim()
}

/// The parsed items of a file with their offsets.
pub fn items(db: &dyn Db, file: SourceFile) -> Vec<(usize, &Parse)> {
    file_items(db, file).iter().map(|i| (i.offset, parse(db, i.text))).collect()
}

/// The name in the file's `module` header, if any.
#[salsa::tracked(returns(clone))]
pub fn module_name(db: &dyn Db, file: SourceFile) -> Option<String> {
    items(db, file).iter().find_map(|(_, p)| match &p.ast.kind {
        ItemKind::Module(path) => Some(path.dotted()),
        _ => None,
    })
}

#[salsa::tracked(returns(clone))]
pub fn module_globals(db: &dyn Db, file: SourceFile) -> Arc<Globals> {
    let parsed = items(db, file);
    let items: Vec<(usize, &Item)> = parsed.iter().map(|(o, p)| (*o, &p.ast)).collect();
    Arc::new(check::collect_globals(db.schema(), &items))
}

/// The file an import refers to: a module name (`std.mlflow`, or any module
/// header in the workspace) or a path relative to the importing file.
pub fn resolve_import(db: &dyn Db, ws: Workspace, from: SourceFile, target: &ImportTarget) -> Option<SourceFile> {
    match target {
        ImportTarget::Module(path) => {
            let wanted = path.dotted();
            ws.files(db).iter().copied().find(|f| module_name(db, *f).as_deref() == Some(wanted.as_str()))
        }
        ImportTarget::File { path, .. } => {
            let base = from.path(db);
            let dir = base.rsplit_once('/').map_or("", |(d, _)| d);
            let joined = if dir.is_empty() { path.clone() } else { format!("{dir}/{path}") };
            let wanted = normalize(&joined);
            ws.files(db).iter().copied().find(|f| normalize(f.path(db)) == wanted)
        }
    }
}

/// `a/./b/../c` → `a/c` (lexically).
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Module-level `let`, `param` and `fn` names → their item, for the
/// evaluator. Unchanged when only a check body changes.
#[salsa::tracked(returns(ref))]
pub fn global_items(db: &dyn Db, file: SourceFile) -> BTreeMap<String, ItemText<'_>> {
    let mut out = BTreeMap::new();
    for item_ref in file_items(db, file) {
        let name = match &parse(db, item_ref.text).ast.kind {
            ItemKind::Let(l) => l.name.text.clone(),
            ItemKind::Param(p) => p.name.text.clone(),
            ItemKind::Fn(f) => f.name.text.clone(),
            _ => continue,
        };
        out.entry(name).or_insert(item_ref.text);
    }
    out
}

/// Import alias → the imported file, for the evaluator.
#[salsa::tracked(returns(ref))]
pub fn import_files(db: &dyn Db, ws: Workspace, file: SourceFile) -> BTreeMap<String, Option<SourceFile>> {
    let mut out = BTreeMap::new();
    for (_, p) in items(db, file) {
        if let ItemKind::Import(import) = &p.ast.kind {
            if let Some(name) = import.bound_name() {
                out.insert(name.text, resolve_import(db, ws, file, &import.target));
            }
        }
    }
    out
}

/// Import alias → the imported module's globals, for the checker.
#[salsa::tracked(returns(clone))]
pub fn file_imports(db: &dyn Db, ws: Workspace, file: SourceFile) -> Arc<BTreeMap<String, Option<Arc<Globals>>>> {
    let mut out = BTreeMap::new();
    for (_, p) in items(db, file) {
        if let ItemKind::Import(import) = &p.ast.kind {
            if let Some(name) = import.bound_name() {
                let globals = resolve_import(db, ws, file, &import.target).map(|f| module_globals(db, f));
                out.insert(name.text, globals);
            }
        }
    }
    Arc::new(out)
}

#[salsa::tracked(returns(ref))]
pub fn check_item<'db>(db: &'db dyn Db, ws: Workspace, file: SourceFile, item: ItemText<'db>) -> ItemCheck {
    db.log(format!("check {}", first_line(item.text(db))));
    let parsed = parse(db, item);
    let globals = module_globals(db, file);
    let imports = file_imports(db, ws, file);
    let env = Env { schema: db.schema(), globals: &globals, imports: &imports };
    check::check_item(&env, &parsed.ast)
}

/// `(file, name)` of module-level names used from other files through an
/// import (`alias.name`).
#[salsa::tracked(returns(ref))]
pub fn foreign_uses(db: &dyn Db, ws: Workspace) -> std::collections::HashSet<(SourceFile, String)> {
    let mut out = std::collections::HashSet::new();
    for file in ws.files(db) {
        let aliases = import_files(db, ws, *file);
        for item_ref in file_items(db, *file) {
            for used in &check_item(db, ws, *file, item_ref.text).uses {
                if let Some((alias, name)) = used.split_once('.') {
                    if let Some(Some(target)) = aliases.get(alias) {
                        out.insert((*target, name.to_string()));
                    }
                }
            }
        }
    }
    out
}

/// Every check id in the workspace with where it is declared.
#[salsa::tracked(returns(ref))]
pub fn check_ids(db: &dyn Db, ws: Workspace) -> BTreeMap<String, Vec<(SourceFile, Range<usize>)>> {
    let mut out: BTreeMap<String, Vec<(SourceFile, Range<usize>)>> = BTreeMap::new();
    for file in ws.files(db) {
        for (offset, p) in items(db, *file) {
            if let ItemKind::Check(c) = &p.ast.kind {
                let span = c.id.span.range();
                out.entry(c.id.dotted()).or_default().push((*file, span.start + offset..span.end + offset));
            }
        }
    }
    out
}

/// Every test name in the workspace with where it is declared.
#[salsa::tracked(returns(ref))]
pub fn test_names(db: &dyn Db, ws: Workspace) -> BTreeMap<String, Vec<(SourceFile, Range<usize>)>> {
    let mut out: BTreeMap<String, Vec<(SourceFile, Range<usize>)>> = BTreeMap::new();
    for file in ws.files(db) {
        for (offset, p) in items(db, *file) {
            if let ItemKind::Test(t) = &p.ast.kind {
                let span = t.name_span.range();
                out.entry(t.name.clone()).or_default().push((*file, span.start + offset..span.end + offset));
            }
        }
    }
    out
}

/// Tests of this file that name a check the workspace does not declare
/// (W0005, a warning so that `mlpol eval` without the checks under test
/// still runs), and test names used twice (E0405).
fn test_diagnostics(db: &dyn Db, ws: Workspace, file: SourceFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let ids = check_ids(db, ws);
    for (offset, p) in items(db, file) {
        let ItemKind::Test(test) = &p.ast.kind else { continue };
        for stmt in &test.body {
            let crate::syntax::ast::StmtKind::Meta { key, value } = &stmt.kind else { continue };
            if key.text != "check" {
                continue;
            }
            for (id, span) in check::test_check_ids(value).unwrap_or_default() {
                if ids.contains_key(&id) {
                    continue;
                }
                let mut d = Diagnostic::warning(
                    "W0005",
                    span.shift(offset).range(),
                    format!("test \"{}\" names an unknown check `{id}`", test.name),
                );
                d = match check::did_you_mean(&id, ids.keys().map(String::as_str)) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => {
                        d.with_help("`mlpol test` reports this test as failed; load the policy that declares the check")
                    }
                };
                out.push(d);
            }
        }
        if let Some([(first_file, first_span), ..]) = test_names(db, ws).get(&test.name).map(Vec::as_slice) {
            let here = test.name_span.shift(offset).range();
            if (*first_file, first_span.clone()) != (file, here.clone()) {
                let mut d = Diagnostic::error("E0405", here, format!("test name \"{}\" is already used", test.name));
                d = if *first_file == file {
                    d.with_label(first_span.clone(), "first used here")
                } else {
                    d.with_help(format!("first used in `{}`", first_file.path(db)))
                };
                out.push(d);
            }
        }
    }
    out
}

/// All diagnostics of one file, with file-relative spans, sorted.
#[salsa::tracked(returns(ref))]
pub fn file_diagnostics(db: &dyn Db, ws: Workspace, file: SourceFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut uses: BTreeSet<String> = BTreeSet::new();
    let globals = module_globals(db, file);
    let mut module_headers = 0;
    let mut seen_globals: BTreeMap<String, Range<usize>> = BTreeMap::new();
    for item_ref in file_items(db, file) {
        let offset = item_ref.offset;
        let parsed = parse(db, item_ref.text);
        out.extend(parsed.errors.iter().cloned().map(|d| d.shifted(offset)));
        let checked = check_item(db, ws, file, item_ref.text);
        out.extend(checked.diagnostics.iter().cloned().map(|d| d.shifted(offset)));
        uses.extend(checked.uses.iter().cloned());
        let item = &parsed.ast;
        let name = match &item.kind {
            ItemKind::Module(path) => {
                module_headers += 1;
                if module_headers > 1 {
                    out.push(Diagnostic::error(
                        "E0008",
                        path.span.shift(offset).range(),
                        "a file has one `module` header",
                    ));
                }
                None
            }
            ItemKind::Import(import) => {
                if resolve_import(db, ws, file, &import.target).is_none() {
                    let (what, span) = match &import.target {
                        ImportTarget::Module(p) => (p.dotted(), p.span),
                        ImportTarget::File { path, span } => (path.clone(), *span),
                    };
                    let modules: Vec<String> = ws.files(db).iter().filter_map(|f| module_name(db, *f)).collect();
                    let help = match crate::check::did_you_mean(&what, modules.iter().map(|m| m.as_str())) {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => format!(
                            "import a module by its header name ({}) or a file by its path relative to this one",
                            modules.iter().take(6).map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    out.push(
                        Diagnostic::error("E0110", span.shift(offset).range(), format!("cannot find module `{what}`"))
                            .with_help(help),
                    );
                }
                import.bound_name()
            }
            ItemKind::Param(p) => Some(p.name.clone()),
            ItemKind::Broken { name, .. } => Some(name.clone()),
            ItemKind::Let(l) => Some(l.name.clone()),
            ItemKind::Fn(f) => Some(f.name.clone()),
            _ => None,
        };
        if let Some(name) = name {
            let span = name.span.shift(offset).range();
            if db.schema().is_namespace(&name.text) {
                out.push(Diagnostic::error(
                    "E0109",
                    span.clone(),
                    format!("`{}` is a collector namespace and cannot be rebound", name.text),
                ));
            }
            if let Some(first) = seen_globals.get(&name.text) {
                out.push(
                    Diagnostic::error("E0109", span.clone(), format!("`{}` is defined twice", name.text))
                        .with_label(first.clone(), "first defined here"),
                );
            } else {
                seen_globals.insert(name.text.clone(), span);
            }
        }
    }
    // Unused imports and params.
    for (offset, p) in items(db, file) {
        let (code, name, what) = match &p.ast.kind {
            ItemKind::Import(i) if resolve_import(db, ws, file, &i.target).is_some() => {
                ("W0001", i.bound_name(), "import")
            }
            ItemKind::Param(param) => ("W0002", Some(param.name.clone()), "param"),
            _ => continue,
        };
        if let Some(name) = name {
            let used_elsewhere = code == "W0002" && foreign_uses(db, ws).contains(&(file, name.text.clone()));
            if !uses.contains(&name.text) && !used_elsewhere && !name.text.starts_with('_') {
                out.push(
                    Diagnostic::warning(
                        code,
                        name.span.shift(offset).range(),
                        format!("{what} `{}` is never used", name.text),
                    )
                    .with_help("remove it, or start its name with `_`"),
                );
            }
        }
    }
    // Duplicate check ids across the workspace.
    for (id, places) in check_ids(db, ws) {
        if let [(first_file, first_span), rest @ ..] = places.as_slice() {
            for (f, span) in rest {
                if *f == file {
                    let mut d = Diagnostic::error("E0207", span.clone(), format!("check id `{id}` is already used"));
                    if *first_file == file {
                        d = d.with_label(first_span.clone(), "first used here");
                    } else {
                        d = d.with_help(format!("first used in `{}`", first_file.path(db)));
                    }
                    out.push(d);
                }
            }
        }
    }
    // Two files with one module name: imports would pick one silently.
    if let Some((header, name)) = items(db, file).iter().find_map(|(o, p)| match &p.ast.kind {
        ItemKind::Module(path) => Some((path.span.shift(*o), path.dotted())),
        _ => None,
    }) {
        if let Some(first) =
            ws.files(db).iter().find(|f| **f != file && module_name(db, **f).as_deref() == Some(name.as_str()))
        {
            let first_index = ws.files(db).iter().position(|f| f == first);
            let this_index = ws.files(db).iter().position(|f| *f == file);
            if first_index < this_index {
                out.push(
                    Diagnostic::error(
                        "E0009",
                        header.range(),
                        format!("module `{name}` is also declared in `{}`", first.path(db)),
                    )
                    .with_help("give each file its own module name"),
                );
            }
        }
    }
    out.extend(test_diagnostics(db, ws, file));
    // Recursion among this module's functions and lets.
    out.extend(recursion(db, file, &globals));
    out.sort_by(|a, b| (a.span.start, a.span.end, a.code).cmp(&(b.span.start, b.span.end, b.code)));
    out
}

fn recursion(db: &dyn Db, file: SourceFile, globals: &Globals) -> Vec<Diagnostic> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut spans: BTreeMap<String, Range<usize>> = BTreeMap::new();
    for (offset, p) in items(db, file) {
        let name = match &p.ast.kind {
            ItemKind::Fn(f) => &f.name,
            ItemKind::Let(l) => &l.name,
            _ => continue,
        };
        spans.entry(name.text.clone()).or_insert(name.span.shift(offset).range());
        graph.entry(name.text.clone()).or_default().extend(check::free_globals(&p.ast, globals));
    }
    // `start` is recursive when it is reachable from itself, that is, on a
    // cycle. Found for all names at once, in linear time: a search from each
    // name would be quadratic on a long chain of `let`s.
    let names: Vec<&String> = graph.keys().collect();
    let index_of: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let edges: Vec<Vec<usize>> = names
        .iter()
        .map(|n| graph.get(*n).into_iter().flatten().filter_map(|m| index_of.get(m.as_str()).copied()).collect())
        .collect();
    let on_cycle = on_cycles(&edges);
    let mut out = Vec::new();
    for (start, span) in &spans {
        if index_of.get(start.as_str()).is_some_and(|i| on_cycle.get(*i) == Some(&true)) {
            out.push(
                Diagnostic::error("E0301", span.clone(), format!("`{start}` is recursive"))
                    .with_help("functions and top-level `let`s may not be recursive, so evaluation always ends"),
            );
        }
    }
    out
}

#[derive(Clone, Copy)]
struct SccNode {
    /// Order of discovery; `usize::MAX` until discovered.
    index: usize,
    low: usize,
    on_stack: bool,
    on_cycle: bool,
}

/// Which nodes of a graph (edges by node number) lie on a cycle: the nodes
/// of a strongly connected component of more than one node, and those with
/// an edge to themselves. Tarjan's algorithm, iterative: linear time, and no
/// recursion however long a chain is.
fn on_cycles(edges: &[Vec<usize>]) -> Vec<bool> {
    let unseen = SccNode { index: usize::MAX, low: usize::MAX, on_stack: false, on_cycle: false };
    let mut nodes = vec![unseen; edges.len()];
    let mut stack: Vec<usize> = Vec::new();
    let mut next = 0;
    let mut discover = |nodes: &mut Vec<SccNode>, stack: &mut Vec<usize>, v: usize| {
        if let Some(node) = nodes.get_mut(v) {
            *node = SccNode { index: next, low: next, on_stack: true, on_cycle: false };
        }
        next += 1;
        stack.push(v);
    };
    for root in 0..edges.len() {
        if nodes.get(root).is_none_or(|n| n.index != usize::MAX) {
            continue;
        }
        // The depth-first search's path: a node and how many of its edges
        // have been followed.
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        discover(&mut nodes, &mut stack, root);
        while let Some((v, followed)) = path.last_mut() {
            let v = *v;
            if let Some(&w) = edges.get(v).and_then(|e| e.get(*followed)) {
                *followed += 1;
                let Some(&target) = nodes.get(w) else { continue };
                if w == v {
                    if let Some(node) = nodes.get_mut(v) {
                        node.on_cycle = true;
                    }
                }
                if target.index == usize::MAX {
                    discover(&mut nodes, &mut stack, w);
                    path.push((w, 0));
                } else if target.on_stack {
                    if let Some(node) = nodes.get_mut(v) {
                        node.low = node.low.min(target.index);
                    }
                }
                continue;
            }
            // Every edge of `v` is followed.
            path.pop();
            let Some(&node) = nodes.get(v) else { continue };
            if let Some(parent) = path.last().and_then(|(p, _)| nodes.get_mut(*p)) {
                parent.low = parent.low.min(node.low);
            }
            if node.low == node.index {
                // `v` is the root of a component: the stack down to it.
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    if let Some(n) = nodes.get_mut(w) {
                        n.on_stack = false;
                    }
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                if members.len() > 1 {
                    for w in members {
                        if let Some(n) = nodes.get_mut(w) {
                            n.on_cycle = true;
                        }
                    }
                }
            }
        }
    }
    nodes.iter().map(|n| n.on_cycle).collect()
}

/// Diagnostics of every file of the workspace.
pub fn workspace_diagnostics(db: &dyn Db, ws: Workspace) -> Vec<(SourceFile, Vec<Diagnostic>)> {
    ws.files(db).iter().map(|f| (*f, file_diagnostics(db, ws, *f).clone())).collect()
}
