#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Document parsers: values, provenance lines, malformed and hostile input.

use mlpol_lang::value::{Kind, Value};
use mlpol_stdlib::docs::{
    format_for, parse, parse_dotenv, parse_ini, parse_json, parse_toml, parse_yaml, DocError, Format,
};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

mod common;
use common::{at, line, text};

fn keys(v: &Value, path: &[&str]) -> Vec<String> {
    match &at(v, path).kind {
        Kind::Map(entries) => entries.iter().map(|(k, _)| k.clone()).collect(),
        other => panic!("{path:?} is not a map: {other:?}"),
    }
}

fn len(v: &Value, path: &[&str]) -> usize {
    match &at(v, path).kind {
        Kind::List(items) => items.len(),
        Kind::Map(entries) => entries.len(),
        other => panic!("{path:?} has no length: {other:?}"),
    }
}

/// Every value in the tree has the path and (unless `lines` is false) a line.
fn assert_all_located(v: &Value, path: &str) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        let origin = v.origin.as_ref().unwrap_or_else(|| panic!("value without origin: {v}"));
        assert_eq!(origin.path.as_deref(), Some(path));
        assert!(origin.line.is_some_and(|l| l >= 1), "value without line: {v}");
        assert_eq!(origin.uri, None);
        match &v.kind {
            Kind::List(items) => stack.extend(items.iter()),
            Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

fn err_line(result: Result<Value, DocError>) -> Option<u32> {
    match result {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e.line,
    }
}

// ---------------------------------------------------------------- YAML

const COMPOSE: &str = r#"version: "3.8"
x-defaults: &defaults
  restart: unless-stopped
  read_only: true
  logging:
    driver: json-file
services:
  web:
    image: ghcr.io/acme/model-server:1.4.2
    user: "1000:1000"
    read_only: true
    mem_limit: 2g
    ports:
      - "8080:8080"
      - 127.0.0.1:9090:9090
    environment:
      MLFLOW_TRACKING_URI: http://mlflow:5000
      DEBUG: "false"
      WORKERS: 4
  mlflow:
    <<: *defaults
    image: ghcr.io/mlflow/mlflow:v2.14.1
    command: mlflow server --host 0.0.0.0 --port 5000
    ports: ["5000:5000"]
    read_only: false
    privileged: yes
"#;

#[test]
fn yaml_docker_compose() {
    let v = parse_yaml("docker-compose.yml", COMPOSE).unwrap();
    assert_all_located(&v, "docker-compose.yml");
    assert_eq!(keys(&v, &[]), ["version", "x-defaults", "services"]);
    assert_eq!(text(&v, &["version"]), "3.8");
    assert_eq!(keys(&v, &["services"]), ["web", "mlflow"]);

    assert_eq!(text(&v, &["services", "web", "user"]), "1000:1000");
    assert_eq!(line(&v, &["services", "web", "user"]), 10);
    assert_eq!(at(&v, &["services", "web", "read_only"]).kind, Kind::Bool(true));
    assert_eq!(line(&v, &["services", "web", "read_only"]), 11);
    assert_eq!(text(&v, &["services", "web", "mem_limit"]), "2g");
    assert_eq!(line(&v, &["services", "web", "mem_limit"]), 12);
    // A nested collection is located at its key.
    assert_eq!(line(&v, &["services", "web"]), 8);
    assert_eq!(line(&v, &["services", "web", "ports"]), 13);
    assert_eq!(len(&v, &["services", "web", "ports"]), 2);
    assert_eq!(text(&v, &["services", "web", "ports", "0"]), "8080:8080");
    assert_eq!(line(&v, &["services", "web", "ports", "0"]), 14);
    assert_eq!(text(&v, &["services", "web", "ports", "1"]), "127.0.0.1:9090:9090");
    assert_eq!(line(&v, &["services", "web", "ports", "1"]), 15);
    assert_eq!(text(&v, &["services", "web", "environment", "DEBUG"]), "false");
    assert_eq!(at(&v, &["services", "web", "environment", "WORKERS"]).kind, Kind::Int(4));
    assert_eq!(line(&v, &["services", "web", "environment", "WORKERS"]), 19);

    // Merge key: explicit keys win, merged ones keep their own lines.
    let mlflow = at(&v, &["services", "mlflow"]);
    assert_eq!(at(mlflow, &["read_only"]).kind, Kind::Bool(false));
    assert_eq!(line(mlflow, &["read_only"]), 25);
    assert_eq!(text(mlflow, &["restart"]), "unless-stopped");
    assert_eq!(line(mlflow, &["restart"]), 3);
    assert_eq!(text(mlflow, &["logging", "driver"]), "json-file");
    assert!(mlflow.get("<<").is_none());
    assert_eq!(text(mlflow, &["ports", "0"]), "5000:5000");
    assert_eq!(line(mlflow, &["ports", "0"]), 24);
    // YAML 1.2: `yes` is a string.
    assert_eq!(text(mlflow, &["privileged"]), "yes");
    assert_eq!(keys(&v, &["services", "mlflow"])[0], "restart");
}

const MLMODEL: &str = r#"artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.10.12
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.3.0
mlflow_version: 2.14.1
model_size_bytes: 1048576
model_uuid: 9f1c2a8e4b7d4c0e8a1f3b2d6e5c7a90
run_id: 3b1f0e9a2c4d4e6f8a0b1c2d3e4f5a6b
signature:
  inputs: '[{"type": "double", "name": "x", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
utc_time_created: '2024-06-01 12:00:00.000000'
"#;

#[test]
fn yaml_mlmodel() {
    assert_eq!(format_for("models/fraud/MLmodel"), Some(Format::Yaml));
    let v = parse(Format::Yaml, "models/fraud/MLmodel", MLMODEL).unwrap();
    assert_all_located(&v, "models/fraud/MLmodel");
    assert_eq!(text(&v, &["flavors", "sklearn", "serialization_format"]), "cloudpickle");
    assert_eq!(line(&v, &["flavors", "sklearn", "serialization_format"]), 14);
    assert_eq!(line(&v, &["flavors", "sklearn"]), 11);
    assert_eq!(at(&v, &["flavors", "sklearn", "code"]).kind, Kind::Null);
    assert_eq!(text(&v, &["flavors", "python_function", "python_version"]), "3.10.12");
    assert_eq!(text(&v, &["flavors", "sklearn", "sklearn_version"]), "1.3.0");
    assert_eq!(at(&v, &["model_size_bytes"]).kind, Kind::Int(1_048_576));
    assert_eq!(text(&v, &["signature", "inputs"]), r#"[{"type": "double", "name": "x", "required": true}]"#);
    assert_eq!(line(&v, &["signature", "inputs"]), 21);
    assert_eq!(text(&v, &["utc_time_created"]), "2024-06-01 12:00:00.000000");
    assert_eq!(line(&v, &["utc_time_created"]), 24);
}

const BENTOFILE: &str = r#"service: "service:IrisClassifier"
labels:
  owner: ml-team
  stage: prod
include:
  - "*.py"
python:
  packages:
    - scikit-learn==1.3.0
    - pandas
docker:
  distro: debian
  python_version: "3.11"
  system_packages:
    - libgomp1
"#;

#[test]
fn yaml_bentofile() {
    assert_eq!(format_for("bentofile.yaml"), Some(Format::Yaml));
    let v = parse_yaml("bentofile.yaml", BENTOFILE).unwrap();
    assert_all_located(&v, "bentofile.yaml");
    assert_eq!(text(&v, &["service"]), "service:IrisClassifier");
    assert_eq!(text(&v, &["python", "packages", "1"]), "pandas");
    assert_eq!(line(&v, &["python", "packages", "1"]), 10);
    assert_eq!(text(&v, &["docker", "python_version"]), "3.11");
    assert_eq!(line(&v, &["docker", "python_version"]), 13);
    assert_eq!(line(&v, &["docker", "system_packages", "0"]), 15);
}

#[test]
fn yaml_scalars() {
    let src = "\
a: ~
b: null
c:
d: True
e: FALSE
f: 0x1F
g: 0o17
h: -42
i: 1.5e3
j: .inf
k: -.Inf
l: .nan
m: '123'
n: \"true\"
o: 3.10
p: 99999999999999999999
q: !!str 42
r: |
  line1
  line2
s: 007
t: 0x
u: 1_000
";
    let v = parse_yaml("t.yaml", src).unwrap();
    assert_eq!(at(&v, &["a"]).kind, Kind::Null);
    assert_eq!(at(&v, &["b"]).kind, Kind::Null);
    assert_eq!(at(&v, &["c"]).kind, Kind::Null);
    assert_eq!(at(&v, &["d"]).kind, Kind::Bool(true));
    assert_eq!(at(&v, &["e"]).kind, Kind::Bool(false));
    assert_eq!(at(&v, &["f"]).kind, Kind::Int(31));
    assert_eq!(at(&v, &["g"]).kind, Kind::Int(15));
    assert_eq!(at(&v, &["h"]).kind, Kind::Int(-42));
    assert_eq!(at(&v, &["i"]).kind, Kind::Float(1500.0));
    assert_eq!(at(&v, &["j"]).kind, Kind::Float(f64::INFINITY));
    assert_eq!(at(&v, &["k"]).kind, Kind::Float(f64::NEG_INFINITY));
    assert!(matches!(at(&v, &["l"]).kind, Kind::Float(x) if x.is_nan()));
    assert_eq!(text(&v, &["m"]), "123");
    assert_eq!(text(&v, &["n"]), "true");
    assert_eq!(at(&v, &["o"]).kind, Kind::Float(3.1));
    assert_eq!(at(&v, &["p"]).kind, Kind::Float(1e20));
    assert_eq!(text(&v, &["q"]), "42");
    assert_eq!(text(&v, &["r"]), "line1\nline2\n");
    assert_eq!(line(&v, &["r"]), 18);
    assert_eq!(at(&v, &["s"]).kind, Kind::Int(7));
    assert_eq!(text(&v, &["t"]), "0x");
    assert_eq!(text(&v, &["u"]), "1_000");
}

#[test]
fn yaml_keys_duplicates_and_documents() {
    let v = parse_yaml("t.yaml", "a: 1\nb: 2\na: 3\n1: one\n? [x, y]\n: pair\n").unwrap();
    assert_eq!(keys(&v, &[]), ["a", "b", "1", "[\"x\", \"y\"]"]);
    assert_eq!(at(&v, &["a"]).kind, Kind::Int(3));
    assert_eq!(line(&v, &["a"]), 3);
    assert_eq!(line(&v, &["[\"x\", \"y\"]"]), 5);

    let docs = parse_yaml("k8s.yaml", "kind: A\n---\nkind: B\nspec:\n  x: 1\n").unwrap();
    assert_eq!(len(&docs, &[]), 2);
    assert_eq!(text(&docs, &["1", "kind"]), "B");
    assert_eq!(line(&docs, &["1", "spec", "x"]), 5);
    assert_all_located(&docs, "k8s.yaml");

    let one = parse_yaml("one.yaml", "---\nkind: A\n...\n").unwrap();
    assert_eq!(text(&one, &["kind"]), "A");
    assert_eq!(line(&one, &["kind"]), 2);

    let empty = parse_yaml("empty.yaml", "# nothing here\n").unwrap();
    assert!(empty.is_null());
    assert_all_located(&empty, "empty.yaml");

    let aliased = parse_yaml("a.yaml", "base: &b {x: 1}\ncopy: *b\nlist:\n  - *b\n").unwrap();
    assert_eq!(at(&aliased, &["copy", "x"]).kind, Kind::Int(1));
    assert_eq!(line(&aliased, &["copy"]), 2);
    assert_eq!(line(&aliased, &["list", "0"]), 4);
    assert_eq!(line(&aliased, &["list", "0", "x"]), 1);
}

#[test]
fn yaml_malformed() {
    let e = parse_yaml("bad.yaml", "services:\n  web:\n    image: x\n   user: root\n").unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.to_string().starts_with("bad.yaml:4: "), "{e}");
    assert_eq!(err_line(parse_yaml("bad.yaml", "a:\n  b: 1\n c: 2\n")), Some(3));
    assert_eq!(err_line(parse_yaml("bad.yaml", "a: [1, 2\nb: 3\n")).map(|l| l >= 2), Some(true));
    assert!(parse_yaml("bad.yaml", "a: *nope\n").is_err());
    // A self-referencing anchor cannot be expanded.
    assert!(parse_yaml("bad.yaml", "a: &x [*x]\n").is_err());
    let e = parse_yaml("bad.yaml", "a: 1\nb: 2\0\n").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn yaml_billion_laughs() {
    let bomb = r#"a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"#;
    let start = Instant::now();
    let e = parse_yaml("bomb.yaml", bomb).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(e.message.contains("aliases expand"), "{e}");
    assert!(e.line.is_some());

    // Deep values aliased into deep places: bounded by depth, not only size.
    let mut deep = String::new();
    for i in 0..40 {
        let prev = if i == 0 { "0".to_string() } else { format!("*a{}", i - 1) };
        deep.push_str(&format!("k{i}: &a{i} {}{prev}{}\n", "[".repeat(20), "]".repeat(20)));
    }
    let start = Instant::now();
    let e = parse_yaml("deep-alias.yaml", &deep).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(e.message.contains("nesting"), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse_yaml("deep.yaml", &deep).is_err());
    assert!(parse_json("deep.json", &deep).is_err());
    assert!(parse_toml("deep.toml", &format!("a = {deep}")).is_err());
    let deep_map = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    assert!(parse_yaml("deep.yaml", &deep_map).is_err());
    assert!(parse_json("deep.json", &deep_map).is_err());
    let block: String = (0..1000).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    assert!(parse_yaml("deep.yaml", &block).is_err());
    let dashes = format!("{}x\n", "- ".repeat(10_000));
    assert!(parse_yaml("deep.yaml", &dashes).is_err());
    let dotted = format!("{} = 1\n", vec!["a"; 10_000].join("."));
    assert!(parse_toml("deep.toml", &dotted).is_err());

    // Within the limit is fine.
    let ok = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    assert!(parse_yaml("ok.yaml", &ok).is_ok());
    assert!(parse_json("ok.json", &ok).is_ok());
}

// ---------------------------------------------------------------- JSON

const PACKAGE_JSON: &str = "{
  \"name\": \"model-ui\",
  \"version\": \"1.0.0\",
  \"private\": true,
  \"scripts\": {
\t\"build\":\t\"vite build\",
\t\"postinstall\": \"node scripts/fetch-model.js\"
  },
  \"dependencies\": {
    \"onnxruntime-web\": \"^1.18.0\",
    \"left-pad\": \"1.3.0\"
  },
  \"engines\": {\"node\": \">=18\"},
  \"bigNumber\": 123456789012345678901234567890,
  \"emoji\": \"\\ud83d\\ude00 \\u00e9\\/\\\\u0041\",
  \"nums\": [1, 2.5, -3e2, null, \"null\"],
  \"<<\": {\"z\": 1}
}
";

