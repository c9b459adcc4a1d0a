//! What each name of an item refers to, and the types the editor features
//! need (hover, completion after `.`), in one walk over the item's tree.
//!
//! The checker in `mlpol-lang` decides what is an error; this walk only
//! resolves. It follows the checker's scoping (locals, then the module's
//! globals, then import aliases, collector namespaces and builtins) and its
//! typing of collector calls, record fields and builtins, so a `for f in
//! files.glob(..)` binding is a `File` here exactly as it is there. It never
//! reports anything: a name it cannot resolve has no occurrence.

use mlpol_lang::builtins;
use mlpol_lang::check::{GlobalKind, Globals};
use mlpol_lang::db::SourceFile;
use mlpol_lang::syntax::ast::*;
use mlpol_lang::types::{Schema, Type};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

/// What an occurrence refers to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A local binding (`let` in a check or function, `for`, quantifier,
    /// function parameter), by the file-relative span of its declaration.
    Local {
        name: String,
        decl: Range<usize>,
        ty: Type,
    },
    /// A module-level `param`, `let` or `fn` of a file.
    Global {
        file: SourceFile,
        name: String,
    },
    /// An import of this file, by its alias.
    Import {
        alias: String,
        file: Option<SourceFile>,
    },
    Namespace(String),
    FactFn {
        namespace: String,
        name: String,
    },
    Builtin(String),
    Field {
        record: String,
        field: String,
        ty: Type,
    },
    Check(String),
    MetaKey(String),
    Severity(String),
    /// A collector record type named in a type annotation (`File`).
    Record(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// File-relative byte range.
    pub span: Range<usize>,
    pub target: Target,
    /// True at the declaration itself.
    pub decl: bool,
}

/// A local with the part of the item where it is visible (file-relative).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalInfo {
    pub name: String,
    pub ty: Type,
    pub visible: Range<usize>,
}

/// The receiver of a `.name`: where the name is and what the receiver is.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSite {
    /// File-relative span of the name after the dot.
    pub name: Range<usize>,
    pub receiver: Receiver,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Receiver {
    Value(Type),
    Namespace(String),
    Module { alias: String, globals: Option<Arc<Globals>> },
}

#[derive(Debug, Default)]
pub struct ItemAnalysis {
    pub occurrences: Vec<Occurrence>,
    pub locals: Vec<LocalInfo>,
    pub fields: Vec<FieldSite>,
}

/// An import of the file being analysed.
#[derive(Debug, Clone)]
pub struct ImportInfo {
    pub file: Option<SourceFile>,
    pub globals: Option<Arc<Globals>>,
}

/// What an item is resolved against.
pub struct Context<'a> {
    pub schema: &'a Schema,
    pub file: SourceFile,
    pub globals: &'a Globals,
    pub imports: &'a BTreeMap<String, ImportInfo>,
}

/// Resolves every name of one item. `offset` is where the item starts in
/// its file: the result's spans are file-relative.
pub fn analyse(cx: &Context, item: &Item, offset: usize) -> ItemAnalysis {
    let mut w = Walker { cx, offset, scopes: Vec::new(), out: ItemAnalysis::default() };
    w.item(item);
    w.out
}

struct Local {
    name: String,
    decl: Range<usize>,
    ty: Type,
}

struct Walker<'c, 'a> {
    cx: &'c Context<'a>,
    offset: usize,
    scopes: Vec<Vec<Local>>,
    out: ItemAnalysis,
}

impl Walker<'_, '_> {
    fn span(&self, s: Span) -> Range<usize> {
        s.start as usize + self.offset..s.end as usize + self.offset
    }

    fn occ(&mut self, s: Span, target: Target, decl: bool) {
        let span = self.span(s);
        self.out.occurrences.push(Occurrence { span, target, decl });
    }

    fn global(&self, name: &str) -> Target {
        Target::Global { file: self.cx.file, name: name.to_string() }
    }

