#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! The `deps` collector: declared and locked dependencies of a fixture
//! project (`tests/deps/project`), installed distributions of a real
//! virtual environment (the one `MLPOL_PYTHON` lives in) and of a
//! hand-made one, and vulnerabilities from an offline OSV directory
//! (`tests/deps/advisories`) and from an in-process fake OSV API.

use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::value::{Kind, Value};
use mlpol_stdlib::collect::{Collector, Settings};
use mlpol_stdlib::deps::DepsCollector;
use mlpol_stdlib::files::Repo;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/deps").join(name)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn collector(target: &Path, settings: &Settings, osv_url: &str) -> DepsCollector {
    DepsCollector::with_osv_url(Arc::new(Repo::new(target)), settings, osv_url)
}

fn call(rt: &tokio::runtime::Runtime, c: &DepsCollector, name: &str, args: Vec<Value>) -> Result<Value, FactError> {
    rt.block_on(c.collect(FactCall { namespace: "deps".into(), name: name.into(), args }))
}

/// A fact on a target with default settings and an OSV URL nothing answers.
fn fact(target: &Path, name: &str, args: Vec<Value>) -> Result<Value, FactError> {
    let rt = runtime();
    let settings = Settings { offline: true, ..Settings::default() };
    call(&rt, &collector(target, &settings, "http://127.0.0.1:9"), name, args)
}

fn items(v: &Value) -> Vec<Value> {
    match &v.kind {
        Kind::List(xs) => xs.to_vec(),
        other => panic!("not a list: {other:?}"),
    }
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(|x| x.as_str()).unwrap_or_else(|| panic!("no string `{field}` in {v}"))
}

fn n(v: &Value, field: &str) -> i64 {
    match v.get(field).map(|x| &x.kind) {
        Some(Kind::Int(i)) => *i,
        _ => panic!("no int `{field}` in {v}"),
    }
}

fn b(v: &Value, field: &str) -> bool {
    match v.get(field).map(|x| &x.kind) {
        Some(Kind::Bool(x)) => *x,
        _ => panic!("no bool `{field}` in {v}"),
    }
}

