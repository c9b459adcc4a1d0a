//! pip requirements files (`requirements.txt`, `constraints.txt`,
//! pip-tools `.in` files), read the way pip reads them:
//!
//! * a line ending in `\` continues on the next (unless it is a comment
//!   line); the logical line is located at its first line;
//! * `#` at the start of a line or after whitespace starts a comment;
//! * lines starting with `-` hold options: `-r`/`--requirement` and
//!   `-c`/`--constraint` give `includes`, `-e`/`--editable` an editable
//!   requirement, the others (`--index-url`, `--extra-index-url`,
//!   `--find-links`, `--trusted-host`, `--no-index`, ...) `options`;
//! * other lines are PEP 508 requirements (`name[extras] specifiers ;
//!   marker`, `name @ url`) or URLs and paths (`git+https://...#egg=name`,
//!   `./pkg`, `pkg.whl`), optionally followed by `--hash=algo:digest`
//!   and other per-requirement options.
//!
//! The result:
//!
//! ```text
//! { requirements: [ { name, raw, specifier, pinned, hashes, extras, marker,
//!                     url, editable, line } ],
//!   includes: [ { kind: "requirement" | "constraint", path, line } ],
//!   options: [ { option, value, credentials, line } ] }
//! ```
//!
//! `name` is normalized as PEP 503 says (lowercase, runs of `-_.` → `-`),
//! and null for a URL or path that names no project. `specifier` has the
//! clauses joined by `,` without blanks (`>=1,<2`); `pinned` is true for a
//! single `==`/`===` clause without a wildcard. A password in a URL
//! (`https://user:pass@host`) is replaced by `********` everywhere, `raw`
//! included; `credentials` tells whether an option's value had one.
//! Environment variables (`${VAR}`) are not expanded (and a password that
//! is only a variable reference is kept and does not count). A line that
//! is not a valid requirement or option is a [`DocError`] at its line.

use super::{line_u32, DocError, Origins};
use mlpol_lang::value::{record, shorten, Value};

const MASK: &str = "********";

/// File name endings of distributions.
const ARCHIVES: &[&str] = &[".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"];

/// Options that take no value.
const SWITCHES: &[&str] =
    &["--no-index", "--pre", "--prefer-binary", "--require-hashes", "--no-deps", "--no-build-isolation"];

/// Environment marker variables (PEP 508 and the legacy dotted names).
const MARKER_VARIABLES: &[&str] = &[
    "python_version",
    "python_full_version",
    "os_name",
    "sys_platform",
    "platform_release",
    "platform_system",
    "platform_version",
    "platform_machine",
    "platform_python_implementation",
    "implementation_name",
    "implementation_version",
    "extra",
    "extras",
    "dependency_groups",
    "os.name",
    "sys.platform",
    "platform.version",
    "platform.machine",
    "platform.python_implementation",
    "python_implementation",
];

pub(super) fn parse(path: &str, text: &str) -> Result<Value, DocError> {
    let mut origins = Origins::new(path);
    let mut requirements = Vec::new();
    let mut includes = Vec::new();
    let mut options = Vec::new();

    for (line, logical) in logical_lines(text) {
        let content = strip_comment(&logical).trim();
        if content.is_empty() {
            continue;
        }
        let err = |message: String| DocError::new(path, Some(line), message);
        if content.starts_with('-') {
            for (name, value) in option_words(content).map_err(err)? {
                let o = &mut origins;
                match name.as_str() {
                    "--requirement" | "--constraint" => {
                        let Some(file) = value else {
                            return Err(err(format!("{name} needs a file name")));
                        };
                        let kind = if name == "--requirement" { "requirement" } else { "constraint" };
                        let value = record(vec![
                            ("kind", o.put(Value::str(kind), line)),
                            ("path", o.put(Value::str(redact_urls(&file).0), line)),
                            ("line", o.put(line_value(line), line)),
                        ]);
                        includes.push(o.put(value, line));
                    }
                    "--editable" => {
                        let Some(target) = value else {
                            return Err(err("--editable needs a path or URL".to_string()));
                        };
                        let mut req = requirement(&target).map_err(err)?;
                        req.editable = true;
                        requirements.push(req.into_value(o, content, line));
                    }
                    "--hash" => return Err(err("--hash must follow a requirement on the same line".to_string())),
                    _ => {
                        let (value, credentials) = match value {
                            Some(v) => {
                                let (redacted, had) = redact_urls(&v);
                                (o.put(Value::str(redacted), line), had)
                            }
                            None => (o.put(Value::null(), line), false),
                        };
                        let value = record(vec![
                            ("option", o.put(Value::str(&name), line)),
                            ("value", value),
                            ("credentials", o.put(Value::bool(credentials), line)),
                            ("line", o.put(line_value(line), line)),
                        ]);
                        options.push(o.put(value, line));
                    }
                }
            }
            continue;
        }
        let (spec, opts) = split_options(content);
        let mut req = requirement(spec).map_err(err)?;
        for (name, value) in option_words(opts).map_err(err)? {
            if name == "--hash" {
                let Some(hash) = value.filter(|h| valid_hash(h)) else {
                    return Err(err("--hash needs a value like sha256:<hex digest>".to_string()));
                };
                req.hashes.push(hash);
            }
        }
        requirements.push(req.into_value(&mut origins, content, line));
    }

    let top = record(vec![
        ("requirements", origins.put(Value::list(requirements), 1)),
        ("includes", origins.put(Value::list(includes), 1)),
        ("options", origins.put(Value::list(options), 1)),
    ]);
    Ok(origins.put(top, 1))
}

