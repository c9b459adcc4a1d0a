//! Name resolution and type checking of one item against the names its
//! module declares ([`Globals`]), the modules it imports and the collector
//! [`Schema`]. Diagnostics are returned as values with item-relative spans.
//!
//! Errors do not cascade: an expression that failed to type gets
//! [`Type::Error`], which fits everywhere and is never reported again.

use crate::builtins;
use crate::diagnostic::Diagnostic;
use crate::syntax::ast::*;
use crate::types::{Schema, Type};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub const SEVERITIES: &[&str] = &["critical", "high", "medium", "low"];
/// The settings of a `test` item (see `docs/testing.md`).
pub const TEST_KEYS: &[&str] = &[
    "check",
    "facts",
    "fact_errors",
    "snapshot",
    "fixture",
    "config",
    "params",
    "today",
    "status",
    "findings",
    "at",
    "message",
];
/// The statuses a test can expect.
pub const STATUSES: &[&str] = &["pass", "fail", "error", "skip", "waived"];
pub const META_KEYS: &[&str] =
    &["title", "section", "severity", "tags", "remediation", "references", "validation", "attestation"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GlobalKind {
    Param,
    Let,
    Fn,
}

/// A top-level name a module declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    pub kind: GlobalKind,
    /// For a function, its return type.
    pub ty: Type,
    pub params: Vec<(String, Type)>,
    /// File-relative span of the declared name.
    pub span: std::ops::Range<usize>,
    pub doc: Option<String>,
    /// Declared by an item that did not parse: calls are not checked.
    pub lenient: bool,
}

impl Global {
    pub fn signature(&self, name: &str) -> String {
        match self.kind {
            GlobalKind::Fn => {
                let ps: Vec<String> = self.params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
                format!("fn {name}({}) -> {}", ps.join(", "), self.ty)
            }
            GlobalKind::Param => format!("param {name}: {}", self.ty),
            GlobalKind::Let => format!("let {name}: {}", self.ty),
        }
    }
}

pub type Globals = BTreeMap<String, Global>;

/// What an item is checked against.
pub struct Env<'a> {
    pub schema: &'a Schema,
    pub globals: &'a Globals,
    /// Import alias → the imported module's globals (`None` when the import
    /// did not resolve; that is reported on the import itself).
    pub imports: &'a BTreeMap<String, Option<Arc<Globals>>>,
}

/// The outcome of checking one item.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemCheck {
    pub diagnostics: Vec<Diagnostic>,
    /// Module-level names and import aliases this item refers to.
    pub uses: BTreeSet<String>,
}

pub fn resolve_type(schema: &Schema, t: &TypeExpr, diags: &mut Vec<Diagnostic>) -> Type {
    let base = match &t.kind {
        TypeExprKind::Named(n) => match schema.named_type(&n.text) {
            Some(ty) => ty,
            None => {
                let names = schema.type_names();
                let mut d = Diagnostic::error("E0108", n.span.range(), format!("unknown type `{}`", n.text));
                if let Some(s) = did_you_mean(&n.text, names.iter().map(|s| s.as_str())) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                diags.push(d);
                Type::Error
            }
        },
        TypeExprKind::List(inner) => Type::list(resolve_type(schema, inner, diags)),
        TypeExprKind::Map(inner) => Type::map(resolve_type(schema, inner, diags)),
    };
    if t.optional {
        Type::optional(base)
    } else {
        base
    }
}

/// The globals of a module, from its parsed items in file order with their
/// file offsets. Unannotated `let`s are typed in file order; a reference to a
/// later `let` is typed `any`.
pub fn collect_globals(schema: &Schema, items: &[(usize, &Item)]) -> Globals {
    let mut globals = Globals::new();
    let empty = BTreeMap::new();
    let mut sink = Vec::new();
    // Declared signatures first, so functions can be used before their text.
    for (offset, item) in items {
        let span = |n: &Name| n.span.start as usize + offset..n.span.end as usize + offset;
        match &item.kind {
            ItemKind::Param(p) => {
                let ty = resolve_type(schema, &p.ty, &mut sink);
                globals.entry(p.name.text.clone()).or_insert(Global {
                    kind: GlobalKind::Param,
                    ty,
                    params: Vec::new(),
                    span: span(&p.name),
                    doc: item.doc.clone(),
                    lenient: false,
                });
            }
            ItemKind::Fn(f) => {
                let params =
                    f.params.iter().map(|(n, t)| (n.text.clone(), resolve_type(schema, t, &mut sink))).collect();
                let ty = resolve_type(schema, &f.ret, &mut sink);
                globals.entry(f.name.text.clone()).or_insert(Global {
                    kind: GlobalKind::Fn,
                    ty,
                    params,
                    span: span(&f.name),
                    doc: item.doc.clone(),
                    lenient: false,
                });
            }
            ItemKind::Let(l) => {
                let ty = l.ty.as_ref().map_or(Type::Any, |t| resolve_type(schema, t, &mut sink));
                globals.entry(l.name.text.clone()).or_insert(Global {
                    kind: GlobalKind::Let,
                    ty,
                    params: Vec::new(),
                    span: span(&l.name),
                    doc: item.doc.clone(),
                    lenient: false,
                });
            }
            ItemKind::Broken { keyword, name } => {
                let kind = match keyword.as_str() {
                    "fn" => GlobalKind::Fn,
                    "param" => GlobalKind::Param,
                    _ => GlobalKind::Let,
                };
                globals.entry(name.text.clone()).or_insert(Global {
                    kind,
                    ty: Type::Error,
                    params: Vec::new(),
                    span: span(name),
                    doc: item.doc.clone(),
                    lenient: true,
                });
            }
            _ => {}
        }
    }
    for (_, item) in items {
        if let ItemKind::Let(l) = &item.kind {
            if l.ty.is_none() {
                // Borrowed, not cloned: a copy per `let` is quadratic.
                let ty = {
                    let env = Env { schema, globals: &globals, imports: &empty };
                    Checker::new(&env).expr(&l.value)
                };
                if let Some(g) = globals.get_mut(&l.name.text) {
                    if g.kind == GlobalKind::Let && g.ty == Type::Any {
                        g.ty = if ty == Type::Error { Type::Any } else { ty };
                    }
                }
            }
        }
    }
    globals
}

