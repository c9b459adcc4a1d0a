//! `mlpol test`: tests of checks, written as `test "name" { ... }` items
//! (usually in `*_test.mlpol` files, see `docs/testing.md`). A test names
//! the checks under test, gives them facts — inline values keyed by fact
//! call, a snapshot recorded by `mlpol facts`, or a fixture directory read by
//! the real repository collectors, offline — and says what it expects:
//! statuses, finding counts, finding locations, message fragments. A fact
//! the test does not give makes the check `error` ("fact X is not in the
//! test"), as in a replay.
//!
//! The runner evaluates each test's checks through the same report as
//! `mlpol eval` (waivers, attestations and the date apply), compares, and
//! records which branches of each check ran (coverage).

use crate::collect::{self, Collectors, Settings};
use crate::config::{self, Config, Date};
use crate::facts::Snapshot;
use crate::files::Repo;
use crate::program::Program;
use crate::run::{self, CheckReport};
use mlpol_lang::check::test_check_ids;
use mlpol_lang::db::{self, SourceFile};
use mlpol_lang::eval::{self, Arm, Branch, FactCall, FactError, FactSource, Limits, Probe, Status};
use mlpol_lang::syntax::ast::{ExprKind, ItemKind, StmtKind, StrPart, Test};
use mlpol_lang::value::{Kind, Origin, Params, Value};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Whether a policy file holds tests by its name (`*_test.mlpol`).
pub fn is_test_file(path: &str) -> bool {
    path.ends_with("_test.mlpol")
}

/// What the runner is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run only tests whose name (or `file:name`) contains this text.
    pub filter: Option<String>,
    /// The date for waivers and attestations when a test sets no `today`.
    pub today: Date,
}

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    /// The check it is about (empty for a test-wide problem).
    pub check: String,
    /// `status`, `findings`, `at`, `message`, or `setup`.
    pub what: String,
    pub expected: Vec<String>,
    pub actual: Vec<String>,
}

/// What a check did in a test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Actual {
    pub check: String,
    pub status: Status,
    pub message: String,
    /// `path:line: message` of each finding.
    pub findings: Vec<String>,
    /// The facts the check read.
    pub facts: Vec<String>,
    /// What decided the result, statement by statement (`path:line: text`).
    pub trace: Vec<String>,
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub name: String,
    /// The test file, as loaded.
    pub file: String,
    pub line: usize,
    pub passed: bool,
    pub millis: u64,
    pub mismatches: Vec<Mismatch>,
    pub actual: Vec<Actual>,
}

/// Coverage of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckCoverage {
    pub check: String,
    pub policy: String,
    pub line: usize,
    /// How many of the tests that ran name this check.
    pub tests: usize,
    pub requires: usize,
    pub requires_covered: usize,
    pub branches: usize,
    pub branches_covered: usize,
    /// Branches no test took: `path:line: arm`.
    pub missed: Vec<String>,
}

/// Coverage of the checks under test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub checks: Vec<CheckCoverage>,
    pub checks_tested: usize,
    pub requires: usize,
    pub requires_covered: usize,
    pub branches: usize,
    pub branches_covered: usize,
    /// Checks no test names.
    pub untested: Vec<String>,
}

impl Coverage {
    /// `checks 53/53 (100%), requires …, branches …`: the totals in a line.
    pub fn summary(&self) -> String {
        format!(
            "checks {}/{} ({}%), requires {}/{} ({}%), branches {}/{} ({}%)",
            self.checks_tested,
            self.checks.len(),
            self.checks_percent(),
            self.requires_covered,
            self.requires,
            self.requires_percent(),
            self.branches_covered,
            self.branches,
            self.branches_percent()
        )
    }

