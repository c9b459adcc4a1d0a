//! The `mlpol.evaluate` command: the workspace's checks evaluated offline
//! against the workspace folder with the live file collectors, waivers
//! from its `mlpol.toml` applied, as `mlpol eval --offline` would.

use crate::world::CheckStatus;
use mlpol_lang::diagnostic::Severity;
use mlpol_stdlib::collect::{standard, Collectors, Settings};
use mlpol_stdlib::config::{self, Config, Date};
use mlpol_stdlib::files::Repo;
use mlpol_stdlib::program::Program;
use mlpol_stdlib::run;
use mlpol_stdlib::session::Session;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub statuses: BTreeMap<String, CheckStatus>,
    /// `12 pass, 3 fail, 1 skip; gate: fail`.
    pub summary: String,
    /// Files left out because they have errors.
    pub excluded: Vec<String>,
    pub gate: String,
}

/// Evaluates `sources` (path, text: the bundled modules the workspace does
/// not shadow, then the user's files) against `root`. Files with errors are
/// left out (and so, in turn, files whose imports they break): one broken
/// file does not stop the rest.
pub fn evaluate(root: &Path, mut sources: Vec<(String, String)>, today: Date) -> Result<Evaluation, String> {
    let mut excluded = Vec::new();
    let program = loop {
        let program = Program::new(sources.clone(), false);
        let broken: Vec<String> = program
            .diagnostics()
            .into_iter()
            .filter(|(_, _, d)| d.iter().any(|d| d.severity == Severity::Error))
            .map(|(p, _, _)| p)
            .collect();
        if broken.is_empty() {
            break program;
        }
        let before = sources.len();
        sources.retain(|(p, _)| !broken.contains(p));
        if sources.len() == before {
            return Err(format!("cannot evaluate: {}", broken.join(", ")));
        }
        excluded.extend(broken);
    };
    let config = load_config(root)?;
    let params = run::params(&program, &config.params).map_err(|e| format!("mlpol.toml: {e}"))?;
    let repo = Arc::new(Repo::new(root));
    let schema = Arc::new(mlpol_stdlib::schema::schema());
    let mut collectors = Collectors::new(schema, standard(repo, &Settings { offline: true, ..Settings::default() }));
    collectors.offline = true;
    collectors.jobs = 4;
    let mut session = Session::live(program, params, collectors)?;
    let results = session.evaluate(None, &mut |_, _| {});
    let options =
        run::Options { target: root.display().to_string(), config: &config, only: None, inline_ignores: true, today };
    let report = run::report(&session.program, results, &session, &options);
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut statuses = BTreeMap::new();
    for c in &report.checks {
        *counts.entry(c.status.as_str()).or_default() += 1;
        statuses.insert(
            c.id.clone(),
            CheckStatus {
                status: c.status.as_str().to_string(),
                message: c.message.clone(),
                findings: c.findings.len(),
            },
        );
    }
    let mut summary = counts.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ");
    summary.push_str(&format!("; gate: {}", report.score.gate));
    if !excluded.is_empty() {
        let shown: Vec<String> = excluded
            .iter()
            .map(|p| Path::new(p).strip_prefix(root).map_or_else(|_| p.clone(), |r| r.display().to_string()))
            .collect();
        let more = if shown.len() > 3 { format!(" and {} more", shown.len() - 3) } else { String::new() };
        summary.push_str(&format!(
            "; not evaluated (they have errors): {}{more}",
            shown.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Evaluation { statuses, summary, excluded, gate: report.score.gate.clone() })
}

fn load_config(root: &Path) -> Result<Config, String> {
    let path = root.join("mlpol.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => config::parse(&path.display().to_string(), &text).map_err(|e| e.to_string()),
        Err(_) => Ok(Config::default()),
    }
}
