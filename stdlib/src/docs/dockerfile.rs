//! Dockerfiles (and Containerfiles), read the way BuildKit's front end
//! reads them, into facts for policies:
//!
//! * parser directives at the top (`` # escape=` ``, `# syntax=...`);
//! * a line ending in the escape character (trailing blanks allowed)
//!   continues on the next; comment lines and blank lines inside a
//!   continued instruction are dropped; the instruction is located at its
//!   first line;
//! * lines whose first non-blank character is `#` are comments;
//! * heredocs (`RUN <<EOF`, `COPY <<-"EOT" /dst`) of `RUN`, `COPY` and
//!   `ADD`: their bodies are skipped;
//! * leading `--flag[=value]` words become `flags`; the JSON-array form
//!   (`CMD ["python", "app.py"]`) gives `json`, the shell form leaves it null.
//!
//! The result:
//!
//! ```text
//! { directives: { escape: "\\", ... },
//!   instructions: [ { instruction, args, flags, body, json, stage, line, end_line } ],
//!   stages: [ { index, ref, image, registry, repository, tag, digest, alias,
//!               platform, stage, line } ],
//!   user, users: [ { user, stage, line } ],
//!   add_urls: [ { url, dest, checksum, stage, line } ],
//!   env: { NAME: value },
//!   healthcheck: { instruction, args, flags, disabled, command, json, stage, line } | null,
//!   exposed: [ { value, port, protocol, stage, line } ] }
//! ```
//!
//! `user` and `healthcheck` are those of the final stage: its last `USER`
//! (or `HEALTHCHECK`), else that of the earlier stage it is built `FROM`,
//! and so on; null when none sets one. `env` holds every `ENV` and `ARG`
//! (an `ARG` without a default is null unless already set), quotes removed,
//! variables not expanded; a later definition replaces an earlier one.
//! Image references in `FROM` are read after substituting the defaults of
//! the `ARG`s declared before the first `FROM` (`ref` keeps the text as
//! written). Every value is located at the first line of its instruction.
//!
//! As with BuildKit, an unknown instruction, an instruction without
//! arguments, one other than `ARG` before the first `FROM`, a malformed
//! `FROM`, `ENV` or `HEALTHCHECK`, an unterminated quote or heredoc, and a
//! file without `FROM` are errors.

use super::{line_u32, DocError, MapBuilder, Origins};
use mlpol_lang::value::{record, shorten, Value};

const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// One instruction, continuation lines joined.
struct Raw {
    name: String,
    args: String,
    line: u32,
    end_line: u32,
}

/// What the later stages need to know about an earlier one.
struct Stage {
    alias: Option<String>,
    /// The earlier stage this one is built from.
    parent: Option<usize>,
    user: Option<(String, u32)>,
    healthcheck: Option<Value>,
}