    /// Percent of checks with at least one test.
    pub fn checks_percent(&self) -> f64 {
        percent(self.checks_tested, self.checks.len())
    }
    /// Percent of `require` statements evaluated by some test.
    pub fn requires_percent(&self) -> f64 {
        percent(self.requires_covered, self.requires)
    }
    /// Percent of branches taken by some test; `--coverage-threshold`
    /// compares against this figure.
    pub fn branches_percent(&self) -> f64 {
        percent(self.branches_covered, self.branches)
    }
}

fn percent(n: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        (n as f64 * 1000.0 / total as f64).round() / 10.0
    }
}

/// Every test run, and the coverage of the checks under test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub outcomes: Vec<Outcome>,
    pub passed: usize,
    pub failed: usize,
    pub coverage: Coverage,
}

/// A program with its tests. `dirs` maps a loaded file's path to the
/// directory its relative paths (`snapshot`, `fixture`, `config`) start from.
pub struct Suite {
    pub program: Program,
    dirs: BTreeMap<String, PathBuf>,
    /// Coverage is computed over the checks of these files.
    covered_files: BTreeSet<String>,
}

/// One test item found in the program.
struct Case {
    name: String,
    file: SourceFile,
    path: String,
    line: usize,
    text: String,
    test: Test,
}

impl Suite {
    /// `files` are (path as shown, text, directory on disk). Coverage is
    /// over the checks of the loaded files that are not test files, or of
    /// the bundled modules when those files declare no check.
    pub fn new(files: Vec<(String, String, PathBuf)>, bundled: bool) -> Suite {
        let mut dirs = BTreeMap::new();
        let mut sources = Vec::new();
        for (path, text, dir) in files {
            dirs.insert(path.clone(), dir);
            sources.push((path, text));
        }
        let program = Program::new(sources, bundled);
        let metas = eval::check_metas(&program.db, program.ws);
        let user: BTreeSet<String> = metas
            .iter()
            .filter(|m| dirs.contains_key(&m.policy_path) && !is_test_file(&m.policy_path))
            .map(|m| m.policy_path.clone())
            .collect();
        let covered_files = if user.is_empty() {
            metas.iter().filter(|m| m.policy_path.starts_with("std/")).map(|m| m.policy_path.clone()).collect()
        } else {
            user
        };
        Suite { program, dirs, covered_files }
    }

    fn cases(&self) -> Vec<Case> {
        let db = &self.program.db;
        let mut out = Vec::new();
        for file in self.program.files() {
            let text = file.text(db);
            for item in db::file_items(db, file) {
                let parse = db::parse(db, item.text);
                if let ItemKind::Test(test) = &parse.ast.kind {
                    let at = item.offset + test.name_span.start as usize;
                    out.push(Case {
                        name: test.name.clone(),
                        file,
                        path: file.path(db).clone(),
                        line: mlpol_lang::diagnostic::line_col(text, at).0,
                        text: item.text.text(db).clone(),
                        test: test.clone(),
                    });
                }
            }
        }
        out
    }

    /// The names of the tests (`file: name`), after the filter.
    pub fn names(&self, filter: Option<&str>) -> Vec<String> {
        self.cases().into_iter().filter(|c| selected(c, filter)).map(|c| format!("{}: {}", c.path, c.name)).collect()
    }

    /// Runs the selected tests.
    pub fn run(&self, opts: &Options) -> Run {
        let mut outcomes = Vec::new();
        let mut hits: BTreeSet<Branch> = BTreeSet::new();
        let mut tested: BTreeMap<String, usize> = BTreeMap::new();
        for case in self.cases().iter().filter(|c| selected(c, opts.filter.as_deref())) {
            let probe = Probe::new(true);
            let outcome = self.run_case(case, opts, &probe);
            hits.extend(probe.hits());
            for id in case_checks(&case.test) {
                *tested.entry(id).or_default() += 1;
            }
            outcomes.push(outcome);
        }
        let passed = outcomes.iter().filter(|o| o.passed).count();
        let failed = outcomes.len() - passed;
        let coverage = self.coverage(&hits, &tested);
        Run { outcomes, passed, failed, coverage }
    }

