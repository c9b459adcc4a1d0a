//! The item is the unit of incrementality: editing one check's body parses
//! and checks that check again, and nothing else.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use mlpol_lang::db::{self, Database};
use salsa::Setter;
use std::sync::Arc;

const POLICY: &str = r#"module m
param limit: size = 10MiB
fn big(f: File) -> bool {
  f.size > limit
}
check a.first {
  title = "First"
  severity = low
  section = ["S"]
  require all f in files.glob("*.yaml"): not big(f)
}
check b.second {
  title = "Second"
  severity = low
  section = ["S"]
  require files.exists("README.md")
}
check c.third {
  title = "Third"
  severity = low
  section = ["S"]
  require 1 < 2
}
"#;

#[test]
fn editing_one_check_body_rechecks_only_that_check() {
    let db = Database::new(Arc::new(common::schema())).with_log();
    let mut db = db;
    let (ws, files) = common::workspace(&db, &[("m.mlpol".to_string(), POLICY.to_string())]);
    assert!(db::file_diagnostics(&db, ws, files[0]).is_empty());
    let first = db.take_log();
    assert_eq!(first.iter().filter(|l| l.starts_with("check ")).count(), 6, "{first:#?}");

    let edited = POLICY.replace("require files.exists(\"README.md\")", "require files.exists(\"README.md\") or 1 == 1");
    let _old = files[0].set_text(&mut db).to(edited);
    assert!(db::file_diagnostics(&db, ws, files[0]).is_empty());
    let log = db.take_log();
    assert_eq!(log, vec!["parse check b.second {".to_string(), "check check b.second {".to_string()]);
}

#[test]
fn changing_a_signature_rechecks_its_users() {
    let mut db = Database::new(Arc::new(common::schema())).with_log();
    let (ws, files) = common::workspace(&db, &[("m.mlpol".to_string(), POLICY.to_string())]);
    assert!(db::file_diagnostics(&db, ws, files[0]).is_empty());
    db.take_log();
    let edited = POLICY.replace("fn big(f: File) -> bool", "fn big(f: File, extra: int) -> bool");
    let _old = files[0].set_text(&mut db).to(edited);
    let diags = db::file_diagnostics(&db, ws, files[0]);
    assert_eq!(diags.len(), 2, "{diags:#?}"); // unused `extra`; `big(f)` has too few arguments
    let checked: Vec<String> = db.take_log().into_iter().filter(|l| l.starts_with("check ")).collect();
    assert!(checked.contains(&"check check a.first {".to_string()));
    assert!(
        checked.contains(&"check check b.second {".to_string()),
        "module globals changed, so every item is checked again"
    );
}
