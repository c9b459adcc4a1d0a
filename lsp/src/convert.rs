//! The language crate's plain diagnostics as LSP diagnostics.

use crate::line_index::LineIndex;
use mlpol_lang::diagnostic::{Diagnostic, Severity};
use tower_lsp_server::ls_types::{self as lsp, Uri};

pub const SOURCE: &str = "mlpol";

pub fn diagnostic(uri: &Uri, text: &str, index: &LineIndex, d: &Diagnostic) -> lsp::Diagnostic {
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .map(|l| lsp::DiagnosticRelatedInformation {
            location: lsp::Location { uri: uri.clone(), range: index.range(text, l.span.clone()) },
            message: l.message.clone(),
        })
        .collect();
    let message = match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    };
    lsp::Diagnostic {
        range: index.range(text, d.span.clone()),
        severity: Some(match d.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        }),
        code: Some(lsp::NumberOrString::String(d.code.to_string())),
        source: Some(SOURCE.to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: d.code.starts_with("W000").then(|| vec![lsp::DiagnosticTag::UNNECESSARY]).filter(|_| is_unused(d)),
        ..lsp::Diagnostic::default()
    }
}

fn is_unused(d: &Diagnostic) -> bool {
    d.message.ends_with("is never used")
}

/// The replacement a diagnostic's help suggests: `did you mean `x`?`.
pub fn suggestion(d: &Diagnostic) -> Option<String> {
    let help = d.help.as_deref()?;
    let rest = help.strip_prefix("did you mean `")?;
    let (name, tail) = rest.split_once('`')?;
    (tail == "?" && !name.is_empty()).then(|| name.to_string())
}