    fn run_case(&self, case: &Case, opts: &Options, probe: &Probe) -> Outcome {
        let started = Instant::now();
        let (mismatches, actual) = match self.evaluate_case(case, opts, probe) {
            Ok(r) => r,
            Err(message) => (
                vec![Mismatch { check: String::new(), what: "setup".into(), expected: vec![], actual: vec![message] }],
                vec![],
            ),
        };
        Outcome {
            name: case.name.clone(),
            file: case.path.clone(),
            line: case.line,
            passed: mismatches.is_empty(),
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            mismatches,
            actual,
        }
    }

    fn evaluate_case(
        &self,
        case: &Case,
        opts: &Options,
        probe: &Probe,
    ) -> Result<(Vec<Mismatch>, Vec<Actual>), String> {
        let db = &self.program.db;
        let dir = self.dirs.get(&case.path).cloned().unwrap_or_else(|| PathBuf::from("."));
        let settings = eval::test_settings(db, self.program.ws, case.file, &case.text, &case.test, &Params::new())?;
        let text_of = |key: &str| settings.get(key).and_then(|v| v.as_str().map(str::to_string));

        // Facts: inline values first, then the snapshot, then the fixture.
        let mut facts = TestFacts::default();
        if let Some(v) = settings.get("facts") {
            for (key, value) in entries(v, "facts")? {
                facts.inline.insert(key.clone(), Ok(locate(&value, path_in_key(&key).as_deref())));
            }
        }
        if let Some(v) = settings.get("fact_errors") {
            for (key, value) in entries(v, "fact_errors")? {
                facts.inline.insert(key, Err(FactError::new(value.to_string())));
            }
        }
        if let Some(p) = text_of("snapshot") {
            let file = dir.join(&p);
            let snapshot: Snapshot = std::fs::read_to_string(&file)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
                .map_err(|e| format!("snapshot `{}`: {e}", file.display()))?;
            facts.snapshot = Some(snapshot);
        }
        let mut config = Config::default();
        if let Some(p) = text_of("fixture") {
            let root = dir.join(&p);
            if !root.is_dir() {
                return Err(format!("fixture `{}` is not a directory", root.display()));
            }
            let toml = root.join("mlpol.toml");
            if toml.is_file() {
                config = read_config(&toml)?;
            }
            facts.fixture = Some(Fixture::new(&root, config.skip.clone())?);
        }
        if let Some(p) = text_of("config") {
            config = read_config(&dir.join(&p))?;
        }

        // Params: the configuration's, then the test's.
        let mut params = run::params(&self.program, &config.params)?;
        if let Some(v) = settings.get("params") {
            for (name, value) in entries(v, "params")? {
                params.insert(name, value);
            }
        }
        let today = match text_of("today") {
            Some(t) => Date::parse(&t).ok_or_else(|| format!("`today = \"{t}\"` is not a date"))?,
            None => opts.today,
        };

        let ids = case_checks(&case.test);
        let known: BTreeSet<String> = eval::check_metas(db, self.program.ws).into_iter().map(|m| m.id).collect();
        let mut mismatches = Vec::new();
        for id in ids.iter().filter(|id| !known.contains(*id)) {
            mismatches.push(Mismatch {
                check: id.clone(),
                what: "check".into(),
                expected: vec![format!("a check `{id}`")],
                actual: vec!["no such check in the loaded policies".into()],
            });
        }
        let only: BTreeSet<String> = ids.iter().filter(|id| known.contains(*id)).cloned().collect();
        let results =
            eval::evaluate_probed(db, self.program.ws, &facts, &params, Some(&only), Limits::default(), Some(probe));
        let events = probe.take_events();
        let policies: BTreeMap<String, String> =
            results.iter().map(|r| (r.meta.id.clone(), r.meta.policy_path.clone())).collect();
        let options = run::Options {
            target: case.path.clone(),
            config: &config,
            only: Some(only.clone()),
            inline_ignores: true,
            today,
        };
        let report = run::report(&self.program, results, &facts, &options);
        let expect = Expect::of(&case.test);
        if expect.is_empty() {
            mismatches.push(Mismatch {
                check: String::new(),
                what: "setup".into(),
                expected: vec!["at least one of `status`, `findings`, `at`, `message`".into()],
                actual: vec!["the test asserts nothing".into()],
            });
        }
        let mut actual = Vec::new();
        for c in &report.checks {
            mismatches.extend(expect.compare(c));
            let policy = policies.get(&c.id).cloned().unwrap_or_default();
            let trace =
                events.iter().filter(|e| e.check == c.id).map(|e| format!("{policy}:{}: {}", e.line, e.text)).collect();
            actual.push(Actual {
                check: c.id.clone(),
                status: c.status,
                message: c.message.clone(),
                findings: c.findings.iter().map(|f| format!("{}: {}", location(f), f.message)).collect(),
                facts: c.facts.clone(),
                trace,
            });
        }
        Ok((mismatches, actual))
    }