#[test]
fn json_package() {
    assert_eq!(format_for("web/package.json"), Some(Format::Json));
    let v = parse_json("web/package.json", PACKAGE_JSON).unwrap();
    assert_all_located(&v, "web/package.json");
    assert_eq!(
        keys(&v, &[]),
        ["name", "version", "private", "scripts", "dependencies", "engines", "bigNumber", "emoji", "nums", "<<"]
    );
    assert_eq!(text(&v, &["name"]), "model-ui");
    assert_eq!(line(&v, &["name"]), 2);
    assert_eq!(at(&v, &["private"]).kind, Kind::Bool(true));
    assert_eq!(text(&v, &["scripts", "postinstall"]), "node scripts/fetch-model.js");
    assert_eq!(line(&v, &["scripts", "postinstall"]), 7);
    assert_eq!(text(&v, &["scripts", "build"]), "vite build");
    assert_eq!(line(&v, &["scripts", "build"]), 6);
    assert_eq!(text(&v, &["dependencies", "left-pad"]), "1.3.0");
    assert_eq!(line(&v, &["dependencies", "left-pad"]), 11);
    assert_eq!(line(&v, &["dependencies"]), 9);
    assert_eq!(text(&v, &["engines", "node"]), ">=18");
    assert_eq!(line(&v, &["engines", "node"]), 13);
    assert!(matches!(at(&v, &["bigNumber"]).kind, Kind::Float(x) if x > 1e29));
    assert_eq!(text(&v, &["emoji"]), "\u{1F600} \u{e9}/\\u0041");
    assert_eq!(at(&v, &["nums", "0"]).kind, Kind::Int(1));
    assert_eq!(at(&v, &["nums", "1"]).kind, Kind::Float(2.5));
    assert_eq!(at(&v, &["nums", "2"]).kind, Kind::Float(-300.0));
    assert_eq!(at(&v, &["nums", "3"]).kind, Kind::Null);
    assert_eq!(text(&v, &["nums", "4"]), "null");
    assert_eq!(at(&v, &["<<", "z"]).kind, Kind::Int(1));

    let scalar = parse_json("s.json", "\"just a string\"").unwrap();
    assert_eq!(scalar.as_str(), Some("just a string"));
    assert_all_located(&scalar, "s.json");
    let bom = parse_json("b.json", "\u{feff}{\"a\": 1}").unwrap();
    assert_eq!(at(&bom, &["a"]).kind, Kind::Int(1));
}

