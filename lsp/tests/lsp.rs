//! The server driven in-process through tower-lsp-server's `LspService`
//! with JSON-RPC requests, as an editor would; results asserted exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
mod fixture;

use common::*;
use fixture::{BAD, MAIN};
use serde_json::{json, Value};
use std::path::Path;

async fn workspace(name: &str) -> (Client, std::path::PathBuf) {
    let root = temp_dir(name);
    fixture::write_workspace(&root);
    let client = Client::start(&root).await;
    (client, root)
}

fn doc(path: &Path) -> Value {
    json!({ "uri": uri_str(path) })
}

async fn hover(c: &mut Client, path: &Path, position: Value) -> Value {
    c.request("textDocument/hover", json!({ "textDocument": doc(path), "position": position })).await
}

async fn complete(c: &mut Client, path: &Path, position: Value) -> Vec<String> {
    let items = c.request("textDocument/completion", json!({ "textDocument": doc(path), "position": position })).await;
    items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap().to_string()).collect()
}

/// How many completions a typed trigger character gets.
async fn typed(c: &mut Client, path: &Path, line: u32, character: u32, ch: &str) -> usize {
    let params = json!({
        "textDocument": doc(path), "position": pos(line, character),
        "context": { "triggerKind": 2, "triggerCharacter": ch }
    });
    c.request("textDocument/completion", params).await.as_array().unwrap().len()
}

