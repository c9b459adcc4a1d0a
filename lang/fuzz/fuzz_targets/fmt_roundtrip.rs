//! The formatter: idempotent, keeps the token sequence, and keeps the
//! meaning: text that parses without errors formats to text that parses to
//! the same syntax trees (spans aside).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mlpol_lang::fmt::format;
use mlpol_lang::syntax::lexer::{lex, Token};
use mlpol_lang::syntax::{parse_item, split_items};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    common::on_small_stack(move || roundtrip(&text));
});

fn roundtrip(text: &str) {
    let once = format(text);
    let twice = format(&once);
    assert_eq!(once, twice, "formatting is not idempotent");
    assert_eq!(kinds(text), kinds(&once), "formatting changed the tokens");
    if let Some(before) = trees(text) {
        let after = trees(&once).expect("the formatted text no longer parses");
        assert_eq!(before, after, "formatting changed the syntax trees");
    }
}

fn kinds(text: &str) -> Vec<Token> {
    lex(text).into_iter().map(|l| l.token).filter(|t| *t != Token::Newline).collect()
}

/// The items' trees as JSON without spans, or `None` if any item has a
/// parse error.
fn trees(text: &str) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    for range in split_items(text) {
        let parse = parse_item(text.get(range)?);
        if !parse.errors.is_empty() {
            return None;
        }
        let mut json = serde_json::to_value(&parse.ast).ok()?;
        strip_spans(&mut json);
        out.push(json);
    }
    Some(out)
}

fn strip_spans(v: &mut Value) {
    // Iterative: trees are deep.
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                map.remove("span");
                stack.extend(map.values_mut());
            }
            Value::Array(xs) => stack.extend(xs.iter_mut()),
            _ => {}
        }
    }
}