#[test]
fn json_malformed() {
    let e = parse_json("p.json", "{\n  \"a\": 1,\n  \"b\": 2,\n}\n").unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("trailing comma"), "{e}");
    assert!(!e.message.contains("at line"), "{e}");
    assert_eq!(err_line(parse_json("p.json", "{\"a\": tru}")), Some(1));
    assert!(parse_json("p.json", "").is_err());
    assert!(parse_json("p.json", "{\"a\": 1} {\"b\": 2}").is_err());
    assert!(parse_json("p.json", "{a: 1}").is_err());
    assert!(parse_json("p.json", "\"\\ud800\"").is_err());
}

// ---------------------------------------------------------------- TOML

const PYPROJECT: &str = r#"[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "fraud-model"
version = "0.3.1"
requires-python = ">=3.10"
dependencies = [
    "torch>=2.2",
    "mlflow==2.14.1",
    "pickle5",
]

[project.optional-dependencies]
dev = ["pytest"]

[tool.uv]
index-url = "http://pypi.internal/simple"
trusted-host = ["pypi.internal"]

[[tool.uv.index]]
name = "internal"
url = "http://pypi.internal/simple"

[[tool.uv.index]]
name = "pytorch"
url = "https://download.pytorch.org/whl/cpu"
explicit = true
"#;

