#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
//! Dockerfiles, pip requirements and Python sources: facts, provenance
//! lines, malformed and hostile input.

use mlpol_lang::value::{Kind, Value};
use mlpol_stdlib::docs::{format_for, parse, parse_dockerfile, parse_python, parse_requirements, DocError, Format};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

mod common;
use common::{at, line, text};

fn int(v: &Value, path: &[&str]) -> i64 {
    match at(v, path).kind {
        Kind::Int(n) => n,
        ref other => panic!("{path:?} is not an int: {other:?}"),
    }
}

fn boolean(v: &Value, path: &[&str]) -> bool {
    match at(v, path).kind {
        Kind::Bool(b) => b,
        ref other => panic!("{path:?} is not a bool: {other:?}"),
    }
}

fn is_null(v: &Value, path: &[&str]) -> bool {
    at(v, path).is_null()
}

fn items<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    match &at(v, path).kind {
        Kind::List(items) => items,
        other => panic!("{path:?} is not a list: {other:?}"),
    }
}

fn strings(v: &Value, path: &[&str]) -> Vec<String> {
    items(v, path).iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

fn keys(v: &Value, path: &[&str]) -> Vec<String> {
    match &at(v, path).kind {
        Kind::Map(entries) => entries.iter().map(|(k, _)| k.clone()).collect(),
        other => panic!("{path:?} is not a map: {other:?}"),
    }
}

/// The elements of the list at `path` whose `field` is `value`.
fn where_eq<'a>(v: &'a Value, path: &[&str], field: &str, value: &str) -> Vec<&'a Value> {
    items(v, path).iter().filter(|x| x.get(field).and_then(Value::as_str) == Some(value)).collect()
}

