//! The evaluator over in-memory facts: statuses, located findings,
//! messages, null and fail-closed semantics, limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use mlpol_lang::eval::{evaluate, CheckResult, FactError, Limits, MemoryFacts, Status};
use mlpol_lang::value::{record, Kind, Origin, Params, Value};

fn file(path: &str, size: i64) -> Value {
    record(vec![("path", Value::str(path)), ("size", Value::new(Kind::Size(size))), ("mode", Value::int(0o644))])
        .with_origin(Origin::file(path, None))
}

fn facts(entries: Vec<(&str, Result<Value, FactError>)>) -> MemoryFacts {
    MemoryFacts { facts: entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect() }
}

fn run_with(src: &str, facts: &MemoryFacts, params: Params, limits: Limits) -> Vec<CheckResult> {
    let db = common::database();
    let (ws, sources) = common::workspace(&db, &[("p.mlpol".to_string(), src.to_string())]);
    let diags = mlpol_lang::db::file_diagnostics(&db, ws, sources[0]);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:#?}");
    evaluate(&db, ws, facts, &params, None, limits)
}

fn run(src: &str, facts: &MemoryFacts) -> Vec<CheckResult> {
    run_with(src, facts, Params::new(), Limits::default())
}

fn check(body: &str) -> String {
    format!("check t.t {{\n  title = \"T\"\n  section = [\"S\"]\n  severity = low\n{body}\n}}\n")
}

