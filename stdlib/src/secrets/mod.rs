//! The secret scanner: finds credentials committed to a repository.
//!
//! How a file is scanned:
//!
//! 1. **Keyword prefilter** (as gitleaks does). Every [`Rule`] names
//!    lowercase keywords (`akia`, `-----begin`, `ghp_`, `password`, …). An
//!    Aho-Corasick automaton over all keywords (with its SIMD prefilter) runs
//!    once over an ASCII-lowercased copy of the file, jumping from one line
//!    with a keyword to the next; on each such line an overlapping search
//!    collects the set of rules whose keywords occur. A rule's regular
//!    expression runs only on those lines, so most lines of most files see
//!    no regex at all.
//! 2. **Patterns and validators.** Each rule's pattern captures the secret;
//!    a validator then checks shape and entropy, and the allowlists drop
//!    placeholders (`EXAMPLE`, `changeme`, `<...>`, `${VAR}`, `{{ var }}`,
//!    `xxx…`, `***`, `your-…`, `dummy`, `placeholder`, `redacted`), reads
//!    from the environment, digests and integrity hashes, UUIDs, git commit
//!    ids and base64 data URIs. Lockfiles (`uv.lock`, `poetry.lock`,
//!    `package-lock.json`, `yarn.lock`, `Cargo.lock`, …) never yield
//!    `generic-assignment` findings.
//! 3. **Overlaps.** A specific rule wins over `generic-assignment` where their
//!    secrets overlap (`token = "ghp_…"` is one `github-token` finding), and
//!    `gcp-service-account` wins over `private-key` on its line.
//!
//! Limits, by design:
//!
//! - Only the first [`MAX_LINE_BYTES`] (4096) bytes of a line are scanned;
//!   the rest of a longer line (minified JavaScript, embedded blobs) is
//!   ignored.
//! - A file stops being scanned once it has [`MAX_FINDINGS_PER_FILE`]
//!   (10 000) findings; a result of exactly that length was cut short.
//! - [`Scanner::scan_bytes`] skips binary files (a NUL byte in the first
//!   8 KiB, as the file collector does) and decodes the rest as lossy UTF-8.
//!   The scanner reads nothing itself: callers apply the file collector's
//!   size cap ([`crate::files::MAX_READ`]) and skipped directories.
//!
//! Secrets stay in memory: [`SecretFinding::clear`] is never serialized and
//! never printed by `Debug`; everything shown uses
//! [`mlpol_lang::value::mask`].

mod allow;
mod generic;
mod rules;
mod tree;

pub use rules::{rules, Rule};
pub use tree::TreeScan;

use aho_corasick::automaton::OverlappingState;
use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};
use mlpol_lang::value::{mask, record, Origin, Value};
use regex::Regex;
use rules::{Candidate, Engine};
use serde::Serialize;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

/// Only this many bytes of each line are scanned (the rest of a longer line
/// is ignored).
pub const MAX_LINE_BYTES: usize = 4096;

/// Scanning a file stops once it has this many findings.
pub const MAX_FINDINGS_PER_FILE: usize = 10_000;

/// How many bytes at the start of a file are checked for NUL (binary).
pub const BINARY_SNIFF_BYTES: usize = 8192;

/// Lines before and after an AWS access key id searched for its secret key.
const AWS_REGION_BEFORE: usize = 2;
const AWS_REGION_AFTER: usize = 3;

/// One secret found in a file.
///
/// `line` is 1-based; `column` and `end_column` are 1-based character
/// (Unicode scalar) columns on that line, `end_column` exclusive (the
/// column just past the secret, as in SARIF). They span the secret itself,
/// except for `private-key`, where they span the `-----BEGIN … PRIVATE
/// KEY-----` marker and the secret is the first line of the key body.
#[derive(Clone, PartialEq)]
pub struct SecretFinding {
    pub rule: &'static str,
    pub description: &'static str,
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub end_column: u32,
    /// [`mask`] of `clear`.
    pub redacted: String,
    /// See [`fingerprint`].
    pub fingerprint: String,
    /// The secret in clear. Kept in memory only (for comparisons and for
    /// [`finding_value`]); never serialized, never printed by `Debug`.
    pub clear: String,
}

