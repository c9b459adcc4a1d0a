//! OSV advisories (<https://ossf.github.io/osv-schema/>) for the PyPI
//! ecosystem, and PEP 440 matching of versions against them.
//!
//! A version is affected by an `affected[]` entry of its (PEP 503-normalised)
//! package when it is listed in `versions`, or when an `ECOSYSTEM` range
//! says so: its events are sorted by version (`introduced: "0"` first) and
//! walked as the OSV schema prescribes — at or after `introduced` the
//! version is affected, at or after `fixed` or after `last_affected` it is
//! not. Versions are ordered by `pep440_rs` (epochs, pre-, post- and
//! dev-releases, local versions). Withdrawn advisories never match.
//!
//! The offline database is a directory of OSV JSON files (searched
//! recursively), or a zip of them such as osv.dev's `PyPI/all.zip` export.

use super::{normalize_name, Package};
use mlpol_lang::value::shorten;
use pep440_rs::Version;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// The most advisory files read from a database directory.
const MAX_FILES: usize = 1_000_000;
/// The largest advisory file read.
const MAX_FILE_BYTES: u64 = 16 << 20;
/// The longest summary kept.
const MAX_SUMMARY: usize = 300;

/// One advisory, reduced to what matching and reporting need.
#[derive(Debug, Clone, PartialEq)]
pub struct Advisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    pub severity: Option<String>,
    pub withdrawn: bool,
    /// The PyPI entries of `affected[]`.
    pub affected: Vec<Affected>,
}

/// One `affected[]` entry of the PyPI ecosystem.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    /// PEP 503-normalised.
    pub package: String,
    /// The `ECOSYSTEM` ranges, each a list of events.
    pub ranges: Vec<Vec<Event>>,
    /// Explicitly listed affected versions.
    pub versions: Vec<String>,
}

/// A range event with its version text.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
}

/// A package version affected by an advisory.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub package: Package,
    pub advisory: Arc<Advisory>,
    /// Fixed versions of the package's affected entries, in version order.
    pub fixed: Vec<String>,
}

impl Advisory {
    /// Reads an OSV record; `None` when it has no `id`.
    pub fn from_json(json: &Json) -> Option<Advisory> {
        let id = json.get("id")?.as_str()?.to_string();
        let strings = |v: Option<&Json>| -> Vec<String> {
            v.and_then(Json::as_array)
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        let summary = json
            .get("summary")
            .and_then(Json::as_str)
            .filter(|s| !s.trim().is_empty())
            .or_else(|| {
                json.get("details").and_then(Json::as_str).and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
            })
            .map(|s| shorten(s.trim(), MAX_SUMMARY))
            .unwrap_or_default();
        let severity = json
            .get("database_specific")
            .and_then(|d| d.get("severity"))
            .and_then(Json::as_str)
            .or_else(|| {
                json.get("severity")
                    .and_then(Json::as_array)
                    .and_then(|a| a.iter().find_map(|s| s.get("score").and_then(Json::as_str)))
            })
            .map(str::to_string);
        let affected = json
            .get("affected")
            .and_then(Json::as_array)
            .map(|entries| entries.iter().filter_map(Affected::from_json).collect())
            .unwrap_or_default();
        Some(Advisory {
            id,
            aliases: strings(json.get("aliases")),
            summary,
            severity,
            withdrawn: json.get("withdrawn").and_then(Json::as_str).is_some_and(|w| !w.is_empty()),
            affected,
        })
    }

    /// Whether `version` of `package` (normalised) is affected.
    pub fn affects(&self, package: &str, version: &str) -> bool {
        if self.withdrawn {
            return false;
        }
        let parsed = Version::from_str(version).ok();
        self.affected.iter().any(|a| a.package == package && a.affects(version, parsed.as_ref()))
    }

    /// The fixed versions of the entries of `package`, in version order.
    pub fn fixed(&self, package: &str) -> Vec<String> {
        let mut fixed: Vec<String> = Vec::new();
        for a in self.affected.iter().filter(|a| a.package == package) {
            for range in &a.ranges {
                for e in range {
                    if let Event::Fixed(v) = e {
                        if !fixed.contains(v) {
                            fixed.push(v.clone());
                        }
                    }
                }
            }
        }
        fixed.sort_by(|a, b| match (Version::from_str(a), Version::from_str(b)) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.cmp(b),
        });
        fixed
    }
}

