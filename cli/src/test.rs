//! `mlpol test [PATHS]`: runs the `test "name" { ... }` items of the policy
//! files under PATHS (default `./policies`) against the checks they name,
//! prints pass/fail per test with a diff of expected and actual on failure
//! and a trace of what decided it, then `N passed, N failed`. Exit 0 when
//! every test passed (and the coverage threshold is met), 1 otherwise, 2 on
//! usage or policy errors. `docs/testing.md` describes the language.

use crate::{fail, load_files, report::junit::escape};
use mlpol_lang::diagnostic::{self, Severity};
use mlpol_stdlib::config::Date;
use mlpol_stdlib::testing::{Coverage, Options, Outcome, Run, Suite};
use std::fmt::Write;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The options of `mlpol test`.
#[derive(clap::Args, Clone)]
pub struct TestArgs {
    /// Policy and test files or directories (default: ./policies).
    pub paths: Vec<PathBuf>,
    /// Leave out the bundled checklist (to test a copy of its modules, e.g.
    /// `mlpol test --no-stdlib stdlib/checklist`).
    #[arg(long)]
    pub no_stdlib: bool,
    /// Output format on stdout.
    #[arg(long, value_parser = ["human", "json", "junit"], default_value = "human")]
    pub format: String,
    /// Run only the tests whose name (or `file:name`) contains this text.
    #[arg(long, value_name = "NAME")]
    pub filter: Option<String>,
    /// Print which checks, requirements and branches the tests exercised.
    #[arg(long)]
    pub coverage: bool,
    /// Fail (exit 1) when branch coverage is below this percentage.
    #[arg(long, value_name = "PERCENT")]
    pub coverage_threshold: Option<f64>,
}

pub fn run(args: &TestArgs) -> u8 {
    let defaults = [PathBuf::from("policies")];
    let paths: &[PathBuf] = if args.paths.is_empty() { &defaults } else { &args.paths };
    let files = match load_files(None, paths) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let mut sources = Vec::new();
    let mut bad = false;
    let color = std::io::stderr().is_terminal();
    for (path, text, diags) in files {
        if !diags.is_empty() {
            eprint!("{}", diagnostic::render(&path, &text, &diags, color));
            bad = true;
        }
        let dir = Path::new(&path).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        sources.push((path, text, dir));
    }
    let suite = Suite::new(sources, !args.no_stdlib);
    for (path, text, diags) in suite.program.diagnostics() {
        let shown: Vec<_> = diags.into_iter().filter(|d| d.severity == Severity::Error || d.code == "W0005").collect();
        if !shown.is_empty() {
            bad |= shown.iter().any(|d| d.severity == Severity::Error);
            eprint!("{}", diagnostic::render(&path, &text, &shown, color));
        }
    }
    if bad {
        eprintln!("mlpol: the policies have errors; no test was run");
        return 2;
    }
    if suite.names(args.filter.as_deref()).is_empty() {
        return match &args.filter {
            Some(f) => fail(format!("no test matches `--filter {f}`")),
            None => fail(format!(
                "no test in {}",
                paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )),
        };
    }
    let run = suite.run(&Options { filter: args.filter.clone(), today: Date::today() });
    let color = std::io::stdout().is_terminal();
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&run).unwrap_or_default()),
        "junit" => print!("{}", junit(&run)),
        _ => print!("{}", human(&run, args.coverage || args.coverage_threshold.is_some(), color)),
    }
    let mut code = u8::from(run.failed > 0);
    if let Some(min) = args.coverage_threshold {
        let got = run.coverage.branches_percent();
        if got < min {
            eprintln!("mlpol: branch coverage {got}% is below the threshold {min}%");
            code = 1;
        }
    }
    code
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The human report: one line per test; for a failed one, the diff of what
/// was expected and what happened, the trace of each check and the facts it
/// read.
pub fn human(run: &Run, coverage: bool, color: bool) -> String {
    let mut out = String::new();
    for o in &run.outcomes {
        let mark = if o.passed { paint(color, "32", "PASS") } else { paint(color, "31", "FAIL") };
        let _ = writeln!(out, "{mark} {}:{}: {} ({} ms)", o.file, o.line, o.name, o.millis);
        if !o.passed {
            failure(&mut out, o, color);
        }
    }
    if coverage {
        out.push_str(&coverage_table(&run.coverage));
    }
    let _ = writeln!(out, "{} passed, {} failed", run.passed, run.failed);
    out
}

fn failure(out: &mut String, o: &Outcome, color: bool) {
    for m in &o.mismatches {
        let about = if m.check.is_empty() { m.what.clone() } else { format!("{} {}", m.check, m.what) };
        let _ = writeln!(out, "    {about}:");
        for e in &m.expected {
            let _ = writeln!(out, "      {}", paint(color, "32", &format!("- expected: {e}")));
        }
        for a in &m.actual {
            let _ = writeln!(out, "      {}", paint(color, "31", &format!("+ actual:   {a}")));
        }
    }
    for a in &o.actual {
        let _ = writeln!(out, "    trace of {} ({}: {}):", a.check, a.status.as_str(), a.message);
        for t in &a.trace {
            let _ = writeln!(out, "      {t}");
        }
        for f in &a.findings {
            let _ = writeln!(out, "      finding {f}");
        }
        if !a.facts.is_empty() {
            let _ = writeln!(out, "      facts read: {}", a.facts.join(", "));
        }
    }
}

/// The coverage table: per check its tests, requirements and branches, the
/// totals, and the checks without a test.
pub fn coverage_table(c: &Coverage) -> String {
    let mut out = String::from("\ncoverage:\n");
    let _ = writeln!(out, "  {:<44} {:>5} {:>9} {:>9}", "check", "tests", "requires", "branches");
    for check in &c.checks {
        let _ = writeln!(
            out,
            "  {:<44} {:>5} {:>9} {:>9}",
            check.check,
            check.tests,
            format!("{}/{}", check.requires_covered, check.requires),
            format!("{}/{}", check.branches_covered, check.branches)
        );
    }
    let _ = writeln!(out, "  {}", c.summary());
    if !c.untested.is_empty() {
        let _ = writeln!(out, "  checks with no test: {}", c.untested.join(", "));
    }
    out.push('\n');
    out
}

/// JUnit XML: one testsuite per test file, one testcase per test; a failed
/// test is a `<failure>` whose text is the human diff and trace.
pub fn junit(run: &Run) -> String {
    let mut files: Vec<(&str, Vec<&Outcome>)> = Vec::new();
    for o in &run.outcomes {
        match files.iter_mut().find(|(f, _)| *f == o.file) {
            Some((_, v)) => v.push(o),
            None => files.push((&o.file, vec![o])),
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ =
        writeln!(out, "<testsuites name=\"mlpol test\" tests=\"{}\" failures=\"{}\">", run.outcomes.len(), run.failed);
    for (file, outcomes) in files {
        let failures = outcomes.iter().filter(|o| !o.passed).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
            escape(file),
            outcomes.len()
        );
        for o in outcomes {
            let time = o.millis as f64 / 1000.0;
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\" time=\"{time:.3}\"",
                escape(&o.name),
                escape(file),
                escape(file),
                o.line
            );
            if o.passed {
                out.push_str("/>\n");
                continue;
            }
            let mut text = String::new();
            failure(&mut text, o, false);
            let first = o.mismatches.first().map_or_else(String::new, |m| {
                format!("{} {}: expected {}", m.check, m.what, m.expected.join(", ")).trim().to_string()
            });
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\" type=\"mismatch\">{}</failure>\n    </testcase>",
                escape(&first),
                escape(&text)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
