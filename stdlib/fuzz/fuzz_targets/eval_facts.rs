//! The evaluator over arbitrary facts: the bundled checklist (every module of
//! `stdlib/checklist`) evaluated with every fact call answered from the
//! fuzzer's bytes. Values mostly follow the schema's return type (records
//! with their fields, lists, optional nulls, strings from the policies' own
//! literals) so that the checks get past their first field access, and
//! sometimes are of any shape at all (a snapshot may hold anything), or the
//! fact fails or is skipped.
//!
//! For any input the evaluation ends (the step limit; the fuzzer's timeout),
//! never panics or overflows a 2 MiB stack, gives each check one result, an
//! `error` or `skip` a reason, and never shows the clear text of a secret.
#![no_main]

#[path = "docs.rs"]
mod docs;

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use mlpol_lang::eval::{self, FactCall, FactError, FactSource, Limits, Status};
use mlpol_lang::types::{Schema, Type};
use mlpol_lang::value::{Kind, Origin, Params, Value};
use mlpol_stdlib::program::{Program, BUNDLED};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The middle of every secret's clear text: the redacted form shows only
/// the first four and last three characters.
const CLEAR: &str = "cLeArTeXt";
/// Deepest value made for `any`/`doc`.
const MAX_DEPTH: usize = 6;

struct Fixture {
    program: Program,
    checks: usize,
    schema: Schema,
    strings: Vec<String>,
}

fn fixture() -> &'static Mutex<Fixture> {
    static FIXTURE: OnceLock<Mutex<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let program = Program::new(vec![], true);
        assert!(!program.has_errors(), "the bundled checklist has errors");
        let checks = eval::check_metas(&program.db, program.ws).len();
        Mutex::new(Fixture { program, checks, schema: mlpol_stdlib::schema::schema(), strings: strings() })
    })
}

