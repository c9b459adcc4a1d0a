//! Regressions found by the fuzz targets (`lang/fuzz`, `stdlib/fuzz`; see
//! docs/fuzzing.md) in the language crate, one test per finding, with the
//! input inlined.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use mlpol_lang::eval::FactCall;
use mlpol_lang::value::{record, Value};

/// stdlib/eval_facts: a record argument named by a secret `path` put the
/// secret's clear text in the fact key, which is shown in messages and saved
/// in snapshots.
#[test]
fn a_fact_key_never_holds_a_secret_in_clear() {
    let clear = format!("AKIA{}XYZ", "cLeArTeXtkprn");
    for field in ["path", "uri"] {
        let call = FactCall {
            namespace: "doc".to_string(),
            name: "yaml".to_string(),
            args: vec![record(vec![(field, Value::secret(&clear)), ("size", Value::int(1))])],
        };
        let key = call.key();
        assert!(!key.contains("cLeArTeXt"), "{key}");
        assert!(key.starts_with("doc.yaml(") && key.contains("AKIA"), "{key}");
    }
    // A plain path still names the record.
    let call = FactCall {
        namespace: "doc".to_string(),
        name: "yaml".to_string(),
        args: vec![record(vec![("path", Value::str("a.yaml"))])],
    };
    assert_eq!(call.key(), r#"doc.yaml(@"a.yaml")"#);
}
