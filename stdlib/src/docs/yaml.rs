//! YAML (and, for [`super::json`], JSON) from `yaml-rust2` parser events.
//!
//! The tree is built without recursion from the event stream: an explicit
//! stack of open collections, bounded by [`MAX_DEPTH`]. Aliases are
//! expanded by cloning the anchored value (cheap: collections are behind
//! `Arc`), but the number of values they stand for is counted against
//! [`MAX_NODES`] and their height against [`MAX_DEPTH`], which defeats
//! "billion laughs" documents and keeps every later walk of the tree shallow.

use super::{line_u32, DocError, MapBuilder, Origins, MAX_DEPTH, MAX_NODES};
use mlpol_lang::value::{Kind, Value};
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Yaml,
    /// Input already validated as JSON: one document, no merge keys.
    Json,
}

pub(super) fn parse(path: &str, text: &str, mode: Mode) -> Result<Value, DocError> {
    // The builder cannot panic, but the input is untrusted: should the
    // third-party parser ever panic, report a parse error instead.
    match catch_unwind(AssertUnwindSafe(|| parse_events(path, text, mode))) {
        Ok(result) => result,
        Err(_) => Err(DocError::new(path, None, "yaml parser failed on this input")),
    }
}

fn parse_events(path: &str, text: &str, mode: Mode) -> Result<Value, DocError> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::new(path, mode, last_line(text));
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|e| DocError::new(path, Some(line_u32(e.marker().line()).min(builder.last_line)), e.info()))?;
        if event == Event::StreamEnd {
            break;
        }
        builder.on_event(event, mark)?;
    }
    builder.finish()
}

/// The number of lines of `text` as YAML counts them (`\n`, `\r\n` or a
/// lone `\r` ends a line). The scanner puts the end of a text that does not
/// end in a line break on the line after it; errors and values there are
/// located on the last line instead.
fn last_line(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    line_u32(breaks + 1)
}

/// A finished node on its way to its parent.
struct Node {
    kind: Kind,
    line: u32,
    /// Values this node stands for (itself and everything below).
    size: usize,
    /// Collection levels: 0 for a scalar.
    height: usize,
    /// The text of a scalar, used when the node is a map key.
    text: Option<String>,
    /// A plain `<<` scalar.
    merge_key: bool,
}

struct Anchored {
    value: Value,
    size: usize,
    height: usize,
}

enum Body {
    Seq(Vec<Value>),
    Map(MapFrame),
}

#[derive(Default)]
struct MapFrame {
    /// Entries and merge sources, in document order.
    slots: Vec<Slot>,
    /// Explicit keys → index in `slots`.
    index: HashMap<String, usize>,
    pending: Option<PendingKey>,
    has_merge: bool,
}

enum Slot {
    Entry(String, Value),
    Merge(Value),
}

struct PendingKey {
    key: String,
    line: u32,
    merge: bool,
}

struct Frame {
    body: Body,
    line: u32,
    anchor: usize,
    nodes_at_start: usize,
    /// Greatest height among the children.
    child_height: usize,
}

struct Builder {
    path: String,
    mode: Mode,
    /// The last line of the text (see [`last_line`]).
    last_line: u32,
    origins: Origins,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    docs: Vec<Value>,
    /// Values so far, aliases counted at their expanded size.
    nodes: usize,
    /// Values produced by expanding aliases.
    expanded: usize,
}

impl Builder {
    fn new(path: &str, mode: Mode, last_line: u32) -> Builder {
        Builder {
            path: path.to_string(),
            mode,
            last_line,
            origins: Origins::new(path),
            stack: Vec::new(),
            anchors: HashMap::new(),
            docs: Vec::new(),
            nodes: 0,
            expanded: 0,
        }
    }

    fn error(&self, line: u32, message: impl AsRef<str>) -> DocError {
        DocError::new(&self.path, Some(line), message)
    }

    fn count(&mut self, n: usize) {
        self.nodes = self.nodes.saturating_add(n);
    }

    /// Counts the values an alias stands for against [`MAX_NODES`].
    fn count_expansion(&mut self, n: usize, line: u32) -> Result<(), DocError> {
        self.expanded = self.expanded.saturating_add(n);
        if self.expanded > MAX_NODES {
            return Err(self.error(line, format!("aliases expand to more than {MAX_NODES} values")));
        }
        self.count(n);
        Ok(())
    }