impl fmt::Debug for SecretFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretFinding")
            .field("rule", &self.rule)
            .field("path", &self.path)
            .field("line", &self.line)
            .field("column", &self.column)
            .field("end_column", &self.end_column)
            .field("redacted", &self.redacted)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The serialized form: everything but `clear`.
#[derive(Serialize)]
struct PublicFinding<'a> {
    rule: &'a str,
    description: &'a str,
    path: &'a str,
    line: u32,
    column: u32,
    end_column: u32,
    redacted: &'a str,
    fingerprint: &'a str,
}

impl Serialize for SecretFinding {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PublicFinding {
            rule: self.rule,
            description: self.description,
            path: &self.path,
            line: self.line,
            column: self.column,
            end_column: self.end_column,
            redacted: &self.redacted,
            fingerprint: &self.fingerprint,
        }
        .serialize(serializer)
    }
}

/// A finding as a fact: a record `{rule, description, path, line, column,
/// fingerprint, secret}` whose `secret` is a [`Value::secret`] (it prints
/// redacted), with the finding's file and line as its origin.
pub fn finding_value(f: &SecretFinding) -> Value {
    record(vec![
        ("rule", Value::str(f.rule)),
        ("description", Value::str(f.description)),
        ("path", Value::str(&f.path)),
        ("line", Value::int(i64::from(f.line))),
        ("column", Value::int(i64::from(f.column))),
        ("fingerprint", Value::str(&f.fingerprint)),
        ("secret", Value::secret(&f.clear)),
    ])
    .with_origin(Origin::file(f.path.clone(), Some(f.line)))
}

/// The fingerprint of a finding: 64-bit FNV-1a over the rule id, the path
/// and the clear secret (NUL-separated), as 16 hex digits. The line number
/// is not part of it, so it survives code moving within the file; the same
/// secret twice in one file has one fingerprint.
///
/// This is a plain, unkeyed, truncated hash — **not a MAC** and not a
/// cryptographic commitment. 64 bits cannot identify a long random secret,
/// but a short, guessable password can be confirmed by brute force from its
/// fingerprint, rule and path; treat fingerprints as internal identifiers.
pub fn fingerprint(rule: &str, path: &str, clear: &str) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for part in [rule.as_bytes(), b"\0", path.as_bytes(), b"\0", clear.trim().as_bytes()] {
        for b in part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    }
    format!("{h:016x}")
}

/// What a rule needs to know about the file a line is in.
pub(crate) struct FileCtx<'a> {
    path: &'a str,
    text: &'a str,
    lockfile: bool,
    syntax: generic::Syntax,
    service_account: Cell<Option<bool>>,
}

impl<'a> FileCtx<'a> {
    fn new(path: &'a str, text: &'a str) -> FileCtx<'a> {
        FileCtx {
            path,
            text,
            lockfile: allow::is_lockfile(path),
            syntax: generic::syntax_for(path),
            service_account: Cell::new(None),
        }
    }

    /// The file is a Google service account key (checked once, on demand).
    pub(crate) fn is_service_account(&self) -> bool {
        if let Some(v) = self.service_account.get() {
            return v;
        }
        let v = self.text.contains("service_account") || self.text.contains("gserviceaccount.com");
        self.service_account.set(Some(v));
        v
    }
}

/// A line with keyword hits: its number, byte range and the rules to run.
#[derive(Clone, Copy, Debug)]
struct LineHit {
    no: u32,
    start: usize,
    end: usize,
    mask: u32,
}

/// What [`Scanner::for_each_hit`] calls on each line: the line and the byte
/// ranges of the name words on it; `false` stops the scan.
type OnHit<'a> = dyn FnMut(&LineHit, &[(usize, usize)]) -> bool + 'a;