    fn coverage(&self, hits: &BTreeSet<Branch>, tested: &BTreeMap<String, usize>) -> Coverage {
        let db = &self.program.db;
        let mut checks = Vec::new();
        for file in self.program.files() {
            let path = file.path(db).clone();
            if !self.covered_files.contains(&path) {
                continue;
            }
            let text = file.text(db);
            for item in db::file_items(db, file) {
                let parse = db::parse(db, item.text);
                let ItemKind::Check(check) = &parse.ast.kind else { continue };
                let id = check.id.dotted();
                let line_at = |at: u32| mlpol_lang::diagnostic::line_col(text, item.offset + at as usize).0;
                let branches = eval::branches(check);
                let mut requires: BTreeMap<u32, bool> = BTreeMap::new();
                let mut missed = Vec::new();
                let mut covered = 0;
                for (b, is_require) in &branches {
                    let hit = hits.contains(b);
                    if *is_require {
                        *requires.entry(b.at).or_default() |= hit;
                    }
                    if hit {
                        covered += 1;
                    } else {
                        missed.push(format!("{path}:{}: {}", line_at(b.at), arm_text(b.arm)));
                    }
                }
                checks.push(CheckCoverage {
                    check: id.clone(),
                    policy: path.clone(),
                    line: line_at(check.id.span.start),
                    tests: tested.get(&id).copied().unwrap_or(0),
                    requires: requires.len(),
                    requires_covered: requires.values().filter(|c| **c).count(),
                    branches: branches.len(),
                    branches_covered: covered,
                    missed,
                });
            }
        }
        Coverage {
            checks_tested: checks.iter().filter(|c| c.tests > 0).count(),
            requires: checks.iter().map(|c| c.requires).sum(),
            requires_covered: checks.iter().map(|c| c.requires_covered).sum(),
            branches: checks.iter().map(|c| c.branches).sum(),
            branches_covered: checks.iter().map(|c| c.branches_covered).sum(),
            untested: checks.iter().filter(|c| c.tests == 0).map(|c| c.check.clone()).collect(),
            checks,
        }
    }
}

fn arm_text(arm: Arm) -> &'static str {
    match arm {
        Arm::Held => "`require` never held",
        Arm::Failed => "`require` never failed",
        Arm::Then => "`if` never true",
        Arm::Else => "`if` never false",
        Arm::Skipped => "`skip when` never skipped",
        Arm::NotSkipped => "`skip when` never went on",
        Arm::Entered => "`for` body never ran",
    }
}

fn selected(case: &Case, filter: Option<&str>) -> bool {
    filter.is_none_or(|f| case.name.contains(f) || format!("{}:{}", case.path, case.name).contains(f))
}

