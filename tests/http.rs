//! HTTP through a real server: routing with path and query parameters, and the JSON error
//! of every bad request (each with its status and code), a panicking handler, health.

mod common;

use common::{TestServer, code};
use serde_json::json;

const ORDER: &str = "type: api\nname: Order\npath: /orders\nmethod: POST\nhandler: test_order\n";
const ECHO: &str =
    "type: api\nname: Echo\npath: /items/:id/parts/{part}\nmethod: GET\nhandler: test_echo\n";
const PANICS: &str = "type: api\nname: Panics\npath: /panic\nmethod: GET\nhandler: test_panics\n";

async fn server() -> TestServer {
    TestServer::start_with(
        &[
            ("order.yaml", ORDER),
            ("echo.yaml", ECHO),
            ("panics.yaml", PANICS),
        ],
        |o| {
            o.settings.max_body_bytes = 256;
        },
    )
    .await
}

async fn post_raw(
    server: &TestServer,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut request = server.client.post(server.url(path)).body(body.to_string());
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    common::read(request.send().await.expect("request")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_and_query_parameters_reach_the_handler() {
    let server = server().await;
    let (status, body) = server.get("/items/42/parts/a%20b?x=1&y=two").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["path"], json!({"id": "42", "part": "a b"}));
    assert_eq!(body["query"], json!({"x": "1", "y": "two"}));
    assert_eq!(body["body"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_body_is_parsed_and_a_handler_refusal_keeps_its_status() {
    let server = server().await;
    let (status, body) = server
        .post_json("/orders", &json!({"item": "pen", "quantity": 3}))
        .await;
    assert_eq!((status, body), (200, json!({"item": "pen", "quantity": 3})));
    let (status, body) = post_raw(
        &server,
        "/orders",
        Some("application/json; charset=utf-8"),
        r#"{"item":"pen"}"#,
    )
    .await;
    assert_eq!((status, body), (200, json!({"item": "pen", "quantity": 1})));
    let (status, body) = server
        .post_json("/orders", &json!({"item": "sold-out"}))
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body,
        json!({"error": {"code": "sold_out", "message": "that item is sold out"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_gets_its_status_and_code() {
    let server = server().await;

    let (status, body) =
        post_raw(&server, "/orders", Some("application/json"), r#"{"item": "#).await;
    assert_eq!((status, code(&body)), (400, "invalid_json"), "{body}");

    let (status, body) = server.post_json("/orders", &json!({"item": 5})).await;
    assert_eq!((status, code(&body)), (400, "invalid_body"), "{body}");
    assert_eq!(
        body["error"]["message"],
        "/item: 5 is not of type \"string\""
    );

    let (status, body) = server.post_json("/orders", &json!({"quantity": 2})).await;
    assert_eq!((status, code(&body)), (400, "invalid_body"), "{body}");
    assert_eq!(
        body["error"]["message"],
        "body: \"item\" is a required property"
    );

    let (status, body) = server
        .post_json("/orders", &json!({"item": "pen", "qty": 2}))
        .await;
    assert_eq!((status, code(&body)), (400, "unknown_field"), "{body}");
    assert_eq!(
        body["error"]["message"],
        "unknown field(s): `qty`; allowed: `item`, `quantity`"
    );

    let big = format!(r#"{{"item": "{}"}}"#, "x".repeat(300));
    let (status, body) = post_raw(&server, "/orders", Some("application/json"), &big).await;
    assert_eq!((status, code(&body)), (413, "body_too_large"), "{body}");

    let (status, body) =
        post_raw(&server, "/orders", Some("text/plain"), r#"{"item":"pen"}"#).await;
    assert_eq!(
        (status, code(&body)),
        (415, "unsupported_media_type"),
        "{body}"
    );
    let (status, body) = post_raw(&server, "/orders", None, r#"{"item":"pen"}"#).await;
    assert_eq!(
        (status, code(&body)),
        (415, "unsupported_media_type"),
        "{body}"
    );

    let (status, body) = server.get("/items/%FF/parts/x").await;
    assert_eq!((status, code(&body)), (400, "invalid_path"), "{body}");

    let (status, body) = server.get("/nowhere").await;
    assert_eq!((status, code(&body)), (404, "not_found"), "{body}");
    assert_eq!(body["error"]["message"], "no route for GET /nowhere");

    let response = server
        .client
        .delete(server.url("/orders"))
        .send()
        .await
        .expect("request");
    let (status, body) = common::read(response).await;
    assert_eq!((status, code(&body)), (405, "method_not_allowed"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_and_the_server_lives_on() {
    let server = server().await;
    let (status, body) = server.get("/panic").await;
    assert_eq!((status, code(&body)), (500, "internal"), "{body}");
    let (status, body) = server.get("/_stepline/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["steps"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_every_route_but_health() {
    let server = TestServer::start_with(&[("echo.yaml", ECHO)], |o| {
        o.settings.api_token = Some("s3cret".into());
    })
    .await;
    let (status, body) = server.get("/items/1/parts/2").await;
    assert_eq!((status, code(&body)), (401, "unauthorized"));
    let response = server
        .client
        .get(server.url("/items/1/parts/2"))
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let (status, _) = server.get("/items/1/parts/2?access_token=s3cret").await;
    assert_eq!(status, 200);
    let (status, _) = server.get("/items/1/parts/2?access_token=s3%63ret").await;
    assert_eq!(status, 200, "the query token is percent-decoded");
    let (status, _) = server.get("/items/1/parts/2?access_token=wrong").await;
    assert_eq!(status, 401);
    let (status, _) = server.get("/_stepline/dead-letters").await;
    assert_eq!(status, 401);
    let (status, _) = server.get("/_stepline/health").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_read_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(&[("echo.yaml", ECHO)], |o| {
        o.settings.read_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let address = server.base.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    socket
        .write_all(b"GET /items/1/parts/2 HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("half a head");
    let mut buffer = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        socket.read_to_end(&mut buffer),
    )
    .await;
    assert!(closed.is_ok(), "the server closed the silent connection");

    // The server still serves others.
    let (status, _) = server.get("/items/1/parts/2").await;
    assert_eq!(status, 200);
}