    /// Declares a local visible in `visible` (item-relative).
    fn declare(&mut self, name: &Name, ty: Type, visible: Span) {
        let decl = self.span(name.span);
        self.out.occurrences.push(Occurrence {
            span: decl.clone(),
            target: Target::Local { name: name.text.clone(), decl: decl.clone(), ty: ty.clone() },
            decl: true,
        });
        let visible = self.span(visible);
        self.out.locals.push(LocalInfo { name: name.text.clone(), ty: ty.clone(), visible });
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(Local { name: name.text.clone(), decl, ty });
        }
    }

    fn lookup_local(&self, name: &str) -> Option<(Range<usize>, Type)> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|l| l.name == name)
            .map(|l| (l.decl.clone(), l.ty.clone()))
    }

    /// A bare name that is neither a local nor a global: it may be an
    /// import alias or a namespace.
    fn is_module_name(&self, name: &str) -> bool {
        self.lookup_local(name).is_none() && !self.cx.globals.contains_key(name)
    }

    fn type_expr(&mut self, t: &TypeExpr) -> Type {
        let base = match &t.kind {
            TypeExprKind::Named(n) => {
                if self.cx.schema.records.contains_key(&n.text) {
                    self.occ(n.span, Target::Record(n.text.clone()), false);
                }
                self.cx.schema.named_type(&n.text).unwrap_or(Type::Error)
            }
            TypeExprKind::List(inner) => Type::list(self.type_expr(inner)),
            TypeExprKind::Map(inner) => Type::map(self.type_expr(inner)),
        };
        if t.optional {
            Type::optional(base)
        } else {
            base
        }
    }

    fn item(&mut self, item: &Item) {
        match &item.kind {
            ItemKind::Module(_) | ItemKind::Error => {}
            ItemKind::Import(import) => {
                let Some(alias) = import.bound_name() else { return };
                let file = self.cx.imports.get(&alias.text).and_then(|i| i.file);
                let target = Target::Import { alias: alias.text.clone(), file };
                let path_span = match &import.target {
                    ImportTarget::Module(p) => p.span,
                    ImportTarget::File { span, .. } => *span,
                };
                self.occ(path_span, target.clone(), import.alias.is_none());
                if let Some(a) = &import.alias {
                    self.occ(a.span, target, true);
                }
            }
            ItemKind::Param(p) => {
                self.occ(p.name.span, self.global(&p.name.text), true);
                self.type_expr(&p.ty);
                if let Some(d) = &p.default {
                    self.expr(d);
                }
            }
            ItemKind::Let(l) => {
                self.occ(l.name.span, self.global(&l.name.text), true);
                if let Some(t) = &l.ty {
                    self.type_expr(t);
                }
                self.expr(&l.value);
            }
            ItemKind::Fn(f) => {
                self.occ(f.name.span, self.global(&f.name.text), true);
                self.scopes.push(Vec::new());
                let whole = item.span;
                for (n, t) in &f.params {
                    let ty = self.type_expr(t);
                    self.declare(n, ty, whole);
                }
                self.type_expr(&f.ret);
                for l in &f.lets {
                    let ty = self.let_value(l);
                    self.declare(&l.name, ty, Span { start: l.span.end, end: whole.end });
                }
                self.expr(&f.body);
                self.scopes.pop();
            }
            ItemKind::Check(c) => {
                self.occ(c.id.span, Target::Check(c.id.dotted()), true);
                self.scopes.push(Vec::new());
                self.block(&c.body, item.span.end);
                self.scopes.pop();
            }
            ItemKind::Broken { name, .. } => self.occ(name.span, self.global(&name.text), true),
            ItemKind::Test(t) => self.test(t, item.span.end),
        }
    }

    /// A test: its check ids point at the checks; other settings are
    /// expressions (`status` is a bare word, not a name).
    fn test(&mut self, test: &Test, end: u32) {
        self.scopes.push(Vec::new());
        for stmt in &test.body {
            match &stmt.kind {
                StmtKind::Meta { key, value } if key.text == "check" => {
                    for (id, span) in mlpol_lang::check::test_check_ids(value).unwrap_or_default() {
                        self.occ(span, Target::Check(id), false);
                    }
                }
                StmtKind::Meta { key, .. } if key.text == "status" => {}
                StmtKind::Meta { value, .. } => {
                    self.expr(value);
                }
                _ => self.stmt(stmt, end),
            }
        }
        self.scopes.pop();
    }

    fn let_value(&mut self, l: &Let) -> Type {
        let got = self.expr(&l.value);
        match &l.ty {
            Some(t) => self.type_expr(t),
            None => got,
        }
    }

    /// Statements of a block that ends at `end` (item-relative).
    fn block(&mut self, stmts: &[Stmt], end: u32) {
        for s in stmts {
            self.stmt(s, end);
        }
    }

    fn stmt(&mut self, stmt: &Stmt, block_end: u32) {
        match &stmt.kind {
            StmtKind::Meta { key, value } => {
                self.occ(key.span, Target::MetaKey(key.text.clone()), false);
                match (&value.kind, key.text.as_str()) {
                    (ExprKind::Name(n), "severity") => self.occ(n.span, Target::Severity(n.text.clone()), false),
                    _ => {
                        self.expr(value);
                    }
                }
            }
            StmtKind::Let(l) => {
                let ty = self.let_value(l);
                self.declare(&l.name, ty, Span { start: stmt.span.end, end: block_end.max(stmt.span.end) });
            }
            StmtKind::Require { cond, at, message } => {
                self.expr(cond);
                if let Some(at) = at {
                    self.expr(at);
                }
                if let Some(m) = message {
                    self.expr(m);
                }
            }
            StmtKind::Skip { cond, reason } => {
                self.expr(cond);
                self.expr(reason);
            }
            StmtKind::For { binding, iter, body } => {
                let t = self.expr(iter);
                let (k, v) = t.iteration().unwrap_or((Type::Error, Type::Error));
                self.scopes.push(Vec::new());
                let visible = Span { start: iter.span.end, end: stmt.span.end };
                self.bind(binding, k, v, visible);
                self.block(body, stmt.span.end);
                self.scopes.pop();
            }
            StmtKind::If { cond, then, otherwise } => {
                self.expr(cond);
                for branch in [then, otherwise] {
                    self.scopes.push(Vec::new());
                    self.block(branch, stmt.span.end);
                    self.scopes.pop();
                }
            }
            StmtKind::Error => {}
        }
    }

    fn bind(&mut self, binding: &Binding, key: Type, value: Type, visible: Span) {
        match &binding.second {
            Some(second) => {
                self.declare(&binding.first, key, visible);
                self.declare(second, value, visible);
            }
            None => self.declare(&binding.first, value, visible),
        }
    }

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
                Type::Struct(entries.iter().map(|(k, v)| (k.text.clone(), self.expr(v))).collect())
            }
            ExprKind::Name(n) => self.name(n),
            ExprKind::Field { base, name } => self.field(base, name),
            ExprKind::Index { base, index } => {
                let bt = self.expr(base);
                self.expr(index);
                match bt.strip_optional() {
                    Type::List(t) | Type::Map(t) => Type::optional((**t).clone()),
                    Type::Str => Type::optional(Type::Str),
                    Type::Null => Type::Null,
                    Type::Doc => Type::Doc,
                    _ => Type::Any,
                }
            }
            ExprKind::Call { callee, args } => self.call(callee, args),
            ExprKind::Unary { op, expr } => {
                let t = self.expr(expr);
                match op {
                    UnOp::Not => Type::Bool,
                    UnOp::Neg => t,
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.expr(lhs);
                let r = self.expr(rhs);
                binary(*op, &l, &r)
            }
            ExprKind::If { cond, then, otherwise } => {
                self.expr(cond);
                let a = self.expr(then);
                let b = self.expr(otherwise);
                a.join(&b)
            }
            ExprKind::Quant { q, binding, iter, body } => {
                let t = self.expr(iter);
                let (k, v) = t.iteration().unwrap_or((Type::Error, Type::Error));
                let elem = if binding.second.is_some() { Type::Any } else { v.clone() };
                self.scopes.push(Vec::new());
                self.bind(binding, k, v, body.span);
                let b = self.expr(body);
                self.scopes.pop();
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

    fn name(&mut self, n: &Name) -> Type {
        if let Some((decl, ty)) = self.lookup_local(&n.text) {
            self.occ(n.span, Target::Local { name: n.text.clone(), decl, ty: ty.clone() }, false);
            return ty;
        }
        if let Some(g) = self.cx.globals.get(&n.text) {
            self.occ(n.span, self.global(&n.text), false);
            return if g.kind == GlobalKind::Fn { Type::Error } else { g.ty.clone() };
        }
        if let Some(i) = self.cx.imports.get(&n.text) {
            self.occ(n.span, Target::Import { alias: n.text.clone(), file: i.file }, false);
            return Type::Error;
        }
        if self.cx.schema.is_namespace(&n.text) {
            self.occ(n.span, Target::Namespace(n.text.clone()), false);
            return Type::Error;
        }
        if builtins::lookup(&n.text).is_some() {
            self.occ(n.span, Target::Builtin(n.text.clone()), false);
        }
        Type::Error
    }

    /// `alias.member` or `namespace.function`: the receiver is a module.
    /// Returns the member's global when it is an import.
    fn module_member(&mut self, b: &Name, name: &Name) -> Option<Result<Option<mlpol_lang::check::Global>, ()>> {
        if !self.is_module_name(&b.text) {
            return None;
        }
        if let Some(import) = self.cx.imports.get(&b.text).cloned() {
            self.occ(b.span, Target::Import { alias: b.text.clone(), file: import.file }, false);
            self.out.fields.push(FieldSite {
                name: self.span(name.span),
                receiver: Receiver::Module { alias: b.text.clone(), globals: import.globals.clone() },
            });
            let member = import.globals.as_ref().and_then(|g| g.get(&name.text).cloned());
            if let (Some(file), Some(_)) = (import.file, &member) {
                self.occ(name.span, Target::Global { file, name: name.text.clone() }, false);
            }
            return Some(Ok(member));
        }
        if self.cx.schema.is_namespace(&b.text) {
            self.occ(b.span, Target::Namespace(b.text.clone()), false);
            self.out
                .fields
                .push(FieldSite { name: self.span(name.span), receiver: Receiver::Namespace(b.text.clone()) });
            if self.cx.schema.fact_fn(&b.text, &name.text).is_some() {
                self.occ(name.span, Target::FactFn { namespace: b.text.clone(), name: name.text.clone() }, false);
            }
            return Some(Err(()));
        }
        None
    }

    fn field(&mut self, base: &Expr, name: &Name) -> Type {
        if let ExprKind::Name(b) = &base.kind {
            match self.module_member(b, name) {
                Some(Ok(Some(g))) if g.kind != GlobalKind::Fn => return g.ty,
                Some(_) => return Type::Error,
                None => {}
            }
        }
        let bt = self.expr(base);
        self.out.fields.push(FieldSite { name: self.span(name.span), receiver: Receiver::Value(bt.clone()) });
        self.field_of(&bt, name)
    }

    fn field_of(&mut self, bt: &Type, name: &Name) -> Type {
        let optional = matches!(bt, Type::Optional(_));
        let wrap = |t: Type| if optional { Type::optional(t) } else { t };
        match bt.strip_optional() {
            t if t.is_dynamic() => t.clone(),
            Type::Record(rec) => {
                let Some(f) = self.cx.schema.records.get(rec).and_then(|d| d.field(&name.text)) else {
                    return Type::Error;
                };
                let ty = wrap(f.ty.clone());
                self.occ(
                    name.span,
                    Target::Field { record: rec.clone(), field: name.text.clone(), ty: ty.clone() },
                    false,
                );
                ty
            }
            Type::Struct(fields) => {
                fields.iter().find(|(k, _)| *k == name.text).map_or(Type::Error, |(_, t)| wrap(t.clone()))
            }
            Type::Map(v) => Type::optional((**v).clone()),
            _ => Type::Error,
        }
    }

    fn call(&mut self, callee: &Expr, args: &[Expr]) -> Type {
        match &callee.kind {
            ExprKind::Name(n) => {
                let types: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
                if let Some((decl, ty)) = self.lookup_local(&n.text) {
                    self.occ(n.span, Target::Local { name: n.text.clone(), decl, ty }, false);
                    return Type::Error;
                }
                if let Some(g) = self.cx.globals.get(&n.text) {
                    self.occ(n.span, self.global(&n.text), false);
                    return if g.kind == GlobalKind::Fn { g.ty.clone() } else { Type::Error };
                }
                if builtins::lookup(&n.text).is_some() {
                    self.occ(n.span, Target::Builtin(n.text.clone()), false);
                    return builtins::result_type(&n.text, &types).unwrap_or(Type::Error);
                }
                Type::Error
            }
            ExprKind::Field { base, name } => {
                if let ExprKind::Name(b) = &base.kind {
                    match self.module_member(b, name) {
                        Some(Ok(member)) => {
                            for a in args {
                                self.expr(a);
                            }
                            return member.filter(|g| g.kind == GlobalKind::Fn).map_or(Type::Error, |g| g.ty);
                        }
                        Some(Err(())) => {
                            let mut optional = false;
                            let types: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
                            let Some(f) = self.cx.schema.fact_fn(&b.text, &name.text) else { return Type::Error };
                            for (t, (_, pt)) in types.iter().zip(&f.params) {
                                if matches!(t, Type::Optional(_) | Type::Null) && !matches!(pt, Type::Optional(_)) {
                                    optional = true;
                                }
                            }
                            return if optional { Type::optional(f.ret.clone()) } else { f.ret.clone() };
                        }
                        None => {}
                    }
                }
                let receiver = self.expr(base);
                self.out
                    .fields
                    .push(FieldSite { name: self.span(name.span), receiver: Receiver::Value(receiver.clone()) });
                let mut types = vec![receiver];
                types.extend(args.iter().map(|a| self.expr(a)));
                if builtins::lookup(&name.text).is_some() {
                    self.occ(name.span, Target::Builtin(name.text.clone()), false);
                    return builtins::result_type(&name.text, &types).unwrap_or(Type::Error);
                }
                Type::Error
            }
            _ => {
                self.expr(callee);
                for a in args {
                    self.expr(a);
                }
                Type::Error
            }
        }
    }
}

/// The result type of a binary operator, as the checker types it (errors
/// aside).
fn binary(op: BinOp, l: &Type, r: &Type) -> Type {
    use BinOp::*;
    match op {
        Or | And | Eq | NotEq | Lt | LtEq | Gt | GtEq | In | NotIn | Matches => Type::Bool,
        Coalesce => match l {
            Type::Optional(inner) => inner.join(r),
            Type::Null => r.clone(),
            _ => l.join(r),
        },
        Add | Sub | Mul | Div | Rem => {
            let (lb, rb) = (l.strip_optional(), r.strip_optional());
            if l.is_dynamic() || r.is_dynamic() {
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
