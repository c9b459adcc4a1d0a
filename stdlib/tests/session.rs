//! Sessions: plan → collect → evaluate in rounds, incremental re-evaluation
//! after a file changes, fail-closed collectors, timeouts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use mlpol_lang::eval::{FactCall, FactError, Status};
use mlpol_lang::value::{Params, Value};
use mlpol_stdlib::collect::{Collector, Collectors, FactFuture, FileCollector, MemoryCollector};
use mlpol_stdlib::files::Repo;
use mlpol_stdlib::program::Program;
use mlpol_stdlib::schema::schema;
use mlpol_stdlib::session::Session;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn temp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("session-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const POLICIES: &str = r#"
check t.compose {
  title = "Container Isolation"
  section = ["S"]
  severity = medium
  for f in files.glob("*.yml") {
    let d = doc.yaml(f)
    for name, svc in d["services"] ?? {} {
      require svc["mem_limit"] != null else at svc: "{name} has no memory limit"
    }
  }
}
check t.readme {
  title = "Response Plan"
  section = ["S"]
  severity = low
  require files.exists("README.md") else "no README"
}
check t.models {
  title = "Model Protection"
  section = ["S"]
  severity = low
  require all f in files.glob("*.pkl"): f.size < 1MiB
}
"#;

fn live(dir: &Path) -> (Session, Arc<Repo>) {
    let mut program = Program::new(vec![("p.mlpol".to_string(), POLICIES.to_string())], false);
    assert!(!program.has_errors(), "{:#?}", program.diagnostics());
    program.db.enable_log();
    let repo = Arc::new(Repo::new(dir));
    let collectors = Collectors::new(Arc::new(schema()), vec![Arc::new(FileCollector::new(repo.clone()))]);
    (Session::live(program, Params::new(), collectors).unwrap(), repo)
}

fn status(results: &[mlpol_lang::eval::CheckResult], id: &str) -> Status {
    results.iter().find(|r| r.meta.id == id).unwrap().status
}

#[test]
fn facts_are_discovered_in_rounds_and_collected_together() {
    let dir = temp("rounds");
    for i in 0..5 {
        std::fs::write(dir.join(format!("c{i}.yml")), "services:\n  web:\n    image: x\n").unwrap();
    }
    let (mut session, _) = live(&dir);
    let mut batches = Vec::new();
    let results = session.evaluate(None, &mut |done, total| {
        if done == total {
            batches.push(total)
        }
    });
    assert_eq!(status(&results, "t.compose"), Status::Fail);
    assert_eq!(results.iter().find(|r| r.meta.id == "t.compose").unwrap().findings.len(), 5);
    // Round 1 finds the globs and `exists`; round 2 all five documents at once.
    assert_eq!(batches, vec![3, 5]);
    assert_eq!(session.rounds, 3);
}

#[test]
fn after_a_file_changes_only_the_checks_that_read_it_are_evaluated_again() {
    let dir = temp("incremental");
    std::fs::write(dir.join("compose.yml"), "services:\n  web:\n    image: x\n").unwrap();
    std::fs::write(dir.join("README.md"), "# hi\n").unwrap();
    let (mut session, repo) = live(&dir);
    let first = session.evaluate(None, &mut |_, _| {});
    assert_eq!(status(&first, "t.compose"), Status::Fail);
    let evaluated = |session: &Session| -> Vec<String> {
        let mut l: Vec<String> = session.program.db.take_log().into_iter().filter(|l| l.starts_with("eval ")).collect();
        l.sort();
        l.dedup();
        l
    };
    assert_eq!(evaluated(&session).len(), 3);

    std::fs::write(dir.join("compose.yml"), "services:\n  web:\n    image: x\n    mem_limit: 1g\n").unwrap();
    let changes = repo.refresh_paths(&["compose.yml".to_string()]);
    assert!(!changes.full, "an edited file is applied to the walk alone");
    let changed = session.recollect(&changes);
    assert_eq!(changed, 2, "the glob (size changed) and the document");
    let second = session.evaluate(None, &mut |_, _| {});
    assert_eq!(status(&second, "t.compose"), Status::Pass);
    assert_eq!(evaluated(&session), vec!["eval t.compose".to_string()]);

    // A file no check reads changes nothing.
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    let changes = repo.refresh_paths(&["notes.txt".to_string()]);
    assert_eq!(session.recollect(&changes), 0);
    session.evaluate(None, &mut |_, _| {});
    assert!(evaluated(&session).is_empty());
}

#[test]
fn a_failing_collector_makes_its_checks_error() {
    let program = Program::new(vec![("p.mlpol".to_string(), POLICIES.to_string())], false);
    let failing = MemoryCollector { namespaces: vec!["files", "doc"], facts: Default::default() };
    let collectors = Collectors::new(Arc::new(schema()), vec![Arc::new(failing)]);
    let mut session = Session::live(program, Params::new(), collectors).unwrap();
    let results = session.evaluate(None, &mut |_, _| {});
    for r in &results {
        assert_eq!(r.status, Status::Error, "{}: {}", r.meta.id, r.message);
        assert!(r.message.contains("no fact"), "{}", r.message);
    }
}

struct Slow;

impl Collector for Slow {
    fn namespaces(&self) -> &[&str] {
        &["files", "doc"]
    }
    fn collect(&self, _call: FactCall) -> FactFuture {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(Value::null())
        })
    }
}

