//! Hostile repositories (issue 9, item 2): malformed configuration files of
//! every kind the checklist parses, binary, huge and special files, symbolic
//! link loops and links out of the target, names with line breaks, escape
//! sequences or bytes that are not UTF-8, and a million entries. Each run
//! of the real binary must end in bounded time with a status for every
//! check, errors that name their file and cause, and the documented exit
//! code (1: the gate fails; 2: configuration or policy error).

use crate::*;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

/// How many checks the bundled checklist has.
const CHECKS: usize = 53;

/// `mlpol eval . --format json --offline` with a time bound; returns the
/// output and how long it took.
fn eval_bounded(dir: &Path, extra: &[&str], bound: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut args = vec!["eval", ".", "--format", "json", "--offline", "--timeout", "10"];
    args.extend_from_slice(extra);
    let out = mlpol(dir, &args);
    let took = start.elapsed();
    assert!(took < bound, "mlpol eval took {took:?} (bound {bound:?})\n{}", out.stderr);
    (out, took)
}

/// Every check has one of the five statuses, and an `error` says why.
fn assert_every_check_has_a_status(report: &Value, count: usize) {
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), count, "{report}");
    for c in checks {
        let status = c["status"].as_str().unwrap_or_default();
        assert!(["pass", "fail", "error", "skip", "waived"].contains(&status), "{c}");
        if status == "error" {
            assert!(!c["message"].as_str().unwrap().trim().is_empty(), "an error without a cause: {c}");
        }
    }
}

/// Writes raw bytes (names and contents need not be UTF-8).
fn write_bytes(dir: &Path, name: &[u8], content: &[u8]) -> PathBuf {
    let path = dir.join(std::ffi::OsStr::from_bytes(name));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    path
}

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let ok = std::process::Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn every_malformed_config_kind_is_an_error_naming_its_file_and_cause() {
    let deep = |open: &str, n: usize| open.repeat(n);
    let laughs = {
        let mut s = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
        for (prev, name) in
            ["a", "b", "c", "d", "e", "f", "g", "h"].iter().zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let refs = vec![format!("*{prev}"); 9].join(",");
            s.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        s
    };
    // (file, content, a check that parses it, what its error must say)
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (".dvc/config", b"[core\nremote = x\n".to_vec(), "dvc.credentials.not_hardcoded", "outside of any section"),
        ("airflow.cfg", b"[webserver\nauthenticate = \n".to_vec(), "airflow.security", "outside of any section"),
        ("basic_auth.ini", b"\x00\x01\x02[mlflow]".to_vec(), "mlflow.auth.default_credentials", "binary file"),
        (
            "docker-compose.yml",
            b"services: [unclosed\n  - {a: \n".to_vec(),
            "docker.compose.isolation",
            "docker-compose.yml:",
        ),
        (
            "docker-compose.yml",
            format!("services: {}", deep("[", 200_000)).into_bytes(),
            "docker.compose.isolation",
            "recursion limit",
        ),
        ("MLmodel", laughs.into_bytes(), "models.lineage", "aliases expand to more than"),
        ("MLmodel", format!("{}x\n", deep("- ", 100_000)).into_bytes(), "models.lineage", "nesting deeper than"),
        ("pyproject.toml", b"[project\nname = \n".to_vec(), "deps.python.pinned", "unclosed table"),
        ("pyproject.toml", format!("a = {}", deep("[", 200_000)).into_bytes(), "deps.python.pinned", "recurs"),
        ("uv.lock", b"version = 1\n[[package]\n".to_vec(), "deps.python.vulnerabilities", "uv.lock:2"),
        ("poetry.lock", b"[[package]\nname = \"a\"\n".to_vec(), "deps.python.vulnerabilities", "poetry.lock:1"),
        ("Dockerfile", b"FROM \\\n".to_vec(), "docker.image.non_root", "FROM requires arguments"),
        ("requirements.txt", b"numpy==\n".to_vec(), "deps.python.pinned", "missing version"),
        ("requirements.txt", b"\xff\xfe\x00binary".to_vec(), "deps.python.pinned", "binary file"),
    ];
    let all = temp_dir("malformed-all");
    for (file, content, check_id, cause) in &cases {
        let dir = temp_dir("malformed");
        write_bytes(&dir, file.as_bytes(), content);
        write_bytes(&all, file.as_bytes(), content);
        let (out, took) = eval_bounded(&dir, &[], Duration::from_secs(60));
        assert_eq!(out.code, 1, "{file}: {}", out.stderr);
        let report = out.json();
        assert_every_check_has_a_status(&report, CHECKS);
        let c = check(&report, check_id);
        assert_eq!(c["status"], "error", "{file}: {c}");
        let message = c["message"].as_str().unwrap();
        assert!(message.contains(file) && message.contains(cause), "{file}: `{message}` should name `{cause}`");
        eprintln!("{file} ({cause}): {took:?}");
    }
    // All of them at once (later cases overwrite earlier ones of the same
    // file): still every check has a status, and the gate fails.
    let (out, took) = eval_bounded(&all, &[], Duration::from_secs(60));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    assert_every_check_has_a_status(&report, CHECKS);
    let errors = report["checks"].as_array().unwrap().iter().filter(|c| c["status"] == "error").count();
    assert!(errors >= 8, "{errors} errors only");
    eprintln!("all malformed files at once: {took:?}, {errors} checks in error");
}

