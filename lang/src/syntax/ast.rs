//! The abstract syntax tree. Trees are plain values: spans are byte ranges
//! relative to the start of the *item* they belong to, so an item whose text
//! did not change keeps an equal tree when the items above it move (that is
//! what makes the item the unit of incrementality).

use serde::Serialize;

/// A byte range `start..end` within an item's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start: clamp(start), end: clamp(end) }
    }
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
    pub fn shift(self, by: usize) -> Span {
        Span::new(self.start as usize + by, self.end as usize + by)
    }
    pub fn cover(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

/// A dotted path such as `mlflow.auth.enabled`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Path {
    pub segments: Vec<Name>,
    pub span: Span,
}

impl Path {
    pub fn dotted(&self) -> String {
        let parts: Vec<&str> = self.segments.iter().map(|s| s.text.as_str()).collect();
        parts.join(".")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// `///` lines above the item, without the slashes.
    pub doc: Option<String>,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ItemKind {
    Module(Path),
    Import(Import),
    Param(Param),
    Let(Let),
    Fn(FnDecl),
    Check(Check),
    /// `test "name" { ... }`: a test of checks (see `docs/testing.md`). Its
    /// body holds settings (`key = value`) and `let`s; it is never evaluated
    /// as a check.
    Test(Test),
    /// An item that did not parse; its errors are in `Parse::errors`.
    Error,
    /// An item that did not parse but whose keyword and name could be read
    /// (`fn helper(` ...): the name stays defined so its uses elsewhere do
    /// not produce follow-on errors.
    Broken {
        keyword: String,
        name: Name,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ImportTarget {
    /// `import std.mlflow`
    Module(Path),
    /// `import "lib/common.mlpol"`
    File { path: String, span: Span },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Import {
    pub target: ImportTarget,
    pub alias: Option<Name>,
}

impl Import {
    /// The name the import binds: the alias, the last path segment, or the
    /// file stem.
    pub fn bound_name(&self) -> Option<Name> {
        if let Some(alias) = &self.alias {
            return Some(alias.clone());
        }
        match &self.target {
            ImportTarget::Module(path) => path.segments.last().cloned(),
            ImportTarget::File { path, span } => {
                let file = path.rsplit('/').next().unwrap_or(path);
                let stem = file.strip_suffix(".mlpol").unwrap_or(file);
                Some(Name { text: stem.to_string(), span: *span })
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub optional: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TypeExprKind {
    Named(Name),
    List(Box<TypeExpr>),
    Map(Box<TypeExpr>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    pub name: Name,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Let {
    pub name: Name,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FnDecl {
    pub name: Name,
    pub params: Vec<(Name, TypeExpr)>,
    pub ret: TypeExpr,
    pub lets: Vec<Let>,
    pub body: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub id: Path,
    pub body: Vec<Stmt>,
}

/// `test "name" { check = a.b  facts = {...}  status = fail ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Test {
    /// The test's name, unescaped.
    pub name: String,
    /// The span of the name's string literal.
    pub name_span: Span,
    /// Settings are `Meta` statements; `Let`s name values the settings use.
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StmtKind {
    /// `title = "..."`: check metadata.
    Meta {
        key: Name,
        value: Expr,
    },
    Let(Let),
    /// `require cond [else [at loc:] message]`
    Require {
        cond: Expr,
        at: Option<Expr>,
        message: Option<Expr>,
    },
    /// `skip when cond because reason`
    Skip {
        cond: Expr,
        reason: Expr,
    },
    /// `for x in xs { ... }`: findings are per element.
    For {
        binding: Binding,
        iter: Expr,
        body: Vec<Stmt>,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        otherwise: Vec<Stmt>,
    },
    /// A statement that did not parse.
    Error,
}

/// `x` or `k, v` in `for` and comprehensions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Binding {
    pub first: Name,
    pub second: Option<Name>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum BinOp {
    Or,
    And,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    In,
    NotIn,
    Matches,
    Coalesce,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        use BinOp::*;
        match self {
            Or => "or",
            And => "and",
            Eq => "==",
            NotEq => "!=",
            Lt => "<",
            LtEq => "<=",
            Gt => ">",
            GtEq => ">=",
            In => "in",
            NotIn => "not in",
            Matches => "matches",
            Coalesce => "??",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Rem => "%",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Quantifier {
    All,
    Any,
    Count,
    Filter,
    Map,
}

impl Quantifier {
    pub fn as_str(self) -> &'static str {
        match self {
            Quantifier::All => "all",
            Quantifier::Any => "any",
            Quantifier::Count => "count",
            Quantifier::Filter => "filter",
            Quantifier::Map => "map",
        }
    }
}

/// A piece of an interpolated string.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StrPart {
    Lit(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Seconds.
    Duration(i64),
    /// Bytes.
    Size(i64),
    Str(Vec<StrPart>),
    Regex(String),
    List(Vec<Expr>),
    Record(Vec<(Name, Expr)>),
    Name(Name),
    Field {
        base: Box<Expr>,
        name: Name,
    },
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// `callee(args)`; `callee` is a name, a field access (`files.glob`,
    /// `x.lower`) or, in error, anything.
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Quant {
        q: Quantifier,
        binding: Binding,
        iter: Box<Expr>,
        body: Box<Expr>,
    },
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum UnOp {
    Not,
    Neg,
}
