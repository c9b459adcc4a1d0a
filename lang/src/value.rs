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

/// Serialized adjacently tagged, `{"t": "str", "v": "x"}`; the
/// [`Deserialize`] impls are hand-written (see [`Value`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "t", content = "v", rename_all = "lowercase")]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    /// Non-finite floats (TOML `nan`, YAML `.inf`) serialize as the
    /// strings `"NaN"`, `"inf"` and `"-inf"`: JSON has no number for them.
    Float(#[serde(serialize_with = "float_repr::serialize")] f64),
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

/// Serialized as one JSON object: the kind's `t` and `v`, then `at` when
/// it has an origin, `{"t":"str","v":"x","at":{"path":"a.yml","line":3}}`.
/// A map's entries are `[key, value]` pairs in document order. The
/// `Deserialize` impl (in the private `de` module) reads that form back
/// without buffering: a fact snapshot is mostly values, and reading it is
/// most of the cost of `mlpol eval --facts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Value {
    #[serde(flatten)]
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none", rename = "at")]
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
                f.write_str(EXPECTED)
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
                non_finite(s)
            }
        }
        d.deserialize_any(Float)
    }

    pub const EXPECTED: &str = "a number, \"NaN\", \"inf\" or \"-inf\"";

    /// The float a string stands for: only the three non-finite ones.
    pub fn non_finite<E: de::Error>(s: &str) -> Result<f64, E> {
        match s {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            _ => Err(E::invalid_value(de::Unexpected::Str(s), &EXPECTED)),
        }
    }
}

