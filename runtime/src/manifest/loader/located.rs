//! The located YAML tree: one manifest document parsed into a JSON value, plus the line of
//! every key and sequence element, addressed by JSON pointer (`/queue/max_retries`,
//! `/emits/1`).
//!
//! The loader reports every problem of every file at once, each with its line. A serde
//! deserializer stops at the first error and forgets where values came from, so we read the
//! event stream of `saphyr-parser` ourselves and keep the lines on the side; the JSON Schema
//! check and the step rules then look lines up by the pointer of what they complain about.
//!
//! Scalars follow the YAML 1.2 core schema: `null`, `~` and the empty value are null;
//! `true`/`false` are booleans; decimal, `0o` octal and `0x` hex integers and decimal floats
//! are numbers; everything else is a string, and quoted or block scalars are always strings.
//! `.inf` and `.nan` stay strings, since JSON has no such numbers. The `!!str` tag forces a
//! string; other tags are refused. Anchors and aliases are resolved by copying the anchored
//! value, within a bound on the size of the result; merge keys (`<<`) are not supported and
//! fail the schema check as an unknown key. Duplicate keys are errors; parsing goes on after
//! them so that all of them are reported.

use std::collections::{BTreeMap, HashMap};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, StrInput, Tag};
use serde_json::{Map, Value};

/// Values (after resolving aliases) one document may hold; guards against alias bombs.
const MAX_NODES: usize = 10_000;
/// Nesting depth one document may reach; guards the recursive builder's stack.
const MAX_DEPTH: usize = 64;

/// A parsed manifest document with the line of each of its parts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Located {
    pub value: Value,
    /// 1-based line of each key (for a mapping entry) or element (for a sequence item); the
    /// root `""` maps to the line where the document's content starts.
    lines: BTreeMap<String, usize>,
}

impl Located {
    /// The line of `pointer`, or of its nearest ancestor that has one.
    pub fn line(&self, pointer: &str) -> usize {
        let mut pointer = pointer;
        loop {
            if let Some(line) = self.lines.get(pointer) {
                return *line;
            }
            match pointer.rfind('/') {
                Some(cut) => pointer = &pointer[..cut],
                None => return 0,
            }
        }
    }

    /// Whether the document has a key or element at `pointer`.
    pub fn has(&self, pointer: &str) -> bool {
        self.lines.contains_key(pointer)
    }
}

/// A YAML problem, with its line in the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub line: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl YamlError {
    fn new(line: usize, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// Escapes a key for use as one JSON pointer segment (RFC 6901).
pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Parses one YAML document. `line_offset` is added to every line: the number of file lines
/// before `text` (1 for Markdown front matter, which starts on line 2).
///
/// An empty document (no content, or only comments) gives `Value::Null`.
pub(crate) fn parse(text: &str, line_offset: usize) -> Result<Located, Vec<YamlError>> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        offset: line_offset,
        lines: BTreeMap::new(),
        anchors: HashMap::new(),
        errors: Vec::new(),
        nodes: 0,
    };
    match builder.document() {
        Ok(value) if builder.errors.is_empty() => Ok(Located {
            value,
            lines: builder.lines,
        }),
        Ok(_) => Err(builder.errors),
        Err(fatal) => {
            builder.errors.push(fatal);
            Err(builder.errors)
        }
    }
}

/// Builds a JSON value from the parser's events, recording lines as it goes.
struct Builder<'a> {
    parser: Parser<'a, StrInput<'a>>,
    offset: usize,
    lines: BTreeMap<String, usize>,
    /// Values of anchors seen so far, by the parser's anchor id.
    anchors: HashMap<usize, Value>,
    /// Errors that do not stop parsing (duplicate keys).
    errors: Vec<YamlError>,
    nodes: usize,
}