#[test]
fn toml_pyproject() {
    assert_eq!(format_for("pyproject.toml"), Some(Format::Toml));
    let v = parse_toml("pyproject.toml", PYPROJECT).unwrap();
    assert_all_located(&v, "pyproject.toml");
    assert_eq!(keys(&v, &[]), ["build-system", "project", "tool"]);
    assert_eq!(keys(&v, &["project"]), ["name", "version", "requires-python", "dependencies", "optional-dependencies"]);
    assert_eq!(line(&v, &["project"]), 5);
    assert_eq!(text(&v, &["project", "name"]), "fraud-model");
    assert_eq!(line(&v, &["project", "name"]), 6);
    assert_eq!(line(&v, &["project", "dependencies"]), 9);
    assert_eq!(text(&v, &["project", "dependencies", "1"]), "mlflow==2.14.1");
    assert_eq!(line(&v, &["project", "dependencies", "1"]), 11);
    assert_eq!(line(&v, &["project", "optional-dependencies"]), 15);
    assert_eq!(text(&v, &["tool", "uv", "index-url"]), "http://pypi.internal/simple");
    assert_eq!(line(&v, &["tool", "uv", "index-url"]), 19);
    assert_eq!(line(&v, &["tool", "uv", "trusted-host", "0"]), 20);
    assert_eq!(len(&v, &["tool", "uv", "index"]), 2);
    assert_eq!(line(&v, &["tool", "uv", "index", "0"]), 22);
    assert_eq!(line(&v, &["tool", "uv", "index", "1"]), 26);
    assert_eq!(text(&v, &["tool", "uv", "index", "1", "url"]), "https://download.pytorch.org/whl/cpu");
    assert_eq!(line(&v, &["tool", "uv", "index", "1", "url"]), 28);
    assert_eq!(at(&v, &["tool", "uv", "index", "1", "explicit"]).kind, Kind::Bool(true));
}

