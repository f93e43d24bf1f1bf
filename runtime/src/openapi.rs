//! The OpenAPI 3.1 document of the API steps: served at `GET /_stepline/openapi.json`
//! ([`document`], from the running [`App`]) and printed by `stepline openapi`
//! ([`document_for`], from manifests alone, no server or store needed).
//!
//! It is built from what the runtime routes and checks, so it cannot drift from it: each
//! step's route, method, name, description and tags come from its manifest; the request body
//! schema is the one requests are validated against (the manifest's `body`, else the
//! registered Rust type's schema, see [`crate::app::input_schema`]); the error answers are
//! those of [`crate::http`], all in the shape `{"error": {"code", "message"}}`.
//!
//! What the runtime cannot know is documented as unknown rather than guessed. A handler
//! picks its own success status and body, so a step's success is "200, JSON of any shape",
//! with two exceptions the runtime does know: `stepline.forward` answers 202 with
//! `{"event_id", "topic"}`, and a route ending in `{name}.ext` answers the media type that
//! ending names (`.ics` is `text/calendar`). Any other error a step may reject with (e.g.
//! 409) is covered by a `default` response with the same error body. Query parameters reach
//! handlers undeclared and are not listed.

mod schemas;

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value, json};

use crate::app::{App, input_schema, registration_of};
use crate::builtin::FORWARD;
use crate::manifest::{HttpMethod, ManifestSet, Status, Step, StepKind, snake_case};
use crate::registry::Registry;

use schemas::Components;

/// The document of a running application; with a token set, it declares the bearer scheme
/// (never the token).
pub fn document(app: &App) -> Value {
    let steps = app
        .steps
        .values()
        .filter(|s| s.step.kind() == StepKind::Api)
        .map(|s| {
            (
                &s.step,
                s.input_schema.as_ref().map(|(schema, _)| schema.clone()),
            )
        })
        .collect();
    build(steps, app.settings.api_token.is_some())
}

/// The document of the API steps in `set`, with the body schemas the server would check;
/// `auth` says whether the server would require a token (`STEPLINE_API_TOKEN`).
pub fn document_for(set: &ManifestSet, registry: &Registry, auth: bool) -> Value {
    let steps = set
        .steps
        .iter()
        .map(|step| (step, input_schema(step, registration_of(step, registry))))
        .collect();
    build(steps, auth)
}

/// Steps come sorted by name (both sources are), so operation ids and component names
/// are the same from the server and the command line.
fn build(steps: Vec<(&Step, Option<Value>)>, auth: bool) -> Value {
    let mut components = Components::default();
    components.schemas.insert("Error".into(), error_schema());
    let mut operation_ids = HashSet::from(["stepline_health".to_string()]);
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    paths.insert("/_stepline/health".into(), health(auth));

    for (step, body) in steps {
        let (Some(route), Some(method), StepKind::Api) =
            (&step.route, step.manifest.method, step.kind())
        else {
            continue;
        };
        let body = body
            .filter(|_| method.has_body())
            .map(|schema| components.add_body(schema, &body_name(step)));
        let id = unique_id(&mut operation_ids, snake_case(step.name()));
        let operation = operation(step, method, id, body, auth);
        paths
            .entry(openapi_path(route, step))
            .or_default()
            .insert(method.as_str().to_ascii_lowercase(), operation);
    }

    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Stepline",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The API steps of this Stepline application, generated from its \
                manifests and the schemas of its registered handlers.",
        },
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "responses": error_responses(auth),
        },
    });
    if auth {
        document["components"]["securitySchemes"] = security_schemes();
        document["security"] = json!([{ "bearer": [] }]);
    }
    document
}

