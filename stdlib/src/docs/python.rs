//! Python sources, parsed with tree-sitter's Python grammar, as facts for
//! security checks:
//!
//! ```text
//! { assignments: [ { name, target, value, kind, line } ],
//!   subprocess_shell: [ { call, line, code } ],
//!   environ_dumps: [ { kind, line, code } ],
//!   imports: [ { module, names, line } ] }
//! ```
//!
//! * `assignments`: every binding of a string literal (f-strings without
//!   placeholders included), at any level: `name = "..."` (`kind:
//!   "assignment"`, also annotated, chained, tuple and walrus forms;
//!   `target` is the whole target, `name` the same or, for `d["key"] =`,
//!   the key), keyword arguments `f(password="...")` (`"keyword"`),
//!   parameter defaults `def f(token="...")` (`"default"`), and dictionary
//!   entries with a string key `{"api_key": "..."}` (`"dict"`). `value` is
//!   the literal's value, escapes decoded. Policies filter on the names.
//! * `subprocess_shell`: calls that run a shell: `subprocess.run`, `call`,
//!   `check_call`, `check_output` and `Popen` with `shell=` a truthy literal,
//!   and `subprocess.getoutput`/`getstatusoutput`, `os.system`, `os.popen`
//!   and `asyncio.create_subprocess_shell` always. `call` is the canonical
//!   name, through import aliases (`import subprocess as sp`, `from os
//!   import system`).
//! * `environ_dumps`: expressions that expose the whole environment: the
//!   environment (`os.environ`, `dict(os.environ)`, `os.environ.copy()`,
//!   `{**os.environ}`, an f-string or `%` format of it...) passed to
//!   `print` (`kind: "print"`), a logger method (`"log"`), a `write`
//!   (`"write"`), an experiment tracker (`mlflow.log_*`, `mlflow.set_tags`,
//!   `wandb.log`, `wandb.config.update`: `"tracking"`) or a serializer
//!   (`json.dumps`, `yaml.dump`, `pickle.dumps`...: `"serialize"`), and
//!   `dict(os.environ)` itself (`"copy"`). One entry per outermost such
//!   expression; `code` is its text (shortened).
//! * `imports`: `import a.b` gives `{ module: "a.b", names: [] }`, `from .m
//!   import x, y as z` gives `{ module: ".m", names: ["x", "y"] }`.
//!
//! A file that does not parse is a [`DocError`] at the first syntax error.
//! The tree is walked with a cursor, not by recursion, so nesting depth is
//! bounded only by memory; parsing gives up after [`PARSE_BUDGET`].

use super::{line_u32, DocError, Origins};
use mlpol_lang::value::{record, shorten, Value};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};
use tree_sitter::{Node, ParseOptions, Parser, Tree, TreeCursor};

/// Longest time spent parsing one file.
pub const PARSE_BUDGET: Duration = Duration::from_secs(30);
/// Longest `code` and `target` text kept, in characters.
const SNIPPET: usize = 200;
/// Most steps taken when looking through wrappers of an expression.
const LOOK_STEPS: usize = 64;

const SHELL_IF_ASKED: &[&str] =
    &["subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen"];
const ALWAYS_SHELL: &[&str] =
    &["subprocess.getoutput", "subprocess.getstatusoutput", "os.system", "os.popen", "asyncio.create_subprocess_shell"];
const PRINTERS: &[&str] = &["print", "pprint.pprint", "pprint.pp", "pprint", "pp"];
const LOG_METHODS: &[&str] = &["debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"];
const SERIALIZERS: &[&str] =
    &["json.dumps", "json.dump", "yaml.dump", "yaml.safe_dump", "pickle.dumps", "pickle.dump", "pprint.pformat"];
const TRACKER_METHODS: &[&str] = &["log_params", "log_param", "log_dict", "log_text", "set_tags", "set_tag"];

