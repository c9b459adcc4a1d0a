//! Parsing and checking throughput on a generated policy of ~10 000 lines.
//!
//!     cargo bench -p mlpol-lang --bench parse_check
//!
//! Times, each as the median of several runs:
//! (a) splitting the file into items and parsing every item;
//! (b) all diagnostics of the file from a fresh database;
//! (c) diagnostics again after editing one check's body in a warm database
//!     (the incremental path an editor takes on every keystroke).
//!
//! No benchmark framework: `std::time::Instant` and a median.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../tests/common/mod.rs"]
mod common;

use mlpol_lang::db;
use mlpol_lang::syntax::{parse_item, split_items};
use salsa::Setter as _;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const TARGET_LINES: usize = 10_000;

/// A realistic policy: params, lets, documented functions, and checks with
/// metadata, `let`s, `skip`, `for` loops, `if`/`else`, quantifiers,
/// interpolated messages and `at` locations.
fn policy() -> String {
    let mut s = String::from("module bench.policy\n\n");
    for i in 0..20 {
        writeln!(s, "/// Limit number {i}.\nparam max_size_{i}: size = {}MiB", i + 1).unwrap();
        writeln!(s, "param names_{i}: list<string>? = null").unwrap();
    }
    s.push('\n');
    for i in 0..30 {
        writeln!(s, "let weak_{i} = [\"password{i}\", \"admin\", \"root\", \"changeme\"]").unwrap();
        writeln!(s, "let limit_{i}: int = {} * 2 + 1", i + 3).unwrap();
    }
    s.push('\n');
    for i in 0..40 {
        write!(
            s,
            "/// True for a weak password (variant {i}).
fn is_weak_{i}(p: string) -> bool {{
  let n = len(p)
  p in weak_{w} or n < limit_{w} or p matches re\"^[a-z]+$\"
}}

/// The YAML files under a directory.
fn yaml_under_{i}(dir: string) -> list<File> {{
  filter f in files.glob(\"**/*.yaml\"): f.path.starts_with(dir)
}}

",
            w = i % 30
        )
        .unwrap();
    }
    let mut i = 0;
    while s.lines().count() < TARGET_LINES {
        let f = i % 40;
        let p = i % 20;
        write!(
            s,
            "/// Check number {i}: YAML files are small and carry no weak password.
check bench.c{i} {{
  title = \"Small YAML files {i}\"
  section = [\"Storage\", \"Files\"]
  severity = {sev}
  tags = [\"size\", \"yaml\", \"n{i}\"]
  remediation = \"Shrink the files or raise max_size_{p}\"
  references = [\"https://example.com/{i}\"]
  let xs = yaml_under_{f}(\"config/{i}\")
  skip when is_empty(xs) because \"no YAML files under config/{i}\"
  for x in xs {{
    let d = doc.yaml(x)
    require x.size <= max_size_{p} and not (x.path matches re\"\\.bak$\")
      else at x: \"{{x.path}} is {{x.size}}, more than {{max_size_{p}}}\"
    require d[\"auth\"][\"password\"] ?? \"a-long-enough-password\" != \"\"
      else at d[\"auth\"]: \"empty password in {{x.path}}\"
    require not is_weak_{f}(string(d[\"auth\"][\"password\"] ?? \"a-long-enough-password\"))
  }}
  let big = count y in xs: y.size > 1MiB
  let paths = map y in xs: y.path
  if big > 3 {{
    require false else \"{{big}} big files\"
  }} else if len(paths) == 0 {{
    require any q in paths: q.ends_with(\".yaml\")
  }}
  require (if big > 1 then 1 else 2) + 0.5 > 1 and names_{p} ?? [] == []
  require all y in xs: y.mode != 511 and y.size >= 0B
}}

",
            sev = ["low", "medium", "high", "critical"][i % 4]
        )
        .unwrap();
        i += 1;
    }
    s
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn report(what: &str, runs: Vec<Duration>, lines: usize) {
    let n = runs.len();
    let m = median(runs);
    let ms = m.as_secs_f64() * 1000.0;
    let per_sec = lines as f64 / m.as_secs_f64();
    println!("{what:<46} median {ms:>9.2} ms  {per_sec:>12.0} lines/s  ({n} runs)");
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

fn main() {
    let text = policy();
    let lines = text.lines().count();
    let items = split_items(&text).len();
    println!("policy: {lines} lines, {} bytes, {items} items", text.len());

    // (a) split + parse.
    let mut runs = Vec::new();
    for _ in 0..7 {
        let (t, errors) = time(|| {
            let mut errors = 0;
            for range in split_items(&text) {
                errors += parse_item(&text[range]).errors.len();
            }
            errors
        });
        assert_eq!(errors, 0, "the generated policy has parse errors");
        runs.push(t);
    }
    report("(a) split + parse all items", runs, lines);

    // (b) full diagnostics from a fresh database.
    let files = vec![("bench.mlpol".to_string(), text.clone())];
    let mut runs = Vec::new();
    for _ in 0..5 {
        let (t, count) = time(|| {
            let db = common::database();
            let (ws, sources) = common::workspace(&db, &files);
            db::file_diagnostics(&db, ws, sources[0]).len()
        });
        if count != 0 {
            let db = common::database();
            let (ws, sources) = common::workspace(&db, &files);
            let diags = db::file_diagnostics(&db, ws, sources[0]);
            panic!("the generated policy has {count} diagnostics, the first: {:?}", diags.first());
        }
        runs.push(t);
    }
    report("(b) diagnostics, fresh database", runs, lines);

    // (c) edit one check's body in a warm database, then diagnostics again.
    let mut db = common::database();
    let (ws, sources) = common::workspace(&db, &files);
    let file = sources[0];
    db::file_diagnostics(&db, ws, file);
    let target = "check bench.c100 {";
    let at = text.find(target).expect("check 100 exists") + target.len();
    let mut runs = Vec::new();
    for k in 0..21 {
        // A different edit each time, so every run re-checks.
        let edited = format!("{}\n  require len(\"{k}\") > 0{}", &text[..at], &text[at..]);
        let (t, count) = time(|| {
            file.set_text(&mut db).to(edited);
            db::file_diagnostics(&db, ws, file).len()
        });
        assert_eq!(count, 0);
        runs.push(t);
    }
    report("(c) re-check after editing one check body", runs, lines);
}
