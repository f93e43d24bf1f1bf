//! One Calendar API call, with the error rules of `DOMAIN.md`: the bearer token attached,
//! 401 answered by one token refresh, rate limits (403 `rateLimitExceeded` and
//! `userRateLimitExceeded`, 429) and 5xx retried with exponential backoff and jitter,
//! 403 `quotaExceeded` turned at once into [`TargetError::QuotaExceeded`].
//!
//! ```text
//!   call ─► token ─► send ─┬─ 2xx, 404, 409, 410, 412, other 4xx ─► Answer (caller decides)
//!                          ├─ 401 (first time) ─► invalidate token, send again
//!                          ├─ 403 quotaExceeded ─► Err(QuotaExceeded), no retry
//!                          └─ rate limit, 429, 5xx, network ─► sleep base·2ⁿ + jitter,
//!                             send again; after max_retries: Err(Unavailable)
//! ```
//!
//! URLs, tokens and bodies are never logged: a calendar id is an address, and bodies
//! carry appointment content.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::auth::TokenSource;
use super::config::GoogleConfig;
use crate::calendar::target::TargetError;

/// What the API answered to a call that was not retried away.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body (`Null` when empty or not JSON).
    pub body: Value,
}

impl Answer {
    /// The `reason` of the first error Google names, if any.
    pub fn reason(&self) -> Option<&str> {
        reason(&self.body)
    }
}

/// One Calendar API request.
pub struct Request<'a> {
    /// GET, POST, PATCH or DELETE.
    pub method: Method,
    /// Path segments after the base URL, each percent-encoded on its own.
    pub path: &'a [&'a str],
    /// Query parameters.
    pub query: &'a [(&'a str, &'a str)],
    /// The JSON body, if any.
    pub body: Option<&'a Value>,
    /// The `If-Match` etag, if any.
    pub if_match: Option<&'a str>,
    /// A name for logs (`events.insert`): never the URL.
    pub name: &'static str,
}

/// The HTTP client, token source and retry rules.
pub struct Api {
    http: reqwest::Client,
    tokens: TokenSource,
    base: Url,
    max_retries: u32,
    backoff_base: Duration,
    backoff_cap: Duration,
}

impl Api {
    /// A client for `config`; fails on an unreadable key or a malformed URL.
    pub fn new(config: &GoogleConfig) -> Result<Self, TargetError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| TargetError::Unavailable(format!("HTTP client: {e}")))?;
        let base = Url::parse(&config.api_url)
            .ok()
            .filter(|u| !u.cannot_be_a_base())
            .ok_or_else(|| {
                TargetError::Auth(format!("GOOGLE_API_URL `{}` is not a URL", config.api_url))
            })?;
        Ok(Self {
            http,
            tokens: TokenSource::new(config)?,
            base,
            max_retries: config.max_retries,
            backoff_base: config.backoff_base,
            backoff_cap: config.backoff_cap,
        })
    }

    /// Sends `request`, retrying as the module doc says.
    pub async fn call(&self, request: &Request<'_>) -> Result<Answer, TargetError> {
        let url = self.url(request);
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            let token = match self.tokens.token(&self.http).await {
                Ok(token) => token,
                // The token endpoint is retried like the API.
                Err(TargetError::Unavailable(cause)) => {
                    self.pause(request, attempt, &cause).await?;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let failure = match self.send(request, &url, &token).await {
                Ok(answer) if answer.status == StatusCode::UNAUTHORIZED && !refreshed => {
                    tracing::debug!(call = request.name, "access token refused; refreshing once");
                    self.tokens.invalidate().await;
                    refreshed = true;
                    continue;
                }
                Ok(answer) if answer.status == StatusCode::UNAUTHORIZED => {
                    return Err(TargetError::Auth(format!(
                        "{} answered 401 with a fresh token",
                        request.name
                    )));
                }
                Ok(answer) if answer.reason() == Some("quotaExceeded") => {
                    return Err(TargetError::QuotaExceeded);
                }
                Ok(answer) if is_transient(&answer) => format!("answered {}", answer.status),
                Ok(answer) => return Ok(answer),
                Err(e) => e,
            };
            self.pause(request, attempt, &failure).await?;
            attempt += 1;
        }
    }

    /// Waits before retry `attempt + 1`, or gives up when the retries are spent.
    async fn pause(
        &self,
        request: &Request<'_>,
        attempt: u32,
        failure: &str,
    ) -> Result<(), TargetError> {
        if attempt >= self.max_retries {
            return Err(TargetError::Unavailable(format!(
                "{} {failure} after {} retries",
                request.name, self.max_retries
            )));
        }
        let delay = self.backoff(attempt);
        tracing::warn!(
            call = request.name,
            attempt = attempt + 1,
            delay_ms = delay.as_millis() as u64,
            "google calendar call {failure}; retrying"
        );
        tokio::time::sleep(delay).await;
        Ok(())
    }

    async fn send(&self, request: &Request<'_>, url: &Url, token: &str) -> Result<Answer, String> {
        let mut builder = self
            .http
            .request(request.method.clone(), url.clone())
            .bearer_auth(token);
        if !request.query.is_empty() {
            builder = builder.query(request.query);
        }
        if let Some(body) = request.body {
            builder = builder.json(body);
        }
        if let Some(etag) = request.if_match {
            builder = builder.header(reqwest::header::IF_MATCH, etag);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| format!("failed ({})", e.without_url()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("answer unreadable ({})", e.without_url()))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        tracing::trace!(
            call = request.name,
            status = status.as_u16(),
            "google calendar call"
        );
        Ok(Answer { status, body })
    }

    fn url(&self, request: &Request<'_>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(request.path);
        }
        url
    }

    fn backoff(&self, attempt: u32) -> Duration {
        backoff(self.backoff_base, self.backoff_cap, attempt)
    }
}

/// The `reason` of the first entry of Google's `error.errors`.
pub fn reason(body: &Value) -> Option<&str> {
    body["error"]["errors"][0]["reason"].as_str()
}

/// Rate limits, 429 and 5xx: worth another try after a pause.
fn is_transient(answer: &Answer) -> bool {
    let status = answer.status;
    let rate_limited = status == StatusCode::FORBIDDEN
        && matches!(
            answer.reason(),
            Some("rateLimitExceeded" | "userRateLimitExceeded")
        );
    rate_limited || status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `base · 2^attempt`, capped, then drawn from its upper half, so that many employees'
/// runs do not retry in step and no wait exceeds the cap.
fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let exponential = base.saturating_mul(1u32 << attempt.min(16)).min(cap);
    exponential.mul_f64(rand::random_range(0.5..=1.0))
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn waits_grow_and_never_exceed_the_cap() {
        let (base, cap) = (Duration::from_millis(500), Duration::from_secs(32));
        for (attempt, full) in [(0, 500), (1, 1_000), (3, 4_000), (6, 32_000), (20, 32_000)] {
            for _ in 0..50 {
                let wait = backoff(base, cap, attempt).as_millis() as u64;
                assert!(
                    wait >= full / 2 && wait <= full,
                    "attempt {attempt}: {wait} ms"
                );
            }
        }
    }
}