/// The compiled rules: build once ([`Scanner::new`] or [`Scanner::shared`])
/// and reuse; it is `Send + Sync`.
pub struct Scanner {
    /// All keywords and the words of `generic-assignment` names, matched
    /// ASCII case-insensitively and overlapping (a DFA: one pass over each
    /// file). `None` only if the automaton could not be built, and then
    /// every line runs every rule.
    keywords: Option<AhoCorasick>,
    /// For each keyword, the bit set of rules (by index in [`rules`]) that
    /// name it.
    keyword_rules: Vec<u32>,
    /// For each keyword, whether it is one of [`generic::NAME_WORDS`].
    name_word: Vec<bool>,
    /// One per rule; `None` if a pattern failed to compile (a bug caught by
    /// the tests), and for `generic-assignment`, whose names are found from
    /// the automaton's matches instead (see [`generic::names`]).
    patterns: Vec<Option<Regex>>,
    aws_bare: Option<Regex>,
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner::new()
    }
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scanner").field("rules", &rules().len()).finish_non_exhaustive()
    }
}

struct State<'a> {
    file: &'a FileCtx<'a>,
    findings: Vec<SecretFinding>,
    seen: HashSet<(usize, u32, usize)>,
}

impl State<'_> {
    fn full(&self) -> bool {
        self.findings.len() >= MAX_FINDINGS_PER_FILE
    }

    /// Records a finding whose location spans `[start, end)` of `line`.
    fn push(&mut self, rule_index: usize, line_no: u32, line: &str, start: usize, end: usize, clear: &str) {
        if self.full() || !self.seen.insert((rule_index, line_no, start)) {
            return;
        }
        let Some(rule) = rules().get(rule_index) else { return };
        let col = line.get(..start).map_or(0, |s| s.chars().count()) + 1;
        let width = line.get(start..end).map_or(0, |s| s.chars().count());
        let clear = clear.trim();
        self.findings.push(SecretFinding {
            rule: rule.id,
            description: rule.description,
            path: self.file.path.to_string(),
            line: line_no,
            column: u32::try_from(col).unwrap_or(u32::MAX),
            end_column: u32::try_from(col + width).unwrap_or(u32::MAX),
            redacted: mask(clear),
            fingerprint: fingerprint(rule.id, self.file.path, clear),
            clear: clear.to_string(),
        });
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character
/// boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

fn strip_cr(s: &str) -> &str {
    s.strip_suffix('\r').unwrap_or(s)
}

impl Scanner {
    pub fn new() -> Scanner {
        let mut words: Vec<&'static str> = Vec::new();
        let mut keyword_rules: Vec<u32> = Vec::new();
        for (i, rule) in rules().iter().enumerate() {
            let bit = 1u32.checked_shl(u32::try_from(i).unwrap_or(u32::MAX)).unwrap_or(0);
            for kw in rule.keywords {
                match words.iter().position(|w| w.eq_ignore_ascii_case(kw)) {
                    Some(j) => {
                        if let Some(m) = keyword_rules.get_mut(j) {
                            *m |= bit;
                        }
                    }
                    None => {
                        words.push(kw);
                        keyword_rules.push(bit);
                    }
                }
            }
        }
        // The words `generic-assignment` names are made of are keywords
        // too (without rules of their own where they are not already).
        for w in generic::NAME_WORDS {
            if !words.iter().any(|k| k.eq_ignore_ascii_case(w)) {
                words.push(w);
                keyword_rules.push(0);
            }
        }
        let name_word = words.iter().map(|k| generic::NAME_WORDS.iter().any(|w| w.eq_ignore_ascii_case(k))).collect();
        // Overlapping matches report every keyword occurrence, including
        // keywords inside others (`accountkey` holds `key`). ASCII
        // case-insensitive: the file's bytes are searched as they are. A
        // DFA: with this many short keywords no prefilter applies, and the
        // DFA is the fastest automaton per byte.
        let keywords = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&words)
            .ok();
        // `generic-assignment` finds its names from the keyword matches;
        // its pattern is not compiled (the tests check it compiles).
        let patterns = rules()
            .iter()
            .map(|r| match r.engine {
                Engine::Generic => None,
                _ => regex::RegexBuilder::new(r.pattern).size_limit(1 << 24).build().ok(),
            })
            .collect();
        Scanner { keywords, keyword_rules, name_word, patterns, aws_bare: Regex::new(rules::AWS_BARE_SECRET).ok() }
    }

    /// One scanner for the whole process, compiled on first use.
    pub fn shared() -> &'static Scanner {
        static SHARED: OnceLock<Scanner> = OnceLock::new();
        SHARED.get_or_init(Scanner::new)
    }

    /// Scans a file's bytes: nothing if it is binary (a NUL in the first
    /// 8 KiB), else its text decoded as lossy UTF-8.
    pub fn scan_bytes(&self, path: &str, bytes: &[u8]) -> Vec<SecretFinding> {
        let head = bytes.get(..BINARY_SNIFF_BYTES).unwrap_or(bytes);
        if head.contains(&0) {
            return Vec::new();
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.scan_text(path, text),
            Err(_) => self.scan_text(path, &String::from_utf8_lossy(bytes)),
        }
    }

    /// Scans the text of one file. `path` is relative to the target,
    /// `/`-separated; it picks lockfile and syntax handling and goes into
    /// the fingerprint. Findings come sorted by line, column and rule.
    pub fn scan_text(&self, path: &str, text: &str) -> Vec<SecretFinding> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let file = FileCtx::new(path, text);
        let mut st = State { file: &file, findings: Vec::new(), seen: HashSet::new() };
        self.for_each_hit(text, &mut |hit, words| {
            self.scan_line(text, hit, words, &mut st);
            !st.full()
        });
        finish(st.findings)
    }

    /// Calls `f` on each line with keyword hits (within its first
    /// [`MAX_LINE_BYTES`]), with the byte ranges in the file of the
    /// [`generic::NAME_WORDS`] on it, in order; stops when `f` returns
    /// false. Lines are handled as they are found: nothing grows with the
    /// file's size.
    fn for_each_hit(&self, text: &str, f: &mut OnHit<'_>) {
        let bytes = text.as_bytes();
        let mut words: Vec<(usize, usize)> = Vec::new();
        let Some(ac) = &self.keywords else {
            let mut start = 0usize;
            for (i, line) in text.split_inclusive('\n').enumerate() {
                let end = start + line.strip_suffix('\n').unwrap_or(line).len();
                let window = bytes.get(start..end.min(start + MAX_LINE_BYTES)).unwrap_or(&[]);
                words.clear();
                words.extend(generic::find_name_words(window).map(|(s, e)| (start + s, start + e)));
                let hit = LineHit { no: u32::try_from(i + 1).unwrap_or(u32::MAX), start, end, mask: u32::MAX };
                if !f(&hit, &words) {
                    return;
                }
                start += line.len();
            }
            return;
        };
        // `from` is always a keyword's start, so a character boundary
        // (`str::find` of a `char` uses memchr).
        let next_nl = |from: usize| text.get(from..).and_then(|s| s.find('\n')).map_or(text.len(), |i| from + i);
        // Line `no_at` starts at byte `pos_at`.
        let mut no_at: u32 = 1;
        let mut pos_at = 0usize;
        // The line being gathered and the end of its scanned window.
        let mut cur: Option<(LineHit, usize)> = None;
        let mut from = 0usize;
        'search: while from < bytes.len() {
            let input = Input::new(bytes).range(from..);
            let mut state = OverlappingState::start();
            loop {
                ac.find_overlapping(input.clone(), &mut state);
                let Some(m) = state.get_match() else { break 'search };
                // Matches come in order of their end, and no keyword holds a
                // newline: every match of a line comes before the next line's.
                if cur.as_ref().is_none_or(|(h, _)| m.start() >= h.end) {
                    if let Some((hit, _)) = cur.take() {
                        if hit.mask != 0 && !f(&hit, &words) {
                            return;
                        }
                    }
                    words.clear();
                    let pos = m.start();
                    let gap = bytes.get(pos_at..pos).unwrap_or(&[]);
                    let start = gap.iter().rposition(|b| *b == b'\n').map_or(pos_at, |i| pos_at + i + 1);
                    let passed = bytes.get(pos_at..start).map_or(0, count_nl);
                    no_at = no_at.saturating_add(u32::try_from(passed).unwrap_or(u32::MAX));
                    pos_at = start;
                    let end = next_nl(pos);
                    cur = Some((LineHit { no: no_at, start, end, mask: 0 }, end.min(start + MAX_LINE_BYTES)));
                }
                let Some((hit, window_end)) = cur.as_mut() else { continue };
                if m.end() > *window_end {
                    // Past the scanned part of a long line: go on after it.
                    let (end, no) = (hit.end, hit.no);
                    if let Some((hit, _)) = cur.take() {
                        if hit.mask != 0 && !f(&hit, &words) {
                            return;
                        }
                    }
                    words.clear();
                    pos_at = end.saturating_add(1);
                    no_at = no.saturating_add(1);
                    from = pos_at;
                    continue 'search;
                }
                let k = m.pattern().as_usize();
                hit.mask |= self.keyword_rules.get(k).copied().unwrap_or(0);
                if self.name_word.get(k).copied().unwrap_or(false) {
                    words.push((m.start(), m.end()));
                }
            }
        }
        if let Some((hit, _)) = cur.take() {
            if hit.mask != 0 {
                f(&hit, &words);
            }
        }
    }

    fn scan_line(&self, text: &str, hit: &LineHit, words: &[(usize, usize)], st: &mut State<'_>) {
        let Some(raw) = text.get(hit.start..hit.end) else { return };
        let raw = strip_cr(raw);
        let line = truncate(raw, MAX_LINE_BYTES);
        for (idx, rule) in rules().iter().enumerate() {
            let bit = 1u32.checked_shl(u32::try_from(idx).unwrap_or(u32::MAX)).unwrap_or(0);
            if hit.mask & bit == 0 || st.full() {
                continue;
            }
            let re = self.patterns.get(idx).and_then(Option::as_ref);
            match rule.engine {
                Engine::Pattern(validate) => {
                    let Some(re) = re else { continue };
                    for caps in re.captures_iter(line) {
                        let Some(m) = caps.iter().skip(1).flatten().next() else { continue };
                        if rule.id == rules::AWS_ACCESS_KEY_ID {
                            self.aws_region(text, hit, st);
                        }
                        let cand = Candidate { secret: m.as_str(), line, file: st.file };
                        if !allow::is_placeholder(m.as_str())
                            && !allow::in_data_uri(line, m.start(), m.end())
                            && validate(&cand)
                        {
                            st.push(idx, hit.no, line, m.start(), m.end(), m.as_str());
                        }
                    }
                }
                Engine::PrivateKey => {
                    let Some(re) = re else { continue };
                    for m in re.find_iter(line) {
                        let after = raw.get(m.end()..).unwrap_or("");
                        let following = text.get(hit.end..).unwrap_or("");
                        if let Some(body) = private_key_body(m.as_str(), after, following) {
                            st.push(idx, hit.no, line, m.start(), m.end(), &body);
                        }
                    }
                }
                Engine::Generic => {
                    if st.file.lockfile {
                        continue;
                    }
                    let mut spans = Vec::new();
                    let names = generic::names(line, hit.start, words);
                    generic::scan(line, names, st.file.syntax, &mut spans);
                    for (s, e) in spans {
                        if allow::in_data_uri(line, s, e) {
                            continue;
                        }
                        if let Some(v) = line.get(s..e) {
                            st.push(idx, hit.no, line, s, e, v);
                        }
                    }
                }
            }
        }
    }

    /// Near an AWS access key id (two lines before to three after, and the
    /// line itself), a standalone 40-character base64 string of the right
    /// shape is its secret key.
    fn aws_region(&self, text: &str, hit: &LineHit, st: &mut State<'_>) {
        let Some(re) = &self.aws_bare else { return };
        let Some(idx) = rules().iter().position(|r| r.id == rules::AWS_SECRET_ACCESS_KEY) else { return };
        // Walk back to the start of the region.
        let mut first = hit.start;
        let mut first_no = hit.no;
        for _ in 0..AWS_REGION_BEFORE {
            if first == 0 {
                break;
            }
            let prev_end = first - 1; // the '\n' ending the previous line
            first = text.get(..prev_end).and_then(|s| s.rfind('\n')).map_or(0, |i| i + 1);
            first_no = first_no.saturating_sub(1);
        }
        let region = text.get(first..).unwrap_or("");
        let count = usize::try_from(hit.no.saturating_sub(first_no)).unwrap_or(0) + 1 + AWS_REGION_AFTER;
        for (k, raw) in region.split('\n').take(count).enumerate() {
            let no = first_no.saturating_add(u32::try_from(k).unwrap_or(u32::MAX));
            let line = truncate(strip_cr(raw), MAX_LINE_BYTES);
            for caps in re.captures_iter(line) {
                let Some(m) = caps.get(1) else { continue };
                let s = m.as_str();
                if rules::aws_secret_shape(s)
                    && !allow::is_placeholder(s)
                    && !allow::in_data_uri(line, m.start(), m.end())
                {
                    st.push(idx, no, line, m.start(), m.end(), s);
                }
            }
        }
    }
}

