//! One run of `mlpol eval`: evaluate the program over the facts, then apply
//! what the configuration says about the results — waivers, inline ignores,
//! attestations — and compute the Security Score. The result is a
//! [`Report`], the JSON contract every output format is rendered from.

use crate::config::{Attestation, Config, Date, Waiver};
use crate::files::at_or_under;
use crate::program::Program;
use mlpol_lang::eval::{self, CheckResult, FactCall, FactSource, Finding, Status};
use mlpol_lang::value::{Kind, Origin, Params, Value};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const REPORT_VERSION: &str = "0.1.0";
pub const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl From<&Origin> for Location {
    fn from(o: &Origin) -> Location {
        Location { path: o.path.clone(), line: o.line, uri: o.uri.clone() }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FindingReport {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Stable under line moves: check id + path + message.
    pub fingerprint: String,
    /// Why it does not count, for suppressed findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WaiverReport {
    pub check: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub reason: String,
    pub owner: String,
    pub expires: String,
    /// `active`, `expired` or `unmatched`.
    pub state: String,
    pub line: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AttestationReport {
    pub check: String,
    pub by: String,
    pub role: String,
    pub date: String,
    pub expires: String,
    pub evidence: String,
    /// `valid`, `expired`, `future`, or `missing-evidence`.
    pub state: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PolicyLocation {
    pub path: String,
    pub line: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckReport {
    pub id: String,
    pub title: String,
    pub section: Vec<String>,
    pub severity: String,
    pub status: Status,
    pub message: String,
    pub findings: Vec<FindingReport>,
    pub suppressed: Vec<FindingReport>,
    pub tags: Vec<String>,
    pub remediation: String,
    pub validation: String,
    pub references: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    pub policy: PolicyLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationReport>,
    pub requires_attestation: bool,
    /// The facts the check read.
    pub facts: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SeverityScore {
    /// `pass` + `waived`.
    pub passed: usize,
    /// Every check but `skip`.
    pub total: usize,
    pub percent: f64,
    pub required: f64,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    pub waived: usize,
    pub met: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Score {
    pub critical: SeverityScore,
    pub high: SeverityScore,
    pub medium: SeverityScore,
    pub low: SeverityScore,
    /// `pass` or `fail`.
    pub gate: String,
}

impl Score {
    pub fn by_severity(&self) -> [(&'static str, &SeverityScore); 4] {
        [("critical", &self.critical), ("high", &self.high), ("medium", &self.medium), ("low", &self.low)]
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignoffReport {
    pub kind: String,
    pub name: String,
    pub role: String,
    pub date: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub version: String,
    pub target: String,
    pub date: String,
    pub checks: Vec<CheckReport>,
    pub score: Score,
    pub waivers: Vec<WaiverReport>,
    pub attestations: Vec<AttestationReport>,
    pub signoff: Vec<SignoffReport>,
    /// Things the user should know that do not fail the run (unmatched or
    /// expired waivers, ...).
    pub warnings: Vec<String>,
}

pub struct Options<'a> {
    pub target: String,
    pub config: &'a Config,
    pub only: Option<BTreeSet<String>>,
    pub inline_ignores: bool,
    pub today: Date,
}

/// Check ids selected by `--only ID|TAG` and `--severity`.
pub fn select(program: &Program, only: &[String], min_severity: Option<&str>) -> Option<BTreeSet<String>> {
    if only.is_empty() && min_severity.is_none() {
        return None;
    }
    let rank = |s: &str| SEVERITIES.iter().position(|x| *x == s).unwrap_or(SEVERITIES.len());
    let metas = eval::check_metas(&program.db, program.ws);
    Some(
        metas
            .into_iter()
            .filter(|m| {
                only.is_empty()
                    || only.iter().any(|o| *o == m.id || m.tags.contains(o) || m.id.starts_with(&format!("{o}.")))
            })
            .filter(|m| min_severity.is_none_or(|min| rank(&m.severity) <= rank(min)))
            .map(|m| m.id)
            .collect(),
    )
}

/// Turns evaluated checks into the report: waivers, inline ignores and
/// attestations applied (reading their facts from `facts`), score computed.
pub fn report(program: &Program, results: Vec<CheckResult>, facts: &dyn FactSource, opts: &Options) -> Report {
    report_with(program, results, facts, opts, &mut ReportCache::default())
}

/// The check reports of the previous report (`mlpol eval --watch`), to
/// reuse what did not change: on a large target, applying inline ignores to
/// and redacting thousands of findings is most of the cost of a report.
#[derive(Default)]
pub struct ReportCache {
    checks: HashMap<String, Cached>,
    /// Inline ignore markers by file.
    ignores: Ignores,
    /// The markers of files that changed since, to compare with their new
    /// ones: a check whose findings are in a file whose markers did not
    /// change keeps its report.
    changed: Vec<(String, Markers)>,
}

struct Cached {
    result: CheckResult,
    report: CheckReport,
    /// The waivers (by index) the check used.
    waivers: Vec<usize>,
    /// The report of each of `result`'s findings, before suppression.
    findings: Vec<FindingReport>,
    /// What its report read changed: its findings' reports can be reused,
    /// the rest must be made again.
    stale: bool,
}

impl Cached {
    fn has_findings_in(&self, path: &str) -> bool {
        let findings = self.report.findings.iter().chain(&self.report.suppressed);
        findings.filter_map(|f| f.location.as_ref()?.path.as_deref()).any(|p| at_or_under(p, path))
    }
}

impl ReportCache {
    /// Notes that files at (or under) these paths changed: their inline
    /// ignore markers are read again at the next report, and the checks
    /// whose attestation evidence is there are reported again.
    pub fn forget_paths(&mut self, changed: &[String], config: &Config) {
        let hit = |p: &str| changed.iter().any(|c| at_or_under(p, c));
        let gone: Vec<String> = self.ignores.keys().filter(|p| hit(p)).cloned().collect();
        for p in gone {
            if let Some(markers) = self.ignores.remove(&p) {
                self.changed.push((p, markers));
            }
        }
        for (id, c) in self.checks.iter_mut() {
            c.stale |= config.attestations.iter().any(|a| a.check == *id && hit(&a.evidence));
        }
    }

    /// Marks stale the checks with findings in files whose markers changed.
    fn compare_ignores(&mut self, facts: &dyn FactSource) {
        for (path, old) in std::mem::take(&mut self.changed) {
            let new = inline_ignores(facts, &path);
            if new != old {
                for c in self.checks.values_mut() {
                    c.stale |= c.has_findings_in(&path);
                }
            }
            self.ignores.insert(path, new);
        }
    }
}

/// [`report`], reusing from `cache` the reports of unchanged checks and of
/// unchanged findings, and keeping the new ones there.
pub fn report_with(
    program: &Program,
    results: Vec<CheckResult>,
    facts: &dyn FactSource,
    opts: &Options,
    cache: &mut ReportCache,
) -> Report {
    let mut warnings = Vec::new();
    let known: BTreeSet<String> = eval::check_metas(&program.db, program.ws).into_iter().map(|m| m.id).collect();
    let mut waiver_used = vec![false; opts.config.waivers.len()];
    let mut checks = Vec::new();
    cache.compare_ignores(facts);
    for r in results {
        if let Some(c) = cache.checks.get(&r.meta.id).filter(|c| !c.stale && c.result == r) {
            for i in &c.waivers {
                if let Some(u) = waiver_used.get_mut(*i) {
                    *u = true;
                }
            }
            checks.push(c.report.clone());
            continue;
        }
        // Findings at the same place in the list as last time keep their
        // report (a check's findings rarely move when one file changes).
        let previous = cache.checks.remove(&r.meta.id);
        let findings: Vec<FindingReport> = (r.findings.iter().enumerate())
            .map(|(i, f)| {
                let same = previous.as_ref().and_then(|p| Some((p.result.findings.get(i)?, p.findings.get(i)?)));
                match same {
                    Some((old, report)) if old == f => report.clone(),
                    _ => finding_report(&r.meta.id, f),
                }
            })
            .collect();
        let result = r.clone();
        let report = apply(r, findings.clone(), facts, opts, &mut waiver_used, &mut cache.ignores);
        let waivers = (opts.config.waivers.iter().enumerate())
            .filter(|(i, w)| w.check == report.id && waiver_used.get(*i).is_some_and(|u| *u))
            .map(|(i, _)| i)
            .collect();
        let cached = Cached { result, report: report.clone(), waivers, findings, stale: false };
        cache.checks.insert(report.id.clone(), cached);
        checks.push(report);
    }
    let mut waivers = Vec::new();
    for (w, used) in opts.config.waivers.iter().zip(&waiver_used) {
        let expired = w.expires < opts.today;
        let state = if expired {
            "expired"
        } else if *used {
            "active"
        } else {
            "unmatched"
        };
        let selected = opts.only.as_ref().is_none_or(|o| o.contains(&w.check));
        if !known.contains(&w.check) {
            warnings.push(format!("mlpol.toml:{}: waiver for unknown check `{}`", w.line, w.check));
        } else if state == "unmatched" && selected {
            warnings.push(format!("mlpol.toml:{}: waiver for `{}` matched no finding", w.line, w.check));
        } else if state == "expired" && selected {
            warnings.push(format!("mlpol.toml:{}: waiver for `{}` expired on {}", w.line, w.check, w.expires));
        }
        waivers.push(waiver_report(w, state));
    }
    let attestations = opts.config.attestations.iter().map(|a| attestation_report(a, facts, opts.today)).collect();
    for a in &opts.config.attestations {
        if !known.contains(&a.check) {
            warnings.push(format!("mlpol.toml:{}: attestation for unknown check `{}`", a.line, a.check));
        }
    }
    let score = score(&checks, &opts.config.thresholds);
    Report {
        version: REPORT_VERSION.to_string(),
        target: opts.target.clone(),
        date: opts.today.to_string(),
        checks,
        score,
        waivers,
        attestations,
        signoff: opts
            .config
            .signoffs
            .iter()
            .map(|s| SignoffReport {
                kind: s.kind.clone(),
                name: s.name.clone(),
                role: s.role.clone(),
                date: s.date.to_string(),
            })
            .collect(),
        warnings,
    }
}

fn waiver_report(w: &Waiver, state: &str) -> WaiverReport {
    WaiverReport {
        check: w.check.clone(),
        path: w.path.clone(),
        reason: w.reason.clone(),
        owner: w.owner.clone(),
        expires: w.expires.to_string(),
        state: state.to_string(),
        line: w.line,
    }
}

fn attestation_report(a: &Attestation, facts: &dyn FactSource, today: Date) -> AttestationReport {
    let is_url = a.evidence.starts_with("https://") || a.evidence.starts_with("http://");
    let evidence_ok = is_url || {
        let call = FactCall { namespace: "files".into(), name: "exists".into(), args: vec![Value::str(&a.evidence)] };
        matches!(facts.fact(&call), Ok(Value { kind: Kind::Bool(true), .. }))
    };
    let state = if a.date > today {
        "future"
    } else if a.expires() < today {
        "expired"
    } else if !evidence_ok {
        "missing-evidence"
    } else {
        "valid"
    };
    AttestationReport {
        check: a.check.clone(),
        by: a.by.clone(),
        role: a.role.clone(),
        date: a.date.to_string(),
        expires: a.expires().to_string(),
        evidence: a.evidence.clone(),
        state: state.to_string(),
    }
}

/// FNV-1a: a short, stable, non-cryptographic fingerprint.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// A finding as reported; its message redacted (a safety net: nothing that
/// looks like a secret leaves in a message).
fn finding_report(id: &str, f: &Finding) -> FindingReport {
    let path = f.location.as_ref().and_then(|l| l.path.clone().or_else(|| l.uri.clone())).unwrap_or_default();
    FindingReport {
        message: crate::redact::text(&f.message),
        location: f.location.as_ref().map(Location::from),
        fingerprint: fingerprint(&[id, &path, &f.message]),
        suppressed_by: None,
    }
}

/// The inline `mlpol:ignore <check-id> <reason>` markers of a file.
fn inline_ignores(facts: &dyn FactSource, path: &str) -> Markers {
    let call = FactCall { namespace: "files".into(), name: "ignores".into(), args: vec![Value::str(path)] };
    let Ok(v) = facts.fact(&call) else { return Vec::new() };
    let Kind::List(xs) = &v.kind else { return Vec::new() };
    xs.iter()
        .filter_map(|x| {
            let line = match x.get("line")?.kind {
                Kind::Int(n) => u32::try_from(n).ok()?,
                _ => return None,
            };
            Some((line, x.get("check")?.as_str()?.to_string(), x.get("reason")?.as_str()?.to_string()))
        })
        .collect()
}

/// The inline ignore markers of a file: (line, check, reason).
type Markers = Vec<(u32, String, String)>;

/// Inline ignore markers by file.
type Ignores = BTreeMap<String, Markers>;

fn apply(
    r: CheckResult,
    mut findings: Vec<FindingReport>,
    facts: &dyn FactSource,
    opts: &Options,
    used: &mut [bool],
    cache: &mut Ignores,
) -> CheckReport {
    let id = r.meta.id.clone();
    let mut status = r.status;
    let mut message = r.message.clone();
    let mut suppressed = Vec::new();

    // Inline ignores in the target's files.
    if opts.inline_ignores && status == Status::Fail {
        findings.retain_mut(|f| {
            let Some(Location { path: Some(path), line: Some(line), .. }) = &f.location else { return true };
            if !cache.contains_key(path) {
                cache.insert(path.clone(), inline_ignores(facts, path));
            }
            let Some(marks) = cache.get(path) else { return true };
            match marks.iter().find(|(l, c, _)| (*l == *line || *l + 1 == *line) && *c == id) {
                Some((l, _, reason)) => {
                    f.suppressed_by = Some(format!("inline ignore at {path}:{l}: {reason}"));
                    suppressed.push(f.clone());
                    false
                }
                None => true,
            }
        });
    }

    // Waivers: unexpired ones suppress the findings in their scope.
    let mut waiver = None;
    if status == Status::Fail {
        for (i, w) in opts.config.waivers.iter().enumerate() {
            if w.check != id {
                continue;
            }
            if w.expires < opts.today {
                waiver = Some(waiver_report(w, "expired"));
                continue;
            }
            let before = findings.len();
            findings.retain_mut(|f| {
                let path = f.location.as_ref().and_then(|l| l.path.as_deref());
                let in_scope = match (&w.path, path) {
                    (None, _) => true,
                    (Some(scope), Some(p)) => at_or_under(p, scope),
                    (Some(_), None) => false,
                };
                if in_scope {
                    f.suppressed_by = Some(format!(
                        "waiver (mlpol.toml:{}): {} — {}, until {}",
                        w.line, w.reason, w.owner, w.expires
                    ));
                    suppressed.push(f.clone());
                }
                !in_scope
            });
            if findings.len() < before {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                waiver = Some(waiver_report(w, "active"));
            }
        }
    }
    if status == Status::Fail && findings.is_empty() {
        if let Some(w) = waiver.as_ref().filter(|w| w.state == "active") {
            status = Status::Waived;
            message = format!("waived until {} by {}: {}", w.expires, w.owner, w.reason);
        } else {
            status = Status::Pass;
            message = "every finding is suppressed".to_string();
        }
    } else if status == Status::Fail {
        // Some findings were suppressed: the message is about those left.
        if !suppressed.is_empty() {
            message = eval::fail_message(findings.iter().map(|f| f.message.as_str()));
        }
        if let Some(w) = waiver.as_ref().filter(|w| w.state == "expired") {
            message = format!("{message} (the waiver for this check expired on {})", w.expires);
        }
    }

    // Attestations.
    let attestation = opts
        .config
        .attestations
        .iter()
        .filter(|a| a.check == id)
        .map(|a| attestation_report(a, facts, opts.today))
        .max_by_key(|a| (a.state == "valid", a.date.clone()));
    if r.meta.attestation && status == Status::Pass {
        match &attestation {
            Some(a) if a.state == "valid" => {
                message = format!("attested by {} ({}) on {}, valid until {}", a.by, a.role, a.date, a.expires);
            }
            Some(a) => {
                status = Status::Fail;
                message = match a.state.as_str() {
                    "expired" => format!("the attestation by {} expired on {}", a.by, a.expires),
                    "future" => format!("the attestation by {} is dated in the future ({})", a.by, a.date),
                    _ => format!("the attestation's evidence `{}` does not exist in the target", a.evidence),
                };
            }
            None => {
                status = Status::Fail;
                message = format!("needs an attestation in mlpol.toml: [[attestation]] check = \"{id}\" with by, role, date and evidence");
            }
        }
    }
    // A safety net: nothing that looks like a secret leaves in a message
    // (findings were redacted by `finding_report`).
    let message = crate::redact::text(&message);

    CheckReport {
        id,
        title: r.meta.title,
        section: r.meta.section,
        severity: r.meta.severity,
        status,
        message,
        findings,
        suppressed,
        tags: r.meta.tags,
        remediation: r.meta.remediation,
        validation: r.meta.validation,
        references: r.meta.references,
        doc: r.meta.doc,
        policy: PolicyLocation { path: r.meta.policy_path, line: r.meta.policy_line },
        waiver,
        attestation,
        requires_attestation: r.meta.attestation,
        facts: r.facts,
    }
}

pub fn score(checks: &[CheckReport], thresholds: &BTreeMap<String, f64>) -> Score {
    let mut by: BTreeMap<&str, SeverityScore> = BTreeMap::new();
    for sev in SEVERITIES {
        by.insert(sev, SeverityScore { required: thresholds.get(sev).copied().unwrap_or(100.0), ..Default::default() });
    }
    for c in checks {
        let Some(s) = by.get_mut(c.severity.as_str()) else { continue };
        match c.status {
            Status::Pass => s.pass += 1,
            Status::Fail => s.fail += 1,
            Status::Error => s.error += 1,
            Status::Skip => s.skip += 1,
            Status::Waived => s.waived += 1,
        }
    }
    let mut gate = true;
    for s in by.values_mut() {
        s.passed = s.pass + s.waived;
        s.total = s.pass + s.waived + s.fail + s.error;
        s.percent = if s.total == 0 { 100.0 } else { (s.passed as f64 * 1000.0 / s.total as f64).round() / 10.0 };
        s.met = s.total == 0 || (s.passed as f64 * 100.0) >= s.required * s.total as f64;
        gate &= s.met;
    }
    let mut take = |k: &str| by.remove(k).unwrap_or_default();
    Score {
        critical: take("critical"),
        high: take("high"),
        medium: take("medium"),
        low: take("low"),
        gate: if gate { "pass".to_string() } else { "fail".to_string() },
    }
}

/// Parses `--param name=value` strings by the declared type of the param:
/// `int`, `float`, `bool`, `duration` (`90d`), `size` (`512MiB`, `2g`),
/// `list<T>` as comma-separated `T`s, strings as they are. A name declared
/// in several modules is set in all of them.
pub fn params(program: &Program, raw: &BTreeMap<String, String>) -> Result<Params, String> {
    use mlpol_lang::syntax::ast::{ItemKind, TypeExpr, TypeExprKind};
    let mut declared: BTreeMap<String, TypeExpr> = BTreeMap::new();
    for file in program.files() {
        for (_, p) in mlpol_lang::db::items(&program.db, file) {
            if let ItemKind::Param(param) = &p.ast.kind {
                declared.insert(param.name.text.clone(), param.ty.clone());
            }
        }
    }
    fn scalar(ty: &str, text: &str) -> Option<Value> {
        let t = text.trim();
        Some(match ty {
            "int" => Value::int(t.parse().ok()?),
            "float" => Value::new(Kind::Float(t.parse().ok()?)),
            "bool" => match t {
                "true" => Value::bool(true),
                "false" => Value::bool(false),
                _ => return None,
            },
            "duration" => Value::new(Kind::Duration(eval::parse_unit(t, true)?)),
            "size" => Value::new(Kind::Size(eval::parse_unit(t, false)?)),
            "regex" => {
                regex::Regex::new(t).ok()?;
                Value::new(Kind::Regex(t.into()))
            }
            _ => Value::str(text),
        })
    }
    let mut out = Params::new();
    for (name, text) in raw {
        let Some(ty) = declared.get(name) else {
            let mut msg = format!("unknown parameter `{name}`");
            if let Some(s) = mlpol_lang::check::did_you_mean(name, declared.keys().map(|s| s.as_str())) {
                msg.push_str(&format!("; did you mean `{s}`?"));
            }
            return Err(msg);
        };
        let bad = |what: &str| format!("parameter `{name}` must be {what}, not `{text}`");
        let v = match &ty.kind {
            TypeExprKind::Named(n) => scalar(&n.text, text).ok_or_else(|| bad(&format!("a {}", n.text)))?,
            TypeExprKind::List(inner) => {
                let elem = match &inner.kind {
                    TypeExprKind::Named(n) => n.text.clone(),
                    _ => {
                        return Err(format!(
                            "parameter `{name}` is a list of lists: set it in a policy, not on the command line"
                        ))
                    }
                };
                let mut xs = Vec::new();
                for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    xs.push(scalar(&elem, part).ok_or_else(|| bad(&format!("a comma-separated list of {elem}")))?);
                }
                Value::list(xs)
            }
            TypeExprKind::Map(_) => {
                return Err(format!("parameter `{name}` is a map: set it in a policy, not on the command line"))
            }
        };
        out.insert(name.clone(), v);
    }
    Ok(out)
}
