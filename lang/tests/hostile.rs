//! Hostile input: whatever bytes arrive, the full pipeline (item splitting,
//! parsing, checking, diagnostics, rendering) and the formatter never panic,
//! never overflow the stack, and report an error wherever the input is
//! obviously invalid.
//!
//! These tests run on cargo's default test threads (2 MiB stacks, unoptimised
//! code): deep input must be bounded by the library's own limits
//! (`MAX_NESTING`, `MAX_TREE_DEPTH`, `MAX_ITEM_BYTES`), not by a big stack.
//!
//! Invalid UTF-8: a policy file is read as bytes and the CLI converts it with
//! `String::from_utf8_lossy`, so the language only ever sees `&str`; bytes
//! that are not UTF-8 arrive as U+FFFD replacement characters. The tests
//! below feed random bytes through the same lossy conversion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use mlpol_lang::db;
use mlpol_lang::diagnostic::{self, Diagnostic};
use mlpol_lang::syntax::lexer::{lex, Token};
use mlpol_lang::syntax::parser::{MAX_ITEM_BYTES, MAX_NESTING};
use proptest::prelude::*;
use salsa::Setter as _;
use std::time::{Duration, Instant};

const N: usize = 100_000;

/// Makes an input of a given depth or size.
type Maker = Box<dyn Fn(usize) -> String>;

/// Diagnostics of `text` as the single file of a fresh workspace.
fn diagnostics(text: &str) -> Vec<Diagnostic> {
    let db = common::database();
    let (ws, files) = common::workspace(&db, &[("main.mlpol".to_string(), text.to_string())]);
    db::file_diagnostics(&db, ws, files[0]).clone()
}

/// Runs `text` through everything: diagnostics from a fresh database, their
/// rendering, and the formatter. Checks the invariants that hold for any
/// input and returns the diagnostics.
fn pipeline(text: &str) -> Vec<Diagnostic> {
    let diags = diagnostics(text);
    for d in &diags {
        assert!(
            d.span.start <= d.span.end && d.span.end <= text.len(),
            "{d:?} is outside a text of {} bytes",
            text.len()
        );
        for l in &d.labels {
            assert!(l.span.start <= l.span.end && l.span.end <= text.len(), "label of {d:?} is outside the text");
        }
    }
    // `locate` scans the text up to the offset (quadratic over all of
    // 100 000 diagnostics) and rendering copies the source per report and
    // prints whole lines: do a handful, as a terminal shows the first ones.
    let shown = &diags[..diags.len().min(8)];
    for d in shown {
        diagnostic::locate("main.mlpol", text, d);
    }
    if text.len() <= 2 << 20 {
        let rendered = diagnostic::render("main.mlpol", text, shown, false);
        assert!(shown.is_empty() || !rendered.is_empty());
    }
    expect_error_if_obviously_invalid(text, &diags);
    mlpol_lang::fmt::format(text);
    diags
}