/// The check ids a test names.
fn case_checks(test: &Test) -> Vec<String> {
    let mut out = Vec::new();
    for stmt in &test.body {
        if let StmtKind::Meta { key, value } = &stmt.kind {
            if key.text == "check" {
                out.extend(test_check_ids(value).unwrap_or_default().into_iter().map(|(id, _)| id));
            }
        }
    }
    out
}

fn read_config(path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    config::parse(&path.display().to_string(), &text).map_err(|e| e.to_string())
}

/// The entries of a record setting, or of a list of records in order.
fn entries(v: &Value, what: &str) -> Result<Vec<(String, Value)>, String> {
    match &v.kind {
        Kind::Map(entries) => Ok(entries.iter().cloned().collect()),
        Kind::List(xs) => {
            let mut out = Vec::new();
            for x in xs.iter() {
                out.extend(entries(x, what)?);
            }
            Ok(out)
        }
        _ => Err(format!("`{what}` must be a record or a list of records, not {}", v.type_name())),
    }
}

/// The path of a fact about one file: `doc.ini(@"basic_auth.ini")` →
/// `basic_auth.ini`.
fn path_in_key(key: &str) -> Option<String> {
    let start = key.find("(@\"")? + 2;
    let rest = key.get(start..)?;
    let end = rest.get(1..)?.find('"')? + 2;
    serde_json::from_str(rest.get(..end)?).ok()
}

/// Gives an inline fact the provenance a collector would: a record with a
/// `path` (and `line`) is located there; the rest of a fact about one file
/// is located in that file.
fn locate(v: &Value, file: Option<&str>) -> Value {
    let own = match &v.kind {
        Kind::Map(_) => v.get("path").and_then(|p| p.as_str()).map(|p| {
            let line = match v.get("line").map(|l| &l.kind) {
                Some(Kind::Int(n)) => u32::try_from(*n).ok(),
                _ => None,
            };
            Origin::file(p, line)
        }),
        _ => None,
    };
    let mut out = match &v.kind {
        Kind::List(xs) => Value::list(xs.iter().map(|x| locate(x, file)).collect()),
        Kind::Map(entries) => Value::map(entries.iter().map(|(k, x)| (k.clone(), locate(x, file))).collect()),
        _ => Value::new(v.kind.clone()),
    };
    out.origin = v.origin.clone().or_else(|| own.or_else(|| file.map(|f| Origin::file(f, None))).map(Arc::new));
    out
}

/// A finding's location as tests write it: `path:line`, `path` or the URI.
fn location(f: &run::FindingReport) -> String {
    match &f.location {
        Some(run::Location { path: Some(p), line: Some(l), .. }) => format!("{p}:{l}"),
        Some(run::Location { path: Some(p), .. }) => p.clone(),
        Some(run::Location { uri: Some(u), .. }) => u.clone(),
        _ => "-".to_string(),
    }
}

/// What a test expects of each of its checks.
#[derive(Default)]
struct Expect {
    status: Option<String>,
    findings: Option<i64>,
    at: Option<Vec<String>>,
    message: Vec<String>,
}

impl Expect {
    fn of(test: &Test) -> Expect {
        let lit = |e: &mlpol_lang::syntax::ast::Expr| match &e.kind {
            ExprKind::Str(parts) => {
                Some(parts.iter().map(|p| if let StrPart::Lit(s) = p { s.as_str() } else { "" }).collect::<String>())
            }
            _ => None,
        };
        let mut out = Expect::default();
        for stmt in &test.body {
            let StmtKind::Meta { key, value } = &stmt.kind else { continue };
            match (key.text.as_str(), &value.kind) {
                ("status", ExprKind::Name(n)) => out.status = Some(n.text.clone()),
                ("findings", ExprKind::Int(n)) => out.findings = Some(*n),
                ("at", ExprKind::List(xs)) => out.at = Some(xs.iter().filter_map(lit).collect()),
                ("message", ExprKind::List(xs)) => out.message = xs.iter().filter_map(lit).collect(),
                ("message", _) => out.message = lit(value).into_iter().collect(),
                _ => {}
            }
        }
        out
    }