/// One operation: what the manifest says, the body schema, and the answers.
fn operation(
    step: &Step,
    method: HttpMethod,
    id: String,
    body: Option<Value>,
    auth: bool,
) -> Value {
    let manifest = &step.manifest;
    let mut op = json!({
        "operationId": id,
        "summary": manifest.name,
        "responses": responses(step, method, auth),
    });
    if let Some(description) = description(step) {
        op["description"] = json!(description);
    }
    let tags = if manifest.tags.is_empty() {
        &manifest.flows
    } else {
        &manifest.tags
    };
    if !tags.is_empty() {
        op["tags"] = json!(tags);
    }
    let parameters = path_parameters(step);
    if !parameters.is_empty() {
        op["parameters"] = json!(parameters);
    }
    if let Some(schema) = body {
        // Not required: an empty body is read as `{}`, every field taking its default.
        op["requestBody"] = json!({
            "required": false,
            "content": { "application/json": { "schema": schema } },
        });
    }
    if manifest.status == Status::Deprecated {
        op["deprecated"] = json!(true);
    }
    if auth && method == HttpMethod::Get {
        // Calendar apps cannot send headers, so GET also takes `?access_token=`.
        op["security"] = json!([{ "bearer": [] }, { "access_token": [] }]);
    }
    if let Some(version) = &manifest.version {
        op["x-stepline-version"] = json!(version);
    }
    op
}

/// The manifest's one-line description, then the Markdown body of a `.md` manifest.
fn description(step: &Step) -> Option<String> {
    let parts: Vec<&str> = [step.manifest.description.as_deref(), step.docs.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// The axum route with the fixed ending put back: `/calendar/{kuerzel}` → `/calendar/{kuerzel}.ics`.
fn openapi_path(route: &str, step: &Step) -> String {
    match &step.route_suffix {
        Some((_, ending)) => format!("{route}{ending}"),
        None => route.to_string(),
    }
}

/// The `{name}` segments of the route: required strings, never empty.
fn path_parameters(step: &Step) -> Vec<Value> {
    let route = step.route.as_deref().unwrap_or("");
    route
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let mut parameter = json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": { "type": "string", "minLength": 1 },
            });
            if let Some((_, ending)) = step.route_suffix.as_ref().filter(|(n, _)| n == name) {
                parameter["description"] = json!(format!(
                    "Without the `{ending}` ending, which the path requires."
                ));
            }
            parameter
        })
        .collect()
}

/// The success answer, then the runtime's error answers that can reach this operation.
fn responses(step: &Step, method: HttpMethod, auth: bool) -> Map<String, Value> {
    let mut responses = Map::new();
    let (status, success) = success(step);
    responses.insert(status.into(), success);

    let mut errors = vec![("400", "BadRequest")];
    if auth {
        errors.push(("401", "Unauthorized"));
    }
    if step.route_suffix.is_some() {
        errors.push(("404", "NotFound"));
    }
    if method.has_body() {
        errors.push(("413", "PayloadTooLarge"));
        errors.push(("415", "UnsupportedMediaType"));
    }
    errors.extend([
        ("500", "Internal"),
        ("503", "Unavailable"),
        ("default", "StepError"),
    ]);
    for (status, name) in errors {
        let target = format!("#/components/responses/{name}");
        responses.insert(status.into(), json!({ "$ref": target }));
    }
    responses
}

fn success(step: &Step) -> (&'static str, Value) {
    if step.manifest.handler_id() == FORWARD {
        let topic = step.manifest.emits.first().map(|e| e.topic()).unwrap_or("");
        let schema = json!({
            "type": "object",
            "required": ["event_id", "topic"],
            "properties": {
                "event_id": { "type": "string", "description": "Id of the emitted event." },
                "topic": { "type": "string", "const": topic },
            },
        });
        let description = format!("The body was emitted as an event on `{topic}`.");
        return ("202", json_response(&description, schema));
    }
    if let Some((_, ending)) = &step.route_suffix {
        let (media_type, schema) = media_type(ending);
        let response = json!({
            "description": format!("The `{ending}` file."),
            "content": { media_type: { "schema": schema } },
        });
        return ("200", response);
    }
    let description = "The step's answer; its handler decides the shape, which the manifest \
        does not declare.";
    ("200", json_response(description, json!({})))
}

