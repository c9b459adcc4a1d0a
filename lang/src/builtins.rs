//! Pure built-in functions. Each is callable as `f(x, y)` or, on its first
//! argument, as a method `x.f(y)`. The checker types calls with
//! [`result_type`]; the evaluator implements them in `eval`.

use crate::types::Type;

pub struct Builtin {
    pub name: &'static str,
    pub signature: &'static str,
    pub doc: &'static str,
    pub min_args: usize,
    pub max_args: usize,
}

macro_rules! builtins {
    ($($name:literal, $min:literal, $max:literal, $sig:literal, $doc:literal;)*) => {
        pub const BUILTINS: &[Builtin] = &[
            $(Builtin { name: $name, signature: $sig, doc: $doc, min_args: $min, max_args: $max },)*
        ];
    };
}

builtins! {
    "len", 1, 1, "len(x: list | map | string | doc) -> int", "Number of elements of a list or map, or characters of a string.";
    "is_empty", 1, 1, "is_empty(x: list | map | string | doc) -> bool", "True when `len(x) == 0` or `x` is null.";
    "lower", 1, 1, "lower(s: string) -> string", "The string in lower case.";
    "upper", 1, 1, "upper(s: string) -> string", "The string in upper case.";
    "trim", 1, 1, "trim(s: string) -> string", "The string without leading and trailing whitespace.";
    "starts_with", 2, 2, "starts_with(s: string, prefix: string) -> bool", "True when `s` begins with `prefix`.";
    "ends_with", 2, 2, "ends_with(s: string, suffix: string) -> bool", "True when `s` ends with `suffix`.";
    "contains", 2, 2, "contains(x: string | list | map | doc, item: any) -> bool", "Substring, element or key membership; the same as `item in x`.";
    "split", 2, 2, "split(s: string, separator: string) -> list<string>", "The parts of `s` between separators.";
    "join", 2, 2, "join(parts: list<string>, separator: string) -> string", "The parts joined by the separator.";
    "replace", 3, 3, "replace(s: string, from: string, to: string) -> string", "Every `from` in `s` replaced by `to`.";
    "keys", 1, 1, "keys(x: map | doc) -> list<string>", "The keys of a map or document mapping, in document order.";
    "values", 1, 1, "values(x: map | doc) -> list", "The values of a map or document mapping, in document order.";
    "int", 1, 1, "int(x: any) -> int?", "The value as an integer (from a number, a numeric string, a duration in seconds or a size in bytes), or null.";
    "float", 1, 1, "float(x: any) -> float?", "The value as a float, or null.";
    "string", 1, 1, "string(x: any) -> string", "The value as text.";
    "bool", 1, 1, "bool(x: any) -> bool?", "`true`/`false`/`yes`/`no`/`on`/`off`/`1`/`0` (any case) as a boolean, or null.";
    "days", 1, 1, "days(d: duration) -> int", "Whole days in a duration.";
    "duration", 1, 1, "duration(x: string | int) -> duration?", "Parses `90d`, `12h`, `30m`, `45s`, `2w` (or seconds as an int), or null.";
    "size", 1, 1, "size(x: string | int) -> size?", "Parses `10MiB`, `512KB`, `1GB` (or bytes as an int), or null.";
    "sum", 1, 1, "sum(xs: list<int | float>) -> int | float", "The sum of the numbers.";
    "min", 1, 1, "min(xs: list) -> any?", "The least element, or null for an empty list.";
    "max", 1, 1, "max(xs: list) -> any?", "The greatest element, or null for an empty list.";
    "unique", 1, 1, "unique(xs: list) -> list", "The elements without repeats, first occurrence kept.";
    "sorted", 1, 1, "sorted(xs: list) -> list", "The elements in ascending order.";
    "flatten", 1, 1, "flatten(xss: list<list>) -> list", "The lists concatenated.";
    "type_of", 1, 1, "type_of(x: any) -> string", "The run-time type name: `null`, `bool`, `int`, `float`, `string`, `list`, `map`, ...";
    "find", 2, 2, "find(s: string, pattern: regex | string) -> string?", "The first match of the regular expression in `s`, or null.";
    "find_all", 2, 2, "find_all(s: string, pattern: regex | string) -> list<string>", "Every match of the regular expression in `s`.";
    "entropy", 1, 1, "entropy(s: string) -> float", "Shannon entropy of the string in bits per character (high for random keys).";
    "bits", 2, 2, "bits(x: int, mask: int) -> int", "The bits of `x` that are set in `mask` (`x & mask`): `bits(f.mode, 0o027) == 0` means no group write and no access for others.";
}

pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

fn want(ok: bool, what: &str, got: &Type) -> Result<(), String> {
    if ok || got.is_dynamic() {
        Ok(())
    } else {
        Err(format!("expected {what}, found `{got}`"))
    }
}

fn is_str(t: &Type) -> bool {
    matches!(t.strip_optional(), Type::Str)
}

