//! The `mlpol` command: `eval`, `facts`, `check`, `fmt`, `list`.
//! Exit codes: 0 success (gate passed), 1 gate failed / `fmt --check` found
//! changes, 2 usage, configuration or policy errors.

mod explain;
mod init;
mod report;
mod secrets;
mod test;
mod watch;

use clap::{Parser, Subcommand};
use mlpol_lang::diagnostic::{self, Diagnostic, Severity};
use mlpol_stdlib::collect::{standard, Collectors, Settings};
use mlpol_stdlib::config::{self, Config, Date};
use mlpol_stdlib::facts::Snapshot;
use mlpol_stdlib::files::Repo;
use mlpol_stdlib::program::{self, Program};
use mlpol_stdlib::run;
use mlpol_stdlib::session::Session;
use report::Format;
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "mlpol",
    version,
    about = "MLOps security policies as code: evaluate the MLOps Security Validation Checklist and your own checks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct PolicyArgs {
    /// Extra policy file or directory (repeatable). `PATH/policies/` is always read.
    #[arg(long = "policy", value_name = "FILE|DIR")]
    pub policies: Vec<PathBuf>,
    /// Leave out the bundled checklist.
    #[arg(long)]
    no_stdlib: bool,
    /// Set a policy parameter (repeatable); overrides `[params]` in mlpol.toml.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Evaluate only these checks: a check id, an id prefix or a tag (repeatable).
    #[arg(long = "only", value_name = "ID|TAG")]
    only: Vec<String>,
    /// Evaluate only checks of at least this severity.
    #[arg(long, value_name = "LEVEL", value_parser = ["critical", "high", "medium", "low"])]
    severity: Option<String>,
}