/// The media type a fixed route ending names; `*/*` for an ending not listed here.
fn media_type(ending: &str) -> (&'static str, Value) {
    let text = json!({ "type": "string" });
    match ending.to_ascii_lowercase().as_str() {
        ".ics" => ("text/calendar", text),
        ".json" => ("application/json", json!({})),
        ".csv" => ("text/csv", text),
        ".txt" => ("text/plain", text),
        ".html" => ("text/html", text),
        ".xml" => ("application/xml", text),
        _ => ("*/*", json!({})),
    }
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema } },
    })
}

/// `calendar_sync_api`, or `calendar_sync_api_2` when a name differing only in case or
/// punctuation took it (handler ids are not used: `stepline.forward` serves many steps).
fn unique_id(taken: &mut HashSet<String>, wanted: String) -> String {
    let id = if taken.contains(&wanted) {
        (2..)
            .map(|n| format!("{wanted}_{n}"))
            .find(|id| !taken.contains(id))
            .unwrap_or(wanted)
    } else {
        wanted
    };
    taken.insert(id.clone());
    id
}

/// `Calendar Sync API` → `CalendarSyncApiBody`, for a body schema without a title.
fn body_name(step: &Step) -> String {
    let pascal: String = snake_case(step.name())
        .split('_')
        .filter_map(|word| {
            let mut chars = word.chars();
            let first = chars.next()?;
            Some(first.to_uppercase().chain(chars).collect::<String>())
        })
        .collect();
    format!("{pascal}Body")
}

/// The built-in health endpoint; it never needs the token.
fn health(auth: bool) -> Map<String, Value> {
    let schema = json!({
        "type": "object",
        "required": ["status", "store", "steps", "version"],
        "properties": {
            "status": { "enum": ["ok", "degraded"] },
            "store": { "type": "string", "description": "`ok`, or why the state store does not answer." },
            "steps": { "type": "integer", "minimum": 0, "description": "Loaded steps." },
            "version": { "type": "string", "description": "The runtime's version." },
        },
    });
    let mut get = json!({
        "operationId": "stepline_health",
        "summary": "Health",
        "description": "Answers while the server runs; never needs the token.",
        "tags": ["stepline"],
        "responses": {
            "200": json_response("The server and its state store answer.", schema.clone()),
            "503": json_response("The state store (e.g. Redis) does not answer.", schema),
        },
    });
    if auth {
        get["security"] = json!([]);
    }
    Map::from_iter([("get".to_string(), get)])
}

/// The body of every error answer, see [`crate::http::ApiError`].
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "Stable and machine-readable, e.g. `unknown_field`.",
                    },
                    "message": {
                        "type": "string",
                        "description": "For people: what is wrong and what to send instead.",
                    },
                },
            },
        },
    })
}

/// The runtime's error answers, shared by the operations; 401 only when a token is set.
fn error_responses(auth: bool) -> Value {
    let error = |description: &str| {
        json_response(description, json!({ "$ref": "#/components/schemas/Error" }))
    };
    let mut responses = json!({
        "BadRequest": error(
            "The request does not fit: `invalid_path`, `invalid_query`, `invalid_json`, \
             `invalid_body`, `unknown_field`, or a code of the step's own."
        ),
        "NotFound": error(
            "`not_found`: the path lacks its fixed ending, or the step found nothing."
        ),
        "PayloadTooLarge": error(
            "`body_too_large`: the body exceeds the server's limit."
        ),
        "UnsupportedMediaType": error(
            "`unsupported_media_type`: a non-empty body must be sent as `application/json`."
        ),
        "Internal": error(
            "`internal`: the step failed; the details are in the server log."
        ),
        "Unavailable": error(
            "`unavailable`: a store or service the step needs is down; retry later."
        ),
        "StepError": error(
            "Another error the step answers (e.g. 409 while a run is in progress)."
        ),
    });
    if auth {
        responses["Unauthorized"] = error("`unauthorized`: the token is missing or wrong.");
    }
    responses
}

