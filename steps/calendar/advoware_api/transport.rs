//! One Advoware request with its retries: what is worth retrying (5xx, 429, timeouts, lost
//! connections) is retried with growing, jittered delays; a German refusal text is a
//! [`SourceError::Refused`] at once; a 401 goes back to the caller, which refreshes the
//! token once.
//!
//! Messages name the request ("TermineActiveSync", "token") and the status, never a URL's
//! query, a header or a body: those carry credentials and client data.

use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

use super::auth::refusal_cause;
use super::config::RetryPolicy;
use crate::calendar::source::SourceError;

/// A successful answer, or a 401 that the caller may answer with a new token.
#[derive(Debug)]
pub enum Answer {
    /// A 2xx answer's JSON body.
    Json(Value),
    /// 401 without a refusal text.
    Unauthorized,
}

/// Sends the request that `build` makes (made again for each attempt) and reads its JSON
/// answer; `what` names the request in logs and errors.
pub async fn send(
    retry: &RetryPolicy,
    what: &str,
    build: impl Fn() -> RequestBuilder,
) -> Result<Answer, SourceError> {
    let mut retries = 0;
    loop {
        let failure = match build().send().await {
            Ok(response) => match read(what, response).await? {
                Ok(answer) => return Ok(answer),
                Err(status) => format!("HTTP {}", status.as_u16()),
            },
            Err(e) if e.is_timeout() => "no answer in time".to_owned(),
            Err(e) if e.is_connect() => "no connection".to_owned(),
            // A request that cannot be built, or redirects in circles, fails the same way
            // every time: a configuration problem, not worth a retry.
            Err(e) if e.is_builder() || e.is_redirect() => {
                return Err(SourceError::Refused(format!(
                    "{what}: the request cannot be made ({}); check the ADVOWARE_* settings",
                    e.without_url()
                )));
            }
            Err(_) => "the request failed".to_owned(),
        };
        if retries >= retry.retries {
            return Err(SourceError::Unavailable(format!(
                "{what}: {failure} after {} attempts",
                retries + 1
            )));
        }

        let delay = retry.delay(retries);
        retries += 1;
        tracing::warn!(
            request = what,
            %failure,
            retry = retries,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "Advoware request failed; retrying"
        );
        tokio::time::sleep(delay).await;
    }
}

/// Classifies an answer: `Ok(answer)` when done, `Err(status)` when worth retrying, and
/// an error when retrying cannot help.
async fn read(
    what: &str,
    response: reqwest::Response,
) -> Result<Result<Answer, StatusCode>, SourceError> {
    let status = response.status();
    if status.is_success() {
        return match response.json::<Value>().await {
            Ok(json) => Ok(Ok(Answer::Json(json))),
            Err(_) => Err(SourceError::Unavailable(format!(
                "{what}: the answer is not JSON"
            ))),
        };
    }

    let body = response.text().await.unwrap_or_default();
    if let Some(cause) = refusal_cause(&body) {
        return Err(SourceError::Refused(format!("{what}: {cause}")));
    }
    if status == StatusCode::UNAUTHORIZED {
        return Ok(Ok(Answer::Unauthorized));
    }
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Ok(Err(status));
    }
    Err(SourceError::Refused(format!(
        "{what}: HTTP {} (check the Advoware settings)",
        status.as_u16()
    )))
}
