//! JUnit XML: a testsuite per section, a testcase per check; `fail` is a
//! <failure>, `error` an <error>, `skip` and `waived` are <skipped> with the
//! reason.

use super::{location_text, one_line, section_path};
use mlpol_lang::eval::Status;
use mlpol_stdlib::run::Report;
use std::fmt::Write;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &Report) -> String {
    let mut sections: Vec<(String, Vec<&mlpol_stdlib::run::CheckReport>)> = Vec::new();
    for c in &report.checks {
        let s = section_path(&c.section);
        match sections.iter_mut().find(|(n, _)| *n == s) {
            Some((_, v)) => v.push(c),
            None => sections.push((s, vec![c])),
        }
    }
    let count = |st: Status| report.checks.iter().filter(|c| c.status == st).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"mlpol\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        report.checks.len(),
        count(Status::Fail),
        count(Status::Error),
        count(Status::Skip) + count(Status::Waived)
    );
    for (name, checks) in sections {
        let c = |st: Status| checks.iter().filter(|c| c.status == st).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            escape(&name),
            checks.len(),
            c(Status::Fail),
            c(Status::Error),
            c(Status::Skip) + c(Status::Waived)
        );
        for check in checks {
            let _ = write!(
                out,
                "    <testcase name=\"{} — {}\" classname=\"{}\" file=\"{}\" line=\"{}\">",
                escape(&check.id),
                escape(&check.title),
                escape(&format!("mlpol.{}", check.severity)),
                escape(&check.policy.path),
                check.policy.line
            );
            let mut body = String::new();
            for f in &check.findings {
                let loc = location_text(&f.location);
                let prefix = if loc.is_empty() { String::new() } else { format!("{loc}: ") };
                let _ = writeln!(body, "{prefix}{}", one_line(&f.message));
            }
            for f in &check.suppressed {
                let _ = writeln!(
                    body,
                    "suppressed {}: {} ({})",
                    location_text(&f.location),
                    one_line(&f.message),
                    f.suppressed_by.as_deref().unwrap_or("")
                );
            }
            if !check.remediation.is_empty() {
                let _ = writeln!(body, "remediation: {}", check.remediation);
            }
            match check.status {
                Status::Fail => {
                    let _ = write!(
                        out,
                        "\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    ",
                        check.severity,
                        escape(&check.message),
                        escape(&body)
                    );
                }
                Status::Error => {
                    let _ = write!(
                        out,
                        "\n      <error type=\"error\" message=\"{}\">{}</error>\n    ",
                        escape(&check.message),
                        escape(&body)
                    );
                }
                Status::Skip | Status::Waived => {
                    let prefix = if check.status == Status::Waived { "waived: " } else { "" };
                    let _ = write!(
                        out,
                        "\n      <skipped message=\"{}\"/>\n    ",
                        escape(&format!("{prefix}{}", check.message))
                    );
                }
                Status::Pass => {}
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(
            out,
            "  <testsuite name=\"mlpol configuration\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\">"
        );
        let _ = writeln!(
            out,
            "    <system-err>{}</system-err>",
            escape(&report.warnings.iter().map(|w| format!("warning: {w}")).collect::<Vec<_>>().join("\n"))
        );
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
