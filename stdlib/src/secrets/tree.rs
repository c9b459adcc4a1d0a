//! Scanning a whole directory tree, in parallel (`mlpol secrets`).
//!
//! The files scanned are those the file collector's secret scan reads
//! (the file collector's `secrets.scan()`): regular files (symbolic links
//! are not followed), `.git/` never entered, the skipped directories left
//! out (names at any depth, or paths relative to the target), files larger
//! than [`MAX_READ`] not read, binary files skipped by
//! [`Scanner::scan_bytes`]. Findings come in the order of that walk (by file
//! name within each directory), then by line, column and rule.
//!
//! What makes it fast: the walk is `ignore::WalkParallel` (directory entries
//! carry their type, so no file is `stat`ed by path), each worker reads into
//! one buffer it reuses (reserved once at [`MAX_READ`]), and a file's size
//! comes from `fstat` on the open file.

use super::{Scanner, SecretFinding};
use crate::files::{io_reason, is_skipped, walk_order, MAX_READ};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The result of [`Scanner::scan_tree`].
#[derive(Debug, Default)]
pub struct TreeScan {
    /// Every finding, in walk order (see the module documentation).
    pub findings: Vec<SecretFinding>,
    /// Files read (binary ones included).
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
}

/// The path an `ignore` error is about, if it names one.
fn error_path(e: &ignore::Error) -> Option<&Path> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        ignore::Error::Partial(errs) => errs.iter().find_map(error_path),
        _ => None,
    }
}

fn rel_of(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

impl Scanner {
    /// Scans every file under `root` (see the module documentation) with
    /// `threads` workers, leaving out the `skipped` directories. Fails,
    /// naming the path and the reason, when a directory cannot be listed or
    /// a file cannot be read (a file or directory gone since it was listed
    /// is not an error: it is no longer part of the tree).
    pub fn scan_tree(&self, root: &Path, skipped: &[String], threads: usize) -> Result<TreeScan, String> {
        if !root.is_dir() {
            return Err(format!("target `{}` is not a directory", root.display()));
        }
        let found: Mutex<Vec<(String, Vec<SecretFinding>)>> = Mutex::new(Vec::new());
        let errors: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
        let files = AtomicUsize::new(0);
        let bytes = AtomicU64::new(0);
        let mut builder = ignore::WalkBuilder::new(root);
        builder.standard_filters(false).follow_links(false).threads(threads.max(1));
        builder.build_parallel().run(|| {
            // Room for the largest file read, reserved once: memory is only
            // touched as files fill it, and it never moves or shrinks (a
            // buffer grown file by file faults its pages in again and again).
            let mut buf: Vec<u8> = Vec::with_capacity(usize::try_from(MAX_READ).unwrap_or(0).saturating_add(1));
            let (found, errors, files, bytes) = (&found, &errors, &files, &bytes);
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        if e.io_error().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) {
                            return ignore::WalkState::Continue;
                        }
                        let rel = error_path(&e).map(|p| rel_of(root, p)).unwrap_or_default();
                        let reason = e.io_error().map_or_else(|| e.to_string(), io_reason);
                        if let Ok(mut errs) = errors.lock() {
                            errs.push((rel.clone(), format!("{rel}: cannot list `{rel}`: {reason}")));
                        }
                        return ignore::WalkState::Continue;
                    }
                };
                if entry.depth() == 0 {
                    return ignore::WalkState::Continue;
                }
                let Some(ft) = entry.file_type() else { return ignore::WalkState::Continue };
                let rel = rel_of(root, entry.path());
                if ft.is_dir() {
                    let skip = entry.file_name() == ".git" || is_skipped(skipped, &rel);
                    return if skip { ignore::WalkState::Skip } else { ignore::WalkState::Continue };
                }
                if !ft.is_file() || is_skipped(skipped, &rel) {
                    return ignore::WalkState::Continue;
                }
                match read_capped(entry.path(), &mut buf) {
                    Ok(false) => {}
                    Ok(true) => {
                        files.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(u64::try_from(buf.len()).unwrap_or(u64::MAX), Ordering::Relaxed);
                        let f = self.scan_bytes(&rel, &buf);
                        if !f.is_empty() {
                            if let Ok(mut all) = found.lock() {
                                all.push((rel, f));
                            }
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        if let Ok(mut errs) = errors.lock() {
                            errs.push((rel.clone(), format!("{rel}: cannot read: {}", io_reason(&e))));
                        }
                    }
                }
                ignore::WalkState::Continue
            })
        });
        let mut errors = errors.into_inner().unwrap_or_default();
        errors.sort_by(|a, b| walk_order(&a.0, &b.0));
        if let Some((_, message)) = errors.into_iter().next() {
            return Err(message);
        }
        let mut found = found.into_inner().unwrap_or_default();
        found.sort_by(|a, b| walk_order(&a.0, &b.0));
        Ok(TreeScan {
            findings: found.into_iter().flat_map(|(_, f)| f).collect(),
            files: files.into_inner(),
            bytes: bytes.into_inner(),
        })
    }
}

/// Reads a file into `buf` (cleared first) unless it is larger than
/// [`MAX_READ`] (then `Ok(false)`). The size comes from the open file.
fn read_capped(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > MAX_READ {
        return Ok(false);
    }
    buf.clear();
    // A file grown since `fstat` is read up to the cap.
    file.take(MAX_READ).read_to_end(buf)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_order_is_by_name_within_a_directory() {
        let mut v = vec!["a/x", "a-b/x", "a.txt", "a/b/c"];
        v.sort_by(|a, b| walk_order(a, b));
        assert_eq!(v, ["a/b/c", "a/x", "a-b/x", "a.txt"]);
    }
}
