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
            let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
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

/// `path:line`, a URI, or empty.
pub fn location_text(l: &Option<mlpol_stdlib::run::Location>) -> String {
    match l {
        Some(l) => match (&l.path, l.line, &l.uri) {
            (Some(p), Some(n), _) => format!("{p}:{n}"),
            (Some(p), None, _) => p.clone(),
            (None, _, Some(u)) => u.clone(),
            _ => String::new(),
        },
        None => String::new(),
    }
}