fn line_value(line: u32) -> Value {
    Value::int(i64::from(line))
}

/// Physical lines joined where one ends in `\` (pip's `join_lines`), each
/// with the number of its first line.
fn logical_lines(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(u32, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = line_u32(i + 1);
        let comment = raw.trim_start().starts_with('#');
        if !raw.ends_with('\\') || comment {
            match pending.take() {
                Some((start, mut joined)) => {
                    if comment {
                        joined.push(' ');
                    }
                    joined.push_str(raw);
                    out.push((start, joined));
                }
                None => out.push((line, raw.to_string())),
            }
        } else {
            let part = raw.trim_matches('\\');
            match &mut pending {
                Some((_, joined)) => joined.push_str(part),
                None => pending = Some((line, part.to_string())),
            }
        }
    }
    if let Some(last) = pending {
        out.push(last);
    }
    out
}

/// The line up to a `#` at its start or after whitespace.
fn strip_comment(line: &str) -> &str {
    match find_after_blank(line, '#') {
        Some(i) => line.get(..i).unwrap_or_default(),
        None => line,
    }
}

/// The requirement (the words before the first one starting with `-`) and
/// the options after it.
fn split_options(line: &str) -> (&str, &str) {
    match find_after_blank(line, '-') {
        Some(i) => (line.get(..i).unwrap_or_default().trim(), line.get(i..).unwrap_or_default()),
        None => (line.trim(), ""),
    }
}

/// The first `c` at the start of `line` or after whitespace.
fn find_after_blank(line: &str, c: char) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = line.get(from..).and_then(|rest| rest.find(c)) {
        let at = from + i;
        let before = line.get(..at).unwrap_or_default();
        if before.is_empty() || before.ends_with(char::is_whitespace) {
            return Some(at);
        }
        from = at + c.len_utf8();
    }
    None
}

/// `-x value`, `-xvalue`, `--name value`, `--name=value` and switches; short
/// names are given their long form.
fn option_words(text: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let words = split_words(text)?;
    let mut out = Vec::new();
    let mut iter = words.into_iter().peekable();
    while let Some(word) = iter.next() {
        let (name, inline) = if let Some(long) = word.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v.to_string())),
                None => (word.clone(), None),
            }
        } else if let Some(short) = word.strip_prefix('-') {
            let mut chars = short.chars();
            let Some(letter) = chars.next() else {
                return Err("empty option".to_string());
            };
            let long = match letter {
                'r' => "--requirement",
                'c' => "--constraint",
                'e' => "--editable",
                'i' => "--index-url",
                'f' => "--find-links",
                _ => return Err(format!("unknown option -{letter}")),
            };
            let rest = chars.as_str().trim_start_matches('=');
            (long.to_string(), (!rest.is_empty()).then(|| rest.to_string()))
        } else {
            return Err(format!("expected an option, found {:?}", shorten(&word, 60)));
        };
        if name == "--" {
            return Err("empty option".to_string());
        }
        let value = match inline {
            Some(v) => Some(v),
            None if SWITCHES.contains(&name.as_str()) => None,
            None => match iter.peek() {
                Some(next) if !next.starts_with('-') => iter.next(),
                _ => None,
            },
        };
        out.push((name, value));
    }
    Ok(out)
}