fn has_error(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

fn has_code(diags: &[Diagnostic], code: &str) -> bool {
    diags.iter().any(|d| d.code == code)
}

/// Text with a token the lexer does not understand (outside comments) or
/// with unbalanced brackets is never valid: it must get an error.
fn expect_error_if_obviously_invalid(text: &str, diags: &[Diagnostic]) {
    let mut depth: i64 = 0;
    let mut unbalanced = false;
    let mut bad_token = false;
    for l in lex(text) {
        match l.token {
            Token::Error => bad_token = true,
            t if t.opens() => depth += 1,
            t if t.closes() => {
                depth -= 1;
                unbalanced |= depth < 0;
            }
            _ => {}
        }
    }
    unbalanced |= depth != 0;
    if bad_token || unbalanced {
        assert!(
            has_error(diags),
            "no error for invalid input (bad token: {bad_token}, unbalanced: {unbalanced}): {:?}",
            shorten(text)
        );
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(300).collect()
}

/// Formatting is idempotent on anything.
fn format_is_idempotent(text: &str) {
    let once = mlpol_lang::fmt::format(text);
    let twice = mlpol_lang::fmt::format(&once);
    assert_eq!(once, twice, "formatting is not idempotent on {:?}", shorten(text));
}

fn check_with_body(body: &str) -> String {
    format!("check a.b {{\n  title = \"T\"\n  severity = low\n  section = [\"S\"]\n  require {body}\n}}\n")
}

fn assert_deep_rejected(text: &str) {
    let diags = pipeline(text);
    assert!(
        has_code(&diags, "E0002") || has_code(&diags, "E0001") || has_code(&diags, "E0003"),
        "no nesting, size or parse error for deep input {:?}: {diags:?}",
        shorten(text)
    );
}

/// Runs `f` and fails if it took longer than `limit` (a generous bound: this
/// is about "finishes", not about speed, and debug builds are slow).
fn within<T>(limit: Duration, what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < limit, "{what} took {took:?}");
    out
}

const VALID: &str = r#"module ok
param max_size: size = 10MiB
param names: list<string>? = null
let weak = ["password", "admin"]
/// True for a password from the list or shorter than 12 characters.
fn is_weak(p: string) -> bool {
  let n = len(p)
  p in weak or n < 12
}
/// Every YAML file is small.
check ok.small {
  title = "Small"
  section = ["A", "B"]
  severity = medium
  tags = ["size"]
  remediation = "Shrink it"
  let xs = files.glob("**/*.yaml")
  skip when is_empty(xs) because "no YAML files"
  for x in xs {
    let d = doc.yaml(x)
    require x.size <= max_size and not (x.path matches re"\.bak$")
      else at x: "{x.path} is {x.size}"
    require d["a"]["b"] ?? "none" != "x" else at d["a"]: "bad {d["a"]}"
    require not is_weak(string(d["password"] ?? "a-long-enough-password"))
  }
  let n = count y in xs: y.size > 1MiB
  let paths = map y in xs: y.path
  if n > 3 {
    require false else "{n} big files"
  } else if len(paths) == 0 {
    require any p in paths: p.ends_with(".yaml")
  }
  require (if n > 1 then 1 else 2) + 0.5 > 1 and names ?? [] == []
  require { a: 1, b: "x" }.a == 1
}
"#;

#[test]
fn the_valid_policy_is_valid() {
    let diags = pipeline(VALID);
    assert!(diags.is_empty(), "{diags:?}");
}

/// Every prefix of a valid policy, cut at each char boundary: no panic, the
/// same diagnostics from a warm database (edited in place) as from a fresh
/// one, and an error wherever the cut falls inside the check.
#[test]
fn truncations_at_every_offset() {
    let check_start = VALID.find("/// Every YAML").unwrap();
    let check_end = VALID.rfind('}').unwrap();
    let mut warm = common::database();
    let (ws, files) = common::workspace(&warm, &[("main.mlpol".to_string(), String::new())]);
    let file = files[0];
    let mut cut = 0;
    while cut <= VALID.len() {
        let prefix = &VALID[..cut];
        let fresh = pipeline(prefix);
        file.set_text(&mut warm).to(prefix.to_string());
        let incremental = db::file_diagnostics(&warm, ws, file).clone();
        assert_eq!(fresh, incremental, "fresh and warm databases disagree at byte {cut}");
        if cut > check_start + "/// Every YAML file is small.\n".len() && cut <= check_end {
            assert!(has_error(&fresh), "no error for the prefix cut at byte {cut}: {prefix:?}");
        }
        cut += VALID[cut..].chars().next().map_or(1, char::len_utf8);
    }
}

/// The same policy with every single byte removed, then every line removed.
#[test]
fn deletions() {
    let mut cut = 0;
    while cut < VALID.len() {
        let len = VALID[cut..].chars().next().map_or(1, char::len_utf8);
        let text = format!("{}{}", &VALID[..cut], &VALID[cut + len..]);
        pipeline(&text);
        cut += len;
    }
    let lines: Vec<&str> = VALID.lines().collect();
    for skip in 0..lines.len() {
        let text: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
        pipeline(&text.join("\n"));
    }
}

// ----- deep nesting -----

fn nest(open: &str, close: &str, n: usize, inner: &str) -> String {
    let mut s = String::with_capacity((open.len() + close.len()) * n + inner.len());
    for _ in 0..n {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..n {
        s.push_str(close);
    }
    s
}

fn mixed(n: usize) -> String {
    let pairs = [("(", ")"), ("[", "]"), ("{", "}")];
    let mut s = String::new();
    for i in 0..n {
        s.push_str(pairs[i % 3].0);
    }
    s.push('x');
    for i in (0..n).rev() {
        s.push_str(pairs[i % 3].1);
    }
    s
}

#[test]
fn brackets_nested_100_000_deep() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{", "}")] {
        let deep = nest(open, close, N, "x");
        assert_deep_rejected(&check_with_body(&deep));
        assert_deep_rejected(&format!("let x = {deep}\n"));
        assert_deep_rejected(&deep);
        // Unclosed, too.
        assert_deep_rejected(&check_with_body(&open.repeat(N)));
        assert_deep_rejected(&open.repeat(N));
        pipeline(&close.repeat(N));
    }
    let deep = mixed(N);
    assert_deep_rejected(&check_with_body(&deep));
    assert_deep_rejected(&format!("let x = {deep}\n"));
    assert_deep_rejected(&deep);
}