    fn is_empty(&self) -> bool {
        self.status.is_none() && self.findings.is_none() && self.at.is_none() && self.message.is_empty()
    }

    fn compare(&self, c: &CheckReport) -> Vec<Mismatch> {
        let mut out = Vec::new();
        let mut differ = |what: &str, expected: Vec<String>, actual: Vec<String>| {
            out.push(Mismatch { check: c.id.clone(), what: what.into(), expected, actual });
        };
        let status = c.status.as_str().to_string();
        if let Some(want) = &self.status {
            if *want != status {
                differ("status", vec![want.clone()], vec![format!("{status} — {}", c.message)]);
            }
        }
        if let Some(n) = self.findings {
            if usize::try_from(n).ok() != Some(c.findings.len()) {
                let got = c.findings.iter().map(|f| format!("{}: {}", location(f), f.message)).collect::<Vec<_>>();
                differ(
                    "findings",
                    vec![n.to_string()],
                    std::iter::once(c.findings.len().to_string()).chain(got).collect(),
                );
            }
        }
        if let Some(want) = &self.at {
            let mut want = want.clone();
            let mut got: Vec<String> = c.findings.iter().map(location).collect();
            want.sort();
            got.sort();
            if want != got {
                differ("at", want, got);
            }
        }
        let texts: Vec<&str> =
            std::iter::once(c.message.as_str()).chain(c.findings.iter().map(|f| f.message.as_str())).collect();
        for fragment in &self.message {
            if !texts.iter().any(|t| t.contains(fragment.as_str())) {
                differ(
                    "message",
                    vec![format!("a message containing {fragment:?}")],
                    texts.iter().map(|t| t.to_string()).collect(),
                );
            }
        }
        out
    }
}

/// A fixture directory read by the real repository collectors, offline.
struct Fixture {
    collectors: Collectors,
    runtime: tokio::runtime::Runtime,
}

impl Fixture {
    fn new(root: &Path, skip: Option<Vec<String>>) -> Result<Fixture, String> {
        let repo = Arc::new(match skip {
            Some(skip) => Repo::with_skipped(root, skip),
            None => Repo::new(root),
        });
        let settings = Settings { offline: true, ..Settings::default() };
        let mut collectors = Collectors::new(Arc::new(crate::schema::schema()), collect::standard(repo, &settings));
        collectors.offline = true;
        collectors.jobs = 2;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .map_err(|e| format!("cannot start the collector runtime: {e}"))?;
        Ok(Fixture { collectors, runtime })
    }
}

/// A test's facts: inline values, then the snapshot, then the fixture;
/// anything else is an error that names the missing fact.
#[derive(Default)]
struct TestFacts {
    inline: BTreeMap<String, Result<Value, FactError>>,
    snapshot: Option<Snapshot>,
    fixture: Option<Fixture>,
}

impl FactSource for TestFacts {
    fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
        let key = call.key();
        if let Some(v) = self.inline.get(&key) {
            return v.clone();
        }
        // A key without arguments answers every call of the function.
        if let Some(v) = self.inline.get(&format!("{}.{}", call.namespace, call.name)) {
            return v.clone();
        }
        if let Some(snapshot) = &self.snapshot {
            if snapshot.facts.contains_key(&key) {
                return snapshot.fact(call);
            }
        }
        if let Some(f) = &self.fixture {
            let mut got = f.collectors.collect_all(&f.runtime, vec![call.clone()], &mut |_, _| {});
            return got.pop().map_or_else(|| Err(FactError::new(format!("`{key}` was not collected"))), |(_, v)| v);
        }
        Err(FactError::new(format!("fact `{key}` is not in the test")))
    }
}
