//! The evaluator: a pure function of (checked program, facts, params) → one
//! [`CheckResult`] per check. It touches the world only through a
//! [`FactSource`]; a fact that could not be collected makes the check that
//! reads it `error` with the collector's reason — never `pass`. Steps, call
//! depth and collection sizes are bounded, so evaluation always ends.

use crate::builtins;
use crate::db::{self, Db, SourceFile, Workspace};
use crate::syntax::ast::*;
use crate::value::{self, shorten, Kind, Origin, Params, Value};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// One call of a collector function, e.g. `files.glob("**/*.yaml")`.
#[derive(Debug, Clone, PartialEq)]
pub struct FactCall {
    pub namespace: String,
    pub name: String,
    pub args: Vec<Value>,
}

impl FactCall {
    /// A stable key for caching and snapshots: arguments as JSON, a record
    /// argument by its `path` (or `uri`).
    pub fn key(&self) -> String {
        let args: Vec<String> = self.args.iter().map(key_repr).collect();
        format!("{}.{}({})", self.namespace, self.name, args.join(", "))
    }
}

fn key_repr(v: &Value) -> String {
    match &v.kind {
        // Only a plain string names the record: a secret's clear text must
        // not reach the key (keys are shown and saved in snapshots).
        Kind::Map(_) => match v.get("path").or_else(|| v.get("uri")).map(|p| &p.kind) {
            Some(Kind::Str(p)) => format!("@{}", json_str(p)),
            _ => serde_json::to_string(&v.kind).unwrap_or_default(),
        },
        Kind::Str(s) => json_str(s),
        Kind::Regex(r) => format!("re{}", json_str(r)),
        _ => serde_json::to_string(&v.kind).unwrap_or_default(),
    }
}

/// A string as JSON writes it. Keys are made for every fact a check reads,
/// so the common string that needs no escape skips the serializer.
fn json_str(s: &str) -> String {
    if s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        serde_json::to_string(s).unwrap_or_default()
    } else {
        format!("\"{s}\"")
    }
}

/// Why a fact could not be collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactError {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub origin: Option<Origin>,
    /// True when the fact was not collected on purpose (`--offline`): the
    /// check becomes `skip`, not `error`.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub skipped: bool,
}

impl FactError {
    pub fn new(message: impl Into<String>) -> FactError {
        FactError { message: message.into(), origin: None, skipped: false }
    }
    pub fn at(mut self, origin: Origin) -> FactError {
        self.origin = Some(origin);
        self
    }
}

impl std::fmt::Display for FactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "{o}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

/// Where facts come from: live collectors, a snapshot, or test data.
pub trait FactSource {
    fn fact(&self, call: &FactCall) -> Result<Value, FactError>;
    /// [`FactSource::fact`] when the caller has the call's key already.
    fn fact_keyed(&self, call: &FactCall, _key: &str) -> Result<Value, FactError> {
        self.fact(call)
    }
}

/// Facts held in memory by key, for unit tests and replay.
#[derive(Debug, Default, Clone)]
pub struct MemoryFacts {
    pub facts: BTreeMap<String, Result<Value, FactError>>,
}