/// Checks one item. `offset` is not needed: spans stay item-relative.
pub fn check_item(env: &Env, item: &Item) -> ItemCheck {
    let mut checker = Checker::new(env);
    match &item.kind {
        ItemKind::Module(_) | ItemKind::Error | ItemKind::Broken { .. } => {}
        ItemKind::Import(_) => {}
        ItemKind::Param(p) => {
            let ty = resolve_type(env.schema, &p.ty, &mut checker.diags);
            if let Some(default) = &p.default {
                let got = checker.expr(default);
                checker.expect_fits(&got, &ty, default.span, "the default value");
            }
        }
        ItemKind::Let(l) => {
            let got = checker.expr(&l.value);
            if let Some(t) = &l.ty {
                let ty = resolve_type(env.schema, t, &mut checker.diags);
                checker.expect_fits(&got, &ty, l.value.span, "the value");
            }
        }
        ItemKind::Fn(f) => {
            let ret = resolve_type(env.schema, &f.ret, &mut checker.diags);
            checker.push_scope();
            for (n, t) in &f.params {
                let ty = resolve_type(env.schema, t, &mut checker.diags);
                checker.declare(n, ty);
            }
            for l in &f.lets {
                checker.stmt_let(l);
            }
            let got = checker.expr(&f.body);
            checker.expect_fits(&got, &ret, f.body.span, "the function body");
            checker.pop_scope();
        }
        ItemKind::Check(c) => checker.check_decl(c),
        ItemKind::Test(t) => checker.test_decl(t),
    }
    ItemCheck { diagnostics: checker.diags, uses: checker.uses }
}

struct Local {
    name: String,
    ty: Type,
    span: Span,
    used: bool,
}

struct Checker<'a, 'e> {
    env: &'a Env<'e>,
    scopes: Vec<Vec<Local>>,
    diags: Vec<Diagnostic>,
    uses: BTreeSet<String>,
}

impl<'a, 'e> Checker<'a, 'e> {
    fn new(env: &'a Env<'e>) -> Self {
        Checker { env, scopes: Vec::new(), diags: Vec::new(), uses: BTreeSet::new() }
    }

    fn push_scope(&mut self) {
        self.scopes.push(Vec::new());
    }

    fn pop_scope(&mut self) {
        if let Some(scope) = self.scopes.pop() {
            for local in scope {
                if !local.used && !local.name.starts_with('_') && !local.name.is_empty() {
                    self.diags.push(
                        Diagnostic::warning("W0003", local.span.range(), format!("`{}` is never used", local.name))
                            .with_help("remove it, or start its name with `_`"),
                    );
                }
            }
        }
    }

    fn declare(&mut self, name: &Name, ty: Type) {
        if self.env.schema.is_namespace(&name.text) {
            self.diags.push(Diagnostic::error(
                "E0109",
                name.span.range(),
                format!("`{}` is a collector namespace and cannot be rebound", name.text),
            ));
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(Local { name: name.text.clone(), ty, span: name.span, used: false });
        }
    }