/// Every value in the tree has the path and a line.
fn assert_all_located(v: &Value, path: &str) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        let origin = v.origin.as_ref().unwrap_or_else(|| panic!("value without origin: {v}"));
        assert_eq!(origin.path.as_deref(), Some(path));
        assert!(origin.line.is_some_and(|l| l >= 1), "value without line: {v}");
        match &v.kind {
            Kind::List(items) => stack.extend(items.iter()),
            Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// Every record with a `line` field is located at that line.
fn assert_records_at_their_lines(v: &Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        if let (Kind::Map(entries), Some(Value { kind: Kind::Int(n), .. })) = (&v.kind, v.get("line")) {
            let want = u32::try_from(*n).unwrap();
            assert_eq!(v.origin.as_ref().unwrap().line, Some(want), "{v}");
            for (k, field) in entries.iter() {
                assert_eq!(field.origin.as_ref().unwrap().line, Some(want), "field {k} of {v}");
            }
        }
        match &v.kind {
            Kind::List(items) => stack.extend(items.iter()),
            Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

fn err(result: Result<Value, DocError>) -> DocError {
    match result {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------- Dockerfile

const DIGEST: &str = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

fn multi_stage() -> String {
    format!(
        r#"# syntax=docker/dockerfile:1.6
# Build stage
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE="1" APP_HOME=/app
ENV LEGACY_MODE enabled with spaces
ARG MODEL_VERSION=2024.05
ARG HF_TOKEN
USER root
RUN apt-get update \
    # a comment inside the continuation
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
ADD https://example.com/models/weights.bin /models/weights.bin
ADD --checksum=sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d https://example.com/tokenizer.tar.gz /opt/
COPY requirements.txt .
RUN <<EOF
pip install -r requirements.txt
FROM this-is-heredoc-text
EOF

FROM build AS test
RUN ["python", "-m", "pytest"]

FROM gcr.io/distroless/python3@{DIGEST}
COPY --from=build /app /app
USER 1000
EXPOSE 8080/tcp 9090
HEALTHCHECK --interval=30s --timeout=3s \
  CMD ["python", "/app/health.py"]
ENTRYPOINT ["python", "/app/serve.py"]
"#
    )
}

#[test]
fn dockerfile_multi_stage() {
    let src = multi_stage();
    let v = parse_dockerfile("Dockerfile", &src).unwrap();
    assert_all_located(&v, "Dockerfile");
    assert_records_at_their_lines(&v);
    assert_eq!(
        keys(&v, &[]),
        ["directives", "instructions", "stages", "user", "users", "add_urls", "env", "healthcheck", "exposed"]
    );
    assert_eq!(text(&v, &["directives", "syntax"]), "docker/dockerfile:1.6");
    assert_eq!(line(&v, &["directives", "syntax"]), 1);
    assert_eq!(text(&v, &["directives", "escape"]), "\\");

    // Stages.
    assert_eq!(items(&v, &["stages"]).len(), 3);
    let s0 = at(&v, &["stages", "0"]);
    assert_eq!(text(s0, &["image"]), "python");
    assert_eq!(text(s0, &["tag"]), "3.11-slim");
    assert!(is_null(s0, &["digest"]));
    assert!(is_null(s0, &["registry"]));
    assert_eq!(text(s0, &["alias"]), "build");
    assert!(is_null(s0, &["platform"]));
    assert!(!boolean(s0, &["stage"]));
    assert_eq!(int(s0, &["line"]), 3);
    assert_eq!(line(s0, &["tag"]), 3);

    let s1 = at(&v, &["stages", "1"]);
    assert_eq!(text(s1, &["image"]), "build");
    assert!(boolean(s1, &["stage"]));
    assert!(is_null(s1, &["tag"]));
    assert_eq!(text(s1, &["alias"]), "test");
    assert_eq!(int(s1, &["line"]), 22);

    let s2 = at(&v, &["stages", "2"]);
    assert_eq!(text(s2, &["image"]), "gcr.io/distroless/python3");
    assert_eq!(text(s2, &["registry"]), "gcr.io");
    assert_eq!(text(s2, &["repository"]), "distroless/python3");
    assert!(is_null(s2, &["tag"]));
    assert_eq!(text(s2, &["digest"]), DIGEST);
    assert!(is_null(s2, &["alias"]));
    assert!(!boolean(s2, &["stage"]));
    assert_eq!(line(s2, &["digest"]), 25);

    // Users: the final stage's is 1000.
    assert_eq!(text(&v, &["user"]), "1000");
    assert_eq!(line(&v, &["user"]), 27);
    assert_eq!(items(&v, &["users"]).len(), 2);
    assert_eq!(text(&v, &["users", "0", "user"]), "root");
    assert_eq!(int(&v, &["users", "0", "line"]), 9);
    assert_eq!(int(&v, &["users", "0", "stage"]), 0);
    assert_eq!(text(&v, &["users", "1", "user"]), "1000");
    assert_eq!(int(&v, &["users", "1", "stage"]), 2);

    // ADD from URLs.
    assert_eq!(items(&v, &["add_urls"]).len(), 2);
    assert_eq!(text(&v, &["add_urls", "0", "url"]), "https://example.com/models/weights.bin");
    assert_eq!(text(&v, &["add_urls", "0", "dest"]), "/models/weights.bin");
    assert!(is_null(&v, &["add_urls", "0", "checksum"]));
    assert_eq!(line(&v, &["add_urls", "0"]), 14);
    assert_eq!(text(&v, &["add_urls", "1", "url"]), "https://example.com/tokenizer.tar.gz");
    assert!(text(&v, &["add_urls", "1", "checksum"]).starts_with("sha256:3e23"));
    assert_eq!(int(&v, &["add_urls", "1", "line"]), 15);

    // ENV (both forms) and ARG.
    assert_eq!(
        keys(&v, &["env"]),
        ["PIP_NO_CACHE_DIR", "PYTHONDONTWRITEBYTECODE", "APP_HOME", "LEGACY_MODE", "MODEL_VERSION", "HF_TOKEN"]
    );
    assert_eq!(text(&v, &["env", "PIP_NO_CACHE_DIR"]), "1");
    assert_eq!(line(&v, &["env", "PIP_NO_CACHE_DIR"]), 4);
    assert_eq!(text(&v, &["env", "PYTHONDONTWRITEBYTECODE"]), "1");
    assert_eq!(line(&v, &["env", "PYTHONDONTWRITEBYTECODE"]), 4);
    assert_eq!(text(&v, &["env", "APP_HOME"]), "/app");
    assert_eq!(text(&v, &["env", "LEGACY_MODE"]), "enabled with spaces");
    assert_eq!(line(&v, &["env", "LEGACY_MODE"]), 6);
    assert_eq!(text(&v, &["env", "MODEL_VERSION"]), "2024.05");
    assert_eq!(line(&v, &["env", "MODEL_VERSION"]), 7);
    assert!(is_null(&v, &["env", "HF_TOKEN"]));
    assert_eq!(line(&v, &["env", "HF_TOKEN"]), 8);

    // HEALTHCHECK, continued over two lines.
    let hc = at(&v, &["healthcheck"]);
    assert!(!boolean(hc, &["disabled"]));
    assert_eq!(text(hc, &["command"]), r#"["python", "/app/health.py"]"#);
    assert_eq!(strings(hc, &["json"]), ["python", "/app/health.py"]);
    assert_eq!(text(hc, &["flags", "interval"]), "30s");
    assert_eq!(text(hc, &["flags", "timeout"]), "3s");
    assert_eq!(int(hc, &["line"]), 29);
    assert_eq!(line(hc, &["command"]), 29);

    // EXPOSE.
    assert_eq!(items(&v, &["exposed"]).len(), 2);
    assert_eq!(int(&v, &["exposed", "0", "port"]), 8080);
    assert_eq!(text(&v, &["exposed", "0", "protocol"]), "tcp");
    assert_eq!(int(&v, &["exposed", "1", "port"]), 9090);
    assert_eq!(line(&v, &["exposed", "1"]), 28);

    // Instructions: continuations joined, comments dropped, heredoc bodies
    // skipped.
    let names: Vec<String> =
        items(&v, &["instructions"]).iter().map(|i| text(i, &["instruction"]).to_string()).collect();
    assert_eq!(
        names,
        [
            "FROM",
            "ENV",
            "ENV",
            "ARG",
            "ARG",
            "USER",
            "RUN",
            "ADD",
            "ADD",
            "COPY",
            "RUN",
            "FROM",
            "RUN",
            "FROM",
            "COPY",
            "USER",
            "EXPOSE",
            "HEALTHCHECK",
            "ENTRYPOINT"
        ]
    );
    let run = at(&v, &["instructions", "6"]);
    assert_eq!(int(run, &["line"]), 10);
    assert_eq!(int(run, &["end_line"]), 13);
    assert_eq!(line(run, &["args"]), 10);
    let args = text(run, &["args"]);
    assert!(args.starts_with("apt-get update "), "{args}");
    assert!(args.contains("&& apt-get install -y --no-install-recommends curl"));
    assert!(args.ends_with("rm -rf /var/lib/apt/lists/*"));
    assert!(!args.contains("comment"));
    assert!(is_null(run, &["json"]));

    let heredoc = at(&v, &["instructions", "10"]);
    assert_eq!(int(heredoc, &["line"]), 17);
    assert_eq!(text(heredoc, &["args"]), "<<EOF");

    let exec = at(&v, &["instructions", "12"]);
    assert_eq!(int(exec, &["line"]), 23);
    assert_eq!(strings(exec, &["json"]), ["python", "-m", "pytest"]);
    assert_eq!(int(exec, &["stage"]), 1);

    let copy = at(&v, &["instructions", "14"]);
    assert_eq!(text(copy, &["flags", "from"]), "build");
    assert_eq!(text(copy, &["body"]), "/app /app");

    assert_eq!(format_for("Dockerfile"), Some(Format::Dockerfile));
    assert_eq!(parse(Format::Dockerfile, "Dockerfile", &src).unwrap(), v);
}

#[test]
fn dockerfile_image_references() {
    let src = "\
ARG BASE=python
ARG TAG=3.12
FROM ${BASE}:${TAG} AS a
FROM localhost:5000/img:1.0
FROM registry.example.com:443/team/model-server@sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d
FROM --platform=linux/amd64 node:20-alpine AS web
FROM ubuntu
FROM ghcr.io/acme/trainer:v2@sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6
FROM scratch
FROM A
";
    let v = parse_dockerfile("images.Dockerfile", src).unwrap();
    assert_all_located(&v, "images.Dockerfile");
    let stage = |i: usize| at(&v, &["stages", &i.to_string()]).clone();

    let a = stage(0);
    assert_eq!(text(&a, &["ref"]), "${BASE}:${TAG}");
    assert_eq!(text(&a, &["image"]), "python");
    assert_eq!(text(&a, &["tag"]), "3.12");

    let local = stage(1);
    assert_eq!(text(&local, &["image"]), "localhost:5000/img");
    assert_eq!(text(&local, &["registry"]), "localhost:5000");
    assert_eq!(text(&local, &["repository"]), "img");
    assert_eq!(text(&local, &["tag"]), "1.0");
    assert!(is_null(&local, &["digest"]));

    let ported = stage(2);
    assert_eq!(text(&ported, &["registry"]), "registry.example.com:443");
    assert_eq!(text(&ported, &["repository"]), "team/model-server");
    assert!(is_null(&ported, &["tag"]));
    assert!(text(&ported, &["digest"]).starts_with("sha256:3e23e816"));

    let web = stage(3);
    assert_eq!(text(&web, &["platform"]), "linux/amd64");
    assert_eq!(text(&web, &["image"]), "node");
    assert_eq!(text(&web, &["tag"]), "20-alpine");
    assert_eq!(text(&web, &["alias"]), "web");

    let ubuntu = stage(4);
    assert_eq!(text(&ubuntu, &["image"]), "ubuntu");
    assert!(is_null(&ubuntu, &["tag"]));
    assert!(is_null(&ubuntu, &["registry"]));

    let both = stage(5);
    assert_eq!(text(&both, &["registry"]), "ghcr.io");
    assert_eq!(text(&both, &["tag"]), "v2");
    assert!(text(&both, &["digest"]).starts_with("sha256:2e7d"));

    assert_eq!(text(&stage(6), &["image"]), "scratch");
    // Stage names are case-insensitive.
    assert!(boolean(&stage(7), &["stage"]));
    assert_eq!(int(&stage(7), &["line"]), 10);
    // No USER anywhere, no HEALTHCHECK.
    assert!(is_null(&v, &["user"]));
    assert!(is_null(&v, &["healthcheck"]));
    assert_eq!(format_for("ci/images.Dockerfile"), Some(Format::Dockerfile));
}

#[test]
fn dockerfile_inheritance_escape_and_healthcheck_none() {
    // The final stage inherits USER and HEALTHCHECK from the stage it is
    // built from.
    let src = "\
FROM python:3.12 AS base
USER app
HEALTHCHECK CMD curl -f http://localhost/ || exit 1
FROM base
RUN echo hi
";
    let v = parse_dockerfile("Containerfile", src).unwrap();
    assert_eq!(text(&v, &["user"]), "app");
    assert_eq!(line(&v, &["user"]), 2);
    assert_eq!(text(&v, &["healthcheck", "command"]), "curl -f http://localhost/ || exit 1");
    assert!(is_null(&v, &["healthcheck", "json"]));
    assert_eq!(line(&v, &["healthcheck"]), 3);

    let src = "\
FROM python:3.12
HEALTHCHECK NONE
";
    let v = parse_dockerfile("Dockerfile", src).unwrap();
    assert!(boolean(&v, &["healthcheck", "disabled"]));
    assert_eq!(int(&v, &["healthcheck", "line"]), 2);
    assert!(is_null(&v, &["healthcheck", "command"]));

    // Windows-style escape character.
    let src = "\
# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
RUN powershell -Command `
    Invoke-WebRequest https://example.com/setup.exe
WORKDIR C:\\app\\
ENV TOOLS=C:\\tools
";
    let v = parse_dockerfile("Dockerfile.windows", src).unwrap();
    assert_eq!(text(&v, &["directives", "escape"]), "`");
    let run = at(&v, &["instructions", "1"]);
    assert_eq!(int(run, &["line"]), 3);
    assert_eq!(int(run, &["end_line"]), 4);
    assert!(text(run, &["args"]).contains("Invoke-WebRequest"));
    // A trailing backslash is not a continuation here.
    assert_eq!(text(&v, &["instructions", "2", "args"]), "C:\\app\\");
    assert_eq!(text(&v, &["env", "TOOLS"]), "C:\\tools");
    assert_eq!(text(&v, &["stages", "0", "registry"]), "mcr.microsoft.com");

    // Heredocs with `<<-` and quotes, CRLF line ends.
    let src = "FROM alpine\r\nCOPY <<-\"EOT\" /etc/app.conf\r\n\tkey=value\r\n\tEOT\r\nUSER nobody\r\n";
    let v = parse_dockerfile("Dockerfile", src).unwrap();
    assert_eq!(text(&v, &["user"]), "nobody");
    assert_eq!(line(&v, &["user"]), 5);
}

#[test]
fn dockerfile_malformed() {
    let cases: &[(&str, Option<u32>, &str)] = &[
        ("FROM python:3.12\nRUN ok\nFORM x\n", Some(3), "unknown instruction"),
        ("FROM a\nRUN <<EOF\necho\n", Some(2), "unterminated heredoc"),
        ("FROM python:3.12 AS\n", Some(1), "FROM takes"),
        ("FROM python:3.12 build\n", Some(1), "FROM takes"),
        ("# comment\nRUN echo\nFROM a\n", Some(2), "before the first FROM"),
        ("FROM a\n\nUSER\n", Some(3), "requires arguments"),
        ("FROM a\nHEALTHCHECK --interval=5s\n", Some(2), "HEALTHCHECK"),
        ("FROM a\nENV ONLYNAME\n", Some(2), "ENV"),
        ("FROM a\nENV A=\"unterminated\n", Some(2), "quote"),
        ("# escape=x\nFROM a\n", Some(1), "escape"),
        ("# just a comment\n\n", None, "no FROM"),
        ("", None, "no FROM"),
    ];
    for (src, want_line, want_message) in cases {
        let e = err(parse_dockerfile("Dockerfile", src));
        assert_eq!(e.line, *want_line, "{src:?}: {e}");
        assert!(e.message.contains(want_message), "{src:?}: {e}");
        assert_eq!(e.path, "Dockerfile");
    }
}

// ---------------------------------------------------------------- requirements

fn index_password() -> String {
    // Assembled at run time so that the repository holds no credential.
    format!("{}-{}-{}", "not", "a-real", "pass9")
}

fn requirements_txt() -> String {
    format!(
        r#"# Runtime dependencies (pip-compile output, edited)
--index-url https://ci-bot:{pw}@pypi.internal.example.com/simple
--extra-index-url https://download.pytorch.org/whl/cu121
-r base.txt
--constraint constraints.txt

numpy==1.26.4 \
    --hash=sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb \
    --hash=sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d
torch>=2.1,<2.3  # range: CUDA 12.1 wheels
Scikit_Learn[Alldeps]==1.4.* ; python_version >= "3.9"
requests[security, socks] ~= 2.31
pandas===2.2.0
git+https://github.com/acme/feature-store.git@v1.2.0#egg=feature_store
my-lib @ https://files.example.com/my_lib-0.3.0-py3-none-any.whl ; sys_platform == "linux"
-e ./packages/shared
typing-extensions; python_version < "3.11" and (os_name == "posix" or extra == 'test')
--trusted-host pypi.internal.example.com
"#,
        pw = index_password()
    )
}

#[test]
fn requirements_file() {
    let src = requirements_txt();
    let v = parse_requirements("requirements.txt", &src).unwrap();
    assert_all_located(&v, "requirements.txt");
    assert_records_at_their_lines(&v);
    assert_eq!(keys(&v, &[]), ["requirements", "includes", "options"]);

    let names: Vec<String> = items(&v, &["requirements"])
        .iter()
        .map(|r| r.get("name").unwrap().as_str().unwrap_or("<none>").to_string())
        .collect();
    assert_eq!(
        names,
        [
            "numpy",
            "torch",
            "scikit-learn",
            "requests",
            "pandas",
            "feature-store",
            "my-lib",
            "<none>",
            "typing-extensions"
        ]
    );

    let numpy = at(&v, &["requirements", "0"]);
    assert_eq!(text(numpy, &["specifier"]), "==1.26.4");
    assert!(boolean(numpy, &["pinned"]));
    assert_eq!(
        strings(numpy, &["hashes"]),
        [
            "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
            "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
        ]
    );
    // The requirement is located at its first line.
    assert_eq!(int(numpy, &["line"]), 7);
    assert_eq!(line(numpy, &["hashes", "1"]), 7);
    assert!(text(numpy, &["raw"]).starts_with("numpy==1.26.4"));

    let torch = at(&v, &["requirements", "1"]);
    assert_eq!(text(torch, &["specifier"]), ">=2.1,<2.3");
    assert!(!boolean(torch, &["pinned"]));
    assert_eq!(int(torch, &["line"]), 10);
    assert_eq!(text(torch, &["raw"]), "torch>=2.1,<2.3");

    let sklearn = at(&v, &["requirements", "2"]);
    assert_eq!(text(sklearn, &["specifier"]), "==1.4.*");
    assert!(!boolean(sklearn, &["pinned"]), "a wildcard is not a pin");
    assert_eq!(strings(sklearn, &["extras"]), ["Alldeps"]);
    assert_eq!(text(sklearn, &["marker"]), r#"python_version >= "3.9""#);
    assert_eq!(int(sklearn, &["line"]), 11);

    let requests = at(&v, &["requirements", "3"]);
    assert_eq!(text(requests, &["specifier"]), "~=2.31");
    assert_eq!(strings(requests, &["extras"]), ["security", "socks"]);
    assert!(is_null(requests, &["marker"]));

    let pandas = at(&v, &["requirements", "4"]);
    assert_eq!(text(pandas, &["specifier"]), "===2.2.0");
    assert!(boolean(pandas, &["pinned"]));

    let vcs = at(&v, &["requirements", "5"]);
    assert_eq!(text(vcs, &["url"]), "git+https://github.com/acme/feature-store.git@v1.2.0#egg=feature_store");
    assert!(is_null(vcs, &["specifier"]));
    assert!(!boolean(vcs, &["pinned"]));
    assert!(!boolean(vcs, &["editable"]));
    assert_eq!(int(vcs, &["line"]), 14);

    let direct = at(&v, &["requirements", "6"]);
    assert_eq!(text(direct, &["url"]), "https://files.example.com/my_lib-0.3.0-py3-none-any.whl");
    assert_eq!(text(direct, &["marker"]), r#"sys_platform == "linux""#);

    let editable = at(&v, &["requirements", "7"]);
    assert!(boolean(editable, &["editable"]));
    assert_eq!(text(editable, &["url"]), "./packages/shared");
    assert!(is_null(editable, &["name"]));
    assert_eq!(int(editable, &["line"]), 16);

    let typing = at(&v, &["requirements", "8"]);
    assert_eq!(text(typing, &["marker"]), r#"python_version < "3.11" and ( os_name == "posix" or extra == 'test' )"#);
    assert!(is_null(typing, &["specifier"]));

    // Includes.
    assert_eq!(items(&v, &["includes"]).len(), 2);
    assert_eq!(text(&v, &["includes", "0", "kind"]), "requirement");
    assert_eq!(text(&v, &["includes", "0", "path"]), "base.txt");
    assert_eq!(int(&v, &["includes", "0", "line"]), 4);
    assert_eq!(text(&v, &["includes", "1", "kind"]), "constraint");
    assert_eq!(text(&v, &["includes", "1", "path"]), "constraints.txt");
    assert_eq!(line(&v, &["includes", "1"]), 5);

    // Options, the index password redacted.
    let options: Vec<String> = items(&v, &["options"]).iter().map(|o| text(o, &["option"]).to_string()).collect();
    assert_eq!(options, ["--index-url", "--extra-index-url", "--trusted-host"]);
    assert_eq!(text(&v, &["options", "0", "value"]), "https://ci-bot:********@pypi.internal.example.com/simple");
    assert!(boolean(&v, &["options", "0", "credentials"]));
    assert_eq!(int(&v, &["options", "0", "line"]), 2);
    assert!(!boolean(&v, &["options", "1", "credentials"]));
    assert_eq!(text(&v, &["options", "2", "value"]), "pypi.internal.example.com");
    // Nowhere in the facts, serialized or displayed.
    let json = serde_json::to_string(&v).unwrap();
    assert!(!json.contains(&index_password()));
    assert!(json.contains("ci-bot:********@"));
    assert!(!format!("{v:?}").contains(&index_password()));

    assert_eq!(format_for("requirements.txt"), Some(Format::Requirements));
    assert_eq!(parse(Format::Requirements, "requirements.txt", &src).unwrap(), v);
}

#[test]
fn requirements_details() {
    // pip-tools output: comments after continuations, `via` lines.
    let src = "\
#
# This file is autogenerated by pip-compile
#
certifi==2024.2.2 \\
    --hash=sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb
    # via requests
charset-normalizer==3.3.2 \\
    --hash=sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d \\
    # via requests
Flask_SQLAlchemy == 3.1.1
zope.interface!=5.0
./vendor/internal_tool-1.0.tar.gz
https://example.com/wheels/Fancy_Pkg-2.0-cp311-cp311-linux_x86_64.whl
-e git+ssh://git@github.com/acme/private.git@main#egg=private-pkg
--requirement=dev.txt
-cconstraints.txt
--find-links https://deploy:${WHEELS_TOKEN}@wheels.example.com/simple
";
    let v = parse_requirements("requirements/prod.in", src).unwrap();
    assert_all_located(&v, "requirements/prod.in");
    let reqs = items(&v, &["requirements"]);
    assert_eq!(reqs.len(), 7);
    assert_eq!(text(&reqs[0], &["name"]), "certifi");
    assert_eq!(int(&reqs[0], &["line"]), 4);
    assert_eq!(strings(&reqs[0], &["hashes"]).len(), 1);
    assert_eq!(text(&reqs[1], &["name"]), "charset-normalizer");
    assert_eq!(int(&reqs[1], &["line"]), 7);
    assert_eq!(strings(&reqs[1], &["hashes"]).len(), 1);
    assert_eq!(text(&reqs[2], &["name"]), "flask-sqlalchemy");
    assert_eq!(text(&reqs[2], &["specifier"]), "==3.1.1");
    assert!(boolean(&reqs[2], &["pinned"]));
    assert_eq!(int(&reqs[2], &["line"]), 10);
    assert_eq!(text(&reqs[3], &["name"]), "zope-interface");
    assert!(!boolean(&reqs[3], &["pinned"]));
    assert_eq!(text(&reqs[4], &["name"]), "internal-tool");
    assert_eq!(text(&reqs[4], &["url"]), "./vendor/internal_tool-1.0.tar.gz");
    assert_eq!(text(&reqs[5], &["name"]), "fancy-pkg");
    assert_eq!(text(&reqs[6], &["name"]), "private-pkg");
    assert!(boolean(&reqs[6], &["editable"]));
    assert_eq!(int(&reqs[6], &["line"]), 14);

    assert_eq!(text(&v, &["includes", "0", "path"]), "dev.txt");
    assert_eq!(text(&v, &["includes", "1", "kind"]), "constraint");
    assert_eq!(text(&v, &["includes", "1", "path"]), "constraints.txt");
    // A password that is only a variable reference is kept.
    assert_eq!(text(&v, &["options", "0", "option"]), "--find-links");
    assert_eq!(text(&v, &["options", "0", "value"]), "https://deploy:${WHEELS_TOKEN}@wheels.example.com/simple");
    assert!(!boolean(&v, &["options", "0", "credentials"]));

    // A password in a requirement URL is redacted too.
    let secret = index_password();
    let src = format!("pkg @ git+https://bot:{secret}@git.example.com/pkg.git\n");
    let v = parse_requirements("requirements.txt", &src).unwrap();
    assert_eq!(text(&v, &["requirements", "0", "url"]), "git+https://bot:********@git.example.com/pkg.git");
    assert!(!text(&v, &["requirements", "0", "raw"]).contains(&secret));

    for (path, want) in [
        ("requirements.txt", Some(Format::Requirements)),
        ("requirements-dev.txt", Some(Format::Requirements)),
        ("ci/dev-requirements.in", Some(Format::Requirements)),
        ("constraints.txt", Some(Format::Requirements)),
        ("requirements/base.txt", Some(Format::Requirements)),
        ("MANIFEST.in", None),
        ("notes.txt", None),
        ("train.py", Some(Format::Python)),
        ("Dockerfile.gpu", Some(Format::Dockerfile)),
        ("docker/Containerfile", Some(Format::Dockerfile)),
        ("Dockerfile.dockerignore", None),
        ("dockerfiles.md", None),
    ] {
        assert_eq!(format_for(path), want, "{path}");
    }
}

#[test]
fn requirements_malformed() {
    let cases: &[(&str, u32)] = &[
        ("numpy==1.0\nnumpy==\n", 2),
        ("# c\nfoo bar\n", 2),
        ("ok\n--hash=sha256:ab\n", 2),
        ("pkg>=1 ; python_version >= 3.8\n", 1),
        ("a==1\n\nb==2 \\\n  --hash=md5\n", 3),
        ("-r\n", 1),
        ("-x foo\n", 1),
        ("pkg[extra\n", 1),
        ("pkg (>=1\n", 1),
        ("-pkg==1\n", 1),
        ("pkg==1.0 ; os_name ==\n", 1),
        ("pkg ===\n", 1),
        ("pkg>=1.*\n", 1),
        ("na!me==1\n", 1),
    ];
    for (src, want) in cases {
        let e = err(parse_requirements("requirements.txt", src));
        assert_eq!(e.line, Some(*want), "{src:?}: {e}");
        assert_eq!(e.path, "requirements.txt");
    }
}

// ---------------------------------------------------------------- Python

fn fake_secret() -> String {
    // Assembled at run time so that the repository holds no secret-looking
    // literal.
    let head = ["wJal", "rXUt", "nFEM"].concat();
    format!("{head}I/K7MDENG/{}", "bPxRfiCYzzzzFAKE")
}

fn train_py() -> String {
    format!(
        r#""""Training entry point."""
import json
import logging
import os
import subprocess
import subprocess as sp
from os import system as run_shell

import mlflow

logger = logging.getLogger(__name__)
aws_secret = "{secret}"
DB_HOST: str = "db.internal"


class Config:
    region = 'eu-west-1'

    def connect(self, password="changeme"):
        return connect_db(host=DB_HOST, password="pa\x73s-{{x}}")


def train(cmd):
    subprocess.run(cmd, shell=True)
    sp.Popen(["ls"], shell=False)
    os.system("nvidia-smi")
    run_shell(
        "df -h",
    )
    print(os.environ)
    mlflow.log_params(dict(os.environ))
    logger.info("env: %s", os.environ.copy())
    env = dict(os.environ)
    home = os.environ.get("HOME")
    payload = json.dumps(dict(os.environ))
    return env, home, payload
"#,
        secret = fake_secret()
    )
}

#[test]
fn python_facts() {
    let src = train_py();
    let v = parse_python("train.py", &src).unwrap();
    assert_all_located(&v, "train.py");
    assert_records_at_their_lines(&v);
    assert_eq!(keys(&v, &[]), ["assignments", "subprocess_shell", "environ_dumps", "imports"]);

    // Assignments of string literals.
    let secret = where_eq(&v, &["assignments"], "name", "aws_secret");
    assert_eq!(secret.len(), 1);
    assert_eq!(text(secret[0], &["value"]), fake_secret());
    assert_eq!(int(secret[0], &["line"]), 12);
    assert_eq!(text(secret[0], &["kind"]), "assignment");
    assert_eq!(line(secret[0], &["value"]), 12);

    let host = where_eq(&v, &["assignments"], "name", "DB_HOST");
    assert_eq!(text(host[0], &["value"]), "db.internal");
    assert_eq!(int(host[0], &["line"]), 13);

    let region = where_eq(&v, &["assignments"], "name", "region");
    assert_eq!(text(region[0], &["value"]), "eu-west-1");
    assert_eq!(int(region[0], &["line"]), 17);

    let passwords = where_eq(&v, &["assignments"], "name", "password");
    assert_eq!(passwords.len(), 2);
    assert_eq!(text(passwords[0], &["kind"]), "default");
    assert_eq!(text(passwords[0], &["value"]), "changeme");
    assert_eq!(int(passwords[0], &["line"]), 19);
    assert_eq!(text(passwords[1], &["kind"]), "keyword");
    // `\x73` decoded; `{x}` is not a placeholder in a plain string.
    assert_eq!(text(passwords[1], &["value"]), "pass-{x}");
    assert_eq!(int(passwords[1], &["line"]), 20);
    // `host=DB_HOST` is not a literal.
    assert!(where_eq(&v, &["assignments"], "name", "host").is_empty());
    assert!(where_eq(&v, &["assignments"], "name", "logger").is_empty());

    // Shell subprocesses.
    let shell = items(&v, &["subprocess_shell"]);
    let calls: Vec<(String, i64)> = shell.iter().map(|c| (text(c, &["call"]).to_string(), int(c, &["line"]))).collect();
    assert_eq!(
        calls,
        [("subprocess.run".to_string(), 24), ("os.system".to_string(), 26), ("os.system".to_string(), 27),]
    );
    assert_eq!(text(&shell[0], &["code"]), "subprocess.run(cmd, shell=True)");

    // Environment dumps.
    let dumps: Vec<(String, i64)> =
        items(&v, &["environ_dumps"]).iter().map(|d| (text(d, &["kind"]).to_string(), int(d, &["line"]))).collect();
    assert_eq!(
        dumps,
        [
            ("print".to_string(), 30),
            ("tracking".to_string(), 31),
            ("log".to_string(), 32),
            ("copy".to_string(), 33),
            ("serialize".to_string(), 35),
        ]
    );
    assert_eq!(text(&v, &["environ_dumps", "0", "code"]), "print(os.environ)");
    assert_eq!(text(&v, &["environ_dumps", "1", "code"]), "mlflow.log_params(dict(os.environ))");

    // Imports.
    let imports: Vec<(String, i64)> =
        items(&v, &["imports"]).iter().map(|i| (text(i, &["module"]).to_string(), int(i, &["line"]))).collect();
    assert_eq!(
        imports,
        [
            ("json".to_string(), 2),
            ("logging".to_string(), 3),
            ("os".to_string(), 4),
            ("subprocess".to_string(), 5),
            ("subprocess".to_string(), 6),
            ("os".to_string(), 7),
            ("mlflow".to_string(), 9),
        ]
    );
    assert_eq!(strings(&v, &["imports", "5", "names"]), ["system"]);

    assert_eq!(format_for("src/train.py"), Some(Format::Python));
    assert_eq!(parse(Format::Python, "train.py", &src).unwrap(), v);
}

#[test]
fn python_more_forms() {
    let src = r#"from os import environ as ENV, getenv
from . import settings
from .utils.io import *
import os.path, pickle as pk
from subprocess import check_output
import asyncio

CONFIG = {"api_key": "k-123", "retries": 3, "nested": {"token": 'b' "c"}}
a = b = "same"
user, pw = "admin", r"raw\npw"
settings.DB_PASSWORD = """multi
line"""
env_vars["HF_TOKEN"] = "hf-placeholder"
greeting = f"hello {name}"
plain_f = f"no placeholders {{here}}"
data = b"bytes\x41"
(walrus := "w")

check_output("ls | wc -l", shell=1)
check_output("ls", shell=0)
os.popen("uptime")
asyncio.create_subprocess_shell("echo")
print(ENV)
print(f"{os.environ}")
log = logging.getLogger("x")
logging.getLogger(__name__).debug("%s" % {**os.environ})
sys.stdout.write(str(os.environ))
mlflow.set_tags(os.environ)
wandb.config.update(dict(os.environ))
client.log_dict(os.environ.copy(), "env.json")
print(getenv("HOME"))
"#;
    let v = parse_python("more.py", src).unwrap();
    assert_all_located(&v, "more.py");
    assert_records_at_their_lines(&v);

    let value_of = |name: &str| -> Vec<String> {
        where_eq(&v, &["assignments"], "name", name).iter().map(|a| text(a, &["value"]).to_string()).collect()
    };
    assert_eq!(value_of("api_key"), ["k-123"]);
    assert_eq!(value_of("token"), ["bc"]);
    assert!(value_of("retries").is_empty());
    assert_eq!(value_of("a"), ["same"]);
    assert_eq!(value_of("b"), ["same"]);
    assert_eq!(value_of("user"), ["admin"]);
    assert_eq!(value_of("pw"), ["raw\\npw"]);
    assert_eq!(value_of("settings.DB_PASSWORD"), ["multi\nline"]);
    assert_eq!(value_of("HF_TOKEN"), ["hf-placeholder"]);
    let hf = where_eq(&v, &["assignments"], "name", "HF_TOKEN");
    assert_eq!(text(hf[0], &["target"]), "env_vars[\"HF_TOKEN\"]");
    assert!(value_of("greeting").is_empty());
    assert_eq!(value_of("plain_f"), ["no placeholders {here}"]);
    assert_eq!(value_of("data"), ["bytesA"]);
    assert_eq!(value_of("walrus"), ["w"]);
    let pw = where_eq(&v, &["assignments"], "name", "settings.DB_PASSWORD");
    assert_eq!(int(pw[0], &["line"]), 11);

    let calls: Vec<(String, i64)> =
        items(&v, &["subprocess_shell"]).iter().map(|c| (text(c, &["call"]).to_string(), int(c, &["line"]))).collect();
    assert_eq!(
        calls,
        [
            ("subprocess.check_output".to_string(), 19),
            ("os.popen".to_string(), 21),
            ("asyncio.create_subprocess_shell".to_string(), 22),
        ]
    );

    let dumps: Vec<(String, i64)> =
        items(&v, &["environ_dumps"]).iter().map(|d| (text(d, &["kind"]).to_string(), int(d, &["line"]))).collect();
    assert_eq!(
        dumps,
        [
            ("print".to_string(), 23),
            ("print".to_string(), 24),
            ("log".to_string(), 26),
            ("write".to_string(), 27),
            ("tracking".to_string(), 28),
            ("tracking".to_string(), 29),
            ("tracking".to_string(), 30),
        ]
    );

    let modules: Vec<String> = items(&v, &["imports"]).iter().map(|i| text(i, &["module"]).to_string()).collect();
    assert_eq!(modules, ["os", ".", ".utils.io", "os.path", "pickle", "subprocess", "asyncio"]);
    assert_eq!(strings(&v, &["imports", "0", "names"]), ["environ", "getenv"]);
    assert_eq!(strings(&v, &["imports", "2", "names"]), ["*"]);
}

#[test]
fn python_malformed() {
    let cases: &[(&str, u32)] = &[
        ("import os\n\ndef f(:\n    pass\n", 3),
        // CPython too: "'(' was never closed" at line 2.
        ("x = 1\ny = (2,\nz = 3\n", 2),
        ("a = 1\nb = 2\nc = \"unterminated\n", 3),
        ("class C:\n    def m(self):\n        return 1 +\n", 3),
        ("print('ok')\n)\n", 2),
        ("import os\n\n\ndef main():\n    x = [1, 2\n    return x\n\nmain()\n", 5),
        ("a = 1\nb = 2\nc = 3\nd = )\n", 4),
    ];
    for (src, want) in cases {
        let e = err(parse_python("bad.py", src));
        assert_eq!(e.path, "bad.py");
        assert_eq!(e.line, Some(*want), "{src:?}: {e}");
        assert!(!e.message.is_empty());
    }
}

// ---------------------------------------------------------------- hostile

/// Runs `f` on a thread with cargo test's default 2 MiB stack, failing on
/// a panic (a stack overflow aborts the whole test binary).
fn on_small_stack<F: FnOnce() + Send + 'static>(f: F) {
    std::thread::Builder::new().stack_size(2 * 1024 * 1024).spawn(f).unwrap().join().unwrap();
}

#[test]
fn python_deep_nesting_does_not_overflow() {
    on_small_stack(|| {
        let depth = 100_000;
        let forms = [
            format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth)),
            format!("x = {}1{}\n", "[".repeat(depth), "]".repeat(depth)),
            format!("x = {}\n", "f(".repeat(depth) + &")".repeat(depth)),
            format!("x = {}1\n", "-".repeat(depth)),
            format!("x = 1{}\n", " + 1".repeat(depth)),
            format!("x = a{}\n", ".b".repeat(depth)),
        ];
        for src in &forms {
            let start = Instant::now();
            let v = parse_python("deep.py", src).unwrap();
            assert_all_located(&v, "deep.py");
            assert!(start.elapsed() < Duration::from_secs(60), "{:?}", start.elapsed());
        }
        // Unbalanced: an error, reported at its line.
        let src = format!("x = 1\ny = {}1\n", "(".repeat(depth));
        assert_eq!(err(parse_python("deep.py", &src)).line, Some(2));
        let src = format!("x = 1\ny = {}1\n", ")".repeat(depth));
        assert_eq!(err(parse_python("deep.py", &src)).line, Some(2));
        // Deep, but everything found.
        let src = format!("os.system({}'x'{})\n", "(".repeat(depth), ")".repeat(depth));
        let v = parse_python("deep.py", &src).unwrap();
        assert_eq!(items(&v, &["subprocess_shell"]).len(), 1);
    });
}

#[test]
fn ten_megabyte_lines() {
    on_small_stack(|| {
        let n = 10 * 1024 * 1024;
        let long = "a".repeat(n);
        let start = Instant::now();

        let py = format!("token = \"{long}\"\nprint(os.environ)\n");
        let v = parse_python("big.py", &py).unwrap();
        assert_eq!(text(&v, &["assignments", "0", "value"]).len(), n);
        assert_eq!(int(&v, &["environ_dumps", "0", "line"]), 2);

        let docker = format!("FROM python:3.12\nRUN echo {long}\nUSER app\n");
        let v = parse_dockerfile("Dockerfile", &docker).unwrap();
        assert_eq!(text(&v, &["user"]), "app");
        assert_eq!(line(&v, &["user"]), 3);

        let reqs = format!("numpy==1.0\n{long}==1.0\n");
        let v = parse_requirements("requirements.txt", &reqs).unwrap();
        assert_eq!(int(&v, &["requirements", "1", "line"]), 2);
        assert!(start.elapsed() < Duration::from_secs(60), "{:?}", start.elapsed());

        // Long lines of many small parts (smaller: the debug build is slow).
        let m = 1024 * 1024;
        let py = format!("x = {}\n", "1+".repeat(m / 8) + "1");
        assert!(parse_python("big.py", &py).unwrap().get("imports").is_some());
        let docker = format!("FROM python:3.12\nENV {}\n", "A=1 ".repeat(m / 4));
        assert_eq!(keys(&parse_dockerfile("Dockerfile", &docker).unwrap(), &["env"]), ["A"]);
        let reqs = format!("numpy==1.0\nx ; {}\n", "(".repeat(m));
        assert_eq!(err(parse_requirements("requirements.txt", &reqs)).line, Some(2));
        let reqs = format!("pkg{}\n", ">=1,".repeat(m / 4) + ">=1");
        let v = parse_requirements("requirements.txt", &reqs).unwrap();
        assert!(!boolean(&v, &["requirements", "0", "pinned"]));
    });
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_input_never_panics() {
    on_small_stack(|| {
        // Half raw bytes, half bytes drawn from the formats' punctuation.
        const ALPHABET: &[u8] = b"()[]{}:,-=#;'\"\\*@<>~!. \t\n\n\r\nabcxyz019_FROMRUNimportdefos.environ\xc3\xa9";
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let start = Instant::now();
        for i in 0..1500 {
            let len = (rng.next() % 300) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = rng.next();
                    if i % 2 == 0 {
                        r as u8
                    } else {
                        ALPHABET[(r % ALPHABET.len() as u64) as usize]
                    }
                })
                .collect();
            let text = String::from_utf8_lossy(&bytes);
            for format in [Format::Dockerfile, Format::Requirements, Format::Python] {
                if let Ok(v) = parse(format, "fuzz", &text) {
                    let _ = v.to_string();
                }
            }
        }
        assert!(start.elapsed() < Duration::from_secs(120));
    });
}

#[test]
fn oversized_and_binary_input_is_refused() {
    let big = "a".repeat(16 * 1024 * 1024 + 1);
    for format in [Format::Dockerfile, Format::Requirements, Format::Python] {
        let e = parse(format, "big", &big).unwrap_err();
        assert_eq!(e.line, None);
        assert!(e.message.contains("too large"), "{e}");
        let e = parse(format, "blob", "x = 1\ny = 2\n\0\x01").unwrap_err();
        assert_eq!(e.line, Some(3), "{format:?}: {e}");
    }
}