pub(super) fn parse(path: &str, text: &str) -> Result<Value, DocError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut origins = Origins::new(path);
    let (directives, escape, first) = read_directives(path, &lines, &mut origins)?;
    let raws = read_instructions(path, &lines, first, escape)?;

    let mut instructions = Vec::with_capacity(raws.len());
    let mut stages: Vec<Stage> = Vec::new();
    let mut stage_values = Vec::new();
    let mut users = Vec::new();
    let mut add_urls = Vec::new();
    let mut exposed = Vec::new();
    let mut env = MapBuilder::default();
    // Defaults of the ARGs before the first FROM, for FROM substitution.
    let mut meta_args: Vec<(String, String)> = Vec::new();

    for raw in &raws {
        let line = raw.line;
        let err = |message: String| DocError::new(path, Some(line), message);
        let (flags, body) = split_flags(&raw.args);
        let json = json_form(body);
        let current = stages.len().checked_sub(1);
        if current.is_none() && raw.name != "ARG" && raw.name != "FROM" {
            return Err(err(format!("{} before the first FROM", raw.name)));
        }
        let stage_value = |o: &mut Origins| stage_of(o, current, line);

        match raw.name.as_str() {
            "FROM" => {
                let words: Vec<&str> = body.split_whitespace().collect();
                let (reference, alias) = match words.as_slice() {
                    [image] => (*image, None),
                    [image, as_, name] if as_.eq_ignore_ascii_case("as") => (*image, Some(*name)),
                    _ => return Err(err("FROM takes an image and an optional `AS name`".to_string())),
                };
                let resolved = substitute(reference, &meta_args);
                let parent =
                    stages.iter().rposition(|s| s.alias.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&resolved)));
                let index = stages.len();
                let platform = flag(&flags, "platform");
                let image = if parent.is_some() {
                    ImageRef { name: resolved.clone(), ..ImageRef::default() }
                } else {
                    image_ref(&resolved)
                };
                let o = &mut origins;
                let value = record(vec![
                    ("index", o.put(int(index), line)),
                    ("ref", o.put(Value::str(reference), line)),
                    ("image", o.put(Value::str(&image.name), line)),
                    ("registry", opt_str(o, image.registry.as_deref(), line)),
                    ("repository", opt_str(o, image.repository.as_deref(), line)),
                    ("tag", opt_str(o, image.tag.as_deref(), line)),
                    ("digest", opt_str(o, image.digest.as_deref(), line)),
                    ("alias", opt_str(o, alias, line)),
                    ("platform", opt_str(o, platform, line)),
                    ("stage", o.put(Value::bool(parent.is_some()), line)),
                    ("line", o.put(int_u32(line), line)),
                ]);
                stage_values.push(o.put(value, line));
                stages.push(Stage { alias: alias.map(str::to_string), parent, user: None, healthcheck: None });
            }
            "ARG" => {
                for (name, value) in arg_pairs(body, escape).map_err(err)? {
                    if current.is_none() {
                        if let Some(v) = &value {
                            meta_args.retain(|(n, _)| *n != name);
                            meta_args.push((name.clone(), v.clone()));
                        }
                    }
                    if value.is_none() && env.contains(&name) {
                        continue;
                    }
                    let value = opt_str(&mut origins, value.as_deref(), line);
                    env.insert(name, value);
                }
            }
            "ENV" => {
                for (name, value) in env_pairs(body, escape).map_err(err)? {
                    let value = origins.put(Value::str(value), line);
                    env.insert(name, value);
                }
            }
            "USER" => {
                let user = body.trim().to_string();
                if let Some(stage) = current.and_then(|i| stages.get_mut(i)) {
                    stage.user = Some((user.clone(), line));
                }
                let o = &mut origins;
                let value = record(vec![
                    ("user", o.put(Value::str(&user), line)),
                    ("stage", stage_value(o)),
                    ("line", o.put(int_u32(line), line)),
                ]);
                users.push(o.put(value, line));
            }
            "ADD" => {
                let words = file_args(body, json.as_deref());
                if let Some((dest, sources)) = words.split_last() {
                    let checksum = flag(&flags, "checksum");
                    for source in sources.iter().filter(|s| is_http_url(s)) {
                        let o = &mut origins;
                        let value = record(vec![
                            ("url", o.put(Value::str(source), line)),
                            ("dest", o.put(Value::str(dest), line)),
                            ("checksum", opt_str(o, checksum, line)),
                            ("stage", stage_value(o)),
                            ("line", o.put(int_u32(line), line)),
                        ]);
                        add_urls.push(o.put(value, line));
                    }
                }
            }
            "EXPOSE" => {
                for word in body.split_whitespace() {
                    let (port, protocol) = match word.split_once('/') {
                        Some((port, protocol)) => (port, protocol.to_ascii_lowercase()),
                        None => (word, "tcp".to_string()),
                    };
                    let o = &mut origins;
                    let number = match port.parse::<u16>() {
                        Ok(n) => o.put(Value::int(i64::from(n)), line),
                        Err(_) => o.put(Value::null(), line),
                    };
                    let value = record(vec![
                        ("value", o.put(Value::str(word), line)),
                        ("port", number),
                        ("protocol", o.put(Value::str(protocol), line)),
                        ("stage", stage_value(o)),
                        ("line", o.put(int_u32(line), line)),
                    ]);
                    exposed.push(o.put(value, line));
                }
            }
            _ => {}
        }

        // A FROM opens the stage it belongs to.
        let current = stages.len().checked_sub(1);
        let o = &mut origins;
        let flags_value = flags_map(o, &flags, line);
        let json_value = string_list(o, json.as_deref(), line);

        if raw.name == "HEALTHCHECK" {
            let mut words = body.split_whitespace();
            let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
            let (disabled, command) = match keyword.as_str() {
                "NONE" => (true, None),
                "CMD" => {
                    let rest = body.trim_start().get(3..).unwrap_or_default().trim();
                    (false, Some(rest))
                }
                _ => return Err(DocError::new(path, Some(line), "HEALTHCHECK takes NONE or CMD")),
            };
            let command_json = string_list(o, command.and_then(json_form).as_deref(), line);
            let value = record(vec![
                ("instruction", o.put(Value::str("HEALTHCHECK"), line)),
                ("args", o.put(Value::str(&raw.args), line)),
                ("flags", flags_value.clone()),
                ("disabled", o.put(Value::bool(disabled), line)),
                ("command", opt_str(o, command, line)),
                ("json", command_json),
                ("stage", stage_of(o, current, line)),
                ("line", o.put(int_u32(line), line)),
            ]);
            let value = o.put(value, line);
            if let Some(stage) = current.and_then(|i| stages.get_mut(i)) {
                stage.healthcheck = Some(value);
            }
        }

        let value = record(vec![
            ("instruction", o.put(Value::str(&raw.name), line)),
            ("args", o.put(Value::str(&raw.args), line)),
            ("flags", flags_value),
            ("body", o.put(Value::str(body), line)),
            ("json", json_value),
            ("stage", stage_of(o, current, line)),
            ("line", o.put(int_u32(line), line)),
            ("end_line", o.put(int_u32(raw.end_line), line)),
        ]);
        instructions.push(o.put(value, line));
    }

    if stages.is_empty() {
        return Err(DocError::new(path, None, "no FROM instruction"));
    }

    // The final stage's user and health check, inherited along FROM chains
    // (which only point backwards, so the walk ends).
    let mut user = origins.put(Value::null(), 1);
    let mut healthcheck = origins.put(Value::null(), 1);
    let (mut found_user, mut found_health) = (false, false);
    let mut cursor = stages.len().checked_sub(1);
    while let Some(stage) = cursor.and_then(|i| stages.get(i)) {
        if !found_user {
            if let Some((name, line)) = &stage.user {
                user = origins.put(Value::str(name), *line);
                found_user = true;
            }
        }
        if !found_health {
            if let Some(value) = &stage.healthcheck {
                healthcheck = value.clone();
                found_health = true;
            }
        }
        cursor = match (stage.parent, cursor) {
            (Some(p), Some(c)) if p < c => Some(p),
            _ => None,
        };
    }

    let top = record(vec![
        ("directives", origins.put(directives, 1)),
        ("instructions", origins.put(Value::list(instructions), 1)),
        ("stages", origins.put(Value::list(stage_values), 1)),
        ("user", user),
        ("users", origins.put(Value::list(users), 1)),
        ("add_urls", origins.put(Value::list(add_urls), 1)),
        ("env", origins.put(env.into_value(), 1)),
        ("healthcheck", healthcheck),
        ("exposed", origins.put(Value::list(exposed), 1)),
    ]);
    Ok(origins.put(top, 1))
}

