//! The evaluator over arbitrary programs: text that checks without errors
//! (against the test schema of `common.rs`) is evaluated with fixed facts.
//! Whatever the program does (deep recursion, huge strings and lists, bad
//! regexes, overflowing arithmetic), evaluation must end within the step
//! limit, never panic or overflow a 2 MiB stack, and give every check one
//! result, with a reason when it is `error` or `skip`.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mlpol_lang::db;
use mlpol_lang::eval::{self, FactCall, FactError, FactSource, Limits, Status};
use mlpol_lang::value::{record, Kind, Origin, Params, Value};

/// Facts that always answer: two files, a YAML document, `exists` true for
/// a path with a `y` in it; a path with `err` in it fails.
struct Facts;

impl FactSource for Facts {
    fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
        let arg = call.args.first().and_then(|a| a.as_str().map(str::to_string)).unwrap_or_default();
        if arg.contains("err") {
            return Err(FactError::new(format!("{}: cannot read", call.key())));
        }
        let file = |path: &str, size: i64| {
            record(vec![
                ("path", Value::str(path)),
                ("size", Value::new(Kind::Size(size))),
                ("mode", Value::int(0o644)),
            ])
            .with_origin(Origin::file(path, None))
        };
        Ok(match (call.namespace.as_str(), call.name.as_str()) {
            ("files", "glob") => Value::list(vec![file("a.yaml", 10), file("b/c.yaml", 5 << 20)]),
            ("files", "exists") => Value::bool(arg.contains('y')),
            ("doc", "yaml") => Value::map(vec![
                ("name".to_string(), Value::str("x").with_origin(Origin::file("a.yaml", Some(1)))),
                ("list".to_string(), Value::list(vec![Value::int(1), Value::null(), Value::str("s")])),
                ("nested".to_string(), Value::map(vec![("k".to_string(), Value::bool(true))])),
            ]),
            _ => Value::null(),
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    common::on_small_stack(move || run(&text));
});

fn run(text: &str) {
    let db = common::database();
    let (ws, file) = common::one_file(&db, text);
    if db::file_diagnostics(&db, ws, file).iter().any(|d| d.is_error()) {
        return;
    }
    let checks = eval::check_metas(&db, ws).len();
    let results = eval::evaluate(&db, ws, &Facts, &Params::new(), None, Limits::default());
    assert_eq!(results.len(), checks, "not every check has a result");
    for r in &results {
        if matches!(r.status, Status::Error | Status::Skip) {
            assert!(!r.message.trim().is_empty(), "{} is {} without a reason", r.meta.id, r.status.as_str());
        }
    }
}