/// Reading values back (fact snapshots): a visitor over the object's keys
/// that builds the [`Kind`] as soon as it knows the tag. serde's derived
/// impls for an adjacently tagged enum behind `#[serde(flatten)]` buffer
/// every object, and everything in it, into an intermediate tree first.
///
/// `t` comes before `v` in what [`Value`]'s `Serialize` writes, so `v` is
/// read straight into its kind. Keys may come in any order, though: a `v`
/// met before `t` is read into a [`Payload`] and converted once the tag is
/// known. Unknown keys are skipped, as the derived impls did; a secret's
/// clear text is never read.
mod de {
    use super::{float_repr, Kind, Origin, Value};
    use serde::de::value::MapAccessDeserializer;
    use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};
    use serde::Deserialize;
    use std::fmt;
    use std::sync::Arc;

    impl<'de> Deserialize<'de> for Value {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
            d.deserialize_map(ValueVisitor)
        }
    }

    /// The form `{"t": …, "v": …}` that `Kind` serializes to; an `at` key is
    /// skipped.
    impl<'de> Deserialize<'de> for Kind {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
            Value::deserialize(d).map(|v| v.kind)
        }
    }

    /// The tags, as `Kind`'s `Serialize` writes them.
    const TAGS: &[&str] =
        &["null", "bool", "int", "float", "str", "duration", "size", "regex", "list", "map", "secret"];

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Tag {
        Null,
        Bool,
        Int,
        Float,
        Str,
        Duration,
        Size,
        Regex,
        List,
        Map,
        Secret,
    }

    impl<'de> Deserialize<'de> for Tag {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tag, D::Error> {
            struct TagVisitor;
            impl Visitor<'_> for TagVisitor {
                type Value = Tag;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a value's kind")
                }
                fn visit_str<E: de::Error>(self, s: &str) -> Result<Tag, E> {
                    Ok(match s {
                        "null" => Tag::Null,
                        "bool" => Tag::Bool,
                        "int" => Tag::Int,
                        "float" => Tag::Float,
                        "str" => Tag::Str,
                        "duration" => Tag::Duration,
                        "size" => Tag::Size,
                        "regex" => Tag::Regex,
                        "list" => Tag::List,
                        "map" => Tag::Map,
                        "secret" => Tag::Secret,
                        _ => return Err(E::unknown_variant(s, TAGS)),
                    })
                }
            }
            d.deserialize_str(TagVisitor)
        }
    }

    /// A key of a value's object.
    enum Field {
        T,
        V,
        At,
        Other,
    }

    impl<'de> Deserialize<'de> for Field {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
            struct FieldVisitor;
            impl Visitor<'_> for FieldVisitor {
                type Value = Field;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("`t`, `v` or `at`")
                }
                fn visit_str<E: de::Error>(self, s: &str) -> Result<Field, E> {
                    Ok(match s {
                        "t" => Field::T,
                        "v" => Field::V,
                        "at" => Field::At,
                        _ => Field::Other,
                    })
                }
            }
            d.deserialize_identifier(FieldVisitor)
        }
    }

    struct ValueVisitor;

    impl<'de> Visitor<'de> for ValueVisitor {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a value (an object with `t`, `v` and `at`)")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut tag = None;
            let mut kind = None;
            let mut early: Option<Payload> = None;
            let mut origin = None;
            while let Some(field) = map.next_key::<Field>()? {
                match field {
                    Field::T => {
                        if tag.is_some() {
                            return Err(de::Error::duplicate_field("t"));
                        }
                        tag = Some(map.next_value::<Tag>()?);
                    }
                    Field::V => {
                        if kind.is_some() || early.is_some() {
                            return Err(de::Error::duplicate_field("v"));
                        }
                        match tag {
                            Some(t) => kind = Some(map.next_value_seed(KindSeed(t))?),
                            None => early = Some(map.next_value::<Payload>()?),
                        }
                    }
                    Field::At => {
                        if origin.is_some() {
                            return Err(de::Error::duplicate_field("at"));
                        }
                        origin = Some(map.next_value::<Option<Origin>>()?);
                    }
                    Field::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            let tag = tag.ok_or_else(|| de::Error::missing_field("t"))?;
            let kind = match (kind, early) {
                (Some(kind), _) => kind,
                (None, Some(payload)) => payload.into_kind(tag)?,
                (None, None) if tag == Tag::Null => Kind::Null,
                (None, None) => return Err(de::Error::missing_field("v")),
            };
            Ok(Value { kind, origin: origin.flatten().map(Arc::new) })
        }
    }

    /// Reads `v` of a value whose tag is known.
    struct KindSeed(Tag);

    impl<'de> DeserializeSeed<'de> for KindSeed {
        type Value = Kind;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
            Ok(match self.0 {
                Tag::Null => {
                    <()>::deserialize(d)?;
                    Kind::Null
                }
                Tag::Bool => Kind::Bool(bool::deserialize(d)?),
                Tag::Int => Kind::Int(i64::deserialize(d)?),
                Tag::Float => Kind::Float(float_repr::deserialize(d)?),
                Tag::Str => Kind::Str(d.deserialize_str(ArcStr)?),
                Tag::Duration => Kind::Duration(i64::deserialize(d)?),
                Tag::Size => Kind::Size(i64::deserialize(d)?),
                Tag::Regex => Kind::Regex(d.deserialize_str(ArcStr)?),
                Tag::List => Kind::List(Arc::new(d.deserialize_seq(ListVisitor)?)),
                Tag::Map => Kind::Map(Arc::new(d.deserialize_seq(EntriesVisitor)?)),
                Tag::Secret => {
                    let SecretRepr { redacted } = SecretRepr::deserialize(d)?;
                    Kind::Secret { clear: None, redacted }
                }
            })
        }
    }

    /// What a secret serializes to (its clear text never is).
    #[derive(Deserialize)]
    struct SecretRepr {
        redacted: Arc<str>,
    }

    /// A string, copied once into its `Arc`.
    struct ArcStr;

    impl Visitor<'_> for ArcStr {
        type Value = Arc<str>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Arc<str>, E> {
            Ok(Arc::from(s))
        }
    }

    struct ListVisitor;

    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<Value>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of values")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(v) = seq.next_element::<Value>()? {
                items.push(v);
            }
            Ok(items)
        }
    }

    /// A map's entries: `[key, value]` pairs, in document order.
    struct EntriesVisitor;

    impl<'de> Visitor<'de> for EntriesVisitor {
        type Value = Vec<(String, Value)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of `[key, value]` pairs")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<(String, Value)>, A::Error> {
            let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(entry) = seq.next_element::<(String, Value)>()? {
                entries.push(entry);
            }
            Ok(entries)
        }
    }

    /// A `v` read before its tag: whatever JSON it is, to be checked against
    /// the tag later.
    enum Payload {
        Unit,
        Bool(bool),
        I64(i64),
        U64(u64),
        F64(f64),
        Str(String),
        Seq(Vec<Element>),
        Secret(Arc<str>),
    }

    /// An element of a list (a value) or of a map (a `[key, value]` pair).
    enum Element {
        Value(Value),
        Entry(String, Value),
    }

    impl Payload {
        fn unexpected(&self) -> Unexpected<'_> {
            match self {
                Payload::Unit => Unexpected::Unit,
                Payload::Bool(b) => Unexpected::Bool(*b),
                Payload::I64(n) => Unexpected::Signed(*n),
                Payload::U64(n) => Unexpected::Unsigned(*n),
                Payload::F64(x) => Unexpected::Float(*x),
                Payload::Str(s) => Unexpected::Str(s),
                Payload::Seq(_) => Unexpected::Seq,
                Payload::Secret(_) => Unexpected::Map,
            }
        }

        fn into_kind<E: de::Error>(self, tag: Tag) -> Result<Kind, E> {
            let int = |p: &Payload| match *p {
                Payload::I64(n) => Ok(n),
                Payload::U64(n) => i64::try_from(n).map_err(|_| E::invalid_value(p.unexpected(), &"an i64")),
                _ => Err(E::invalid_type(p.unexpected(), &"an i64")),
            };
            let kind = match (tag, self) {
                (Tag::Null, Payload::Unit) => Kind::Null,
                (Tag::Bool, Payload::Bool(b)) => Kind::Bool(b),
                (Tag::Int, p) => Kind::Int(int(&p)?),
                (Tag::Duration, p) => Kind::Duration(int(&p)?),
                (Tag::Size, p) => Kind::Size(int(&p)?),
                (Tag::Float, Payload::F64(x)) => Kind::Float(x),
                (Tag::Float, Payload::I64(n)) => Kind::Float(n as f64),
                (Tag::Float, Payload::U64(n)) => Kind::Float(n as f64),
                (Tag::Float, Payload::Str(s)) => Kind::Float(float_repr::non_finite(&s)?),
                (Tag::Str, Payload::Str(s)) => Kind::Str(Arc::from(s)),
                (Tag::Regex, Payload::Str(s)) => Kind::Regex(Arc::from(s)),
                (Tag::List, Payload::Seq(elements)) => Kind::List(Arc::new(
                    elements
                        .into_iter()
                        .map(|e| match e {
                            Element::Value(v) => Ok(v),
                            Element::Entry(..) => Err(E::invalid_type(Unexpected::Seq, &"a value")),
                        })
                        .collect::<Result<_, E>>()?,
                )),
                (Tag::Map, Payload::Seq(elements)) => Kind::Map(Arc::new(
                    elements
                        .into_iter()
                        .map(|e| match e {
                            Element::Entry(k, v) => Ok((k, v)),
                            Element::Value(_) => Err(E::invalid_type(Unexpected::Map, &"a `[key, value]` pair")),
                        })
                        .collect::<Result<_, E>>()?,
                )),
                (Tag::Secret, Payload::Secret(redacted)) => Kind::Secret { clear: None, redacted },
                (tag, p) => return Err(E::invalid_type(p.unexpected(), &expected(tag))),
            };
            Ok(kind)
        }
    }

    /// What `v` must be for a tag, for error messages.
    fn expected(tag: Tag) -> &'static str {
        match tag {
            Tag::Null => "null",
            Tag::Bool => "a boolean",
            Tag::Int | Tag::Duration | Tag::Size => "an i64",
            Tag::Float => float_repr::EXPECTED,
            Tag::Str | Tag::Regex => "a string",
            Tag::List => "a list of values",
            Tag::Map => "a list of `[key, value]` pairs",
            Tag::Secret => "a secret (`{\"redacted\": …}`)",
        }
    }

    impl<'de> Deserialize<'de> for Payload {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Payload, D::Error> {
            d.deserialize_any(PayloadVisitor)
        }
    }

    struct PayloadVisitor;

    impl<'de> Visitor<'de> for PayloadVisitor {
        type Value = Payload;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a value's `v`")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Payload, E> {
            Ok(Payload::Unit)
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Payload, E> {
            Ok(Payload::Bool(b))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Payload, E> {
            Ok(Payload::I64(n))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Payload, E> {
            Ok(Payload::U64(n))
        }
        fn visit_f64<E: de::Error>(self, x: f64) -> Result<Payload, E> {
            Ok(Payload::F64(x))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Payload, E> {
            Ok(Payload::Str(s.to_string()))
        }
        fn visit_string<E: de::Error>(self, s: String) -> Result<Payload, E> {
            Ok(Payload::Str(s))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Payload, A::Error> {
            let mut elements = Vec::new();
            while let Some(e) = seq.next_element::<Element>()? {
                elements.push(e);
            }
            Ok(Payload::Seq(elements))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Payload, A::Error> {
            let SecretRepr { redacted } = SecretRepr::deserialize(MapAccessDeserializer::new(map))?;
            Ok(Payload::Secret(redacted))
        }
    }

    impl<'de> Deserialize<'de> for Element {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Element, D::Error> {
            d.deserialize_any(ElementVisitor)
        }
    }

    struct ElementVisitor;

    impl<'de> Visitor<'de> for ElementVisitor {
        type Value = Element;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a value or a `[key, value]` pair")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
            ValueVisitor.visit_map(map).map(Element::Value)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
            let pair = &"a `[key, value]` pair";
            let key = seq.next_element::<String>()?.ok_or_else(|| de::Error::invalid_length(0, pair))?;
            let value = seq.next_element::<Value>()?.ok_or_else(|| de::Error::invalid_length(1, pair))?;
            if seq.next_element::<IgnoredAny>()?.is_some() {
                return Err(de::Error::invalid_length(3, pair));
            }
            Ok(Element::Entry(key, value))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Value, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    fn at(line: u32) -> Origin {
        Origin::file("svc/docker-compose.yml", Some(line))
    }

    /// One value of every kind, nested, with and without origins.
    fn sample() -> Value {
        let secret = Value::secret("AKIAIOSFODNN7EXAMPLE").with_origin(at(9));
        record(vec![
            ("null", Value::null()),
            ("bool", Value::bool(true).with_origin(at(2))),
            ("int", Value::int(-42).with_origin(Origin::uri("https://example.com/a?b=1"))),
            ("big", Value::int(i64::MAX)),
            ("small", Value::int(i64::MIN)),
            ("float", Value::new(Kind::Float(0.1))),
            ("nan", Value::new(Kind::Float(f64::NAN)).with_origin(at(3))),
            ("inf", Value::new(Kind::Float(f64::INFINITY))),
            ("-inf", Value::new(Kind::Float(f64::NEG_INFINITY))),
            ("str", Value::str("a \"quoted\" \\ string\n with ünïcode").with_origin(at(4))),
            ("duration", Value::new(Kind::Duration(3600))),
            ("size", Value::new(Kind::Size(1 << 30))),
            ("regex", Value::new(Kind::Regex(Arc::from("^v[0-9]+$")))),
            ("empty list", Value::list(vec![])),
            ("empty map", Value::map(vec![])),
            ("secret", secret.clone()),
            (
                "list",
                Value::list(vec![
                    Value::int(1),
                    Value::list(vec![Value::str("x").with_origin(at(5))]),
                    Value::map(vec![("k".into(), Value::null())]).with_origin(at(6)),
                    secret,
                ]),
            ),
            (
                "zeta",
                record(vec![
                    ("b", Value::int(2)),
                    ("a", record(vec![("deep", Value::bool(false).with_origin(at(8)))])),
                ]),
            ),
        ])
        .with_origin(Origin { path: Some("a".into()), line: None, uri: None })
    }

    /// Equal as a snapshot keeps them: NaN equal to NaN (`PartialEq` says it
    /// is not), secrets by their redacted form.
    fn same(a: &Value, b: &Value) -> bool {
        a.origin == b.origin
            && match (&a.kind, &b.kind) {
                (Kind::Float(x), Kind::Float(y)) => x.to_bits() == y.to_bits(),
                // The clear text of a secret is not serialized.
                (Kind::Secret { redacted: r, .. }, Kind::Secret { redacted: q, .. }) => r == q,
                (Kind::List(xs), Kind::List(ys)) => {
                    xs.len() == ys.len() && xs.iter().zip(ys.iter()).all(|(x, y)| same(x, y))
                }
                (Kind::Map(xs), Kind::Map(ys)) => {
                    xs.len() == ys.len() && xs.iter().zip(ys.iter()).all(|((k, x), (l, y))| k == l && same(x, y))
                }
                (x, y) => x == y,
            }
    }

    #[test]
    fn serialized_form_is_unchanged() {
        // Snapshots on disk and the JSON report depend on this form.
        let cases = [
            (Value::null(), r#"{"t":"null"}"#),
            (Value::bool(false), r#"{"t":"bool","v":false}"#),
            (
                Value::str("x").with_origin(at(3)),
                r#"{"t":"str","v":"x","at":{"path":"svc/docker-compose.yml","line":3}}"#,
            ),
            (Value::int(7).with_origin(Origin::uri("s3://b/k")), r#"{"t":"int","v":7,"at":{"uri":"s3://b/k"}}"#),
            (Value::new(Kind::Float(1.5)), r#"{"t":"float","v":1.5}"#),
            (Value::new(Kind::Float(f64::NAN)), r#"{"t":"float","v":"NaN"}"#),
            (Value::new(Kind::Float(f64::NEG_INFINITY)), r#"{"t":"float","v":"-inf"}"#),
            (Value::new(Kind::Duration(60)), r#"{"t":"duration","v":60}"#),
            (Value::new(Kind::Size(1024)), r#"{"t":"size","v":1024}"#),
            (Value::new(Kind::Regex(Arc::from("a+"))), r#"{"t":"regex","v":"a+"}"#),
            (Value::secret("short"), r#"{"t":"secret","v":{"redacted":"********"}}"#),
            (Value::list(vec![Value::int(1)]), r#"{"t":"list","v":[{"t":"int","v":1}]}"#),
            (
                Value::map(vec![("b".into(), Value::null()), ("a".into(), Value::int(1))]),
                r#"{"t":"map","v":[["b",{"t":"null"}],["a",{"t":"int","v":1}]]}"#,
            ),
        ];
        for (value, json) in cases {
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
            // A kind alone is the value without its `at`.
            let bare = serde_json::to_string(&Value::new(value.kind.clone())).unwrap();
            assert_eq!(serde_json::to_string(&value.kind).unwrap(), bare);
        }
    }

    #[test]
    fn every_kind_reads_back() {
        let value = sample();
        for json in [serde_json::to_string(&value).unwrap(), serde_json::to_string_pretty(&value).unwrap()] {
            let back = read(&json).unwrap();
            assert!(same(&value, &back), "{json}\nread back as\n{back:?}");
            // And writes the same text again.
            assert_eq!(serde_json::to_string_pretty(&back).unwrap(), serde_json::to_string_pretty(&value).unwrap());
        }
    }

    #[test]
    fn map_entries_keep_document_order() {
        let back = read(r#"{"t":"map","v":[["z",{"t":"int","v":1}],["a",{"t":"int","v":2}],["m",{"t":"int","v":3}]]}"#)
            .unwrap();
        let Kind::Map(entries) = &back.kind else { panic!("not a map: {back:?}") };
        assert_eq!(entries.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["z", "a", "m"]);
    }

    #[test]
    fn keys_in_any_order() {
        let origin = r#""at":{"line":4,"path":"p"}"#;
        let cases = [
            (r#""t":"str""#, r#""v":"x""#, Value::str("x")),
            (r#""t":"int""#, r#""v":-3"#, Value::int(-3)),
            (r#""t":"size""#, r#""v":5"#, Value::new(Kind::Size(5))),
            (r#""t":"duration""#, r#""v":9223372036854775807"#, Value::new(Kind::Duration(i64::MAX))),
            (r#""t":"bool""#, r#""v":true"#, Value::bool(true)),
            (r#""t":"float""#, r#""v":2.5"#, Value::new(Kind::Float(2.5))),
            (r#""t":"float""#, r#""v":2"#, Value::new(Kind::Float(2.0))),
            (r#""t":"float""#, r#""v":-2"#, Value::new(Kind::Float(-2.0))),
            (r#""t":"float""#, r#""v":"NaN""#, Value::new(Kind::Float(f64::NAN))),
            (r#""t":"float""#, r#""v":"inf""#, Value::new(Kind::Float(f64::INFINITY))),
            (r#""t":"regex""#, r#""v":"^a$""#, Value::new(Kind::Regex(Arc::from("^a$")))),
            (r#""t":"null""#, r#""v":null"#, Value::null()),
            (
                r#""t":"secret""#,
                r#""v":{"redacted":"AKIA*************PLE"}"#,
                Value::new(Kind::Secret { clear: None, redacted: Arc::from("AKIA*************PLE") }),
            ),
            (
                r#""t":"list""#,
                r#""v":[{"v":"a","t":"str"},{"at":{"line":1},"t":"list","v":[]}]"#,
                Value::list(vec![
                    Value::str("a"),
                    Value::list(vec![]).with_origin(Origin { path: None, line: Some(1), uri: None }),
                ]),
            ),
            (
                r#""t":"map""#,
                r#""v":[["k",{"v":[["n",{"t":"null"}]],"t":"map"}],["l",{"t":"list","v":[]}]]"#,
                Value::map(vec![
                    ("k".into(), Value::map(vec![("n".into(), Value::null())])),
                    ("l".into(), Value::list(vec![])),
                ]),
            ),
        ];
        for (t, v, expected) in cases {
            let located = expected.clone().with_origin(Origin::file("p", Some(4)));
            for (json, expected) in [
                (format!("{{{t},{v}}}"), &expected),
                (format!("{{{v},{t}}}"), &expected),
                (format!("{{{t},{v},{origin}}}"), &located),
                (format!("{{{origin},{t},{v}}}"), &located),
                (format!("{{{v},{origin},{t}}}"), &located),
                (format!("{{{origin},{v},{t}}}"), &located),
            ] {
                let back = read(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
                assert!(same(&back, expected), "{json} read as {back:?}");
            }
        }
    }

    #[test]
    fn a_secret_never_reads_its_clear_text() {
        for json in [
            r#"{"t":"secret","v":{"redacted":"********","clear":"hunter2"}}"#,
            r#"{"v":{"clear":"hunter2","redacted":"********"},"t":"secret"}"#,
        ] {
            let back = read(json).unwrap();
            assert_eq!(back.kind, Kind::Secret { clear: None, redacted: Arc::from("********") });
            assert_eq!(back.as_str(), Some("********"));
        }
    }

    #[test]
    fn unknown_keys_are_skipped() {
        let back = read(r#"{"t":"int","later":{"a":[1,2]},"v":1,"at":null}"#).unwrap();
        assert_eq!(back, Value::int(1));
    }

    #[test]
    fn malformed_values_are_errors() {
        let cases = [
            (r#"{"t":"int","v":"x"}"#, "invalid type: string \"x\", expected i64"),
            (r#"{"v":"x","t":"int"}"#, "invalid type: string \"x\", expected an i64"),
            (r#"{"t":"int","v":1.5}"#, "invalid type: floating point `1.5`, expected i64"),
            (r#"{"v":1.5,"t":"size"}"#, "invalid type: floating point `1.5`, expected an i64"),
            (r#"{"v":9223372036854775808,"t":"int"}"#, "invalid value: integer `9223372036854775808`, expected an i64"),
            (r#"{"t":"int","v":9223372036854775808}"#, "invalid value: integer `9223372036854775808`, expected i64"),
            (r#"{"t":"bytes","v":"x"}"#, "unknown variant `bytes`"),
            (r#"{"v":"x","t":"bytes"}"#, "unknown variant `bytes`"),
            (r#"{"t":3,"v":"x"}"#, "invalid type: integer `3`"),
            (r#"{"t":"str"}"#, "missing field `v`"),
            (r#"{"v":"x"}"#, "missing field `t`"),
            (r#"{}"#, "missing field `t`"),
            (r#"{"t":"str","t":"str","v":"x"}"#, "duplicate field `t`"),
            (r#"{"t":"str","v":"x","v":"y"}"#, "duplicate field `v`"),
            (r#"{"v":"x","v":"y","t":"str"}"#, "duplicate field `v`"),
            (r#"{"t":"str","v":"x","at":{},"at":{}}"#, "duplicate field `at`"),
            (r#"{"t":"null","v":1}"#, "invalid type: integer `1`, expected unit"),
            (r#"{"v":1,"t":"null"}"#, "invalid type: integer `1`, expected null"),
            (r#"{"t":"bool","v":"true"}"#, "invalid type: string \"true\", expected a boolean"),
            (r#"{"t":"float","v":"nan"}"#, "invalid value: string \"nan\""),
            (r#"{"v":"Infinity","t":"float"}"#, "invalid value: string \"Infinity\""),
            (r#"{"v":[],"t":"float"}"#, "invalid type: sequence"),
            (r#"{"t":"str","v":null}"#, "invalid type: null, expected a string"),
            (r#"{"t":"list","v":{"t":"null"}}"#, "invalid type: map, expected a list of values"),
            (r#"{"t":"list","v":[["k",{"t":"null"}]]}"#, "invalid type: sequence"),
            (r#"{"v":[["k",{"t":"null"}]],"t":"list"}"#, "invalid type: sequence, expected a value"),
            (r#"{"t":"map","v":[{"t":"null"}]}"#, "invalid type: map"),
            (r#"{"v":[{"t":"null"}],"t":"map"}"#, "invalid type: map, expected a `[key, value]` pair"),
            (r#"{"t":"map","v":[["k"]]}"#, "invalid length 1"),
            (r#"{"v":[["k"]],"t":"map"}"#, "invalid length 1"),
            (r#"{"t":"map","v":[["k",{"t":"null"},3]]}"#, "trailing characters"),
            (r#"{"v":[["k",{"t":"null"},3]],"t":"map"}"#, "invalid length 3"),
            (r#"{"t":"map","v":[[1,{"t":"null"}]]}"#, "invalid type: integer `1`, expected a string"),
            (r#"{"t":"map","v":[["k",{"t":"str","v":2}]]}"#, "invalid type: integer `2`"),
            (r#"{"t":"secret","v":"AKIA"}"#, "invalid type: string \"AKIA\""),
            (r#"{"t":"secret","v":{}}"#, "missing field `redacted`"),
            (r#"{"v":{},"t":"secret"}"#, "missing field `redacted`"),
            (r#"{"v":"x","t":"secret"}"#, "invalid type: string \"x\", expected a secret"),
            (r#"{"t":"str","v":"x","at":"a.yml"}"#, "invalid type: string \"a.yml\""),
            (r#"{"t":"str","v":"x","at":{"line":-1}}"#, "invalid value: integer `-1`"),
            (r#""x""#, "invalid type: string \"x\", expected a value"),
            (r#"[{"t":"null"}]"#, "invalid type: sequence, expected a value"),
            (r#"null"#, "invalid type: null, expected a value"),
            (r#"{"t":"str","v":"x""#, "EOF while parsing an object"),
        ];
        for (json, message) in cases {
            match read(json) {
                Ok(v) => panic!("{json} read as {v:?}"),
                Err(e) => assert!(e.contains(message), "{json}: {e:?} does not contain {message:?}"),
            }
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 10_000;
        let json = r#"{"t":"list","v":["#.repeat(depth) + &"]}".repeat(depth);
        assert!(read(&json).unwrap_err().contains("recursion limit exceeded"));
        let json = r#"{"v":["#.repeat(depth) + &"]}".repeat(depth);
        assert!(read(&json).unwrap_err().contains("recursion limit exceeded"));
    }

    #[test]
    fn a_kind_reads_back_alone() {
        let value = sample();
        let back: Kind = serde_json::from_str(&serde_json::to_string(&value.kind).unwrap()).unwrap();
        assert!(same(&Value::new(back), &Value::new(value.kind)));
    }
}