#[test]
fn one_finding_per_offending_element_located_at_its_evidence() {
    let f = facts(vec![(
        r#"files.glob("*.pkl")"#,
        Ok(Value::list(vec![file("a.pkl", 10), file("big.pkl", 5 << 20), file("huge.pkl", 9 << 20)])),
    )]);
    let r = run(
        &check("  for f in files.glob(\"*.pkl\") {\n    require f.size < 1MiB else \"{f.path} is {f.size}\"\n  }"),
        &f,
    );
    assert_eq!(r[0].status, Status::Fail);
    let found: Vec<(String, String)> =
        r[0].findings.iter().map(|x| (x.message.clone(), x.location.as_ref().unwrap().path.clone().unwrap())).collect();
    assert_eq!(
        found,
        vec![
            ("big.pkl is 5MiB".to_string(), "big.pkl".to_string()),
            ("huge.pkl is 9MiB".to_string(), "huge.pkl".to_string())
        ]
    );
    assert_eq!(r[0].facts, vec![r#"files.glob("*.pkl")"#.to_string()]);
}

#[test]
fn a_fact_error_makes_the_check_error_with_its_reason() {
    let f = facts(vec![(
        r#"files.glob("*.pkl")"#,
        Err(FactError::new("permission denied").at(Origin::file("models", None))),
    )]);
    let r = run(&check("  require all f in files.glob(\"*.pkl\"): f.size < 1MiB"), &f);
    assert_eq!(r[0].status, Status::Error);
    assert!(r[0].message.ends_with("models: permission denied"), "{}", r[0].message);
}

#[test]
fn skip_wins_and_gives_its_reason() {
    let f = facts(vec![(r#"files.exists("airflow.cfg")"#, Ok(Value::bool(false)))]);
    let r =
        run(&check("  skip when not files.exists(\"airflow.cfg\") because \"no Airflow here\"\n  require false"), &f);
    assert_eq!((r[0].status, r[0].message.as_str()), (Status::Skip, "no Airflow here"));
}

#[test]
fn null_fails_closed() {
    let f = MemoryFacts::default();
    let body = "  let d = null\n  require d > 3\n  require d matches re\"x\"\n  require d in [1]\n  require not (d == null) or true\n  require (d ?? 5) == 5";
    let r = run(&check(body), &f);
    assert_eq!(r[0].findings.len(), 3, "{:#?}", r[0].findings);
    assert_eq!(r[0].findings[0].message, "requirement `d > 3` is false (d = null)");
}

#[test]
fn operators_quantifiers_and_builtins() {
    let f = MemoryFacts::default();
    let body = r#"  let xs = [3, 1, 2]
  require sorted(xs) == [1, 2, 3]
  require (count x in xs: x > 1) == 2
  require (filter x in xs: x > 1) == [3, 2]
  require (map x in xs: x * 2) == [6, 2, 4]
  require all x in xs: x > 0
  require not (any x in xs: x > 5)
  require "MLflow".lower() == "mlflow" and "a,b".split(",") == ["a", "b"]
  require 90d == 12w + 6d and 1GiB == 1024MiB and days(90d) == 90
  require "admin" in ["root", "admin"] and "ml" in "mlflow" and not ("x" in { a: 1 })
  require (if len(xs) > 2 then "many" else "few") == "many"
  require int("42") == 42 and bool("yes") == true and bool("maybe") == null
  require duration("30d") == 30d and size("10MiB") == 10MiB
  require find("key=abc123", re"[0-9]+") == "123"
  require entropy("aaaa") == 0.0
  for k, v in { a: 1, b: 2 } {
    require v < 2 else "{k} = {v}"
  }"#;
    let r = run(&check(body), &f);
    assert_eq!(r[0].findings.iter().map(|f| f.message.as_str()).collect::<Vec<_>>(), vec!["b = 2"]);
}

#[test]
fn runaway_evaluation_ends_in_error_not_a_hang() {
    let f = MemoryFacts::default();
    let body = "  let xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n  require (count a in xs: (count b in xs: (count c in xs: (count d in xs: (count e in xs: (count g in xs: a + b + c + d + e + g > 0) > 0) > 0) > 0) > 0) > 0) > 0";
    let limits = Limits { steps: 100_000, ..Limits::default() };
    let r = run_with(&check(body), &f, Params::new(), limits);
    assert_eq!(r[0].status, Status::Error);
    assert_eq!(r[0].message, "evaluation took more than 100000 steps");
}

#[test]
fn params_and_functions() {
    let src = format!(
        "param limit: int = 3\nfn over(x: int) -> bool {{\n  x > limit\n}}\n{}",
        check("  require not over(4) else \"4 is over {limit}\"")
    );
    let r = run(&src, &MemoryFacts::default());
    assert_eq!(r[0].findings[0].message, "4 is over 3");
    let mut params = Params::new();
    params.insert("limit".to_string(), Value::int(10));
    let r = run_with(&src, &MemoryFacts::default(), params, Limits::default());
    assert_eq!(r[0].status, Status::Pass);
}

#[test]
fn secrets_print_redacted() {
    let secret =
        Value::new(Kind::Secret { clear: Some("hunter2-but-longer".into()), redacted: "hunt************er".into() });
    let f = facts(vec![(r#"files.get("x")"#, Ok(record(vec![("path", secret)])))]);
    let r = run(&check("  let s = files.get(\"x\")\n  require s.path == \"nope\" else \"found {s.path}\""), &f);
    assert_eq!(r[0].findings[0].message, "found hunt************er");
    let r = run(&check("  let s = files.get(\"x\")\n  require len(s.path) < 5"), &f);
    assert_eq!(r[0].findings[0].message, "requirement `len(s.path) < 5` is false (len(s.path) = 18)");
    let r = run(&check("  let s = files.get(\"x\")\n  require is_empty(s.path)"), &f);
    assert_eq!(r[0].findings[0].message, "requirement `is_empty(s.path)` is false (s.path = hunt************er)");
}

#[test]
fn text_derived_from_a_secret_stays_secret() {
    let clear = "Hunter2-But-Much-Longer";
    let f = facts(vec![(r#"files.get("x")"#, Ok(record(vec![("path", Value::secret(clear))])))]);
    for expr in [
        "lower(s.path)",
        "upper(s.path)",
        "trim(s.path)",
        "replace(s.path, \"-\", \"_\")",
        "find(s.path, re\"[A-Za-z0-9-]+\")",
        "join(split(s.path, \"-\"), \"+\")",
    ] {
        let r = run(&check(&format!("  let s = files.get(\"x\")\n  require false else \"{{{expr}}}\"")), &f);
        let message = &r[0].findings[0].message;
        assert!(!message.to_lowercase().contains("much"), "{expr} leaked: {message}");
    }
}

#[test]
fn numbers_compare_with_sizes_and_durations_and_scale_them() {
    let r = run(
        &check(
            "  require 1h == 3600 and 3600 == 1h and 1KiB == 1024\n  require 90d * 1.5 == 135d and 10MiB / 2 == 5MiB",
        ),
        &MemoryFacts::default(),
    );
    assert_eq!(r[0].status, Status::Pass, "{:#?}", r[0]);
}

#[test]
fn a_quoted_requirement_keeps_its_parentheses() {
    let r = run(&check("  let a = 1\n  require (a + 1) * 2 == 5"), &MemoryFacts::default());
    assert_eq!(r[0].findings[0].message, "requirement `(a + 1) * 2 == 5` is false ((a + 1) * 2 = 4)");
}

#[test]
fn at_without_provenance_falls_back_to_the_loop_element() {
    let f = facts(vec![(r#"files.glob("*.pkl")"#, Ok(Value::list(vec![file("m.pkl", 5)])))]);
    let r = run(&check("  for f in files.glob(\"*.pkl\") {\n    require false else at f.size > 1: \"x\"\n  }"), &f);
    assert_eq!(r[0].findings[0].location.as_ref().unwrap().path.as_deref(), Some("m.pkl"));
}

#[test]
fn a_null_argument_to_a_fact_gives_null_without_asking_the_collector() {
    let f = facts(vec![(r#"files.get("x.yaml")"#, Ok(Value::null()))]);
    let r = run(&check("  let d = doc.yaml(files.get(\"x.yaml\"))\n  require d == null"), &f);
    assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
    assert_eq!(r[0].facts, vec![r#"files.get("x.yaml")"#.to_string()]);
}

#[test]
fn a_long_chain_of_lets_ends_in_error_not_a_stack_overflow() {
    let mut src = String::from("let a0 = 0\n");
    for i in 1..2000 {
        src.push_str(&format!("let a{i} = a{} + 1\n", i - 1));
    }
    src.push_str(&check("  require a1999 == 1999"));
    let r = run(&src, &MemoryFacts::default());
    assert_eq!(r[0].status, Status::Error);
    assert!(r[0].message.contains("nested more than 32 deep"), "{}", r[0].message);
}
