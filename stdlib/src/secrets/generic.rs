//! `generic-assignment`: a secret-named variable or key assigned a literal.
//!
//! Forms: Python/JS/Go `name = "v"` (also `name: str = "v"`, `name := "v"`,
//! keyword arguments), YAML `name: v`, INI `name = v`, dotenv `NAME=v`
//! (`export` too), JSON `"name": "v"`, TOML `name = "v"`, Dockerfile
//! `ENV NAME=v` / `ENV NAME v`. In source-code files only quoted literals
//! count (a bare right-hand side is an expression such as
//! `os.environ["X"]`); in configuration files a bare single-token value
//! counts too.
//!
//! The name decides what is a secret: its last word (split on `_ - .` and
//! camelCase) must be `password`, `passwd`, `passphrase`, `pwd`, `pass`
//! (after another word), `secret`, `token` (not `eos_token`, `pad_token`,
//! `next_token`, …), or `key` after `api`, `access`, `secret`, `private`,
//! `fernet`, … — so `password_file`, `token_url`, `max_tokens` and
//! `secret_name` are not. The value then passes the allowlists and
//! thresholds in [`accept`].

use super::allow;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Class {
    Password,
    Secret,
}

/// Words before `key` that make it a credential.
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "fernet",
    "signing",
    "sign",
    "encryption",
    "encrypt",
    "crypt",
    "master",
    "client",
    "account",
    "auth",
    "app",
    "service",
    "subscription",
    "license",
    "storage",
    "shared",
    "hmac",
    "jwt",
    "session",
    "sas",
    "consumer",
    "admin",
    "deploy",
    "write",
    "openai",
    "anthropic",
    "wandb",
    "stripe",
    "sendgrid",
    "mapbox",
    "google",
    "gcp",
    "azure",
    "aws",
    "hf",
    "cohere",
    "mistral",
    "groq",
    "pinecone",
    "replicate",
    "comet",
    "neptune",
    "mailgun",
    "twilio",
    "datadog",
    "dd",
    "sentry",
    "license",
];

/// Words in a `…token` name that make it not a credential: tokenizer
/// special tokens, pagination cursors, idempotency and change tokens,
/// counts.
const TOKEN_NON_SECRETS: &[&str] = &[
    "eos",
    "bos",
    "pad",
    "unk",
    "sep",
    "cls",
    "mask",
    "special",
    "start",
    "end",
    "stop",
    "next",
    "prev",
    "previous",
    "page",
    "pagination",
    "continuation",
    "marker",
    "resume",
    "forward",
    "backward",
    "sync",
    "cancellation",
    "csrf",
    "xsrf",
    "max",
    "min",
    "num",
    "total",
    "input",
    "output",
    "prompt",
    "completion",
    "vocab",
    "first",
    "last",
    "image",
    "decoder",
    "encoder",
    "sentence",
    "default",
    "chat",
    "client",
    "idempotency",
    "request",
    "change",
    "update",
    "copy",
    "export",
    "import",
    "work",
    "unit",
    "verification",
];

/// Values that stand in for a password.
const PLACEHOLDER_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "changeme",
    "required",
    "optional",
    "undefined",
    "notused",
    "not_used",
    "not_set",
    "notset",
    "unset",
    "disabled",
    "enabled",
    "default",
    "string",
    "nonempty",
    "anything",
    "whatever",
];

/// The words of an identifier, as slices of it: `_ - .` (any byte that is
/// not an ASCII letter or digit) separate, camelCase splits, trailing digits
/// are dropped (`password2` → `password`), empty words are skipped.
fn word_slices(name: &str) -> impl Iterator<Item = &str> {
    let b = name.as_bytes();
    let mut i = 0usize;
    std::iter::from_fn(move || loop {
        while b.get(i).is_some_and(|c| !c.is_ascii_alphanumeric()) {
            i += 1;
        }
        let start = i;
        b.get(i)?;
        i += 1;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_alphanumeric() {
                break;
            }
            let prev = b.get(i - 1).copied().unwrap_or(b' ');
            let next = b.get(i + 1).copied();
            let split = c.is_ascii_uppercase()
                && (prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase())));
            if split {
                break;
            }
            i += 1;
        }
        let word = name.get(start..i).unwrap_or("").trim_end_matches(|c: char| c.is_ascii_digit());
        if !word.is_empty() {
            return Some(word);
        }
    })
}

/// Lowercase words of an identifier (see [`word_slices`]).
#[cfg(test)]
pub(crate) fn words(name: &str) -> Vec<String> {
    word_slices(name).map(str::to_ascii_lowercase).collect()
}