impl Affected {
    fn from_json(json: &Json) -> Option<Affected> {
        let package = json.get("package")?;
        if package.get("ecosystem").and_then(Json::as_str) != Some("PyPI") {
            return None;
        }
        let name = normalize_name(package.get("name")?.as_str()?);
        let ranges = json
            .get("ranges")
            .and_then(Json::as_array)
            .map(|ranges| {
                ranges
                    .iter()
                    .filter(|r| r.get("type").and_then(Json::as_str) == Some("ECOSYSTEM"))
                    .map(|r| {
                        r.get("events")
                            .and_then(Json::as_array)
                            .map(|events| events.iter().filter_map(event).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let versions = json
            .get("versions")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        Some(Affected { package: name, ranges, versions })
    }

    fn affects(&self, raw: &str, version: Option<&Version>) -> bool {
        let listed = self.versions.iter().any(|v| match (version, Version::from_str(v)) {
            (Some(ours), Ok(theirs)) => *ours == theirs,
            _ => v == raw,
        });
        listed || version.is_some_and(|v| self.ranges.iter().any(|r| in_range(v, r)))
    }
}

fn event(json: &Json) -> Option<Event> {
    let text = |k: &str| json.get(k).and_then(Json::as_str).map(str::to_string);
    if let Some(v) = text("introduced") {
        Some(Event::Introduced(v))
    } else if let Some(v) = text("fixed") {
        Some(Event::Fixed(v))
    } else {
        text("last_affected").map(Event::LastAffected)
    }
}

/// The OSV evaluation of one range: events sorted by version, walked in
/// order. An event whose version is not PEP 440 is ignored.
pub fn in_range(version: &Version, events: &[Event]) -> bool {
    // The smallest version of epoch 0 (`0.dev0` sorts before `0`).
    let zero = Version::new([0u64]).with_dev(Some(0));
    let mut sorted: Vec<(Version, &Event)> = events
        .iter()
        .filter_map(|e| {
            let text = match e {
                Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) => v,
            };
            let parsed = if matches!(e, Event::Introduced(_)) && text == "0" {
                Some(zero.clone())
            } else {
                Version::from_str(text).ok()
            };
            parsed.map(|v| (v, e))
        })
        .collect();
    // Stable: at equal versions the events keep their written order.
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut affected = false;
    for (at, e) in &sorted {
        match e {
            Event::Introduced(_) if version >= at => affected = true,
            Event::Fixed(_) if version >= at => affected = false,
            Event::LastAffected(_) if version > at => affected = false,
            _ => {}
        }
    }
    affected
}

/// An offline advisory database: PyPI advisories by normalised package.
#[derive(Debug, Default)]
pub struct Db {
    by_package: HashMap<String, Vec<Arc<Advisory>>>,
    /// How many advisory files were read.
    pub files: usize,
}

impl Db {
    /// Reads every `*.json` file under `path` (recursively), or in `path`
    /// when it is a zip. A file that is not an OSV record is an error naming
    /// it.
    pub fn load(path: &Path) -> Result<Db, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("advisory database `{shown}`: {e}"))?;
        if !meta.is_dir() {
            if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
                return Db::load_zip(path);
            }
            return Err(format!("advisory database `{shown}`: not a directory or zip of OSV JSON files"));
        }
        let mut db = Db::default();
        for entry in walkdir::WalkDir::new(path).follow_links(true).sort_by_file_name() {
            let entry = entry.map_err(|e| format!("advisory database `{shown}`: {e}"))?;
            let file = entry.path();
            if !entry.file_type().is_file() || !file.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
                continue;
            }
            db.files += 1;
            if db.files > MAX_FILES {
                return Err(format!("advisory database `{shown}`: more than {MAX_FILES} files"));
            }
            let advisory = read_advisory(file)?;
            db.add(advisory);
        }
        if db.files == 0 {
            return Err(format!("advisory database `{shown}`: no OSV JSON files in it"));
        }
        Ok(db)
    }

