//! Types of the language and the schema through which collectors describe
//! the facts they provide. The language crate knows no collector: the stdlib
//! hands a [`Schema`] to the database, and the checker types fact calls and
//! fact fields from it.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// Produced after an error; compatible with everything so one mistake is
    /// reported once, not again by every expression that uses its result.
    Error,
    /// A value whose type is known only at run time.
    Any,
    /// A parsed document (YAML/TOML/JSON/INI): dynamic, indexable, every
    /// value carries its file and line.
    Doc,
    Null,
    Bool,
    Int,
    Float,
    Str,
    Duration,
    Size,
    Regex,
    List(Box<Type>),
    /// A map with string keys.
    Map(Box<Type>),
    /// A record type declared by a collector schema, by name.
    Record(String),
    /// A record literal `{ a: 1 }`.
    Struct(Vec<(String, Type)>),
    Optional(Box<Type>),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    pub fn optional(t: Type) -> Type {
        match t {
            Type::Optional(_) | Type::Null | Type::Any | Type::Doc | Type::Error => t,
            t => Type::Optional(Box::new(t)),
        }
    }
    pub fn record(name: &str) -> Type {
        Type::Record(name.to_string())
    }

    /// True for types about which the checker cannot complain.
    pub fn is_dynamic(&self) -> bool {
        matches!(self, Type::Error | Type::Any | Type::Doc)
    }

    /// The type without its `?`.
    pub fn strip_optional(&self) -> &Type {
        match self {
            Type::Optional(t) => t,
            t => t,
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self.strip_optional(), Type::Int | Type::Float)
    }

    /// Whether a value of `self` may be used where `expected` is wanted.
    pub fn fits(&self, expected: &Type) -> bool {
        if self.is_dynamic() || expected.is_dynamic() || self == expected {
            return true;
        }
        match (self, expected) {
            (Type::Null, Type::Optional(_)) => true,
            (Type::Optional(a), Type::Optional(b)) => a.fits(b),
            (a, Type::Optional(b)) => a.fits(b),
            (Type::Int, Type::Float) => true,
            (Type::List(a), Type::List(b)) | (Type::Map(a), Type::Map(b)) => a.fits(b),
            (Type::Struct(fields), Type::Map(v)) => fields.iter().all(|(_, t)| t.fits(v)),
            _ => false,
        }
    }

    /// The smallest type both fit, for list literals and `if` branches.
    pub fn join(&self, other: &Type) -> Type {
        if self == other {
            return self.clone();
        }
        match (self, other) {
            (Type::Error, t) | (t, Type::Error) => t.clone(),
            (Type::Null, t) | (t, Type::Null) => Type::optional(t.clone()),
            (Type::Int, Type::Float) | (Type::Float, Type::Int) => Type::Float,
            (Type::Optional(a), b) | (b, Type::Optional(a)) => Type::optional(a.join(b)),
            (Type::List(a), Type::List(b)) => Type::list(a.join(b)),
            (Type::Map(a), Type::Map(b)) => Type::map(a.join(b)),
            (Type::Doc, _) | (_, Type::Doc) => Type::Doc,
            _ => Type::Any,
        }
    }

    /// Element type when iterating: `(key or index, element)`.
    pub fn iteration(&self) -> Option<(Type, Type)> {
        match self.strip_optional() {
            Type::List(t) => Some((Type::Int, (**t).clone())),
            Type::Map(t) => Some((Type::Str, (**t).clone())),
            Type::Struct(_) => Some((Type::Str, Type::Any)),
            Type::Doc => Some((Type::Doc, Type::Doc)),
            Type::Any | Type::Error | Type::Null => Some((Type::Any, Type::Any)),
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Error => write!(f, "{{error}}"),
            Type::Any => write!(f, "any"),
            Type::Doc => write!(f, "doc"),
            Type::Null => write!(f, "null"),
            Type::Bool => write!(f, "bool"),
            Type::Int => write!(f, "int"),
            Type::Float => write!(f, "float"),
            Type::Str => write!(f, "string"),
            Type::Duration => write!(f, "duration"),
            Type::Size => write!(f, "size"),
            Type::Regex => write!(f, "regex"),
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Map(t) => write!(f, "map<{t}>"),
            Type::Record(n) => write!(f, "{n}"),
            Type::Struct(fields) => {
                write!(f, "{{")?;
                for (i, (k, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, " {k}: {t}")?;
                }
                write!(f, " }}")
            }
            Type::Optional(t) => write!(f, "{t}?"),
        }
    }
}

