//! The Markdown report: summary, Security Score table, failures with
//! evidence, waivers, attestations and the seed's sign-off block.

use super::{location_text, one_line, section_path};
use mlpol_lang::eval::Status;
use mlpol_stdlib::run::Report;
use std::fmt::Write;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let count = |st: Status| report.checks.iter().filter(|c| c.status == st).count();
    let _ = writeln!(out, "# MLOps Security Validation — `{}`\n", report.target);
    let _ = writeln!(
        out,
        "{} checks on {}: {} pass, {} fail, {} error, {} waived, {} skip. **Gate: {}**\n",
        report.checks.len(),
        report.date,
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Error),
        count(Status::Waived),
        count(Status::Skip),
        report.score.gate.to_uppercase()
    );
    out.push_str("## Security Score\n\n| Severity | Passed | Percent | Required | Met |\n|---|---|---|---|---|\n");
    for (name, s) in report.score.by_severity() {
        let _ = writeln!(
            out,
            "| {name} | {}/{} | {:.1}% | {}% | {} |",
            s.passed,
            s.total,
            s.percent,
            s.required,
            if s.met { "yes" } else { "**no**" }
        );
    }
    let failing: Vec<_> = report.checks.iter().filter(|c| matches!(c.status, Status::Fail | Status::Error)).collect();
    if !failing.is_empty() {
        out.push_str("\n## Failures\n");
        for c in failing {
            let _ = writeln!(
                out,
                "\n### {} `{}` — {} ({})\n",
                if c.status == Status::Error { "⚠️ error" } else { "❌" },
                c.id,
                c.title,
                c.severity
            );
            let _ = writeln!(out, "_{}_\n\n{}\n", one_line(&section_path(&c.section)), one_line(&c.message));
            for f in &c.findings {
                let loc = location_text(&f.location).replace('`', "'");
                if loc.is_empty() {
                    let _ = writeln!(out, "- {}", one_line(&f.message));
                } else {
                    let _ = writeln!(out, "- `{loc}`: {}", one_line(&f.message));
                }
            }
            if !c.remediation.is_empty() {
                let _ = writeln!(out, "\n**Remediation:** {}", c.remediation);
            }
        }
    }
    out.push_str("\n## All checks\n\n| Status | Severity | Check | Title | Section |\n|---|---|---|---|---|\n");
    for c in &report.checks {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} | {} |",
            c.status.as_str(),
            c.severity,
            c.id,
            cell(&c.title),
            cell(&section_path(&c.section))
        );
    }
    if !report.waivers.is_empty() {
        out.push_str(
            "\n## Waivers\n\n| Check | Path | Reason | Owner | Expires | State |\n|---|---|---|---|---|---|\n",
        );
        for w in &report.waivers {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} |",
                w.check,
                w.path.as_deref().unwrap_or("(all)"),
                cell(&w.reason),
                cell(&w.owner),
                w.expires,
                w.state
            );
        }
    }
    if !report.warnings.is_empty() {
        out.push_str("\n## Warnings\n\n");
        for w in &report.warnings {
            let _ = writeln!(out, "- {}", one_line(w));
        }
    }
    out.push_str("\n## Sign-off\n\n");
    if !report.attestations.is_empty() {
        out.push_str("Attestations:\n\n| Check | Name | Role | Date | Valid until | Evidence | State |\n|---|---|---|---|---|---|---|\n");
        for a in &report.attestations {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                a.check,
                cell(&a.by),
                cell(&a.role),
                a.date,
                a.expires,
                cell(&a.evidence),
                a.state
            );
        }
        out.push('\n');
    }
    for (kind, heading) in
        [("validated", "Security validation completed by"), ("approved", "Approved for production deployment")]
    {
        let _ = writeln!(out, "{heading}:\n");
        let entries: Vec<_> = report.signoff.iter().filter(|s| s.kind == kind).collect();
        if entries.is_empty() {
            out.push_str("- **Name**: _________________\n- **Role**: _________________\n- **Date**: _________________\n- **Signature**: _________________\n\n");
        }
        for s in entries {
            let _ = writeln!(
                out,
                "- **Name**: {}\n- **Role**: {}\n- **Date**: {}\n- **Signature**: _________________\n",
                s.name, s.role, s.date
            );
        }
    }
    out
}