/// Blank-separated words, quotes removed (as `shlex.split`).
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' | '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some(other) => word.push(other),
                        None => return Err("unterminated quote".to_string()),
                    }
                }
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[derive(Default)]
struct Requirement {
    name: Option<String>,
    specifier: Option<String>,
    pinned: bool,
    hashes: Vec<String>,
    extras: Vec<String>,
    marker: Option<String>,
    url: Option<String>,
    editable: bool,
}

impl Requirement {
    fn into_value(self, o: &mut Origins, raw: &str, line: u32) -> Value {
        let opt = |o: &mut Origins, s: Option<String>| match s {
            Some(s) => o.put(Value::str(s), line),
            None => o.put(Value::null(), line),
        };
        let hashes = self.hashes.iter().map(|h| o.put(Value::str(h), line)).collect();
        let extras = self.extras.iter().map(|e| o.put(Value::str(e), line)).collect();
        let value = record(vec![
            ("name", opt(o, self.name)),
            ("raw", o.put(Value::str(redact_urls(raw).0), line)),
            ("specifier", opt(o, self.specifier)),
            ("pinned", o.put(Value::bool(self.pinned), line)),
            ("hashes", o.put(Value::list(hashes), line)),
            ("extras", o.put(Value::list(extras), line)),
            ("marker", opt(o, self.marker)),
            ("url", opt(o, self.url.map(|u| redact_urls(&u).0))),
            ("editable", o.put(Value::bool(self.editable), line)),
            ("line", o.put(line_value(line), line)),
        ]);
        o.put(value, line)
    }
}

/// A PEP 508 requirement, or a URL or path.
fn requirement(text: &str) -> Result<Requirement, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty requirement".to_string());
    }
    if looks_like_url_or_path(text) {
        return url_requirement(text);
    }
    let invalid = |why: &str| format!("invalid requirement {:?}: {why}", shorten(text, 60));

    let name_end =
        text.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))).unwrap_or(text.len());
    let name = text.get(..name_end).unwrap_or_default();
    if !valid_name(name) {
        return Err(invalid("expected a project name"));
    }
    let mut req = Requirement { name: Some(normalize(name)), ..Requirement::default() };
    let mut rest = text.get(name_end..).unwrap_or_default().trim_start();

    if let Some(after) = rest.strip_prefix('[') {
        let Some(close) = after.find(']') else {
            return Err(invalid("unclosed `[` of extras"));
        };
        for extra in after.get(..close).unwrap_or_default().split(',') {
            let extra = extra.trim();
            if extra.is_empty() {
                continue;
            }
            if !valid_name(extra) {
                return Err(invalid("bad extra name"));
            }
            req.extras.push(extra.to_string());
        }
        rest = after.get(close + 1..).unwrap_or_default().trim_start();
    }

    if let Some(after) = rest.strip_prefix('@') {
        let after = after.trim_start();
        let (url, marker) = split_marker(after, true);
        if url.is_empty() || !url.contains(':') {
            return Err(invalid("expected a URL after `@`"));
        }
        req.url = Some(url.to_string());
        if let Some(marker) = marker {
            req.marker = Some(check_marker(marker).map_err(|e| invalid(&e))?);
        }
        return Ok(req);
    }

    let (spec, marker) = split_marker(rest, false);
    let spec = spec.trim();
    let spec = match spec.strip_prefix('(') {
        Some(inner) => inner.strip_suffix(')').ok_or_else(|| invalid("unclosed `(`"))?,
        None => spec,
    };
    if !spec.trim().is_empty() {
        let mut clauses = Vec::new();
        for clause in spec.split(',') {
            clauses.push(specifier_clause(clause).map_err(|e| invalid(&e))?);
        }
        req.pinned = match clauses.as_slice() {
            [(op, version)] => (op == "==" || op == "===") && !version.contains('*'),
            _ => false,
        };
        let joined: Vec<String> = clauses.iter().map(|(op, v)| format!("{op}{v}")).collect();
        req.specifier = Some(joined.join(","));
    }
    if let Some(marker) = marker {
        req.marker = Some(check_marker(marker).map_err(|e| invalid(&e))?);
    }
    Ok(req)
}