    fn lookup_local(&mut self, name: &str) -> Option<Type> {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(local) = scope.iter_mut().rev().find(|l| l.name == name) {
                local.used = true;
                return Some(local.ty.clone());
            }
        }
        None
    }

    /// Every name in scope, borrowed: this runs for each unknown name, and
    /// a module may have thousands of globals.
    fn visible_names(&self) -> impl Iterator<Item = &str> + '_ {
        // The small sets first: `did_you_mean` looks at a bounded number.
        let locals = self.scopes.iter().flatten().map(|l| l.name.as_str());
        locals
            .chain(builtins::BUILTINS.iter().map(|b| b.name))
            .chain(self.env.schema.namespaces.keys().map(String::as_str))
            .chain(self.env.imports.keys().map(String::as_str))
            .chain(self.env.globals.keys().map(String::as_str))
    }

    fn expect_fits(&mut self, got: &Type, want: &Type, span: Span, what: &str) {
        if !got.fits(want) {
            self.diags.push(Diagnostic::error(
                "E0105",
                span.range(),
                format!("{what} has type `{got}`, expected `{want}`"),
            ));
        }
    }

    fn expect_bool(&mut self, got: &Type, span: Span, what: &str) {
        if !got.fits(&Type::optional(Type::Bool)) {
            self.diags.push(Diagnostic::error(
                "E0113",
                span.range(),
                format!("{what} must be a `bool`, found `{got}`"),
            ));
        }
    }

    // ----- checks -----

    fn check_decl(&mut self, check: &Check) {
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        for stmt in &check.body {
            if let StmtKind::Meta { key, value } = &stmt.kind {
                if let Some(first) = seen.get(&key.text) {
                    self.diags.push(
                        Diagnostic::error("E0205", key.span.range(), format!("`{}` is set twice", key.text))
                            .with_label(first.range(), "first set here"),
                    );
                }
                seen.insert(key.text.clone(), key.span);
                self.meta(key, value);
            }
        }
        let id_span = check.id.span.range();
        for required in ["title", "severity"] {
            if !seen.contains_key(required) {
                self.diags.push(
                    Diagnostic::error(
                        "E0202",
                        id_span.clone(),
                        format!("check `{}` has no `{required}`", check.id.dotted()),
                    )
                    .with_help(match required {
                        "title" => "add `title = \"...\"` (the checklist item's title)".to_string(),
                        _ => format!("add `severity = high` (one of {})", SEVERITIES.join(", ")),
                    }),
                );
            }
        }
        if !seen.contains_key("section") {
            self.diags.push(
                Diagnostic::warning("W0004", id_span, format!("check `{}` has no `section`", check.id.dotted()))
                    .with_help("add `section = [\"Heading\", \"Sub-heading\"]` so reports can group it"),
            );
        }
        self.push_scope();
        for stmt in &check.body {
            self.stmt(stmt, true);
        }
        self.pop_scope();
    }

    // ----- tests -----

    fn test_decl(&mut self, test: &Test) {
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        self.push_scope();
        for stmt in &test.body {
            match &stmt.kind {
                StmtKind::Meta { key, value } => {
                    if let Some(first) = seen.get(&key.text) {
                        self.diags.push(
                            Diagnostic::error("E0205", key.span.range(), format!("`{}` is set twice", key.text))
                                .with_label(first.range(), "first set here"),
                        );
                    }
                    seen.insert(key.text.clone(), key.span);
                    self.test_setting(key, value);
                }
                StmtKind::Let(l) => self.stmt_let(l),
                StmtKind::Error => {}
                _ => self.diags.push(
                    Diagnostic::error("E0404", stmt.span.range(), "a test holds settings and `let`s only")
                        .with_help("requirements belong in the check under test; a test says what it expects with `status`, `findings`, `at` and `message`"),
                ),
            }
        }
        self.pop_scope();
        if !seen.contains_key("check") {
            self.diags.push(
                Diagnostic::error("E0403", test.name_span.range(), format!("test \"{}\" names no check", test.name))
                    .with_help("add `check = <check id>` (or a list of ids)"),
            );
        }
    }

    fn test_setting(&mut self, key: &Name, value: &Expr) {
        if !TEST_KEYS.contains(&key.text.as_str()) {
            let mut d = Diagnostic::error("E0401", key.span.range(), format!("unknown test setting `{}`", key.text));
            d = match did_you_mean(&key.text, TEST_KEYS.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help(format!("the settings are {}", TEST_KEYS.join(", "))),
            };
            self.diags.push(d);
            return;
        }
        if value.kind == ExprKind::Error {
            return;
        }
        let plain =
            |e: &Expr| matches!(&e.kind, ExprKind::Str(parts) if parts.iter().all(|p| matches!(p, StrPart::Lit(_))));
        let plain_list = |e: &Expr| matches!(&e.kind, ExprKind::List(xs) if xs.iter().all(plain));
        let want = match key.text.as_str() {
            "check" => {
                let ok = test_check_ids(value).is_some();
                (!ok).then_some("a check id (`a.b.c`), a string, or a list of them")
            }
            "status" => {
                if let ExprKind::Name(n) = &value.kind {
                    if !STATUSES.contains(&n.text.as_str()) {
                        let mut d =
                            Diagnostic::error("E0402", value.span.range(), format!("unknown status `{}`", n.text));
                        d = match did_you_mean(&n.text, STATUSES.iter().copied()) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")),
                            None => d.with_help(format!("the statuses are {}", STATUSES.join(", "))),
                        };
                        self.diags.push(d);
                    }
                    return;
                }
                Some("one of `pass`, `fail`, `error`, `skip`, `waived`")
            }
            "findings" => (!matches!(value.kind, ExprKind::Int(n) if n >= 0)).then_some("a whole number"),
            "at" => (!plain_list(value)).then_some("a list of plain strings (`\"path:line\"`)"),
            "message" => (!(plain(value) || plain_list(value))).then_some("a plain string or a list of them"),
            "snapshot" | "fixture" | "config" => {
                (!plain(value)).then_some("a plain string (a path relative to the test file)")
            }
            "today" => {
                let date = match &value.kind {
                    ExprKind::Str(parts) => match parts.as_slice() {
                        [StrPart::Lit(s)] => Some(s.as_str()),
                        _ => None,
                    },
                    _ => None,
                };
                (!date.is_some_and(is_date)).then_some("a date `\"YYYY-MM-DD\"`")
            }
            // `facts`, `fact_errors`, `params`: records of values, or lists of
            // records merged in order.
            _ => {
                let got = self.expr(value);
                let record =
                    |t: &Type| matches!(t, Type::Struct(_) | Type::Map(_) | Type::Doc | Type::Error | Type::Any);
                let ok = match &got {
                    Type::List(inner) => record(inner),
                    t => record(t),
                };
                (!ok).then_some("a record (`{ \"key\": value, ... }`) or a list of records")
            }
        };
        if let Some(want) = want {
            self.diags.push(Diagnostic::error("E0402", value.span.range(), format!("`{}` must be {want}", key.text)));
        }
    }

    fn meta(&mut self, key: &Name, value: &Expr) {
        if !META_KEYS.contains(&key.text.as_str()) {
            let mut d = Diagnostic::error("E0201", key.span.range(), format!("unknown check metadata `{}`", key.text));
            if let Some(s) = did_you_mean(&key.text, META_KEYS.iter().copied()) {
                d = d.with_help(format!("did you mean `{s}`?"));
            } else {
                d = d.with_help(format!(
                    "the keys are {}; to name a value, write `let {} = ...`",
                    META_KEYS.join(", "),
                    key.text
                ));
            }
            self.diags.push(d);
            return;
        }
        let is_str =
            |e: &Expr| matches!(&e.kind, ExprKind::Str(parts) if parts.iter().all(|p| matches!(p, StrPart::Lit(_))));
        let is_str_list = |e: &Expr| matches!(&e.kind, ExprKind::List(xs) if xs.iter().all(is_str));
        let (ok, want) = match key.text.as_str() {
            "severity" => {
                if let ExprKind::Name(n) = &value.kind {
                    if !SEVERITIES.contains(&n.text.as_str()) {
                        let mut d =
                            Diagnostic::error("E0203", value.span.range(), format!("unknown severity `{}`", n.text));
                        d = match did_you_mean(&n.text, SEVERITIES.iter().copied()) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")),
                            None => d.with_help(format!("the severities are {}", SEVERITIES.join(", "))),
                        };
                        self.diags.push(d);
                    }
                    return;
                }
                (false, "one of `critical`, `high`, `medium`, `low`")
            }
            "section" | "tags" | "references" => (is_str_list(value), "a list of plain strings"),
            "attestation" => (matches!(value.kind, ExprKind::Bool(_)), "`true` or `false`"),
            _ => (is_str(value), "a plain string (no interpolation)"),
        };
        if !ok && value.kind != ExprKind::Error {
            self.diags.push(Diagnostic::error("E0204", value.span.range(), format!("`{}` must be {want}", key.text)));
        }
    }

    fn stmt(&mut self, stmt: &Stmt, top: bool) {
        match &stmt.kind {
            StmtKind::Meta { key, .. } => {
                if !top {
                    self.diags.push(Diagnostic::error(
                        "E0206",
                        key.span.range(),
                        format!("metadata `{}` must be at the top level of the check body", key.text),
                    ));
                }
            }
            StmtKind::Let(l) => self.stmt_let(l),
            StmtKind::Require { cond, at, message } => {
                let t = self.expr(cond);
                self.expect_bool(&t, cond.span, "a requirement");
                if let Some(at) = at {
                    self.expr(at);
                }
                if let Some(m) = message {
                    self.expr(m);
                }
            }
            StmtKind::Skip { cond, reason } => {
                let t = self.expr(cond);
                self.expect_bool(&t, cond.span, "a skip condition");
                let r = self.expr(reason);
                self.expect_fits(&r, &Type::Str, reason.span, "the reason");
            }
            StmtKind::For { binding, iter, body } => {
                let t = self.expr(iter);
                let (k, v) = self.iteration(&t, iter.span);
                self.push_scope();
                self.bind(binding, k, v);
                for s in body {
                    self.stmt(s, false);
                }
                self.pop_scope();
            }
            StmtKind::If { cond, then, otherwise } => {
                let t = self.expr(cond);
                self.expect_bool(&t, cond.span, "an `if` condition");
                for branch in [then, otherwise] {
                    self.push_scope();
                    for s in branch {
                        self.stmt(s, false);
                    }
                    self.pop_scope();
                }
            }
            StmtKind::Error => {}
        }
    }

    fn stmt_let(&mut self, l: &Let) {
        let got = self.expr(&l.value);
        let ty = match &l.ty {
            Some(t) => {
                let want = resolve_type(self.env.schema, t, &mut self.diags);
                self.expect_fits(&got, &want, l.value.span, "the value");
                want
            }
            None => got,
        };
        self.declare(&l.name, ty);
    }

    fn iteration(&mut self, t: &Type, span: Span) -> (Type, Type) {
        match t.iteration() {
            Some(kv) => kv,
            None => {
                self.diags.push(Diagnostic::error(
                    "E0106",
                    span.range(),
                    format!("cannot iterate over a value of type `{t}`"),
                ));
                (Type::Error, Type::Error)
            }
        }
    }

    fn bind(&mut self, binding: &Binding, key: Type, value: Type) {
        match &binding.second {
            Some(second) => {
                self.declare(&binding.first, key);
                self.declare(second, value);
            }
            None => self.declare(&binding.first, value),
        }
    }

    // ----- expressions -----

    fn expr(&mut self, e: &Expr) -> Type {
        match &e.kind {
            ExprKind::Null => Type::Null,
            ExprKind::Bool(_) => Type::Bool,
            ExprKind::Int(_) => Type::Int,
            ExprKind::Float(_) => Type::Float,
            ExprKind::Duration(_) => Type::Duration,
            ExprKind::Size(_) => Type::Size,
            ExprKind::Regex(_) => Type::Regex,
            ExprKind::Str(parts) => {
                for p in parts {
                    if let StrPart::Expr(x) = p {
                        self.expr(x);
                    }
                }
                Type::Str
            }
            ExprKind::List(xs) => {
                let mut t: Option<Type> = None;
                for x in xs {
                    let xt = self.expr(x);
                    t = Some(match t {
                        None => xt,
                        Some(prev) => prev.join(&xt),
                    });
                }
                Type::list(t.unwrap_or(Type::Any))
            }
            ExprKind::Record(entries) => {
                let fields = entries.iter().map(|(k, v)| (k.text.clone(), self.expr(v))).collect();
                Type::Struct(fields)
            }
            ExprKind::Name(n) => self.name_value(n),
            ExprKind::Field { base, name } => self.field(base, name),
            ExprKind::Index { base, index } => {
                let bt = self.expr(base);
                let it = self.expr(index);
                match bt.strip_optional() {
                    Type::List(t) => {
                        self.expect_fits(&it, &Type::Int, index.span, "a list index");
                        Type::optional((**t).clone())
                    }
                    Type::Map(t) => {
                        self.expect_fits(&it, &Type::Str, index.span, "a map key");
                        Type::optional((**t).clone())
                    }
                    Type::Str => Type::optional(Type::Str),
                    Type::Struct(_) => Type::Any,
                    t if t.is_dynamic() => t.clone(),
                    Type::Null => Type::Null,
                    t => {
                        self.diags.push(Diagnostic::error(
                            "E0106",
                            base.span.range(),
                            format!("cannot index a value of type `{t}`"),
                        ));
                        Type::Error
                    }
                }
            }
            ExprKind::Call { callee, args } => self.call(e, callee, args),
            ExprKind::Unary { op, expr } => {
                let t = self.expr(expr);
                match op {
                    UnOp::Not => {
                        self.expect_bool(&t, expr.span, "the operand of `not`");
                        Type::Bool
                    }
                    UnOp::Neg => {
                        if !(t.is_numeric() || t.is_dynamic() || matches!(t, Type::Duration | Type::Size)) {
                            self.diags.push(Diagnostic::error(
                                "E0106",
                                expr.span.range(),
                                format!("cannot negate a value of type `{t}`"),
                            ));
                            return Type::Error;
                        }
                        t
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.expr(lhs);
                let r = self.expr(rhs);
                self.binary(*op, &l, &r, e.span)
            }
            ExprKind::If { cond, then, otherwise } => {
                let c = self.expr(cond);
                self.expect_bool(&c, cond.span, "an `if` condition");
                let a = self.expr(then);
                let b = self.expr(otherwise);
                a.join(&b)
            }
            ExprKind::Quant { q, binding, iter, body } => {
                let t = self.expr(iter);
                let (k, v) = self.iteration(&t, iter.span);
                self.push_scope();
                let elem = if binding.second.is_some() { Type::Any } else { v.clone() };
                self.bind(binding, k, v);
                let b = self.expr(body);
                self.pop_scope();
                match q {
                    Quantifier::All | Quantifier::Any | Quantifier::Count | Quantifier::Filter => {
                        self.expect_bool(&b, body.span, "the condition");
                    }
                    Quantifier::Map => {}
                }
                match q {
                    Quantifier::All | Quantifier::Any => Type::Bool,
                    Quantifier::Count => Type::Int,
                    Quantifier::Filter => match t.strip_optional() {
                        Type::Doc => Type::list(Type::Doc),
                        _ => Type::list(elem),
                    },
                    Quantifier::Map => Type::list(b),
                }
            }
            ExprKind::Error => Type::Error,
        }
    }

    fn name_value(&mut self, n: &Name) -> Type {
        if let Some(t) = self.lookup_local(&n.text) {
            return t;
        }
        if let Some(g) = self.env.globals.get(&n.text) {
            self.uses.insert(n.text.clone());
            if g.kind == GlobalKind::Fn {
                self.diags.push(
                    Diagnostic::error("E0111", n.span.range(), format!("function `{}` used as a value", n.text))
                        .with_help(format!("call it: `{}(...)`", n.text)),
                );
                return Type::Error;
            }
            return g.ty.clone();
        }
        if self.env.imports.contains_key(&n.text) {
            self.uses.insert(n.text.clone());
            self.diags.push(Diagnostic::error("E0111", n.span.range(), format!("module `{}` used as a value", n.text)));
            return Type::Error;
        }
        if self.env.schema.is_namespace(&n.text) {
            self.diags.push(
                Diagnostic::error("E0111", n.span.range(), format!("collector namespace `{}` used as a value", n.text))
                    .with_help(format!("call one of its functions: `{}.name(...)`", n.text)),
            );
            return Type::Error;
        }
        if builtins::lookup(&n.text).is_some() {
            self.diags.push(
                Diagnostic::error("E0111", n.span.range(), format!("function `{}` used as a value", n.text))
                    .with_help(format!("call it: `{}(...)`", n.text)),
            );
            return Type::Error;
        }
        self.unknown_name(n);
        Type::Error
    }

    fn unknown_name(&mut self, n: &Name) {
        let suggestion = did_you_mean(&n.text, self.visible_names());
        let mut d = Diagnostic::error("E0101", n.span.range(), format!("unknown name `{}`", n.text));
        if let Some(s) = suggestion {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
    }

    /// Whether a bare name refers to something other than a local.
    fn is_module_name(&self, name: &str) -> bool {
        !self.scopes.iter().flatten().any(|l| l.name == name) && !self.env.globals.contains_key(name)
    }

    fn field(&mut self, base: &Expr, name: &Name) -> Type {
        if let ExprKind::Name(b) = &base.kind {
            if self.is_module_name(&b.text) {
                if let Some(imported) = self.env.imports.get(&b.text) {
                    self.uses.insert(b.text.clone());
                    self.uses.insert(format!("{}.{}", b.text, name.text));
                    let Some(globals) = imported else { return Type::Error };
                    return match globals.get(&name.text) {
                        Some(g) if g.kind != GlobalKind::Fn => g.ty.clone(),
                        Some(_) => {
                            self.diags.push(Diagnostic::error(
                                "E0111",
                                name.span.range(),
                                format!("function `{}` used as a value", name.text),
                            ));
                            Type::Error
                        }
                        None => {
                            self.unknown_member(&b.text, name, globals.keys().map(|s| s.as_str()));
                            Type::Error
                        }
                    };
                }
                if let Some((_, fns)) = self.env.schema.namespaces.get(&b.text) {
                    let d = if fns.contains_key(&name.text) {
                        Diagnostic::error(
                            "E0111",
                            name.span.range(),
                            format!("collector function `{}.{}` must be called", b.text, name.text),
                        )
                        .with_help(format!("write `{}.{}(...)`", b.text, name.text))
                    } else {
                        return {
                            self.unknown_member(&b.text, name, fns.keys().map(|s| s.as_str()));
                            Type::Error
                        };
                    };
                    self.diags.push(d);
                    return Type::Error;
                }
            }
        }
        let bt = self.expr(base);
        self.field_of(&bt, name)
    }

    fn unknown_member<'n>(&mut self, module: &str, name: &Name, candidates: impl Iterator<Item = &'n str> + Clone) {
        let mut d = Diagnostic::error("E0102", name.span.range(), format!("`{module}` has no member `{}`", name.text));
        if let Some(s) = did_you_mean(&name.text, candidates) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
    }

    fn field_of(&mut self, bt: &Type, name: &Name) -> Type {
        let optional = matches!(bt, Type::Optional(_));
        let wrap = |t: Type| if optional { Type::optional(t) } else { t };
        match bt.strip_optional() {
            t if t.is_dynamic() => t.clone(),
            Type::Null => Type::Null,
            Type::Record(rec) => {
                let Some(def) = self.env.schema.records.get(rec) else { return Type::Error };
                match def.field(&name.text) {
                    Some(f) => wrap(f.ty.clone()),
                    None => {
                        let mut d = Diagnostic::error(
                            "E0102",
                            name.span.range(),
                            format!("`{rec}` has no field `{}`", name.text),
                        );
                        d = match did_you_mean(&name.text, def.fields.iter().map(|f| f.name.as_str())) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")),
                            None => {
                                let all: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
                                d.with_help(format!("its fields are {}", all.join(", ")))
                            }
                        };
                        self.diags.push(d);
                        Type::Error
                    }
                }
            }
            Type::Struct(fields) => match fields.iter().find(|(k, _)| *k == name.text) {
                Some((_, t)) => wrap(t.clone()),
                None => {
                    let mut d =
                        Diagnostic::error("E0102", name.span.range(), format!("record has no field `{}`", name.text));
                    if let Some(s) = did_you_mean(&name.text, fields.iter().map(|(k, _)| k.as_str())) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    self.diags.push(d);
                    Type::Error
                }
            },
            Type::Map(v) => Type::optional((**v).clone()),
            t => {
                self.diags.push(Diagnostic::error(
                    "E0102",
                    name.span.range(),
                    format!("a value of type `{t}` has no field `{}`", name.text),
                ));
                Type::Error
            }
        }
    }

    fn call(&mut self, whole: &Expr, callee: &Expr, args: &[Expr]) -> Type {
        match &callee.kind {
            ExprKind::Name(n) => {
                if let Some(t) = self.lookup_local(&n.text) {
                    for a in args {
                        self.expr(a);
                    }
                    if !t.is_dynamic() {
                        self.diags.push(Diagnostic::error(
                            "E0107",
                            n.span.range(),
                            format!("`{}` is a value of type `{t}`, not a function", n.text),
                        ));
                    }
                    return Type::Error;
                }
                if let Some(g) = self.env.globals.get(&n.text).cloned() {
                    self.uses.insert(n.text.clone());
                    return self.call_user(&n.text, &g, whole, args);
                }
                if builtins::lookup(&n.text).is_some() {
                    let types: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
                    return self.call_builtin(&n.text, whole, args, &types);
                }
                for a in args {
                    self.expr(a);
                }
                self.unknown_name(n);
                Type::Error
            }
            ExprKind::Field { base, name } => {
                if let ExprKind::Name(b) = &base.kind {
                    if self.is_module_name(&b.text) {
                        if let Some(imported) = self.env.imports.get(&b.text).cloned() {
                            self.uses.insert(b.text.clone());
                            self.uses.insert(format!("{}.{}", b.text, name.text));
                            let Some(globals) = imported else {
                                for a in args {
                                    self.expr(a);
                                }
                                return Type::Error;
                            };
                            return match globals.get(&name.text) {
                                Some(g) => self.call_user(&name.text, g, whole, args),
                                None => {
                                    self.unknown_member(&b.text, name, globals.keys().map(|s| s.as_str()));
                                    Type::Error
                                }
                            };
                        }
                        if let Some((_, fns)) = self.env.schema.namespaces.get(&b.text) {
                            let Some(f) = fns.get(&name.text).cloned() else {
                                self.unknown_member(&b.text, name, fns.keys().map(|s| s.as_str()));
                                for a in args {
                                    self.expr(a);
                                }
                                return Type::Error;
                            };
                            let types: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
                            if types.len() < f.required || types.len() > f.params.len() {
                                self.arity(whole.span, &f.signature(), f.required, f.params.len(), types.len());
                            }
                            // A `T?` argument where `T` is wanted makes the result
                            // `null` when the argument is (`doc.yaml(files.get(p))`).
                            let mut optional = false;
                            for ((t, a), (pn, pt)) in types.iter().zip(args).zip(&f.params) {
                                if matches!(t, Type::Optional(_) | Type::Null) && !matches!(pt, Type::Optional(_)) {
                                    optional = true;
                                }
                                self.expect_fits(t, &Type::optional(pt.clone()), a.span, &format!("argument `{pn}`"));
                            }
                            return if optional { Type::optional(f.ret.clone()) } else { f.ret.clone() };
                        }
                    }
                }
                // A method call on a value: `x.lower()` is `lower(x)`.
                let receiver = self.expr(base);
                let mut types = vec![receiver.clone()];
                types.extend(args.iter().map(|a| self.expr(a)));
                if builtins::lookup(&name.text).is_some() {
                    let mut all_args = vec![(**base).clone()];
                    all_args.extend(args.iter().cloned());
                    return self.call_builtin(&name.text, whole, &all_args, &types);
                }
                if receiver == Type::Error {
                    return Type::Error;
                }
                let mut d = Diagnostic::error(
                    "E0103",
                    name.span.range(),
                    format!("no function `{}` for a value of type `{receiver}`", name.text),
                );
                let names: Vec<&str> = builtins::BUILTINS.iter().map(|b| b.name).collect();
                if let Some(s) = did_you_mean(&name.text, names.iter().copied()) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                Type::Error
            }
            _ => {
                self.expr(callee);
                for a in args {
                    self.expr(a);
                }
                self.diags.push(Diagnostic::error("E0107", callee.span.range(), "this expression cannot be called"));
                Type::Error
            }
        }
    }

    fn arity(&mut self, span: Span, signature: &str, min: usize, max: usize, got: usize) {
        let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        self.diags.push(
            Diagnostic::error(
                "E0104",
                span.range(),
                format!("expected {want} argument{}, found {got}", if max == 1 { "" } else { "s" }),
            )
            .with_help(format!("the signature is `{signature}`")),
        );
    }

    fn call_user(&mut self, name: &str, g: &Global, whole: &Expr, args: &[Expr]) -> Type {
        if g.kind != GlobalKind::Fn {
            for a in args {
                self.expr(a);
            }
            self.diags.push(Diagnostic::error("E0107", whole.span.range(), format!("`{name}` is not a function")));
            return Type::Error;
        }
        let types: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
        if g.lenient {
            return Type::Error;
        }
        if types.len() != g.params.len() {
            self.arity(whole.span, &g.signature(name), g.params.len(), g.params.len(), types.len());
        }
        for ((t, a), (pn, pt)) in types.iter().zip(args).zip(&g.params) {
            self.expect_fits(t, pt, a.span, &format!("argument `{pn}`"));
        }
        g.ty.clone()
    }

    fn call_builtin(&mut self, name: &str, whole: &Expr, args: &[Expr], types: &[Type]) -> Type {
        let Some(b) = builtins::lookup(name) else { return Type::Error };
        if types.len() < b.min_args || types.len() > b.max_args {
            self.arity(whole.span, b.signature, b.min_args, b.max_args, types.len());
            return Type::Error;
        }
        match builtins::result_type(name, types) {
            Ok(t) => t,
            Err((i, message)) => {
                let span = args.get(i).map_or(whole.span, |a| a.span);
                self.diags.push(
                    Diagnostic::error("E0105", span.range(), format!("`{name}`: {message}"))
                        .with_help(format!("the signature is `{}`", b.signature)),
                );
                Type::Error
            }
        }
    }

    fn binary(&mut self, op: BinOp, l: &Type, r: &Type, span: Span) -> Type {
        use BinOp::*;
        // A literal `null` operand is decided at run time (comparisons with
        // null are false), like a dynamic one.
        let dynamic = l.is_dynamic() || r.is_dynamic() || *l == Type::Null || *r == Type::Null;
        let lb = l.strip_optional();
        let rb = r.strip_optional();
        let numeric_like = |t: &Type| t.is_numeric() || matches!(t, Type::Duration | Type::Size);
        let ok = match op {
            Or | And => l.fits(&Type::optional(Type::Bool)) && r.fits(&Type::optional(Type::Bool)),
            Eq | NotEq => true,
            Lt | LtEq | Gt | GtEq => {
                dynamic
                    || (lb.is_numeric() && rb.is_numeric())
                    || (numeric_like(lb) && numeric_like(rb) && (lb == rb || lb == &Type::Int || rb == &Type::Int))
                    || (lb == &Type::Str && rb == &Type::Str)
            }
            In | NotIn => {
                dynamic || matches!(rb, Type::List(_) | Type::Map(_) | Type::Str | Type::Struct(_) | Type::Null)
            }
            Matches => {
                (dynamic || matches!(lb, Type::Str | Type::Null))
                    && (r.is_dynamic() || matches!(rb, Type::Regex | Type::Str))
            }
            Coalesce => true,
            Add => {
                dynamic
                    || (lb.is_numeric() && rb.is_numeric())
                    || (lb == rb && matches!(lb, Type::Str | Type::Duration | Type::Size | Type::List(_)))
                    || (matches!(lb, Type::List(_)) && matches!(rb, Type::List(_)))
            }
            Sub => {
                dynamic
                    || (lb.is_numeric() && rb.is_numeric())
                    || (lb == rb && matches!(lb, Type::Duration | Type::Size))
            }
            Mul | Div => {
                dynamic
                    || (lb.is_numeric() && rb.is_numeric())
                    || (matches!(lb, Type::Duration | Type::Size) && rb.is_numeric())
            }
            Rem => dynamic || (lb.is_numeric() && rb.is_numeric()),
        };
        if !ok {
            self.diags.push(Diagnostic::error(
                "E0106",
                span.range(),
                format!("`{}` cannot be applied to `{l}` and `{r}`", op.as_str()),
            ));
            return Type::Error;
        }
        match op {
            Or | And | Eq | NotEq | Lt | LtEq | Gt | GtEq | In | NotIn | Matches => Type::Bool,
            Coalesce => match l {
                Type::Optional(inner) => inner.join(r),
                Type::Null => r.clone(),
                _ => l.join(r),
            },
            Add | Sub | Mul | Div | Rem => {
                if dynamic {
                    Type::Any
                } else if matches!(lb, Type::List(_)) {
                    lb.join(rb)
                } else if matches!(lb, Type::Duration | Type::Size) {
                    lb.clone()
                } else if lb == &Type::Float || rb == &Type::Float {
                    Type::Float
                } else {
                    lb.clone()
                }
            }
        }
    }
}

