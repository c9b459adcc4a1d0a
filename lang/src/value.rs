//! Run-time values. Every value may carry an [`Origin`]: the file and line
//! (or URI) it came from. Collectors set it; field access and indexing keep
//! it; so a finding's location is the provenance of its evidence, not a
//! place in the policy.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Origin {
    /// Path relative to the target, `/`-separated.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    /// For HTTP and bucket facts.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub uri: Option<String>,
}

impl Origin {
    pub fn file(path: impl Into<String>, line: Option<u32>) -> Origin {
        Origin { path: Some(path.into()), line, uri: None }
    }
    pub fn uri(uri: impl Into<String>) -> Origin {
        Origin { path: None, line: None, uri: Some(uri.into()) }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line, &self.uri) {
            (Some(p), Some(l), _) => write!(f, "{p}:{l}"),
            (Some(p), None, _) => write!(f, "{p}"),
            (None, _, Some(u)) => write!(f, "{u}"),
            _ => write!(f, "?"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "lowercase")]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    /// Non-finite floats (TOML `nan`, YAML `.inf`) serialize as the
    /// strings `"NaN"`, `"inf"` and `"-inf"`: JSON has no number for them.
    Float(#[serde(with = "float_repr")] f64),
    Str(Arc<str>),
    /// Seconds.
    Duration(i64),
    /// Bytes.
    Size(i64),
    Regex(Arc<str>),
    List(Arc<Vec<Value>>),
    /// Entries in document order; keys are unique.
    Map(Arc<Vec<(String, Value)>>),
    /// A secret: shown only in redacted form. The clear text is kept in
    /// memory for comparisons and never serialized, so a fact snapshot holds
    /// only the redacted form.
    Secret {
        #[serde(skip)]
        clear: Option<Arc<str>>,
        redacted: Arc<str>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Value {
    #[serde(flatten)]
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none", default, rename = "at")]
    pub origin: Option<Arc<Origin>>,
}

impl Value {
    pub fn new(kind: Kind) -> Value {
        Value { kind, origin: None }
    }
    pub fn null() -> Value {
        Value::new(Kind::Null)
    }
    pub fn bool(b: bool) -> Value {
        Value::new(Kind::Bool(b))
    }
    pub fn int(n: i64) -> Value {
        Value::new(Kind::Int(n))
    }
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::new(Kind::Str(Arc::from(s.as_ref())))
    }
    /// A secret value: prints as [`mask`] of its text.
    pub fn secret(clear: &str) -> Value {
        Value::new(Kind::Secret { clear: Some(Arc::from(clear)), redacted: Arc::from(mask(clear).as_str()) })
    }
    pub fn is_secret(&self) -> bool {
        matches!(self.kind, Kind::Secret { .. })
    }
    pub fn list(xs: Vec<Value>) -> Value {
        Value::new(Kind::List(Arc::new(xs)))
    }
    pub fn map(entries: Vec<(String, Value)>) -> Value {
        Value::new(Kind::Map(Arc::new(entries)))
    }
    pub fn with_origin(mut self, origin: Origin) -> Value {
        self.origin = Some(Arc::new(origin));
        self
    }
    pub fn with_origin_arc(mut self, origin: Option<Arc<Origin>>) -> Value {
        if origin.is_some() {
            self.origin = origin;
        }
        self
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            Kind::Secret { clear, redacted } => Some(clear.as_deref().unwrap_or(redacted)),
            _ => None,
        }
    }

    /// A field of a map (records are maps).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "bool",
            Kind::Int(_) => "int",
            Kind::Float(_) => "float",
            Kind::Str(_) | Kind::Secret { .. } => "string",
            Kind::Duration(_) => "duration",
            Kind::Size(_) => "size",
            Kind::Regex(_) => "regex",
            Kind::List(_) => "list",
            Kind::Map(_) => "map",
        }
    }

    /// Truthiness in conditions: only `true` is true (null and errors fail
    /// closed).
    pub fn is_true(&self) -> bool {
        matches!(self.kind, Kind::Bool(true))
    }
}

