//! Over every `.mlpol` file in the repository: formatting is idempotent,
//! keeps the syntax tree (spans aside), and the committed files are already
//! formatted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use mlpol_lang::fmt::format;
use mlpol_lang::syntax::{parse_item, split_items};
use std::path::{Path, PathBuf};

fn mlpol_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | ".git" | ".ci" | "node_modules" | "fuzz") {
                mlpol_files(&path, out);
            }
        } else if name.ends_with(".mlpol") {
            out.push(path);
        }
    }
}

/// The items of a text as JSON without spans.
fn trees(text: &str) -> Vec<serde_json::Value> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("span");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(xs) => xs.iter_mut().for_each(strip),
            _ => {}
        }
    }
    split_items(text)
        .into_iter()
        .map(|r| {
            let parse = parse_item(&text[r]);
            assert!(parse.errors.is_empty(), "{:?}", parse.errors);
            let mut v = serde_json::to_value(&parse.ast).unwrap();
            strip(&mut v);
            v
        })
        .collect()
}

#[test]
fn every_policy_in_the_repository_round_trips_through_the_formatter() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    mlpol_files(root, &mut files);
    assert!(files.len() >= 3, "found {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let once = format(&text);
        assert_eq!(format(&once), once, "{} is not idempotent", file.display());
        assert_eq!(trees(&once), trees(&text), "{}: formatting changed the tree", file.display());
        assert_eq!(once, text, "{} is not formatted: run `mlpol fmt {}`", file.display(), file.display());
    }
}