const UV_LOCK: &str = r#"version = 1
requires-python = ">=3.10"

[[package]]
name = "mlflow"
version = "2.14.1"
source = { registry = "https://pypi.example.com/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/mlflow-2.14.1.tar.gz", hash = "sha256:0a1b", size = 5_242_880 }
wheels = [
    { url = "https://files.pythonhosted.org/packages/mlflow-2.14.1-py3-none-any.whl", hash = "sha256:2c3d", size = 0x10, upload-time = 2024-06-01T12:00:00Z },
]

[[package]]
name = "torch"
version = "2.3.0"
source = { registry = "https://download.pytorch.org/whl/cpu" }
ratio = 1_0.5e1_0
"#;

#[test]
fn toml_uv_lock() {
    assert_eq!(format_for("uv.lock"), Some(Format::Toml));
    assert_eq!(format_for("poetry.lock"), Some(Format::Toml));
    let v = parse(Format::Toml, "uv.lock", UV_LOCK).unwrap();
    assert_all_located(&v, "uv.lock");
    assert_eq!(keys(&v, &[]), ["version", "requires-python", "package"]);
    assert_eq!(at(&v, &["version"]).kind, Kind::Int(1));
    assert_eq!(len(&v, &["package"]), 2);
    assert_eq!(line(&v, &["package"]), 4);
    assert_eq!(line(&v, &["package", "0"]), 4);
    assert_eq!(line(&v, &["package", "1"]), 13);
    assert_eq!(keys(&v, &["package", "0"]), ["name", "version", "source", "sdist", "wheels"]);
    assert_eq!(text(&v, &["package", "1", "source", "registry"]), "https://download.pytorch.org/whl/cpu");
    assert_eq!(line(&v, &["package", "1", "source", "registry"]), 16);
    assert_eq!(at(&v, &["package", "0", "sdist", "size"]).kind, Kind::Int(5_242_880));
    assert_eq!(line(&v, &["package", "0", "wheels", "0"]), 10);
    assert_eq!(at(&v, &["package", "0", "wheels", "0", "size"]).kind, Kind::Int(16));
    assert_eq!(text(&v, &["package", "0", "wheels", "0", "upload-time"]), "2024-06-01T12:00:00Z");
    assert_eq!(at(&v, &["package", "1", "ratio"]).kind, Kind::Float(10.5e10));
}