/// The index of the stage an instruction belongs to (null before the first
/// FROM).
fn stage_of(origins: &mut Origins, stage: Option<usize>, line: u32) -> Value {
    match stage {
        Some(i) => origins.put(int(i), line),
        None => origins.put(Value::null(), line),
    }
}

fn int(n: usize) -> Value {
    Value::int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn int_u32(n: u32) -> Value {
    Value::int(i64::from(n))
}

/// A list of strings, or null.
fn string_list(origins: &mut Origins, items: Option<&[String]>, line: u32) -> Value {
    match items {
        Some(items) => {
            let values = items.iter().map(|s| origins.put(Value::str(s), line)).collect();
            origins.put(Value::list(values), line)
        }
        None => origins.put(Value::null(), line),
    }
}

fn opt_str(origins: &mut Origins, s: Option<&str>, line: u32) -> Value {
    match s {
        Some(s) => origins.put(Value::str(s), line),
        None => origins.put(Value::null(), line),
    }
}

/// Parser directives: `# name=value` lines at the very top. Returns the
/// directives, the escape character and the index of the first line after
/// them.
fn read_directives(path: &str, lines: &[&str], origins: &mut Origins) -> Result<(Value, char, usize), DocError> {
    let mut map = MapBuilder::default();
    let mut escape = '\\';
    let mut index = 0;
    while let Some(raw) = lines.get(index) {
        let Some((name, value)) = directive(raw) else {
            break;
        };
        if map.contains(&name) {
            break;
        }
        let line = line_u32(index + 1);
        if name == "escape" {
            escape = match value {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return Err(DocError::new(
                        path,
                        Some(line),
                        format!("invalid escape character {value:?}: use `\\` or a backtick"),
                    ))
                }
            };
        }
        map.insert(name, origins.put(Value::str(value), line));
        index += 1;
    }
    if !map.contains("escape") {
        map.insert("escape".to_string(), origins.put(Value::str("\\"), 1));
    }
    Ok((map.into_value(), escape, index))
}