impl FactSource for MemoryFacts {
    fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
        let key = call.key();
        match self.facts.get(&key) {
            Some(r) => r.clone(),
            None => Err(FactError::new(format!("no fact `{key}` in the snapshot"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skip,
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
            Status::Waived => "waived",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location: Option<Origin>,
}

/// A check's metadata, as written in its body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CheckMeta {
    pub id: String,
    pub title: String,
    pub section: Vec<String>,
    pub severity: String,
    pub tags: Vec<String>,
    pub remediation: String,
    pub references: Vec<String>,
    pub validation: String,
    pub attestation: bool,
    pub doc: Option<String>,
    /// The policy file and 1-based line of the check.
    pub policy_path: String,
    pub policy_line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub meta: CheckMeta,
    pub status: Status,
    pub message: String,
    pub findings: Vec<Finding>,
    /// Keys of the facts the check read.
    pub facts: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub steps: u64,
    pub call_depth: usize,
    pub collection: usize,
    pub string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { steps: 5_000_000, call_depth: 32, collection: 1_000_000, string_bytes: 16 << 20 }
    }
}

/// Why evaluation of a check stopped.
#[derive(Debug, Clone)]
struct Stop {
    message: String,
    /// Set when a collector failed: the check is `error` (or `skip` when
    /// the fact was skipped on purpose).
    fact: Option<FactError>,
}

impl Stop {
    fn msg(message: impl Into<String>) -> Stop {
        Stop { message: message.into(), fact: None }
    }
}

type R<T> = Result<T, Stop>;

enum Flow {
    Continue,
    Skip(String),
}

/// Metadata of every check of the workspace, without evaluating anything.
pub fn check_metas(db: &dyn Db, ws: Workspace) -> Vec<CheckMeta> {
    let mut out = Vec::new();
    for file in ws.files(db) {
        let text = file.text(db);
        for (offset, parse) in db::items(db, *file) {
            if let ItemKind::Check(check) = &parse.ast.kind {
                out.push(meta_of(db, *file, text, offset, &parse.ast, check));
            }
        }
    }
    out
}

fn meta_of(db: &dyn Db, file: SourceFile, text: &str, offset: usize, item: &Item, check: &Check) -> CheckMeta {
    let mut meta = CheckMeta {
        id: check.id.dotted(),
        doc: item.doc.clone(),
        policy_path: file.path(db).clone(),
        policy_line: crate::diagnostic::line_col(text, offset + check.id.span.start as usize).0,
        ..CheckMeta::default()
    };
    let lit = |e: &Expr| -> String {
        match &e.kind {
            ExprKind::Str(parts) => parts
                .iter()
                .map(|p| match p {
                    StrPart::Lit(s) => s.as_str(),
                    StrPart::Expr(_) => "",
                })
                .collect(),
            ExprKind::Name(n) => n.text.clone(),
            _ => String::new(),
        }
    };
    let list = |e: &Expr| -> Vec<String> {
        match &e.kind {
            ExprKind::List(xs) => xs.iter().map(lit).collect(),
            _ => Vec::new(),
        }
    };
    for stmt in &check.body {
        if let StmtKind::Meta { key, value } = &stmt.kind {
            match key.text.as_str() {
                "title" => meta.title = lit(value),
                "section" => meta.section = list(value),
                "severity" => meta.severity = lit(value),
                "tags" => meta.tags = list(value),
                "remediation" => meta.remediation = lit(value),
                "references" => meta.references = list(value),
                "validation" => meta.validation = lit(value),
                "attestation" => meta.attestation = matches!(value.kind, ExprKind::Bool(true)),
                _ => {}
            }
        }
    }
    meta
}

/// Evaluates the selected checks (all when `only` is `None`).
pub fn evaluate(
    db: &dyn Db,
    ws: Workspace,
    facts: &dyn FactSource,
    params: &Params,
    only: Option<&BTreeSet<String>>,
    limits: Limits,
) -> Vec<CheckResult> {
    evaluate_probed(db, ws, facts, params, only, limits, None)
}

/// [`evaluate`], recording into `probe` (when given) which branches of each
/// check ran and, when the probe traces, what decided them.
pub fn evaluate_probed(
    db: &dyn Db,
    ws: Workspace,
    facts: &dyn FactSource,
    params: &Params,
    only: Option<&BTreeSet<String>>,
    limits: Limits,
    probe: Option<&Probe>,
) -> Vec<CheckResult> {
    let mut ev = Evaluator::new(db, ws, facts, params, limits);
    ev.probe = probe;
    let mut out = Vec::new();
    for file in ws.files(db) {
        let text = file.text(db);
        for item_ref in db::file_items(db, *file) {
            let parse = db::parse(db, item_ref.text);
            if let ItemKind::Check(check) = &parse.ast.kind {
                let id = check.id.dotted();
                if only.is_some_and(|o| !o.contains(&id)) {
                    continue;
                }
                let meta = meta_of(db, *file, text, item_ref.offset, &parse.ast, check);
                out.push(ev.run_check(*file, item_ref.text.text(db), meta, check));
            }
        }
    }
    out
}

/// The values of a test's settings (all but `check` and `status`, which are
/// read as written), after its `let`s, in the module of `file`. Settings
/// cannot read facts: `facts` answers nothing but errors.
pub fn test_settings(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
    item_text: &str,
    test: &Test,
    params: &Params,
) -> Result<BTreeMap<String, Value>, String> {
    struct NoFacts;
    impl FactSource for NoFacts {
        fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
            Err(FactError::new(format!("a test setting cannot read the fact `{}`", call.key())))
        }
    }
    let ev = Evaluator::new(db, ws, &NoFacts, params, Limits::default());
    let frame = Frame { file, item_text: Arc::from(item_text) };
    let mut scope = Scope { vars: Vec::new(), elements: Vec::new() };
    let mut out = BTreeMap::new();
    let stop = |key: &str, e: Stop| match e.fact {
        Some(f) => format!("`{key}`: {}: {f}", e.message),
        None => format!("`{key}`: {}", e.message),
    };
    for stmt in &test.body {
        match &stmt.kind {
            StmtKind::Let(l) => {
                let v = ev.expr(&frame, &mut scope, &l.value).map_err(|e| stop(&l.name.text, e))?;
                scope.vars.push((l.name.text.clone(), v));
            }
            StmtKind::Meta { key, value } if key.text != "check" && key.text != "status" => {
                let v = ev.expr(&frame, &mut scope, value).map_err(|e| stop(&key.text, e))?;
                out.insert(key.text.clone(), v);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Inputs of an incremental evaluation besides the program and the facts.
#[salsa::input(debug)]
pub struct EvalConfig {
    #[returns(ref)]
    pub params: Params,
    /// Bumped whenever fact slots are added; a check that met a fact with
    /// no slot read it, so it is evaluated again then.
    #[returns(copy)]
    pub generation: u64,
    /// True when every fact is already there (replay): a fact without a slot
    /// is an error instead of pending.
    #[returns(copy)]
    pub complete: bool,
}

/// A check evaluated against the fact slots, with the facts it wanted but
/// that have not been collected yet. While `missing` is not empty, `result`
/// is provisional.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    pub result: CheckResult,
    pub missing: Vec<FactCall>,
}

/// Reads facts from the database's slots; records the ones not collected.
struct SlotFacts<'a> {
    db: &'a dyn Db,
    config: EvalConfig,
    missing: RefCell<Vec<FactCall>>,
}

impl FactSource for SlotFacts<'_> {
    fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
        self.fact_keyed(call, &call.key())
    }
    fn fact_keyed(&self, call: &FactCall, key: &str) -> Result<Value, FactError> {
        if let Some(slot) = self.db.fact_slot(key) {
            return slot.value(self.db).clone();
        }
        if self.config.complete(self.db) {
            return Err(FactError::new(format!("fact `{key}` is not in the snapshot")));
        }
        // Depend on the generation so this check runs again once the fact
        // is there; meanwhile go on with null to discover more facts.
        let _ = self.config.generation(self.db);
        if !self.missing.borrow().iter().any(|c| c == call) {
            self.missing.borrow_mut().push(call.clone());
        }
        Ok(Value::null())
    }
}

/// One check, evaluated incrementally: salsa records the fact slots and
/// items it read, and evaluates it again only when one of them changes.
#[salsa::tracked(returns(ref))]
pub fn eval_check<'db>(
    db: &'db dyn Db,
    ws: Workspace,
    config: EvalConfig,
    file: SourceFile,
    item: ItemText<'db>,
) -> CheckOutcome {
    let parse = db::parse(db, item);
    let text = item.text(db);
    let ItemKind::Check(check) = &parse.ast.kind else {
        return CheckOutcome { result: error_result(CheckMeta::default(), "not a check"), missing: Vec::new() };
    };
    db.log(format!("eval {}", check.id.dotted()));
    // The line is filled in by the caller: it depends on where the item is.
    let meta = meta_of(db, file, text, 0, &parse.ast, check);
    let facts = SlotFacts { db, config, missing: RefCell::new(Vec::new()) };
    let ev = Evaluator::new(db, ws, &facts, config.params(db), Limits::default());
    let result = ev.run_check(file, text, meta, check);
    CheckOutcome { result, missing: facts.missing.into_inner() }
}

fn error_result(meta: CheckMeta, message: &str) -> CheckResult {
    CheckResult { meta, status: Status::Error, message: message.to_string(), findings: Vec::new(), facts: Vec::new() }
}

/// Every selected check evaluated incrementally, in workspace order, with
/// its policy line.
pub fn eval_workspace(
    db: &dyn Db,
    ws: Workspace,
    config: EvalConfig,
    only: Option<&BTreeSet<String>>,
) -> Vec<CheckOutcome> {
    let mut out = Vec::new();
    for file in ws.files(db) {
        let text = file.text(db);
        for item_ref in db::file_items(db, *file) {
            let parse = db::parse(db, item_ref.text);
            let ItemKind::Check(check) = &parse.ast.kind else { continue };
            if only.is_some_and(|o| !o.contains(&check.id.dotted())) {
                continue;
            }
            let mut outcome = eval_check(db, ws, config, *file, item_ref.text).clone();
            outcome.result.meta.policy_line =
                crate::diagnostic::line_col(text, item_ref.offset + check.id.span.start as usize).0;
            out.push(outcome);
        }
    }
    out
}

struct Frame {
    file: SourceFile,
    /// Text of the item being evaluated, for messages quoting the policy.
    item_text: Arc<str>,
}

struct Evaluator<'a> {
    db: &'a dyn Db,
    ws: Workspace,
    facts: &'a dyn FactSource,
    params: &'a Params,
    limits: Limits,
    steps: Cell<u64>,
    depth: Cell<usize>,
    globals: RefCell<HashMap<(SourceFile, String), Result<Value, Stop>>>,
    /// Results of functions without parameters during one check: pure over
    /// the facts, so `fn composes()` called in four places runs once.
    memo: RefCell<HashMap<(SourceFile, String), Result<Value, Stop>>>,
    in_progress: RefCell<std::collections::HashSet<(SourceFile, String)>>,
    read: RefCell<BTreeSet<String>>,
    regexes: RefCell<HashMap<String, Result<regex::Regex, String>>>,
    probe: Option<&'a Probe>,
    /// The check being run and where its id is (item-relative offset, line),
    /// for the probe.
    current: RefCell<(String, u32, usize)>,
}

/// A branch of a check body: both outcomes of a `require`, both arms of an
/// `if` and of a `skip when`, and the body of a `for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arm {
    Held,
    Failed,
    Then,
    Else,
    Skipped,
    NotSkipped,
    Entered,
}

impl Arm {
    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Held => "held",
            Arm::Failed => "failed",
            Arm::Then => "then",
            Arm::Else => "else",
            Arm::Skipped => "skipped",
            Arm::NotSkipped => "not skipped",
            Arm::Entered => "entered",
        }
    }
}

