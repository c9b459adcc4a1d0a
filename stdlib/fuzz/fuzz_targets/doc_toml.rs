//! The Toml document parser (`mlpol_stdlib::docs::parse`): see `docs.rs`
//! for what must hold for any input.
#![no_main]

#[path = "docs.rs"]
mod docs;

use libfuzzer_sys::fuzz_target;
use mlpol_stdlib::docs::Format;

fuzz_target!(|data: &[u8]| docs::check(Format::Toml, "fuzz.toml", data));
