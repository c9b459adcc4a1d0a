//! `mlpol.toml`: parameters, score thresholds, waivers and attestations.
//! A malformed file, or a waiver or attestation missing a required field, is
//! a configuration error naming the line (exit code 2).

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A calendar date (no time zone: waivers expire at the end of their day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().splitn(3, '-');
        let year = it.next()?.parse().ok()?;
        let month: u8 = it.next()?.parse().ok()?;
        let day: u8 = it.next()?.get(..2)?.parse().ok()?;
        let date = Date { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(date)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_days(z: i64) -> Date {
        let z = z + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        Date {
            year: i32::try_from(y + i64::from(m <= 2)).unwrap_or(1970),
            month: u8::try_from(m).unwrap_or(1),
            day: u8::try_from(d).unwrap_or(1),
        }
    }

    /// Today (UTC), or `MLPOL_TODAY=YYYY-MM-DD` when set (tests, replays).
    pub fn today() -> Date {
        if let Some(d) = std::env::var("MLPOL_TODAY").ok().and_then(|s| Date::parse(&s)) {
            return d;
        }
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Date::from_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Waiver {
    pub check: String,
    pub path: Option<String>,
    pub reason: String,
    pub owner: String,
    pub expires: Date,
    /// 1-based line of the `[[waiver]]` table in mlpol.toml.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attestation {
    pub check: String,
    pub by: String,
    pub role: String,
    pub date: Date,
    pub evidence: String,
    pub valid_for_days: i64,
    pub line: usize,
}

impl Attestation {
    pub fn expires(&self) -> Date {
        Date::from_days(self.date.days() + self.valid_for_days)
    }
}

/// An entry of the seed's sign-off block.
#[derive(Debug, Clone, PartialEq)]
pub struct Signoff {
    /// `validated` ("Security validation completed by") or `approved`
    /// ("Approved for production deployment").
    pub kind: String,
    pub name: String,
    pub role: String,
    pub date: Date,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub params: BTreeMap<String, String>,
    /// Required percent per severity.
    pub thresholds: BTreeMap<String, f64>,
    pub waivers: Vec<Waiver>,
    pub attestations: Vec<Attestation>,
    pub signoffs: Vec<Signoff>,
    /// `[files] skip`: directories left out of content scans, replacing the
    /// defaults when set.
    pub skip: Option<Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            params: BTreeMap::new(),
            thresholds: default_thresholds(),
            waivers: Vec::new(),
            attestations: Vec::new(),
            signoffs: Vec::new(),
            skip: None,
        }
    }
}

/// The seed's Security Score: critical 100%, high 100%, medium 90%, low 75%.
pub fn default_thresholds() -> BTreeMap<String, f64> {
    [("critical", 100.0), ("high", 100.0), ("medium", 90.0), ("low", 75.0)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// A configuration error: `path:line: message`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
    #[serde(default)]
    score: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    waiver: Vec<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    #[serde(default)]
    attestation: Vec<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    #[serde(default)]
    signoff: Vec<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    #[serde(default)]
    files: Option<FilesTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilesTable {
    /// Directories (names at any depth, or paths) left out of content scans.
    skip: Option<Vec<String>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len())).map_or(1, |s| s.matches('\n').count() + 1)
}

struct Table<'a> {
    path: &'a str,
    text: &'a str,
    kind: &'static str,
    line: usize,
    map: BTreeMap<String, Spanned<toml::Value>>,
}