fn is_one_of(word: &str, list: &[&str]) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// Whether a name holds a secret, and which kind.
pub(crate) fn classify(name: &str) -> Option<Class> {
    // Cheap necessary condition first (most names — `tokenizer`, `keys`,
    // `token_ids` — fail it).
    let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    let ends = |suffix: &str| {
        trimmed.len() >= suffix.len()
            && trimmed.get(trimmed.len() - suffix.len()..).is_some_and(|t| t.eq_ignore_ascii_case(suffix))
    };
    if !["password", "passwd", "passphrase", "pwd", "pass", "secret", "token", "key"].iter().any(|s| ends(s)) {
        return None;
    }
    // The last word, the one before it, and whether any word before the
    // last is one of TOKEN_NON_SECRETS — without allocating.
    let (mut last, mut prev, mut non_secret_before) = (None::<&str>, None::<&str>, false);
    for w in word_slices(name) {
        if let Some(l) = last {
            non_secret_before |= is_one_of(l, TOKEN_NON_SECRETS);
        }
        prev = last;
        last = Some(w);
    }
    let last = last?;
    let is = |w: &str| last.eq_ignore_ascii_case(w);
    if ["password", "passwd", "passphrase", "pwd"].iter().any(|w| is(w)) || (is("pass") && prev.is_some()) {
        Some(Class::Password)
    } else if [
        "secret",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "fernetkey",
        "authtoken",
        "clientsecret",
        "accesstoken",
        "apitoken",
    ]
    .iter()
    .any(|w| is(w))
        || (is("token") && !non_secret_before)
        || (is("key") && prev.is_some_and(|p| is_one_of(p, KEY_QUALIFIERS)))
    {
        Some(Class::Secret)
    } else {
        None
    }
}

/// A file's kind for assignment parsing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Syntax {
    /// Source code: only quoted literals are values.
    Code,
    /// Configuration, shell, docs: bare tokens count too.
    Config,
}

const CODE_EXTS: &[&str] = &[
    "py", "pyi", "pyx", "js", "jsx", "ts", "tsx", "mjs", "cjs", "go", "java", "kt", "kts", "scala", "rb", "rs", "c",
    "cc", "cpp", "cxx", "h", "hpp", "cs", "php", "swift", "r", "jl", "lua", "pl", "dart", "groovy", "gradle", "json",
    "ipynb", "toml", "tf", "hcl", "sql", "vue", "svelte",
];

pub(crate) fn syntax_for(path: &str) -> Syntax {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if CODE_EXTS.contains(&ext.as_str()) {
        Syntax::Code
    } else {
        Syntax::Config
    }
}

/// The words a secret's name is made of: a name is a run of
/// `[A-Za-z0-9_.-]` holding one of them (ASCII case-insensitively), as the
/// rule's pattern `[A-Za-z0-9_.\-]*(?i:pass|pwd|secret|token|key)[A-Za-z0-9_.\-]*`
/// says. The scanner's keyword automaton finds them.
pub(crate) const NAME_WORDS: &[&str] = &["pass", "pwd", "secret", "token", "key"];

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// Where [`NAME_WORDS`] occur in `line` (without the keyword automaton).
pub(crate) fn find_name_words(line: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    (0..line.len()).filter_map(move |i| {
        let rest = line.get(i..)?;
        NAME_WORDS
            .iter()
            .find(|w| rest.get(..w.len()).is_some_and(|h| h.eq_ignore_ascii_case(w.as_bytes())))
            .map(|w| (i, i + w.len()))
    })
}

/// The names on a line: the maximal runs of name characters around the
/// occurrences of [`NAME_WORDS`] (`words`, byte ranges in the file, in
/// order; `line` starts at byte `line_start` of the file). The same spans as
/// the leftmost-first matches of the rule's pattern over `line`.
pub(crate) fn names<'a>(
    line: &'a str,
    line_start: usize,
    words: &'a [(usize, usize)],
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let b = line.as_bytes();
    let mut run_end = 0usize;
    words.iter().filter_map(move |&(s, e)| {
        let (s, e) = (s.checked_sub(line_start)?, e.checked_sub(line_start)?);
        if e > b.len() || s < run_end {
            return None;
        }
        let start = b.get(..s)?.iter().rposition(|c| !is_name_byte(*c)).map_or(0, |i| i + 1);
        let end = b.get(e..)?.iter().position(|c| !is_name_byte(*c)).map_or(b.len(), |i| e + i);
        run_end = end;
        Some((start, end))
    })
}

