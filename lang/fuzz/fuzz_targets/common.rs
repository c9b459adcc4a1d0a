//! Shared by the fuzz targets (included with `#[path]`, not a crate).
#![allow(dead_code)]

use mlpol_lang::db::{self, Database, SourceFile, Workspace};
use mlpol_lang::diagnostic::{self, Diagnostic};
use mlpol_lang::syntax::lexer::{lex, Token};
use mlpol_lang::types::{Schema, Type};
use std::sync::Arc;

/// The collector schema of the language tests (`lang/tests/common`).
pub fn schema() -> Schema {
    let mut s = Schema::default();
    s.record(
        "File",
        "A file of the target repository.",
        &[
            ("path", Type::Str, "path relative to the target"),
            ("size", Type::Size, "size in bytes"),
            ("mode", Type::Int, "permission bits"),
        ],
    );
    s.namespace("files", "The target's file tree.")
        .function(
            "files",
            "glob",
            &[("pattern", Type::Str)],
            1,
            Type::list(Type::record("File")),
            false,
            "Files matching a glob.",
        )
        .function("files", "exists", &[("path", Type::Str)], 1, Type::Bool, false, "Whether a path exists.");
    s.namespace("doc", "Parsed documents.").function(
        "doc",
        "yaml",
        &[("file", Type::record("File"))],
        1,
        Type::Doc,
        false,
        "The file parsed as YAML.",
    );
    s
}

pub fn database() -> Database {
    Database::new(Arc::new(schema()))
}

/// Runs `f` on a thread with the 2 MiB stack of cargo's test threads (the
/// fuzzer's main thread has 8 MiB, which would hide deep recursion), and
/// passes its panic on to the fuzzer.
pub fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    let worker = std::thread::Builder::new().stack_size(2 << 20).spawn(f).expect("spawn a thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

pub fn one_file(db: &Database, text: &str) -> (Workspace, SourceFile) {
    let file = SourceFile::new(db, "main.mlpol".to_string(), text.to_string());
    (Workspace::new(db, vec![file]), file)
}

/// Diagnostics of `text` as the only file of a fresh workspace, checked
/// against the invariants that hold for any input.
pub fn diagnostics(text: &str) -> Vec<Diagnostic> {
    let db = database();
    let (ws, file) = one_file(&db, text);
    let diags = db::file_diagnostics(&db, ws, file).clone();
    check_invariants(text, &diags);
    diags
}

pub fn check_invariants(text: &str, diags: &[Diagnostic]) {
    for d in diags {
        assert!(d.span.start <= d.span.end && d.span.end <= text.len(), "span out of range: {d:?}");
        for l in &d.labels {
            assert!(l.span.start <= l.span.end && l.span.end <= text.len(), "label out of range: {d:?}");
        }
        diagnostic::locate("main.mlpol", text, d);
    }
    diagnostic::render("main.mlpol", text, &diags[..diags.len().min(8)], false);
    // A token the lexer does not understand, or unbalanced brackets: the
    // text is invalid and must get an error.
    let mut depth: i64 = 0;
    let mut invalid = false;
    for l in lex(text) {
        match l.token {
            Token::Error => invalid = true,
            t if t.opens() => depth += 1,
            t if t.closes() => {
                depth -= 1;
                invalid |= depth < 0;
            }
            _ => {}
        }
    }
    invalid |= depth != 0;
    if invalid {
        assert!(diags.iter().any(Diagnostic::is_error), "no error for invalid input: {diags:?}");
    }
}