fn security_schemes() -> Value {
    json!({
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <STEPLINE_API_TOKEN>`.",
        },
        "access_token": {
            "type": "apiKey",
            "in": "query",
            "name": "access_token",
            "description": "The token as a query parameter; GET and HEAD only.",
        },
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::manifest::Source;

    fn api_step(manifest: Value, route: &str, suffix: Option<(&str, &str)>) -> Step {
        Step {
            manifest: serde_json::from_value(manifest).expect("a valid manifest"),
            source: Source {
                file: PathBuf::from("test.yaml"),
                line: 1,
            },
            docs: None,
            route: Some(route.to_string()),
            route_suffix: suffix.map(|(n, e)| (n.to_string(), e.to_string())),
        }
    }

    #[test]
    fn a_parameter_with_a_fixed_ending_keeps_it_in_the_path() {
        let feed = api_step(
            json!({ "type": "api", "name": "Calendar Feed", "flows": ["cal"],
                    "path": "/calendar/{kuerzel}.ics", "method": "GET" }),
            "/calendar/{kuerzel}",
            Some(("kuerzel", ".ics")),
        );
        let doc = build(vec![(&feed, Some(json!({ "type": "object" })))], false);

        let get = &doc["paths"]["/calendar/{kuerzel}.ics"]["get"];
        assert_eq!(get["operationId"], "calendar_feed");
        assert_eq!(
            get["tags"],
            json!(["cal"]),
            "flows stand in for missing tags"
        );
        assert_eq!(get["parameters"][0]["name"], "kuerzel");
        assert_eq!(get["parameters"][0]["in"], "path");
        assert_eq!(get["parameters"][0]["required"], true);
        assert_eq!(
            get["responses"]["200"]["content"]["text/calendar"]["schema"],
            json!({ "type": "string" })
        );
        assert_eq!(
            get["responses"]["404"]["$ref"],
            "#/components/responses/NotFound"
        );
        assert!(get.get("requestBody").is_none(), "GET reads no body");
        assert!(doc["paths"].get("/calendar/{kuerzel}").is_none());
    }

    #[test]
    fn body_defs_move_to_components_and_forward_answers_202() {
        let hook = api_step(
            json!({ "type": "api", "name": "Order Hook", "handler": "stepline.forward",
                    "path": "/orders", "method": "POST", "emits": ["order_received"] }),
            "/orders",
            None,
        );
        let body = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": { "line": { "$ref": "#/$defs/Line" } },
            "$defs": { "Line": { "type": "object", "required": ["sku"] } },
        });
        let doc = build(vec![(&hook, Some(body))], true);

        let post = &doc["paths"]["/orders"]["post"];
        let schema = &post["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(schema["$ref"], "#/components/schemas/OrderHookBody");
        assert_eq!(post["requestBody"]["required"], false);
        let stored = &doc["components"]["schemas"]["OrderHookBody"];
        assert_eq!(
            stored["properties"]["line"]["$ref"],
            "#/components/schemas/Line"
        );
        assert_eq!(
            doc["components"]["schemas"]["Line"]["required"],
            json!(["sku"])
        );
        let accepted = &post["responses"]["202"]["content"]["application/json"]["schema"];
        assert_eq!(accepted["properties"]["topic"]["const"], "order_received");
        assert!(post["responses"].get("200").is_none());
        assert_eq!(
            post["responses"]["401"]["$ref"],
            "#/components/responses/Unauthorized"
        );
        assert_eq!(
            post["responses"]["415"]["$ref"],
            "#/components/responses/UnsupportedMediaType"
        );
        assert_eq!(doc["security"], json!([{ "bearer": [] }]));
        assert_eq!(
            doc["paths"]["/_stepline/health"]["get"]["security"],
            json!([])
        );
    }
}
