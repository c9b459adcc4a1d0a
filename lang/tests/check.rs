//! Resolution and type checking, end to end through the salsa database.
//! Snapshots carry the source that produced them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{codes, render};

#[test]
fn errors_in_three_items_are_each_reported_and_the_rest_resolves() {
    let src = r#"module demo

check a.first {
  title = "First"
  severity = critical
  section = ["S"]
  require 1 +
}

fn helper(x: int) -> int {
  x * 2
}

check b.second {
  title = "Second"
  severity = hgih
  section = ["S"]
  require helper(2) == 4
}

check c.third {
  title = "Third"
  severity = low
  section = ["S"]
  let fs = files.glob("**/*.yaml")
  require all f in fs: f.sise < 10MiB
}

check d.fine {
  title = "Fine"
  severity = low
  section = ["S"]
  require helper(1) == 2 and files.exists("x")
}
"#;
    assert_eq!(codes(src), vec![(7, "E0001"), (16, "E0203"), (26, "E0102")]);
    insta::assert_snapshot!(render(src));
}

#[test]
fn unknown_names_suggest_the_closest() {
    let src = r#"let limit = 10
check a.b {
  title = "T"
  severity = high
  section = ["S"]
  require limt > 3
  require lenn([1]) == 1
  require files.glb("*") == []
}
"#;
    insta::assert_snapshot!(render(src));
}

#[test]
fn metadata_is_validated() {
    let src = r#"check a.b {
  titel = "T"
  severity = "high"
  section = "S"
  tags = ["x", 1]
  title = "T {1}"
  for x in [1] {
    remediation = "no"
    require x > 0
  }
}
check a.b {
  title = "Again"
  severity = low
}
"#;
    insta::assert_snapshot!(render(src));
}

#[test]
fn types_of_operators_and_calls() {
    let src = r#"fn f(a: string, b: int) -> bool {
  len(a) > b
}
check t.types {
  title = "T"
  severity = low
  section = ["S"]
  require f(1, "x")
  require f("a")
  require "a" + 1 == "a1"
  require 10MiB > 90d
  require [1, 2] matches re"x"
  require len(5) == 1
  require 1
  let unused = 3
}
"#;
    insta::assert_snapshot!(render(src));
}

#[test]
fn recursion_and_duplicates() {
    let src = r#"fn a(x: int) -> int {
  b(x)
}
fn b(x: int) -> int {
  a(x)
}
let a = 1
param p: int = 1
param q: string = 3
check z.z {
  title = "Z"
  severity = low
  section = ["S"]
  require a(p) == 1
}
"#;
    insta::assert_snapshot!(render(src));
}

#[test]
fn imports_across_files() {
    let src = r#"//- /main.mlpol
module main
import "lib/util.mlpol"
import util2
import std.nothing
check m.main {
  title = "M"
  severity = low
  section = ["S"]
  require util.double(2) == 4 and util.limit == 3 and util.missing(1)
}
//- /lib/util.mlpol
module util2
let limit = 3
fn double(x: int) -> int {
  x * 2
}
"#;
    assert_eq!(codes(src), vec![(3, "W0001"), (4, "E0110"), (9, "E0102")]);
    insta::assert_snapshot!(render(src));
}

#[test]
fn a_valid_policy_has_no_diagnostics() {
    let src = r#"module ok
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
  references = ["https://example.com"]
  validation = "`ls -l`"
  attestation = false
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
  let big = filter y in xs: y.size > 1KiB
  if n > 3 {
    require false else "{n} big files"
  } else if len(big) == 0 {
    require any p in paths: p.ends_with(".yaml")
  }
  require (if n > 1 then 1 else 2) + 0.5 > 1 and names ?? [] == []
  require { a: 1, b: "x" }.a == 1
}
"#;
    assert_eq!(codes(src), vec![]);
}

#[test]
fn keywords_after_a_dot_do_not_start_items() {
    let src = "let cfg = { param: 1 }\nlet p = cfg.param\ncheck mlflow.import.rules {\n  title = \"T\"\n  severity = low\n  section = [\"S\"]\n  require p == 1\n}\n";
    assert_eq!(codes(src), vec![]);
}

#[test]
fn a_broken_statement_does_not_swallow_the_one_before_it() {
    let src = "check a.b {\n  title = \"T\"\n  section = [\"S\"]\n  severity = low\n  files.exists(\"x\")\n}\n";
    assert_eq!(codes(src), vec![(5, "E0001")]);
    let rendered = render(src);
    assert!(rendered.contains("an expression is not a statement"), "{rendered}");
    assert!(rendered.contains("to require it, write `require files.exists(\"x\")`"), "{rendered}");
}

#[test]
fn literal_forms_and_bits() {
    let src = "check a.b {\n  title = \"T\"\n  section = [\"S\"]\n  severity = low\n  require bits(0o750, 0o027) == 0o020 and 0x1F == 31\n  require 500ms > 0s\n}\n";
    assert_eq!(codes(src), vec![(6, "E0005")]);
}

#[test]
fn names_used_from_other_modules_and_namespace_shadowing() {
    let src = r#"//- /main.mlpol
module main
import lib
check m.m {
  title = "T"
  section = ["S"]
  severity = low
  require lib.limit > 1
}
//- /lib.mlpol
module lib
param limit: int = 3
param unused: int = 3
let files = 1
//- /other.mlpol
module lib
"#;
    let db = common::database();
    let files = common::fixture(src);
    let (ws, sources) = common::workspace(&db, &files);
    let lib = mlpol_lang::db::file_diagnostics(&db, ws, sources[1]);
    let lib_codes: Vec<&str> = lib.iter().map(|d| d.code).collect();
    assert_eq!(lib_codes, vec!["W0002", "E0109"], "{lib:#?}");
    let other = mlpol_lang::db::file_diagnostics(&db, ws, sources[2]);
    assert_eq!(other.iter().map(|d| d.code).collect::<Vec<_>>(), vec!["E0009"]);
}

#[test]
fn an_optional_file_may_be_parsed_and_gives_an_optional_document() {
    let src = "check a.b {\n  title = \"T\"\n  section = [\"S\"]\n  severity = low\n  let d = doc.yaml(files.get(\"x.yaml\"))\n  require d[\"a\"] == 1\n  require doc.yaml(3) == null\n}\n";
    assert_eq!(codes(src), vec![(7, "E0105")]);
}
