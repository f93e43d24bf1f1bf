//! The manifest model: one [`Manifest`] per step file, as written by the user.
//!
//! The serde attributes here are the format: `deny_unknown_fields` everywhere, so that a typo
//! is an error rather than a silently ignored key. `stepline schema` prints the JSON Schema
//! derived from these types, and the loader validates every file against it.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What triggers a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Runs on an HTTP request to `method path`.
    Api,
    /// Runs on each event of a subscribed topic.
    Event,
    /// Runs on a schedule.
    Cron,
    /// Drawn in the flow graph, never run (outside actors, manual steps).
    Noop,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Event => "event",
            Self::Cron => "cron",
            Self::Noop => "noop",
        }
    }
}

impl std::fmt::Display for StepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a step is loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Active,
    /// Loaded, with a warning at start.
    Deprecated,
    /// Not loaded at all.
    Disabled,
}

/// HTTP methods an API step can be routed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// Whether requests with this method carry a body that the step's schema checks.
    pub fn has_body(self) -> bool {
        matches!(self, Self::Post | Self::Put | Self::Patch)
    }
}

/// A topic a step emits: a bare name, or a name with a label and a condition flag for the
/// flow graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Emit {
    Topic(String),
    Detailed(DetailedEmit),
}

/// The long form of an [`Emit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailedEmit {
    pub topic: String,
    /// Edge label in the flow graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Emitted only under some condition; drawn as such.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conditional: bool,
}

impl Emit {
    pub fn topic(&self) -> &str {
        match self {
            Self::Topic(t) => t,
            Self::Detailed(d) => &d.topic,
        }
    }

    pub fn label(&self) -> Option<&str> {
        match self {
            Self::Topic(_) => None,
            Self::Detailed(d) => d.label.as_deref(),
        }
    }

    pub fn conditional(&self) -> bool {
        matches!(self, Self::Detailed(d) if d.conditional)
    }
}

/// Delivery settings of an event step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Retries after the first attempt; the event is dead-lettered after `max_retries + 1`
    /// failed attempts. Default 3.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Delay before the first retry; each further retry doubles it, with jitter. Default 1s.
    #[serde(default = "default_backoff")]
    pub backoff: DurationSpec,
    /// Upper bound of the retry delay. Default 5m.
    #[serde(default = "default_max_backoff")]
    pub max_backoff: DurationSpec,
    /// Handler runs of this step at once, in this process. Default 16.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// A payload field (top-level name or JSON pointer such as `/employee/code`): events with
    /// the same value run one at a time, in the order they were emitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    /// A run that takes longer fails (and is retried). Default 5m.
    #[serde(default = "default_timeout")]
    pub timeout: DurationSpec,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            max_retries: default_max_retries(),
            backoff: default_backoff(),
            max_backoff: default_max_backoff(),
            concurrency: default_concurrency(),
            group_by: None,
            timeout: default_timeout(),
        }
    }
}

fn default_max_retries() -> u32 {
    3
}
fn default_backoff() -> DurationSpec {
    DurationSpec(Duration::from_secs(1))
}
fn default_max_backoff() -> DurationSpec {
    DurationSpec(Duration::from_secs(300))
}
fn default_concurrency() -> u32 {
    16
}
fn default_timeout() -> DurationSpec {
    DurationSpec(Duration::from_secs(300))
}

/// A duration written as `250ms`, `30s`, `5m` or `1h`, or as a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationSpec(pub Duration);

impl DurationSpec {
    /// Parses `250ms`, `30s`, `5m`, `1h` or a plain number of seconds.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let n: u64 = digits.parse().ok()?;
        let d = match unit.trim() {
            "ms" => Duration::from_millis(n),
            "" | "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        Some(Self(d))
    }
}

impl Serialize for DurationSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", self.0.as_millis()))
    }
}

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(n) => Ok(Self(Duration::from_secs(n))),
            Raw::Text(t) => Self::parse(&t).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{t}` is not a duration; write e.g. `250ms`, `30s`, `5m` or `1h`"
                ))
            }),
        }
    }
}

impl JsonSchema for DurationSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: `250ms`, `30s`, `5m`, `1h`, or a number of seconds.",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^[0-9]+\\s*(ms|s|m|h)?$" }
            ]
        })
    }
}

/// One step, as declared in its manifest file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Stepline step manifest")]
pub struct Manifest {
    /// `api`, `event`, `cron` or `noop`.
    #[serde(rename = "type")]
    pub kind: StepKind,
    /// Human name, unique across the manifest set, e.g. `Calendar Sync API`.
    pub name: String,
    /// Id of the registered Rust function; defaults to the name in snake_case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// One line saying what the step does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `active` (default), `deprecated` (loaded, warned) or `disabled` (not loaded).
    #[serde(default)]
    pub status: Status,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// What the step relies on (services, other steps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Flow names; a step with none is drawn in the flow `default`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<String>,
    /// Topics the step may emit (api, event, cron).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emits: Vec<Emit>,
    /// Route of an API step, with path parameters as `{name}` or `:name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Method of an API step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    /// Topics that trigger an event step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscribes: Vec<String>,
    /// Schedule of a cron step: 5 fields, or 6 with seconds first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// IANA time zone of the cron schedule, e.g. `Europe/Berlin`. Default UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// JSON Schema of an event step's payload; default: the registered Rust type's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    /// JSON Schema of an API step's request body; default: the registered Rust type's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// Edges drawn in the flow graph, never routed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_emits: Vec<Emit>,
    /// Edges drawn in the flow graph, never routed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_subscribes: Vec<String>,
    /// Delivery settings of an event step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueConfig>,
}

impl Manifest {
    /// The handler id: the `handler` field, or the name in snake_case.
    pub fn handler_id(&self) -> String {
        self.handler
            .clone()
            .unwrap_or_else(|| snake_case(&self.name))
    }

    /// Whether `topic` is among the topics this step may emit (routed ones only).
    pub fn may_emit(&self, topic: &str) -> bool {
        self.emits.iter().any(|e| e.topic() == topic)
    }

    /// Delivery settings, with defaults filled in.
    pub fn queue_config(&self) -> QueueConfig {
        self.queue.clone().unwrap_or_default()
    }
}

/// `Calendar Sync API` → `calendar_sync_api`; runs of non-alphanumerics become one `_`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            prev_lower = c.is_lowercase() || c.is_numeric();
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_of_names() {
        assert_eq!(snake_case("Calendar Sync API"), "calendar_sync_api");
        assert_eq!(snake_case("calendarSyncAll"), "calendar_sync_all");
        assert_eq!(snake_case("  Send -- Mail! "), "send_mail");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }

    #[test]
    fn durations() {
        assert_eq!(
            DurationSpec::parse("250ms"),
            Some(DurationSpec(Duration::from_millis(250)))
        );
        assert_eq!(
            DurationSpec::parse("30s"),
            Some(DurationSpec(Duration::from_secs(30)))
        );
        assert_eq!(
            DurationSpec::parse("5m"),
            Some(DurationSpec(Duration::from_secs(300)))
        );
        assert_eq!(
            DurationSpec::parse("2h"),
            Some(DurationSpec(Duration::from_secs(7200)))
        );
        assert_eq!(
            DurationSpec::parse("12"),
            Some(DurationSpec(Duration::from_secs(12)))
        );
        assert_eq!(DurationSpec::parse("5 days"), None);
        assert_eq!(DurationSpec::parse("ms"), None);
    }
}
