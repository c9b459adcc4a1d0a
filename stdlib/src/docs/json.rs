//! JSON: validated by `serde_json` (which gives proper JSON errors), then
//! built with positions from the YAML event parser, JSON being (nearly) a
//! subset of YAML 1.2 flow style.
//!
//! Two differences are smoothed out before the YAML parser sees the text,
//! without moving anything to another line: tabs (JSON whitespace, but not
//! allowed after `:` in YAML) and lone carriage returns become spaces, and
//! UTF-16 surrogate pair escapes (`\ud83d\ude00`), which YAML does not
//! accept, become the equivalent `\U0001f600`.

use super::{line_u32, yaml, DocError, MapBuilder, MAX_DEPTH};
use mlpol_lang::value::{Kind, Origin, Value};
use std::sync::Arc;

pub(super) fn parse(path: &str, text: &str) -> Result<Value, DocError> {
    let checked: serde_json::Value = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    let prepared = prepare(text);
    match yaml::parse(path, &prepared, yaml::Mode::Json) {
        Ok(value) => Ok(value),
        // Valid JSON that the YAML parser still refuses: keep the values,
        // without lines (and with object keys sorted).
        Err(_) => from_serde(path, &checked),
    }
}

fn json_error(path: &str, e: &serde_json::Error) -> DocError {
    let text = e.to_string();
    // serde_json appends " at line L column C"; the line is reported apart.
    let message = match text.rfind(" at line ") {
        Some(i) => text.get(..i).unwrap_or(&text),
        None => &text,
    };
    let line = (e.line() > 0).then(|| line_u32(e.line()));
    DocError::new(path, line, message)
}

/// Makes valid JSON acceptable to the YAML parser, keeping every value on
/// its line.
fn prepare(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut in_string = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if in_string {
            match b {
                b'"' => in_string = false,
                b'\\' => {
                    if let Some(code) = surrogate_pair(bytes, i) {
                        out.extend_from_slice(format!("\\U{code:08x}").as_bytes());
                        i += 12;
                        continue;
                    }
                    // Copy the escape and the escaped byte together.
                    out.push(b);
                    if let Some(&next) = bytes.get(i + 1) {
                        out.push(next);
                    }
                    i += 2;
                    continue;
                }
                _ => {}
            }
            out.push(b);
        } else {
            match b {
                b'"' => {
                    in_string = true;
                    out.push(b);
                }
                b'\t' => out.push(b' '),
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => out.push(b' '),
                _ => out.push(b),
            }
        }
        i += 1;
    }
    // Only ASCII was replaced by ASCII, so this is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `\uD8xx\uDCxx` at `at` → the code point.
fn surrogate_pair(bytes: &[u8], at: usize) -> Option<u32> {
    let hex = |from: usize| -> Option<u32> {
        let digits = bytes.get(from..from + 4)?;
        let s = std::str::from_utf8(digits).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    if bytes.get(at..at + 2)? != b"\\u" || bytes.get(at + 6..at + 8)? != b"\\u" {
        return None;
    }
    let high = hex(at + 2)?;
    let low = hex(at + 8)?;
    if (0xD800..0xDC00).contains(&high) && (0xDC00..0xE000).contains(&low) {
        Some(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    } else {
        None
    }
}

/// The fallback: values from `serde_json`, each with the path but no line.
fn from_serde(path: &str, value: &serde_json::Value) -> Result<Value, DocError> {
    let origin = Arc::new(Origin::file(path, None));
    convert(path, value, &origin, 0)
}

fn convert(path: &str, value: &serde_json::Value, origin: &Arc<Origin>, depth: usize) -> Result<Value, DocError> {
    if depth > MAX_DEPTH {
        return Err(DocError::new(path, None, format!("nesting deeper than {MAX_DEPTH} levels")));
    }
    let kind = match value {
        serde_json::Value::Null => Kind::Null,
        serde_json::Value::Bool(b) => Kind::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Kind::Int(i),
            None => Kind::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Kind::Str(Arc::from(s.as_str())),
        serde_json::Value::Array(items) => {
            Kind::List(Arc::new(items.iter().map(|v| convert(path, v, origin, depth + 1)).collect::<Result<_, _>>()?))
        }
        serde_json::Value::Object(entries) => {
            let mut map = MapBuilder::default();
            for (k, v) in entries {
                map.insert(k.clone(), convert(path, v, origin, depth + 1)?);
            }
            map.into_value().kind
        }
    };
    Ok(Value::new(kind).with_origin_arc(Some(origin.clone())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prepare_keeps_lines_and_rewrites_what_yaml_refuses() {
        let src = "{\t\"a\":\t\"\\ud83d\\ude00\\\\ud83d\"\r\n,\"b\":1\r}";
        let out = prepare(src);
        assert_eq!(out, "{ \"a\": \"\\U0001f600\\\\ud83d\"\r\n,\"b\":1 }");
        assert_eq!(src.matches('\n').count(), out.matches('\n').count());
    }

    #[test]
    fn fallback_keeps_values_without_lines() {
        let checked: serde_json::Value = serde_json::from_str("{\"b\": [1, 2.5], \"a\": null}").unwrap();
        let v = from_serde("f.json", &checked).unwrap();
        assert_eq!(v.get("a").map(|a| a.kind.clone()), Some(Kind::Null));
        let b = v.get("b").unwrap();
        assert_eq!(b.origin.as_ref().unwrap().path.as_deref(), Some("f.json"));
        assert_eq!(b.origin.as_ref().unwrap().line, None);
    }
}