impl<'a> Builder<'a> {
    /// The next event and its line in the file.
    fn next(&mut self) -> Result<(Event<'a>, usize), YamlError> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => Ok((event, span.start.line() + self.offset)),
            Some(Err(e)) => Err(self.syntax_error(&e)),
            None => Err(YamlError::new(
                0,
                "the YAML ends unexpectedly",
                "check that the file is complete",
            )),
        }
    }

    fn syntax_error(&self, e: &ScanError) -> YamlError {
        YamlError::new(
            e.marker().line() + self.offset,
            format!("invalid YAML: {}", e.info()),
            "check the indentation and quoting on this line and the one before",
        )
    }

    /// The stream: nothing, or exactly one document.
    fn document(&mut self) -> Result<Value, YamlError> {
        self.next()?; // StreamStart
        let (event, _) = self.next()?;
        if matches!(event, Event::StreamEnd) {
            return Ok(Value::Null);
        }

        let (event, line) = self.next()?;
        self.lines.insert(String::new(), line);
        let value = self.node(event, line, "", 0)?;

        self.next()?; // DocumentEnd
        let (event, line) = self.next()?;
        if matches!(event, Event::DocumentStart(_)) {
            return Err(YamlError::new(
                line,
                "a second YAML document starts here",
                "write one step per file; remove the `---` line and what follows, or move it \
                 to a file of its own",
            ));
        }
        Ok(value)
    }

    /// The value that starts with `event`, recorded at `pointer`.
    fn node(
        &mut self,
        event: Event<'a>,
        line: usize,
        pointer: &str,
        depth: usize,
    ) -> Result<Value, YamlError> {
        if depth > MAX_DEPTH {
            return Err(YamlError::new(
                line,
                format!("values are nested more than {MAX_DEPTH} levels deep"),
                "flatten the structure",
            ));
        }
        self.lines.entry(pointer.to_string()).or_insert(line);
        self.count(1, line)?;

        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                (scalar(&text, style, tag.as_deref(), line)?, anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                refuse_tag(tag.as_deref(), line)?;
                (self.sequence(pointer, depth)?, anchor)
            }
            Event::MappingStart(anchor, tag) => {
                refuse_tag(tag.as_deref(), line)?;
                (self.mapping(pointer, depth)?, anchor)
            }
            Event::Alias(id) => (self.alias(id, line)?, 0),
            other => {
                return Err(YamlError::new(
                    line,
                    format!("unexpected YAML event {other:?}"),
                    "check the structure of the file around this line",
                ));
            }
        };

        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        Ok(value)
    }

    fn sequence(&mut self, pointer: &str, depth: usize) -> Result<Value, YamlError> {
        let mut items = Vec::new();
        loop {
            let (event, line) = self.next()?;
            if matches!(event, Event::SequenceEnd) {
                return Ok(Value::Array(items));
            }
            let child = format!("{pointer}/{}", items.len());
            items.push(self.node(event, line, &child, depth + 1)?);
        }
    }

    fn mapping(&mut self, pointer: &str, depth: usize) -> Result<Value, YamlError> {
        let mut map = Map::new();
        loop {
            let (event, line) = self.next()?;
            let key = match event {
                Event::MappingEnd => return Ok(Value::Object(map)),
                Event::Scalar(key, ..) => key.into_owned(),
                _ => {
                    return Err(YamlError::new(
                        line,
                        "a key must be plain text",
                        "write keys as simple words such as `name:`",
                    ));
                }
            };

            let child = format!("{pointer}/{}", escape(&key));
            if map.contains_key(&key) {
                let first = self.lines.get(&child).copied().unwrap_or(0);
                let message = format!("duplicate key `{key}` (first at line {first})");
                self.errors
                    .push(YamlError::new(line, message, "remove one of the two"));
            }
            self.lines.entry(child.clone()).or_insert(line);

            let (event, value_line) = self.next()?;
            let value = self.node(event, value_line, &child, depth + 1)?;
            map.entry(key).or_insert(value);
        }
    }

    /// A copy of an anchored value.
    fn alias(&mut self, id: usize, line: usize) -> Result<Value, YamlError> {
        let Some(value) = self.anchors.get(&id).cloned() else {
            return Err(YamlError::new(
                line,
                "alias to an unknown anchor",
                "define the anchor (`&name`) before using it (`*name`)",
            ));
        };
        self.count(size(&value), line)?;
        Ok(value)
    }

    fn count(&mut self, nodes: usize, line: usize) -> Result<(), YamlError> {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            return Err(YamlError::new(
                line,
                format!(
                    "the document holds more than {MAX_NODES} values once aliases are resolved"
                ),
                "write the values out instead of repeating large anchors",
            ));
        }
        Ok(())
    }
}