#[test]
fn toml_malformed() {
    let e = parse_toml("p.toml", "x = 1\na = \ny = 2\n").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert_eq!(err_line(parse_toml("p.toml", "[a]\nx = 1\n[a]\nx = 2\n")), Some(3));
    assert_eq!(err_line(parse_toml("p.toml", "a = 1\nb = \"unterminated\n")), Some(2));
    assert_eq!(err_line(parse_toml("p.toml", "a = 1\nb = 99999999999999999999\n")), Some(2));
    let e = parse_toml("p.toml", "a = \n").unwrap_err();
    assert!(!e.message.is_empty() && !e.message.contains('\n'), "{e:?}");
}

// ---------------------------------------------------------------- INI

const DVC_CONFIG: &str = r#"[core]
    remote = storage
    autostage = true
['remote "storage"']
    url = s3://ml-artifacts/dvc
    endpointurl = http://minio.internal:9000
    access_key_id = AKIAEXAMPLE
"#;

#[test]
fn ini_dvc_config() {
    assert_eq!(format_for(".dvc/config"), Some(Format::Ini));
    assert_eq!(format_for("repo/.dvc/config"), Some(Format::Ini));
    assert_eq!(format_for("repo/.dvc/config.local"), Some(Format::Ini));
    let v = parse(Format::Ini, ".dvc/config", DVC_CONFIG).unwrap();
    assert_all_located(&v, ".dvc/config");
    assert_eq!(keys(&v, &[]), ["core", "'remote \"storage\"'"]);
    assert_eq!(text(&v, &["core", "remote"]), "storage");
    assert_eq!(line(&v, &["core", "remote"]), 2);
    let remote = at(&v, &["'remote \"storage\"'"]);
    assert_eq!(line(remote, &[]), 4);
    assert_eq!(text(remote, &["url"]), "s3://ml-artifacts/dvc");
    assert_eq!(line(remote, &["url"]), 5);
    assert_eq!(text(remote, &["endpointurl"]), "http://minio.internal:9000");
    assert_eq!(line(remote, &["endpointurl"]), 6);
}

const AIRFLOW_CFG: &str = r#"[core]
# The folder where your airflow pipelines live
dags_folder = /opt/airflow/dags
executor = LocalExecutor
fernet_key =
Load_Examples = True

[webserver]
authenticate = True
rbac = True
expose_config = False  ; inline comments are kept
secret_key: temporary_key

[api]
auth_backends = airflow.api.auth.backend.session,
    airflow.api.auth.backend.basic_auth

    # a comment inside the value is dropped
    airflow.api.auth.backend.kerberos_auth
enable_experimental_api = False
"#;

#[test]
fn ini_airflow_cfg() {
    assert_eq!(format_for("airflow/airflow.cfg"), Some(Format::Ini));
    let v = parse_ini("airflow.cfg", AIRFLOW_CFG).unwrap();
    assert_all_located(&v, "airflow.cfg");
    assert_eq!(keys(&v, &[]), ["core", "webserver", "api"]);
    assert_eq!(text(&v, &["core", "fernet_key"]), "");
    assert_eq!(line(&v, &["core", "fernet_key"]), 5);
    assert_eq!(text(&v, &["core", "load_examples"]), "True");
    assert_eq!(text(&v, &["webserver", "authenticate"]), "True");
    assert_eq!(line(&v, &["webserver", "authenticate"]), 9);
    assert_eq!(line(&v, &["webserver"]), 8);
    assert_eq!(text(&v, &["webserver", "expose_config"]), "False  ; inline comments are kept");
    assert_eq!(text(&v, &["webserver", "secret_key"]), "temporary_key");
    assert_eq!(
        text(&v, &["api", "auth_backends"]),
        "airflow.api.auth.backend.session,\nairflow.api.auth.backend.basic_auth\n\nairflow.api.auth.backend.kerberos_auth"
    );
    assert_eq!(line(&v, &["api", "auth_backends"]), 15);
    assert_eq!(text(&v, &["api", "enable_experimental_api"]), "False");
    assert_eq!(line(&v, &["api", "enable_experimental_api"]), 20);
}