fn markdown(value: &str, r: Value) -> Value {
    json!({ "contents": { "kind": "markdown", "value": value }, "range": r })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_on_open_and_change_for_the_latest_version() {
    let (mut c, root) = workspace("diagnostics").await;
    // Workspace files are checked without being opened.
    assert_eq!(c.diagnostics(&root.join("policies/main.mlpol"), Value::Null).await, json!([]));
    assert_eq!(c.diagnostics(&root.join("lib/common.mlpol"), Value::Null).await, json!([]));

    let bad = root.join("policies/bad.mlpol");
    c.open(&bad, 1, BAD).await;
    assert_eq!(
        c.diagnostics(&bad, json!(1)).await,
        json!([
            {
                "range": range(3, 13, 3, 17), "severity": 1, "code": "E0203", "source": "mlpol",
                "message": "unknown severity `hgih`\nhelp: did you mean `high`?"
            },
            {
                "range": range(4, 10, 4, 14), "severity": 1, "code": "E0101", "source": "mlpol",
                "message": "unknown name `lenn`\nhelp: did you mean `len`?"
            }
        ])
    );
    let fixed = BAD.replace("hgih", "high").replace("lenn", "len");
    c.change(&bad, 2, &fixed).await;
    assert_eq!(c.diagnostics(&bad, json!(2)).await, json!([]));

    // A syntax error in one item leaves the others checked.
    let broken = format!("check team.broken {{\n  title = \n}}\n\n{}", BAD.replace("team.bad", "team.bad2"));
    c.change(&bad, 3, &broken).await;
    let diags = c.diagnostics(&bad, json!(3)).await;
    let codes: Vec<&str> = diags.as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"E0203") && codes.contains(&"E0101"), "{diags:#}");
    assert!(diags[0]["range"]["start"]["line"].as_u64().unwrap() <= 2, "{diags:#}");

    // Cross-file: breaking the imported module's function breaks its use.
    let common = root.join("lib/common.mlpol");
    c.open(&common, 1, &fixture::COMMON.replace("fn is_yaml", "fn is_yml")).await;
    let main_diags = c.diagnostics(&root.join("policies/main.mlpol"), Value::Null).await;
    assert_eq!(
        main_diags,
        json!([
            {
                // Not checked against a missing function, the argument is unused.
                "range": range(14, 23, 14, 24), "severity": 2, "code": "W0003", "source": "mlpol", "tags": [1],
                "message": "`c` is never used\nhelp: remove it, or start its name with `_`"
            },
            {
                "range": range(14, 55, 14, 62), "severity": 1, "code": "E0102", "source": "mlpol",
                "message": "`common` has no member `is_yaml`\nhelp: did you mean `is_yml`?"
            }
        ])
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_changes_are_never_published() {
    let (mut c, root) = workspace("order").await;
    let bad = root.join("policies/bad.mlpol");
    let fixed = BAD.replace("hgih", "high").replace("lenn", "len");
    c.open(&bad, 1, BAD).await;
    assert_eq!(c.diagnostics(&bad, json!(1)).await.as_array().unwrap().len(), 2);
    c.change(&bad, 3, &fixed).await;
    // Version 2 arrives after version 3: it must be dropped.
    c.change(&bad, 2, BAD).await;
    assert_eq!(c.diagnostics(&bad, json!(3)).await, json!([]));
    // The server kept version 3's text.
    let symbols = c
        .request(
            "textDocument/formatting",
            json!({ "textDocument": doc(&bad), "options": { "tabSize": 2, "insertSpaces": true } }),
        )
        .await;
    assert_eq!(symbols, json!([]));
    let h = hover(&mut c, &bad, pos(3, 14)).await;
    assert_eq!(h["contents"]["value"].as_str().unwrap().lines().nth(1), Some("severity = high"));
    c.change(&bad, 4, BAD).await;
    assert_eq!(c.diagnostics(&bad, json!(4)).await.as_array().unwrap().len(), 2);
    c.drain();
    let versions: Vec<i64> = c.publications(&bad).iter().map(|p| p["version"].as_i64().unwrap()).collect();
    assert!(!versions.contains(&2), "version 2 was published: {versions:?}");
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_end_at_the_newest_version() {
    let (mut c, root) = workspace("concurrent").await;
    let path = root.join("policies/racy.mlpol");
    c.open(&path, 1, BAD).await;
    c.diagnostics(&path, json!(1)).await;
    // 40 changes in flight at once, the newest first: whichever order the
    // handlers run in, the document ends at version 41, and no diagnostics
    // of an older version follow those of a newer one.
    let text =
        |v: i32| if v == 41 { BAD.replace("hgih", "high") } else { BAD.replace("team.bad", &format!("team.bad{v}")) };
    let mut changes: Vec<(i32, String)> = (2..=41).map(|v| (v, text(v))).collect();
    changes.reverse();
    changes.swap(3, 17);
    c.concurrent_changes(&path, &changes).await;
    let diags = c.diagnostics(&path, json!(41)).await;
    assert_eq!(diags.as_array().unwrap().len(), 1, "{diags:#}");
    assert_eq!(diags[0]["code"], "E0101");
    c.drain();
    let versions: Vec<i64> = c.publications(&path).iter().map(|p| p["version"].as_i64().unwrap()).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    assert_eq!(versions.last(), Some(&41));
    let symbols = c.request("textDocument/documentSymbol", json!({ "textDocument": doc(&path) })).await;
    assert_eq!(symbols[0]["name"], "team.bad");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_shows_docs_and_types() {
    let (mut c, root) = workspace("hover").await;
    let main = root.join("policies/main.mlpol");
    c.open(&main, 1, MAIN).await;
    let cases = [
        // A fact field of a `for` binding over a collector call.
        (find(MAIN, "f.size", 0, 2), "```mlpol\nFile.size: size\n```\n\nSize in bytes.", range(12, 14, 12, 18)),
        (find(MAIN, "f in", 0, 0), "```mlpol\nf: File\n```", range(11, 6, 11, 7)),
        (
            find(MAIN, "glob", 0, 1),
            "```mlpol\nfiles.glob(pattern: string) -> list<File>\n```\n\nRegular files whose path matches the glob (`**/*.yaml`, `docker-compose*.yml`). A pattern without `/` matches the file name at any depth.",
            range(11, 17, 11, 21),
        ),
        (
            find(MAIN, "len(", 0, 1),
            "```mlpol\nlen(x: list | map | string | doc) -> int\n```\n\nNumber of elements of a list or map, or characters of a string.",
            range(15, 10, 15, 13),
        ),
        (
            find(MAIN, "team.models", 0, 5),
            "**Model Protection** · `team.models.small`\n\nseverity: **high**  \nsection: Model Security › Model Storage\n\nModel files must be small enough to scan.",
            range(6, 6, 6, 23),
        ),
        (
            find(MAIN, "max_model_size", 1, 2),
            "```mlpol\nparam max_model_size: size\n```\n\ndefault: `500MiB`\n\nLargest allowed model file.",
            range(12, 22, 12, 36),
        ),
        (
            find(MAIN, "is_yaml", 0, 1),
            "```mlpol\nfn is_yaml(f: File) -> bool\n```\n\nfrom module `team.common`\n\nTrue for YAML files.",
            range(14, 55, 14, 62),
        ),
        (
            find(MAIN, "high", 0, 1),
            "```mlpol\nseverity = high\n```\n\nThe Security Score gate requires 100% of high checks to pass (by default; `[score]` in mlpol.toml).",
            range(9, 13, 9, 17),
        ),
        (
            find(MAIN, "title", 0, 1),
            "```mlpol\ntitle = ...\n```\n\nThe checklist item's title, verbatim (reports group and score by it). Required.",
            range(7, 2, 7, 7),
        ),
    ];
    for (position, value, r) in cases {
        assert_eq!(hover(&mut c, &main, position.clone()).await, markdown(value, r), "at {position}");
    }
    // An import: the module, where it comes from, its doc.
    let path = root.join("lib/common.mlpol").display().to_string();
    assert_eq!(
        hover(&mut c, &main, find(MAIN, "team.common", 0, 0)).await,
        markdown(
            &format!("```mlpol\nmodule team.common\n```\n\nimported as `common` from `{path}`\n\nHelpers shared by the team's checks."),
            range(0, 7, 0, 18)
        )
    );
    // A collector namespace lists its functions.
    let ns = hover(&mut c, &main, find(MAIN, "files.glob", 0, 2)).await;
    let text = ns["contents"]["value"].as_str().unwrap();
    assert!(text.starts_with("```mlpol\ncollector files\n```\n\nThe target's file tree."), "{text}");
    assert!(text.contains("files.get(path: string) -> File?"), "{text}");
    // Nothing to say about punctuation.
    assert_eq!(hover(&mut c, &main, find(MAIN, "{\n", 0, 0)).await, Value::Null);
    c.shutdown().await;
}

const FILE_FIELDS: [&str; 14] = [
    "path",
    "name",
    "ext",
    "dir",
    "kind",
    "size",
    "mode",
    "uid",
    "gid",
    "link",
    "binary",
    "gitignored",
    "dvcignored",
    "tracked",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_in_context() {
    let (mut c, root) = workspace("complete").await;
    let main = root.join("policies/main.mlpol");
    // Fact fields after `f.` where `f` iterates `files.glob(...)`.
    let text = MAIN.replace("require f.size", "require f.");
    c.open(&main, 1, &text).await;
    let labels = complete(&mut c, &main, find(&text, "require f.", 0, 10)).await;
    assert_eq!(&labels[..14], &FILE_FIELDS, "{labels:?}");
    assert_eq!(&labels[14..], &["int", "float", "string", "bool", "duration", "type_of"]);
    let items = c
        .request(
            "textDocument/completion",
            json!({ "textDocument": doc(&main), "position": find(&text, "require f.", 0, 10) }),
        )
        .await;
    assert_eq!(
        items[0],
        json!({
            "label": "path", "kind": 5, "detail": "File.path: string",
            "documentation": { "kind": "markdown", "value": "Path relative to the target, `/`-separated." }
        })
    );

    // A `let` bound to a collector call, with a partial name typed.
    let text =
        MAIN.replace("  require len(configs) >= 0\n", "  let one = files.get(\"model.onnx\")\n  require one.si\n");
    c.change(&main, 2, &text).await;
    let labels = complete(&mut c, &main, find(&text, "one.si", 0, 6)).await;
    assert_eq!(&labels[..14], &FILE_FIELDS);

    // Collector functions after `files.`.
    let text = MAIN.replace("files.glob(\"**/*\")", "files.");
    c.change(&main, 3, &text).await;
    let labels = complete(&mut c, &main, find(&text, "files.:", 0, 6)).await;
    assert_eq!(labels, ["dirs", "dvcignored", "exists", "get", "gitignored", "glob", "grep", "lines", "text"]);

    // Members of an imported module.
    let text = MAIN.replace("common.is_yaml(c)", "common.");
    c.change(&main, 4, &text).await;
    assert_eq!(complete(&mut c, &main, find(&text, "common.\n", 0, 7)).await, ["is_yaml"]);

    // Severity values.
    let text = MAIN.replace("severity = high", "severity = ");
    c.change(&main, 5, &text).await;
    assert_eq!(complete(&mut c, &main, find(&text, "severity = ", 0, 11)).await, ["critical", "high", "medium", "low"]);

    // Metadata keys and statement keywords at the start of a statement of a
    // check; statement keywords only inside a block.
    let text = MAIN.replace("\n  for f in", "\n  \n  for f in");
    c.change(&main, 6, &text).await;
    let labels = complete(&mut c, &main, pos(11, 2)).await;
    assert_eq!(
        labels,
        [
            "title",
            "section",
            "severity",
            "tags",
            "remediation",
            "references",
            "validation",
            "attestation",
            "let",
            "require",
            "skip when",
            "for",
            "if"
        ]
    );
    let text = MAIN.replace("  }\n  let configs", "    \n  }\n  let configs");
    c.change(&main, 7, &text).await;
    assert_eq!(complete(&mut c, &main, pos(13, 4)).await, ["let", "require", "skip when", "for", "if"]);

    // Names in an expression: locals in scope first, then globals, imports,
    // namespaces, builtins and keywords.
    let text = MAIN.replace("require len(configs) >= 0", "require le");
    c.change(&main, 8, &text).await;
    let labels = complete(&mut c, &main, find(&text, "require le", 0, 10)).await;
    assert_eq!(&labels[..3], &["configs", "max_model_size", "common"], "{labels:?}");
    let namespaces = ["bucket", "deps", "doc", "files", "git", "host", "http", "secrets"];
    assert_eq!(&labels[3..11], &namespaces, "{labels:?}");
    assert!(labels.contains(&"len".to_string()) && labels.contains(&"not".to_string()));
    assert!(!labels.contains(&"f".to_string()), "`f` is out of scope here");

    // Import paths after `import`.
    let other = root.join("policies/other.mlpol");
    c.open(&other, 1, "import \n").await;
    // Every bundled module, then the workspace's.
    let mut expected: Vec<String> = mlpol_stdlib::program::BUNDLED
        .iter()
        .map(|(path, _)| path.trim_end_matches(".mlpol").replace('/', "."))
        .collect();
    expected.sort();
    expected.push("team.common".to_string());
    assert_eq!(complete(&mut c, &other, pos(0, 7)).await, expected);
    c.change(&other, 2, "import \"\n").await;
    assert_eq!(complete(&mut c, &other, pos(0, 8)).await, ["../lib/common.mlpol", "main.mlpol"]);

    // A space completes only where a space is what was waited for.
    c.change(&other, 3, "import \ncheck a.b {\n  severity = \n  require \n}\n").await;
    assert_eq!(typed(&mut c, &other, 0, 7, " ").await, expected.len());
    assert_eq!(typed(&mut c, &other, 2, 13, " ").await, 4);
    assert_eq!(typed(&mut c, &other, 3, 10, " ").await, 0);
    c.change(&other, 4, "check a.b {\n  require x.\n}\n").await;
    assert!(typed(&mut c, &other, 1, 12, ".").await > 0);

    // Nothing inside comments and strings; item keywords at the top level.
    c.change(&other, 5, "// a comment fi\nlet x = \"a string fi\"\n\n").await;
    assert_eq!(complete(&mut c, &other, pos(0, 15)).await, Vec::<String>::new());
    assert_eq!(complete(&mut c, &other, pos(1, 19)).await, Vec::<String>::new());
    assert_eq!(complete(&mut c, &other, pos(2, 0)).await, ["module", "import", "param", "let", "fn", "check"]);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definition_and_references_across_files_and_the_stdlib() {
    let (mut c, root) = workspace("definition").await;
    let main = root.join("policies/main.mlpol");
    let common = root.join("lib/common.mlpol");
    c.open(&main, 1, MAIN).await;
    let def = |position: Value| json!({ "textDocument": doc(&main), "position": position });
    assert_eq!(
        c.request("textDocument/definition", def(find(MAIN, "is_yaml", 0, 2))).await,
        json!({ "uri": uri_str(&common), "range": range(4, 3, 4, 10) })
    );
    assert_eq!(
        c.request("textDocument/definition", def(find(MAIN, "max_model_size", 1, 0))).await,
        json!({ "uri": uri_str(&main), "range": range(3, 6, 3, 20) })
    );
    assert_eq!(
        c.request("textDocument/definition", def(find(MAIN, "common.is", 0, 3))).await,
        json!({ "uri": uri_str(&common), "range": range(1, 7, 1, 18) })
    );
    // A local: the `c` of `filter c in ...`.
    assert_eq!(
        c.request("textDocument/definition", def(find(MAIN, "(c)", 0, 1))).await,
        json!({ "uri": uri_str(&main), "range": range(14, 23, 14, 24) })
    );
    assert_eq!(c.request("textDocument/definition", def(find(MAIN, "\"Model", 0, 2))).await, Value::Null);

    // Into the bundled stdlib: a read-only file in the cache folder.
    let user = root.join("policies/user.mlpol");
    let text = "import std.secrets as s\n\nlet depth = s.history_depth * 2\n";
    c.open(&user, 1, text).await;
    let std_file = root.join(".std/std/secrets.mlpol");
    let std_text = std::fs::read_to_string(&std_file).unwrap();
    let param_line = std_text.lines().position(|l| l.starts_with("param history_depth")).unwrap() as u32;
    assert_eq!(
        c.request("textDocument/definition", json!({ "textDocument": doc(&user), "position": pos(2, 16) })).await,
        json!({ "uri": uri_str(&std_file), "range": range(param_line, 6, param_line, 19) })
    );
    assert_eq!(
        c.request("textDocument/definition", json!({ "textDocument": doc(&user), "position": pos(0, 9) })).await,
        json!({ "uri": uri_str(&std_file), "range": range(1, 7, 1, 18) })
    );
    assert!(std::fs::metadata(&std_file).unwrap().permissions().readonly());

    // References: declaration and uses, across files.
    let refs = |position: Value, include: bool| json!({ "textDocument": doc(&main), "position": position, "context": { "includeDeclaration": include } });
    assert_eq!(
        c.request("textDocument/references", refs(find(MAIN, "max_model_size", 0, 1), true)).await,
        json!([
            { "uri": uri_str(&main), "range": range(3, 6, 3, 20) },
            { "uri": uri_str(&main), "range": range(12, 22, 12, 36) }
        ])
    );
    assert_eq!(
        c.request("textDocument/references", refs(find(MAIN, "max_model_size", 0, 1), false)).await,
        json!([{ "uri": uri_str(&main), "range": range(12, 22, 12, 36) }])
    );
    assert_eq!(
        c.request("textDocument/references", refs(find(MAIN, "is_yaml", 0, 1), true)).await,
        json!([
            { "uri": uri_str(&common), "range": range(4, 3, 4, 10) },
            { "uri": uri_str(&main), "range": range(14, 55, 14, 62) }
        ])
    );
    // The stdlib's param, used from the user's file.
    let std_refs = c
        .request(
            "textDocument/references",
            json!({ "textDocument": doc(&user), "position": pos(2, 16), "context": { "includeDeclaration": false } }),
        )
        .await;
    let uses: Vec<&str> = std_refs.as_array().unwrap().iter().map(|l| l["uri"].as_str().unwrap()).collect();
    assert_eq!(uses, [uri_str(&std_file).as_str(), uri_str(&user).as_str()]);
    // A local's references stay in its scope.
    assert_eq!(
        c.request("textDocument/references", refs(find(MAIN, "f in", 0, 0), true)).await,
        json!([
            { "uri": uri_str(&main), "range": range(11, 6, 11, 7) },
            { "uri": uri_str(&main), "range": range(12, 12, 12, 13) },
            { "uri": uri_str(&main), "range": range(12, 45, 12, 46) },
            { "uri": uri_str(&main), "range": range(12, 50, 12, 51) },
            { "uri": uri_str(&main), "range": range(12, 62, 12, 63) }
        ])
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbols_of_the_document_and_the_workspace() {
    let (mut c, root) = workspace("symbols").await;
    let main = root.join("policies/main.mlpol");
    c.open(&main, 1, MAIN).await;
    assert_eq!(
        c.request("textDocument/documentSymbol", json!({ "textDocument": doc(&main) })).await,
        json!([
            { "name": "common", "detail": "import", "kind": 3, "range": range(0, 0, 0, 18), "selectionRange": range(0, 12, 0, 18) },
            { "name": "max_model_size", "detail": "param", "kind": 14, "range": range(2, 0, 3, 35), "selectionRange": range(3, 6, 3, 20) },
            { "name": "team.models.small", "detail": "Model Protection", "kind": 5, "range": range(5, 0, 16, 1), "selectionRange": range(6, 6, 6, 23) }
        ])
    );
    assert_eq!(
        c.request("workspace/symbol", json!({ "query": "team.models.small" })).await,
        json!([{
            "name": "team.models.small — Model Protection", "kind": 5, "containerName": "main.mlpol",
            "location": { "uri": uri_str(&main), "range": range(6, 6, 6, 23) }
        }])
    );
    // The bundled checks are found too, by title.
    let found = c.request("workspace/symbol", json!({ "query": "Secrets Not in Code" })).await;
    assert_eq!(found[0]["name"], "secrets.not_in_code — Secrets Not in Code");
    assert_eq!(found[0]["containerName"], "std.secrets");
    assert_eq!(found[0]["location"]["uri"], uri_str(&root.join(".std/std/secrets.mlpol")));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formatting_uses_the_formatter() {
    let (mut c, root) = workspace("format").await;
    let path = root.join("policies/ugly.mlpol");
    c.open(&path, 1, "check a.b{\ntitle=\"T\"\n}\n").await;
    let options = json!({ "tabSize": 2, "insertSpaces": true });
    assert_eq!(
        c.request("textDocument/formatting", json!({ "textDocument": doc(&path), "options": options })).await,
        json!([{ "range": range(0, 0, 3, 0), "newText": "check a.b {\n  title = \"T\"\n}\n" }])
    );
    c.change(&path, 2, "check a.b {\n  title = \"T\"\n}\n").await;
    assert_eq!(
        c.request("textDocument/formatting", json!({ "textDocument": doc(&path), "options": options })).await,
        json!([])
    );
    c.shutdown().await;
}

fn ninety_days() -> String {
    let today = mlpol_stdlib::config::Date::today();
    mlpol_stdlib::config::Date::from_days(today.days() + 90).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_actions_fix_misspellings_and_add_waivers() {
    let (mut c, root) = workspace("actions").await;
    let bad = root.join("policies/bad.mlpol");
    c.open(&bad, 1, BAD).await;
    c.diagnostics(&bad, json!(1)).await;
    let actions = c
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": doc(&bad), "range": range(3, 14, 3, 14), "context": { "diagnostics": [] } }),
        )
        .await;
    let toml = root.join("mlpol.toml");
    let waiver = format!(
        "[[waiver]]\ncheck = \"team.bad\"\nreason = \"TODO: why this check does not apply\"\nowner = \"TODO: who answers for it\"\nexpires = {}\n",
        ninety_days()
    );
    assert_eq!(
        actions,
        json!([
            {
                "title": "Replace `hgih` with `high`",
                "kind": "quickfix",
                "diagnostics": [{
                    "range": range(3, 13, 3, 17), "severity": 1, "code": "E0203", "source": "mlpol",
                    "message": "unknown severity `hgih`\nhelp: did you mean `high`?"
                }],
                "edit": { "changes": { uri_str(&bad): [{ "range": range(3, 13, 3, 17), "newText": "high" }] } },
                "isPreferred": true
            },
            {
                "title": "Add a waiver for `team.bad` to mlpol.toml",
                "kind": "quickfix",
                "edit": { "documentChanges": [
                    { "kind": "create", "uri": uri_str(&toml), "options": { "overwrite": false, "ignoreIfExists": true } },
                    { "textDocument": { "uri": uri_str(&toml), "version": null }, "edits": [{ "range": range(0, 0, 0, 0), "newText": waiver }] }
                ] }
            }
        ])
    );
    // With an mlpol.toml, the waiver is appended after a blank line.
    std::fs::write(&toml, "[params]\nx = \"1\"").unwrap();
    let actions = c
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": doc(&bad), "range": range(4, 11, 4, 11), "context": { "diagnostics": [] } }),
        )
        .await;
    assert_eq!(actions[0]["title"], "Replace `lenn` with `len`");
    assert_eq!(
        actions[0]["edit"],
        json!({ "changes": { uri_str(&bad): [{ "range": range(4, 10, 4, 14), "newText": "len" }] } })
    );
    assert_eq!(
        actions[1]["edit"],
        json!({ "changes": { uri_str(&toml): [{ "range": range(1, 7, 1, 7), "newText": format!("\n\n{waiver}") }] } })
    );
    // The appended waiver parses as a waiver.
    let appended = format!("[params]\nx = \"1\"\n\n{waiver}");
    let config = mlpol_stdlib::config::parse("mlpol.toml", &appended).unwrap();
    assert_eq!(config.waivers[0].check, "team.bad");
    c.shutdown().await;
}

/// `(line, column, length, type)` of each semantic token.
fn decode(data: &Value) -> Vec<(u32, u32, u32, &'static str, u32)> {
    const TYPES: [&str; 13] = [
        "keyword",
        "comment",
        "string",
        "regexp",
        "number",
        "operator",
        "variable",
        "function",
        "namespace",
        "property",
        "type",
        "enumMember",
        "method",
    ];
    let data: Vec<u32> = data.as_array().unwrap().iter().map(|n| n.as_u64().unwrap() as u32).collect();
    let (mut line, mut col) = (0, 0);
    data.chunks(5)
        .map(|t| {
            if t[0] > 0 {
                col = 0;
            }
            line += t[0];
            col += t[1];
            (line, col, t[2], TYPES[t[3] as usize], t[4])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_tokens_from_the_lexer() {
    let (mut c, root) = workspace("tokens").await;
    let path = root.join("policies/t.mlpol");
    let text = "/// Doc.\ncheck a.b {\n  severity = high\n  for f in files.glob(\"*\") {\n    require f.size > 1MiB and len(f.path) != 0 // ok\n  }\n}\n";
    c.open(&path, 1, text).await;
    let tokens = c.request("textDocument/semanticTokens/full", json!({ "textDocument": doc(&path) })).await;
    assert_eq!(
        decode(&tokens["data"]),
        vec![
            (0, 0, 8, "comment", 1),
            (1, 0, 5, "keyword", 0),
            (1, 6, 1, "namespace", 4),
            (1, 8, 1, "namespace", 0),
            (2, 2, 8, "property", 4),
            (2, 11, 1, "operator", 0),
            (2, 13, 4, "enumMember", 0),
            (3, 2, 3, "keyword", 0),
            (3, 6, 1, "variable", 4),
            (3, 8, 2, "keyword", 0),
            (3, 11, 5, "namespace", 2),
            (3, 17, 4, "method", 0),
            (3, 22, 3, "string", 0),
            (4, 4, 7, "keyword", 0),
            (4, 12, 1, "variable", 0),
            (4, 14, 4, "property", 0),
            (4, 19, 1, "operator", 0),
            (4, 21, 4, "number", 0),
            (4, 26, 3, "keyword", 0),
            (4, 30, 3, "function", 2),
            (4, 34, 1, "variable", 0),
            (4, 36, 4, "property", 0),
            (4, 42, 2, "operator", 0),
            (4, 45, 1, "number", 0),
            (4, 47, 5, "comment", 0),
        ]
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_command_sets_code_lenses() {
    let root = temp_dir("evaluate");
    fixture::write_workspace(&root);
    write(
        &root,
        &[
            ("model.onnx", "0123456789"),
            (
                "policies/tiny.mlpol",
                "check team.models.tiny {\n  title = \"Model Protection\"\n  section = [\"Model Security\"]\n  severity = low\n  for f in files.glob(\"*.onnx\") {\n    require f.size <= 1B else at f: \"{f.path} is too big\"\n  }\n}\n",
            ),
        ],
    );
    let mut c = Client::start(&root).await;
    let tiny = root.join("policies/tiny.mlpol");
    let main = root.join("policies/main.mlpol");
    c.open(&tiny, 1, &std::fs::read_to_string(&tiny).unwrap()).await;
    let lens = |path: &Path| json!({ "textDocument": doc(path) });
    assert_eq!(
        c.request("textDocument/codeLens", lens(&tiny)).await,
        json!([{ "range": range(0, 6, 0, 22), "command": { "title": "▶ evaluate", "command": "mlpol.evaluate" } }])
    );
    let result = c.request("workspace/executeCommand", json!({ "command": "mlpol.evaluate", "arguments": [] })).await;
    assert_eq!(result["checks"]["team.models.tiny"], "fail");
    assert_eq!(result["checks"]["team.models.small"], "pass");
    assert_eq!(result["checks"]["secrets.not_in_code"], "pass");
    c.wait_for("a code lens refresh", |m| m["method"] == "workspace/codeLens/refresh").await;
    let lenses = c.request("textDocument/codeLens", lens(&tiny)).await;
    assert_eq!(lenses[0]["command"]["command"], "mlpol.evaluate");
    let title = lenses[0]["command"]["title"].as_str().unwrap();
    assert!(title.starts_with("✘ fail · 1 finding"), "{title}");
    assert_eq!(
        c.request("textDocument/codeLens", lens(&main)).await,
        json!([{ "range": range(6, 6, 6, 23), "command": { "title": "✔ pass — every requirement holds", "command": "mlpol.evaluate" } }])
    );
    // The check's hover shows the last status.
    let h = hover(&mut c, &tiny, pos(0, 8)).await;
    assert!(h["contents"]["value"].as_str().unwrap().contains("**Last evaluation:** fail"), "{h}");

    // A file with errors is left out, and says so; the rest is evaluated.
    c.change(&tiny, 2, &BAD.replace("team.bad", "team.models.tiny")).await;
    let result = c.request("workspace/executeCommand", json!({ "command": "mlpol.evaluate" })).await;
    assert!(
        result["summary"].as_str().unwrap().ends_with("not evaluated (they have errors): policies/tiny.mlpol"),
        "{result}"
    );
    assert_eq!(result["checks"]["team.models.small"], "pass");
    let lenses = c.request("textDocument/codeLens", lens(&tiny)).await;
    assert_eq!(lenses[0]["command"]["title"], "⚠ not evaluated: this file has errors");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_created_on_disk_join_the_workspace() {
    let (mut c, root) = workspace("watch").await;
    let new = root.join("policies/new.mlpol");
    std::fs::write(&new, "let x = unknown_thing\n").unwrap();
    c.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": uri_str(&new), "type": 1 }] })).await;
    let diags = c.diagnostics(&new, Value::Null).await;
    assert_eq!(diags[0]["code"], "E0101");
    std::fs::remove_file(&new).unwrap();
    c.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": uri_str(&new), "type": 3 }] })).await;
    c.wait_for("cleared diagnostics", |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == uri_str(&new)
            && m["params"]["diagnostics"] == json!([])
    })
    .await;
    // A document outside the workspace folders is checked while open.
    let outside = temp_dir("outside").join("loose.mlpol");
    c.open(&outside, 7, "let y = lenn(\"a\")\n").await;
    assert_eq!(c.diagnostics(&outside, json!(7)).await[0]["code"], "E0101");
    c.notify("textDocument/didClose", json!({ "textDocument": doc(&outside) })).await;
    c.wait_for("cleared diagnostics of the closed document", |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == uri_str(&outside)
            && m["params"]["diagnostics"] == json!([])
    })
    .await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stdlib_sources_in_the_workspace_shadow_the_bundled_modules() {
    // A checkout of mlpol itself: `module std.secrets` is in the workspace.
    let root = temp_dir("shadow");
    let (_, secrets) = mlpol_stdlib::program::BUNDLED.iter().find(|(p, _)| *p == "std/secrets.mlpol").unwrap();
    write(
        &root,
        &[
            ("stdlib/checklist/secrets.mlpol", secrets),
            ("policies/use.mlpol", "import std.secrets as s\n\nlet d = s.history_depth\n"),
        ],
    );
    let mut c = Client::start(&root).await;
    let source = root.join("stdlib/checklist/secrets.mlpol");
    // No clash with the bundled copy (same module name, same check ids).
    assert_eq!(c.diagnostics(&source, Value::Null).await, json!([]));
    let user = root.join("policies/use.mlpol");
    assert_eq!(c.diagnostics(&user, Value::Null).await, json!([]));
    let line = secrets.lines().position(|l| l.starts_with("param history_depth")).unwrap() as u32;
    c.open(&user, 1, "import std.secrets as s\n\nlet d = s.history_depth\n").await;
    assert_eq!(
        c.request("textDocument/definition", json!({ "textDocument": doc(&user), "position": pos(2, 12) })).await,
        json!({ "uri": uri_str(&source), "range": range(line, 6, line, 19) })
    );
    c.shutdown().await;
}