/// `op version`, checked.
fn specifier_clause(clause: &str) -> Result<(String, String), String> {
    let clause = clause.trim();
    let op = ["===", "==", "!=", "<=", ">=", "~=", "<", ">"]
        .into_iter()
        .find(|op| clause.starts_with(op))
        .ok_or_else(|| format!("expected a version operator in {:?}", shorten(clause, 40)))?;
    let version = clause.get(op.len()..).unwrap_or_default().trim();
    if version.is_empty() {
        return Err(format!("missing version after {op}"));
    }
    let ok = if op == "===" {
        !version.contains(char::is_whitespace)
    } else {
        let (body, wildcard) = match version.strip_suffix(".*") {
            Some(body) => (body, true),
            None => (version, false),
        };
        let chars_ok = !body.is_empty()
            && body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!' | '_' | '-'));
        chars_ok && (!wildcard || op == "==" || op == "!=")
    };
    if !ok {
        return Err(format!("bad version {:?}", shorten(version, 40)));
    }
    Ok((op.to_string(), version.to_string()))
}

/// Splits off `; marker`. After a URL the `;` must follow whitespace (it may
/// be part of the URL otherwise).
fn split_marker(text: &str, url: bool) -> (&str, Option<&str>) {
    let mut prev_space = false;
    for (i, c) in text.char_indices() {
        if c == ';' && (!url || prev_space) {
            return (text.get(..i).unwrap_or_default().trim_end(), Some(text.get(i + 1..).unwrap_or_default().trim()));
        }
        prev_space = c.is_whitespace();
    }
    (text.trim_end(), None)
}

/// Checks a PEP 508 environment marker; returns it with blanks collapsed.
fn check_marker(marker: &str) -> Result<String, String> {
    #[derive(PartialEq)]
    enum Expect {
        /// `(` or the left operand.
        Start,
        Op,
        Right,
        /// `)`, `and`, `or` or the end.
        After,
    }
    let tokens = marker_tokens(marker)?;
    let mut expect = Expect::Start;
    let mut depth = 0usize;
    let mut iter = tokens.iter().peekable();
    while let Some(&token) = iter.next() {
        let is_operand = token.starts_with(['"', '\'']) || MARKER_VARIABLES.contains(&token);
        expect = match expect {
            Expect::Start if token == "(" => {
                depth += 1;
                Expect::Start
            }
            Expect::Start if is_operand => Expect::Op,
            Expect::Op if matches!(token, "<" | "<=" | "==" | "!=" | ">=" | ">" | "~=" | "===" | "in") => Expect::Right,
            Expect::Op if token == "not" && iter.next().is_some_and(|t| *t == "in") => Expect::Right,
            Expect::Right if is_operand => Expect::After,
            Expect::After if token == ")" && depth > 0 => {
                depth -= 1;
                Expect::After
            }
            Expect::After if token == "and" || token == "or" => Expect::Start,
            _ => return Err(format!("bad environment marker near {:?}", shorten(token, 40))),
        };
    }
    if expect != Expect::After || depth != 0 {
        return Err("incomplete environment marker".to_string());
    }
    Ok(tokens.join(" "))
}

fn marker_tokens(marker: &str) -> Result<Vec<&str>, String> {
    let mut tokens = Vec::new();
    let mut chars = marker.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' | ')' => tokens.push(marker.get(start..start + 1).unwrap_or_default()),
            '"' | '\'' => {
                let end = loop {
                    match chars.next() {
                        Some((i, q)) if q == c => break i + 1,
                        Some(_) => {}
                        None => return Err("unterminated string in marker".to_string()),
                    }
                };
                tokens.push(marker.get(start..end).unwrap_or_default());
            }
            '<' | '>' | '=' | '!' | '~' => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, next)) = chars.peek() {
                    if matches!(next, '=' | '<' | '>' | '!' | '~') {
                        end = i + next.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(marker.get(start..end).unwrap_or_default());
            }
            _ => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, next)) = chars.peek() {
                    if next.is_ascii_alphanumeric() || matches!(next, '_' | '.') {
                        end = i + next.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(marker.get(start..end).unwrap_or_default());
            }
        }
    }
    Ok(tokens)
}

