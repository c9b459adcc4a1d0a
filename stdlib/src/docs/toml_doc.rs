//! TOML through `toml::de::DeTable::parse`, which keeps the byte span of
//! every key and value. Spans become lines; table entries are put back in
//! document order by the position of their keys (the table itself may be
//! sorted).

use super::{DocError, LineIndex, MapBuilder, Origins, MAX_DEPTH};
use mlpol_lang::value::{Kind, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub(super) fn parse(path: &str, text: &str) -> Result<Value, DocError> {
    // Should the third-party parser ever panic on odd input, report an error.
    match catch_unwind(AssertUnwindSafe(|| parse_inner(path, text))) {
        Ok(result) => result,
        Err(_) => Err(DocError::new(path, None, "toml parser failed on this input")),
    }
}

fn parse_inner(path: &str, text: &str) -> Result<Value, DocError> {
    let lines = LineIndex::new(text);
    let root = DeTable::parse(text).map_err(|e| {
        let line = e.span().map(|s| lines.line(s.start));
        DocError::new(path, line, e.message())
    })?;
    let mut cx = Cx { path, lines, origins: Origins::new(path) };
    let kind = cx.table(root.get_ref(), 1)?;
    Ok(cx.origins.put(Value::new(kind), 1))
}

struct Cx<'a> {
    path: &'a str,
    lines: LineIndex,
    origins: Origins,
}

impl Cx<'_> {
    fn table(&mut self, table: &DeTable<'_>, depth: usize) -> Result<Kind, DocError> {
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut map = MapBuilder::default();
        for (key, value) in entries {
            let line = self.lines.line(key.span().start);
            let converted = self.value(value, line, depth)?;
            map.insert(key.get_ref().to_string(), converted);
        }
        Ok(map.into_value().kind)
    }

    /// `value`, with its origin at `line`.
    fn value(&mut self, value: &Spanned<DeValue<'_>>, line: u32, depth: usize) -> Result<Value, DocError> {
        if depth > MAX_DEPTH {
            return Err(DocError::new(self.path, Some(line), format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let kind = match value.get_ref() {
            DeValue::String(s) => Kind::Str(Arc::from(s.as_ref())),
            DeValue::Integer(n) => {
                let digits = n.as_str().replace('_', "");
                match i64::from_str_radix(&digits, n.radix()) {
                    Ok(n) => Kind::Int(n),
                    Err(_) => return Err(DocError::new(self.path, Some(line), "integer out of range")),
                }
            }
            DeValue::Float(x) => {
                let text = x.as_str().replace('_', "");
                match text.parse::<f64>() {
                    Ok(x) => Kind::Float(x),
                    Err(_) => return Err(DocError::new(self.path, Some(line), "invalid float")),
                }
            }
            DeValue::Boolean(b) => Kind::Bool(*b),
            DeValue::Datetime(dt) => Kind::Str(Arc::from(dt.to_string())),
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    let item_line = self.lines.line(item.span().start);
                    out.push(self.value(item, item_line, depth + 1)?);
                }
                Kind::List(Arc::new(out))
            }
            DeValue::Table(table) => self.table(table, depth + 1)?,
        };
        Ok(self.origins.put(Value::new(kind), line))
    }
}