#[derive(clap::Args, Clone)]
pub struct CollectArgs {
    /// Do not touch the network: checks that need network facts are `skip`.
    #[arg(long)]
    offline: bool,
    /// How many facts to collect at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    jobs: usize,
    /// Seconds before a single fact is given up (the check is `error`).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    timeout: f64,
    /// Seconds the whole collection phase may take; facts not collected by
    /// then are errors.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    phase_timeout: f64,
    /// An OSV-format advisory database (a directory or a zip of OSV JSON
    /// files) for `deps.vulnerabilities()` without the network.
    #[arg(long, value_name = "PATH")]
    advisory_db: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate the checks on a target directory and gate on the Security Score.
    Eval {
        /// The target repository.
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Output format on stdout.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Also write FORMAT to FILE (repeatable), e.g. `--output sarif=results.sarif`.
        #[arg(long = "output", value_name = "FORMAT=FILE")]
        outputs: Vec<String>,
        /// Replay facts recorded by `mlpol facts` instead of collecting them.
        #[arg(long, value_name = "FILE")]
        facts: Option<PathBuf>,
        /// Do not honour `mlpol:ignore` comments in the target's files.
        #[arg(long)]
        no_inline_ignores: bool,
        #[command(flatten)]
        collect: CollectArgs,
        /// Keep running: on every change to the target or the policies,
        /// collect what changed and print what became failing or fixed.
        #[arg(long)]
        watch: bool,
    },
    /// Collect every fact the checks need and write them to a snapshot file.
    Facts {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Where to write the snapshot (JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        collect: CollectArgs,
    },
    /// Type-check policy files (default: the bundled checklist and ./policies).
    Check {
        paths: Vec<PathBuf>,
        /// Leave out the bundled checklist (to check a copy of one of its modules).
        #[arg(long)]
        no_stdlib: bool,
        #[arg(long, value_parser = ["human", "json"], default_value = "human")]
        format: String,
    },
    /// Format policy files in place (default: ./policies).
    Fmt {
        paths: Vec<PathBuf>,
        /// Change nothing; exit 1 when a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Scan the target for secrets, gitleaks-style (redacted output).
    Secrets {
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Also search the git history (lines added by the newest commits).
        #[arg(long)]
        history: bool,
        /// How many commits `--history` searches.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        depth: usize,
        #[arg(long, value_parser = ["human", "json", "sarif"], default_value = "human")]
        format: String,
    },
    /// Show a check's documentation, remediation, validation line and source.
    Explain {
        /// The check id.
        id: String,
        #[command(flatten)]
        policy: PolicyArgs,
        /// A report from `mlpol eval --format json`: also show the check's
        /// last status and evidence.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Write a starter mlpol.toml (and a CI job with --ci).
    Init {
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Also write a CI job: `github` (.github/workflows/mlpol.yml) or
        /// `gitlab` (.gitlab/mlpol.gitlab-ci.yml).
        #[arg(long, value_name = "github|gitlab")]
        ci: Option<String>,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Run the `test "name" { ... }` items of policy files (see docs/testing.md).
    Test(test::TestArgs),
    /// Run the language server over stdin/stdout (for editors).
    Lsp,
    /// List the checks with their ids, severities and titles.
    List {
        #[command(flatten)]
        policy: PolicyArgs,
        #[arg(long, value_parser = ["human", "json"], default_value = "human")]
        format: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Eval { path, policy, format, outputs, facts, no_inline_ignores, collect, watch } => {
            let run = EvalRun { format, inline: !no_inline_ignores, collect };
            match (watch, facts) {
                (true, Some(_)) => fail("`--watch` and `--facts` cannot be combined"),
                (true, None) => watch::run(&path, &policy, &run, &outputs).unwrap_or_else(|code| code),
                (false, facts) => eval(&path, &policy, &run, &outputs, facts.as_deref()).unwrap_or_else(|code| code),
            }
        }
        Command::Facts { path, policy, out, collect } => {
            facts(&path, &policy, &out, &collect).unwrap_or_else(|code| code)
        }
        Command::Check { paths, format, no_stdlib } => check(&paths, &format, !no_stdlib),
        Command::Fmt { paths, check } => fmt(&paths, check),
        Command::List { policy, format } => list(&policy, &format).unwrap_or_else(|code| code),
        Command::Lsp => mlpol_lsp::run_stdio(),
        Command::Test(args) => test::run(&args),
        Command::Explain { id, policy, report } => explain::run(&id, &policy, report.as_deref()),
        Command::Init { path, ci, force } => init::run(&path, ci.as_deref(), force),
        Command::Secrets { path, history, depth, format } => secrets::run(&path, history, depth, &format),
    };
    ExitCode::from(code)
}

pub fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("mlpol: {message}");
    2
}

/// Policy files: `base/policies/**` when it exists, then the named ones.
/// Returns (path as shown, text, extra diagnostics such as invalid UTF-8).
pub fn load_files(base: Option<&Path>, extra: &[PathBuf]) -> Result<Vec<(String, String, Vec<Diagnostic>)>, String> {
    let mut paths = Vec::new();
    if let Some(base) = base {
        let dir = base.join("policies");
        if dir.is_dir() {
            paths.extend(program::policy_files(&dir).map_err(|e| format!("{}: {}", e.path, e.message))?);
        }
    }
    for p in extra {
        paths.extend(program::policy_files(p).map_err(|e| format!("{}: {}", e.path, e.message))?);
    }
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in paths {
        let shown = p.to_string_lossy().trim_start_matches("./").to_string();
        if !seen.insert(shown.clone()) {
            continue;
        }
        let bytes = std::fs::read(&p).map_err(|e| format!("{shown}: {e}"))?;
        let (text, diags) = match String::from_utf8(bytes) {
            Ok(s) => (s, Vec::new()),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let d = Diagnostic::error("E0007", at..at + 1, format!("the file is not valid UTF-8 (byte {at})"))
                    .with_help("save the file as UTF-8");
                (text, vec![d])
            }
        };
        out.push((shown, text, diags));
    }
    Ok(out)
}

/// Prints diagnostics; returns true when any is an error.
fn report_diagnostics(program: &Program, extra: &BTreeMap<String, Vec<Diagnostic>>, json: bool) -> bool {
    let color = std::io::stderr().is_terminal();
    let mut errors = false;
    let mut located = Vec::new();
    for (path, text, mut diags) in program.diagnostics() {
        if let Some(more) = extra.get(&path) {
            diags.extend(more.iter().cloned());
        }
        errors |= diags.iter().any(|d| d.severity == Severity::Error);
        if json {
            located.extend(diagnostic::locate_all(&path, &text, &diags));
        } else if !diags.is_empty() {
            eprint!("{}", diagnostic::render(&path, &text, &diags, color));
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&located).unwrap_or_default());
    }
    errors
}

pub fn build_program(base: Option<&Path>, args: &PolicyArgs) -> Result<Program, u8> {
    let files = load_files(base, &args.policies).map_err(fail)?;
    let mut extra = BTreeMap::new();
    let mut sources = Vec::new();
    for (p, t, d) in files {
        if !d.is_empty() {
            extra.insert(p.clone(), d);
        }
        sources.push((p, t));
    }
    let program = Program::new(sources, !args.no_stdlib);
    let has_errors = program.has_errors() || !extra.is_empty();
    if has_errors {
        report_diagnostics(&program, &extra, false);
        eprintln!("mlpol: the policies have errors; nothing was evaluated");
        return Err(2);
    }
    Ok(program)
}

pub fn load_config(target: &Path) -> Result<Config, u8> {
    let path = target.join("mlpol.toml");
    if !path.exists() {
        return Ok(Config::default());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    config::parse(&path.display().to_string(), &text).map_err(fail)
}

pub struct Prepared {
    pub program: Program,
    pub config: Config,
    pub params: mlpol_lang::value::Params,
    pub only: Option<BTreeSet<String>>,
}

pub fn prepare(target: &Path, args: &PolicyArgs) -> Result<Prepared, u8> {
    if !target.is_dir() {
        return Err(fail(format!("target `{}` is not a directory", target.display())));
    }
    let program = build_program(Some(target), args)?;
    let config = load_config(target)?;
    let mut raw = config.params.clone();
    for p in &args.params {
        let Some((k, v)) = p.split_once('=') else {
            return Err(fail(format!("`--param {p}` must look like NAME=VALUE")));
        };
        raw.insert(k.trim().to_string(), v.to_string());
    }
    let params = run::params(&program, &raw).map_err(fail)?;
    let known: std::collections::BTreeSet<String> =
        mlpol_lang::eval::check_metas(&program.db, program.ws).into_iter().map(|m| m.id).collect();
    let only = run::select(&program, &args.only, args.severity.as_deref());
    if let Some(sel) = &only {
        if sel.is_empty() && !args.only.is_empty() {
            let unknown = args.only.join(", ");
            let mut msg = format!("`--only {unknown}` matches no check id, id prefix or tag");
            if let Some(s) =
                args.only.first().and_then(|o| mlpol_lang::check::did_you_mean(o, known.iter().map(|s| s.as_str())))
            {
                msg.push_str(&format!("; did you mean `{s}`?"));
            }
            return Err(fail(msg));
        }
    }
    Ok(Prepared { program, config, params, only })
}

pub struct EvalRun {
    pub format: Format,
    pub inline: bool,
    pub collect: CollectArgs,
}

pub fn parse_outputs(outputs: &[String]) -> Result<Vec<(Format, PathBuf)>, u8> {
    let mut out = Vec::new();
    for o in outputs {
        let Some((f, file)) = o.split_once('=') else {
            return Err(fail(format!("`--output {o}` must look like FORMAT=FILE")));
        };
        let Some(f) = Format::parse(f) else {
            return Err(fail(format!("unknown format `{f}` (human, json, sarif, junit, markdown)")));
        };
        out.push((f, PathBuf::from(file)));
    }
    Ok(out)
}

pub struct Live {
    pub session: Session,
    pub repo: Arc<Repo>,
    pub config: Config,
    pub only: Option<BTreeSet<String>>,
}

/// A live session on the target's files.
pub fn live_session(target: &Path, prepared: Prepared, collect: &CollectArgs) -> Result<Live, u8> {
    let repo = Arc::new(match &prepared.config.skip {
        Some(skip) => Repo::with_skipped(target, skip.clone()),
        None => Repo::new(target),
    });
    let schema = Arc::new(mlpol_stdlib::schema::schema());
    let timeout = Duration::from_secs_f64(collect.timeout.clamp(0.001, 86_400.0));
    let settings = Settings { timeout, advisory_db: collect.advisory_db.clone(), offline: collect.offline };
    let mut collectors = Collectors::new(schema, standard(repo.clone(), &settings));
    collectors.offline = collect.offline;
    collectors.jobs = collect.jobs.max(1);
    collectors.timeout = timeout;
    collectors.phase_timeout = Duration::from_secs_f64(collect.phase_timeout.clamp(0.001, 86_400.0));
    let session = Session::live(prepared.program, prepared.params, collectors).map_err(fail)?;
    Ok(Live { session, repo, config: prepared.config, only: prepared.only })
}

/// A progress bar on stderr while facts are collected, when stderr is a
/// terminal.
pub fn progress() -> impl FnMut(usize, usize) {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("collecting facts {bar:30} {pos}/{len}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    move |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            if done == total {
                bar.finish_and_clear();
            }
        }
    }
}

