//! Diagnostics are plain data, produced by every layer as values and rendered
//! in exactly one place ([`render`]). The language server converts the same
//! struct. Spans are byte offsets into the file's text.

use serde::Serialize;
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Label {
    pub span: Range<usize>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    /// A stable code such as `E0101`, documented in `docs/errors.md`.
    pub code: &'static str,
    pub severity: Severity,
    /// Lowercase, no trailing period; user input quoted in backticks.
    pub message: String,
    pub span: Range<usize>,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic { code, severity: Severity::Error, message: message.into(), span, labels: Vec::new(), help: None }
    }

    pub fn warning(code: &'static str, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, span, message) }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, message: message.into() });
        self
    }

    /// Moves every span by `by` bytes (item-relative → file-relative).
    pub fn shifted(mut self, by: usize) -> Diagnostic {
        self.span = self.span.start + by..self.span.end + by;
        for label in &mut self.labels {
            label.span = label.span.start + by..label.span.end + by;
        }
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// Length in bytes of the line holding `offset`.
fn line_len(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    let start = text.get(..offset).and_then(|s| s.rfind('\n')).map_or(0, |i| i + 1);
    let end = text.get(offset..).and_then(|s| s.find('\n')).map_or(text.len(), |i| offset + i);
    end - start
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A diagnostic located in a file, in the shape `mlpol check --format json`
/// prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
}

pub fn locate(file: &str, text: &str, diagnostic: &Diagnostic) -> Located {
    locate_with(&LineIndex::new(text), file, diagnostic)
}

/// The start offset of every line, to locate many positions in one text in
/// logarithmic time each.
pub struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t str) -> LineIndex<'t> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = self.text.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }
}

/// Every diagnostic of a file located, sharing one line index.
pub fn locate_all(file: &str, text: &str, diagnostics: &[Diagnostic]) -> Vec<Located> {
    let index = LineIndex::new(text);
    diagnostics.iter().map(|d| locate_with(&index, file, d)).collect()
}

fn locate_with(index: &LineIndex, file: &str, diagnostic: &Diagnostic) -> Located {
    let (line, column) = index.line_col(diagnostic.span.start);
    let (end_line, end_column) = index.line_col(diagnostic.span.end);
    Located {
        file: file.to_string(),
        line,
        column,
        end_line,
        end_column,
        severity: diagnostic.severity,
        code: diagnostic.code,
        message: diagnostic.message.clone(),
    }
}

/// Renders diagnostics of one file with ariadne, using byte offsets. `color`
/// is decided by the caller (only on a terminal).
pub fn render(file: &str, text: &str, diagnostics: &[Diagnostic], color: bool) -> String {
    use ariadne::{Config, IndexType, Label as ALabel, Report, ReportKind, Source};
    let mut out = Vec::new();
    let source = Source::from(text);
    let clamp = |r: &Range<usize>| {
        let start = floor_char_boundary(text, r.start.min(text.len()));
        let end = floor_char_boundary(text, r.end.min(text.len())).max(start);
        start..end
    };
    let index = LineIndex::new(text);
    for diagnostic in diagnostics {
        // A snippet of a very long line would print all of it: say where
        // instead.
        if line_len(text, diagnostic.span.start) > 400 {
            let (line, column) = index.line_col(diagnostic.span.start);
            let severity = if diagnostic.is_error() { "Error" } else { "Warning" };
            out.extend_from_slice(
                format!("[{}] {severity}: {}\n   ╭─[ {file}:{line}:{column} ]\n", diagnostic.code, diagnostic.message)
                    .as_bytes(),
            );
            if let Some(help) = &diagnostic.help {
                out.extend_from_slice(format!("   │ Help: {help}\n").as_bytes());
            }
            out.extend_from_slice("───╯\n".as_bytes());
            continue;
        }
        let kind = match diagnostic.severity {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
        };
        let span = clamp(&diagnostic.span);
        let mut report = Report::build(kind, (file, span.clone()))
            .with_config(Config::default().with_index_type(IndexType::Byte).with_color(color))
            .with_code(diagnostic.code)
            .with_message(&diagnostic.message)
            .with_label(ALabel::new((file, span)).with_message(&diagnostic.message));
        for label in &diagnostic.labels {
            report = report.with_label(ALabel::new((file, clamp(&label.span))).with_message(&label.message));
        }
        if let Some(help) = &diagnostic.help {
            report = report.with_help(help);
        }
        // Writing to a Vec cannot fail; a failure would only lose output.
        let _ = report.finish().write((file, source.clone()), &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}