/// Nesting just inside and just outside the limit: inside parses (on a 2 MiB
/// stack, in a debug build) without a nesting error, outside is E0002.
#[test]
fn nesting_at_the_limit() {
    for (open, close) in [("(", ")"), ("[", "]"), ("f(", ")"), ("{a: ", "}"), ("[", "][0]")] {
        // Leave room for the check's own braces.
        let ok = check_with_body(&nest(open, close, MAX_NESTING - 2, "1"));
        let diags = pipeline(&ok);
        assert!(
            !has_code(&diags, "E0001") && !has_code(&diags, "E0002"),
            "error at the nesting limit for {open:?}: {diags:?}"
        );
        let too_deep = check_with_body(&nest(open, close, MAX_NESTING + 1, "1"));
        assert!(has_code(&pipeline(&too_deep), "E0002"), "no E0002 for {open:?}");
    }
    // A nested `for`/`if` ladder: blocks are brackets too.
    let mut body = String::new();
    for i in 0..MAX_NESTING - 2 {
        body.push_str(&format!("for x{i} in [1] {{\nif x{i} > 0 {{\n"));
    }
    body.push_str("require true\n");
    body.push_str(&"}\n".repeat(2 * (MAX_NESTING - 2)));
    pipeline(&format!("check a.b {{\ntitle = \"T\"\nseverity = low\nsection = [\"S\"]\n{body}}}\n"));
}

#[test]
fn not_not_not_100_000_times() {
    assert_deep_rejected(&check_with_body(&format!("{}x", "not ".repeat(N))));
    assert_deep_rejected(&format!("let x = {}true\n", "not ".repeat(N)));
    // `not` as a statement of its own, unterminated.
    pipeline(&"not ".repeat(N));
}

#[test]
fn minus_repeated() {
    assert_deep_rejected(&format!("let x = {}1\n", "-".repeat(N)));
    assert_deep_rejected(&format!("let x = {}1\n", "- ".repeat(N)));
    assert_deep_rejected(&check_with_body(&format!("1 {}1", "- ".repeat(N))));
    pipeline(&"-".repeat(N));
    pipeline(&"->".repeat(N));
}

#[test]
fn a_100_000_field_path() {
    let path = format!("a{}", ".b".repeat(N));
    assert_deep_rejected(&check_with_body(&format!("{path} == 1")));
    assert_deep_rejected(&format!("let x = {path}\n"));
    // As a check id and a module path the dotted path is not an expression.
    pipeline(&format!("check {path} {{}}\n"));
    pipeline(&format!("module {path}\n"));
    pipeline(&format!("import {path}\n"));
    pipeline(&".".repeat(N));
}