/// `# name = value` with a name of letters and digits.
fn directive(line: &str) -> Option<(String, &str)> {
    let rest = line.trim().strip_prefix('#')?.trim_start();
    let (name, value) = rest.split_once('=')?;
    let name = name.trim_end();
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric());
    let value = value.trim();
    (ok && !value.is_empty()).then(|| (name.to_ascii_lowercase(), value))
}

/// Joins continuation lines, drops comments, skips heredoc bodies.
fn read_instructions(path: &str, lines: &[&str], first: usize, escape: char) -> Result<Vec<Raw>, DocError> {
    let mut out = Vec::new();
    let mut index = first;
    while let Some(raw) = lines.get(index) {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            index += 1;
            continue;
        }
        let line = line_u32(index + 1);
        index += 1;
        let (content, mut more) = strip_continuation(trimmed, escape);
        let mut joined = content.to_string();
        while more {
            let Some(next) = lines.get(index) else {
                break;
            };
            index += 1;
            let next_trimmed = next.trim_start();
            if next_trimmed.starts_with('#') || next_trimmed.is_empty() {
                continue;
            }
            let (content, again) = strip_continuation(next, escape);
            joined.push_str(content);
            more = again;
        }
        let end_line = line_u32(index);
        let joined = joined.trim();
        let (word, args) = match joined.find(char::is_whitespace) {
            Some(i) => (joined.get(..i).unwrap_or_default(), joined.get(i..).unwrap_or_default().trim()),
            None => (joined, ""),
        };
        let name = word.to_ascii_uppercase();
        if !INSTRUCTIONS.contains(&name.as_str()) {
            return Err(DocError::new(path, Some(line), format!("unknown instruction {:?}", shorten(word, 40))));
        }
        if args.is_empty() {
            return Err(DocError::new(path, Some(line), format!("{name} requires arguments")));
        }
        if matches!(name.as_str(), "RUN" | "COPY" | "ADD") && !args.starts_with('[') {
            for (tag, strip_tabs) in heredocs(args) {
                loop {
                    let Some(body_line) = lines.get(index) else {
                        return Err(DocError::new(
                            path,
                            Some(line),
                            format!("unterminated heredoc <<{}", shorten(&tag, 40)),
                        ));
                    };
                    index += 1;
                    let candidate = if strip_tabs { body_line.trim_start_matches('\t') } else { body_line };
                    if candidate == tag {
                        break;
                    }
                }
            }
        }
        out.push(Raw { name, args: args.to_string(), line, end_line: end_line.max(line) });
    }
    Ok(out)
}

/// The line without a trailing escape character (and the blanks after it),
/// and whether there was one.
fn strip_continuation(line: &str, escape: char) -> (&str, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    match t.strip_suffix(escape) {
        Some(rest) => (rest, true),
        None => (line, false),
    }
}