const BASIC_AUTH_INI: &str = r#"[mlflow]
default_permission = READ
database_uri = sqlite:///basic_auth.db
admin_username = admin
admin_password = password1234
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
"#;

#[test]
fn ini_mlflow_basic_auth() {
    assert_eq!(format_for("basic_auth.ini"), Some(Format::Ini));
    let v = parse_ini("basic_auth.ini", BASIC_AUTH_INI).unwrap();
    assert_all_located(&v, "basic_auth.ini");
    assert_eq!(text(&v, &["mlflow", "default_permission"]), "READ");
    assert_eq!(line(&v, &["mlflow", "default_permission"]), 2);
    assert_eq!(text(&v, &["mlflow", "admin_username"]), "admin");
    assert_eq!(text(&v, &["mlflow", "admin_password"]), "password1234");
    assert_eq!(line(&v, &["mlflow", "admin_password"]), 5);
    assert_eq!(text(&v, &["mlflow", "authorization_function"]), "mlflow.server.auth:authenticate_request_basic_auth");
}

#[test]
fn ini_defaults_and_duplicates() {
    let src = "[DEFAULT]\nowner = ml\n[a]\nx = 1\n[b]\nowner = ops\n[a]\nx = 2\ny = 3\n";
    let v = parse_ini("setup.cfg", src).unwrap();
    assert_eq!(keys(&v, &[]), ["DEFAULT", "a", "b"]);
    assert_eq!(text(&v, &["a", "x"]), "2");
    assert_eq!(line(&v, &["a", "x"]), 8);
    assert_eq!(text(&v, &["a", "y"]), "3");
    assert_eq!(text(&v, &["a", "owner"]), "ml");
    assert_eq!(line(&v, &["a", "owner"]), 2);
    assert_eq!(text(&v, &["b", "owner"]), "ops");
    assert_eq!(line(&v, &["a"]), 3);
}

#[test]
fn ini_malformed() {
    let e = parse_ini("basic_auth.ini", "; settings\nadmin_password = x\n[mlflow]\n").unwrap_err();
    assert_eq!(e.line, Some(2));
    assert_eq!(e.message, "key outside of any section");
    assert_eq!(e.to_string(), "basic_auth.ini:2: key outside of any section");
    assert_eq!(err_line(parse_ini("a.ini", "[s]\nok = 1\njust words\n")), Some(3));
    assert_eq!(err_line(parse_ini("a.ini", "[s]\n= value\n")), Some(2));
    assert!(parse_ini("a.ini", "").unwrap().get("x").is_none());
}

// ---------------------------------------------------------------- dotenv

const DOTENV: &str = "# Local settings
export MLFLOW_TRACKING_URI=http://localhost:5000
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG/bPxRfiCY\\nEXAMPLEKEY'
WANDB_API_KEY=\"abc\\n123 \\\"q\\\"\" # trailing comment

EMPTY=
URL_WITH_HASH=http://x/#frag
SPACED = value with spaces   # comment
MULTI=\"line1
line2\"
AFTER=1\r
";