    fn on_event(&mut self, event: Event, mark: Marker) -> Result<(), DocError> {
        let line = line_u32(mark.line()).min(self.last_line);
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
            Event::DocumentStart => {
                // Anchors are local to a document.
                self.anchors.clear();
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1);
                let kind = resolve_scalar(&text, style, tag.as_ref());
                let merge_key =
                    self.mode == Mode::Yaml && style == TScalarStyle::Plain && text == "<<" && tag.is_none();
                let node = Node { kind, line, size: 1, height: 0, text: Some(text), merge_key };
                self.deliver(node, anchor)
            }
            Event::Alias(id) => {
                let Some(anchored) = self.anchors.get(&id) else {
                    return Err(self.error(line, "alias refers to an unknown or unfinished anchor"));
                };
                let (kind, size, height) = (anchored.value.kind.clone(), anchored.size, anchored.height);
                if self.stack.len().saturating_add(height) > MAX_DEPTH {
                    return Err(self.error(line, format!("nesting deeper than {MAX_DEPTH} levels")));
                }
                self.count_expansion(size, line)?;
                let node = Node { kind, line, size, height, text: None, merge_key: false };
                self.deliver(node, 0)
            }
            Event::SequenceStart(anchor, _) => self.open(Body::Seq(Vec::new()), line, anchor),
            Event::MappingStart(anchor, _) => self.open(Body::Map(MapFrame::default()), line, anchor),
            Event::SequenceEnd | Event::MappingEnd => self.close(line),
        }
    }

    fn open(&mut self, body: Body, line: u32, anchor: usize) -> Result<(), DocError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(line, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.count(1);
        self.stack.push(Frame { body, line, anchor, nodes_at_start: self.nodes, child_height: 0 });
        Ok(())
    }

    fn close(&mut self, line: u32) -> Result<(), DocError> {
        let Some(frame) = self.stack.pop() else {
            return Err(self.error(line, "unbalanced end of collection"));
        };
        let kind = match frame.body {
            Body::Seq(items) => Kind::List(Arc::new(items)),
            Body::Map(map) => {
                if map.pending.is_some() {
                    return Err(self.error(line, "mapping key without a value"));
                }
                finish_map(map)
            }
        };
        let size = self.nodes.saturating_sub(frame.nodes_at_start).saturating_add(1);
        let node = Node {
            kind,
            line: frame.line,
            size,
            height: frame.child_height.saturating_add(1),
            text: None,
            merge_key: false,
        };
        self.deliver(node, frame.anchor)
    }

    /// Hands a finished node to the open collection (or makes it a document).
    fn deliver(&mut self, node: Node, anchor: usize) -> Result<(), DocError> {
        if anchor != 0 {
            let value = self.origins.put(Value::new(node.kind.clone()), node.line);
            self.anchors.insert(anchor, Anchored { value, size: node.size, height: node.height });
        }
        let Some(frame) = self.stack.last_mut() else {
            let value = self.origins.put(Value::new(node.kind), node.line);
            if self.mode == Mode::Json && !self.docs.is_empty() {
                return Err(self.error(node.line, "more than one json value"));
            }
            self.docs.push(value);
            return Ok(());
        };
        frame.child_height = frame.child_height.max(node.height);
        match &mut frame.body {
            Body::Seq(items) => {
                let value = self.origins.put(Value::new(node.kind), node.line);
                items.push(value);
            }
            Body::Map(map) => match map.pending.take() {
                None => {
                    let key = match node.text {
                        Some(text) => text,
                        None => Value::new(node.kind).to_string(),
                    };
                    map.pending = Some(PendingKey { key, line: node.line, merge: node.merge_key });
                }
                Some(key) => {
                    let value = self.origins.put(Value::new(node.kind), key.line);
                    if key.merge {
                        map.has_merge = true;
                        map.slots.push(Slot::Merge(value));
                    } else {
                        match map.index.get(&key.key) {
                            Some(&i) => {
                                if let Some(Slot::Entry(_, old)) = map.slots.get_mut(i) {
                                    *old = value;
                                }
                            }
                            None => {
                                map.index.insert(key.key.clone(), map.slots.len());
                                map.slots.push(Slot::Entry(key.key, value));
                            }
                        }
                    }
                }
            },
        }
        Ok(())
    }

    fn finish(self) -> Result<Value, DocError> {
        if let Some(frame) = self.stack.last() {
            return Err(self.error(frame.line, "unexpected end of document"));
        }
        let mut origins = self.origins;
        let mut docs = self.docs;
        match docs.len() {
            0 => Ok(origins.put(Value::null(), 1)),
            1 => Ok(docs.pop().unwrap_or_else(Value::null)),
            _ => Ok(origins.put(Value::list(docs), 1)),
        }
    }
}