/// The closest candidate by edit distance, if it is close enough to be a
/// likely typo.
/// The check ids a test's `check = ...` names: a dotted name, a string, or a
/// list of them. `None` when the value has another form.
pub fn test_check_ids(value: &Expr) -> Option<Vec<(String, Span)>> {
    fn dotted(e: &Expr) -> Option<String> {
        match &e.kind {
            ExprKind::Name(n) => Some(n.text.clone()),
            ExprKind::Field { base, name } => Some(format!("{}.{}", dotted(base)?, name.text)),
            ExprKind::Str(parts) => match parts.as_slice() {
                [StrPart::Lit(s)] => Some(s.clone()),
                _ => None,
            },
            _ => None,
        }
    }
    match &value.kind {
        ExprKind::List(xs) => xs.iter().map(|x| dotted(x).map(|id| (id, x.span))).collect(),
        _ => dotted(value).map(|id| vec![(id, value.span)]),
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [y, m, d] => {
            let num = |p: &str, len: usize| p.len() == len && p.bytes().all(|b| b.is_ascii_digit());
            let in_range = |p: &str, hi: u32| p.parse::<u32>().is_ok_and(|n| (1..=hi).contains(&n));
            num(y, 4) && num(m, 2) && num(d, 2) && in_range(m, 12) && in_range(d, 31)
        }
        _ => false,
    }
}

pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let len = name.chars().count();
    let limit = (len / 3).max(1);
    let bag = char_bag(name);
    candidates
        // Help, not analysis: a bounded number of candidates, so a module
        // with tens of thousands of names and as many typos stays fast.
        .take(MAX_SUGGESTION_CANDIDATES)
        .filter(|c| *c != name && !c.is_empty())
        // Cheap lower bounds of the distance first: the difference in length
        // and in the multiset of characters.
        .filter(|c| c.chars().count().abs_diff(len) <= limit && bag_distance(&bag, c) <= limit)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.to_string()))
        .map(|(_, c)| c.to_string())
}

const MAX_SUGGESTION_CANDIDATES: usize = 2_000;

/// Character counts, with characters folded into 64 classes (folding only
/// lowers the bag distance, which stays a lower bound of the edit distance).
fn char_bag(s: &str) -> [i32; 64] {
    let mut bag = [0i32; 64];
    for c in s.chars() {
        if let Some(n) = bag.get_mut(c as usize % 64) {
            *n += 1;
        }
    }
    bag
}

/// A lower bound of the edit distance (with transpositions) between the
/// string whose bag is `a` and `b`: each edit changes the bags by one.
fn bag_distance(a: &[i32; 64], b: &str) -> usize {
    let mut diff = *a;
    for c in b.chars() {
        if let Some(n) = diff.get_mut(c as usize % 64) {
            *n -= 1;
        }
    }
    let (mut more, mut fewer) = (0usize, 0usize);
    for d in diff {
        if d > 0 {
            more += d.unsigned_abs() as usize;
        } else {
            fewer += d.unsigned_abs() as usize;
        }
    }
    more.max(fewer)
}