fn is_collection(t: &Type) -> bool {
    matches!(t.strip_optional(), Type::List(_) | Type::Map(_) | Type::Str | Type::Struct(_) | Type::Null)
}

fn elem(t: &Type) -> Type {
    match t.strip_optional() {
        Type::List(e) | Type::Map(e) => (**e).clone(),
        Type::Doc => Type::Doc,
        _ => Type::Any,
    }
}

/// The result type of a builtin call with these argument types, or the
/// problem with the `n`-th argument: `Err((n, message))`.
pub fn result_type(name: &str, args: &[Type]) -> Result<Type, (usize, String)> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Type::Error);
    let a = arg(0);
    let first = |r: Result<(), String>| r.map_err(|m| (0usize, m));
    let second = |r: Result<(), String>| r.map_err(|m| (1usize, m));
    match name {
        "len" => {
            first(want(is_collection(&a), "a list, map or string", &a))?;
            Ok(Type::Int)
        }
        "is_empty" => {
            first(want(is_collection(&a), "a list, map or string", &a))?;
            Ok(Type::Bool)
        }
        "lower" | "upper" | "trim" => {
            first(want(is_str(&a), "a string", &a))?;
            Ok(Type::Str)
        }
        "starts_with" | "ends_with" => {
            first(want(is_str(&a), "a string", &a))?;
            second(want(is_str(&arg(1)), "a string", &arg(1)))?;
            Ok(Type::Bool)
        }
        "contains" => {
            first(want(is_collection(&a), "a string, list or map", &a))?;
            Ok(Type::Bool)
        }
        "split" => {
            first(want(is_str(&a), "a string", &a))?;
            second(want(is_str(&arg(1)), "a string", &arg(1)))?;
            Ok(Type::list(Type::Str))
        }
        "join" => {
            first(want(matches!(a.strip_optional(), Type::List(_)), "a list of strings", &a))?;
            second(want(is_str(&arg(1)), "a string", &arg(1)))?;
            Ok(Type::Str)
        }
        "replace" => {
            for i in 0..3 {
                want(is_str(&arg(i)), "a string", &arg(i)).map_err(|m| (i, m))?;
            }
            Ok(Type::Str)
        }
        "keys" => {
            first(want(matches!(a.strip_optional(), Type::Map(_) | Type::Struct(_)), "a map", &a))?;
            Ok(Type::list(if a == Type::Doc { Type::Doc } else { Type::Str }))
        }
        "values" => {
            first(want(matches!(a.strip_optional(), Type::Map(_) | Type::Struct(_)), "a map", &a))?;
            Ok(Type::list(elem(&a)))
        }
        "int" => Ok(Type::optional(Type::Int)),
        "float" => Ok(Type::optional(Type::Float)),
        "string" | "type_of" => Ok(Type::Str),
        "bool" => Ok(Type::optional(Type::Bool)),
        "days" => {
            first(want(matches!(a.strip_optional(), Type::Duration), "a duration", &a))?;
            Ok(Type::Int)
        }
        "duration" => Ok(Type::optional(Type::Duration)),
        "size" => Ok(Type::optional(Type::Size)),
        "sum" => {
            first(want(
                matches!(a.strip_optional(), Type::List(e) if e.is_numeric() || e.is_dynamic()),
                "a list of numbers",
                &a,
            ))?;
            Ok(match elem(&a) {
                Type::Int => Type::Int,
                Type::Float => Type::Float,
                _ => Type::Any,
            })
        }
        "min" | "max" => {
            first(want(matches!(a.strip_optional(), Type::List(_)), "a list", &a))?;
            Ok(Type::optional(elem(&a)))
        }
        "unique" | "sorted" => {
            first(want(matches!(a.strip_optional(), Type::List(_)), "a list", &a))?;
            Ok(a.strip_optional().clone())
        }
        "flatten" => {
            first(want(matches!(a.strip_optional(), Type::List(_)), "a list of lists", &a))?;
            Ok(match elem(&a) {
                Type::List(e) => Type::List(e),
                _ => Type::list(Type::Any),
            })
        }
        "find" | "find_all" => {
            first(want(is_str(&a), "a string", &a))?;
            let p = arg(1);
            second(want(matches!(p.strip_optional(), Type::Regex | Type::Str), "a regex or string", &p))?;
            Ok(if name == "find" { Type::optional(Type::Str) } else { Type::list(Type::Str) })
        }
        "entropy" => {
            first(want(is_str(&a), "a string", &a))?;
            Ok(Type::Float)
        }
        "bits" => {
            first(want(matches!(a.strip_optional(), Type::Int), "an int", &a))?;
            second(want(matches!(arg(1).strip_optional(), Type::Int), "an int", &arg(1)))?;
            Ok(Type::Int)
        }
        _ => Err((0, format!("unknown function `{name}`"))),
    }
}
