//! `mlpol explain ID`: a check's documentation, remediation, validation line
//! and source; with `--report FILE` (from `mlpol eval --format json`) also
//! its last status and evidence.

// `serde_json::Value` indexing gives `Null` for what is missing; it cannot panic.
#![allow(clippy::indexing_slicing)]

use crate::{build_program, fail, PolicyArgs};
use mlpol_lang::eval::check_metas;
use std::path::Path;

pub fn run(id: &str, args: &PolicyArgs, report: Option<&Path>) -> u8 {
    let program = match build_program(Some(Path::new(".")), args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let metas = check_metas(&program.db, program.ws);
    let Some(meta) = metas.iter().find(|m| m.id == id) else {
        let mut msg = format!("no check `{id}`");
        if let Some(s) = mlpol_lang::check::did_you_mean(id, metas.iter().map(|m| m.id.as_str())) {
            msg.push_str(&format!("; did you mean `{s}`?"));
        }
        return fail(msg);
    };
    println!("{} — {}", meta.id, meta.title);
    println!("section:     {}", meta.section.join(" › "));
    println!("severity:    {}", meta.severity);
    if !meta.tags.is_empty() {
        println!("tags:        {}", meta.tags.join(", "));
    }
    if meta.attestation {
        println!("attestation: required (an unexpired [[attestation]] in mlpol.toml)");
    }
    if let Some(doc) = &meta.doc {
        println!("\n{doc}");
    }
    println!("\nremediation: {}", meta.remediation);
    println!("validation:  {}", meta.validation);
    for r in &meta.references {
        println!("reference:   {r}");
    }
    println!("\nsource: {}:{}", meta.policy_path, meta.policy_line);
    if let Some(text) = source(&program, meta) {
        println!("{text}");
    }
    if let Some(path) = report {
        let json: serde_json::Value = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => return fail(format!("{}: {e}", path.display())),
        };
        let found = json["checks"].as_array().and_then(|cs| cs.iter().find(|c| c["id"] == id));
        match found {
            Some(c) => {
                println!(
                    "last result ({}): {} — {}",
                    path.display(),
                    c["status"].as_str().unwrap_or("?"),
                    c["message"].as_str().unwrap_or("")
                );
                for f in c["findings"].as_array().into_iter().flatten() {
                    let loc = match (f["location"]["path"].as_str(), f["location"]["line"].as_u64()) {
                        (Some(p), Some(l)) => format!("{p}:{l}: "),
                        (Some(p), None) => format!("{p}: "),
                        _ => String::new(),
                    };
                    println!("  - {loc}{}", f["message"].as_str().unwrap_or(""));
                }
            }
            None => println!("last result ({}): the check is not in that report", path.display()),
        }
    }
    0
}

/// The check's text in its policy file.
fn source(program: &mlpol_stdlib::program::Program, meta: &mlpol_lang::eval::CheckMeta) -> Option<String> {
    let file = program.files().into_iter().find(|f| *f.path(&program.db) == meta.policy_path)?;
    let text = file.text(&program.db);
    for item in mlpol_lang::db::file_items(&program.db, file) {
        let item_text = item.text.text(&program.db);
        let line = text.get(..item.offset).map_or(0, |s| s.matches('\n').count()) + 1;
        let lines = item_text.matches('\n').count() + 1;
        if (line..line + lines).contains(&meta.policy_line) {
            return Some(item_text.trim_end().to_string());
        }
    }
    None
}