#[test]
fn f_of_f_of_f() {
    assert_deep_rejected(&check_with_body(&nest("f(", ")", N, "1")));
    assert_deep_rejected(&format!("let x = {}\n", nest("f(", ")", N, "1")));
    // Long flat postfix chains: calls and indexes.
    assert_deep_rejected(&format!("let x = f{}\n", "(1)".repeat(N)));
    assert_deep_rejected(&format!("let x = a{}\n", "[0]".repeat(N)));
}

/// Recursion in the grammar that brackets do not count: string
/// interpolation, `if`/`then`/`else`, quantifiers, `else if` chains and
/// type arguments. Each at a depth that still fits in one item (so pest
/// sees it) and at 100 000.
#[test]
fn unbracketed_recursion() {
    for n in [10_000, N] {
        assert_deep_rejected(&format!("let x = {}\n", nest("\"{", "}\"", n, "1")));
        assert_deep_rejected(&check_with_body(&nest("\"{", "}\"", n, "1")));
        assert_deep_rejected(&format!("let x = {}\n", nest("\"{(", ")}\"", n, "1")));
        assert_deep_rejected(&format!("let x = {}1{}\n", "if true then ".repeat(n), " else 2".repeat(n)));
        assert_deep_rejected(&format!("let x = {}1\n", "if true then 1 else ".repeat(n)));
        pipeline(&format!("let x = {}1\n", "if ".repeat(n)));
        assert_deep_rejected(&format!("let x = {}true\n", "all x in [1]: ".repeat(n)));
        pipeline(&format!("let x = {}1\n", "map x in ".repeat(n)));
        let ladder = format!("if true {{ require true }} {}", "else if true { require true } ".repeat(n));
        let text = format!("check a.b {{\ntitle = \"T\"\nseverity = low\nsection = [\"S\"]\n{ladder}\n}}\n");
        assert_deep_rejected(&text);
        assert_deep_rejected(&format!("param p: {}int{} = []\n", "list<".repeat(n), ">".repeat(n)));
        assert_deep_rejected(&format!("fn f(a: {}int{}) -> int {{ 1 }}\n", "map<".repeat(n), ">".repeat(n)));
        pipeline(&format!("param p: {}int\n", "list<".repeat(n)));
        // Quantifiers whose `in` part nests.
        assert_deep_rejected(&format!("let x = {}[1]{}\n", "count y in ".repeat(n), ": true".repeat(n)));
    }
}

/// A deep left-leaning tree under the per-chain limit: chains of operators
/// nested in parentheses make trees deeper than either limit alone.
#[test]
fn chains_inside_parentheses() {
    let mut e = "1".to_string();
    for _ in 0..MAX_NESTING - 4 {
        e = format!("({e}{})", " + 1".repeat(190));
    }
    pipeline(&check_with_body(&format!("{e} > 0")));
    let mut e = "x".to_string();
    for _ in 0..MAX_NESTING - 4 {
        e = format!("({e}{})", ".b".repeat(190));
    }
    pipeline(&format!("let x = {e}\n"));
    let mut e = "true".to_string();
    for _ in 0..MAX_NESTING - 4 {
        e = format!("({}{e})", "not ".repeat(190));
    }
    pipeline(&format!("let x = {e}\n"));
    let mut e = "1".to_string();
    for _ in 0..MAX_NESTING - 4 {
        e = format!("[{e}{}]", "[0]".repeat(190));
    }
    pipeline(&format!("let x = {e}\n"));
}