#[test]
fn a_fact_that_takes_too_long_is_an_error_not_a_hang() {
    let program = Program::new(vec![("p.mlpol".to_string(), POLICIES.to_string())], false);
    let mut collectors = Collectors::new(Arc::new(schema()), vec![Arc::new(Slow)]);
    collectors.timeout = Duration::from_millis(100);
    let mut session = Session::live(program, Params::new(), collectors).unwrap();
    let started = std::time::Instant::now();
    let results = session.evaluate(None, &mut |_, _| {});
    assert!(started.elapsed() < Duration::from_secs(5));
    for r in &results {
        assert_eq!(r.status, Status::Error);
        assert!(r.message.contains("timed out after 0.1s"), "{}", r.message);
    }
}

/// Each fact may take 30 s, but the whole phase only 0.3 s: with one job,
/// the running fact and the queued ones all fail when the phase is spent.
#[test]
fn the_collection_phase_is_bounded_as_a_whole() {
    let program = Program::new(vec![("p.mlpol".to_string(), POLICIES.to_string())], false);
    let mut collectors = Collectors::new(Arc::new(schema()), vec![Arc::new(Slow)]);
    collectors.timeout = Duration::from_secs(60);
    collectors.phase_timeout = Duration::from_millis(300);
    collectors.jobs = 1;
    let mut session = Session::live(program, Params::new(), collectors).unwrap();
    let started = std::time::Instant::now();
    let results = session.evaluate(None, &mut |_, _| {});
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(results.len() >= 2);
    for r in &results {
        assert_eq!(r.status, Status::Error);
        assert!(r.message.contains("the collection phase used up its 0.3s"), "{}", r.message);
    }
}

#[test]
fn a_memory_collector_serves_unit_tests() {
    let program = Program::new(vec![("p.mlpol".to_string(), POLICIES.to_string())], false);
    let mut facts = std::collections::BTreeMap::new();
    facts.insert(r#"files.glob("*.yml")"#.to_string(), Ok(Value::list(vec![])));
    facts.insert(r#"files.glob("*.pkl")"#.to_string(), Ok(Value::list(vec![])));
    facts.insert(r#"files.exists("README.md")"#.to_string(), Err(FactError::new("permission denied")));
    let collectors = Collectors::new(
        Arc::new(schema()),
        vec![Arc::new(MemoryCollector { namespaces: vec!["files", "doc"], facts })],
    );
    let mut session = Session::live(program, Params::new(), collectors).unwrap();
    let results = session.evaluate(None, &mut |_, _| {});
    assert_eq!(status(&results, "t.compose"), Status::Pass);
    assert_eq!(status(&results, "t.models"), Status::Pass);
    assert_eq!(status(&results, "t.readme"), Status::Error);
}

#[test]
fn offline_skips_the_checks_that_need_the_network() {
    use mlpol_lang::types::Type;
    let mut s = schema();
    s.namespace("http", "HTTP probes.").function(
        "http",
        "status",
        &[("url", Type::Str)],
        1,
        Type::Int,
        true,
        "The status code.",
    );
    let s = Arc::new(s);
    let policy = "check t.net {\n  title = \"MLFlow Authentication Enabled\"\n  section = [\"S\"]\n  severity = critical\n  require http.status(\"http://127.0.0.1:9/\") == 401\n}\ncheck t.local {\n  title = \"T\"\n  section = [\"S\"]\n  severity = low\n  require files.exists(\"x\") == false\n}\n";
    let program = Program::with_schema(vec![("p.mlpol".to_string(), policy.to_string())], false, s.clone());
    assert!(!program.has_errors(), "{:#?}", program.diagnostics());
    let repo = Arc::new(Repo::new(temp("offline")));
    let network = MemoryCollector { namespaces: vec!["http"], facts: Default::default() };
    let mut collectors = Collectors::new(s, vec![Arc::new(FileCollector::new(repo)), Arc::new(network)]);
    collectors.offline = true;
    let mut session = Session::live(program, Params::new(), collectors).unwrap();
    let results = session.evaluate(None, &mut |_, _| {});
    let net = results.iter().find(|r| r.meta.id == "t.net").unwrap();
    assert_eq!((net.status, net.message.as_str()), (Status::Skip, "not collected: --offline"));
    assert_eq!(status(&results, "t.local"), Status::Pass);
}