pub fn write_reports(
    report: &run::Report,
    run: &EvalRun,
    outputs: &[(Format, PathBuf)],
    target: &Path,
) -> Result<(), u8> {
    let style = report::Style { color: std::io::stdout().is_terminal(), target: target.to_path_buf() };
    print!("{}", report::render(run.format, report, &style));
    let file_style = report::Style { color: false, target: target.to_path_buf() };
    for (f, path) in outputs {
        if let Err(e) = std::fs::write(path, report::render(*f, report, &file_style)) {
            return Err(fail(format!("{}: {e}", path.display())));
        }
    }
    Ok(())
}

/// `Err` carries the exit code of a failure that was already reported.
type Exit = Result<u8, u8>;

fn eval(target: &Path, args: &PolicyArgs, run: &EvalRun, outputs: &[String], facts: Option<&Path>) -> Exit {
    let outputs = parse_outputs(outputs)?;
    let prepared = prepare(target, args)?;
    let report = match facts {
        Some(file) => {
            let snapshot: Snapshot = std::fs::read_to_string(file)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
                .map_err(|e| fail(format!("{}: {e}", file.display())))?;
            let mut session = Session::replay(prepared.program, prepared.params, &snapshot);
            let results = session.evaluate(prepared.only.as_ref(), &mut |_, _| {});
            let options = options(target, &prepared.config, prepared.only.clone(), run.inline);
            let report = run::report(&session.program, results, &session, &options);
            // The process ends right after the report is written: leave the fact
            // table (every value of every document, one allocation each) to
            // the operating system instead of freeing it value by value.
            // Only here: watch mode and the language server live on.
            std::mem::forget(session);
            std::mem::forget(snapshot);
            report
        }
        None => {
            let Live { mut session, config, only, .. } = live_session(target, prepared, &run.collect)?;
            let results = session.evaluate(only.as_ref(), &mut progress());
            let options = options(target, &config, only, run.inline);
            run::report(&session.program, results, &session, &options)
        }
    };
    write_reports(&report, run, &outputs, target)?;
    Ok(if report.score.gate == "pass" { 0 } else { 1 })
}