/// The string literals of the bundled policies (what they compare facts
/// with) and a few values of interest.
fn strings() -> Vec<String> {
    let mut out: Vec<String> = [
        "",
        "latest",
        "root",
        "0",
        "0.0.0.0",
        "127.0.0.1",
        "*",
        "http://example.com",
        "https://example.com/a?b=c",
        "../..",
        "/",
        "a.yaml",
        "Dockerfile",
        "requirements.txt",
        ".env",
        "true",
        "false",
        "null",
        "1.0.0",
        "==1.2.3",
        ">=2",
        "sha256:0123456789abcdef",
        "é",
        "\u{0}",
        "{",
        "[a-",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (_, text) in BUNDLED {
        for (i, part) in text.split('"').enumerate() {
            if i % 2 == 1 && part.len() <= 64 && !part.contains('\n') && !part.contains('\\') {
                out.push(part.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Facts made from the input, the same value for the same call.
struct FuzzFacts<'a> {
    data: RefCell<Unstructured<'a>>,
    schema: &'a Schema,
    strings: &'a [String],
    cache: RefCell<HashMap<String, Result<Value, FactError>>>,
}

impl FactSource for FuzzFacts<'_> {
    fn fact(&self, call: &FactCall) -> Result<Value, FactError> {
        let key = call.key();
        if let Some(r) = self.cache.borrow().get(&key) {
            return r.clone();
        }
        let ret = self.schema.fact_fn(&call.namespace, &call.name).map(|f| f.ret.clone());
        let r = {
            let mut u = self.data.borrow_mut();
            match (byte(&mut u), ret) {
                (0..=7, _) => Err(FactError::new(format!("fuzz: `{key}` failed"))),
                (8..=9, _) => Err(FactError { skipped: true, ..FactError::new("fuzz: skipped") }),
                (_, Some(ret)) => Ok(Gen { u: &mut u, strings: self.strings, schema: self.schema }.typed(&ret, 0)),
                (_, None) => Ok(Gen { u: &mut u, strings: self.strings, schema: self.schema }.any(0)),
            }
        };
        self.cache.borrow_mut().insert(key, r.clone());
        r
    }
}

fn byte(u: &mut Unstructured) -> u8 {
    u.arbitrary().unwrap_or(0xff)
}

struct Gen<'u, 'a> {
    u: &'u mut Unstructured<'a>,
    strings: &'a [String],
    schema: &'a Schema,
}

impl Gen<'_, '_> {
    fn byte(&mut self) -> u8 {
        byte(self.u)
    }

    /// A value of type `ty`; one time in 32, of any type.
    fn typed(&mut self, ty: &Type, depth: usize) -> Value {
        if self.byte() < 8 {
            return self.any(depth);
        }
        let v = match ty {
            Type::Error | Type::Any | Type::Doc => return self.any(depth),
            Type::Null => Value::null(),
            Type::Bool => Value::bool(self.byte() & 1 == 1),
            Type::Int => Value::int(self.int()),
            Type::Float => Value::new(Kind::Float(self.float())),
            Type::Str => self.string(),
            Type::Duration => Value::new(Kind::Duration(self.int())),
            Type::Size => Value::new(Kind::Size(self.int())),
            Type::Regex => Value::new(Kind::Regex(self.str().into())),
            Type::List(t) => {
                let n = self.len();
                Value::list((0..n).map(|_| self.typed(t, depth + 1)).collect())
            }
            Type::Map(t) => {
                let n = self.len();
                Value::map((0..n).map(|_| (self.str(), self.typed(t, depth + 1))).collect())
            }
            Type::Record(name) => match self.schema.records.get(name) {
                Some(def) => {
                    let fields: Vec<(String, Type)> =
                        def.fields.iter().map(|f| (f.name.clone(), f.ty.clone())).collect();
                    self.record(&fields, depth)
                }
                None => self.any(depth),
            },
            Type::Struct(fields) => self.record(fields, depth),
            Type::Optional(t) => {
                if self.byte() < 64 {
                    Value::null()
                } else {
                    return self.typed(t, depth);
                }
            }
        };
        self.locate(v)
    }

    /// A record; one field in 64 left out.
    fn record(&mut self, fields: &[(String, Type)], depth: usize) -> Value {
        let mut out = Vec::new();
        for (name, ty) in fields {
            if self.byte() >= 4 {
                out.push((name.clone(), self.typed(ty, depth + 1)));
            }
        }
        Value::map(out)
    }

    /// A value of any shape.
    fn any(&mut self, depth: usize) -> Value {
        let pick = if depth >= MAX_DEPTH { self.byte() % 6 } else { self.byte() % 8 };
        let v = match pick {
            0 => Value::null(),
            1 => Value::bool(self.byte() & 1 == 1),
            2 => Value::int(self.int()),
            3 => Value::new(Kind::Float(self.float())),
            4 | 5 => self.string(),
            6 => {
                let n = self.len();
                Value::list((0..n).map(|_| self.any(depth + 1)).collect())
            }
            _ => {
                let n = self.len();
                Value::map((0..n).map(|_| (self.str(), self.any(depth + 1))).collect())
            }
        };
        self.locate(v)
    }

    /// Up to 4 elements; the input bounds the total.
    fn len(&mut self) -> usize {
        if self.u.is_empty() {
            0
        } else {
            usize::from(self.byte() % 5)
        }
    }

    fn int(&mut self) -> i64 {
        match self.byte() % 8 {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => i64::MAX,
            4 => i64::MIN,
            5 => i64::from(self.byte()),
            _ => self.u.arbitrary().unwrap_or(0),
        }
    }

    fn float(&mut self) -> f64 {
        match self.byte() % 6 {
            0 => 0.0,
            1 => f64::NAN,
            2 => f64::INFINITY,
            3 => -0.5,
            _ => self.u.arbitrary().unwrap_or(0.0),
        }
    }

    /// A string, or now and then a secret.
    fn string(&mut self) -> Value {
        if self.byte() < 16 {
            let tail: String = (0..4).map(|_| char::from(b'a' + self.byte() % 26)).collect();
            return Value::secret(&format!("AKIA{CLEAR}{tail}XYZ"));
        }
        Value::str(self.str())
    }

    /// One of the policies' literals, one with fuzzed bytes appended, or
    /// fuzzed text.
    fn str(&mut self) -> String {
        let b = self.byte();
        let pick = |g: &mut Self| -> String {
            let i: usize = g.u.arbitrary::<u16>().unwrap_or(0).into();
            g.strings.get(i % g.strings.len().max(1)).cloned().unwrap_or_default()
        };
        match b % 4 {
            0 | 1 => pick(self),
            2 => {
                let s = pick(self);
                let n = usize::from(self.byte() % 8);
                let extra: String =
                    self.u.bytes(n.min(self.u.len())).map(String::from_utf8_lossy).unwrap_or_default().into();
                s + &extra
            }
            _ => {
                let n = usize::from(self.byte() % 16);
                self.u.bytes(n.min(self.u.len())).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
            }
        }
    }

    /// Half the values get an origin, as collected ones do.
    fn locate(&mut self, v: Value) -> Value {
        match self.byte() % 4 {
            0 => v.with_origin(Origin::file("fuzz/file.yaml", Some(u32::from(self.byte())))),
            1 => v.with_origin(Origin::uri("https://fuzz.example/x")),
            _ => v,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    docs::on_small_stack(move || run(&data));
});

fn run(data: &[u8]) {
    let fixture = fixture().lock().unwrap_or_else(|p| p.into_inner());
    let facts = FuzzFacts {
        data: RefCell::new(Unstructured::new(data)),
        schema: &fixture.schema,
        strings: &fixture.strings,
        cache: RefCell::new(HashMap::new()),
    };
    let program = &fixture.program;
    let results = eval::evaluate(&program.db, program.ws, &facts, &Params::new(), None, Limits::default());
    assert_eq!(results.len(), fixture.checks, "not every check has a result");
    for r in &results {
        if matches!(r.status, Status::Error | Status::Skip) {
            assert!(!r.message.trim().is_empty(), "{} is {} without a reason", r.meta.id, r.status.as_str());
        }
        let mut texts = vec![r.message.as_str()];
        texts.extend(r.findings.iter().map(|f| f.message.as_str()));
        for t in texts {
            assert!(!t.contains(CLEAR), "{}: a secret in clear: {t}", r.meta.id);
        }
    }
}