/// For each kind of nesting, the deepest input that is still accepted (found
/// by bisection on the test thread itself, which is the point: no depth may
/// overflow a 2 MiB stack) goes through the whole pipeline, and one level
/// more is rejected with E0002 or a parse error. Trees at the depth limit are
/// the worst case for the builder's and the checker's recursion.
#[test]
fn deepest_accepted_trees_fit_the_stack() {
    let rejected = |text: &str| {
        let d = diagnostics(text);
        has_code(&d, "E0002") || has_code(&d, "E0001")
    };
    let cases: Vec<(&str, Maker)> = vec![
        ("sum", Box::new(|n| format!("let x = 1{}\n", " + 1".repeat(n)))),
        ("right-nested sum", Box::new(|n| format!("let x = {}\n", nest("1 + (", ")", n, "1")))),
        ("not", Box::new(|n| format!("let x = {}true\n", "not ".repeat(n)))),
        ("negation", Box::new(|n| format!("let x = {}1.5\n", "- ".repeat(n)))),
        ("fields", Box::new(|n| format!("let x = {{a: 1}}{}\n", ".a".repeat(n)))),
        ("calls", Box::new(|n| format!("let x = len{}\n", "(\"a\")".repeat(n)))),
        ("if-else", Box::new(|n| format!("let x = {}1\n", "if true then 1 else ".repeat(n)))),
        ("quantifiers", Box::new(|n| format!("let x = {}true\n", "all x in [1]: ".repeat(n)))),
        ("interpolation", Box::new(|n| format!("let x = {}\n", nest("\"{", "}\"", n, "1")))),
        ("list type", Box::new(|n| format!("param p: {}int{} = []\n", "list<".repeat(n), ">".repeat(n)))),
        ("not-paren", Box::new(|n| format!("let x = {}\n", nest("not (", ")", n, "true")))),
        ("lists", Box::new(|n| format!("let x = {}\n", nest("[", "]", n, "1")))),
        ("records", Box::new(|n| format!("let x = {}\n", nest("{a: ", "}", n, "1")))),
        ("fn body", Box::new(|n| format!("fn f(x: int) -> int {{\n  {}\n}}\n", nest("x + (", ")", n, "x")))),
        (
            "else-if",
            Box::new(|n| {
                let ladder = "else if true { require true } ".repeat(n);
                format!("check a.b {{\ntitle = \"T\"\nseverity = low\nsection = [\"S\"]\nif true {{ require true }} {ladder}\n}}\n")
            }),
        ),
        ("in a check", Box::new(|n| check_with_body(&format!("{}true", "not ".repeat(n))))),
    ];
    for (what, make) in cases {
        let (mut lo, mut hi) = (0usize, 4096usize);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if rejected(&make(mid)) {
                hi = mid - 1;
            } else {
                lo = mid;
            }
        }
        assert!(lo > 0, "{what}: not even one level is accepted");
        // pest's own stack guard ("nested too deeply to parse") depends on
        // how much stack is left where it runs, so only the builder's limit
        // is asserted here.
        let diags = pipeline(&make(lo));
        assert!(!diags.iter().any(|d| d.code == "E0002" && d.message.contains("levels deep")), "{what}: {diags:?}");
        if lo < 4096 {
            assert!(rejected(&make(lo + 1)), "{what}: depth {} is not rejected", lo + 1);
        }
    }
}

// ----- size -----

#[test]
fn a_10_mb_single_line() {
    let ten_mb = 10 << 20;
    let s = format!("let x = \"{}\"\n", "a".repeat(ten_mb));
    let diags = within(Duration::from_secs(120), "a 10 MB string", || pipeline(&s));
    assert!(has_code(&diags, "E0003"), "{diags:?}");
    let sum = format!("let x = 1{}\n", "+1".repeat(ten_mb / 2));
    let diags = within(Duration::from_secs(120), "a 10 MB sum", || pipeline(&sum));
    assert!(has_code(&diags, "E0003"), "{diags:?}");
    let junk = format!("check a.b {{ {} }}", "# ".repeat(ten_mb / 2));
    within(Duration::from_secs(120), "a 10 MB junk check", || pipeline(&junk));
    // Just under the item limit: parsed for real.
    let under = format!("let x = \"{}\"\n", "a".repeat(MAX_ITEM_BYTES - 100));
    let diags = within(Duration::from_secs(120), "a string just under the item limit", || pipeline(&under));
    assert!(!has_error(&diags), "{:?}", diags);
    let sum = format!("let x = 1{}\n", " + 1".repeat(MAX_ITEM_BYTES / 5));
    let diags = within(Duration::from_secs(120), "a long sum under the item limit", || pipeline(&sum));
    assert!(has_code(&diags, "E0002"), "{diags:?}");
}