/// Optimal string alignment distance: edits plus adjacent transpositions,
/// so `hgih` is one step from `high`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        if let Some(x) = d.get_mut(at(i, 0)) {
            *x = i;
        }
    }
    for j in 0..=b.len() {
        if let Some(x) = d.get_mut(at(0, j)) {
            *x = j;
        }
    }
    let get = |d: &Vec<usize>, i: usize, j: usize| d.get(at(i, j)).copied().unwrap_or(usize::MAX / 2);
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let (ca, cb) = (a.get(i - 1), b.get(j - 1));
            let cost = usize::from(ca != cb);
            let mut best = (get(&d, i - 1, j) + 1).min(get(&d, i, j - 1) + 1).min(get(&d, i - 1, j - 1) + cost);
            if i > 1 && j > 1 && ca == b.get(j - 2) && a.get(i - 2) == cb {
                best = best.min(get(&d, i - 2, j - 2) + 1);
            }
            if let Some(x) = d.get_mut(at(i, j)) {
                *x = best;
            }
        }
    }
    get(&d, a.len(), b.len())
}

/// Names of globals each global refers to, for the recursion check.
pub fn free_globals(item: &Item, globals: &Globals) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut visit = |e: &Expr| {
        walk_names(e, &mut |n| {
            if globals.contains_key(n) {
                out.insert(n.to_string());
            }
        })
    };
    match &item.kind {
        ItemKind::Let(l) => visit(&l.value),
        ItemKind::Fn(f) => {
            for l in &f.lets {
                visit(&l.value);
            }
            visit(&f.body);
        }
        _ => {}
    }
    out
}

/// Calls `f` with every bare name and callee name in `e` (iteratively, so
/// deep trees cannot overflow the stack).
pub fn walk_names(e: &Expr, f: &mut dyn FnMut(&str)) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::Name(n) => f(&n.text),
            ExprKind::Str(parts) => {
                for p in parts {
                    if let StrPart::Expr(x) = p {
                        stack.push(x);
                    }
                }
            }
            ExprKind::List(xs) => stack.extend(xs.iter()),
            ExprKind::Record(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            ExprKind::Field { base, .. } => stack.push(base),
            ExprKind::Index { base, index } => {
                stack.push(base);
                stack.push(index);
            }
            ExprKind::Call { callee, args } => {
                stack.push(callee);
                stack.extend(args.iter());
            }
            ExprKind::Unary { expr, .. } => stack.push(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                stack.push(lhs);
                stack.push(rhs);
            }
            ExprKind::If { cond, then, otherwise } => {
                stack.push(cond);
                stack.push(then);
                stack.push(otherwise);
            }
            ExprKind::Quant { iter, body, .. } => {
                stack.push(iter);
                stack.push(body);
            }
            _ => {}
        }
    }
}
