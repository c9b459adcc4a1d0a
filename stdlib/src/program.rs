//! Loading a program: the bundled checklist modules plus the user's policy
//! files, in one salsa workspace, with their diagnostics.

use crate::schema::schema;
use mlpol_lang::db::{self, Database, SourceFile, Workspace};
use mlpol_lang::diagnostic::{Diagnostic, Severity};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The bundled modules, embedded in the binary. Their paths start with
/// `std/`; they are imported as `std.<name>`.
pub const BUNDLED: &[(&str, &str)] = &[
    ("std/secrets.mlpol", include_str!("../checklist/secrets.mlpol")),
    ("std/containers.mlpol", include_str!("../checklist/containers.mlpol")),
    ("std/mlflow.mlpol", include_str!("../checklist/mlflow.mlpol")),
    ("std/dvc.mlpol", include_str!("../checklist/dvc.mlpol")),
    ("std/airflow.mlpol", include_str!("../checklist/airflow.mlpol")),
    ("std/dependencies.mlpol", include_str!("../checklist/dependencies.mlpol")),
    ("std/monitoring.mlpol", include_str!("../checklist/monitoring.mlpol")),
    ("std/incident.mlpol", include_str!("../checklist/incident.mlpol")),
    ("std/data.mlpol", include_str!("../checklist/data.mlpol")),
    ("std/services.mlpol", include_str!("../checklist/services.mlpol")),
    ("std/compliance.mlpol", include_str!("../checklist/compliance.mlpol")),
    ("std/operations.mlpol", include_str!("../checklist/operations.mlpol")),
    ("std/local.mlpol", include_str!("../checklist/local.mlpol")),
];

pub struct Program {
    pub db: Database,
    pub ws: Workspace,
}

/// A policy file that could not be read.
#[derive(Debug)]
pub struct LoadError {
    pub path: String,
    pub message: String,
}

impl Program {
    /// Bundled modules (unless `bundled` is false) followed by `files`
    /// (path as shown, text).
    pub fn new(files: Vec<(String, String)>, bundled: bool) -> Program {
        Program::with_schema(files, bundled, Arc::new(schema()))
    }

    /// A program checked against another collector schema (tests of a layer).
    pub fn with_schema(files: Vec<(String, String)>, bundled: bool, schema: Arc<mlpol_lang::types::Schema>) -> Program {
        let db = Database::new(schema);
        let mut sources: Vec<SourceFile> = Vec::new();
        if bundled {
            for (path, text) in BUNDLED {
                sources.push(SourceFile::new(&db, path.to_string(), text.to_string()));
            }
        }
        for (path, text) in files {
            sources.push(SourceFile::new(&db, path, text));
        }
        let ws = Workspace::new(&db, sources);
        Program { db, ws }
    }

    pub fn files(&self) -> Vec<SourceFile> {
        self.ws.files(&self.db).clone()
    }

    /// Every diagnostic, by file: `(path, text, diagnostics)`.
    pub fn diagnostics(&self) -> Vec<(String, String, Vec<Diagnostic>)> {
        db::workspace_diagnostics(&self.db, self.ws)
            .into_iter()
            .map(|(f, d)| (f.path(&self.db).clone(), f.text(&self.db).clone(), d))
            .collect()
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics().iter().any(|(_, _, d)| d.iter().any(|d| d.severity == Severity::Error))
    }
}

/// `.mlpol` files under a directory (recursively, sorted) or the file itself.
pub fn policy_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(LoadError { path: path.display().to_string(), message: "no such file or directory".to_string() });
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(path)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !crate::files::SKIPPED_DIRS.contains(&e.file_name().to_str().unwrap_or("")))
    {
        match entry {
            Ok(e) if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "mlpol") => {
                out.push(e.into_path());
            }
            Ok(_) => {}
            Err(e) => {
                return Err(LoadError { path: path.display().to_string(), message: e.to_string() });
            }
        }
    }
    Ok(out)
}

/// Reads a policy file. Invalid UTF-8 is replaced (and reported by the
/// caller as a diagnostic), never fatal.
pub fn read_policy(path: &Path) -> Result<(String, bool), LoadError> {
    let bytes =
        std::fs::read(path).map_err(|e| LoadError { path: path.display().to_string(), message: e.to_string() })?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok((s, true)),
        Err(e) => Ok((String::from_utf8_lossy(e.as_bytes()).into_owned(), false)),
    }
}
