//! Regressions found by the fuzz targets of `stdlib/fuzz` (see
//! docs/fuzzing.md), one test per finding, with the input inlined.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use mlpol_lang::value::{Kind, Value};
use mlpol_stdlib::docs::{parse, Format};

/// doc_yaml: a text cut in the middle of its last line, without a line
/// break, gave an error one line past the end of the file.
#[test]
fn a_yaml_error_at_the_end_is_on_the_last_line() {
    let text = "groups:\n  - name: capacity\n    rules:\n      - alert: HighCpu\n        exp :rra";
    let e = parse(Format::Yaml, "rules.yaml", text).unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");
    // The same with a lone `\r` as the line break (YAML counts it).
    let e = parse(Format::Yaml, "rules.yaml", &text.replace('\n', "\r")).unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");
}

/// doc_toml / doc_yaml: NaN and infinities are valid TOML and YAML floats,
/// but a fact snapshot wrote them as `null` and could not be read back.
#[test]
fn non_finite_floats_survive_a_snapshot() {
    for (format, text) in [
        (Format::Toml, "a = nan\nb = inf\nc = -inf\nd = 1.5\n"),
        (Format::Yaml, "a: .nan\nb: .inf\nc: -.inf\nd: 1.5\n"),
    ] {
        let doc = parse(format, "x", text).unwrap();
        let json = serde_json::to_string(&doc).unwrap();
        let back: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{format:?}: {e}: {json}"));
        let float = |v: &Value, k: &str| match v.get(k).map(|x| &x.kind) {
            Some(Kind::Float(f)) => *f,
            other => panic!("{k}: {other:?}"),
        };
        assert!(float(&back, "a").is_nan(), "{json}");
        assert_eq!(float(&back, "b"), f64::INFINITY, "{json}");
        assert_eq!(float(&back, "c"), f64::NEG_INFINITY, "{json}");
        assert_eq!(float(&back, "d"), 1.5, "{json}");
        assert_eq!(back.get("b").unwrap().origin, doc.get("b").unwrap().origin);
    }
}

/// Found by `doc_json`: a float with 17 significant digits read back from a
/// snapshot one bit off until serde_json's `float_roundtrip` was enabled.
#[test]
fn floats_survive_a_snapshot_bit_for_bit() {
    for text in ["1.2300000000901709e29", "0.30000000000000004", "2.2250738585072014e-308", "1.7976931348623157e308"] {
        let doc = parse(Format::Json, "x.json", &format!("{{\"a\": {text}}}")).unwrap();
        let before = match doc.get("a").map(|v| &v.kind) {
            Some(Kind::Float(f)) => *f,
            other => panic!("{other:?}"),
        };
        let back: Value = serde_json::from_str(&serde_json::to_string(&doc).unwrap()).unwrap();
        match back.get("a").map(|v| &v.kind) {
            Some(Kind::Float(f)) => assert_eq!(f.to_bits(), before.to_bits(), "{text}"),
            other => panic!("{other:?}"),
        }
    }
}
