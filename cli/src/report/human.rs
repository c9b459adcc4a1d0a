//! The terminal report: grouped by section, file evidence as ariadne
//! snippets, the Security Score table and the verdict last. Colour only on
//! a terminal.

use super::{location_text, one_line, section_path, Style};
use mlpol_lang::eval::Status;
use mlpol_stdlib::run::{CheckReport, Report};
use std::fmt::Write;

fn paint(style: &Style, code: &str, s: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn status_label(style: &Style, status: Status) -> String {
    let (code, text) = match status {
        Status::Pass => ("32", "PASS  "),
        Status::Fail => ("31;1", "FAIL  "),
        Status::Error => ("35;1", "ERROR "),
        Status::Skip => ("2", "SKIP  "),
        Status::Waived => ("33", "WAIVED"),
    };
    paint(style, code, text)
}

pub fn render(report: &Report, style: &Style) -> String {
    let mut out = String::new();
    let mut evidence = Evidence::new();
    let mut sections: Vec<(String, Vec<&CheckReport>)> = Vec::new();
    for c in &report.checks {
        let s = section_path(&c.section);
        match sections.iter_mut().find(|(name, _)| *name == s) {
            Some((_, list)) => list.push(c),
            None => sections.push((s, vec![c])),
        }
    }
    for (section, checks) in sections {
        let _ = writeln!(out, "{}", paint(style, "1", &one_line(&section)));
        for c in checks {
            let _ = writeln!(
                out,
                "  {} {:<8} {}  {}",
                status_label(style, c.status),
                c.severity,
                one_line(&c.id),
                paint(style, "2", &one_line(&c.title))
            );
            if (c.status != Status::Pass || c.requires_attestation) && c.findings.is_empty() {
                let _ = writeln!(out, "           {}", one_line(&c.message));
            }
            for f in c.findings.iter().take(20) {
                out.push_str(&finding(style, &mut evidence, c, f));
            }
            if c.findings.len() > 20 {
                let _ = writeln!(out, "           … and {} more findings (see --format json)", c.findings.len() - 20);
            }
            for f in &c.suppressed {
                let loc = location_text(&f.location);
                let by = f.suppressed_by.as_deref().unwrap_or("");
                let why = if by.starts_with("inline") { format!(" [{by}]") } else { String::new() };
                let _ = writeln!(
                    out,
                    "           {} {loc}: {}{why}",
                    paint(style, "2", "suppressed"),
                    one_line(&f.message)
                );
            }
            if matches!(c.status, Status::Fail | Status::Error) && !c.remediation.is_empty() {
                let _ = writeln!(out, "           {} {}", paint(style, "36", "fix:"), one_line(&c.remediation));
            }
        }
        out.push('\n');
    }
    for w in &report.warnings {
        let _ = writeln!(out, "{} {}", paint(style, "33;1", "warning:"), one_line(w));
    }
    if !report.warnings.is_empty() {
        out.push('\n');
    }
    out.push_str(&score_table(report, style));
    out
}

/// Target files as evidence is shown from them: read and redacted once per
/// report, however many findings point into them.
type Evidence = std::collections::HashMap<String, Option<String>>;

fn evidence_text<'e>(style: &Style, evidence: &'e mut Evidence, path: &str) -> Option<&'e str> {
    evidence
        .entry(path.to_string())
        .or_insert_with(|| {
            let bytes = std::fs::read(style.target.join(path)).ok()?;
            if bytes.len() > 4 << 20 || bytes.contains(&0) {
                return None;
            }
            // Shown as it is in the file, secrets masked, control characters
            // (escape sequences) replaced: line breaks and offsets stay.
            let text = mlpol_stdlib::redact::text(&String::from_utf8_lossy(&bytes));
            Some(
                text.chars()
                    .map(|c| if c.is_control() && !matches!(c, '\n' | '\t' | '\r') { '\u{FFFD}' } else { c })
                    .collect(),
            )
        })
        .as_deref()
}

fn finding(style: &Style, evidence: &mut Evidence, c: &CheckReport, f: &mlpol_stdlib::run::FindingReport) -> String {
    let loc = location_text(&f.location);
    let message = one_line(&f.message);
    let snippet = f.location.as_ref().and_then(|l| {
        let (path, line) = (l.path.as_ref()?, l.line?);
        let text = evidence_text(style, evidence, path)?;
        snippet(text, &one_line(path), line, &message, &one_line(&c.id), style.color)
    });
    match snippet {
        Some(s) => s.lines().map(|l| format!("           {l}\n")).collect(),
        None if loc.is_empty() => format!("           - {message}\n"),
        None => format!("           - {message} ({})\n", paint(style, "36", &loc)),
    }
}

/// An ariadne snippet of one line of a target file (byte offsets).
fn snippet(text: &str, path: &str, line: u32, message: &str, id: &str, color: bool) -> Option<String> {
    use ariadne::{Config, IndexType, Label, Report, ReportKind, Source};
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1) as usize).map(str::len).sum();
    let line_text = text.get(start..)?.lines().next()?;
    if line_text.len() > 400 {
        return None;
    }
    let indent = line_text.len() - line_text.trim_start().len();
    let span = start + indent..start + line_text.trim_end().len().max(indent);
    let mut out = Vec::new();
    Report::build(ReportKind::Custom("finding", ariadne::Color::Red), (path, span.clone()))
        .with_config(Config::default().with_index_type(IndexType::Byte).with_color(color).with_compact(true))
        .with_message(message)
        .with_code(id)
        .with_label(Label::new((path, span)))
        .finish()
        .write((path, Source::from(text)), &mut out)
        .ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    Some(if color { text } else { strip_ansi(&text) })
}

/// ariadne colours custom report kinds even when told not to.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn score_table(report: &Report, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint(style, "1", "Security Score"));
    let _ = writeln!(
        out,
        "  {:<9} {:>7} {:>8} {:>9}  {:>4} {:>4} {:>5} {:>6} {:>4}",
        "severity", "passed", "percent", "required", "pass", "fail", "error", "waived", "skip"
    );
    for (name, s) in report.score.by_severity() {
        let mark = if s.met { paint(style, "32", "ok") } else { paint(style, "31;1", "BELOW") };
        let _ = writeln!(
            out,
            "  {:<9} {:>7} {:>7.1}% {:>8}%  {:>4} {:>4} {:>5} {:>6} {:>4}  {mark}",
            name,
            format!("{}/{}", s.passed, s.total),
            s.percent,
            s.required,
            s.pass,
            s.fail,
            s.error,
            s.waived,
            s.skip
        );
    }
    let verdict =
        if report.score.gate == "pass" { paint(style, "32;1", "PASSED") } else { paint(style, "31;1", "FAILED") };
    let _ = writeln!(
        out,
        "\nGate: {verdict} ({} checks; pass counts pass + waived over every status but skip)",
        report.checks.len()
    );
    out
}