/// Heredoc markers among the words: `<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`.
/// Each gives its terminator and whether leading tabs are stripped.
fn heredocs(args: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for word in args.split_whitespace() {
        let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
        let Some(rest) = rest.strip_prefix("<<") else {
            continue;
        };
        if rest.starts_with('<') {
            continue;
        }
        let (strip_tabs, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let name: String = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest.get(1..).unwrap_or_default().chars().take_while(|&c| c != q).collect(),
            _ => rest.chars().take_while(|&c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')).collect(),
        };
        if !name.is_empty() {
            out.push((name, strip_tabs));
        }
    }
    out
}

/// Leading `--name[=value]` words, and the text after them.
fn split_flags(args: &str) -> (Vec<(String, Option<String>)>, &str) {
    let mut flags = Vec::new();
    let mut rest = args.trim_start();
    while let Some(after) = rest.strip_prefix("--") {
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let word = after.get(..end).unwrap_or_default();
        if word.is_empty() {
            break;
        }
        match word.split_once('=') {
            Some((name, value)) => flags.push((name.to_string(), Some(unquote(value)))),
            None => flags.push((word.to_string(), None)),
        }
        rest = after.get(end..).unwrap_or_default().trim_start();
    }
    (flags, rest)
}

fn unquote(value: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    value.to_string()
}

fn flag<'f>(flags: &'f [(String, Option<String>)], name: &str) -> Option<&'f str> {
    flags.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
}

fn flags_map(origins: &mut Origins, flags: &[(String, Option<String>)], line: u32) -> Value {
    let mut map = MapBuilder::default();
    for (name, value) in flags {
        let value = match value {
            Some(v) => Value::str(v),
            None => Value::bool(true),
        };
        map.insert(name.clone(), origins.put(value, line));
    }
    origins.put(map.into_value(), line)
}

/// The elements of the JSON-array form, or `None` for the shell form.
fn json_form(body: &str) -> Option<Vec<String>> {
    let body = body.trim();
    if !body.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(body).ok()
}

/// The words of `ADD`/`COPY` (the JSON form's elements, else blank-separated
/// words with quotes removed), without heredoc markers.
fn file_args(body: &str, json: Option<&[String]>) -> Vec<String> {
    match json {
        Some(items) => items.to_vec(),
        None => body
            .split_whitespace()
            .filter(|w| !w.trim_start_matches(|c: char| c.is_ascii_digit()).starts_with("<<"))
            .map(unquote)
            .collect(),
    }
}

fn is_http_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `ENV a=1 b="two words"` or the legacy `ENV name value with spaces`.
fn env_pairs(body: &str, escape: char) -> Result<Vec<(String, String)>, String> {
    let words = shell_words(body, escape)?;
    let first_has_eq = words.first().is_some_and(|w| w.raw.contains('='));
    if !first_has_eq {
        // Legacy form: the name, then the rest of the text verbatim.
        let body = body.trim();
        let Some(split) = body.find(char::is_whitespace) else {
            return Err("ENV needs a value: `ENV NAME=value` or `ENV NAME value`".to_string());
        };
        let name = body.get(..split).unwrap_or_default();
        let value = body.get(split..).unwrap_or_default().trim();
        return Ok(vec![(name.to_string(), value.to_string())]);
    }
    let mut out = Vec::with_capacity(words.len());
    for word in words {
        let Some((name, value)) = split_assignment(&word) else {
            return Err(format!("expected NAME=value, found {:?}", shorten(&word.raw, 40)));
        };
        out.push((name, value));
    }
    Ok(out)
}

/// `ARG name[=default] ...`.
fn arg_pairs(body: &str, escape: char) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    for word in shell_words(body, escape)? {
        match split_assignment(&word) {
            Some((name, value)) => out.push((name, Some(value))),
            None => {
                if word.raw.is_empty() {
                    continue;
                }
                out.push((word.value.clone(), None));
            }
        }
    }
    Ok(out)
}

/// `name=value` words: the name before the first unquoted `=`, the value
/// after it with quotes removed.
fn split_assignment(word: &Word) -> Option<(String, String)> {
    let eq = word.eq?;
    let name = word.value.get(..eq)?;
    if name.is_empty() {
        return None;
    }
    Some((name.to_string(), word.value.get(eq + 1..)?.to_string()))
}

