//! The bundled checklist's own tests: every `test` item of
//! `stdlib/checklist/*_test.mlpol`, run by the real runner against the
//! bundled modules, must pass; and every bundled check must have a test
//! (the failure lists the checks that have none).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use mlpol_lang::diagnostic::Severity;
use mlpol_stdlib::config::Date;
use mlpol_stdlib::testing::{is_test_file, Options, Run, Suite};
use std::path::{Path, PathBuf};

fn checklist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checklist")
}

/// The bundled modules and every test file next to them.
fn suite() -> Suite {
    let dir = checklist_dir();
    let mut files = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    for name in names {
        let name = name.to_string_lossy().to_string();
        if is_test_file(&name) {
            let text = std::fs::read_to_string(dir.join(&name)).unwrap();
            files.push((format!("stdlib/checklist/{name}"), text, dir.clone()));
        }
    }
    assert!(!files.is_empty(), "no *_test.mlpol in {}", dir.display());
    Suite::new(files, true)
}

fn run(suite: &Suite) -> Run {
    suite.run(&Options { filter: None, today: Date::parse("2026-11-26").unwrap() })
}

#[test]
fn the_test_files_check_clean() {
    let suite = suite();
    let mut problems = Vec::new();
    for (path, text, diags) in suite.program.diagnostics() {
        if !is_test_file(&path) {
            continue;
        }
        for d in diags.iter().filter(|d| d.severity == Severity::Error || d.code == "W0005") {
            let (line, _) = mlpol_lang::diagnostic::line_col(&text, d.span.start);
            problems.push(format!("{path}:{line}: {} {}", d.code, d.message));
        }
    }
    assert!(problems.is_empty(), "diagnostics in the checklist's tests:\n{}", problems.join("\n"));
}

#[test]
fn every_bundled_test_passes() {
    let suite = suite();
    let run = run(&suite);
    let failed: Vec<String> = run
        .outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| {
            let mut s = format!("{}:{}: {}", o.file, o.line, o.name);
            for m in &o.mismatches {
                s.push_str(&format!("\n    {} {}: expected {:?}, actual {:?}", m.check, m.what, m.expected, m.actual));
            }
            for a in &o.actual {
                for t in &a.trace {
                    s.push_str(&format!("\n      {t}"));
                }
            }
            s
        })
        .collect();
    assert!(failed.is_empty(), "{} of {} tests failed:\n{}", failed.len(), run.outcomes.len(), failed.join("\n"));
    assert!(run.passed > 0);
}

/// A check of the bundled checklist without a test: add one to the
/// module's `*_test.mlpol` (see docs/testing.md).
#[test]
fn every_bundled_check_has_a_test() {
    let suite = suite();
    let run = run(&suite);
    let untested = &run.coverage.untested;
    assert!(
        untested.is_empty(),
        "{} bundled check(s) have no test in stdlib/checklist/*_test.mlpol:\n  {}",
        untested.len(),
        untested.join("\n  ")
    );
}

/// The figures docs/testing.md quotes; printed by
/// `cargo test -p mlpol-stdlib --test checklist_tests -- --nocapture coverage`.
#[test]
fn coverage_of_the_bundled_checklist() {
    let suite = suite();
    let c = run(&suite).coverage;
    eprintln!("{}", c.summary());
    for check in &c.checks {
        eprintln!(
            "  {:<40} {:>3} {:>7} {:>7}",
            check.check,
            check.tests,
            format!("{}/{}", check.requires_covered, check.requires),
            format!("{}/{}", check.branches_covered, check.branches)
        );
    }
    // Every tested check has each of its requirements evaluated at least once.
    for check in c.checks.iter().filter(|c| c.tests > 0) {
        assert!(check.requires_covered > 0 || check.requires == 0, "{}: no requirement evaluated", check.check);
    }
}