/// Finds assignments on one line, given its `names` (byte ranges, see
/// [`names`]); returns byte ranges of the secret values.
pub(crate) fn scan(
    line: &str,
    names: impl Iterator<Item = (usize, usize)>,
    syntax: Syntax,
    out: &mut Vec<(usize, usize)>,
) {
    let dockerfile_env = {
        let t = line.trim_start();
        t.get(..4).is_some_and(|h| h.eq_ignore_ascii_case("env ") || h.eq_ignore_ascii_case("arg "))
    };
    let mut skip_until = 0usize;
    for (start, end) in names {
        if start < skip_until {
            continue;
        }
        let Some(name) = line.get(start..end) else { continue };
        // `AWS::ApiGateway::ApiKey`, `https://x/api-key`: part of a larger
        // name or a path, not an assignment target.
        if line.get(..start).is_some_and(|head| head.ends_with([':', '/'])) {
            continue;
        }
        let Some(class) = classify(name) else { continue };
        let Some((vs, ve, quoted)) = parse_assignment(line, end, syntax, dockerfile_env) else { continue };
        let Some(value) = line.get(vs..ve) else { continue };
        if accept(name, value, class, quoted) {
            out.push((vs, ve));
            skip_until = ve;
        }
    }
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// After a name ending at `pos`: an operator and a value. Returns the value's
/// byte range and whether it was quoted.
fn parse_assignment(line: &str, pos: usize, syntax: Syntax, dockerfile_env: bool) -> Option<(usize, usize, bool)> {
    let b = line.as_bytes();
    let at = |i: usize| b.get(i).copied();
    let mut i = pos;
    // A closing quote of a quoted key (`"password":`, `\"password\":`,
    // `["password"] =`).
    if at(i) == Some(b'\\') && at(i + 1) == Some(b'"') {
        i += 2;
    } else if matches!(at(i), Some(b'"' | b'\'' | b'`')) {
        i += 1;
    }
    if at(i) == Some(b']') {
        i += 1;
    }
    let before_op = i;
    while at(i).is_some_and(is_space) {
        i += 1;
    }
    match at(i) {
        Some(b':') if at(i + 1) == Some(b'=') => i += 2,
        Some(b'=') if at(i + 1) == Some(b'>') => i += 2,
        Some(b'=') => {
            if at(i + 1) == Some(b'=') {
                return None;
            }
            i += 1;
        }
        Some(b':') => {
            // `name: Type = "v"` (a Python / TypeScript annotation).
            let mut j = i + 1;
            while at(j).is_some_and(is_space) {
                j += 1;
            }
            let ann_start = j;
            while at(j).is_some_and(|c| {
                c.is_ascii_alphanumeric() || matches!(c, b'_' | b'[' | b']' | b'.' | b',' | b'|' | b' ')
            }) {
                j += 1;
            }
            if j > ann_start
                && at(ann_start).is_some_and(|c| c.is_ascii_alphabetic())
                && at(j) == Some(b'=')
                && at(j + 1) != Some(b'=')
            {
                i = j + 1;
            } else {
                // YAML / JSON / dict: `:` then a space, a quote or the end.
                match at(i + 1) {
                    None | Some(b' ' | b'\t' | b'"' | b'\'') => i += 1,
                    Some(b'\\') if at(i + 2) == Some(b'"') => i += 1,
                    _ => return None,
                }
            }
        }
        Some(_) if dockerfile_env && i > before_op => {}
        _ => return None,
    }
    while at(i).is_some_and(is_space) {
        i += 1;
    }
    // String prefixes: r"", b"", f"", u"", rb"".
    let mut p = i;
    while p < i + 2 && at(p).is_some_and(|c| matches!(c, b'r' | b'b' | b'f' | b'u' | b'R' | b'B' | b'F' | b'U')) {
        p += 1;
    }
    let quote_at = if p > i && matches!(at(p), Some(b'"' | b'\'')) { p } else { i };
    match at(quote_at) {
        Some(q @ (b'"' | b'\'' | b'`')) => {
            if at(quote_at + 1) == Some(q) {
                return None; // empty or a triple-quoted block
            }
            let start = quote_at + 1;
            let mut j = start;
            while let Some(c) = at(j) {
                if c == b'\\' {
                    if at(j + 1) == Some(q) {
                        break; // `\"` closes a JSON-in-JSON string
                    }
                    j += 2;
                    continue;
                }
                if c == q {
                    break;
                }
                j += 1;
            }
            at(j)?; // `None`: not closed on this line
            Some((start, j, true))
        }
        Some(b'\\') if at(quote_at + 1) == Some(b'"') => {
            let start = quote_at + 2;
            let end = line.get(start..)?.find("\\\"")? + start;
            Some((start, end, true))
        }
        Some(_) if syntax == Syntax::Config => {
            let start = i;
            let mut j = i;
            while at(j)
                .is_some_and(|c| !c.is_ascii_whitespace() && !matches!(c, b',' | b';' | b'}' | b']' | b'"' | b'\''))
            {
                j += 1;
            }
            let rest = line.get(j..)?.trim_start();
            let fine_after = rest.is_empty()
                || rest.starts_with('#')
                || rest.starts_with("//")
                || rest.starts_with(';')
                || rest.starts_with(',')
                || rest.starts_with('}')
                || rest.starts_with(']');
            (j > start && fine_after).then_some((start, j, false))
        }
        _ => None,
    }
}

/// Expression-like bare values: `settings.DB_PASSWORD`, `get_password()`,
/// `DB_PASSWORD`, `my-secret-name`.
fn identifier_like(v: &str) -> bool {
    let has_digit = v.bytes().any(|b| b.is_ascii_digit());
    let words_only = v.split(['_', '-', '.']).all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphabetic()));
    let screaming = v.contains('_')
        && v.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && v.bytes().next().is_some_and(|b| b.is_ascii_uppercase());
    let dotted = v.contains('.')
        && v.split('.').all(|p| {
            !p.is_empty()
                && p.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        && v.split('.').count() >= 2
        && !v.split('.').all(|p| p.len() > 12);
    (words_only && !has_digit && v.contains(['_', '-', '.'])) || screaming || dotted
}

/// Length and entropy thresholds and allowlists for a value.
pub(crate) fn accept(name: &str, value: &str, class: Class, quoted: bool) -> bool {
    let v = value.trim().trim_end_matches("\\n").trim_end_matches("\\r");
    let n = v.chars().count();
    let (min_len, min_entropy) = match class {
        Class::Password => (8, 2.5),
        Class::Secret => (12, 3.0),
    };
    if n < min_len || n > 1000 || v.chars().any(char::is_whitespace) {
        return false;
    }
    if allow::is_placeholder(v) || allow::is_known_format(v) || allow::is_env_read(v) {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.contains(&lower.as_str()) || lower == name.to_ascii_lowercase().trim_matches('-') {
        return false;
    }
    // Paths, URLs (database URLs have their own rule), templates, YAML tags
    // and anchors, code.
    if v.starts_with(['/', '~', '!', '&', '*', '@', '{', '(', '[', '%'])
        || v.starts_with("./")
        || v.starts_with("../")
        || v.contains("://")
        || v.contains('\\') && v.contains(':')
        || (v.contains('{') && v.contains('}'))
        || (!quoted && (v.contains('(') || v.contains('[') || v.contains('$') || v.contains('`')))
    {
        return false;
    }
    if v.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'_' | b':')) {
        return false; // numbers, dates, versions, times
    }
    if matches!(lower.as_str(), "true" | "false" | "null" | "none" | "nil" | "yes" | "no") || identifier_like(v) {
        return false;
    }
    // A MIME type or an enum-like dotted constant is not a secret either.
    if lower.starts_with("application/") || lower.starts_with("text/") {
        return false;
    }
    // ARNs name resources; they are not credentials.
    if lower.starts_with("arn:") {
        return false;
    }
    // Words: `IAmSensitive`, `AWSSecretKey`, `serverlessrepo:applicationId`.
    // Real secrets have digits or symbols, unless long and random.
    let words_only = v.bytes().all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/'));
    if words_only && (n < 24 || allow::entropy(v) < 4.0) {
        return false;
    }
    // `mypassword1`, `export-token-cu4lg26`, `my-jwt-secret-2024`: examples
    // that spell out what they stand for.
    if ["password", "passwd"].iter().any(|w| lower.contains(w)) {
        return false;
    }
    let last = word_slices(name).last().map(str::to_ascii_lowercase).unwrap_or_default();
    if (last == "token" || last == "secret") && lower.contains(&last) {
        return false;
    }
    allow::entropy(v) >= min_entropy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(words("AIRFLOW__CORE__FERNET_KEY"), ["airflow", "core", "fernet", "key"]);
        assert_eq!(words("githubToken"), ["github", "token"]);
        assert_eq!(words("APIKey"), ["api", "key"]);
        assert_eq!(words("--db-password2"), ["db", "password"]);
    }

    #[test]
    fn classifies_names() {
        assert_eq!(classify("DB_PASSWORD"), Some(Class::Password));
        assert_eq!(classify("spring.datasource.password"), Some(Class::Password));
        assert_eq!(classify("SECRET_KEY"), Some(Class::Secret));
        assert_eq!(classify("hf_token"), Some(Class::Secret));
        assert_eq!(classify("apiKey"), Some(Class::Secret));
        for n in [
            "PASSWORD_FILE",
            "token_url",
            "max_tokens",
            "eos_token",
            "secret_name",
            "key",
            "cache_key",
            "tokenizer",
            "pass",
        ] {
            assert_eq!(classify(n), None, "{n}");
        }
    }

    #[test]
    fn identifiers_are_not_values() {
        assert!(identifier_like("settings.DB_PASSWORD"));
        assert!(identifier_like("MLFLOW_TRACKING_PASSWORD"));
        assert!(identifier_like("my-secret-name"));
        assert!(!identifier_like("hunter2hunter2"));
    }
}