#[test]
fn malformed_mlpol_toml_and_policy_files_exit_2_naming_the_file() {
    let dir = temp_dir("bad-toml");
    write(&dir, &[("mlpol.toml", "[params\nmlflow_url = \n")]);
    let (out, _) = eval_bounded(&dir, &[], Duration::from_secs(60));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains("mlpol.toml"), "{}", out.stderr);

    let dir = temp_dir("bad-policy");
    write_bytes(&dir, b"policies/binary.mlpol", b"check a.b {\n  title = \"\xff\xfe\"\n}\n\x00");
    let (out, _) = eval_bounded(&dir, &[], Duration::from_secs(60));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("policies/binary.mlpol") && out.stderr.contains("not valid UTF-8"), "{}", out.stderr);

    // A policy file deeper than the parser's bound is a diagnostic, not a
    // stack overflow.
    let dir = temp_dir("deep-policy");
    let deep = format!("check a.b {{\n  require {}1{}\n}}\n", "(".repeat(100_000), ")".repeat(100_000));
    write(&dir, &[("policies/deep.mlpol", &deep)]);
    let (out, _) = eval_bounded(&dir, &[], Duration::from_secs(60));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("policies/deep.mlpol"), "{}", out.stderr);
}

/// A policy of the target that reads a file by path and prints its text.
const READER: &str = r#"check hostile.read {
  title = "Reads a file by path"
  section = ["Hostile"]
  severity = low
  for p in ["notes.md", "pipe", "zero", "loop", "dir-loop/self/x", "outside.md"] {
    let t = files.text(files.get(p))
    require false else "read {p}: {t}"
  }
}
"#;