/// Shows a value the way messages interpolate it: strings bare, secrets
/// redacted, sizes and durations in units, long collections shortened.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Null => write!(f, "null"),
            Kind::Bool(b) => write!(f, "{b}"),
            Kind::Int(n) => write!(f, "{n}"),
            Kind::Float(x) => write!(f, "{x}"),
            Kind::Str(s) => write!(f, "{s}"),
            Kind::Secret { redacted, .. } => write!(f, "{redacted}"),
            Kind::Duration(s) => write!(f, "{}", format_duration(*s)),
            Kind::Size(b) => write!(f, "{}", format_size(*b)),
            Kind::Regex(r) => write!(f, "re\"{r}\""),
            Kind::List(xs) => {
                write!(f, "[")?;
                for (i, x) in xs.iter().take(10).enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    x.fmt_quoted(f)?;
                }
                if xs.len() > 10 {
                    write!(f, ", … {} more", xs.len() - 10)?;
                }
                write!(f, "]")
            }
            Kind::Map(entries) => {
                write!(f, "{{")?;
                for (i, (k, v)) in entries.iter().take(10).enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, " {k}: ")?;
                    v.fmt_quoted(f)?;
                }
                if entries.len() > 10 {
                    write!(f, ", … {} more", entries.len() - 10)?;
                }
                write!(f, " }}")
            }
        }
    }
}

impl Value {
    fn fmt_quoted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Str(s) => write!(f, "{s:?}"),
            _ => write!(f, "{self}"),
        }
    }
}

/// Serde for [`Kind::Float`]: a JSON number when finite, else `"NaN"`,
/// `"inf"` or `"-inf"`, so that a fact snapshot reads back what was saved
/// (serde_json would write `null`, which does not read back as a float).
mod float_repr {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_nan() {
            s.serialize_str("NaN")
        } else if x.is_infinite() {
            s.serialize_str(if *x > 0.0 { "inf" } else { "-inf" })
        } else {
            s.serialize_f64(*x)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        struct Float;
        impl Visitor<'_> for Float {
            type Value = f64;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, \"NaN\", \"inf\" or \"-inf\"")
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<f64, E> {
                Ok(x)
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<f64, E> {
                Ok(x as f64)
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<f64, E> {
                Ok(x as f64)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<f64, E> {
                match s {
                    "NaN" => Ok(f64::NAN),
                    "inf" => Ok(f64::INFINITY),
                    "-inf" => Ok(f64::NEG_INFINITY),
                    _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
        }
        d.deserialize_any(Float)
    }
}

/// The redacted form of a secret: the first four and last three characters
/// of a value of 16 characters or more (`AKIA*************FGH`), nothing of a
/// shorter one.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 16 {
        return "*".repeat(8);
    }
    let head: String = chars.iter().take(4).collect();
    let tail: String = chars.iter().skip(chars.len() - 3).collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// At most `max` characters of `s`, with `…` when it was cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
        None => s.to_string(),
    }
}

pub fn format_duration(seconds: i64) -> String {
    const UNITS: &[(i64, &str)] = &[(604_800, "w"), (86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    if seconds == 0 {
        return "0s".to_string();
    }
    for (n, u) in UNITS {
        if seconds % n == 0 && *u != "w" {
            return format!("{}{u}", seconds / n);
        }
    }
    format!("{seconds}s")
}

pub fn format_size(bytes: i64) -> String {
    const UNITS: &[(i64, &str)] = &[(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (n, u) in UNITS {
        if bytes >= *n && bytes % n == 0 {
            return format!("{}{u}", bytes / n);
        }
    }
    for (n, u) in UNITS {
        if bytes >= *n {
            return format!("{:.1}{u}", bytes as f64 / *n as f64);
        }
    }
    format!("{bytes}B")
}

/// Builds a record value (a map) for collectors.
pub fn record(fields: Vec<(&str, Value)>) -> Value {
    Value::map(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Keys of a map in document order, for the `keys` builtin.
pub fn keys(entries: &[(String, Value)]) -> Vec<Value> {
    entries.iter().map(|(k, v)| Value::str(k).with_origin_arc(v.origin.clone())).collect()
}

pub type Params = BTreeMap<String, Value>;
