//! Runs the secret scanner over a directory tree, the way the file collector
//! reads files (skipped directories, the read size cap, binary detection).
//!
//! ```text
//! cargo run --release -p mlpol-stdlib --example scan -- <dir> [--threads N] [--quiet] [--json] [--read-only]
//! ```
//!
//! Prints one line per finding (redacted) and a summary on stderr.
//! `--read-only` reads the files without scanning them (the I/O baseline).

use mlpol_stdlib::files::{MAX_READ, SKIPPED_DIRS};
use mlpol_stdlib::secrets::{Scanner, SecretFinding};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

fn skipped(rel: &str) -> bool {
    SKIPPED_DIRS.iter().any(|d| rel == *d || rel.starts_with(&format!("{d}/")) || rel.contains(&format!("/{d}/")))
}

fn walk(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name().into_iter().filter_entry(|e| {
        let rel = e.path().strip_prefix(root).ok().and_then(|r| r.to_str()).unwrap_or("");
        e.depth() == 0 || !skipped(&rel.replace('\\', "/"))
    });
    for entry in walker.flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(rel) = entry.path().strip_prefix(root).ok().and_then(|r| r.to_str()) else { continue };
        let size = entry.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        if size > MAX_READ {
            continue;
        }
        out.push((rel.replace('\\', "/"), entry.path().to_path_buf()));
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut root = PathBuf::from(".");
    let mut threads = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let mut quiet = false;
    let mut json = false;
    let mut read_only = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--threads" => threads = it.next().and_then(|n| n.parse().ok()).unwrap_or(threads).max(1),
            "--quiet" => quiet = true,
            "--json" => json = true,
            "--read-only" => read_only = true,
            other => root = PathBuf::from(other),
        }
    }
    let start = Instant::now();
    let scanner = Scanner::shared();
    let files = walk(&root);
    let next = AtomicUsize::new(0);
    let bytes_read = AtomicUsize::new(0);
    let found: Mutex<Vec<SecretFinding>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((rel, full)) = files.get(i) else { break };
                let Ok(bytes) = std::fs::read(full) else { continue };
                bytes_read.fetch_add(bytes.len(), Ordering::Relaxed);
                if read_only {
                    continue;
                }
                let mut f = scanner.scan_bytes(rel, &bytes);
                if !f.is_empty() {
                    if let Ok(mut all) = found.lock() {
                        all.append(&mut f);
                    }
                }
            });
        }
    });
    let mut found = found.into_inner().unwrap_or_default();
    found.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    if json {
        println!("{}", serde_json::to_string_pretty(&found).unwrap_or_default());
    } else if !quiet {
        for f in &found {
            println!("{}:{}:{} {} {} {}", f.path, f.line, f.column, f.rule, f.redacted, f.fingerprint);
        }
    }
    eprintln!(
        "{} files, {:.1} MiB, {} findings, {:.3}s, {threads} threads",
        files.len(),
        bytes_read.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0),
        found.len(),
        start.elapsed().as_secs_f64()
    );
}