#[test]
fn a_file_of_100_000_empty_checks() {
    let mut text = String::with_capacity(N * 20);
    for i in 0..N {
        text.push_str(&format!("check c.n{i} {{}}\n"));
    }
    within(Duration::from_secs(300), "100 000 empty checks", || diagnostics(&text));
    within(Duration::from_secs(60), "formatting 100 000 empty checks", || mlpol_lang::fmt::format(&text));
    // All with the same id: every repeat is reported, in linear time.
    let same = "check c.same {}\n".repeat(N / 10);
    let diags = within(Duration::from_secs(120), "10 000 duplicate checks", || diagnostics(&same));
    assert!(diags.iter().filter(|d| d.code == "E0207").count() == N / 10 - 1);
}

#[test]
fn many_items_and_lines() {
    pipeline(&"\n".repeat(N));
    pipeline(&"let x = 1\n".repeat(N / 10));
    pipeline(&"/// doc\n".repeat(N));
    pipeline(&"// c\n".repeat(N));
    pipeline(&"check".repeat(N));
    pipeline(&"check ".repeat(N));
    pipeline(&"\"".repeat(N));
    pipeline(&"\"{".repeat(N));
    pipeline(&"re\"".repeat(N));
}

/// Long chains of globals that use each other: the checker and the
/// recursion check never recurse along the chain.
#[test]
fn long_chains_of_globals() {
    let lets: String = (1..5_000).map(|i| format!("let a{i} = a{} + 1\n", i - 1)).collect();
    let diags = pipeline(&format!("let a0 = 1\n{lets}{}", check_with_body("a4999 > 0")));
    assert!(!has_error(&diags), "{diags:?}");
    let fns: String = (1..1_000).map(|i| format!("fn f{i}(x: int) -> int {{ f{}(x) }}\n", i - 1)).collect();
    let diags = pipeline(&format!("fn f0(x: int) -> int {{ x }}\n{fns}{}", check_with_body("f999(1) > 0")));
    assert!(!has_error(&diags), "{diags:?}");
    // A cycle through all of them is found.
    let diags = pipeline(&format!("let a0 = a4999\n{lets}"));
    assert_eq!(diags.iter().filter(|d| d.code == "E0301").count(), 5_000);
}

/// Many unknown names among many globals: "did you mean" compares each
/// unknown name with the names in scope, which must not be quadratic in
/// time with a large constant (it took minutes at 4 000).
#[test]
fn many_unknown_names_among_many_globals() {
    let lets: String = (0..1_000).map(|i| format!("let a{i} = b{i}\n")).collect();
    let diags = within(Duration::from_secs(60), "1 000 unknown names", || pipeline(&lets));
    assert_eq!(diags.iter().filter(|d| d.code == "E0101").count(), 1_000);
    // Suggestions still work.
    let diags = pipeline("let limit = 1\nlet x = limt\n");
    assert!(diags.iter().any(|d| d.help.as_deref() == Some("did you mean `limit`?")), "{diags:?}");
}

/// Exactly the globals on a cycle are recursive: not those that only use
/// one (the recursion check finds cycles in linear time; this pins down what
/// it finds).
#[test]
fn recursion_is_found_exactly() {
    let src = "let a = b + c\nlet b = d\nlet c = d\nlet d = 1\n\
               fn e(x: int) -> int { e(x) }\n\
               let f = g\nlet g = h\nlet h = f + d\nlet i = f\n\
               fn j(x: int) -> int { k(x) }\nfn k(x: int) -> int { j(x) + l(x) }\nfn l(x: int) -> int { x }\n";
    let recursive: Vec<String> =
        pipeline(src).iter().filter(|d| d.code == "E0301").map(|d| src[d.span.clone()].to_string()).collect();
    assert_eq!(recursive, ["e", "f", "g", "h", "j", "k"]);
}

