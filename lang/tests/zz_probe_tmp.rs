#![allow(clippy::unwrap_used)]
mod common;
use mlpol_lang::db;
fn diags(text: &str) -> usize {
    let db = common::database();
    let (ws, files) = common::workspace(&db, &[("main.mlpol".to_string(), text.to_string())]);
    db::file_diagnostics(&db, ws, files[0]).len()
}
#[test]
fn probe() {
    for n in [15, 30, 60] {
        for (name, t) in [
            ("junk open", format!("check a.b {{\n  x {}\n}}\n", "{".repeat(n))),
            ("junk brace-quote", format!("check a.b {{\n  x {}\n}}\n", "{\"".repeat(n))),
            ("junk quote-brace", format!("check a.b {{\n  x {}\n}}\n", "\"{".repeat(n))),
            ("require quote-brace", format!("check a.b {{\n  require {}\n}}\n", "\"{".repeat(n))),
            ("let quote-brace", format!("let x = {}\n", "\"{".repeat(n))),
            ("junk brace-paren", format!("check a.b {{\n  x {}\n}}\n", "{(".repeat(n))),
            ("record open", format!("check a.b {{\n  require {}\n}}\n", "{a: ".repeat(n))),
            ("if open", format!("check a.b {{\n  {}\n}}\n", "if x {\n".repeat(n))),
            ("for open", format!("check a.b {{\n  {}\n}}\n", "for x in y {\n".repeat(n))),
            ("call open", format!("check a.b {{\n  require {}\n}}\n", "f(".repeat(n))),
            ("quant open", format!("check a.b {{\n  require {}\n}}\n", "all x in ".repeat(n))),
            ("if expr open", format!("let x = {}\n", "if x then ".repeat(n))),
            ("interp paren", format!("let x = {}\n", "\"{(".repeat(n))),
            ("list/record", format!("let x = {}\n", "[{a: ".repeat(n/2))),
            ("else if", format!("check a.b {{\n  if x {{}} {}\n}}\n", "else if x {".repeat(n))),
            ("fn open", format!("fn f(x: int) -> int {{ {} }}\n", "(".repeat(n))),
            ("closing", format!("check a.b {{\n x {}\n}}\n", "{}".repeat(n))),
            ("quotes", format!("check a.b {{\n x {}\n}}\n", "{\"{".repeat(n))),
        ] {
            let s = std::time::Instant::now();
            diags(&t);
            let e = s.elapsed();
            if e.as_millis() > 5 { println!("{name} n={n}: {:?}", e); }
        }
    }
}
