//! Incrementality: a warm database whose file is edited gives the same
//! diagnostics as a fresh database for the new text, and so does editing it
//! back. The input is `old \0 new`, or else a text with an edit chosen by its
//! first two bytes (where, and how many bytes to delete or duplicate).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mlpol_lang::db;
use salsa::Setter as _;

fuzz_target!(|data: &[u8]| {
    let [at, len, rest @ ..] = data else { return };
    let text = String::from_utf8_lossy(rest);
    let (old, new) = match text.split_once('\0') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => {
            let start = floor(&text, *at as usize * text.len() / 256);
            let end = floor(&text, (start + (*len as usize & 0x7f)).min(text.len()));
            let (a, b) = (&text[..start], &text[end..]);
            let edited = if *len & 0x80 == 0 {
                format!("{a}{b}")
            } else {
                format!("{a}{}{}", &text[start..end], &text[start..])
            };
            (text.to_string(), edited)
        }
    };
    common::on_small_stack(move || recheck(old, new));
});

fn recheck(old: String, new: String) {
    let mut warm = common::database();
    let (ws, file) = common::one_file(&warm, &old);
    db::file_diagnostics(&warm, ws, file);
    for text in [&new, &old] {
        file.set_text(&mut warm).to(text.clone());
        let incremental = db::file_diagnostics(&warm, ws, file).clone();
        let fresh = common::diagnostics(text);
        assert_eq!(incremental, fresh, "a warm database disagrees with a fresh one");
    }
}

fn floor(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}