pub(super) fn parse(path: &str, text: &str) -> Result<Value, DocError> {
    let tree = parse_tree(path, text)?;
    let root = tree.root_node();
    if root.has_error() {
        return Err(first_error(path, text, root));
    }
    let mut facts = Facts {
        src: text,
        origins: Origins::new(path),
        aliases: HashMap::new(),
        assignments: Vec::new(),
        subprocess_shell: Vec::new(),
        environ_dumps: Vec::new(),
        imports: Vec::new(),
        dump_end: 0,
    };
    // Imports first, so that aliases are known wherever they are used.
    walk(root, |node| {
        if matches!(node.kind(), "import_statement" | "import_from_statement" | "future_import_statement") {
            facts.import(node);
        }
    });
    walk(root, |node| facts.visit(node));

    let Facts { mut origins, assignments, subprocess_shell, environ_dumps, imports, .. } = facts;
    let top = record(vec![
        ("assignments", origins.put(Value::list(assignments), 1)),
        ("subprocess_shell", origins.put(Value::list(subprocess_shell), 1)),
        ("environ_dumps", origins.put(Value::list(environ_dumps), 1)),
        ("imports", origins.put(Value::list(imports), 1)),
    ]);
    Ok(origins.put(top, 1))
}

fn parse_tree(path: &str, text: &str) -> Result<Tree, DocError> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .map_err(|e| DocError::new(path, None, format!("python grammar: {e}")))?;
    let bytes = text.as_bytes();
    let start = Instant::now();
    let mut progress = |_: &tree_sitter::ParseState| {
        if start.elapsed() > PARSE_BUDGET {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let options = ParseOptions::new().progress_callback(&mut progress);
    parser
        .parse_with_options(&mut |offset, _| bytes.get(offset..).unwrap_or_default(), None, Some(options))
        .ok_or_else(|| DocError::new(path, None, format!("python parser gave up after {} s", PARSE_BUDGET.as_secs())))
}

/// Calls `visit` on every node, in document order, without recursion.
fn walk<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>)) {
    let mut cursor = root.walk();
    loop {
        visit(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// The first syntax error: the first `ERROR` or missing node, following the
/// children that contain an error. When error recovery gave up and left
/// loose tokens (or an `ERROR` node that starts with complete statements),
/// the first child that is not a complete statement.
fn first_error(path: &str, text: &str, root: Node<'_>) -> DocError {
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.is_missing() {
            let line = line_u32(node.start_position().row + 1);
            return DocError::new(path, Some(line), format!("syntax error: missing {}", node.kind()));
        }
        if node.is_error() || !descend_to_error(&mut cursor) {
            let culprit = first_incomplete_child(node).unwrap_or(node);
            let line = line_u32(culprit.start_position().row + 1);
            let near = text
                .get(culprit.start_byte()..culprit.end_byte())
                .unwrap_or_default()
                .trim_start()
                .lines()
                .next()
                .unwrap_or_default();
            let message = if near.is_empty() {
                "invalid syntax".to_string()
            } else {
                format!("invalid syntax near {:?}", shorten(near, 40))
            };
            return DocError::new(path, Some(line), message);
        }
    }
}

/// Moves to the first child that is or contains an error.
fn descend_to_error(cursor: &mut TreeCursor<'_>) -> bool {
    if !cursor.goto_first_child() {
        return false;
    }
    loop {
        let node = cursor.node();
        if node.has_error() || node.is_error() || node.is_missing() {
            return true;
        }
        if !cursor.goto_next_sibling() {
            cursor.goto_parent();
            return false;
        }
    }
}

/// The first child that is not a complete, error-free statement.
fn first_incomplete_child(node: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
    children.into_iter().find(|child| {
        let kind = child.kind();
        let complete = child.is_named()
            && !child.has_error()
            && (kind.ends_with("statement") || kind.ends_with("definition") || kind == "comment");
        !complete
    })
}

struct Facts<'s> {
    src: &'s str,
    origins: Origins,
    /// Local name → what it stands for (`sp` → `subprocess`, `run` →
    /// `subprocess.run`).
    aliases: HashMap<String, String>,
    assignments: Vec<Value>,
    subprocess_shell: Vec<Value>,
    environ_dumps: Vec<Value>,
    imports: Vec<Value>,
    /// End of the last recorded environment dump: dumps inside it are not
    /// recorded again.
    dump_end: usize,
}

impl<'s> Facts<'s> {
    fn text(&self, node: Node<'_>) -> &'s str {
        self.src.get(node.start_byte()..node.end_byte()).unwrap_or_default()
    }

    fn import(&mut self, node: Node<'_>) {
        let line = line_of(node);
        let mut cursor = node.walk();
        let mut names = Vec::new();
        match node.kind() {
            "import_statement" => {
                let children: Vec<Node<'_>> = node.children_by_field_name("name", &mut cursor).collect();
                for child in children {
                    let (module, alias) = self.import_name(child);
                    // `import a.b` binds `a`; `import a.b as c` binds `c` to `a.b`.
                    let (local, target) = match alias {
                        Some(alias) => (alias, module.clone()),
                        None => {
                            let first = module.split('.').next().unwrap_or_default();
                            (first.to_string(), first.to_string())
                        }
                    };
                    self.aliases.insert(local, target);
                    self.push_import(&module, &[], line);
                }
            }
            _ => {
                let module = if node.kind() == "future_import_statement" {
                    "__future__".to_string()
                } else {
                    node.child_by_field_name("module_name").map(|m| compact(self.text(m))).unwrap_or_default()
                };
                let children: Vec<Node<'_>> = node.children_by_field_name("name", &mut cursor).collect();
                for child in children {
                    let (name, alias) = self.import_name(child);
                    let local = alias.unwrap_or_else(|| name.clone());
                    let full =
                        if module.ends_with('.') { format!("{module}{name}") } else { format!("{module}.{name}") };
                    self.aliases.insert(local, full);
                    names.push(name);
                }
                let mut cursor = node.walk();
                if node.named_children(&mut cursor).any(|c| c.kind() == "wildcard_import") {
                    names.push("*".to_string());
                }
                self.push_import(&module, &names, line);
            }
        }
    }

    /// `a.b` or `a.b as c` → (`a.b`, `c`).
    fn import_name(&self, node: Node<'_>) -> (String, Option<String>) {
        if node.kind() == "aliased_import" {
            let name = node.child_by_field_name("name").map(|n| compact(self.text(n))).unwrap_or_default();
            let alias = node.child_by_field_name("alias").map(|n| self.text(n).to_string());
            (name, alias)
        } else {
            (compact(self.text(node)), None)
        }
    }

    fn push_import(&mut self, module: &str, names: &[String], line: u32) {
        let o = &mut self.origins;
        let names = names.iter().map(|n| o.put(Value::str(n), line)).collect();
        let value = record(vec![
            ("module", o.put(Value::str(module), line)),
            ("names", o.put(Value::list(names), line)),
            ("line", o.put(line_value(line), line)),
        ]);
        self.imports.push(o.put(value, line));
    }

    fn visit(&mut self, node: Node<'_>) {
        match node.kind() {
            "assignment" => self.assignment(node),
            "named_expression" => {
                if let (Some(name), Some(value)) = (node.child_by_field_name("name"), node.child_by_field_name("value"))
                {
                    self.bind(name, value, "assignment");
                }
            }
            "keyword_argument" => {
                if let (Some(name), Some(value)) = (node.child_by_field_name("name"), node.child_by_field_name("value"))
                {
                    self.bind(name, value, "keyword");
                }
            }
            "default_parameter" | "typed_default_parameter" => {
                if let (Some(name), Some(value)) = (node.child_by_field_name("name"), node.child_by_field_name("value"))
                {
                    self.bind(name, value, "default");
                }
            }
            "pair" => {
                if let (Some(key), Some(value)) = (node.child_by_field_name("key"), node.child_by_field_name("value")) {
                    if let (Some(name), Some(literal)) = (self.literal(key), self.literal(value)) {
                        self.push_assignment(&name, self.text(key), &literal, "dict", node);
                    }
                }
            }
            "call" => self.call(node),
            _ => {}
        }
    }

    fn assignment(&mut self, node: Node<'_>) {
        let (Some(left), Some(mut right)) = (node.child_by_field_name("left"), node.child_by_field_name("right"))
        else {
            return;
        };
        // `a = b = "x"`: the value is at the end of the chain (the inner
        // assignments are visited on their own).
        for _ in 0..LOOK_STEPS {
            if right.kind() != "assignment" {
                break;
            }
            match right.child_by_field_name("right") {
                Some(r) => right = r,
                None => return,
            }
        }
        let sequence = |n: Node<'_>| {
            matches!(n.kind(), "pattern_list" | "tuple_pattern" | "list_pattern" | "expression_list" | "tuple" | "list")
        };
        if sequence(left) && sequence(right) {
            let mut lc = left.walk();
            let mut rc = right.walk();
            let targets: Vec<Node<'_>> = left.named_children(&mut lc).collect();
            let values: Vec<Node<'_>> = right.named_children(&mut rc).collect();
            if targets.len() == values.len() {
                for (target, value) in targets.into_iter().zip(values) {
                    self.bind(target, value, "assignment");
                }
            }
            return;
        }
        self.bind(left, right, "assignment");
    }

    /// Records `target = value` when the value is a string literal.
    fn bind(&mut self, target: Node<'_>, value: Node<'_>, kind: &str) {
        let Some(literal) = self.literal(value) else {
            return;
        };
        let target_text = self.text(target);
        let name = match target.kind() {
            "subscript" => target
                .child_by_field_name("subscript")
                .and_then(|key| self.literal(key))
                .unwrap_or_else(|| compact(target_text)),
            _ => compact(target_text),
        };
        self.push_assignment(&name, target_text, &literal, kind, target);
    }

    fn push_assignment(&mut self, name: &str, target: &str, value: &str, kind: &str, at: Node<'_>) {
        let line = line_of(at);
        let o = &mut self.origins;
        let record = record(vec![
            ("name", o.put(Value::str(shorten(name, SNIPPET)), line)),
            ("target", o.put(Value::str(shorten(&compact(target), SNIPPET)), line)),
            ("value", o.put(Value::str(value), line)),
            ("kind", o.put(Value::str(kind), line)),
            ("line", o.put(line_value(line), line)),
        ]);
        self.assignments.push(o.put(record, line));
    }

    /// The value of a string literal (or of adjacent literals), or `None`
    /// for anything else, f-strings with placeholders included.
    fn literal(&self, node: Node<'_>) -> Option<String> {
        let node = unparenthesize(node);
        match node.kind() {
            "string" => {
                let mut cursor = node.walk();
                if node.named_children(&mut cursor).any(|c| c.kind() == "interpolation") {
                    return None;
                }
                string_value(self.text(node))
            }
            "concatenated_string" => {
                let mut cursor = node.walk();
                let parts: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                let mut out = String::new();
                for part in parts {
                    out.push_str(&self.literal(part)?);
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// The dotted name an expression stands for (`sp.run` → `subprocess.run`).
    fn dotted(&self, node: Node<'_>) -> Option<String> {
        let mut parts: Vec<&str> = Vec::new();
        let mut node = unparenthesize(node);
        for _ in 0..LOOK_STEPS {
            match node.kind() {
                "identifier" => {
                    let first = self.text(node);
                    let head = self.aliases.get(first).map_or(first, String::as_str);
                    let mut out = head.to_string();
                    for part in parts.iter().rev() {
                        out.push('.');
                        out.push_str(part);
                    }
                    return Some(out);
                }
                "attribute" => {
                    parts.push(self.text(node.child_by_field_name("attribute")?));
                    node = unparenthesize(node.child_by_field_name("object")?);
                }
                _ => return None,
            }
        }
        None
    }

    fn call(&mut self, node: Node<'_>) {
        let Some(function) = node.child_by_field_name("function") else {
            return;
        };
        let name = self.dotted(function);
        let args = self.arguments(node);
        let line = line_of(node);

        if let Some(name) = &name {
            let shell = ALWAYS_SHELL.contains(&name.as_str())
                || (SHELL_IF_ASKED.contains(&name.as_str())
                    && args.iter().any(|(kw, value)| kw.as_deref() == Some("shell") && self.truthy(*value)));
            if shell {
                let code = shorten(&compact(self.text(node)), SNIPPET);
                let o = &mut self.origins;
                let value = record(vec![
                    ("call", o.put(Value::str(name), line)),
                    ("line", o.put(line_value(line), line)),
                    ("code", o.put(Value::str(code), line)),
                ]);
                self.subprocess_shell.push(o.put(value, line));
            }
        }

        if node.start_byte() < self.dump_end {
            return;
        }
        if let Some(kind) = self.dump_kind(function, name.as_deref(), &args) {
            self.dump_end = node.end_byte();
            let code = shorten(&compact(self.text(node)), SNIPPET);
            let o = &mut self.origins;
            let value = record(vec![
                ("kind", o.put(Value::str(kind), line)),
                ("line", o.put(line_value(line), line)),
                ("code", o.put(Value::str(code), line)),
            ]);
            self.environ_dumps.push(o.put(value, line));
        }
    }

    /// The arguments of a call: (keyword, value), the keyword `None` for
    /// positional ones; `*x` and `**x` give `x`.
    fn arguments<'t>(&self, call: Node<'t>) -> Vec<(Option<String>, Node<'t>)> {
        let Some(list) = call.child_by_field_name("arguments") else {
            return Vec::new();
        };
        let mut cursor = list.walk();
        let children: Vec<Node<'t>> = list.named_children(&mut cursor).collect();
        children
            .into_iter()
            .filter_map(|arg| match arg.kind() {
                "keyword_argument" => Some((
                    arg.child_by_field_name("name").map(|n| self.text(n).to_string()),
                    arg.child_by_field_name("value")?,
                )),
                "list_splat" | "dictionary_splat" => Some((None, arg.named_child(0)?)),
                "comment" => None,
                _ => Some((None, arg)),
            })
            .collect()
    }

    /// `True`, a non-zero number or a non-empty string.
    fn truthy(&self, node: Node<'_>) -> bool {
        let node = unparenthesize(node);
        match node.kind() {
            "true" => true,
            "integer" | "float" => {
                let digits: String = self
                    .text(node)
                    .chars()
                    .filter(|c| {
                        c.is_ascii_alphanumeric()
                            && !matches!(c, 'x' | 'X' | 'o' | 'O' | 'b' | 'B' | 'e' | 'E' | 'j' | 'J' | 'l' | 'L')
                    })
                    .collect();
                digits.chars().any(|c| c != '0')
            }
            "string" | "concatenated_string" => self.literal(node).is_some_and(|s| !s.is_empty()),
            _ => false,
        }
    }

    /// Why a call exposes the whole environment, if it does.
    fn dump_kind(
        &self,
        function: Node<'_>,
        name: Option<&str>,
        args: &[(Option<String>, Node<'_>)],
    ) -> Option<&'static str> {
        let method = if function.kind() == "attribute" {
            function.child_by_field_name("attribute").map(|a| self.text(a))
        } else {
            None
        };
        let receiver = function.child_by_field_name("object").map(|o| self.text(o).to_ascii_lowercase());
        let last = name.and_then(|n| n.rsplit('.').next());

        let kind = if name.is_some_and(|n| PRINTERS.contains(&n)) {
            "print"
        } else if method.is_some_and(|m| LOG_METHODS.contains(&m))
            && receiver.as_deref().is_some_and(|r| r.contains("log"))
        {
            "log"
        } else if method.is_some_and(|m| m == "write" || m == "writelines") {
            "write"
        } else if name.is_some_and(|n| {
            n == "wandb.log"
                || n == "wandb.config.update"
                || (n.starts_with("mlflow.") && last.is_some_and(|l| l.starts_with("log_") || l.starts_with("set_tag")))
        }) || method.is_some_and(|m| TRACKER_METHODS.contains(&m))
        {
            "tracking"
        } else if name.is_some_and(|n| SERIALIZERS.contains(&n)) {
            "serialize"
        } else if name == Some("dict") {
            // `dict(os.environ)` on its own: a full copy.
            let only = match args {
                [(None, arg)] => *arg,
                _ => return None,
            };
            return self.is_environ(only).then_some("copy");
        } else {
            return None;
        };
        args.iter().any(|(_, value)| self.exposes_environ(*value)).then_some(kind)
    }

    /// `os.environ` itself (or `os.environb`), through aliases.
    fn is_environ(&self, node: Node<'_>) -> bool {
        matches!(self.dotted(node).as_deref(), Some("os.environ" | "os.environb"))
    }

    /// An expression that carries the whole environment: `os.environ`,
    /// `dict(os.environ)`, `os.environ.copy()`, `os.environ.items()`,
    /// `str(...)`, `json.dumps(...)`, `{**os.environ}`, `f"{os.environ}"`,
    /// `"%s" % os.environ`. Looks a bounded number of steps deep.
    fn exposes_environ(&self, node: Node<'_>) -> bool {
        let mut work = vec![node];
        let mut steps = 0;
        while let Some(node) = work.pop() {
            steps += 1;
            if steps > LOOK_STEPS {
                return false;
            }
            let node = unparenthesize(node);
            if self.is_environ(node) {
                return true;
            }
            match node.kind() {
                "call" => {
                    let Some(function) = node.child_by_field_name("function") else {
                        continue;
                    };
                    let name = self.dotted(function);
                    let name = name.as_deref();
                    let args = self.arguments(node);
                    let wraps = name.is_some_and(|n| {
                        matches!(n, "dict" | "str" | "repr" | "list" | "sorted" | "tuple") || SERIALIZERS.contains(&n)
                    });
                    if wraps {
                        if let Some((None, first)) = args.first() {
                            work.push(*first);
                        }
                        continue;
                    }
                    let method = function.child_by_field_name("attribute").map(|a| self.text(a));
                    if function.kind() == "attribute"
                        && args.is_empty()
                        && method.is_some_and(|m| matches!(m, "copy" | "items"))
                    {
                        if let Some(object) = function.child_by_field_name("object") {
                            work.push(object);
                        }
                    }
                }
                "dictionary" => {
                    let mut cursor = node.walk();
                    for child in node.named_children(&mut cursor) {
                        if child.kind() == "dictionary_splat" {
                            if let Some(inner) = child.named_child(0) {
                                work.push(inner);
                            }
                        }
                    }
                }
                "string" => {
                    let mut cursor = node.walk();
                    for child in node.named_children(&mut cursor) {
                        if child.kind() == "interpolation" {
                            if let Some(inner) = child.child_by_field_name("expression") {
                                work.push(inner);
                            }
                        }
                    }
                }
                "concatenated_string" => {
                    let mut cursor = node.walk();
                    work.extend(node.named_children(&mut cursor));
                }
                "binary_operator" => {
                    let percent = node.child_by_field_name("operator").is_some_and(|op| self.text(op) == "%");
                    if percent {
                        if let Some(right) = node.child_by_field_name("right") {
                            work.push(right);
                        }
                    }
                }
                _ => {}
            }
        }
        false
    }
}

/// The expression inside any parentheses.
fn unparenthesize(mut node: Node<'_>) -> Node<'_> {
    for _ in 0..LOOK_STEPS {
        if node.kind() != "parenthesized_expression" {
            break;
        }
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

fn line_of(node: Node<'_>) -> u32 {
    line_u32(node.start_position().row + 1)
}

fn line_value(line: u32) -> Value {
    Value::int(i64::from(line))
}

/// Whitespace runs (newlines included) as one blank.
fn compact(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of one Python string literal (prefix, quotes, escapes).
fn string_value(literal: &str) -> Option<String> {
    let prefix_len = literal
        .find(['"', '\''])
        .filter(|&i| literal.get(..i).is_some_and(|p| p.chars().all(|c| "rRbBuUfFtT".contains(c))))?;
    let prefix = literal.get(..prefix_len)?.to_ascii_lowercase();
    let body = literal.get(prefix_len..)?;
    let quote = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| body.starts_with(q) && body.len() >= 2 * q.len() && body.ends_with(q))?;
    let inner = body.get(quote.len()..body.len() - quote.len())?;
    let raw = prefix.contains('r');
    let bytes = prefix.contains('b');
    let format = prefix.contains('f') || prefix.contains('t');
    let mut out = if raw { inner.to_string() } else { unescape(inner, bytes) };
    if format {
        out = out.replace("{{", "{").replace("}}", "}");
    }
    Some(out)
}

fn unescape(text: &str, bytes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            '\n' => {}
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            '\\' | '\'' | '"' => out.push(e),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '0'..='7' => {
                let mut code = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            code = code * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            'x' => push_hex(&mut out, &mut chars, 2, 'x'),
            'u' if !bytes => push_hex(&mut out, &mut chars, 4, 'u'),
            'U' if !bytes => push_hex(&mut out, &mut chars, 8, 'U'),
            _ => {
                out.push('\\');
                out.push(e);
            }
        }
    }
    out
}

/// `\xhh`, `\uhhhh`, `\Uhhhhhhhh`: kept as written when malformed.
fn push_hex(out: &mut String, chars: &mut std::iter::Peekable<std::str::Chars<'_>>, digits: usize, letter: char) {
    let mut hex = String::new();
    for _ in 0..digits {
        match chars.peek() {
            Some(d) if d.is_ascii_hexdigit() => {
                hex.push(*d);
                chars.next();
            }
            _ => break,
        }
    }
    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
        Some(c) if hex.len() == digits => out.push(c),
        _ => {
            out.push('\\');
            out.push(letter);
            out.push_str(&hex);
        }
    }
}
