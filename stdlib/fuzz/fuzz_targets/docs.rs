//! Shared by the document targets (included with `#[path]`, not a crate).
//!
//! For any bytes, read the way the file collector reads a file (lossy
//! UTF-8), a parser must return within the fuzzer's timeout without
//! panicking or overflowing a 2 MiB stack, and:
//!
//! * a document: every value in it is located in the file (its path, a line
//!   between 1 and the number of lines, no URI), and it prints and
//!   serializes;
//! * an error: it names the file, its line (if any) is in the file, and its
//!   message is one non-empty line.
#![allow(dead_code)]

use mlpol_lang::value::{Kind, Value};
use mlpol_stdlib::docs::{parse, Format};

pub fn check(format: Format, path: &'static str, data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    on_small_stack(move || check_text(format, path, &text));
}

/// Runs `f` on a thread with the 2 MiB stack of tokio's workers and cargo's
/// test threads (the fuzzer's main thread has 8 MiB, which would hide deep
/// recursion), and passes its panic on to the fuzzer.
pub fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    let worker = std::thread::Builder::new().stack_size(2 << 20).spawn(f).expect("spawn a thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

fn check_text(format: Format, path: &str, text: &str) {
    // Lines as an editor counts them: `\n`, `\r\n` or a lone `\r` (YAML
    // breaks lines at each).
    let lines = 1 + text.bytes().filter(|&b| b == b'\n' || b == b'\r').count();
    let in_file = |line: u32| line >= 1 && line as usize <= lines;
    match parse(format, path, text) {
        Ok(doc) => {
            let mut stack = vec![&doc];
            while let Some(v) = stack.pop() {
                let origin = v.origin.as_ref().unwrap_or_else(|| panic!("a value without origin: {v}"));
                assert_eq!(origin.path.as_deref(), Some(path), "a value located in another file: {v}");
                assert!(origin.line.is_some_and(in_file), "a value located at line {:?} of {lines}: {v}", origin.line);
                assert_eq!(origin.uri, None);
                match &v.kind {
                    Kind::List(items) => stack.extend(items.iter()),
                    Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
                    _ => {}
                }
            }
            let _ = doc.to_string();
            serde_json::to_string(&doc).expect("a document serializes");
            roundtrip(&doc);
        }
        Err(e) => {
            assert_eq!(e.path, path);
            assert!(e.line.is_none_or(in_file), "an error at line {:?} of {lines}: {e}", e.line);
            assert!(!e.message.trim().is_empty(), "an error without message");
            assert!(!e.message.contains('\n'), "an error message on several lines: {e:?}");
        }
    }
}

/// A document serialized as a fact snapshot reads back the same (replay
/// must give the same report), floats to the bit: serde_json's
/// `float_roundtrip` feature is on (see docs/fuzzing.md).
fn roundtrip(doc: &Value) {
    let json = serde_json::to_string(doc).expect("a document serializes");
    let back: Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("a snapshot does not read back: {e}: {json}"));
    assert!(same(doc, &back), "a snapshot reads back differently: {json}");
}

fn same(a: &Value, b: &Value) -> bool {
    if a.origin != b.origin {
        return false;
    }
    match (&a.kind, &b.kind) {
        (Kind::Float(x), Kind::Float(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (Kind::List(xs), Kind::List(ys)) => xs.len() == ys.len() && xs.iter().zip(ys.iter()).all(|(x, y)| same(x, y)),
        (Kind::Map(xs), Kind::Map(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys.iter()).all(|((k, x), (l, y))| k == l && same(x, y))
        }
        (x, y) => x == y,
    }
}
