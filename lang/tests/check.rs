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