/// A blank-separated word: its text as written and with quotes and escapes
/// removed; `eq` is the byte offset in `value` of the first unquoted `=`.
struct Word {
    raw: String,
    value: String,
    eq: Option<usize>,
}

fn shell_words(text: &str, escape: char) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut raw = String::new();
    let mut value = String::new();
    let mut eq = None;
    let mut chars = text.chars();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            if in_word {
                words.push(Word { raw: std::mem::take(&mut raw), value: std::mem::take(&mut value), eq: eq.take() });
                in_word = false;
            }
            continue;
        }
        in_word = true;
        raw.push(c);
        if c == escape {
            if let Some(next) = chars.next() {
                raw.push(next);
                value.push(next);
            }
            continue;
        }
        match c {
            '\'' => loop {
                let Some(next) = chars.next() else {
                    return Err("unterminated single quote".to_string());
                };
                raw.push(next);
                if next == '\'' {
                    break;
                }
                value.push(next);
            },
            '"' => loop {
                let Some(next) = chars.next() else {
                    return Err("unterminated double quote".to_string());
                };
                raw.push(next);
                if next == '"' {
                    break;
                }
                if next == escape {
                    if let Some(escaped) = chars.next() {
                        raw.push(escaped);
                        if !matches!(escaped, '"' | '$') && escaped != escape {
                            value.push(next);
                        }
                        value.push(escaped);
                    }
                    continue;
                }
                value.push(next);
            },
            '=' if eq.is_none() => {
                eq = Some(value.len());
                value.push(c);
            }
            _ => value.push(c),
        }
    }
    if in_word {
        words.push(Word { raw, value, eq });
    }
    Ok(words)
}

/// `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME-default}` replaced by
/// the given values; unknown names are left as written.
fn substitute(text: &str, vars: &[(String, String)]) -> String {
    if !text.contains('$') {
        return text.to_string();
    }
    let lookup = |name: &str| vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(rest.get(..dollar).unwrap_or_default());
        let after = rest.get(dollar + 1..).unwrap_or_default();
        if let Some(braced) = after.strip_prefix('{') {
            if let Some(close) = braced.find('}') {
                let inner = braced.get(..close).unwrap_or_default();
                let (name, default) = match inner.find(['-', ':']) {
                    Some(i) => {
                        let name = inner.get(..i).unwrap_or_default();
                        let op = inner.get(i..).unwrap_or_default();
                        let default = op.strip_prefix(":-").or_else(|| op.strip_prefix('-')).map(str::to_string);
                        (name, default)
                    }
                    None => (inner, None),
                };
                match lookup(name).map(str::to_string).or(default) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('$');
                        out.push('{');
                        out.push_str(inner);
                        out.push('}');
                    }
                }
                rest = braced.get(close + 1..).unwrap_or_default();
                continue;
            }
        }
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        let name = after.get(..end).unwrap_or_default();
        match lookup(name) {
            Some(v) if !name.is_empty() => out.push_str(v),
            _ => {
                out.push('$');
                out.push_str(name);
            }
        }
        rest = after.get(end..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

#[derive(Default)]
struct ImageRef {
    /// Registry and repository, without tag or digest.
    name: String,
    registry: Option<String>,
    repository: Option<String>,
    tag: Option<String>,
    digest: Option<String>,
}

/// `[registry[:port]/]repository[:tag][@digest]`. The first component is a
/// registry when it has a `.` or a `:`, or is `localhost`.
fn image_ref(reference: &str) -> ImageRef {
    let (name_tag, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string()).filter(|d| !d.is_empty())),
        None => (reference, None),
    };
    let last_slash = name_tag.rfind('/');
    let (name, tag) = match name_tag.rfind(':') {
        Some(colon) if last_slash.is_none_or(|s| colon > s) => (
            name_tag.get(..colon).unwrap_or_default(),
            name_tag.get(colon + 1..).filter(|t| !t.is_empty()).map(str::to_string),
        ),
        _ => (name_tag, None),
    };
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            (Some(first.to_string()), rest.to_string())
        }
        _ => (None, name.to_string()),
    };
    ImageRef { name: name.to_string(), registry, repository: Some(repository), tag, digest }
}