/// Not a PEP 508 name: a URL (`scheme://`, `file:`), a VCS URL
/// (`git+...`), a path (`./x`, `/x`, `~/x`, `a/b`), or an archive.
fn looks_like_url_or_path(text: &str) -> bool {
    // The first word (`find(char)` is a fast search, even unoptimized).
    let end = [text.find(' '), text.find('\t')].into_iter().flatten().min().unwrap_or(text.len());
    let first = text.get(..end).unwrap_or_default();
    let lower = first.to_ascii_lowercase();
    // The part that would be a project name.
    let head_end = lower.bytes().position(|b| matches!(b, b'[' | b';' | b'@' | b'=' | b'<' | b'>' | b'!' | b'~'));
    let head = lower.get(..head_end.unwrap_or(lower.len())).unwrap_or_default();
    let scheme = lower.find("://");
    scheme.is_some_and(|s| head_end.is_none_or(|h| s < h))
        || lower.starts_with("file:")
        || ["git+", "hg+", "svn+", "bzr+"].iter().any(|p| lower.starts_with(p))
        || first.starts_with(['.', '/', '~', '\\'])
        || head.contains('/')
        || head.contains('\\')
        || ARCHIVES.iter().any(|ext| head.ends_with(ext))
}

/// A URL or path requirement: the name from `#egg=name` or a wheel or
/// sdist file name.
fn url_requirement(text: &str) -> Result<Requirement, String> {
    let (url, marker) = split_marker(text, true);
    if url.contains(char::is_whitespace) {
        return Err(format!("invalid requirement {:?}: unexpected text after the URL", shorten(text, 60)));
    }
    let mut req = Requirement { url: Some(url.to_string()), ..Requirement::default() };
    if let Some(marker) = marker {
        req.marker = Some(check_marker(marker)?);
    }
    let egg =
        url.split_once('#').and_then(|(_, fragment)| fragment.split('&').find_map(|part| part.strip_prefix("egg=")));
    req.name = match egg {
        Some(egg) => {
            let name_end =
                egg.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))).unwrap_or(egg.len());
            let name = egg.get(..name_end).unwrap_or_default();
            valid_name(name).then(|| normalize(name))
        }
        None => archive_name(url),
    };
    Ok(req)
}

/// `pkg_name-1.0-py3-none-any.whl` or `pkg-name-1.0.tar.gz` → the project.
fn archive_name(url: &str) -> Option<String> {
    let path = url.split(['#', '?']).next().unwrap_or_default();
    let file = path.rsplit(['/', '\\']).next().unwrap_or_default();
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".whl") {
        let name = file.split('-').next().unwrap_or_default();
        return valid_name(name).then(|| normalize(name));
    }
    let stem = ARCHIVES
        .iter()
        .filter(|ext| **ext != ".whl")
        .find_map(|ext| lower.ends_with(ext).then(|| file.get(..file.len() - ext.len())).flatten())?;
    // The version starts at the last `-` followed by a digit.
    let (split, _) = stem.char_indices().rev().find(|(i, c)| {
        *c == '-' && stem.get(i + 1..).and_then(|r| r.chars().next()).is_some_and(|d| d.is_ascii_digit())
    })?;
    let name = stem.get(..split)?;
    valid_name(name).then(|| normalize(name))
}

fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
        _ => false,
    }
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` replaced by one `-`.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

fn valid_hash(hash: &str) -> bool {
    match hash.split_once(':') {
        Some((algo, digest)) => {
            !algo.is_empty()
                && algo.chars().all(|c| c.is_ascii_alphanumeric())
                && !digest.is_empty()
                && digest.chars().all(|c| c.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Every `scheme://user:password@` in `text` with the password replaced by
/// `********`, and whether there was one. A password that is only an
/// environment variable reference (`${PASSWORD}`) is kept.
fn redact_urls(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut found = false;
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let authority_start = scheme_end + 3;
        out.push_str(rest.get(..authority_start).unwrap_or_default());
        let after = rest.get(authority_start..).unwrap_or_default();
        // The authority ends at the first `/`, `?`, `#` or blank.
        let authority_end =
            after.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace()).unwrap_or(after.len());
        let authority = after.get(..authority_end).unwrap_or_default();
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = authority.get(..at).unwrap_or_default();
                match userinfo.split_once(':') {
                    Some((user, password)) if !password.is_empty() && !is_variable(password) => {
                        out.push_str(user);
                        out.push(':');
                        out.push_str(MASK);
                        found = true;
                    }
                    _ => out.push_str(userinfo),
                }
                out.push_str(authority.get(at..).unwrap_or_default());
            }
            None => out.push_str(authority),
        }
        rest = after.get(authority_end..).unwrap_or_default();
    }
    out.push_str(rest);
    (out, found)
}

fn is_variable(text: &str) -> bool {
    text.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}
