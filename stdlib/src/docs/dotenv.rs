//! dotenv files: `KEY=value` lines, an optional `export ` prefix, `#`
//! comments (whole lines, and after whitespace following an unquoted
//! value), blank lines. `'...'` values are literal, `"..."` values take
//! `\n`, `\r`, `\t`, `\\`, `\"`, `\'` and `\$` escapes; quoted values may
//! span lines. Variables (`${X}`) are not expanded.

use super::{line_u32, DocError, MapBuilder, Origins};
use mlpol_lang::value::Value;

pub(super) fn parse(path: &str, text: &str) -> Result<Value, DocError> {
    let mut origins = Origins::new(path);
    let mut map = MapBuilder::default();
    // Byte offset of the next line, and its 1-based number.
    let mut pos = 0usize;
    let mut line_no = 0usize;
    while pos < text.len() {
        line_no += 1;
        let line = line_u32(line_no);
        let (raw, next) = line_at(text, pos);
        pos = next;
        let stripped = raw.trim();
        if stripped.is_empty() || stripped.starts_with('#') {
            continue;
        }
        let body = match stripped.strip_prefix("export") {
            Some(r) if r.starts_with([' ', '\t']) => r.trim_start(),
            _ => stripped,
        };
        let Some(eq) = body.find('=') else {
            return Err(DocError::new(path, Some(line), "expected KEY=VALUE"));
        };
        let key = body.get(..eq).unwrap_or_default().trim();
        if !valid_key(key) {
            return Err(DocError::new(path, Some(line), format!("invalid variable name {key:?}")));
        }
        let value_text = body.get(eq + 1..).unwrap_or_default().trim_start();
        let value = match value_text.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                // The value may run on over the next lines: scan from just
                // after the opening quote through the rest of the file.
                let open = offset_in(text, value_text);
                let from = text.get(open + 1..).unwrap_or_default();
                let Some((value, used)) = quoted(from, quote) else {
                    return Err(DocError::new(path, Some(line), "unterminated quoted value"));
                };
                let close = open + 1 + used;
                line_no += text.get(open..close).unwrap_or_default().matches('\n').count();
                let (trailing, next) = line_at(text, close);
                let trailing = trailing.trim();
                if !(trailing.is_empty() || trailing.starts_with('#')) {
                    return Err(DocError::new(
                        path,
                        Some(line_u32(line_no)),
                        "unexpected text after the closing quote",
                    ));
                }
                pos = next;
                value
            }
            _ => unquoted(value_text),
        };
        map.insert(key.to_string(), origins.put(Value::str(value), line));
    }
    Ok(origins.put(map.into_value(), 1))
}

/// The line starting at byte `pos` (without its `\n` or `\r\n`) and the
/// offset of the next line.
fn line_at(text: &str, pos: usize) -> (&str, usize) {
    let rest = text.get(pos..).unwrap_or_default();
    let (line, next) = match rest.find('\n') {
        Some(i) => (rest.get(..i).unwrap_or_default(), pos + i + 1),
        None => (rest, text.len()),
    };
    (line.strip_suffix('\r').unwrap_or(line), next)
}

/// Byte offset of `part`, a slice of `text`, within `text`.
fn offset_in(text: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// An unquoted value: up to a `#` that follows whitespace, trimmed.
fn unquoted(text: &str) -> String {
    let mut end = text.len();
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        if c == '#' && prev_space {
            end = i;
            break;
        }
        prev_space = c.is_whitespace();
    }
    text.get(..end).unwrap_or_default().trim().to_string()
}

/// The value of a quoted string starting just after its opening `quote`,
/// and the number of bytes used including the closing quote.
fn quoted(text: &str, quote: char) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Some((out, i + c.len_utf8()));
        }
        if c == '\\' && quote == '"' {
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 't')) => out.push('\t'),
                Some((_, e @ ('\\' | '"' | '\'' | '$'))) => out.push(e),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => return None,
            }
            continue;
        }
        if c == '\r' {
            continue;
        }
        out.push(c);
    }
    None
}