    fn load_zip(path: &Path) -> Result<Db, String> {
        let shown = path.display();
        let is_json = |name: &str| name.to_ascii_lowercase().ends_with(".json");
        let members =
            super::zip::read(path, is_json, MAX_FILE_BYTES as usize).map_err(|e| format!("advisory database {e}"))?;
        if members.len() > MAX_FILES {
            return Err(format!("advisory database `{shown}`: more than {MAX_FILES} files"));
        }
        let mut db = Db::default();
        for m in members {
            db.files += 1;
            db.add(parse_advisory(&format!("{shown}:{}", m.name), &m.bytes)?);
        }
        if db.files == 0 {
            return Err(format!("advisory database `{shown}`: no OSV JSON files in it"));
        }
        Ok(db)
    }

    /// Adds an advisory under each PyPI package it names.
    pub fn add(&mut self, advisory: Advisory) {
        let advisory = Arc::new(advisory);
        let mut names: Vec<&str> = advisory.affected.iter().map(|a| a.package.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            self.by_package.entry(name.to_string()).or_default().push(advisory.clone());
        }
    }

    /// Every (package, advisory) pair that affects the packages' versions,
    /// in package order, advisories by id.
    pub fn matches(&self, packages: &[Package]) -> Vec<Found> {
        let mut out = Vec::new();
        for p in packages {
            let Some(advisories) = self.by_package.get(&p.name) else { continue };
            let mut hits: Vec<&Arc<Advisory>> = advisories.iter().filter(|a| a.affects(&p.name, &p.version)).collect();
            hits.sort_by(|a, b| a.id.cmp(&b.id));
            hits.dedup_by(|a, b| a.id == b.id);
            for a in hits {
                out.push(Found { package: p.clone(), advisory: a.clone(), fixed: a.fixed(&p.name) });
            }
        }
        out
    }
}

fn read_advisory(file: &Path) -> Result<Advisory, String> {
    use std::io::Read;
    let shown = file.display();
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("advisory `{shown}`: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("advisory `{shown}`: larger than {} MiB", MAX_FILE_BYTES >> 20));
    }
    parse_advisory(&shown.to_string(), &bytes)
}

fn parse_advisory(shown: &str, bytes: &[u8]) -> Result<Advisory, String> {
    let json: Json = serde_json::from_slice(bytes).map_err(|e| format!("advisory `{shown}`: invalid JSON: {e}"))?;
    Advisory::from_json(&json).ok_or_else(|| format!("advisory `{shown}`: not an OSV record (no `id`)"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    fn range(events: &[(&str, &str)]) -> Vec<Event> {
        events
            .iter()
            .map(|(k, ver)| match *k {
                "introduced" => Event::Introduced(ver.to_string()),
                "fixed" => Event::Fixed(ver.to_string()),
                _ => Event::LastAffected(ver.to_string()),
            })
            .collect()
    }

    #[test]
    fn introduced_fixed() {
        let r = range(&[("introduced", "0"), ("fixed", "2.31.0")]);
        assert!(in_range(&v("2.30.0"), &r));
        assert!(in_range(&v("0.1"), &r));
        assert!(in_range(&v("2.31.0rc1"), &r), "a pre-release of the fix is still affected");
        assert!(in_range(&v("2.31.0.dev0"), &r));
        assert!(in_range(&v("2.30.0.post1"), &r));
        assert!(in_range(&v("2.30.0+local"), &r));
        assert!(!in_range(&v("2.31.0"), &r));
        assert!(!in_range(&v("2.31"), &r), "2.31 == 2.31.0");
        assert!(!in_range(&v("2.31.0.post1"), &r));
        assert!(!in_range(&v("1!0.1"), &r), "an epoch sorts after every epoch-0 version");
        assert!(in_range(&v("0.0.0.dev1"), &r), "introduced 0 includes the earliest dev-release");
    }

    #[test]
    fn last_affected_and_unsorted_events() {
        let r = range(&[("introduced", "1.0"), ("last_affected", "1.4")]);
        assert!(in_range(&v("1.4"), &r));
        assert!(!in_range(&v("1.4.1"), &r));
        assert!(!in_range(&v("0.9"), &r));
        // Two ranges in one, written out of order.
        let r = range(&[("fixed", "3.0.2"), ("introduced", "3.0"), ("fixed", "2.5"), ("introduced", "2.0")]);
        assert!(in_range(&v("2.1"), &r));
        assert!(!in_range(&v("2.7"), &r));
        assert!(in_range(&v("3.0.1"), &r));
        assert!(!in_range(&v("3.0.2"), &r));
    }
}