/// How many newlines `bytes` holds.
fn count_nl(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count()
}

/// Strips what surrounds key material on a line of a PEM block: indentation,
/// quotes, string concatenation, comment leaders and `\n` escapes.
fn pem_payload(line: &str) -> &str {
    let mut s = line.trim();
    loop {
        let before = s.len();
        for p in ["\\r\\n", "\\n", "\"", "'", "+", "#", "//", "*", ">", "|", "-"] {
            if p == "-" && s.starts_with("-----") {
                continue;
            }
            if let Some(rest) = s.strip_prefix(p) {
                s = rest.trim_start();
            }
        }
        if s.len() == before {
            return s;
        }
    }
}

fn base64_run(s: &str) -> &str {
    let n = s.bytes().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')).count();
    s.get(..n).unwrap_or("")
}

/// The first line of a private key's body after its BEGIN marker, on the
/// same line (`"-----BEGIN … KEY-----\nMIIE…"`) or within the next lines
/// (skipping PEM headers such as `Proc-Type:`). A marker followed by the END
/// marker, a placeholder (`...`, `<key>`) or code gives `None`. When the
/// lines up to the END marker hold key material in a layout not recognised
/// line by line, the BEGIN marker itself is the secret.
fn private_key_body(marker: &str, after: &str, following: &str) -> Option<String> {
    // Long runs of key material skip the placeholder test, which would
    // otherwise reject a real key containing, say, `xxx` by chance.
    let accept = |run: &str| {
        run.len() >= 16
            && !run.contains("EXAMPLE")
            && allow::entropy(run) >= 3.0
            && (run.len() >= 40 || !allow::is_placeholder(run))
    };
    let same = pem_payload(after);
    let run = base64_run(same);
    let rest = same.get(run.len()..).unwrap_or("");
    if rest.starts_with("...") || rest.starts_with('\u{2026}') {
        return None; // an abbreviated key in documentation
    }
    if accept(run) {
        return Some(run.to_string());
    }
    if !same.is_empty() && !same.starts_with("-----") {
        // Something else follows on the line: code such as
        // `startswith("-----BEGIN RSA PRIVATE KEY-----")`.
        if !same.starts_with(['\\', '"', '\'']) {
            return None;
        }
    }
    let mut material = 0usize;
    let mut ended = false;
    for (k, raw) in following.split('\n').skip(1).take(200).enumerate() {
        let payload = pem_payload(raw);
        if payload.contains("-----END") {
            ended = true;
            break;
        }
        if payload.is_empty() || (payload.contains(':') && base64_run(payload).len() < 16) {
            continue; // blank or a PEM header
        }
        let run = base64_run(payload);
        let mostly_key = run.len() >= 16 && run.len() * 2 >= payload.len();
        if k < 6 && material == 0 {
            if payload.contains("...") || payload.contains('\u{2026}') {
                return None;
            }
            if mostly_key && accept(run) {
                return Some(run.to_string());
            }
            if allow::is_placeholder(payload) {
                return None;
            }
        }
        if mostly_key {
            material += run.len();
        }
    }
    (ended && material >= 200).then(|| marker.to_string())
}

