//! INI files read the way Python's `configparser` reads them with its
//! defaults (airflow.cfg, setup.cfg, `.dvc/config`, MLflow's
//! `basic_auth.ini`):
//!
//! * `[section]` headers, the name kept verbatim (`'remote "storage"'`);
//! * `key = value` and `key: value`, split at the first `=` or `:`; keys
//!   lower-cased, values trimmed, inline comments kept as part of the value;
//! * lines whose first non-blank character is `#` or `;` are comments;
//! * lines indented deeper than their key continue its value (joined with
//!   `\n`; blank lines inside such a value are kept, trailing ones dropped);
//! * keys of a `[DEFAULT]` section also appear in every other section that
//!   does not set them (with their `[DEFAULT]` lines).
//!
//! Unlike `configparser`'s strict mode, a repeated section continues the
//! earlier one and a repeated key replaces the earlier value. All values are
//! strings; interpolation (`%(name)s`) is not performed.

use super::{line_u32, DocError, Origins};
use mlpol_lang::value::Value;
use std::collections::HashMap;

const DEFAULT_SECTION: &str = "DEFAULT";

struct Entry {
    key: String,
    line: u32,
    parts: Vec<String>,
}

struct Section {
    name: String,
    line: u32,
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
}

pub(super) fn parse(path: &str, text: &str) -> Result<Value, DocError> {
    let mut sections: Vec<Section> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    // Open section, and the option whose value may continue.
    let mut current: Option<usize> = None;
    let mut option: Option<usize> = None;
    let mut indent_level = 0usize;

    for (i, raw) in text.lines().enumerate() {
        let line = line_u32(i + 1);
        let stripped = raw.trim();
        let comment = stripped.starts_with('#') || stripped.starts_with(';');
        if stripped.is_empty() || comment {
            // A blank line may be part of a multi-line value; a comment is not.
            if !comment {
                if let Some(entry) = current_entry(&mut sections, current, option) {
                    entry.parts.push(String::new());
                }
            }
            continue;
        }
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
        if indent > indent_level {
            if let Some(entry) = current_entry(&mut sections, current, option) {
                entry.parts.push(stripped.to_string());
                continue;
            }
        }
        indent_level = indent;
        if let Some(name) = section_header(stripped) {
            let index = match by_name.get(name) {
                Some(&index) => index,
                None => {
                    by_name.insert(name.to_string(), sections.len());
                    sections.push(Section { name: name.to_string(), line, entries: Vec::new(), index: HashMap::new() });
                    sections.len() - 1
                }
            };
            current = Some(index);
            option = None;
            continue;
        }
        let Some(section) = current.and_then(|i| sections.get_mut(i)) else {
            return Err(DocError::new(path, Some(line), "key outside of any section"));
        };
        let Some(split) = stripped.find(['=', ':']) else {
            return Err(DocError::new(path, Some(line), "expected `key = value` or `key: value`"));
        };
        let key = stripped.get(..split).unwrap_or_default().trim_end().to_lowercase();
        let value = stripped.get(split + 1..).unwrap_or_default().trim().to_string();
        if key.is_empty() {
            return Err(DocError::new(path, Some(line), "missing key before the delimiter"));
        }
        let entry = Entry { key: key.clone(), line, parts: vec![value] };
        let index = match section.index.get(&key) {
            Some(&index) => {
                if let Some(slot) = section.entries.get_mut(index) {
                    *slot = entry;
                }
                index
            }
            None => {
                section.index.insert(key, section.entries.len());
                section.entries.push(entry);
                section.entries.len() - 1
            }
        };
        option = Some(index);
    }

    let mut origins = Origins::new(path);
    let defaults: Vec<(String, u32, String)> = by_name
        .get(DEFAULT_SECTION)
        .and_then(|&i| sections.get(i))
        .map(|s| s.entries.iter().map(|e| (e.key.clone(), e.line, join(&e.parts))).collect())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(sections.len());
    for section in sections {
        let mut entries: Vec<(String, Value)> = Vec::with_capacity(section.entries.len());
        for entry in &section.entries {
            let value = origins.put(Value::str(join(&entry.parts)), entry.line);
            entries.push((entry.key.clone(), value));
        }
        if section.name != DEFAULT_SECTION {
            for (key, line, value) in &defaults {
                if !section.index.contains_key(key) {
                    entries.push((key.clone(), origins.put(Value::str(value), *line)));
                }
            }
        }
        out.push((section.name, origins.put(Value::map(entries), section.line)));
    }
    Ok(origins.put(Value::map(out), 1))
}

fn current_entry(sections: &mut [Section], current: Option<usize>, option: Option<usize>) -> Option<&mut Entry> {
    sections.get_mut(current?)?.entries.get_mut(option?)
}

/// `[name]` → `name` (to the last `]`, as configparser's `\[(?P<header>.+)\]`).
fn section_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    let name = rest.get(..end)?;
    (!name.is_empty()).then_some(name)
}

fn join(parts: &[String]) -> String {
    parts.join("\n").trim_end().to_string()
}