fn strs(v: &Value, field: &str) -> Vec<String> {
    items(v.get(field).unwrap()).iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

/// The value's origin as `path:line`.
fn origin(v: &Value) -> String {
    let o = v.origin.as_ref().unwrap_or_else(|| panic!("no origin on {v}"));
    format!("{}:{}", o.path.as_deref().unwrap_or("?"), o.line.map_or("?".to_string(), |l| l.to_string()))
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("mlpol-deps-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn write(&self, rel: &str, text: &str) {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------- declared

#[test]
fn declared_reads_pyproject_setup_cfg_and_requirements_with_lines() {
    let deps = items(&fact(&fixture("project"), "declared", vec![]).unwrap());
    let rows: Vec<String> = deps
        .iter()
        .map(|d| {
            format!(
                "{}:{} {} {:?} pinned={} hashes={} {} [{}]",
                s(d, "path"),
                n(d, "line"),
                s(d, "name"),
                s(d, "specifier"),
                b(d, "pinned"),
                b(d, "hashes"),
                s(d, "source"),
                s(d, "group"),
            )
        })
        .collect();
    let expected = [
        r#"pyproject.toml:5 requests "==2.30.0" pinned=true hashes=false pyproject []"#,
        r#"pyproject.toml:6 numpy ">=1.24,<2" pinned=false hashes=false pyproject []"#,
        r#"pyproject.toml:7 flask-login "~=0.6" pinned=false hashes=false pyproject []"#,
        r#"pyproject.toml:8 torch "@ https://download.pytorch.org/whl/torch-2.1.0-cp311-none-linux_x86_64.whl" pinned=false hashes=false pyproject []"#,
        r#"pyproject.toml:12 triton "===2.1.0" pinned=true hashes=false pyproject [gpu]"#,
        r#"pyproject.toml:15 pytest "==8.0.0" pinned=true hashes=false pyproject [dev]"#,
        r#"pyproject.toml:16 ruff "" pinned=false hashes=false pyproject [lint]"#,
        r#"pyproject.toml:20 httpx "^0.27" pinned=false hashes=false poetry []"#,
        r#"pyproject.toml:21 pyyaml "6.0.1" pinned=true hashes=false poetry []"#,
        r#"pyproject.toml:22 pandas "==2.2.0" pinned=true hashes=false poetry []"#,
        r#"pyproject.toml:24 private "@ git+https://github.com/example/private.git@abc123" pinned=false hashes=false poetry []"#,
        r#"pyproject.toml:26 torchvision "0.16.0" pinned=true hashes=false poetry []"#,
        r#"pyproject.toml:27 torchvision ">=0.16" pinned=false hashes=false poetry []"#,
        r#"pyproject.toml:31 coverage "7.4.0" pinned=true hashes=false poetry [test]"#,
        r#"setup.cfg:6 click ">=8" pinned=false hashes=false setup.cfg []"#,
        r#"setup.cfg:7 attrs "==23.1.0" pinned=true hashes=false setup.cfg []"#,
        r#"setup.cfg:11 sphinx ">=7" pinned=false hashes=false setup.cfg [docs]"#,
        r#"requirements-dev.in:1 black "" pinned=false hashes=false requirements []"#,
        r#"requirements.txt:3 django "==4.2.0" pinned=true hashes=true requirements []"#,
        r#"requirements.txt:5 urllib3 "==1.26.5" pinned=true hashes=true requirements []"#,
        r#"reqs/base.txt:1 jinja2 ">=3" pinned=false hashes=false requirements []"#,
    ];
    assert_eq!(rows, expected, "\n{}", rows.join("\n"));
    // Each value points at its line, for findings.
    for d in &deps {
        assert_eq!(origin(d), format!("{}:{}", s(d, "path"), n(d, "line")));
    }
}

#[test]
fn declared_errors_name_the_file_and_line() {
    let dir = TempDir::new("bad");
    dir.write(
        "pyproject.toml",
        "[project]\nname = \"x\"\ndependencies = [\n  \"ok>=1\",\n  \"not a requirement!\",\n]\n",
    );
    let err = fact(&dir.0, "declared", vec![]).unwrap_err();
    assert!(err.message.contains("invalid requirement"), "{}", err.message);
    assert_eq!(err.origin.as_ref().map(|o| (o.path.as_deref(), o.line)), Some((Some("pyproject.toml"), Some(5))));

    let dir = TempDir::new("missing-include");
    dir.write("requirements.txt", "flask==3.0.0\n-r missing.txt\n");
    let err = fact(&dir.0, "declared", vec![]).unwrap_err();
    assert!(err.message.contains("missing.txt"), "{}", err.message);
    assert_eq!(err.origin.as_ref().and_then(|o| o.line), Some(2));

    let dir = TempDir::new("bad-toml");
    dir.write("pyproject.toml", "[project\n");
    let err = fact(&dir.0, "declared", vec![]).unwrap_err();
    assert_eq!(err.origin.as_ref().and_then(|o| o.path.as_deref()), Some("pyproject.toml"));
}

#[test]
fn declared_is_empty_for_a_target_without_python() {
    let dir = TempDir::new("empty");
    dir.write("README.md", "nothing here\n");
    assert!(items(&fact(&dir.0, "declared", vec![]).unwrap()).is_empty());
    assert!(items(&fact(&dir.0, "locked", vec![]).unwrap()).is_empty());
}

// ---------------------------------------------------------------- locked

#[test]
fn locked_reads_uv_poetry_pylock_and_hashed_requirements() {
    let locked = items(&fact(&fixture("project"), "locked", vec![]).unwrap());
    let rows: Vec<String> = locked
        .iter()
        .map(|l| {
            format!(
                "{}:{} {} {} hashes={} {} {}",
                s(l, "path"),
                n(l, "line"),
                s(l, "name"),
                s(l, "version"),
                b(l, "hashes"),
                s(l, "lock"),
                s(l, "source")
            )
        })
        .collect();
    let expected = [
        "poetry.lock:4 pyyaml 6.0.1 hashes=true poetry.lock registry",
        "poetry.lock:14 httpx 0.27.0 hashes=false poetry.lock registry",
        "pylock.toml:5 attrs 23.1.0 hashes=true pylock registry",
        "requirements.txt:3 django 4.2.0 hashes=true requirements registry",
        "requirements.txt:5 urllib3 1.26.5 hashes=true requirements registry",
    ];
    let uv = [
        "uv.lock:13 requests 2.30.0 hashes=true uv.lock registry",
        "uv.lock:22 urllib3 2.2.1 hashes=false uv.lock registry",
        "uv.lock:27 mygit 0.1.0 hashes=false uv.lock git",
    ];
    let all: Vec<&str> = uv.iter().chain(expected.iter()).copied().collect();
    assert_eq!(rows, all, "\n{}", rows.join("\n"));
    for l in &locked {
        assert_eq!(origin(l), format!("{}:{}", s(l, "path"), n(l, "line")));
    }
}

#[test]
fn requirements_without_hashes_or_with_ranges_are_not_locks() {
    let dir = TempDir::new("not-locks");
    // pip freeze output: pinned, no hashes.
    dir.write("requirements.txt", "flask==3.0.0\nwerkzeug==3.0.1\n");
    // Hashes, but one requirement is a range.
    dir.write("requirements-ci.txt", "a==1.0 --hash=sha256:00ff\nb>=2 --hash=sha256:11ee\n");
    assert!(items(&fact(&dir.0, "locked", vec![]).unwrap()).is_empty());
    dir.write("requirements-lock.txt", "a==1.0 --hash=sha256:00ff\nb==2.0\n");
    let locked = items(&fact(&dir.0, "locked", vec![]).unwrap());
    let rows: Vec<(String, String, bool)> =
        locked.iter().map(|l| (s(l, "name").to_string(), s(l, "version").to_string(), b(l, "hashes"))).collect();
    assert_eq!(rows, vec![("a".into(), "1.0".into(), true), ("b".into(), "2.0".into(), false)]);
}

#[test]
fn old_poetry_locks_keep_hashes_in_metadata_files() {
    let dir = TempDir::new("poetry-old");
    dir.write(
        "poetry.lock",
        "[[package]]\nname = \"Jinja2\"\nversion = \"3.1.2\"\ncategory = \"main\"\n\n[[package]]\nname = \"six\"\nversion = \"1.16.0\"\n\n[metadata]\nlock-version = \"1.1\"\n\n[metadata.files]\njinja2 = [\n    {file = \"Jinja2-3.1.2.tar.gz\", hash = \"sha256:31351a702a408a9e7595a8fc6150fc3f43bb6bf7e319770cbc0db9df9437e852\"},\n]\nsix = []\n",
    );
    let locked = items(&fact(&dir.0, "locked", vec![]).unwrap());
    let rows: Vec<(String, String, bool, i64)> = locked
        .iter()
        .map(|l| (s(l, "name").to_string(), s(l, "version").to_string(), b(l, "hashes"), n(l, "line")))
        .collect();
    assert_eq!(rows, vec![("jinja2".into(), "3.1.2".into(), true, 2), ("six".into(), "1.16.0".into(), false, 7)]);
}

// ---------------------------------------------------------------- installed

#[test]
fn installed_reads_a_hand_made_venv() {
    let dists = items(&fact(&fixture("venv-target"), "installed", vec![]).unwrap());
    let rows: Vec<String> = dists
        .iter()
        .map(|d| {
            let expr = d.get("license_expression").unwrap();
            format!(
                "{} {} license={:?} expression={} classifiers={:?} {}",
                s(d, "name"),
                s(d, "version"),
                s(d, "license"),
                if expr.is_null() { "null".to_string() } else { expr.as_str().unwrap().to_string() },
                strs(d, "classifiers"),
                s(d, "path")
            )
        })
        .collect();
    let site = ".venv/lib/python3.12/site-packages";
    let expected = [
        format!(
            "classic-pkg 0.3 license=\"License :: OSI Approved :: GNU General Public License v3 (GPLv3); License :: OSI Approved :: MIT License\" expression=null classifiers=[\"License :: OSI Approved :: GNU General Public License v3 (GPLv3)\", \"License :: OSI Approved :: MIT License\"] {site}/classic_pkg-0.3.dist-info"
        ),
        format!("spdx-pkg 1.2.0 license=\"MIT OR Apache-2.0\" expression=MIT OR Apache-2.0 classifiers=[] {site}/spdx_pkg-1.2.0.dist-info"),
        format!("textlicense 1.0 license=\"BSD 3-Clause License\" expression=null classifiers=[] {site}/textlicense-1.0.dist-info"),
        format!("unknown-pkg 2.0 license=\"\" expression=null classifiers=[] {site}/unknown_pkg-2.0.dist-info"),
    ];
    assert_eq!(rows, expected, "\n{}", rows.join("\n"));
    assert_eq!(origin(&dists[0]), format!("{site}/classic_pkg-0.3.dist-info/METADATA:1"));
    // The same through an explicit path.
    let again = fact(&fixture("venv-target"), "installed", vec![Value::str(".venv")]).unwrap();
    assert_eq!(items(&again).len(), 4);
}

#[test]
fn installed_without_a_venv_is_an_error() {
    let err = fact(&fixture("project"), "installed", vec![]).unwrap_err();
    assert_eq!(err.message, "no virtualenv in the target (.venv, venv); create one or pass a path");
    assert!(!err.skipped);
    let err = fact(&fixture("project"), "installed", vec![Value::str("nope")]).unwrap_err();
    assert!(err.message.contains("`nope`"), "{}", err.message);
    // A directory that is not a virtualenv.
    let err = fact(&fixture("project"), "installed", vec![Value::str("reqs")]).unwrap_err();
    assert!(err.message.contains("site-packages"), "{}", err.message);
}

#[test]
fn installed_matches_what_python_sees_in_a_real_venv() {
    let Some(python) = std::env::var_os("MLPOL_PYTHON") else {
        assert!(std::env::var("CI").is_err(), "MLPOL_PYTHON must be set by .ci/run");
        eprintln!("SKIPPED: python venv not available (MLPOL_PYTHON unset)");
        return;
    };
    let python = PathBuf::from(python);
    // <venv>/bin/python
    let venv = python.parent().and_then(Path::parent).unwrap().to_path_buf();
    let script = "import importlib.metadata as m, json, sysconfig\n\
        site = sysconfig.get_paths()['purelib']\n\
        print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions(path=[site])]))";
    let out = std::process::Command::new(&python).arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Vec<(String, String)> = serde_json::from_slice(&out.stdout).unwrap();
    let normalize = |name: &str| {
        let lower = name.to_lowercase().replace(['_', '.'], "-");
        lower.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-")
    };
    let python_sees: BTreeSet<(String, String)> = listed.iter().map(|(n, v)| (normalize(n), v.clone())).collect();

    // An absolute path outside the target is allowed.
    let target = TempDir::new("real-venv");
    let dists = items(&fact(&target.0, "installed", vec![Value::str(venv.to_str().unwrap())]).unwrap());
    let we_see: BTreeSet<(String, String)> =
        dists.iter().map(|d| (s(d, "name").to_string(), s(d, "version").to_string())).collect();
    assert_eq!(we_see, python_sees);

    let by_name = |name: &str| dists.iter().find(|d| s(d, "name") == name).unwrap_or_else(|| panic!("no {name}"));
    let junit = by_name("junitparser");
    assert_eq!(junit.get("license_expression").and_then(|e| e.as_str()), Some("Apache-2.0"));
    assert_eq!(s(junit, "license"), "Apache-2.0");
    let cj = by_name("check-jsonschema");
    assert!(cj.get("license_expression").unwrap().is_null());
    assert_eq!(strs(cj, "classifiers"), vec!["License :: OSI Approved :: Apache Software License".to_string()]);
    assert_eq!(s(cj, "license"), "License :: OSI Approved :: Apache Software License");
}

// ---------------------------------------------------------------- vulnerabilities: offline

fn offline_db(target: &Path, db: &Path) -> Result<Value, FactError> {
    let rt = runtime();
    let settings = Settings { advisory_db: Some(db.to_path_buf()), offline: true, ..Settings::default() };
    call(&rt, &collector(target, &settings, "http://127.0.0.1:9"), "vulnerabilities", vec![])
}

fn vuln_rows(v: &Value) -> Vec<String> {
    items(v)
        .iter()
        .map(|x| {
            let severity = x.get("severity").unwrap();
            format!(
                "{}:{} {} {} {} fixed={:?} severity={}",
                s(x, "path"),
                n(x, "line"),
                s(x, "package"),
                s(x, "version"),
                s(x, "id"),
                strs(x, "fixed"),
                if severity.is_null() { "null" } else { severity.as_str().unwrap() }
            )
        })
        .collect()
}

#[test]
fn offline_advisories_match_locked_versions() {
    let found = offline_db(&fixture("project"), &fixture("advisories")).unwrap();
    let rows = vuln_rows(&found);
    let expected = [
        r#"uv.lock:13 requests 2.30.0 MLPOL-TEST-0001 fixed=["2.31.0"] severity=MODERATE"#,
        r#"poetry.lock:4 pyyaml 6.0.1 MLPOL-TEST-0003 fixed=[] severity=null"#,
        r#"requirements.txt:3 django 4.2.0 MLPOL-TEST-0006 fixed=["4.1.9", "4.2.1"] severity=null"#,
        r#"requirements.txt:5 urllib3 1.26.5 MLPOL-TEST-0002 fixed=[] severity=CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"#,
    ];
    assert_eq!(rows, expected, "\n{}", rows.join("\n"));
    let first = &items(&found)[0];
    assert_eq!(strs(first, "aliases"), vec!["CVE-0000-0001", "GHSA-test-0000-0001"]);
    assert_eq!(s(first, "summary"), "Test advisory: requests leaks Proxy-Authorization headers");
    assert_eq!(s(first, "url"), "https://osv.dev/vulnerability/MLPOL-TEST-0001");
    assert_eq!(origin(first), "uv.lock:13");
    // A summary taken from the details' first line.
    assert_eq!(s(&items(&found)[3], "summary"), "Test advisory: urllib3 1.26 up to 1.26.5 mishandles redirects.");
}

/// A target whose pins are the only versions (no lock), and an advisory
/// database with the edge cases of PEP 440 ordering.
#[test]
fn offline_matching_follows_pep440() {
    let target = TempDir::new("pep440");
    target.write(
        "requirements.txt",
        "alpha==2.0rc1\nbeta==1!1.0\ngamma==1.4\ndelta==1.4.post1\nzeta==2.30.0+cu118\neta==2.31.0\ntheta==0.9.dev1\niota==3.0\nkappa>=1.0\n",
    );
    let db = TempDir::new("pep440-db");
    let advisory = |id: &str, package: &str, events: &str| {
        format!(
            r#"{{"id": "{id}", "modified": "2024-01-01T00:00:00Z", "summary": "{id}", "affected": [{{"package": {{"ecosystem": "PyPI", "name": "{package}"}}, "ranges": [{{"type": "ECOSYSTEM", "events": {events}}}]}}]}}"#
        )
    };
    let fixed_2 = r#"[{"introduced": "0"}, {"fixed": "2.0"}]"#;
    db.write("a.json", &advisory("T-ALPHA", "alpha", fixed_2));
    db.write("b.json", &advisory("T-BETA", "beta", fixed_2));
    let last = r#"[{"introduced": "1.0"}, {"last_affected": "1.4"}]"#;
    db.write("g.json", &advisory("T-GAMMA", "gamma", last));
    db.write("d.json", &advisory("T-DELTA", "delta", last));
    let fixed_231 = r#"[{"introduced": "0"}, {"fixed": "2.31.0"}]"#;
    db.write("z.json", &advisory("T-ZETA", "zeta", fixed_231));
    db.write("e.json", &advisory("T-ETA", "eta", fixed_231));
    db.write("t.json", &advisory("T-THETA", "theta", r#"[{"introduced": "0"}, {"fixed": "1.0"}]"#));
    db.write("i.json", &advisory("T-IOTA", "iota", r#"[{"introduced": "3.0.1"}]"#));
    db.write("k.json", &advisory("T-KAPPA", "kappa", r#"[{"introduced": "0"}]"#));
    let found = offline_db(&target.0, &db.0).unwrap();
    let ids: Vec<(String, i64)> = items(&found).iter().map(|v| (s(v, "id").to_string(), n(v, "line"))).collect();
    assert_eq!(
        ids,
        vec![
            ("T-ALPHA".to_string(), 1), // 2.0rc1 < 2.0
            ("T-GAMMA".to_string(), 3), // 1.4 <= last_affected 1.4
            ("T-ZETA".to_string(), 5),  // 2.30.0+cu118 < 2.31.0
            ("T-THETA".to_string(), 7), // 0.9.dev1 < 1.0
        ],
        "beta (epoch 1), delta (post-release), eta (the fix), iota (before introduced) and kappa (not pinned) must not match"
    );
    assert_eq!(items(&fact(&target.0, "locked", vec![]).unwrap()).len(), 0, "pins without hashes are no lock");
}

#[test]
fn offline_database_errors() {
    let project = fixture("project");
    let err = offline_db(&project, Path::new("/nonexistent/mlpol-osv")).unwrap_err();
    assert!(err.message.contains("/nonexistent/mlpol-osv"), "{}", err.message);
    let dir = TempDir::new("zipdb");
    dir.write("all.zip", "PK");
    let err = offline_db(&project, &dir.0.join("all.zip")).unwrap_err();
    assert!(err.message.contains("all.zip") && err.message.contains("not a readable zip"), "{}", err.message);
    dir.write("db/bad.json", "{ not json");
    let err = offline_db(&project, &dir.0.join("db")).unwrap_err();
    assert!(err.message.contains("bad.json") && err.message.contains("invalid JSON"), "{}", err.message);
    let empty = TempDir::new("emptydb");
    let err = offline_db(&project, &empty.0).unwrap_err();
    assert!(err.message.contains("no OSV JSON files"), "{}", err.message);
}

/// The advisory fixtures zipped by Python's zipfile (one member deflated,
/// the rest stored, in a folder as osv.dev's export has none) give the same
/// findings as the directory.
#[test]
fn a_zipped_advisory_database_matches_like_the_directory() {
    let dir = TempDir::new("zipped");
    let zip = dir.0.join("all.zip");
    let script = r#"
import sys, zipfile, pathlib
src, out = pathlib.Path(sys.argv[1]), sys.argv[2]
with zipfile.ZipFile(out, "w") as z:
    for i, f in enumerate(sorted(src.rglob("*.json"))):
        method = zipfile.ZIP_DEFLATED if i % 2 == 0 else zipfile.ZIP_STORED
        z.write(f, "PyPI/" + f.name, compress_type=method)
    z.writestr("README.txt", "not an advisory")
"#;
    let status = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(fixture("advisories"))
        .arg(&zip)
        .status()
        .unwrap();
    assert!(status.success());
    let from_zip = vuln_rows(&offline_db(&fixture("project"), &zip).unwrap());
    let from_dir = vuln_rows(&offline_db(&fixture("project"), &fixture("advisories")).unwrap());
    assert_eq!(from_zip, from_dir);
    assert_eq!(from_zip.len(), 4);
}

#[test]
fn offline_without_a_database_is_skipped() {
    let rt = runtime();
    let settings = Settings { offline: true, ..Settings::default() };
    let err = call(&rt, &collector(&fixture("project"), &settings, "http://127.0.0.1:9"), "vulnerabilities", vec![])
        .unwrap_err();
    assert!(err.skipped);
    assert_eq!(err.message, "not collected: --offline and no --advisory-db");
}

// ---------------------------------------------------------------- vulnerabilities: the OSV API

/// A request the fake OSV server received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    body: String,
}

type Handler = Arc<dyn Fn(&Received) -> (u16, String) + Send + Sync>;

/// An HTTP/1.1 server on 127.0.0.1:0 answering with `handler`; returns its
/// base URL and the log of requests.
fn fake_server(rt: &tokio::runtime::Runtime, handler: Handler) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let server_log = log.clone();
    rt.spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let handler = handler.clone();
            let log = server_log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let header_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    let n = socket.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                };
                let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .map_or(0, |v| v.parse().unwrap());
                while buf.len() < header_end + length {
                    let n = socket.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let mut words = head.split_whitespace();
                let request = Received {
                    method: words.next().unwrap_or_default().to_string(),
                    path: words.next().unwrap_or_default().to_string(),
                    body: String::from_utf8_lossy(&buf[header_end..]).to_string(),
                };
                log.lock().unwrap().push(request.clone());
                let (status, body) = handler(&request);
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, log)
}

fn online(rt: &tokio::runtime::Runtime, target: &Path, url: &str) -> Result<Value, FactError> {
    call(rt, &collector(target, &Settings::default(), url), "vulnerabilities", vec![])
}

/// Answers querybatch from a table of (package, version, page token) →
/// (ids, next token), and vulns from the fixture directory (plus one made
/// up here).
fn osv_handler() -> Handler {
    Arc::new(|r: &Received| {
        if r.method == "POST" && r.path == "/v1/querybatch" {
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            let results: Vec<serde_json::Value> = body["queries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| {
                    assert_eq!(q["package"]["ecosystem"], "PyPI");
                    let key = (
                        q["package"]["name"].as_str().unwrap(),
                        q["version"].as_str().unwrap(),
                        q.get("page_token").and_then(|t| t.as_str()),
                    );
                    match key {
                        ("requests", "2.30.0", None) => serde_json::json!({"vulns": [{"id": "MLPOL-TEST-0001", "modified": "2024-01-01T00:00:00Z"}]}),
                        ("django", "4.2.0", None) => serde_json::json!({"vulns": [{"id": "MLPOL-TEST-0006"}], "next_page_token": "page-2"}),
                        ("django", "4.2.0", Some("page-2")) => serde_json::json!({"vulns": [{"id": "MLPOL-TEST-0007"}]}),
                        _ => serde_json::json!({}),
                    }
                })
                .collect();
            return (200, serde_json::json!({ "results": results }).to_string());
        }
        if let Some(id) = r.path.strip_prefix("/v1/vulns/") {
            if id == "MLPOL-TEST-0007" {
                let record = serde_json::json!({
                    "id": id, "modified": "2024-01-01T00:00:00Z", "summary": "Second page advisory",
                    "affected": [{"package": {"ecosystem": "PyPI", "name": "Django"},
                                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.2.2"}]}]}],
                    "database_specific": {"severity": "HIGH"}
                });
                return (200, record.to_string());
            }
            let file = std::fs::read_dir(fixture("advisories/PyPI"))
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.file_stem().and_then(|s| s.to_str()) == Some(id));
            return match file {
                Some(f) => (200, std::fs::read_to_string(f).unwrap()),
                None => (404, r#"{"code": 5, "message": "Bug not found."}"#.to_string()),
            };
        }
        (404, "{}".to_string())
    })
}

#[test]
fn osv_api_is_queried_in_batches_and_pages() {
    let rt = runtime();
    let (url, log) = fake_server(&rt, osv_handler());
    let found = online(&rt, &fixture("project"), &url).unwrap();
    let rows = vuln_rows(&found);
    let expected = [
        r#"uv.lock:13 requests 2.30.0 MLPOL-TEST-0001 fixed=["2.31.0"] severity=MODERATE"#,
        r#"requirements.txt:3 django 4.2.0 MLPOL-TEST-0006 fixed=["4.1.9", "4.2.1"] severity=null"#,
        r#"requirements.txt:3 django 4.2.0 MLPOL-TEST-0007 fixed=["4.2.2"] severity=HIGH"#,
    ];
    assert_eq!(rows, expected, "\n{}", rows.join("\n"));
    let log = log.lock().unwrap().clone();
    let batches: Vec<serde_json::Value> =
        log.iter().filter(|r| r.path == "/v1/querybatch").map(|r| serde_json::from_str(&r.body).unwrap()).collect();
    assert_eq!(batches.len(), 2, "one batch, then one page follow-up");
    assert_eq!(batches[0]["queries"].as_array().unwrap().len(), 8, "every distinct locked (name, version)");
    assert_eq!(
        batches[1]["queries"],
        serde_json::json!([{"package": {"name": "django", "ecosystem": "PyPI"}, "version": "4.2.0", "page_token": "page-2"}])
    );
    let mut fetched: Vec<&str> = log.iter().filter_map(|r| r.path.strip_prefix("/v1/vulns/")).collect();
    fetched.sort_unstable();
    assert_eq!(fetched, vec!["MLPOL-TEST-0001", "MLPOL-TEST-0006", "MLPOL-TEST-0007"]);
}

#[test]
fn osv_batches_hold_at_most_1000_queries() {
    let target = TempDir::new("many");
    let pins: String = (0..1001).map(|i| format!("pkg{i}==1.0\n")).collect();
    target.write("requirements.txt", &pins);
    let rt = runtime();
    let (url, log) = fake_server(&rt, osv_handler());
    let found = online(&rt, &target.0, &url).unwrap();
    assert!(items(&found).is_empty());
    let sizes: Vec<usize> = log
        .lock()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["queries"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![1000, 1]);
}

#[test]
fn unreachable_osv_is_an_error_not_an_empty_list() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let rt = runtime();
    let err = online(&rt, &fixture("project"), &format!("http://127.0.0.1:{port}")).unwrap_err();
    assert!(err.message.starts_with("OSV unreachable: "), "{}", err.message);
    assert!(err.message.contains(&format!("127.0.0.1:{port}/v1/querybatch")), "{}", err.message);
    assert!(!err.skipped);
}

#[test]
fn osv_server_errors_are_errors() {
    let rt = runtime();
    let (url, _) = fake_server(&rt, Arc::new(|_: &Received| (500, "{}".to_string())));
    let err = online(&rt, &fixture("project"), &url).unwrap_err();
    assert!(err.message.contains("500"), "{}", err.message);

    // A detail that is missing.
    let (url, _) = fake_server(
        &rt,
        Arc::new(|r: &Received| {
            if r.path == "/v1/querybatch" {
                let n =
                    serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["queries"].as_array().unwrap().len();
                let results: Vec<serde_json::Value> =
                    (0..n).map(|_| serde_json::json!({"vulns": [{"id": "GHSA-none-none-none"}]})).collect();
                (200, serde_json::json!({ "results": results }).to_string())
            } else {
                (404, "{}".to_string())
            }
        }),
    );
    let err = online(&rt, &fixture("project"), &url).unwrap_err();
    assert!(err.message.contains("GHSA-none-none-none") && err.message.contains("404"), "{}", err.message);

    // Fewer results than queries.
    let (url, _) = fake_server(&rt, Arc::new(|_: &Received| (200, r#"{"results": []}"#.to_string())));
    let err = online(&rt, &fixture("project"), &url).unwrap_err();
    assert!(err.message.contains("0 results for 8 queries"), "{}", err.message);
}

#[test]
fn nothing_pinned_needs_no_advisory_source() {
    let target = TempDir::new("unpinned");
    target.write("requirements.txt", "flask>=3\n");
    let rt = runtime();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let found = online(&rt, &target.0, &format!("http://127.0.0.1:{port}")).unwrap();
    assert!(items(&found).is_empty());
}