/// Number of values in `value`, itself included.
fn size(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(size).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(size).sum::<usize>(),
        _ => 1,
    }
}

fn refuse_tag(tag: Option<&Tag>, line: usize) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(tag) => Err(unsupported_tag(tag, line)),
    }
}

fn unsupported_tag(tag: &Tag, line: usize) -> YamlError {
    YamlError::new(
        line,
        format!("YAML tag `{tag}` is not supported"),
        "remove the tag; quote the value to make it a string",
    )
}

/// Resolves a scalar by the YAML 1.2 core schema.
fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    line: usize,
) -> Result<Value, YamlError> {
    if let Some(tag) = tag {
        return if tag.is_yaml_core_schema() && tag.suffix == "str" {
            Ok(Value::String(text.to_string()))
        } else {
            Err(unsupported_tag(tag, line))
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    Ok(resolve_plain(text))
}

/// The core-schema value of a plain (unquoted) scalar.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = integer(text) {
        return n;
    }
    let float = || {
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
    };
    match is_core_float(text).then(float).flatten() {
        Some(n) => Value::Number(n),
        None => Value::String(text.to_string()),
    }
}

/// Decimal (`-12`), octal (`0o17`) and hex (`0x1F`) integers.
fn integer(text: &str) -> Option<Value> {
    let radix = |prefix: &str, radix: u32| {
        let digits = text.strip_prefix(prefix)?;
        u64::from_str_radix(digits, radix).ok().map(Value::from)
    };
    if let Some(v) = radix("0o", 8).or_else(|| radix("0x", 16)) {
        return Some(v);
    }

    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>()
        .map(Value::from)
        .or_else(|_| text.parse::<u64>().map(Value::from))
        .ok()
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(text: &str) -> bool {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);

    let int = digits(s);
    let mut rest = &s[int..];
    let mut frac = 0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        frac = digits(after_dot);
        rest = &after_dot[frac..];
    }
    if int == 0 && frac == 0 {
        return false;
    }

    match rest.strip_prefix(['e', 'E']) {
        None => rest.is_empty(),
        Some(exp) => {
            let exp = exp.strip_prefix(['-', '+']).unwrap_or(exp);
            !exp.is_empty() && digits(exp) == exp.len()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lines(located: &Located) -> Vec<(&str, usize)> {
        located
            .lines
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect()
    }

    #[test]
    fn values_and_lines_of_a_manifest() {
        let text = "# a comment\ntype: event\nname: Send Mail\nsubscribes: [a, b]\nemits:\n  - mail.sent\n  - topic: mail.failed\n    label: on error\nqueue:\n  max_retries: 5\n";
        let located = parse(text, 0).expect("valid YAML");

        let expected = json!({
            "type": "event", "name": "Send Mail", "subscribes": ["a", "b"],
            "emits": ["mail.sent", {"topic": "mail.failed", "label": "on error"}],
            "queue": {"max_retries": 5}
        });
        assert_eq!(located.value, expected);
        assert_eq!(
            lines(&located),
            vec![
                ("", 2),
                ("/emits", 5),
                ("/emits/0", 6),
                ("/emits/1", 7),
                ("/emits/1/label", 8),
                ("/emits/1/topic", 7),
                ("/name", 3),
                ("/queue", 9),
                ("/queue/max_retries", 10),
                ("/subscribes", 4),
                ("/subscribes/0", 4),
                ("/subscribes/1", 4),
                ("/type", 2),
            ]
        );
        assert_eq!(located.line("/queue/max_retries/deeper"), 10);
        assert_eq!(located.line("/missing"), 2);
    }

    #[test]
    fn line_offset_is_added() {
        let located = parse("type: api\nname: x\n", 1).expect("valid YAML");
        assert_eq!(located.line(""), 2);
        assert_eq!(located.line("/name"), 3);
    }

    #[test]
    fn core_schema_scalars() {
        let text = "a: ~\nb:\nc: True\nd: -12\ne: 0x1F\nf: 0o17\ng: 1.5e3\nh: .5\ni: '12'\nj: \"true\"\nk: 1.2.3\nl: .inf\nm: !!str 42\nn: 18446744073709551615\no: |\n  block\n";
        let located = parse(text, 0).expect("valid YAML");
        let expected = json!({
            "a": null, "b": null, "c": true, "d": -12, "e": 31, "f": 15, "g": 1500.0, "h": 0.5,
            "i": "12", "j": "true", "k": "1.2.3", "l": ".inf", "m": "42",
            "n": 18446744073709551615u64, "o": "block\n"
        });
        assert_eq!(located.value, expected);
    }

    #[test]
    fn floats_by_the_core_pattern() {
        for yes in ["1.", "+1.0", "-.5", "3e2", "2E-3", "0.0"] {
            assert!(is_core_float(yes), "{yes}");
        }
        for no in [".", "e3", "1e", "1.5x", "inf", "NaN", "-", "1_000.0"] {
            assert!(!is_core_float(no), "{no}");
        }
    }

    #[test]
    fn every_duplicate_key_is_reported() {
        let text = "name: a\ntype: api\nname: b\nqueue:\n  timeout: 1s\n  timeout: 2s\n";
        let errors = parse(text, 0).expect_err("duplicates");
        let found: Vec<_> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (3, "duplicate key `name` (first at line 1)"),
                (6, "duplicate key `timeout` (first at line 5)"),
            ]
        );
    }

    #[test]
    fn aliases_are_resolved() {
        let text = "base: &topics [a, b]\nsubscribes: *topics\n";
        let located = parse(text, 0).expect("valid YAML");
        assert_eq!(located.value["subscribes"], json!(["a", "b"]));
        assert_eq!(located.line("/subscribes/1"), 2);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..6 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let errors = parse(&text, 0).expect_err("too large");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 4);
        assert!(
            errors[0].message.contains("more than 10000 values"),
            "{errors:?}"
        );
    }

    #[test]
    fn syntax_errors_carry_the_file_line() {
        let errors = parse("name: x\nemits: [a\ntype: api\n", 1).expect_err("syntax");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.starts_with("invalid YAML: "),
            "{errors:?}"
        );
        assert!(errors[0].line >= 3, "{errors:?}");
    }

    #[test]
    fn tags_other_than_str_and_second_documents_are_refused() {
        let errors = parse("name: !secret x\n", 0).expect_err("tag");
        assert_eq!(errors[0].message, "YAML tag `!secret` is not supported");
        assert_eq!(errors[0].line, 1);

        let errors = parse("name: a\n---\nname: b\n", 0).expect_err("two documents");
        assert_eq!(errors[0].message, "a second YAML document starts here");
        assert_eq!(errors[0].line, 2);
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(parse("# nothing\n", 0).expect("valid").value, Value::Null);
        assert_eq!(parse("", 0).expect("valid").value, Value::Null);
    }

    #[test]
    fn keys_are_escaped_in_pointers() {
        let located = parse("input:\n  a/b~c: 1\n", 0).expect("valid YAML");
        assert_eq!(located.line("/input/a~1b~0c"), 2);
    }
}
