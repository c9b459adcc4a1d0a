//! The file tree collector on real directories and real git repositories:
//! permission bits, ignore files, tracked files, unreadable and hostile
//! entries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use mlpol_lang::eval::FactCall;
use mlpol_lang::value::{Kind, Value};
use mlpol_stdlib::files::Repo;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory outside any git work tree (the build directory is
/// inside this repository's).
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mlpol-tree-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (p, t) in files {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, t).unwrap();
    }
}

fn fact(repo: &Repo, ns: &str, name: &str, args: Vec<Value>) -> Result<Value, mlpol_lang::eval::FactError> {
    repo.fact(&FactCall { namespace: ns.into(), name: name.into(), args })
}

fn glob(repo: &Repo, pattern: &str) -> Vec<Value> {
    match fact(repo, "files", "glob", vec![Value::str(pattern)]).unwrap().kind {
        Kind::List(xs) => xs.to_vec(),
        _ => panic!("not a list"),
    }
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap()
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn permission_bits_kinds_and_links_are_facts() {
    let dir = temp("perms");
    write(&dir, &[("workspace/data.csv", "a,b\n"), ("workspace/run.sh", "#!/bin/sh\n")]);
    std::fs::set_permissions(dir.join("workspace"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::set_permissions(dir.join("workspace/data.csv"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(dir.join("workspace/run.sh"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink("data.csv", dir.join("workspace/link.csv")).unwrap();
    let repo = Repo::new(&dir);
    let ws = fact(&repo, "files", "get", vec![Value::str("workspace")]).unwrap();
    assert_eq!(field(&ws, "mode"), &Value::int(0o750));
    assert_eq!(field(&ws, "kind"), &Value::str("dir"));
    let files = glob(&repo, "workspace/*");
    let modes: Vec<(String, i64)> = files
        .iter()
        .map(|f| {
            (
                field(f, "name").as_str().unwrap().to_string(),
                match field(f, "mode").kind {
                    Kind::Int(n) => n,
                    _ => -1,
                },
            )
        })
        .collect();
    assert_eq!(modes, vec![("data.csv".to_string(), 0o644), ("run.sh".to_string(), 0o700)]);
    let link = fact(&repo, "files", "get", vec![Value::str("workspace/link.csv")]).unwrap();
    assert_eq!((field(&link, "kind"), field(&link, "link")), (&Value::str("symlink"), &Value::str("data.csv")));
}

#[test]
fn ignore_files_follow_git_semantics() {
    let dir = temp("ignores");
    write(
        &dir,
        &[
            (".gitignore", ".env\n.env.*\n!.env.example\n/data/\n*.pkl\n"),
            ("models/.gitignore", "!keep.pkl\n"),
            (".dvcignore", "raw/tmp/\n"),
            (".env", "X=1\n"),
            (".env.example", "X=\n"),
            ("data/train.csv", "x\n"),
            ("models/a.pkl", "x"),
            ("models/keep.pkl", "x"),
            ("raw/tmp/cache.bin", "x"),
            ("src/app.py", "x = 1\n"),
        ],
    );
    let repo = Repo::new(&dir);
    let ignored = |p: &str| fact(&repo, "files", "gitignored", vec![Value::str(p)]).unwrap() == Value::bool(true);
    assert!(ignored(".env"));
    assert!(ignored(".env.production"), "a path that does not exist is answered too");
    assert!(!ignored(".env.example"), "negation");
    assert!(ignored("data/train.csv"), "a file in an ignored directory");
    assert!(ignored("models/a.pkl"));
    assert!(!ignored("models/keep.pkl"), "a deeper .gitignore decides last");
    assert!(!ignored("src/app.py"));
    let dvc = fact(&repo, "files", "dvcignored", vec![Value::str("raw/tmp/cache.bin")]).unwrap();
    assert_eq!(dvc, Value::bool(true));
    let env = glob(&repo, ".env");
    assert_eq!(field(&env[0], "gitignored"), &Value::bool(true));
    assert_eq!(field(&env[0], "tracked"), &Value::null(), "not a git work tree");
}

#[test]
fn tracked_files_come_from_git() {
    let dir = temp("git");
    write(&dir, &[("README.md", "# x\n"), (".env", "X=1\n"), ("notes.txt", "n\n")]);
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "README.md", ".env"]);
    git(&dir, &["commit", "-q", "-m", "init"]);
    let repo = Repo::new(&dir);
    let tracked = |p: &str| field(&glob(&repo, p)[0], "tracked").clone();
    assert_eq!(tracked("README.md"), Value::bool(true));
    assert_eq!(tracked(".env"), Value::bool(true), "committed before it was ignored");
    assert_eq!(tracked("notes.txt"), Value::bool(false));
    assert!(glob(&repo, "**/HEAD").is_empty(), ".git is never listed");
}

#[test]
fn an_unreadable_directory_makes_facts_that_could_look_into_it_errors() {
    let dir = temp("unreadable");
    write(&dir, &[("open/a.yaml", "a: 1\n"), ("closed/b.yaml", "b: 2\n"), ("open/secret.txt", "x\n")]);
    std::fs::set_permissions(dir.join("open/secret.txt"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(dir.join("closed"), std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads everything; ask as an unprivileged user, as CI would see a
    // directory it may not read. The helper binary is this very test, run
    // again by `setpriv` as `nobody`.
    let is_root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    if !is_root {
        check_unreadable(&dir);
    } else {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut p = dir.clone();
        while let Some(parent) = p.parent() {
            // nobody must be able to reach the fixture.
            let _ = Command::new("chmod").arg("o+x").arg(parent).status();
            p = parent.to_path_buf();
        }
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(exe)
            .args(["--exact", "unreadable_helper", "--nocapture", "--test-threads=1"])
            .env("MLPOL_UNREADABLE_DIR", &dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::set_permissions(dir.join("closed"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn unreadable_helper() {
    if let Ok(dir) = std::env::var("MLPOL_UNREADABLE_DIR") {
        check_unreadable(Path::new(&dir));
    }
}

fn check_unreadable(dir: &Path) {
    let repo = Repo::new(dir);
    let err = fact(&repo, "files", "glob", vec![Value::str("**/*.yaml")]).unwrap_err();
    assert!(err.message.contains("cannot list `closed`: permission denied"), "{}", err.message);
    // A glob that cannot reach into it still answers.
    let open = fact(&repo, "files", "glob", vec![Value::str("open/*.yaml")]).unwrap();
    assert!(matches!(open.kind, Kind::List(ref xs) if xs.len() == 1));
    // An unreadable file is an error for whatever reads it, never empty text.
    let text = fact(&repo, "files", "text", vec![Value::str("open/secret.txt")]).unwrap_err();
    assert_eq!(text.message, "cannot read: permission denied");
    let scan = fact(&repo, "secrets", "scan", vec![Value::str("open/*")]).unwrap_err();
    assert_eq!(
        (scan.message.as_str(), scan.origin.unwrap().path.unwrap().as_str()),
        ("cannot read: permission denied", "open/secret.txt")
    );
}

#[test]
fn hostile_entries_are_survived() {
    let dir = temp("hostile");
    write(&dir, &[("ok.yaml", "a: 1\n")]);
    // A symlink loop, a FIFO, a sparse 2 GB file, a name that is not UTF-8,
    // a deep directory chain, NUL bytes.
    std::os::unix::fs::symlink("loop", dir.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("up")).unwrap();
    let _ = Command::new("mkfifo").arg(dir.join("fifo")).status();
    let sparse = std::fs::File::create(dir.join("sparse.bin")).unwrap();
    sparse.set_len(2 << 30).unwrap();
    use std::os::unix::ffi::OsStrExt;
    std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"bad-\xff-name.yaml")), "x: 1\n").unwrap();
    let mut deep = dir.clone();
    for _ in 0..200 {
        deep = deep.join("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("deep.yaml"), "d: 1\n").unwrap();
    std::fs::write(dir.join("nul.yaml"), b"a: \0\n").unwrap();
    let started = std::time::Instant::now();
    let repo = Repo::new(&dir);
    let all = glob(&repo, "**/*");
    assert!(started.elapsed().as_secs() < 10);
    let names: Vec<String> = all.iter().map(|f| field(f, "path").as_str().unwrap().to_string()).collect();
    assert!(names.iter().any(|n| n.ends_with("deep.yaml")));
    assert!(names.iter().any(|n| n.starts_with("bad-") && n.contains('\u{FFFD}')), "{names:?}");
    let fifo = fact(&repo, "files", "get", vec![Value::str("fifo")]).unwrap();
    assert_eq!(field(&fifo, "kind"), &Value::str("other"));
    let read = |p: &str| fact(&repo, "files", "text", vec![Value::str(p)]).unwrap_err().message;
    assert_eq!(read("fifo"), "not a regular file");
    assert_eq!(read("sparse.bin"), "file is larger than 8 MiB");
    assert_eq!(read("nul.yaml"), "binary file");
    assert_eq!(read("loop"), "cannot read: filesystem loop or too many symbolic links");
}

/// The facts over a tree that watch mode keeps up to date, by key.
fn tree_facts() -> Vec<FactCall> {
    let call = |ns: &str, name: &str, args: Vec<Value>| FactCall { namespace: ns.into(), name: name.into(), args };
    vec![
        call("files", "glob", vec![Value::str("**/*")]),
        call("files", "glob", vec![Value::str("*.yml")]),
        call("files", "glob", vec![Value::str("conf/**")]),
        call("files", "dirs", vec![Value::str("**")]),
        call("files", "grep", vec![Value::new(Kind::Regex("image: (\\w+)".into())), Value::str("**/*.yml")]),
        call("files", "grep", vec![Value::new(Kind::Regex("TODO".into())), Value::str("**/*")]),
        call("secrets", "scan", vec![Value::str("**/*")]),
        call("files", "exists", vec![Value::str("conf/app.yml")]),
        call("files", "exists", vec![Value::str("new/deep/x.yml")]),
        call("files", "get", vec![Value::str("compose.yml")]),
        call("files", "gitignored", vec![Value::str("local.env")]),
        call("files", "text", vec![Value::str("compose.yml")]),
        call("doc", "yaml", vec![Value::str("conf/app.yml")]),
    ]
}

#[test]
fn changed_paths_applied_to_the_walk_give_what_a_new_walk_gives() {
    let dir = temp("refresh");
    write(
        &dir,
        &[
            ("compose.yml", "services:\n  web:\n    image: nginx\n"),
            ("conf/app.yml", "debug: true\n"),
            ("conf/notes.md", "# notes\n"),
            (".venv/lib/site.py", "x = 1\n"),
            (".gitignore", "*.tmp\n"),
        ],
    );
    let key = "AKIA".to_string() + "Z7QX4M2N8R5T3W6Y";
    let repo = Repo::new(&dir);
    let facts = tree_facts();
    let values = |repo: &Repo| -> Vec<String> {
        facts.iter().map(|c| format!("{:?}", repo.fact(c).map_err(|e| e.message))).collect()
    };
    let mut before = values(&repo);
    // (what is done, the paths a watcher reports, whether one path at a time is enough)
    type Step<'a> = (&'a str, Box<dyn Fn(&Path)>, Vec<&'a str>, bool);
    let k = key.clone();
    let steps: Vec<Step> = vec![
        (
            "edit a file",
            Box::new(|d| std::fs::write(d.join("compose.yml"), "services:\n  db:\n    image: pg\n").unwrap()),
            vec!["compose.yml"],
            false,
        ),
        (
            "plant a secret",
            Box::new(move |d| std::fs::write(d.join("conf/app.yml"), format!("key: {k}\nTODO: x\n")).unwrap()),
            vec!["conf/app.yml"],
            false,
        ),
        (
            "new file in a known directory",
            Box::new(|d| std::fs::write(d.join("conf/extra.yml"), "image: redis\n").unwrap()),
            vec!["conf/extra.yml"],
            false,
        ),
        (
            "chmod",
            Box::new(|d| {
                std::fs::set_permissions(d.join("conf/extra.yml"), std::fs::Permissions::from_mode(0o600)).unwrap()
            }),
            vec!["conf/extra.yml"],
            false,
        ),
        (
            "remove a file",
            Box::new(|d| std::fs::remove_file(d.join("conf/notes.md")).unwrap()),
            vec!["conf/notes.md"],
            false,
        ),
        (
            "a symbolic link",
            Box::new(|d| std::os::unix::fs::symlink("compose.yml", d.join("link.yml")).unwrap()),
            vec!["link.yml"],
            false,
        ),
        (
            "churn in a skipped directory",
            Box::new(|d| std::fs::write(d.join(".venv/lib/other.py"), "TODO\n").unwrap()),
            vec![".venv/lib/other.py"],
            false,
        ),
        (
            "a new directory",
            Box::new(|d| write(d, &[("new/deep/x.yml", "image: a\n")])),
            vec!["new", "new/deep", "new/deep/x.yml"],
            true,
        ),
        (
            "an ignore file changes",
            Box::new(|d| std::fs::write(d.join(".gitignore"), "*.env\n").unwrap()),
            vec![".gitignore"],
            true,
        ),
        (
            "a directory goes",
            Box::new(|d| std::fs::remove_dir_all(d.join("new")).unwrap()),
            vec!["new/deep/x.yml", "new/deep", "new"],
            true,
        ),
        (
            "a file becomes a directory",
            Box::new(|d| {
                std::fs::remove_file(d.join("link.yml")).unwrap();
                write(d, &[("link.yml/a", "b\n")])
            }),
            vec!["link.yml", "link.yml/a"],
            true,
        ),
    ];
    for (what, change, paths, full) in steps {
        change(&dir);
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        let changes = repo.refresh_paths(&paths);
        assert_eq!(changes.full, full, "{what}: a full refresh?");
        let affected: Vec<bool> = facts.iter().map(|c| repo.affected(c, &changes)).collect();
        let after = values(&repo);
        assert_eq!(after, values(&Repo::new(&dir)), "{what}: the refreshed walk differs from a new one");
        // Every fact whose value changed is one `affected` named.
        for (((call, b), a), affected) in facts.iter().zip(&before).zip(&after).zip(&affected) {
            if a != b {
                assert!(affected, "{what}: `{}` changed but is not affected", call.key());
            }
        }
        before = after;
    }
    // Skipped directories stay out of listings, patched or not.
    for call in &facts[..4] {
        let listed = format!("{:?}", repo.fact(call).unwrap());
        assert!(!listed.contains(".venv"), "{}: {listed}", call.key());
    }
    // An edit affects only the facts whose value it changes: the globs that
    // list the file (its size changed) and the grep whose matches changed,
    // not the grep or secret scan that find nothing new in it.
    std::fs::write(dir.join("conf/extra.yml"), "image: redis\nimage: b\n").unwrap();
    let changes = repo.refresh_paths(&["conf/extra.yml".to_string()]);
    let affected: Vec<String> = facts.iter().filter(|c| repo.affected(c, &changes)).map(FactCall::key).collect();
    assert_eq!(
        affected,
        [
            r#"files.glob("**/*")"#,
            r#"files.glob("*.yml")"#,
            r#"files.glob("conf/**")"#,
            r#"files.grep(re"image: (\\w+)", "**/*.yml")"#,
        ]
    );
}

#[test]
fn a_name_that_is_not_utf8_does_not_hide_its_neighbours() {
    // The walk orders a directory by the bytes of its names; `\xc0` sorts
    // before `é` (`\xc3\xa9`), while its lossy form (U+FFFD) sorts after.
    use std::os::unix::ffi::OsStrExt;
    let dir = temp("lossy");
    write(&dir, &[("aa.yml", "a: 1\n"), ("ab.yml", "a: 1\n"), ("aé.yml", "a: 1\n"), ("b.yml", "b: 1\n")]);
    std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"a\xc0.yml")), "c: 1\n").unwrap();
    let repo = Repo::new(&dir);
    for p in ["aa.yml", "ab.yml", "aé.yml", "b.yml"] {
        assert_eq!(fact(&repo, "files", "exists", vec![Value::str(p)]).unwrap(), Value::bool(true), "{p}");
        let got = fact(&repo, "files", "get", vec![Value::str(p)]).unwrap();
        assert_eq!(field(&got, "path"), &Value::str(p));
    }
    // An edit next to such a name is applied by a new walk, and seen.
    std::fs::write(dir.join("aé.yml"), "a: 22\n").unwrap();
    let changes = repo.refresh_paths(&["aé.yml".to_string()]);
    assert!(changes.full, "a tree with a name that is not UTF-8 is walked again");
    let got = fact(&repo, "files", "get", vec![Value::str("aé.yml")]).unwrap();
    assert_eq!(field(&got, "size"), &Value::new(Kind::Size(6)));
}
