//! Report renderers. Every format is rendered from the same [`Report`], so
//! they carry the same facts: statuses, findings, waivers (active, expired,
//! unmatched), attestations and the Security Score.

pub mod human;
pub mod junit;
pub mod markdown;
pub mod sarif;

use mlpol_stdlib::run::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Markdown,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "human" => Some(Format::Human),
            "json" => Some(Format::Json),
            "sarif" => Some(Format::Sarif),
            "junit" => Some(Format::Junit),
            "markdown" | "md" => Some(Format::Markdown),
            _ => None,
        }
    }
}

pub struct Style {
    pub color: bool,
    /// Root of the target, to show file evidence as snippets.
    pub target: std::path::PathBuf,
}

pub fn render(format: Format, report: &Report, style: &Style) -> String {
    match format {
        Format::Human => human::render(report, style),
        Format::Json => {
            // Fact keys carry their arguments, e.g. a URL with a password
            // in it: they are redacted like messages.
            let mut report = report.clone();
            for c in &mut report.checks {
                for f in &mut c.facts {
                    *f = mlpol_stdlib::redact::text(f);
                }
            }
            let mut s = serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            s.push('\n');
            s
        }
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report),
    }
}

/// Section headings joined for display.
pub fn section_path(section: &[String]) -> String {
    if section.is_empty() {
        "(no section)".to_string()
    } else {
        section.join(" › ")
    }
}

/// `path:line`, a URI, or empty; on one line (see [`one_line`]).
pub fn location_text(l: &Option<mlpol_stdlib::run::Location>) -> String {
    match l {
        Some(l) => match (&l.path, l.line, &l.uri) {
            (Some(p), Some(n), _) => format!("{}:{n}", one_line(p)),
            (Some(p), None, _) => one_line(p),
            (None, _, Some(u)) => one_line(u),
            _ => String::new(),
        },
        None => String::new(),
    }
}

/// Text from the target (file names, messages quoting its files) with its
/// control characters escaped (`\n`, `\u{1b}`): a hostile repository must not
/// forge report lines or send escape sequences to a terminal.
pub fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars().map(|c| if c.is_control() { c.escape_debug().to_string() } else { c.to_string() }).collect()
}
