//! `mlpol eval --watch`: one session kept alive. On a change to the target
//! or to a policy file, the facts that may have changed are collected again;
//! salsa re-evaluates only the checks that read a fact whose value changed
//! (or whose policy changed), and what became failing or fixed is printed.

use crate::{fail, live_session, options, parse_outputs, prepare, progress, write_reports, EvalRun, PolicyArgs};
use mlpol_lang::eval::Status;
use mlpol_stdlib::program;
use mlpol_stdlib::run::{self, Report};
use notify::{RecursiveMode, Watcher};
use salsa::Setter;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Quiet time that ends a burst of file events.
const DEBOUNCE: Duration = Duration::from_millis(10);

/// Runs until the watcher stops; `Err` is the exit code of a reported failure.
pub fn run(target: &Path, args: &PolicyArgs, eval: &EvalRun, outputs: &[String]) -> Result<u8, u8> {
    let outputs = parse_outputs(outputs)?;
    let prepared = prepare(target, args)?;
    let crate::Live { mut session, repo, config, only } = live_session(target, prepared, &eval.collect)?;
    session.program.db.enable_log();
    let results = session.evaluate(only.as_ref(), &mut progress());
    let mut reports = run::ReportCache::default();
    let opts = options(target, &config, only.clone(), eval.inline);
    let report = run::report_with(&session.program, results, &session, &opts, &mut reports);
    write_reports(&report, eval, &outputs, target)?;
    let mut previous = statuses(&report);

    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reads (ours included) are not changes.
        if let Some(event) = event.ok().filter(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
            let _ = tx.send(event.paths);
        }
    })
    .map_err(|e| fail(format!("cannot watch `{}`: {e}", target.display())))?;
    let mut roots = vec![target.to_path_buf()];
    roots.extend(args.policies.iter().cloned());
    for root in &roots {
        watcher
            .watch(root, RecursiveMode::Recursive)
            .map_err(|e| fail(format!("cannot watch `{}`: {e}", root.display())))?;
    }
    let canonical_target = target.canonicalize().unwrap_or_else(|_| target.to_path_buf());
    let ignored: BTreeSet<PathBuf> = outputs.iter().filter_map(|(_, p)| absolute(p)).collect();
    eprintln!("mlpol: watching {} (Ctrl-C to stop)", target.display());

    while let Ok(first) = rx.recv() {
        let mut paths: BTreeSet<PathBuf> = first.into_iter().collect();
        while let Ok(more) = rx.recv_timeout(DEBOUNCE) {
            paths.extend(more);
        }
        let started = Instant::now();
        paths.retain(|p| !ignored.contains(p) && !p.components().any(|c| c.as_os_str() == ".git"));
        if paths.is_empty() {
            continue;
        }
        // Policy files: update their text (or the file list) in the database.
        if paths.iter().any(|p| p.extension().is_some_and(|e| e == "mlpol")) {
            if let Err(message) = reload_policies(&mut session.program, target, args) {
                eprintln!("mlpol: {message}");
                continue;
            }
            if session.program.has_errors() {
                for (path, text, diags) in session.program.diagnostics() {
                    if !diags.is_empty() {
                        eprint!("{}", mlpol_lang::diagnostic::render(&path, &text, &diags, false));
                    }
                }
                eprintln!("mlpol: the policies have errors; waiting for the next change");
                continue;
            }
        }
        let changed: Vec<String> = paths
            .iter()
            .filter_map(|p| p.strip_prefix(&canonical_target).ok().or_else(|| p.strip_prefix(target).ok()))
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        let changes = repo.refresh_paths(&changed);
        let changed_facts = session.recollect(&changes);
        let _ = session.program.db.take_log();
        let results = session.evaluate(only.as_ref(), &mut |_, _| {});
        let evaluated = session.program.db.take_log().iter().filter(|l| l.starts_with("eval ")).count();
        reports.forget_paths(&changes.paths, &config);
        let report = run::report_with(&session.program, results, &session, &opts, &mut reports);
        let now = statuses(&report);
        for line in diff(&previous, &now, &report) {
            println!("{line}");
        }
        println!(
            "mlpol: {} changed file(s), {changed_facts} changed fact(s), {evaluated} of {} checks evaluated again in {} ms; gate {}",
            changed.len(),
            report.checks.len(),
            started.elapsed().as_millis(),
            report.score.gate
        );
        let file_style = crate::report::Style { color: false, target: target.to_path_buf() };
        for (f, path) in &outputs {
            if let Err(e) = std::fs::write(path, crate::report::render(*f, &report, &file_style)) {
                eprintln!("mlpol: {}: {e}", path.display());
            }
        }
        previous = now;
    }
    Ok(0)
}

fn absolute(p: &Path) -> Option<PathBuf> {
    let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().ok()?.join(p) };
    Some(abs.parent()?.canonicalize().ok()?.join(abs.file_name()?))
}

fn reload_policies(program: &mut program::Program, target: &Path, args: &PolicyArgs) -> Result<(), String> {
    let files = crate::load_files(Some(target), &args.policies)?;
    let db = &mut program.db;
    let existing = program.ws.files(db).clone();
    let mut sources = Vec::new();
    for f in &existing {
        if f.path(db).starts_with("std/") {
            sources.push(*f);
        }
    }
    for (path, text, _) in files {
        match existing.iter().find(|f| *f.path(db) == path) {
            Some(f) => {
                if *f.text(db) != text {
                    let _previous = f.set_text(db).to(text);
                }
                sources.push(*f);
            }
            None => sources.push(mlpol_lang::db::SourceFile::new(db, path, text)),
        }
    }
    if sources != existing {
        let _previous = program.ws.set_files(db).to(sources);
    }
    Ok(())
}

fn statuses(report: &Report) -> BTreeMap<String, (Status, usize)> {
    report.checks.iter().map(|c| (c.id.clone(), (c.status, c.findings.len()))).collect()
}

fn diff(
    before: &BTreeMap<String, (Status, usize)>,
    after: &BTreeMap<String, (Status, usize)>,
    report: &Report,
) -> Vec<String> {
    let mut out = Vec::new();
    for c in &report.checks {
        let now = after.get(&c.id).copied();
        let was = before.get(&c.id).copied();
        if now == was {
            continue;
        }
        let (status, findings) = now.unwrap_or((c.status, 0));
        let line = match (was.map(|w| w.0), status) {
            (Some(Status::Fail | Status::Error), Status::Pass | Status::Waived | Status::Skip) => {
                format!("fixed     {} ({}): {}", c.id, status.as_str(), c.title)
            }
            (_, Status::Fail) if was.is_some_and(|w| w.0 == Status::Fail) => {
                format!("changed   {} fail: {} finding(s), was {}", c.id, findings, was.map_or(0, |w| w.1))
            }
            (_, Status::Fail | Status::Error) => {
                format!("failing   {} ({}): {} — {}", c.id, status.as_str(), c.title, c.message)
            }
            (None, _) => format!("new       {} ({})", c.id, status.as_str()),
            _ => format!("now       {} ({})", c.id, status.as_str()),
        };
        out.push(line);
    }
    out
}
