//! Helpers shared by the document tests: reach into a parsed value by path.
#![allow(dead_code, clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use mlpol_lang::value::{Kind, Value};

/// The value at `path` (map keys, or list indexes as numbers).
pub fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    let mut cur = v;
    for step in path {
        cur = match &cur.kind {
            Kind::Map(_) => cur.get(step).unwrap_or_else(|| panic!("no key {step:?} in {cur}")),
            Kind::List(items) => {
                let i: usize = step.parse().unwrap_or_else(|_| panic!("{step:?} is not an index"));
                items.get(i).unwrap_or_else(|| panic!("no element {i} in {cur}"))
            }
            _ => panic!("cannot step {step:?} into {cur}"),
        };
    }
    cur
}

pub fn line(v: &Value, path: &[&str]) -> u32 {
    let value = at(v, path);
    let origin = value.origin.as_ref().unwrap_or_else(|| panic!("{path:?} has no origin"));
    origin.line.unwrap_or_else(|| panic!("{path:?} has no line"))
}

pub fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).as_str().unwrap_or_else(|| panic!("{path:?} is not a string: {}", at(v, path)))
}