/// A field of a collector record type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    pub name: String,
    pub ty: Type,
    pub doc: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDef {
    pub name: String,
    pub doc: String,
    pub fields: Vec<FieldDef>,
}

impl RecordDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A collector function such as `files.glob(pattern: string) -> list<File>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactFn {
    pub namespace: String,
    pub name: String,
    pub params: Vec<(String, Type)>,
    /// Parameters from this index on may be left out.
    pub required: usize,
    pub ret: Type,
    pub doc: String,
    /// True when the collector touches the network (`--offline` skips it).
    pub network: bool,
}

impl FactFn {
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, (n, t))| if i >= self.required { format!("{n}?: {t}") } else { format!("{n}: {t}") })
            .collect();
        format!("{}.{}({}) -> {}", self.namespace, self.name, params.join(", "), self.ret)
    }
}

/// Every collector function and record type the policies may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub records: BTreeMap<String, RecordDef>,
    /// namespace → (doc, functions by name)
    pub namespaces: BTreeMap<String, (String, BTreeMap<String, FactFn>)>,
}

impl Schema {
    pub fn record(&mut self, name: &str, doc: &str, fields: &[(&str, Type, &str)]) -> &mut Self {
        let fields = fields
            .iter()
            .map(|(n, t, d)| FieldDef { name: n.to_string(), ty: t.clone(), doc: d.to_string() })
            .collect();
        self.records.insert(name.to_string(), RecordDef { name: name.to_string(), doc: doc.to_string(), fields });
        self
    }

    pub fn namespace(&mut self, name: &str, doc: &str) -> &mut Self {
        self.namespaces.entry(name.to_string()).or_insert_with(|| (doc.to_string(), BTreeMap::new()));
        self
    }

    /// Declares `namespace.name(params) -> ret`; the first `required` params
    /// are mandatory.
    #[allow(clippy::too_many_arguments)]
    pub fn function(
        &mut self,
        namespace: &str,
        name: &str,
        params: &[(&str, Type)],
        required: usize,
        ret: Type,
        network: bool,
        doc: &str,
    ) -> &mut Self {
        let f = FactFn {
            namespace: namespace.to_string(),
            name: name.to_string(),
            params: params.iter().map(|(n, t)| (n.to_string(), t.clone())).collect(),
            required,
            ret,
            doc: doc.to_string(),
            network,
        };
        self.namespaces
            .entry(namespace.to_string())
            .or_insert_with(|| (String::new(), BTreeMap::new()))
            .1
            .insert(name.to_string(), f);
        self
    }

    pub fn fact_fn(&self, namespace: &str, name: &str) -> Option<&FactFn> {
        self.namespaces.get(namespace).and_then(|(_, fns)| fns.get(name))
    }

    pub fn is_namespace(&self, name: &str) -> bool {
        self.namespaces.contains_key(name)
    }

    /// Resolves a type name written in a policy (`string`, `File`, ...).
    pub fn named_type(&self, name: &str) -> Option<Type> {
        Some(match name {
            "bool" => Type::Bool,
            "int" => Type::Int,
            "float" => Type::Float,
            "string" => Type::Str,
            "duration" => Type::Duration,
            "size" => Type::Size,
            "regex" => Type::Regex,
            "doc" => Type::Doc,
            "any" => Type::Any,
            other if self.records.contains_key(other) => Type::Record(other.to_string()),
            _ => return None,
        })
    }

    pub fn type_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            ["bool", "int", "float", "string", "duration", "size", "regex", "doc", "any", "list", "map"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        names.extend(self.records.keys().cloned());
        names
    }
}
