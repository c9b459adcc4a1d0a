//! Test helpers shared by the language tests: a small collector schema and a
//! workspace builder from `//- /path` multi-file fixtures.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use mlpol_lang::db::{self, Database, SourceFile, Workspace};
use mlpol_lang::diagnostic;
use mlpol_lang::types::{Schema, Type};
use std::sync::Arc;

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
        .function("files", "exists", &[("path", Type::Str)], 1, Type::Bool, false, "Whether a path exists.")
        .function(
            "files",
            "get",
            &[("path", Type::Str)],
            1,
            Type::optional(Type::record("File")),
            false,
            "The file at a path.",
        );
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

/// Splits a `//- /path` fixture into files; a fixture without headers is one
/// file `/main.mlpol`.
pub fn fixture(text: &str) -> Vec<(String, String)> {
    if !text.trim_start().starts_with("//- ") {
        return vec![("main.mlpol".to_string(), text.to_string())];
    }
    let mut files: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(path) = line.strip_prefix("//- /") {
            files.push((path.trim().to_string(), String::new()));
        } else if let Some((_, body)) = files.last_mut() {
            body.push_str(line);
        }
    }
    files
}

pub fn workspace(db: &Database, files: &[(String, String)]) -> (Workspace, Vec<SourceFile>) {
    let sources: Vec<SourceFile> = files.iter().map(|(p, t)| SourceFile::new(db, p.clone(), t.clone())).collect();
    (Workspace::new(db, sources.clone()), sources)
}

pub fn database() -> Database {
    Database::new(Arc::new(schema()))
}

/// The source followed by its rendered diagnostics: the body of a snapshot.
pub fn render(text: &str) -> String {
    let db = database();
    let files = fixture(text);
    let (ws, sources) = workspace(&db, &files);
    let mut out = String::new();
    for (file, (path, body)) in sources.iter().zip(&files) {
        let diags = db::file_diagnostics(&db, ws, *file);
        out.push_str(&format!("----- SOURCE {path} -----\n{body}"));
        out.push_str("----- DIAGNOSTICS -----\n");
        out.push_str(&diagnostic::render(path, body, diags, false));
    }
    out
}

/// `(line, code)` of each diagnostic of the first file.
pub fn codes(text: &str) -> Vec<(usize, &'static str)> {
    let db = database();
    let files = fixture(text);
    let (ws, sources) = workspace(&db, &files);
    let diags = db::file_diagnostics(&db, ws, sources[0]);
    diags.iter().map(|d| (diagnostic::line_col(&files[0].1, d.span.start).0, d.code)).collect()
}
