//! SARIF 2.1.0: one rule per check (with `security-severity`), one result
//! per finding (or one per failing check without findings), locations
//! relative to the target, fingerprints that survive line moves.

use mlpol_lang::eval::Status;
use mlpol_stdlib::run::Report;
use serde_json::{json, Value};

pub fn security_severity(severity: &str) -> &'static str {
    match severity {
        "critical" => "9.5",
        "high" => "8.0",
        "medium" => "5.5",
        _ => "3.0",
    }
}

fn level(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "note",
    }
}

pub fn render(report: &Report) -> String {
    let mut rules = Vec::new();
    let mut results = Vec::new();
    for (index, c) in report.checks.iter().enumerate() {
        let mut tags = c.tags.clone();
        tags.push("security".to_string());
        rules.push(json!({
            "id": c.id,
            "name": c.id.replace('.', "_"),
            "shortDescription": { "text": c.title },
            "fullDescription": { "text": c.doc.clone().unwrap_or_else(|| c.title.clone()) },
            "help": {
                "text": format!("{}\nValidation: {}", c.remediation, c.validation),
                "markdown": format!("**Remediation:** {}\n\n**Validation:** {}", c.remediation, c.validation),
            },
            "properties": {
                "security-severity": security_severity(&c.severity),
                "tags": tags,
                "section": c.section,
            },
            "defaultConfiguration": { "level": level(&c.severity) },
        }));
        if !matches!(c.status, Status::Fail | Status::Error | Status::Waived) {
            continue;
        }
        let mut push = |message: &str,
                        location: Option<&mlpol_stdlib::run::Location>,
                        fingerprint: &str,
                        suppression: Option<String>| {
            let mut result = json!({
                "ruleId": c.id,
                "ruleIndex": index,
                "level": if c.status == Status::Error { "error" } else { level(&c.severity) },
                "message": { "text": message },
                "partialFingerprints": { "mlpol/v1": fingerprint },
            });
            let physical = location.and_then(|l| {
                let path = l.path.as_ref()?;
                Some(json!({
                    "artifactLocation": { "uri": path, "uriBaseId": "%SRCROOT%" },
                    "region": { "startLine": l.line.unwrap_or(1) },
                }))
            });
            let uri = location.and_then(|l| l.uri.clone());
            if let (Some(obj), Some(p)) = (result.as_object_mut(), physical) {
                obj.insert("locations".into(), json!([{ "physicalLocation": p }]));
            } else if let Some(obj) = result.as_object_mut() {
                // Code scanning needs a location on every result: a finding
                // about the repository as a whole (or a URL) is anchored at
                // the target's mlpol.toml, where it would be waived.
                let mut loc = json!({ "physicalLocation": {
                    "artifactLocation": { "uri": "mlpol.toml", "uriBaseId": "%SRCROOT%" },
                    "region": { "startLine": 1 },
                }});
                if let (Some(u), Some(obj)) = (uri, loc.as_object_mut()) {
                    obj.insert("message".into(), json!({ "text": u }));
                }
                obj.insert("locations".into(), json!([loc]));
            }
            if let (Some(obj), Some(reason)) = (result.as_object_mut(), suppression) {
                obj.insert("suppressions".into(), json!([{ "kind": "external", "justification": reason }]));
            }
            results.push(result);
        };
        if c.status == Status::Waived || !c.findings.is_empty() || !c.suppressed.is_empty() {
            for f in &c.findings {
                push(&f.message, f.location.as_ref(), &f.fingerprint, None);
            }
            for f in &c.suppressed {
                push(&f.message, f.location.as_ref(), &f.fingerprint, f.suppressed_by.clone());
            }
        } else {
            let fp = mlpol_stdlib::run::fingerprint(&[&c.id, &c.message]);
            push(&c.message, None, &fp, None);
        }
    }
    let doc: Value = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "mlpol",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/mlpol/mlpol",
                "rules": rules,
            }},
            "originalUriBaseIds": { "%SRCROOT%": { "description": { "text": "the evaluated target" } } },
            "invocations": [{
                "executionSuccessful": true,
                "toolConfigurationNotifications": report.warnings.iter().map(|w| json!({
                    "level": "warning",
                    "message": { "text": w },
                })).collect::<Vec<_>>(),
            }],
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