pub fn options<'a>(
    target: &Path,
    config: &'a Config,
    only: Option<BTreeSet<String>>,
    inline: bool,
) -> run::Options<'a> {
    run::Options { target: target.display().to_string(), config, only, inline_ignores: inline, today: Date::today() }
}

fn facts(target: &Path, args: &PolicyArgs, out: &Path, collect: &CollectArgs) -> Exit {
    let prepared = prepare(target, args)?;
    let Live { mut session, config, only, .. } = live_session(target, prepared, collect)?;
    // Evaluating is what tells which facts are needed (fact arguments may
    // depend on other facts); the report reads the rest (inline ignores,
    // evidence files). The report itself is discarded.
    let results = session.evaluate(only.as_ref(), &mut progress());
    let options = options(target, &config, only, true);
    let _ = run::report(&session.program, results, &session, &options);
    let snapshot = session.snapshot(&target.display().to_string());
    let text = serde_json::to_string_pretty(&snapshot).map_err(fail)?;
    std::fs::write(out, text + "\n").map_err(|e| fail(format!("{}: {e}", out.display())))?;
    eprintln!("mlpol: wrote {} facts to {}", snapshot.facts.len(), out.display());
    Ok(0)
}

fn check(paths: &[PathBuf], format: &str, bundled: bool) -> u8 {
    let (base, extra): (Option<&Path>, &[PathBuf]) =
        if paths.is_empty() { (Some(Path::new(".")), &[]) } else { (None, paths) };
    let files = match load_files(base, extra) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let mut extra_diags = BTreeMap::new();
    let mut sources = Vec::new();
    for (p, t, d) in files {
        if !d.is_empty() {
            extra_diags.insert(p.clone(), d);
        }
        sources.push((p, t));
    }
    let program = Program::new(sources, bundled);
    if report_diagnostics(&program, &extra_diags, format == "json") {
        2
    } else {
        0
    }
}

fn fmt(paths: &[PathBuf], check_only: bool) -> u8 {
    let defaults = [PathBuf::from("policies")];
    let roots: &[PathBuf] = if paths.is_empty() { &defaults } else { paths };
    let mut changed = 0;
    for root in roots {
        if paths.is_empty() && !root.exists() {
            continue;
        }
        let files = match program::policy_files(root) {
            Ok(f) => f,
            Err(e) => return fail(format!("{}: {}", e.path, e.message)),
        };
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => return fail(format!("{}: {e}", file.display())),
            };
            let formatted = mlpol_lang::fmt::format(&text);
            if formatted != text {
                changed += 1;
                if check_only {
                    println!("{}", file.display());
                } else if let Err(e) = std::fs::write(&file, formatted) {
                    return fail(format!("{}: {e}", file.display()));
                }
            }
        }
    }
    if check_only && changed > 0 {
        eprintln!("mlpol: {changed} file(s) would be reformatted");
        1
    } else {
        0
    }
}

fn list(args: &PolicyArgs, format: &str) -> Exit {
    let program = build_program(Some(Path::new(".")), args)?;
    let metas = mlpol_lang::eval::check_metas(&program.db, program.ws);
    let selected = run::select(&program, &args.only, args.severity.as_deref());
    let metas: Vec<_> = metas.into_iter().filter(|m| selected.as_ref().is_none_or(|s| s.contains(&m.id))).collect();
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(&metas).unwrap_or_default());
    } else {
        for m in metas {
            println!("{:<9} {:<40} {}  [{}]", m.severity, m.id, m.title, report::section_path(&m.section));
        }
    }
    Ok(0)
}
