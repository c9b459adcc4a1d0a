//! `mlpol secrets`: the scanner on its own, for gitleaks-style use. Every
//! output shows secrets redacted. Exit 1 when something is found, 0 when
//! clean, 2 on usage errors or when part of the target cannot be read.

use crate::fail;
use mlpol_stdlib::files::SKIPPED_DIRS;
use mlpol_stdlib::secrets::{rules, Scanner, SecretFinding};
use serde::Serialize;
use serde_json::json;
use std::path::Path;

#[derive(Serialize)]
struct Row<'a> {
    rule: &'a str,
    path: &'a str,
    line: u32,
    column: u32,
    fingerprint: &'a str,
    redacted: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<&'a str>,
    /// For history findings: whether the secret is still in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    present: Option<bool>,
}

struct Found {
    finding: SecretFinding,
    commit: Option<(String, String, bool)>,
}

pub fn run(target: &Path, history: bool, depth: usize, format: &str) -> u8 {
    if !target.is_dir() {
        return fail(format!("target `{}` is not a directory", target.display()));
    }
    // The same directories are left out as for `mlpol eval` (`[files] skip`).
    let skipped: Vec<String> = match crate::load_config(target) {
        Ok(config) => config.skip.unwrap_or_else(|| SKIPPED_DIRS.iter().map(|s| s.to_string()).collect()),
        Err(code) => return code,
    };
    // The files `files.secrets()` scans, read and scanned on every core.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut found: Vec<Found> = match Scanner::shared().scan_tree(target, &skipped, threads) {
        Ok(scan) => scan.findings.into_iter().map(|finding| Found { finding, commit: None }).collect(),
        Err(e) => return fail(e),
    };
    if history {
        let current: std::collections::HashSet<String> = found.iter().map(|f| f.finding.fingerprint.clone()).collect();
        match mlpol_stdlib::git::secret_history(target, depth, Scanner::shared()) {
            Ok(h) => {
                for h in h {
                    let present = current.contains(&h.finding.fingerprint);
                    if !present {
                        found.push(Found { finding: h.finding, commit: Some((h.commit, h.date, false)) });
                    }
                }
            }
            Err(e) => return fail(format!("--history: {e}")),
        }
    }
    let rows: Vec<Row> = found
        .iter()
        .map(|f| Row {
            rule: f.finding.rule,
            path: &f.finding.path,
            line: f.finding.line,
            column: f.finding.column,
            fingerprint: &f.finding.fingerprint,
            redacted: &f.finding.redacted,
            commit: f.commit.as_ref().map(|c| c.0.as_str()),
            date: f.commit.as_ref().map(|c| c.1.as_str()),
            present: f.commit.as_ref().map(|c| c.2),
        })
        .collect();
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default()),
        "sarif" => println!("{}", sarif(&rows)),
        _ => {
            for r in &rows {
                match (r.commit, r.date) {
                    (Some(c), Some(d)) => println!(
                        "{}:{}:{}  {}  {}  (removed; added in {} on {d})",
                        r.path,
                        r.line,
                        r.column,
                        r.rule,
                        r.redacted,
                        c.get(..12).unwrap_or(c)
                    ),
                    _ => println!("{}:{}:{}  {}  {}", r.path, r.line, r.column, r.rule, r.redacted),
                }
            }
            eprintln!("mlpol: {} secret(s) found", rows.len());
        }
    }
    u8::from(!rows.is_empty())
}

fn sarif(rows: &[Row]) -> String {
    let rules: Vec<serde_json::Value> = rules()
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "shortDescription": { "text": r.description },
                "properties": { "security-severity": "9.0", "tags": ["security", "secret"] },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut message = format!("{}: {}", r.rule, r.redacted);
            if let (Some(c), Some(d)) = (r.commit, r.date) {
                message.push_str(&format!(" (removed since; added in commit {c} on {d})"));
            }
            json!({
                "ruleId": r.rule,
                "level": "error",
                "message": { "text": message },
                "locations": [{ "physicalLocation": {
                    "artifactLocation": { "uri": r.path, "uriBaseId": "%SRCROOT%" },
                    "region": { "startLine": r.line, "startColumn": r.column.max(1) },
                }}],
                "partialFingerprints": { "mlpol/secret/v1": r.fingerprint },
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "mlpol secrets", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