// ----- invalid UTF-8 -----

#[test]
fn replacement_characters_yield_diagnostics() {
    let bytes: &[u8] = b"check a.b {\n  require x\xff\xfe == 1\n}\n";
    let text = String::from_utf8_lossy(bytes);
    assert!(text.contains('\u{FFFD}'));
    assert!(has_error(&pipeline(&text)));
    assert!(has_error(&pipeline("\u{FFFD}")));
    assert!(has_error(&pipeline("check \u{FFFD} {}")));
    assert!(has_error(&pipeline("let \u{FFFD} = 1")));
    assert!(has_error(&pipeline("\u{FFFD}\u{FFFD}\u{FFFD}\ncheck a.b {}\n")));
    let lossy = String::from_utf8_lossy(&[0xC0, 0x80, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80, b'\n']);
    assert!(has_error(&pipeline(&lossy)));
    // Inside a string or a comment it is just a character.
    pipeline("let x = \"\u{FFFD}\"\n// \u{FFFD}\n");
    pipeline("let x = \"{\u{FFFD}}\"\n");
    pipeline("let x = re\"\u{FFFD}\"\n");
}

// ----- backtracking -----

/// pest backtracks: a rule that fails late makes its callers try their
/// other alternatives, which parse the same text again. Unclosed blocks,
/// unclosed braces in junk and strings that fail deep inside were
/// exponential or cubic (the first fuzz finding below took minutes for 174
/// bytes). Each of these must stay fast just under the bracket limit (beyond it
/// pest is not run) and at 1 000.
#[test]
fn no_exponential_backtracking() {
    let cases: Vec<(&str, Maker)> = vec![
        ("unclosed if blocks", Box::new(|n| format!("check a.b {{\n{}", "if x {\n".repeat(n)))),
        ("unclosed for blocks", Box::new(|n| format!("check a.b {{\n{}\n}}\n", "for x in y {\n".repeat(n)))),
        ("unclosed else-if", Box::new(|n| format!("check a.b {{\n  if x {{}} {}\n}}\n", "else if x {".repeat(n)))),
        ("unclosed braces in junk", Box::new(|n| format!("check a.b {{\n  x {}\n}}\n", "{".repeat(n)))),
        ("junk lines opening braces", Box::new(|n| format!("check a.b {{\n{}}}\n", "x {\n".repeat(n)))),
        ("braces and quotes in junk", Box::new(|n| format!("check a.b {{\n  x {}\n}}\n", "{\"".repeat(n)))),
        ("quotes and braces in junk", Box::new(|n| format!("check a.b {{\n  x {}\n}}\n", "\"{".repeat(n)))),
        ("quotes and braces in require", Box::new(|n| format!("check a.b {{\n  require {}\n}}\n", "\"{".repeat(n)))),
        ("unclosed records", Box::new(|n| format!("check a.b {{\n  require {}\n}}\n", "{a: ".repeat(n)))),
        ("unclosed calls", Box::new(|n| format!("check a.b {{\n  require {}\n}}\n", "f(".repeat(n)))),
        ("unclosed quantifiers", Box::new(|n| format!("check a.b {{\n  require {}\n}}\n", "all x in ".repeat(n)))),
        ("unclosed if-then", Box::new(|n| format!("let x = {}\n", "if x then ".repeat(n)))),
        ("unclosed interpolations", Box::new(|n| format!("let x = {}\n", "\"{(".repeat(n)))),
        ("unclosed fn body", Box::new(|n| format!("fn f(x: int) -> int {{ {}\n", "(x + ".repeat(n)))),
    ];
    for (what, make) in cases {
        for n in [MAX_NESTING - 2, 1_000] {
            within(Duration::from_secs(10), &format!("{what} ({n})"), || pipeline(&make(n)));
        }
    }
}