#[test]
fn dotenv_file() {
    assert_eq!(format_for(".env"), Some(Format::Dotenv));
    assert_eq!(format_for("deploy/.env.local"), Some(Format::Dotenv));
    assert_eq!(format_for("prod.env"), Some(Format::Dotenv));
    let v = parse_dotenv(".env", DOTENV).unwrap();
    assert_all_located(&v, ".env");
    assert_eq!(text(&v, &["MLFLOW_TRACKING_URI"]), "http://localhost:5000");
    assert_eq!(line(&v, &["MLFLOW_TRACKING_URI"]), 2);
    assert_eq!(text(&v, &["AWS_ACCESS_KEY_ID"]), "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(line(&v, &["AWS_ACCESS_KEY_ID"]), 3);
    assert_eq!(text(&v, &["AWS_SECRET_ACCESS_KEY"]), "wJalrXUtnFEMI/K7MDENG/bPxRfiCY\\nEXAMPLEKEY");
    assert_eq!(text(&v, &["WANDB_API_KEY"]), "abc\n123 \"q\"");
    assert_eq!(line(&v, &["WANDB_API_KEY"]), 5);
    assert_eq!(text(&v, &["EMPTY"]), "");
    assert_eq!(text(&v, &["URL_WITH_HASH"]), "http://x/#frag");
    assert_eq!(text(&v, &["SPACED"]), "value with spaces");
    assert_eq!(text(&v, &["MULTI"]), "line1\nline2");
    assert_eq!(line(&v, &["MULTI"]), 10);
    assert_eq!(text(&v, &["AFTER"]), "1");
    assert_eq!(line(&v, &["AFTER"]), 12);
    assert_eq!(keys(&v, &[]).len(), 9);
}

#[test]
fn dotenv_malformed() {
    let e = parse_dotenv(".env", "A=1\n# ok\nTHIS LINE IS BROKEN\n").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert_eq!(err_line(parse_dotenv(".env", "A=1\nB=\"never closed\nC=3\n")), Some(2));
    assert_eq!(err_line(parse_dotenv(".env", "A=1\nBAD KEY=2\n")), Some(2));
    assert_eq!(err_line(parse_dotenv(".env", "A='x' y\n")), Some(1));
}

// ---------------------------------------------------------------- shared

#[test]
fn formats_by_name() {
    let cases = [
        ("a/b/config.yml", Some(Format::Yaml)),
        ("data.csv.dvc", Some(Format::Yaml)),
        ("CONFIG.YAML", Some(Format::Yaml)),
        ("tsconfig.json", Some(Format::Json)),
        ("Pipfile.lock", Some(Format::Json)),
        ("Cargo.lock", Some(Format::Toml)),
        ("pdm.lock", Some(Format::Toml)),
        ("dvc.lock", Some(Format::Yaml)),
        ("C:\\repo\\.dvc\\config", Some(Format::Ini)),
        (".dvc", None),
        ("Pipfile", Some(Format::Toml)),
        ("setup.cfg", Some(Format::Ini)),
        ("supervisord.conf", Some(Format::Ini)),
        ("config", None),
        ("other/config", None),
        (".envrc", None),
        ("yarn.lock", None),
        ("README.md", None),
        ("Dockerfile", Some(Format::Dockerfile)),
        ("", None),
    ];
    for (path, want) in cases {
        assert_eq!(format_for(path), want, "{path}");
    }
}

#[test]
fn errors_display_and_size_limit() {
    let e = DocError { path: "a.yaml".into(), line: Some(3), message: "bad".into() };
    assert_eq!(e.to_string(), "a.yaml:3: bad");
    let e = DocError { path: "a.yaml".into(), line: None, message: "bad".into() };
    assert_eq!(e.to_string(), "a.yaml: bad");

    let big = "a".repeat(16 * 1024 * 1024 + 1);
    for format in [Format::Yaml, Format::Json, Format::Toml, Format::Ini, Format::Dotenv] {
        let e = parse(format, "big", &big).unwrap_err();
        assert_eq!(e.line, None);
        assert!(e.message.contains("too large"), "{e}");
    }
    // Messages are lowercase single lines without a final period.
    let errors = [
        parse_yaml("x", "a: [").unwrap_err(),
        parse_json("x", "[1,").unwrap_err(),
        parse_toml("x", "a = \"").unwrap_err(),
        parse_ini("x", "k=v").unwrap_err(),
        parse_dotenv("x", "k").unwrap_err(),
    ];
    for e in errors {
        assert!(!e.message.ends_with('.') && !e.message.contains('\n'), "{e:?}");
        let first = e.message.chars().next().unwrap();
        assert!(!first.is_uppercase() || e.message.chars().nth(1).is_some_and(char::is_uppercase), "{e:?}");
    }
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
    // Half raw bytes, half bytes drawn from the formats' punctuation, so
    // that the parsers get past their first token.
    const ALPHABET: &[u8] = b"[]{}:,-=#;'\"\\&*!|>?<%@`~. \t\n\r\n\nabcxyz019_\0\xc3\xa9[[]]uU0";
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let start = Instant::now();
    for i in 0..2000 {
        let len = (rng.next() % 200) as usize;
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
        for format in [Format::Yaml, Format::Json, Format::Toml, Format::Ini, Format::Dotenv] {
            if let Ok(v) = parse(format, "fuzz", &text) {
                let _ = v.to_string();
            }
        }
    }
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn binary_input_is_refused() {
    for format in [Format::Yaml, Format::Json, Format::Toml, Format::Ini, Format::Dotenv] {
        let e = parse(format, "blob", "[s]\nk = 1\n\0\x01\x02").unwrap_err();
        assert_eq!(e.line, Some(3), "{format:?}: {e}");
    }
}