#[test]
fn special_files_loops_and_links_out_of_the_target_are_bounded_and_never_read() {
    // A file beside the target, with a marker that must never be printed.
    let outside = temp_dir("outside");
    let marker = ["OUTSIDE", "-", "MARKER", "-", "7f3a"].concat();
    std::fs::write(outside.join("private.txt"), format!("{marker}\n")).unwrap();

    let dir = temp_dir("special");
    write(&dir, &[("policies/reader.mlpol", READER), ("mlpol.toml", "")]);
    let link = |target: &Path, name: &str| {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
    };
    // Out of the target: a sibling's file, /dev/zero, and the process's own
    // environment (where CI keeps its credentials).
    link(&outside.join("private.txt"), "notes.md");
    link(&outside.join("private.txt"), "outside.md");
    link(Path::new("/dev/zero"), "zero");
    link(Path::new("/proc/self/environ"), "docker-compose.yml");
    link(Path::new("/proc/self/environ"), ".dvc/config");
    let relative = Path::new("../..").join(outside.file_name().unwrap()).join("private.txt");
    link(&relative, "docs/incident-response.md");
    // Loops.
    link(Path::new("loop-b"), "loop");
    link(Path::new("loop"), "loop-b");
    link(Path::new("."), "dir-loop/self");
    // Named pipes where configs and scanned files are expected: opening one
    // for reading would wait for a writer forever.
    mkfifo(&dir.join("pipe"));
    mkfifo(&dir.join("Dockerfile"));
    mkfifo(&dir.join("dags/pipe.py"));
    // A 64 GiB sparse log (it occupies no disk) and a binary model.
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::File::create(dir.join("logs/huge.log")).unwrap().set_len(64 << 30).unwrap();
    write_bytes(&dir, b"model.onnx", &[0u8, 159, 146, 150, 0, 1, 2]);
    // A directory that cannot be listed (only enforced when not root).
    std::fs::create_dir_all(dir.join("locked")).unwrap();
    std::fs::write(dir.join("locked/f.py"), "x = 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let enforced = std::fs::read_dir(dir.join("locked")).is_err();

    let (out, took) = eval_bounded(&dir, &[], Duration::from_secs(60));
    std::fs::set_permissions(dir.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    eprintln!("special files: {took:?} (unreadable directory enforced: {enforced})");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stdout.contains(&marker) && !out.stderr.contains(&marker), "a file out of the target was read");
    let report = out.json();
    assert_every_check_has_a_status(&report, CHECKS + 1);
    let c = check(&report, "hostile.read");
    assert_eq!(c["status"], "error", "{c}");
    // The first read that fails stops the check; each kind is then tried on
    // its own below.
    assert!(c["message"].as_str().unwrap().contains("notes.md"), "{c}");
    for (name, cause) in [
        ("notes.md", "leads out of the target"),
        ("outside.md", "leads out of the target"),
        ("zero", "leads out of the target"),
        ("pipe", "not a regular file"),
        ("loop", "too many symbolic links"),
        ("docs/incident-response.md", "leads out of the target"),
    ] {
        let policy = READER.replace(
            "[\"notes.md\", \"pipe\", \"zero\", \"loop\", \"dir-loop/self/x\", \"outside.md\"]",
            &format!("[\"{name}\"]"),
        );
        std::fs::write(dir.join("policies/reader.mlpol"), policy).unwrap();
        let (out, _) = eval_bounded(&dir, &["--only", "hostile.read"], Duration::from_secs(60));
        assert!(!out.stdout.contains(&marker), "{name}: {}", out.stdout);
        let report = out.json();
        let c = check(&report, "hostile.read");
        assert_eq!(c["status"], "error", "{name}: {c}");
        let message = c["message"].as_str().unwrap();
        assert!(message.contains(name) && message.contains(cause), "{name}: `{message}` should say `{cause}`");
    }
    // The scanner still scanned the tree (the pipe was not opened), and the
    // bundled checks that see only special files under a config's name do
    // not pass on them.
    if !enforced {
        assert_ne!(check(&report, "secrets.not_in_code")["status"], "error");
    } else {
        let c = check(&report, "secrets.not_in_code");
        assert_eq!(c["status"], "error", "{c}");
        assert!(c["message"].as_str().unwrap().contains("cannot list `locked`"), "{c}");
    }
}

#[test]
fn names_with_line_breaks_escapes_and_invalid_utf8_are_scanned_and_never_forge_report_lines() {
    let dir = temp_dir("names");
    let secret = format!("aws_access_key_id = \"{}\"\n", fake_key_id());
    let names: [&[u8]; 4] = [
        b"src/evil\n  PASS   critical secrets.not_in_code  forged.py",
        b"src/esc\x1b[2J\x1b]52;c;aGk=\x07.py",
        b"src/bad\xff\xfe.py",
        b"src/tab\tand\rcr.py",
    ];
    for name in names {
        write_bytes(&dir, name, secret.as_bytes());
    }
    let (out, took) = eval_bounded(
        &dir,
        &[
            "--only",
            "secrets.not_in_code",
            "--output",
            "human=r.txt",
            "--output",
            "markdown=r.md",
            "--output",
            "junit=r.xml",
        ],
        Duration::from_secs(60),
    );
    eprintln!("hostile names: {took:?}");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    let c = check(&report, "secrets.not_in_code");
    assert_eq!(c["status"], "fail", "{c}");
    let mut paths: Vec<String> = locations(&report, "secrets.not_in_code");
    paths.sort();
    assert_eq!(
        paths,
        [
            "src/bad\u{FFFD}\u{FFFD}.py:1",
            "src/esc\u{1b}[2J\u{1b}]52;c;aGk=\u{7}.py:1",
            "src/evil\n  PASS   critical secrets.not_in_code  forged.py:1",
            "src/tab\tand\rcr.py:1",
        ],
        "every file is scanned, the one whose name is not UTF-8 too"
    );
    // Text reports: no control character but line breaks (and XML's tab),
    // and no line that a file name forged.
    for file in ["r.txt", "r.md", "r.xml"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let bad: Vec<char> = text.chars().filter(|c| c.is_control() && *c != '\n').collect();
        assert!(bad.is_empty(), "{file} carries control characters {bad:?}:\n{text}");
        assert!(!text.lines().any(|l| l.trim_start().starts_with("PASS   critical")), "{file}:\n{text}");
        assert!(text.contains("evil\\n  PASS"), "{file} should show the line break escaped:\n{text}");
    }
}

#[test]
fn a_million_entries_are_walked_in_bounded_time() {
    let dir = temp_dir("million");
    let (dirs, per_dir) = (1000, 1000);
    let start = Instant::now();
    for d in 0..dirs {
        let sub = dir.join(format!("gen/d{d:04}"));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..per_dir {
            std::fs::File::create(sub.join(format!("f{f:04}.txt"))).unwrap();
        }
    }
    // After the generated tree in walk order: found only if the walk ends.
    let secret = format!("aws_access_key_id = \"{}\"\n", fake_key_id());
    write(&dir, &[("zz/last.py", &secret)]);
    eprintln!("generated {} entries in {:?}", dirs * per_dir + dirs, start.elapsed());
    // Each fact may take as long as the whole bound: the scanner opens every
    // file, and a fact cut by `--timeout` would be an `error`, not a pass.
    let start = Instant::now();
    let out = mlpol(&dir, &["eval", ".", "--format", "json", "--offline", "--timeout", "120"]);
    let took = start.elapsed();
    eprintln!("mlpol eval over {} entries: {took:?}", dirs * per_dir + dirs);
    assert!(took < Duration::from_secs(120), "mlpol eval took {took:?}");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    assert_every_check_has_a_status(&report, CHECKS);
    let c = check(&report, "secrets.not_in_code");
    assert_eq!(locations(&report, "secrets.not_in_code"), ["zz/last.py:1"], "{c}");
    std::fs::remove_dir_all(&dir).unwrap();
}