/// Drops overlaps (a specific rule wins over `generic-assignment`;
/// `gcp-service-account` wins over `private-key` on its line), sorts, caps.
fn finish(mut findings: Vec<SecretFinding>) -> Vec<SecretFinding> {
    findings.sort_by(|a, b| (a.line, a.column, a.rule).cmp(&(b.line, b.column, b.rule)));
    let mut out: Vec<SecretFinding> = Vec::with_capacity(findings.len());
    for group in findings.chunk_by(|a, b| a.line == b.line) {
        for f in group {
            let shadowed = match f.rule {
                rules::GENERIC => group.iter().any(|g| {
                    g.rule != rules::GENERIC
                        && g.rule != rules::PRIVATE_KEY
                        && g.column < f.end_column
                        && f.column < g.end_column
                }),
                rules::PRIVATE_KEY => group.iter().any(|g| g.rule == rules::GCP_SERVICE_ACCOUNT),
                _ => false,
            };
            if !shadowed {
                out.push(f.clone());
            }
        }
    }
    out.truncate(MAX_FINDINGS_PER_FILE);
    out
}

#[cfg(test)]
mod tests {
    /// The names `generic-assignment` looks at come from the keyword
    /// automaton; they are the spans its pattern would match.
    #[test]
    fn names_from_keywords_are_the_pattern_matches() {
        let parts = [
            "pass", "PWD", "Secret", "token", "KEY", "db_", "api", "x", "-", ".", "_", " ", "=", "\"", ":", "\u{fc}",
            "1", "Passw", "_pass", "k", "ey", "sk-", "akia", "/",
        ];
        let scanner = super::Scanner::new();
        let generic = super::rules().iter().position(|r| r.id == super::rules::GENERIC).unwrap();
        let re = regex::Regex::new(super::rules()[generic].pattern).unwrap();
        let mut seed: u64 = 7;
        let mut checked = 0;
        for _ in 0..20_000 {
            let mut line = String::new();
            for _ in 0..12 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                line.push_str(parts[(seed >> 33) as usize % parts.len()]);
            }
            scanner.for_each_hit(&line, &mut |hit, words| {
                if hit.mask & (1 << generic) != 0 {
                    let got: Vec<(usize, usize)> = super::generic::names(&line, hit.start, words).collect();
                    let want: Vec<(usize, usize)> = re.find_iter(&line).map(|m| (m.start(), m.end())).collect();
                    assert_eq!(got, want, "{line:?}");
                    checked += 1;
                }
                true
            });
        }
        assert!(checked > 1000, "{checked}");
    }
}

