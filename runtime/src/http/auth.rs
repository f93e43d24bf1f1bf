//! Bearer-token access control, on when `STEPLINE_API_TOKEN` is set.
//!
//! Every route needs the token except `/_stepline/health`. `GET` and `HEAD` requests may pass it as the
//! `access_token` query parameter instead, since calendar apps subscribing to an ICS URL
//! cannot send headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The middleware; `token` is the configured secret.
pub async fn require_token(
    State(token): State<Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == "/_stepline/health" || presented(&request, &token) {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this endpoint needs `Authorization: Bearer <STEPLINE_API_TOKEN>`",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

fn presented(request: &Request, token: &str) -> bool {
    let from_header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()));
    if from_header {
        return true;
    }
    matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    ) && request
        .uri()
        .query()
        .and_then(token_in_query)
        .is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes()))
}

/// The `access_token` of a query string, percent-decoded.
pub fn token_in_query(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "access_token")
        .map(|(_, value)| value.into_owned())
}

/// `?access_token=<token>`, percent-encoded, for links that must carry the token.
pub fn token_query(token: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    format!("?access_token={encoded}")
}

/// Compares without stopping at the first difference, so timing tells nothing of the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn query_tokens_are_percent_decoded_and_encoded() {
        use super::{token_in_query, token_query};
        assert_eq!(
            token_in_query("x=1&access_token=a%2Bb%2F%3D"),
            Some("a+b/=".into())
        );
        assert_eq!(token_in_query("x=1"), None);
        assert_eq!(token_query("a+b/= &"), "?access_token=a%2Bb%2F%3D+%26");
        assert_eq!(
            token_in_query(&token_query("a+b/= &")[1..]),
            Some("a+b/= &".into())
        );
    }

    #[test]
    fn compares_tokens() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secrets"));
    }
}