/// One branch of one check: the check id, the item-relative start of its
/// statement, and the arm.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Branch {
    pub check: String,
    pub at: u32,
    pub arm: Arm,
}

/// The branches of a check body, in source order, with whether each belongs
/// to a `require` (requirement coverage counts those statements).
pub fn branches(check: &Check) -> Vec<(Branch, bool)> {
    fn walk(id: &str, stmts: &[Stmt], out: &mut Vec<(Branch, bool)>) {
        for stmt in stmts {
            let at = stmt.span.start;
            let mut push = |arm, require| out.push((Branch { check: id.to_string(), at, arm }, require));
            match &stmt.kind {
                StmtKind::Require { .. } => {
                    push(Arm::Held, true);
                    push(Arm::Failed, true);
                }
                StmtKind::Skip { .. } => {
                    push(Arm::Skipped, false);
                    push(Arm::NotSkipped, false);
                }
                StmtKind::For { body, .. } => {
                    push(Arm::Entered, false);
                    walk(id, body, out);
                }
                StmtKind::If { then, otherwise, .. } => {
                    push(Arm::Then, false);
                    push(Arm::Else, false);
                    walk(id, then, out);
                    walk(id, otherwise, out);
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&check.id.dotted(), &check.body, &mut out);
    out
}

/// One step of a traced evaluation: a statement of a check and what it
/// decided, with the values it saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceEvent {
    pub check: String,
    /// 1-based line in the policy file.
    pub line: usize,
    pub text: String,
}

/// What an evaluation records when asked: the branches taken (coverage) and,
/// when `trace` is set, a bounded trace of the decisions. Off (`None`) by
/// default, so an ordinary evaluation pays nothing.
#[derive(Debug, Default)]
pub struct Probe {
    pub trace: bool,
    hits: RefCell<BTreeSet<Branch>>,
    events: RefCell<Vec<TraceEvent>>,
}

impl Probe {
    /// The most trace events kept per probe.
    pub const MAX_EVENTS: usize = 200;

    pub fn new(trace: bool) -> Probe {
        Probe { trace, ..Probe::default() }
    }
    /// The branches taken so far.
    pub fn hits(&self) -> BTreeSet<Branch> {
        self.hits.borrow().clone()
    }
    /// The trace, taken out of the probe.
    pub fn take_events(&self) -> Vec<TraceEvent> {
        std::mem::take(&mut *self.events.borrow_mut())
    }
}

struct Scope {
    vars: Vec<(String, Value)>,
    /// Origins of the elements of the enclosing `for` loops.
    elements: Vec<Option<Arc<Origin>>>,
}

impl Scope {
    fn lookup(&self, name: &str) -> Option<&Value> {
        self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl<'a> Evaluator<'a> {
    fn new(db: &'a dyn Db, ws: Workspace, facts: &'a dyn FactSource, params: &'a Params, limits: Limits) -> Self {
        Evaluator {
            db,
            ws,
            facts,
            params,
            limits,
            steps: Cell::new(0),
            depth: Cell::new(0),
            globals: RefCell::default(),
            memo: RefCell::default(),
            in_progress: RefCell::default(),
            read: RefCell::default(),
            regexes: RefCell::default(),
            probe: None,
            current: RefCell::default(),
        }
    }

    fn hit(&self, stmt: &Stmt, arm: Arm) {
        if let Some(probe) = self.probe {
            let check = self.current.borrow().0.clone();
            probe.hits.borrow_mut().insert(Branch { check, at: stmt.span.start, arm });
        }
    }

    fn tracing(&self) -> bool {
        self.probe.is_some_and(|p| p.trace && p.events.borrow().len() < Probe::MAX_EVENTS)
    }

    /// Records a trace event for a statement (the text is built only when
    /// tracing).
    fn event(&self, frame: &Frame, stmt: &Stmt, text: impl FnOnce() -> String) {
        let Some(probe) = self.probe.filter(|_| self.tracing()) else { return };
        let (check, id_at, id_line) = self.current.borrow().clone();
        let from = (id_at as usize).min(stmt.span.start as usize);
        let newlines = frame.item_text.get(from..stmt.span.start as usize).map_or(0, |t| t.matches('\n').count());
        let line = id_line + newlines;
        probe.events.borrow_mut().push(TraceEvent { check, line, text: text() });
    }

    fn source(frame: &Frame, e: &Expr) -> String {
        let text = frame.item_text.get(e.span.range()).unwrap_or("?").split_whitespace().collect::<Vec<_>>().join(" ");
        shorten(&text, 160)
    }

    fn run_check(&self, file: SourceFile, item_text: &str, meta: CheckMeta, check: &Check) -> CheckResult {
        self.steps.set(0);
        self.read.borrow_mut().clear();
        self.memo.borrow_mut().clear();
        let frame = Frame { file, item_text: Arc::from(item_text) };
        if self.probe.is_some() {
            *self.current.borrow_mut() = (meta.id.clone(), check.id.span.start, meta.policy_line);
        }
        let mut scope = Scope { vars: Vec::new(), elements: Vec::new() };
        let mut findings = Vec::new();
        let outcome = self.block(&frame, &mut scope, &check.body, &mut findings);
        let facts: Vec<String> = self.read.borrow().iter().cloned().collect();
        let (status, message) = match outcome {
            Ok(Flow::Skip(reason)) => {
                findings.clear();
                (Status::Skip, reason)
            }
            Ok(Flow::Continue) if findings.is_empty() => (Status::Pass, "every requirement holds".to_string()),
            Ok(Flow::Continue) => (Status::Fail, fail_message(findings.iter().map(|f| f.message.as_str()))),
            Err(stop) => {
                findings.clear();
                match stop.fact {
                    Some(e) if e.skipped => (Status::Skip, e.message),
                    Some(e) => (Status::Error, format!("{}: {e}", stop.message)),
                    None => (Status::Error, stop.message),
                }
            }
        };
        CheckResult { meta, status, message, findings, facts }
    }

    fn block(&self, frame: &Frame, scope: &mut Scope, stmts: &[Stmt], findings: &mut Vec<Finding>) -> R<Flow> {
        let mark = scope.vars.len();
        for stmt in stmts {
            match self.stmt(frame, scope, stmt, findings)? {
                Flow::Continue => {}
                skip => {
                    scope.vars.truncate(mark);
                    return Ok(skip);
                }
            }
        }
        scope.vars.truncate(mark);
        Ok(Flow::Continue)
    }

    fn stmt(&self, frame: &Frame, scope: &mut Scope, stmt: &Stmt, findings: &mut Vec<Finding>) -> R<Flow> {
        match &stmt.kind {
            StmtKind::Meta { .. } => {}
            StmtKind::Let(l) => {
                let v = self.expr(frame, scope, &l.value)?;
                scope.vars.push((l.name.text.clone(), v));
            }
            StmtKind::Require { cond, at, message } => {
                let v = self.expr(frame, scope, cond)?;
                self.hit(stmt, if v.is_true() { Arm::Held } else { Arm::Failed });
                if self.tracing() {
                    let text = self.default_message(frame, scope, cond);
                    let text = if v.is_true() { text.replacen(" is false", " holds", 1) } else { text };
                    self.event(frame, stmt, || text);
                }
                if !v.is_true() {
                    let message = match message {
                        Some(m) => self.expr(frame, scope, m)?.to_string(),
                        None => self.default_message(frame, scope, cond),
                    };
                    // The evidence's origin, else the enclosing `for` element's.
                    let at = match at {
                        Some(at) => self.expr(frame, scope, at)?.origin,
                        None => None,
                    };
                    let location =
                        at.or_else(|| scope.elements.iter().rev().flatten().next().cloned()).map(|o| (*o).clone());
                    if findings.len() >= self.limits.collection {
                        return Err(Stop::msg("too many findings"));
                    }
                    findings.push(Finding { message, location });
                }
            }
            StmtKind::Skip { cond, reason } => {
                let skipped = self.expr(frame, scope, cond)?.is_true();
                self.hit(stmt, if skipped { Arm::Skipped } else { Arm::NotSkipped });
                self.event(frame, stmt, || {
                    let verdict = if skipped { "true: the check is skipped" } else { "false" };
                    format!("skip when `{}` is {verdict}", Self::source(frame, cond))
                });
                if skipped {
                    return Ok(Flow::Skip(self.expr(frame, scope, reason)?.to_string()));
                }
            }
            StmtKind::For { binding, iter, body } => {
                let v = self.expr(frame, scope, iter)?;
                let elements = self.iterate(&v)?;
                if !elements.is_empty() {
                    self.hit(stmt, Arm::Entered);
                }
                self.event(frame, stmt, || {
                    format!(
                        "for {} in `{}`: {} element(s)",
                        binding.first.text,
                        Self::source(frame, iter),
                        elements.len()
                    )
                });
                for (k, x) in elements {
                    let mark = scope.vars.len();
                    scope.elements.push(x.origin.clone().or_else(|| k.origin.clone()));
                    bind(scope, binding, k, x);
                    let flow = self.block(frame, scope, body, findings);
                    scope.vars.truncate(mark);
                    scope.elements.pop();
                    if let Flow::Skip(r) = flow? {
                        return Ok(Flow::Skip(r));
                    }
                }
            }
            StmtKind::If { cond, then, otherwise } => {
                let c = self.expr(frame, scope, cond)?;
                self.hit(stmt, if c.is_true() { Arm::Then } else { Arm::Else });
                self.event(frame, stmt, || {
                    let arm = if c.is_true() { "true: then" } else { "false: else" };
                    format!("if `{}` is {arm}", Self::source(frame, cond))
                });
                let branch = if c.is_true() { then } else { otherwise };
                return self.block(frame, scope, branch, findings);
            }
            StmtKind::Error => return Err(Stop::msg("the check has syntax errors")),
        }
        Ok(Flow::Continue)
    }

    /// "requirement `a < b` is false (a = 3, b = 2)": the deciding
    /// sub-expression and the values it saw.
    fn default_message(&self, frame: &Frame, scope: &mut Scope, cond: &Expr) -> String {
        let source = |e: &Expr| {
            frame.item_text.get(e.span.range()).unwrap_or("?").split_whitespace().collect::<Vec<_>>().join(" ")
        };
        let mut parts = Vec::new();
        let mut operands: Vec<&Expr> = Vec::new();
        match &cond.kind {
            ExprKind::Binary { op, lhs, rhs } if !matches!(op, BinOp::And | BinOp::Or) => {
                operands.push(lhs);
                operands.push(rhs);
            }
            ExprKind::Unary { expr, .. } => operands.push(expr),
            ExprKind::Call { args, .. } => operands.extend(args.iter()),
            _ => {}
        }
        for e in operands {
            if is_literal(e) {
                continue;
            }
            if let Ok(v) = self.expr(frame, scope, e) {
                parts.push(format!("{} = {}", source(e), shorten(&quoted(&v), 120)));
            }
        }
        let mut message = format!("requirement `{}` is false", shorten(&source(cond), 160));
        if !parts.is_empty() {
            message.push_str(&format!(" ({})", parts.join(", ")));
        }
        message
    }

    fn iterate(&self, v: &Value) -> R<Vec<(Value, Value)>> {
        Ok(match &v.kind {
            Kind::List(xs) => xs.iter().enumerate().map(|(i, x)| (Value::int(i as i64), x.clone())).collect(),
            Kind::Map(entries) => {
                entries.iter().map(|(k, x)| (Value::str(k).with_origin_arc(x.origin.clone()), x.clone())).collect()
            }
            Kind::Null => Vec::new(),
            _ => return Err(Stop::msg(format!("cannot iterate over {}", a_type(v)))),
        })
    }

    fn tick(&self) -> R<()> {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n > self.limits.steps {
            return Err(Stop::msg(format!("evaluation took more than {} steps", self.limits.steps)));
        }
        Ok(())
    }

    fn expr(&self, frame: &Frame, scope: &mut Scope, e: &Expr) -> R<Value> {
        self.tick()?;
        Ok(match &e.kind {
            ExprKind::Null => Value::null(),
            ExprKind::Bool(b) => Value::bool(*b),
            ExprKind::Int(n) => Value::int(*n),
            ExprKind::Float(x) => Value::new(Kind::Float(*x)),
            ExprKind::Duration(s) => Value::new(Kind::Duration(*s)),
            ExprKind::Size(b) => Value::new(Kind::Size(*b)),
            ExprKind::Regex(r) => Value::new(Kind::Regex(Arc::from(r.as_str()))),
            ExprKind::Str(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        StrPart::Lit(l) => s.push_str(l),
                        StrPart::Expr(x) => s.push_str(&self.expr(frame, scope, x)?.to_string()),
                    }
                    if s.len() > self.limits.string_bytes {
                        return Err(Stop::msg("string too large"));
                    }
                }
                Value::str(s)
            }
            ExprKind::List(xs) => {
                let mut out = Vec::with_capacity(xs.len());
                for x in xs {
                    out.push(self.expr(frame, scope, x)?);
                }
                Value::list(out)
            }
            ExprKind::Record(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, x) in entries {
                    out.push((k.text.clone(), self.expr(frame, scope, x)?));
                }
                Value::map(out)
            }
            ExprKind::Name(n) => match scope.lookup(&n.text) {
                Some(v) => v.clone(),
                None => self.global(frame.file, &n.text)?,
            },
            ExprKind::Field { base, name } => {
                if let Some(file) = self.module_ref(frame, scope, base) {
                    return self.global(file, &name.text);
                }
                let b = self.expr(frame, scope, base)?;
                field(&b, &name.text).map_err(Stop::msg)?
            }
            ExprKind::Index { base, index } => {
                let b = self.expr(frame, scope, base)?;
                let i = self.expr(frame, scope, index)?;
                index_value(&b, &i).map_err(Stop::msg)?
            }
            ExprKind::Call { callee, args } => self.call(frame, scope, callee, args)?,
            ExprKind::Unary { op, expr } => {
                let v = self.expr(frame, scope, expr)?;
                match (op, &v.kind) {
                    (UnOp::Not, Kind::Bool(b)) => Value::bool(!b),
                    (UnOp::Not, Kind::Null) => Value::bool(true),
                    (UnOp::Neg, Kind::Int(n)) => {
                        Value::int(n.checked_neg().ok_or_else(|| Stop::msg("integer overflow"))?)
                    }
                    (UnOp::Neg, Kind::Float(x)) => Value::new(Kind::Float(-x)),
                    (UnOp::Neg, Kind::Duration(x)) => Value::new(Kind::Duration(-x)),
                    (UnOp::Neg, Kind::Size(x)) => Value::new(Kind::Size(-x)),
                    _ => {
                        return Err(Stop::msg(format!(
                            "cannot apply `{}` to {}",
                            if *op == UnOp::Not { "not" } else { "-" },
                            a_type(&v)
                        )))
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(frame, scope, *op, lhs, rhs)?,
            ExprKind::If { cond, then, otherwise } => {
                if self.expr(frame, scope, cond)?.is_true() {
                    self.expr(frame, scope, then)?
                } else {
                    self.expr(frame, scope, otherwise)?
                }
            }
            ExprKind::Quant { q, binding, iter, body } => {
                let v = self.expr(frame, scope, iter)?;
                let items = self.iterate(&v)?;
                let mut count = 0i64;
                let mut out = Vec::new();
                for (k, x) in items {
                    let mark = scope.vars.len();
                    bind(scope, binding, k, x.clone());
                    let r = self.expr(frame, scope, body);
                    scope.vars.truncate(mark);
                    let r = r?;
                    match q {
                        Quantifier::All if !r.is_true() => return Ok(Value::bool(false)),
                        Quantifier::Any if r.is_true() => return Ok(Value::bool(true)),
                        Quantifier::Count if r.is_true() => count += 1,
                        Quantifier::Filter if r.is_true() => out.push(x),
                        Quantifier::Map => out.push(r),
                        _ => {}
                    }
                }
                match q {
                    Quantifier::All => Value::bool(true),
                    Quantifier::Any => Value::bool(false),
                    Quantifier::Count => Value::int(count),
                    Quantifier::Filter | Quantifier::Map => Value::list(out),
                }
            }
            ExprKind::Error => return Err(Stop::msg("the policy has errors")),
        })
    }

    /// `alias` in `alias.name` when it names an imported module.
    fn module_ref(&self, frame: &Frame, scope: &Scope, base: &Expr) -> Option<SourceFile> {
        let ExprKind::Name(n) = &base.kind else { return None };
        if scope.lookup(&n.text).is_some() || self.find_global(frame.file, &n.text).is_some() {
            return None;
        }
        self.import(frame.file, &n.text)
    }

    fn import(&self, file: SourceFile, alias: &str) -> Option<SourceFile> {
        db::import_files(self.db, self.ws, file).get(alias).copied().flatten()
    }

    fn find_global(&self, file: SourceFile, name: &str) -> Option<(ItemText<'a>, &'a Item)> {
        let text = *db::global_items(self.db, file).get(name)?;
        Some((text, &db::parse(self.db, text).ast))
    }

    /// The value of a module-level `let` or `param`, computed once.
    fn global(&self, file: SourceFile, name: &str) -> R<Value> {
        let key = (file, name.to_string());
        if let Some(v) = self.globals.borrow().get(&key) {
            return v.clone();
        }
        if !self.in_progress.borrow_mut().insert(key.clone()) {
            return Err(Stop::msg(format!("`{name}` depends on itself")));
        }
        // A chain of `let`s that use each other recurses like calls do.
        let depth = self.depth.get() + 1;
        if depth > self.limits.call_depth {
            self.in_progress.borrow_mut().remove(&key);
            return Err(Stop::msg(format!("definitions nested more than {} deep", self.limits.call_depth)));
        }
        self.depth.set(depth);
        let result = self.compute_global(file, name);
        self.depth.set(depth - 1);
        self.in_progress.borrow_mut().remove(&key);
        self.globals.borrow_mut().insert(key, result.clone());
        result
    }

    fn compute_global(&self, file: SourceFile, name: &str) -> R<Value> {
        let Some((text, item)) = self.find_global(file, name) else {
            return Err(Stop::msg(format!("unknown name `{name}`")));
        };
        let frame = Frame { file, item_text: Arc::from(text.text(self.db).as_str()) };
        let mut scope = Scope { vars: Vec::new(), elements: Vec::new() };
        match &item.kind {
            ItemKind::Let(l) => self.expr(&frame, &mut scope, &l.value),
            ItemKind::Param(p) => match self.params.get(name) {
                Some(v) => Ok(v.clone()),
                None => match &p.default {
                    Some(d) => self.expr(&frame, &mut scope, d),
                    None => Ok(Value::null()),
                },
            },
            _ => Err(Stop::msg(format!("function `{name}` used as a value"))),
        }
    }

    fn call(&self, frame: &Frame, scope: &mut Scope, callee: &Expr, args: &[Expr]) -> R<Value> {
        match &callee.kind {
            ExprKind::Name(n) => {
                if let Some((text, item)) = self.find_global(frame.file, &n.text) {
                    if let ItemKind::Fn(f) = &item.kind {
                        let values = self.args(frame, scope, args)?;
                        return self.call_user(frame.file, text, f, values);
                    }
                }
                let values = self.args(frame, scope, args)?;
                self.builtin(&n.text, values)
            }
            ExprKind::Field { base, name } => {
                if let ExprKind::Name(b) = &base.kind {
                    if scope.lookup(&b.text).is_none() && self.find_global(frame.file, &b.text).is_none() {
                        if let Some(file) = self.import(frame.file, &b.text) {
                            let values = self.args(frame, scope, args)?;
                            return match self.find_global(file, &name.text) {
                                Some((text, item)) => match &item.kind {
                                    ItemKind::Fn(f) => self.call_user(file, text, f, values),
                                    _ => Err(Stop::msg(format!("`{}` is not a function", name.text))),
                                },
                                None => Err(Stop::msg(format!("`{}` has no member `{}`", b.text, name.text))),
                            };
                        }
                        if self.db.schema().is_namespace(&b.text) {
                            let values = self.args(frame, scope, args)?;
                            return self.fact(&b.text, &name.text, values);
                        }
                    }
                }
                let receiver = self.expr(frame, scope, base)?;
                let mut values = vec![receiver];
                values.extend(self.args(frame, scope, args)?);
                self.builtin(&name.text, values)
            }
            _ => Err(Stop::msg("this expression cannot be called")),
        }
    }

    fn args(&self, frame: &Frame, scope: &mut Scope, args: &[Expr]) -> R<Vec<Value>> {
        args.iter().map(|a| self.expr(frame, scope, a)).collect()
    }

    fn call_user(&self, file: SourceFile, text: ItemText, f: &FnDecl, args: Vec<Value>) -> R<Value> {
        if f.params.is_empty() {
            let key = (file, f.name.text.clone());
            if let Some(v) = self.memo.borrow().get(&key) {
                return v.clone();
            }
            let v = self.run_user(file, text, f, args);
            self.memo.borrow_mut().insert(key, v.clone());
            return v;
        }
        self.run_user(file, text, f, args)
    }

    fn run_user(&self, file: SourceFile, text: ItemText, f: &FnDecl, args: Vec<Value>) -> R<Value> {
        let depth = self.depth.get() + 1;
        if depth > self.limits.call_depth {
            return Err(Stop::msg(format!("calls nested more than {} deep", self.limits.call_depth)));
        }
        self.depth.set(depth);
        let frame = Frame { file, item_text: Arc::from(text.text(self.db).as_str()) };
        let mut scope = Scope { vars: Vec::new(), elements: Vec::new() };
        for ((name, _), v) in f.params.iter().zip(args) {
            scope.vars.push((name.text.clone(), v));
        }
        let result = (|| {
            for l in &f.lets {
                let v = self.expr(&frame, &mut scope, &l.value)?;
                scope.vars.push((l.name.text.clone(), v));
            }
            self.expr(&frame, &mut scope, &f.body)
        })();
        self.depth.set(depth - 1);
        result
    }

    fn fact(&self, namespace: &str, name: &str, args: Vec<Value>) -> R<Value> {
        // `doc.yaml(files.get("x"))` is null when there is no such file.
        if args.iter().any(Value::is_null) {
            return Ok(Value::null());
        }
        let call = FactCall { namespace: namespace.to_string(), name: name.to_string(), args };
        let key = call.key();
        let value = self.facts.fact_keyed(&call, &key);
        let value = value.map_err(|e| Stop { message: format!("fact `{key}` could not be collected"), fact: Some(e) });
        self.read.borrow_mut().insert(key);
        value
    }

    fn regex(&self, pattern: &str) -> R<regex::Regex> {
        if let Some(r) = self.regexes.borrow().get(pattern) {
            return r.clone().map_err(Stop::msg);
        }
        let r = regex::RegexBuilder::new(pattern).size_limit(1 << 22).build().map_err(|e| {
            format!(
                "invalid regular expression `{}`: {}",
                shorten(pattern, 60),
                e.to_string().lines().last().unwrap_or("").trim()
            )
        });
        self.regexes.borrow_mut().insert(pattern.to_string(), r.clone());
        r.map_err(Stop::msg)
    }

    fn binary(&self, frame: &Frame, scope: &mut Scope, op: BinOp, lhs: &Expr, rhs: &Expr) -> R<Value> {
        use BinOp::*;
        let l = self.expr(frame, scope, lhs)?;
        match op {
            And => {
                if !l.is_true() {
                    return Ok(Value::bool(false));
                }
                return Ok(Value::bool(self.expr(frame, scope, rhs)?.is_true()));
            }
            Or => {
                if l.is_true() {
                    return Ok(Value::bool(true));
                }
                return Ok(Value::bool(self.expr(frame, scope, rhs)?.is_true()));
            }
            Coalesce => {
                if !l.is_null() {
                    return Ok(l);
                }
                return self.expr(frame, scope, rhs);
            }
            _ => {}
        }
        let r = self.expr(frame, scope, rhs)?;
        let bad = || Stop::msg(format!("`{}` cannot be applied to {} and {}", op.as_str(), a_type(&l), a_type(&r)));
        Ok(match op {
            Eq => Value::bool(equal(&l, &r)),
            NotEq => Value::bool(!equal(&l, &r)),
            Lt | LtEq | Gt | GtEq => {
                let Some(ord) = compare(&l, &r) else {
                    if l.is_null() || r.is_null() {
                        return Ok(Value::bool(false));
                    }
                    return Err(bad());
                };
                Value::bool(match op {
                    Lt => ord.is_lt(),
                    LtEq => ord.is_le(),
                    Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
            In | NotIn => {
                let found = contains(&r, &l).ok_or_else(bad)?;
                Value::bool(if op == In { found } else { !found })
            }
            Matches => match (&l.kind, &r.kind) {
                (Kind::Null, _) => Value::bool(false),
                (_, Kind::Regex(p) | Kind::Str(p)) => {
                    let Some(s) = l.as_str() else { return Err(bad()) };
                    Value::bool(self.regex(p)?.is_match(s))
                }
                _ => return Err(bad()),
            },
            Add | Sub | Mul | Div | Rem => {
                arithmetic(op, &l, &r, self.limits).map_err(|m| if m.is_empty() { bad() } else { Stop::msg(m) })?
            }
            And | Or | Coalesce => Value::null(),
        })
    }

    fn builtin(&self, name: &str, args: Vec<Value>) -> R<Value> {
        if builtins::lookup(name).is_none() {
            return Err(Stop::msg(format!("unknown function `{name}`")));
        }
        let arg = |i: usize| args.get(i).cloned().unwrap_or_else(Value::null);
        let a = arg(0);
        let origin = a.origin.clone();
        let s = |v: &Value| v.as_str().map(str::to_string);
        let wrong = || Stop::msg(format!("`{name}` cannot take {}", a_type(&a)));
        // Text derived from a secret stays secret.
        let secret = a.is_secret();
        let text = |s: &str| if secret { Value::secret(s) } else { Value::str(s) };
        let v = match name {
            "len" => Value::int(match &a.kind {
                Kind::List(xs) => xs.len() as i64,
                Kind::Map(m) => m.len() as i64,
                Kind::Str(x) => x.chars().count() as i64,
                Kind::Secret { .. } => a.as_str().map_or(0, |x| x.chars().count() as i64),
                Kind::Null => 0,
                _ => return Err(wrong()),
            }),
            "is_empty" => Value::bool(match &a.kind {
                Kind::List(xs) => xs.is_empty(),
                Kind::Map(m) => m.is_empty(),
                Kind::Str(_) | Kind::Secret { .. } => a.as_str().is_none_or(str::is_empty),
                Kind::Null => true,
                _ => return Err(wrong()),
            }),
            "lower" | "upper" | "trim" => {
                let Some(x) = s(&a) else { return if a.is_null() { Ok(a) } else { Err(wrong()) } };
                let out = match name {
                    "lower" => x.to_lowercase(),
                    "upper" => x.to_uppercase(),
                    _ => x.trim().to_string(),
                };
                text(&out).with_origin_arc(origin)
            }
            "starts_with" | "ends_with" => {
                let (Some(x), Some(y)) = (s(&a), s(&arg(1))) else { return Ok(Value::bool(false)) };
                Value::bool(if name == "starts_with" { x.starts_with(&y) } else { x.ends_with(&y) })
            }
            "contains" => Value::bool(contains(&a, &arg(1)).ok_or_else(wrong)?),
            "split" => {
                let (Some(x), Some(sep)) = (s(&a), s(&arg(1))) else { return Err(wrong()) };
                let parts: Vec<Value> = if sep.is_empty() {
                    x.chars().map(|c| text(&c.to_string())).collect()
                } else {
                    x.split(sep.as_str()).map(|p| text(p).with_origin_arc(origin.clone())).collect()
                };
                self.check_size(parts.len())?;
                Value::list(parts)
            }
            "join" => {
                let Kind::List(xs) = &a.kind else { return Err(wrong()) };
                let sep = s(&arg(1)).unwrap_or_default();
                Value::str(xs.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(&sep))
            }
            "replace" => {
                let (Some(x), Some(from), Some(to)) = (s(&a), s(&arg(1)), s(&arg(2))) else { return Err(wrong()) };
                if from.is_empty() {
                    return Ok(a);
                }
                let out = x.replace(&from, &to);
                if out.len() > self.limits.string_bytes {
                    return Err(Stop::msg("string too large"));
                }
                text(&out).with_origin_arc(origin)
            }
            "keys" => match &a.kind {
                Kind::Map(m) => Value::list(value::keys(m)),
                Kind::Null => Value::list(Vec::new()),
                _ => return Err(wrong()),
            },
            "values" => match &a.kind {
                Kind::Map(m) => Value::list(m.iter().map(|(_, v)| v.clone()).collect()),
                Kind::Null => Value::list(Vec::new()),
                _ => return Err(wrong()),
            },
            "int" => match &a.kind {
                Kind::Int(n) | Kind::Duration(n) | Kind::Size(n) => Value::int(*n),
                Kind::Float(x) if x.is_finite() => Value::int(*x as i64),
                Kind::Bool(b) => Value::int(i64::from(*b)),
                _ => s(&a).and_then(|x| x.trim().parse::<i64>().ok()).map_or_else(Value::null, Value::int),
            }
            .with_origin_arc(origin),
            "float" => match &a.kind {
                Kind::Int(n) => Value::new(Kind::Float(*n as f64)),
                Kind::Float(_) => a.clone(),
                _ => s(&a)
                    .and_then(|x| x.trim().parse::<f64>().ok())
                    .map_or_else(Value::null, |x| Value::new(Kind::Float(x))),
            }
            .with_origin_arc(origin),
            "string" => Value::str(a.to_string()).with_origin_arc(origin),
            "bool" => match &a.kind {
                Kind::Bool(_) => a.clone(),
                Kind::Int(n) => Value::bool(*n != 0),
                _ => match s(&a).map(|x| x.trim().to_lowercase()).as_deref() {
                    Some("true" | "yes" | "on" | "1") => Value::bool(true),
                    Some("false" | "no" | "off" | "0") => Value::bool(false),
                    _ => Value::null(),
                }
                .with_origin_arc(origin),
            },
            "days" => match &a.kind {
                Kind::Duration(d) => Value::int(d / 86_400),
                Kind::Null => Value::null(),
                _ => return Err(wrong()),
            },
            "duration" => match &a.kind {
                Kind::Duration(_) => a.clone(),
                Kind::Int(n) => Value::new(Kind::Duration(*n)),
                _ => s(&a)
                    .and_then(|x| parse_unit(&x, true))
                    .map_or_else(Value::null, |n| Value::new(Kind::Duration(n)))
                    .with_origin_arc(origin),
            },
            "size" => match &a.kind {
                Kind::Size(_) => a.clone(),
                Kind::Int(n) => Value::new(Kind::Size(*n)),
                _ => s(&a)
                    .and_then(|x| parse_unit(&x, false))
                    .map_or_else(Value::null, |n| Value::new(Kind::Size(n)))
                    .with_origin_arc(origin),
            },
            "sum" => {
                let Kind::List(xs) = &a.kind else { return Err(wrong()) };
                let mut acc = Value::int(0);
                for x in xs.iter() {
                    acc = arithmetic(BinOp::Add, &acc, x, self.limits).map_err(|_| Stop::msg("`sum` needs numbers"))?;
                }
                acc
            }
            "min" | "max" => {
                let Kind::List(xs) = &a.kind else { return Err(wrong()) };
                let mut best: Option<&Value> = None;
                for x in xs.iter() {
                    best = match best {
                        None => Some(x),
                        Some(b) => {
                            let ord = compare(x, b).ok_or_else(|| {
                                Stop::msg(format!("`{name}` cannot compare {} and {}", a_type(x), a_type(b)))
                            })?;
                            if (name == "min" && ord.is_lt()) || (name == "max" && ord.is_gt()) {
                                Some(x)
                            } else {
                                Some(b)
                            }
                        }
                    };
                }
                best.cloned().unwrap_or_else(Value::null)
            }
            "unique" => {
                let Kind::List(xs) = &a.kind else { return Err(wrong()) };
                let mut out: Vec<Value> = Vec::new();
                let mut seen: BTreeSet<String> = BTreeSet::new();
                for x in xs.iter() {
                    self.tick()?;
                    if seen.insert(serde_json::to_string(&x.kind).unwrap_or_default()) {
                        out.push(x.clone());
                    }
                }
                Value::list(out)
            }
            "sorted" => {
                let Kind::List(xs) = &a.kind else { return Err(wrong()) };
                let mut out: Vec<Value> = xs.to_vec();
                out.sort_by(|x, y| compare(x, y).unwrap_or(std::cmp::Ordering::Equal));
                Value::list(out)
            }
            "flatten" => {
                let Kind::List(xs) = &a.kind else { return Err(wrong()) };
                let mut out = Vec::new();
                for x in xs.iter() {
                    match &x.kind {
                        Kind::List(inner) => out.extend(inner.iter().cloned()),
                        _ => out.push(x.clone()),
                    }
                    self.check_size(out.len())?;
                }
                Value::list(out)
            }
            "type_of" => Value::str(a.type_name()),
            "find" | "find_all" => {
                let Some(x) = s(&a) else {
                    return Ok(if name == "find" { Value::null() } else { Value::list(Vec::new()) });
                };
                let p = arg(1);
                let pattern = match &p.kind {
                    Kind::Regex(r) | Kind::Str(r) => r.to_string(),
                    _ => return Err(wrong()),
                };
                let re = self.regex(&pattern)?;
                if name == "find" {
                    re.find(&x).map_or_else(Value::null, |m| text(m.as_str()).with_origin_arc(origin))
                } else {
                    let all: Vec<Value> = re
                        .find_iter(&x)
                        .take(self.limits.collection)
                        .map(|m| text(m.as_str()).with_origin_arc(origin.clone()))
                        .collect();
                    Value::list(all)
                }
            }
            "bits" => match (&a.kind, &arg(1).kind) {
                (Kind::Int(x), Kind::Int(m)) => Value::int(x & m).with_origin_arc(origin),
                (Kind::Null, _) | (_, Kind::Null) => Value::null(),
                _ => return Err(wrong()),
            },
            "entropy" => {
                let Some(x) = s(&a) else { return Ok(Value::new(Kind::Float(0.0))) };
                Value::new(Kind::Float(entropy(&x)))
            }
            _ => return Err(Stop::msg(format!("unknown function `{name}`"))),
        };
        Ok(v)
    }

    fn check_size(&self, n: usize) -> R<()> {
        if n > self.limits.collection {
            return Err(Stop::msg(format!("a list grew beyond {} elements", self.limits.collection)));
        }
        Ok(())
    }
}

use crate::db::ItemText;

fn bind(scope: &mut Scope, binding: &Binding, k: Value, x: Value) {
    match &binding.second {
        Some(second) => {
            scope.vars.push((binding.first.text.clone(), k));
            scope.vars.push((second.text.clone(), x));
        }
        None => scope.vars.push((binding.first.text.clone(), x)),
    }
}

/// The message of a failing check: its only finding's, or how many there
/// are and the first.
pub fn fail_message<'m>(mut messages: impl ExactSizeIterator<Item = &'m str>) -> String {
    let count = messages.len();
    let first = messages.next().unwrap_or_default();
    if count == 1 {
        first.to_string()
    } else {
        format!("{count} findings; first: {first}")
    }
}

/// "a string", "an int": a value's type with its article.
fn a_type(v: &Value) -> String {
    let name = v.type_name();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {name}")
}

fn is_literal(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Null
        | ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Duration(_)
        | ExprKind::Size(_)
        | ExprKind::Regex(_) => true,
        ExprKind::Str(parts) => parts.iter().all(|p| matches!(p, StrPart::Lit(_))),
        ExprKind::List(xs) => xs.iter().all(is_literal),
        _ => false,
    }
}

fn quoted(v: &Value) -> String {
    match &v.kind {
        Kind::Str(s) => format!("{s:?}"),
        _ => v.to_string(),
    }
}

fn field(b: &Value, name: &str) -> Result<Value, String> {
    match &b.kind {
        Kind::Map(_) => Ok(b.get(name).cloned().unwrap_or_else(Value::null)),
        Kind::Null => Ok(Value::null()),
        _ => Err(format!("{} has no field `{name}`", a_type(b))),
    }
}

fn index_value(b: &Value, i: &Value) -> Result<Value, String> {
    match (&b.kind, &i.kind) {
        (Kind::List(xs), Kind::Int(n)) => {
            let len = xs.len() as i64;
            let idx = if *n < 0 { len + n } else { *n };
            Ok(usize::try_from(idx).ok().and_then(|i| xs.get(i)).cloned().unwrap_or_else(Value::null))
        }
        (Kind::Map(_), _) => match i.as_str() {
            Some(k) => Ok(b.get(k).cloned().unwrap_or_else(Value::null)),
            None => Ok(Value::null()),
        },
        (Kind::Str(s), Kind::Int(n)) => {
            let chars: Vec<char> = s.chars().collect();
            let len = chars.len() as i64;
            let idx = if *n < 0 { len + n } else { *n };
            Ok(usize::try_from(idx)
                .ok()
                .and_then(|i| chars.get(i))
                .map_or_else(Value::null, |c| Value::str(c.to_string())))
        }
        (Kind::Null, _) => Ok(Value::null()),
        (_, Kind::Null) => Ok(Value::null()),
        // Documents mix shapes (`ports: ["5000:5000", {published: 5000}]`):
        // a key on a value that is not a mapping is absent.
        (_, Kind::Str(_)) => Ok(Value::null()),
        _ => Err(format!("cannot index {} with {}", a_type(b), a_type(i))),
    }
}

/// Structural equality, ignoring origins; ints equal floats of the same
/// value; a secret equals its clear text.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Int(x), Kind::Float(y)) | (Kind::Float(y), Kind::Int(x)) => (*x as f64) == *y,
        (Kind::List(x), Kind::List(y)) => x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equal(p, q)),
        (Kind::Map(x), Kind::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| b.get(k).is_some_and(|w| equal(v, w)))
        }
        (Kind::Str(_) | Kind::Secret { .. }, Kind::Str(_) | Kind::Secret { .. }) => a.as_str() == b.as_str(),
        // Sizes and durations compare with plain numbers (bytes, seconds),
        // for `==` as for `<`.
        (Kind::Int(x), Kind::Duration(y) | Kind::Size(y)) | (Kind::Duration(y) | Kind::Size(y), Kind::Int(x)) => x == y,
        (x, y) => x == y,
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    use Kind::*;
    match (&a.kind, &b.kind) {
        (Int(x), Int(y)) | (Duration(x), Duration(y)) | (Size(x), Size(y)) => Some(x.cmp(y)),
        (Int(x), Duration(y) | Size(y)) | (Duration(x) | Size(x), Int(y)) => Some(x.cmp(y)),
        (Int(x), Float(y)) => (*x as f64).partial_cmp(y),
        (Float(x), Int(y)) => x.partial_cmp(&(*y as f64)),
        (Float(x), Float(y)) => x.partial_cmp(y),
        (Str(_) | Secret { .. }, Str(_) | Secret { .. }) => Some(a.as_str().cmp(&b.as_str())),
        _ => None,
    }
}

/// `needle in haystack`; `None` when the haystack is not a collection.
fn contains(haystack: &Value, needle: &Value) -> Option<bool> {
    Some(match &haystack.kind {
        Kind::List(xs) => xs.iter().any(|x| equal(x, needle)),
        Kind::Map(_) => needle.as_str().is_some_and(|k| haystack.get(k).is_some()),
        Kind::Str(_) | Kind::Secret { .. } => match needle.as_str() {
            Some(n) => haystack.as_str().is_some_and(|h| h.contains(n)),
            None => false,
        },
        Kind::Null => false,
        _ => return None,
    })
}

fn arithmetic(op: BinOp, l: &Value, r: &Value, limits: Limits) -> Result<Value, String> {
    use Kind::*;
    let overflow = || "arithmetic overflow".to_string();
    let int_op = |x: i64, y: i64| -> Result<i64, String> {
        match op {
            BinOp::Add => x.checked_add(y).ok_or_else(overflow),
            BinOp::Sub => x.checked_sub(y).ok_or_else(overflow),
            BinOp::Mul => x.checked_mul(y).ok_or_else(overflow),
            BinOp::Div => x.checked_div(y).ok_or_else(|| "division by zero".to_string()),
            _ => x.checked_rem(y).ok_or_else(|| "division by zero".to_string()),
        }
    };
    let float_op = |x: f64, y: f64| match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        _ => x % y,
    };
    Ok(match (&l.kind, &r.kind) {
        (Int(x), Int(y)) => Value::int(int_op(*x, *y)?),
        (Int(x), Float(y)) => Value::new(Float(float_op(*x as f64, *y))),
        (Float(x), Int(y)) => Value::new(Float(float_op(*x, *y as f64))),
        (Float(x), Float(y)) => Value::new(Float(float_op(*x, *y))),
        (Duration(x), Duration(y)) if matches!(op, BinOp::Add | BinOp::Sub) => Value::new(Duration(int_op(*x, *y)?)),
        (Size(x), Size(y)) if matches!(op, BinOp::Add | BinOp::Sub) => Value::new(Size(int_op(*x, *y)?)),
        (Duration(x), Int(y)) if matches!(op, BinOp::Mul | BinOp::Div) => Value::new(Duration(int_op(*x, *y)?)),
        (Size(x), Int(y)) if matches!(op, BinOp::Mul | BinOp::Div) => Value::new(Size(int_op(*x, *y)?)),
        (Duration(x), Float(y)) if matches!(op, BinOp::Mul | BinOp::Div) => Value::new(Duration(scaled(*x, *y, op)?)),
        (Size(x), Float(y)) if matches!(op, BinOp::Mul | BinOp::Div) => Value::new(Size(scaled(*x, *y, op)?)),
        (Str(_) | Secret { .. }, Str(_) | Secret { .. }) if op == BinOp::Add => {
            let s = format!("{l}{r}");
            if s.len() > limits.string_bytes {
                return Err("string too large".to_string());
            }
            Value::str(s)
        }
        (List(x), List(y)) if op == BinOp::Add => {
            if x.len() + y.len() > limits.collection {
                return Err(format!("a list grew beyond {} elements", limits.collection));
            }
            let mut out = x.to_vec();
            out.extend(y.iter().cloned());
            Value::list(out)
        }
        _ => return Err(String::new()),
    })
}

/// `90d * 1.5`: a duration or size scaled by a float, rounded.
fn scaled(x: i64, y: f64, op: BinOp) -> Result<i64, String> {
    let r = if op == BinOp::Mul { x as f64 * y } else { x as f64 / y };
    if r.is_finite() && r.abs() < 9.0e18 {
        Ok(r.round() as i64)
    } else {
        Err("arithmetic overflow".to_string())
    }
}

/// `90d` → seconds; sizes → bytes, in the units configuration files use:
/// `KB`/`MB`/`GB`/`TB` (upper case, with `B`) are decimal; `KiB`/`Ki`,
/// Docker's `k`/`m`/`g`/`t` in either case and `kb`/`mb`/`gb`/`tb` in lower
/// case are binary, as Docker reads them (`mem_limit: 2g`); decimals such as
/// `1.5g` are rounded to whole bytes.
pub fn parse_unit(s: &str, duration: bool) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: f64 = digits.parse().ok()?;
    let unit = unit.trim();
    let mult: i64 = if duration {
        match unit {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => return None,
        }
    } else {
        match unit {
            "" | "B" | "b" => 1,
            "KB" => 1000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "TB" => 1_000_000_000_000,
            "KiB" | "Ki" | "k" | "K" | "kb" | "kib" => 1 << 10,
            "MiB" | "Mi" | "m" | "M" | "mb" | "mib" => 1 << 20,
            "GiB" | "Gi" | "g" | "G" | "gb" | "gib" => 1 << 30,
            "TiB" | "Ti" | "t" | "T" | "tb" | "tib" => 1 << 40,
            _ => return None,
        }
    };
    let v = n * mult as f64;
    (v.is_finite() && (0.0..9.0e18).contains(&v)).then(|| v.round() as i64)
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts: HashMap<char, usize> = HashMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::json_str;

    #[test]
    fn keys_quote_strings_as_json_does() {
        for s in
            ["", "a/b.yml", "ü é 中", "say \"hi\"", "back\\slash", "tab\there", "nl\n", "\u{1}", "\u{7f}", "</script>"]
        {
            assert_eq!(json_str(s), serde_json::to_string(s).unwrap_or_default(), "{s:?}");
        }
    }
}