#[cfg(test)]
mod bench {
    /// `MLPOL_SCAN_BENCH=<dir> cargo test --release -p mlpol-stdlib --lib
    /// secrets::bench -- --ignored --nocapture`: the scanner alone over the
    /// files of a tree, held in memory (no I/O).
    #[test]
    #[ignore]
    fn scan_in_memory() {
        let Ok(dir) = std::env::var("MLPOL_SCAN_BENCH") else { return };
        let root = std::path::PathBuf::from(dir);
        let mut files = Vec::new();
        for e in walkdir::WalkDir::new(&root).into_iter().filter_entry(|e| e.file_name() != ".venv").flatten() {
            if e.file_type().is_file() {
                let rel = e.path().strip_prefix(&root).unwrap().to_string_lossy().into_owned();
                files.push((rel, std::fs::read(e.path()).unwrap()));
            }
        }
        // CPU time of this thread (the machine is shared): /proc schedstat.
        let cpu = || -> f64 {
            let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
            s.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()).unwrap_or(0.0) / 1e6
        };
        let scanner = super::Scanner::new();
        let total: usize = files.iter().map(|f| f.1.len()).sum();
        for round in 0..5 {
            let c = cpu();
            let n: usize = files.iter().map(|(rel, b)| scanner.scan_bytes(rel, b).len()).sum();
            let ms = cpu() - c;
            eprintln!("round {round}: {n} findings, {ms:.1} ms CPU, {:.0} MB/s", total as f64 / ms / 1e3);
        }
        let c = cpu();
        let mut hits = 0usize;
        for (_, b) in &files {
            scanner.for_each_hit(std::str::from_utf8(b).unwrap_or(""), &mut |_, _| {
                hits += 1;
                true
            });
        }
        eprintln!("for_each_hit only: {hits} lines, {:.1} ms CPU", cpu() - c);
    }
}
