//! Bytes → (lossy) text → the whole pipeline: item splitting, parsing,
//! checking, diagnostics and their rendering. Must never panic or overflow,
//! and must report an error for text that is obviously invalid.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The CLI reads files the same way.
    let text = String::from_utf8_lossy(data).into_owned();
    common::on_small_stack(move || {
        common::diagnostics(&text);
    });
});
