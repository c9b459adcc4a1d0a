//! Redaction of secrets in anything mlpol prints: evidence snippets,
//! messages, reports. A secret keeps a short prefix and suffix so a person
//! can recognise it (`AKIA************2345`), never enough to use it.
//!
//! This is a line-level safety net for output. Known public placeholders
//! (AWS's documented `…EXAMPLE` keys) and known non-secret formats (hex
//! digests, UUIDs) are left alone.

use regex::{Regex, RegexSet};
use std::sync::OnceLock;

pub use mlpol_lang::value::mask;

/// The patterns, and one set of them all: most lines match none, and one
/// pass of the set says so.
fn patterns() -> &'static (Vec<Regex>, Option<RegexSet>) {
    static PATTERNS: OnceLock<(Vec<Regex>, Option<RegexSet>)> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let sources = [
            // Cloud and service tokens with a recognisable prefix.
            r"\b((?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16})\b",
            r"\b(gh[pousr]_[A-Za-z0-9]{36,})\b",
            r"\b(github_pat_[A-Za-z0-9_]{40,})\b",
            r"\b(xox[baprs]-[A-Za-z0-9-]{10,})\b",
            r"\b(sk-[A-Za-z0-9_-]{20,})\b",
            r"\b(hf_[A-Za-z0-9]{30,})\b",
            r"\b(AIza[0-9A-Za-z_-]{35})\b",
            r"\b(glpat-[A-Za-z0-9_-]{20,})\b",
            r"(?i)\b(AccountKey=[A-Za-z0-9+/=]{20,})",
            // URLs with credentials: scheme://user:password@host
            r"[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s@/]{3,})@",
            // key = value assignments whose key names a secret.
            r#"(?i)(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|fernet[_-]?key|auth[_-]?token)[A-Za-z0-9_.-]*["']?\s*[:=]\s*["']?([^\s"',;}{]{6,})"#,
            // JWTs.
            r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
        ];
        (sources.iter().filter_map(|p| Regex::new(p).ok()).collect(), RegexSet::new(sources).ok())
    })
}

/// Public placeholders and non-secret formats that look like secrets.
fn allowed(candidate: &str) -> bool {
    let hex = candidate.len() >= 32 && candidate.chars().all(|c| c.is_ascii_hexdigit());
    let uuid = candidate.len() == 36 && candidate.chars().filter(|c| *c == '-').count() == 4;
    let placeholder = candidate.contains("EXAMPLE")
        || candidate.starts_with("${")
        || candidate.starts_with('$')
        || candidate.starts_with("<")
        || candidate.chars().all(|c| c == '*' || c == 'x' || c == 'X');
    // A dotted name (`airflow.api.auth.backend.session`) or a path is a
    // setting, not a secret.
    let dotted = candidate.split('.').count() > 2
        && candidate.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    let path = candidate.starts_with('/') && !candidate.contains(char::is_whitespace);
    hex || uuid || placeholder || dotted || path
}

/// Whether a key (a document key, an environment variable) names a secret:
/// `password`, `AWS_SECRET_ACCESS_KEY`, `fernet_key`, `api-token`.
pub fn secret_name(key: &str) -> bool {
    static NAME: OnceLock<Option<Regex>> = OnceLock::new();
    NAME.get_or_init(|| {
        Regex::new(r"(?i)(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|fernet[_-]?key|credential|connection[_-]?string)").ok()
    })
    .as_ref()
    .is_some_and(|re| re.is_match(key))
}

/// The value of an entry whose key names a secret, as output shows it:
/// masked, unless it is a placeholder or a known non-secret format.
pub fn value_of(key: &str, value: &str) -> String {
    if secret_name(key) && !value.trim().is_empty() && !allowed(value.trim()) {
        mask(value)
    } else {
        text(value)
    }
}

/// The line with every secret-looking value masked: what the secret scanner
/// finds on it, then the patterns above.
pub fn line(text: &str) -> String {
    let mut out = text.to_string();
    let found = crate::secrets::Scanner::shared().scan_text("", text);
    for f in found.iter().rev().filter(|f| f.line == 1) {
        let byte =
            |column: u32| text.char_indices().nth(column.saturating_sub(1) as usize).map_or(text.len(), |(i, _)| i);
        let (start, end) = (byte(f.column), byte(f.end_column));
        if let Some(secret) = out.get(start..end) {
            let masked = mask(secret);
            out.replace_range(start..end, &masked);
        }
    }
    let (patterns, set) = patterns();
    if set.as_ref().is_some_and(|set| !set.is_match(&out)) {
        return out;
    }
    for re in patterns {
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for caps in re.captures_iter(&out) {
            if let Some(m) = caps.get(1) {
                if !allowed(m.as_str()) {
                    ranges.push((m.start(), m.end()));
                }
            }
        }
        for (start, end) in ranges.into_iter().rev() {
            if let Some(secret) = out.get(start..end) {
                let masked = mask(secret);
                out.replace_range(start..end, &masked);
            }
        }
    }
    out
}

/// Every line of a text, redacted; the body of a PEM or OpenSSH private
/// key (the lines between its BEGIN and END markers) is masked whole.
pub fn text(text: &str) -> String {
    if !text.contains('\n') {
        return line(text);
    }
    let mut in_key = false;
    let mut out = String::with_capacity(text.len());
    for l in text.split_inclusive('\n') {
        let marker = l.contains("-----BEGIN") && l.contains("PRIVATE KEY");
        if in_key && l.contains("-----END") {
            in_key = false;
        } else if in_key {
            let body = l.trim_end_matches(['\n', '\r']);
            out.push_str(&mask(body));
            out.push_str(l.get(body.len()..).unwrap_or_default());
            continue;
        }
        in_key |= marker;
        out.push_str(&line(l));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws() -> String {
        format!("{}{}", "AKIA", "QWERTYUIOPASDFGH")
    }

    #[test]
    fn masks_known_token_shapes() {
        let id = aws();
        let out = line(&format!("aws_access_key_id = {id}"));
        assert!(!out.contains(&id), "{out}");
        assert!(out.contains("AKIA*************FGH"), "{out}");
        let url = format!("postgresql://mlflow:{}@db:5432/mlflow", "hunter2hunter2");
        assert_eq!(line(&url), "postgresql://mlflow:********@db:5432/mlflow");
        assert_eq!(line("admin_password = password1234"), "admin_password = ********");
    }

    #[test]
    fn leaves_placeholders_and_digests_alone() {
        for s in [
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "image: python@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "password = ${MLFLOW_PASSWORD}",
            "token: <your token here>",
            "no secrets on this line",
            "auth_backends = airflow.api.auth.backend.session",
            "secrets_backend_kwargs_path = /run/secrets/backend",
        ] {
            assert_eq!(line(s), s);
        }
    }

    #[test]
    fn private_key_bodies_are_masked_whole() {
        let body = ["b3BlbnNzaC1rZXktdjEAAAAA", "BG5vbmUAAAAEbm9uZQ"].concat();
        let key = format!(
            "x\n-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n{body}\r\n-----END OPENSSH PRIVATE KEY-----\nafter\n"
        );
        let out = text(&key);
        assert!(!out.contains(&body), "{out}");
        assert_eq!(out.lines().count(), key.lines().count(), "{out}");
        assert!(out.ends_with("-----END OPENSSH PRIVATE KEY-----\nafter\n"), "{out}");
    }

    #[test]
    fn short_values_are_fully_masked() {
        assert_eq!(mask("abc"), "********");
    }
}