/// A block that is never closed is reported at its `{`, and the statements
/// before the end of the item are still checked.
#[test]
fn unclosed_blocks_are_reported() {
    let src = "check a.b {\n  title = \"T\"\n  severity = low\n  section = [\"S\"]\n  if true {\n    require nope\n";
    let diags = pipeline(src);
    assert!(diags.iter().any(|d| d.code == "E0001" && d.message.contains("unclosed")), "{diags:?}");
    assert!(has_code(&diags, "E0101"), "the statements are checked: {diags:?}");
}

// ----- regressions found by fuzzing -----

#[test]
fn fuzz_regressions() {
    for input in REGRESSIONS {
        let text = String::from_utf8_lossy(input);
        within(Duration::from_secs(10), "a fuzz regression", || pipeline(&text));
        format_is_idempotent(&text);
    }
}

/// Inputs that once crashed or took too long (see the fuzz targets in
/// `lang/fuzz`), as bytes: the fuzzers feed bytes through the lossy
/// conversion.
const REGRESSIONS: &[&[u8]] = &[
    // parse_check: 286 s under ASan. Unclosed `{` in a junk statement:
    // each one doubled pest's backtracking.
    b"check a.skip {\n  title = \"Skip\"\n  severityaecausiut::JarIm\xff\xff\xff\xff\xff\xff\xff\x0e_l\x00Ag{kip {\n  title = \"Skip\"\n  severityaecausiut::JarIm\xff\xff\xff\xff\xff\xff\xff\x0e_l\x00Ag{{{{{{{{{{{{{{{{{{{{{ize: sn =\xff{\n    req",
];

// ----- random input -----

const VOCAB: &[&str] = &[
    "check",
    "check a.b",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "re\"",
    "require",
    "for x in",
    "all y in xs:",
    "any",
    "count",
    "map",
    "filter",
    "90d",
    "10MiB",
    "1",
    "1.5",
    ".",
    "==",
    "!=",
    "<",
    ">=",
    "+",
    "-",
    "*",
    "??",
    "?",
    "=",
    ":",
    ",",
    "->",
    "\n",
    "\n",
    "x",
    "xs",
    "files",
    "files.glob",
    "doc.yaml",
    "title",
    "severity = low",
    "section",
    "\"{\"",
    "\"{x}\"",
    "\"}\"",
    "///",
    "/// doc",
    "//",
    "let",
    "let x =",
    "fn",
    "fn f(x: int) -> int",
    "param",
    "param p:",
    "list<",
    "map<",
    "int",
    "string",
    ">",
    "import",
    "module",
    "as",
    "if",
    "then",
    "else",
    "at",
    "skip when",
    "because",
    "not",
    "and",
    "or",
    "in",
    "matches",
    "true",
    "null",
    "\\",
    "#",
    "\u{FFFD}",
    "é",
    "\t",
    "\r\n",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(VOCAB), prop::sample::select(&[" ", "", "\n"][..])), 0..80)
        .prop_map(|parts| parts.into_iter().map(|(a, b)| format!("{a}{b}")).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        pipeline(&text);
    }

    #[test]
    fn random_strings(text in any::<String>()) {
        pipeline(&text);
        format_is_idempotent(&text);
    }

    #[test]
    fn random_ascii(text in "[ -~\n\t]{0,300}") {
        pipeline(&text);
        format_is_idempotent(&text);
    }

    #[test]
    fn random_token_soups(text in soup()) {
        pipeline(&text);
        format_is_idempotent(&text);
    }

    #[test]
    fn token_soups_inside_a_check(text in soup()) {
        pipeline(&format!("check a.b {{\n  title = \"T\"\n  {text}\n}}\n"));
    }

    #[test]
    fn the_valid_policy_with_a_splice(at in 0..VALID.len(), text in soup()) {
        let mut at = at;
        while !VALID.is_char_boundary(at) {
            at -= 1;
        }
        pipeline(&format!("{}{text}{}", &VALID[..at], &VALID[at..]));
    }
}