impl Table<'_> {
    fn err(&self, line: usize, message: String) -> ConfigError {
        ConfigError { path: self.path.to_string(), line: Some(line), message }
    }

    fn allow(&self, keys: &[&str]) -> Result<(), ConfigError> {
        for (k, v) in &self.map {
            if !keys.contains(&k.as_str()) {
                let line = line_of(self.text, v.span().start);
                return Err(self.err(
                    line,
                    format!("unknown key `{k}` in [[{}]] (expected one of {})", self.kind, keys.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn string(&self, key: &str, required: bool) -> Result<Option<String>, ConfigError> {
        match self.map.get(key) {
            Some(v) => match v.get_ref() {
                toml::Value::String(s) if !s.trim().is_empty() => Ok(Some(s.clone())),
                toml::Value::String(_) => {
                    Err(self.err(line_of(self.text, v.span().start), format!("`{key}` of [[{}]] is empty", self.kind)))
                }
                _ => Err(self
                    .err(line_of(self.text, v.span().start), format!("`{key}` of [[{}]] must be a string", self.kind))),
            },
            None if required => Err(self.err(self.line, format!("[[{}]] has no `{key}`", self.kind))),
            None => Ok(None),
        }
    }

    fn date(&self, key: &str) -> Result<Date, ConfigError> {
        let Some(v) = self.map.get(key) else {
            return Err(self.err(self.line, format!("[[{}]] has no `{key}`", self.kind)));
        };
        let text = match v.get_ref() {
            toml::Value::Datetime(d) => d.to_string(),
            toml::Value::String(s) => s.clone(),
            _ => String::new(),
        };
        Date::parse(&text).ok_or_else(|| {
            self.err(
                line_of(self.text, v.span().start),
                format!("`{key}` of [[{}]] must be a date like 2027-03-31", self.kind),
            )
        })
    }
}

fn scalar(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(_) | toml::Value::Table(_) => String::new(),
    }
}

/// Parses `90d`, `52w`, `1y` (365 days) or a bare number of days.
fn parse_days(s: &str) -> Option<i64> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = n.parse().ok()?;
    match unit {
        "" | "d" => Some(n),
        "w" => n.checked_mul(7),
        "y" => n.checked_mul(365),
        _ => None,
    }
}

pub fn parse(path: &str, text: &str) -> Result<Config, ConfigError> {
    let raw: Raw = toml::from_str(text).map_err(|e| ConfigError {
        path: path.to_string(),
        line: e.span().map(|s| line_of(text, s.start)),
        message: e.message().trim().trim_end_matches('.').to_string(),
    })?;
    let mut config = Config { skip: raw.files.and_then(|f| f.skip), ..Config::default() };
    for (k, v) in raw.params {
        let s = match v {
            toml::Value::Array(xs) => xs.iter().map(scalar).collect::<Vec<_>>().join(","),
            other => scalar(&other),
        };
        config.params.insert(k, s);
    }
    for (k, v) in raw.score {
        let line = line_of(text, v.span().start);
        if !config.thresholds.contains_key(&k) {
            return Err(ConfigError {
                path: path.to_string(),
                line: Some(line),
                message: format!("unknown severity `{k}` in [score]"),
            });
        }
        let pct = match v.get_ref() {
            toml::Value::Integer(n) => *n as f64,
            toml::Value::Float(x) => *x,
            _ => f64::NAN,
        };
        if !(0.0..=100.0).contains(&pct) {
            return Err(ConfigError {
                path: path.to_string(),
                line: Some(line),
                message: format!("[score] `{k}` must be a percentage from 0 to 100"),
            });
        }
        config.thresholds.insert(k, pct);
    }
    let table = |kind: &'static str, t: Spanned<BTreeMap<String, Spanned<toml::Value>>>| {
        let line = line_of(text, t.span().start);
        Table { path, text, kind, line, map: t.into_inner() }
    };
    for w in raw.waiver {
        let t = table("waiver", w);
        t.allow(&["check", "path", "reason", "owner", "expires"])?;
        config.waivers.push(Waiver {
            check: t.string("check", true)?.unwrap_or_default(),
            path: t.string("path", false)?.map(|p| mlpol_lang::db::normalize(&p)),
            reason: t.string("reason", true)?.unwrap_or_default(),
            owner: t.string("owner", true)?.unwrap_or_default(),
            expires: t.date("expires")?,
            line: t.line,
        });
    }
    for a in raw.attestation {
        let t = table("attestation", a);
        t.allow(&["check", "by", "role", "date", "evidence", "valid_for"])?;
        let valid_for = t.string("valid_for", false)?.unwrap_or_else(|| "365d".to_string());
        let Some(days) = parse_days(&valid_for) else {
            return Err(
                t.err(t.line, format!("`valid_for` of [[attestation]] must look like `365d`, not `{valid_for}`"))
            );
        };
        config.attestations.push(Attestation {
            check: t.string("check", true)?.unwrap_or_default(),
            by: t.string("by", true)?.unwrap_or_default(),
            role: t.string("role", true)?.unwrap_or_default(),
            date: t.date("date")?,
            evidence: t.string("evidence", true)?.unwrap_or_default(),
            valid_for_days: days,
            line: t.line,
        });
    }
    for s in raw.signoff {
        let t = table("signoff", s);
        t.allow(&["kind", "name", "role", "date"])?;
        let kind = t.string("kind", false)?.unwrap_or_else(|| "validated".to_string());
        if kind != "validated" && kind != "approved" {
            return Err(t.err(t.line, format!("`kind` of [[signoff]] must be `validated` or `approved`, not `{kind}`")));
        }
        config.signoffs.push(Signoff {
            kind,
            name: t.string("name", true)?.unwrap_or_default(),
            role: t.string("role", true)?.unwrap_or_default(),
            date: t.date("date")?,
            line: t.line,
        });
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn dates_round_trip() {
        for s in ["1970-01-01", "2000-02-29", "2026-11-26", "2027-03-31", "1969-12-31"] {
            let d = Date::parse(s).unwrap();
            assert_eq!(Date::from_days(d.days()).to_string(), s);
        }
        assert_eq!(Date::parse("2026-11-26").unwrap().days() - Date::parse("2026-11-25").unwrap().days(), 1);
        assert!(Date::parse("2027-02-29").is_none());
        assert!(Date::parse("nope").is_none());
    }

    #[test]
    fn waiver_without_owner_names_its_line() {
        let text = "[params]\nx = \"1\"\n\n[[waiver]]\ncheck = \"a.b\"\nreason = \"r\"\nexpires = 2027-03-31\n";
        let err = parse("mlpol.toml", text).unwrap_err();
        assert_eq!(err.to_string(), "mlpol.toml:4: [[waiver]] has no `owner`");
    }

    #[test]
    fn malformed_toml_names_its_line() {
        let err = parse("mlpol.toml", "[params]\nx = \n").unwrap_err();
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn full_config() {
        let text = r#"
[params]
mlflow_url = "http://127.0.0.1:5000"
[score]
medium = 80
[[waiver]]
check = "a.b"
path = "./legacy/Dockerfile"
reason = "vendor image, SEC-123"
owner = "platform-team"
expires = 2027-03-31
[[attestation]]
check = "ir.plan"
by = "Jane Roe"
role = "Security lead"
date = 2026-10-01
evidence = "docs/incident-response.md"
valid_for = "365d"
"#;
        let c = parse("mlpol.toml", text).unwrap();
        assert_eq!(c.params["mlflow_url"], "http://127.0.0.1:5000");
        assert_eq!(c.thresholds["medium"], 80.0);
        assert_eq!(c.waivers[0].path.as_deref(), Some("legacy/Dockerfile"));
        assert_eq!(c.waivers[0].line, 6);
        assert_eq!(c.attestations[0].expires().to_string(), "2027-10-01");
    }
}