/// Applies `<<` merge keys: the entries of the merged maps (with several,
/// the earlier wins) that the mapping does not set itself, placed where the
/// `<<` is. A `<<` whose value is not a map or a list of maps stays an
/// ordinary entry.
fn finish_map(map: MapFrame) -> Kind {
    let mut out = MapBuilder::default();
    let explicit: HashSet<String> = if map.has_merge { map.index.keys().cloned().collect() } else { HashSet::new() };
    for slot in map.slots {
        match slot {
            Slot::Entry(k, v) => out.insert(k, v),
            Slot::Merge(source) => match &source.kind {
                Kind::Map(entries) => merge_into(&mut out, &explicit, entries),
                Kind::List(items) if items.iter().all(|i| matches!(i.kind, Kind::Map(_))) => {
                    for item in items.iter() {
                        if let Kind::Map(entries) = &item.kind {
                            merge_into(&mut out, &explicit, entries);
                        }
                    }
                }
                _ => out.insert("<<".to_string(), source),
            },
        }
    }
    out.into_value().kind
}

fn merge_into(out: &mut MapBuilder, explicit: &HashSet<String>, entries: &[(String, Value)]) {
    for (k, v) in entries {
        if !explicit.contains(k) && !out.contains(k) {
            out.insert(k.clone(), v.clone());
        }
    }
}

/// YAML 1.2 core schema resolution of a scalar.
fn resolve_scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Kind {
    let core = tag.and_then(|t| {
        let full = format!("{}{}", t.handle, t.suffix);
        full.strip_prefix("tag:yaml.org,2002:").map(str::to_string)
    });
    let str_kind = || Kind::Str(Arc::from(text));
    match core.as_deref() {
        Some("str") => return str_kind(),
        Some("null") => return Kind::Null,
        Some("bool") => {
            return match resolve_plain(text) {
                k @ Kind::Bool(_) => k,
                _ => str_kind(),
            }
        }
        Some("int") => {
            return match resolve_plain(text) {
                k @ Kind::Int(_) => k,
                _ => str_kind(),
            }
        }
        Some("float") => {
            return match resolve_plain(text) {
                Kind::Int(n) => Kind::Float(n as f64),
                k @ Kind::Float(_) => k,
                _ => str_kind(),
            }
        }
        _ => {}
    }
    if style == TScalarStyle::Plain {
        resolve_plain(text)
    } else {
        str_kind()
    }
}

fn resolve_plain(text: &str) -> Kind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "true" | "True" | "TRUE" => return Kind::Bool(true),
        "false" | "False" | "FALSE" => return Kind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Kind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Kind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Kind::Float(f64::NAN),
        _ => {}
    }
    if is_decimal_int(text) {
        return match text.parse::<i64>() {
            Ok(n) => Kind::Int(n),
            Err(_) => match text.parse::<f64>() {
                Ok(x) => Kind::Float(x),
                Err(_) => Kind::Str(Arc::from(text)),
            },
        };
    }
    for (prefix, radix, valid) in [("0x", 16, u8::is_ascii_hexdigit as fn(&u8) -> bool), ("0o", 8, is_octal_digit)] {
        if let Some(digits) = text.strip_prefix(prefix) {
            if !digits.is_empty() && digits.as_bytes().iter().all(valid) {
                if let Ok(n) = i64::from_str_radix(digits, radix) {
                    return Kind::Int(n);
                }
            }
            return Kind::Str(Arc::from(text));
        }
    }
    if is_float(text) {
        if let Ok(x) = text.parse::<f64>() {
            return Kind::Float(x);
        }
    }
    Kind::Str(Arc::from(text))
}

fn is_octal_digit(b: &u8) -> bool {
    (b'0'..=b'7').contains(b)
}

fn strip_sign(text: &str) -> &str {
    text.strip_prefix(['-', '+']).unwrap_or(text)
}

fn is_decimal_int(text: &str) -> bool {
    let digits = strip_sign(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(text: &str) -> bool {
    let s = strip_sign(text).as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while s.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_digits = digits(&mut i);
    if s.get(i) == Some(&b'.') {
        i += 1;
        let frac_digits = digits(&mut i);
        if int_digits == 0 && frac_digits == 0 {
            return false;
        }
    } else if int_digits == 0 {
        return false;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == s.len()
}
