//! The OpenAPI document of the repository's manifests, as `stepline openapi` prints it and
//! `/_stepline/openapi.json` serves it, checked by an independent validator: the
//! `openapi-spec-validator` package from PyPI (`.ci/run` installs it). A machine without it
//! fails these tests rather than skipping them.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

/// `stepline openapi` on the repository's manifests, with `env` set; the printed JSON text.
fn openapi_cli(env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stepline"));
    command
        .arg("openapi")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("STEPLINE_LOG", "error")
        .env_remove("STEPLINE_MANIFESTS")
        .env_remove("STEPLINE_API_TOKEN");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run stepline openapi");
    assert!(
        output.status.success(),
        "stepline openapi failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Runs the independent validator on `document`; panics with its verdict if it refuses.
fn assert_valid(document: &str) {
    let importable = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output();
    match importable {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "the independent OpenAPI validator is not installed; install it with \
             `python3 -m pip install openapi-spec-validator` (`.ci/run` does)"
        ),
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, document).expect("write the document");
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .arg(&file)
        .output()
        .expect("run openapi_spec_validator");
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn operations(document: &Value) -> Vec<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("path item").keys();
            methods.map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

/// Follows a `#/components/schemas/…` reference.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(target) => {
            let pointer = target.strip_prefix('#').expect("a local reference");
            document.pointer(pointer).expect("the reference resolves")
        }
        None => schema,
    }
}

#[test]
fn the_calendar_api_is_documented_and_passes_the_validator() {
    let text = openapi_cli(&[]);
    assert_valid(&text);
    let document: Value = serde_json::from_str(&text).expect("JSON");

    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "Stepline");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let mut found = operations(&document);
    found.sort();
    let expected = [
        ("GET", "/_stepline/health"),
        ("GET", "/advoware/calendar/sync/status"),
        ("GET", "/advoware/calendar/sync/status/{kuerzel}"),
        ("GET", "/advoware/calendar/{kuerzel}.ics"),
        ("POST", "/advoware/calendar/sync"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(found, expected);

    let sync = &document["paths"]["/advoware/calendar/sync"]["post"];
    assert_eq!(sync["operationId"], "calendar_sync_api");
    assert_eq!(sync["requestBody"]["required"], false);
    let body = resolve(
        &document,
        &sync["requestBody"]["content"]["application/json"]["schema"],
    );
    assert_eq!(body["type"], "object");
    assert_eq!(body["additionalProperties"], false);
    let mut fields: Vec<&String> = body["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .collect();
    fields.sort();
    assert_eq!(fields, ["full_content", "kuerzel"]);
    assert_eq!(body["properties"]["full_content"]["type"], "boolean");
    let error = resolve(&document, &sync["responses"]["415"]);
    let error = resolve(&document, &error["content"]["application/json"]["schema"]);
    assert_eq!(error["required"], json!(["error"]));
    assert_eq!(
        error["properties"]["error"]["required"],
        json!(["code", "message"])
    );

    let feed = &document["paths"]["/advoware/calendar/{kuerzel}.ics"]["get"];
    assert_eq!(feed["parameters"][0]["name"], "kuerzel");
    assert!(feed["responses"]["200"]["content"]["text/calendar"].is_object());
    assert!(feed.get("requestBody").is_none());

    // Without a token there is nothing to authenticate with.
    assert!(document.get("security").is_none());
    assert!(document["components"].get("securitySchemes").is_none());
    assert!(sync["responses"].get("401").is_none());
}

#[test]
fn with_a_token_every_operation_but_health_needs_it() {
    let text = openapi_cli(&[("STEPLINE_API_TOKEN", "secret")]);
    assert_valid(&text);
    let document: Value = serde_json::from_str(&text).expect("JSON");

    assert!(
        !text.contains("secret"),
        "the token itself is never printed"
    );
    assert_eq!(document["security"], json!([{ "bearer": [] }]));
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["access_token"]["in"], "query");
    assert_eq!(
        document["paths"]["/_stepline/health"]["get"]["security"],
        json!([])
    );
    let sync = &document["paths"]["/advoware/calendar/sync"]["post"];
    assert_eq!(
        sync["responses"]["401"]["$ref"],
        "#/components/responses/Unauthorized"
    );
    let feed = &document["paths"]["/advoware/calendar/{kuerzel}.ics"]["get"];
    assert_eq!(
        feed["security"],
        json!([{ "bearer": [] }, { "access_token": [] }])
    );
}

#[tokio::test]
async fn the_server_serves_the_document_the_command_line_prints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    let served = common::binary::serve(&manifests, dir.path(), &[]);

    let response = reqwest::get(format!("{}/_stepline/openapi.json", served.base))
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let served_document: Value = response.json().await.expect("JSON");
    let printed: Value = serde_json::from_str(&openapi_cli(&[])).expect("JSON");
    assert_eq!(served_document, printed);
}
