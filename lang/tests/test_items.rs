//! `test "name" { ... }` items: parsing, checking and formatting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::codes;
use mlpol_lang::syntax::ast::ItemKind;
use mlpol_lang::syntax::{parse_item, split_items};

const CHECK: &str = "check a.b {\n  title = \"T\"\n  section = [\"S\"]\n  severity = low\n  for f in files.glob(\"*\") {\n    require f.size < 1MiB\n  }\n}\n";

#[test]
fn a_test_item_is_split_and_parsed_but_test_is_not_a_keyword() {
    let text = "let test = 1\ntest \"big files fail\" {\n  check = a.b\n  at = [\"x:1\"]\n  status = skip\n}\n";
    let items = split_items(text);
    assert_eq!(items.len(), 2);
    assert!(matches!(parse_item(&text[items[0].clone()]).ast.kind, ItemKind::Let(_)));
    let parse = parse_item(&text[items[1].clone()]);
    assert!(parse.errors.is_empty(), "{:?}", parse.errors);
    let ItemKind::Test(t) = parse.ast.kind else { panic!("not a test: {:?}", parse.ast.kind) };
    assert_eq!(t.name, "big files fail");
    assert_eq!(t.body.len(), 3);
}

#[test]
fn a_valid_test_has_no_diagnostics() {
    let text = format!(
        "{CHECK}\nlet big = {{ path: \"big.bin\", size: 2MiB }}\n\ntest \"big files fail\" {{\n  check = a.b\n  facts = [{{ \"files.glob(\\\"*\\\")\": [big] }}]\n  fact_errors = {{ \"files.exists\": \"unreadable\" }}\n  params = {{}}\n  today = \"2026-01-31\"\n  status = fail\n  findings = 1\n  at = [\"big.bin\"]\n  message = [\"is false\"]\n}}\n"
    );
    assert_eq!(codes(&text), vec![]);
}

#[test]
fn wrong_settings_are_reported_with_their_codes() {
    let text = format!(
        "{CHECK}\ntest \"t\" {{\n  chek = a.b\n  status = failed\n  findings = \"2\"\n  today = \"31/01/2026\"\n  require true\n}}\n\ntest \"t\" {{\n  check = a.c\n  status = pass\n}}\n"
    );
    let got: Vec<&str> = codes(&text).into_iter().map(|(_, c)| c).collect();
    assert_eq!(got, vec!["E0403", "E0401", "E0402", "E0402", "E0402", "E0404", "E0405", "W0005"]);
}

#[test]
fn tests_are_formatted_and_the_at_setting_is_not_a_continuation() {
    let text = "test \"t\"{\ncheck=a.b\n  at=[\"x:1\"]\nfacts={\n\"k\":1,\n}\n}\n";
    let formatted = mlpol_lang::fmt::format(text);
    assert_eq!(formatted, "test \"t\" {\n  check = a.b\n  at = [\"x:1\"]\n  facts = {\n    \"k\": 1,\n  }\n}\n");
    assert_eq!(mlpol_lang::fmt::format(&formatted), formatted);
}
