//! The reference tables in docs/language.md are generated from the collector
//! schema and the builtins, so the documentation cannot drift from the
//! code. `MLPOL_BLESS=1 cargo test -p mlpol-stdlib --test reference`
//! rewrites them.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use mlpol_lang::builtins::BUILTINS;
use mlpol_stdlib::schema::schema;
use std::fmt::Write;

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn facts() -> String {
    let s = schema();
    let mut out = String::from("| Function | Returns |\n|---|---|\n");
    for (ns, (_, fns)) in &s.namespaces {
        let _ = ns;
        for f in fns.values() {
            let _ = writeln!(out, "| `{}` | {} |", cell(&f.signature()), cell(&f.doc));
        }
    }
    out.push_str("\nNamespaces:\n\n");
    for (ns, (doc, _)) in &s.namespaces {
        let _ = writeln!(out, "- `{ns}`: {doc}");
    }
    out
}

fn records() -> String {
    let s = schema();
    let mut out = String::new();
    for r in s.records.values() {
        let _ = writeln!(out, "`{}`: {}\n\n| Field | Type | Meaning |\n|---|---|---|", r.name, r.doc);
        for f in &r.fields {
            let _ = writeln!(out, "| `{}` | `{}` | {} |", f.name, cell(&f.ty.to_string()), cell(&f.doc));
        }
        out.push('\n');
    }
    out
}

fn builtins() -> String {
    let mut out = String::from("| Signature | Description |\n|---|---|\n");
    for b in BUILTINS {
        let _ = writeln!(out, "| `{}` | {} |", cell(b.signature), cell(b.doc));
    }
    out
}

fn replace(doc: &str, name: &str, body: &str) -> String {
    let open = doc.find(&format!("<!-- generated: {name}")).unwrap_or_else(|| panic!("no `generated: {name}` marker"));
    let open_end = doc[open..].find("-->").unwrap() + open + 3;
    let close = doc.find(&format!("<!-- end: {name} -->")).unwrap();
    format!("{}\n{}{}", &doc[..open_end], body, &doc[close..])
}

#[test]
fn the_language_reference_tables_match_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/language.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let mut expected = replace(&doc, "facts", &facts());
    expected = replace(&expected, "records", &records());
    expected = replace(&expected, "builtins", &builtins());
    if std::env::var("MLPOL_BLESS").is_ok() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        doc == expected,
        "docs/language.md is out of date: run `MLPOL_BLESS=1 cargo test -p mlpol-stdlib --test reference`"
    );
}
