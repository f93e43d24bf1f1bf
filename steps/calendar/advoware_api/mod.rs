//! The Advoware REST API as a [`CalendarSource`]: [`AdvowareApiSource`].
//!
//! ```text
//!   first call ─► addresses: configurator answer or fixed URLs (kept for the process)
//!   each call  ─► token: cached, signed request to the gateway when missing or expiring
//!              ─► GET with `Authorization: Bearer …`
//!                   401          ─► new token, once more; a second 401 is Refused
//!                   German text  ─► Refused (licence, login): never retried
//!                   5xx/429/timeout ─► retried with jittered backoff, then Unavailable
//!   appointments: the window in chunks of `ADVOWARE_CHUNK_DAYS`, merged by FrNr
//! ```
//!
//! - [`config`]: the settings and their environment variables.
//! - [`auth`]: the signed token request, the token, the German refusal texts.
//! - [`discovery`]: the configurator's answer (its shape is *unverified*).
//! - [`transport`]: one request with its retries.
//!
//! The calendar service picks this source when any `ADVOWARE_*` variable is set. Nothing
//! here logs the password, the key, a token or appointment content.

pub mod auth;
pub mod config;
pub mod discovery;
pub mod transport;

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{Days, NaiveDate, Utc};
use serde_json::Value;
use tokio::sync::{Mutex, OnceCell};
use tokio::time::Instant;

use super::advoware::{
    Employee, ParsedTermine, SourceTimeZone, normalise_kuerzel, parse_employees, parse_termine,
};
use super::source::{Appointments, CalendarSource, SourceError, merge_by_frnr};
use auth::Token;
pub use config::{Addresses, AdvowareApiConfig, Discovery, RetryPolicy};
use transport::{Answer, send};

/// The appointments endpoint, under the API address.
pub const TERMINE_PATH: &str = "api/v1/advonet/TermineActiveSync";

/// Appointments and employees read from the Advoware REST API.
pub struct AdvowareApiSource {
    config: AdvowareApiConfig,
    time_zone: SourceTimeZone,
    http: reqwest::Client,
    addresses: OnceCell<Addresses>,
    // A tokio mutex: one token request at a time, the others wait for its result.
    token: Mutex<Option<Token>>,
}

impl AdvowareApiSource {
    /// A source for `config`, with times in Europe/Berlin. Nothing is sent until the first
    /// call.
    pub fn new(config: AdvowareApiConfig) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| SourceError::Unavailable(format!("no HTTP client: {e}")))?;
        Ok(Self {
            config,
            time_zone: SourceTimeZone::default(),
            http,
            addresses: OnceCell::new(),
            token: Mutex::new(None),
        })
    }

    /// The same, with times in another zone (`STEPLINE_SOURCE_TIMEZONE`).
    pub fn with_time_zone(mut self, time_zone: SourceTimeZone) -> Self {
        self.time_zone = time_zone;
        self
    }

    /// The API and gateway addresses: fixed, or asked of the configurator once.
    async fn addresses(&self) -> Result<&Addresses, SourceError> {
        self.addresses
            .get_or_try_init(|| async {
                match &self.config.discovery {
                    Discovery::Fixed(addresses) => Ok(addresses.clone()),
                    Discovery::Configurator(url) => self.discover(url).await,
                }
            })
            .await
    }

    /// Asks the firm's configurator where the API and the gateway are.
    async fn discover(&self, url: &str) -> Result<Addresses, SourceError> {
        let retry = &self.config.retry;
        let Answer::Json(answer) = send(retry, "configurator", || self.http.get(url)).await? else {
            return Err(SourceError::Refused("configurator: HTTP 401".into()));
        };
        let addresses =
            discovery::parse_configurator_answer(&answer).map_err(SourceError::Unavailable)?;
        tracing::debug!(
            api = %addresses.api,
            gateway = %addresses.gateway,
            "Advoware addresses discovered"
        );
        Ok(addresses)
    }

    /// A bearer token: the cached one while fresh, else a new one. `rejected` is a token
    /// the API has just answered 401 to; it is replaced even if it looks fresh.
    async fn bearer(&self, rejected: Option<&str>) -> Result<String, SourceError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && token.is_fresh(Instant::now())
            && rejected != Some(token.value.as_str())
        {
            return Ok(token.value.clone());
        }

        let gateway = &self.addresses().await?.gateway;
        let url = format!("{gateway}/api/v1/Token");
        let build = || {
            let nonce = uuid::Uuid::new_v4().simple().to_string();
            let body = auth::token_request(&self.config, &nonce, &auth::timestamp(Utc::now()));
            self.http.post(&url).json(&body)
        };
        let answer = match send(&self.config.retry, "token", build).await? {
            Answer::Json(answer) => answer,
            Answer::Unauthorized => {
                return Err(SourceError::Refused(
                    "token: the security gateway answered HTTP 401 \
                     (check user, password, app id and key)"
                        .into(),
                ));
            }
        };
        let token = Token::from_answer(&answer, Instant::now())
            .map_err(|problem| SourceError::Unavailable(format!("token: {problem}")))?;
        tracing::debug!("Advoware token issued");
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// GETs `path` under the API address with the bearer token; on a 401, once more with
    /// a new token.
    async fn get(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Value, SourceError> {
        let url = format!("{}{path}", self.addresses().await?.api);
        let request = |token: &str| {
            let token = token.to_owned();
            let url = url.clone();
            move || self.http.get(&url).query(query).bearer_auth(&token)
        };

        let token = self.bearer(None).await?;
        if let Answer::Json(answer) = send(&self.config.retry, what, request(&token)).await? {
            return Ok(answer);
        }
        tracing::debug!(
            request = what,
            "Advoware answered 401; fetching a new token"
        );
        let token = self.bearer(Some(&token)).await?;
        match send(&self.config.retry, what, request(&token)).await? {
            Answer::Json(answer) => Ok(answer),
            Answer::Unauthorized => Err(SourceError::Refused(format!(
                "{what}: HTTP 401 with a newly issued token"
            ))),
        }
    }

    /// The raw records of one `TermineActiveSync` request.
    async fn termine(
        &self,
        kuerzel: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Value>, SourceError> {
        let query = [
            ("from", from.format("%Y-%m-%d").to_string()),
            ("to", to.format("%Y-%m-%d").to_string()),
            ("kuerzel", kuerzel.to_owned()),
        ];
        match self.get("TermineActiveSync", TERMINE_PATH, &query).await? {
            Value::Array(records) => Ok(records),
            _ => Err(SourceError::Unavailable(
                "TermineActiveSync: the answer is not a JSON array".into(),
            )),
        }
    }

    /// Whether `code` is an employee's; `None` when the listing cannot be read.
    async fn is_employee(&self, code: &str) -> Option<bool> {
        match self.employees().await {
            Ok(list) => Some(list.iter().any(|e| normalise_kuerzel(&e.kuerzel) == code)),
            Err(e) => {
                tracing::warn!(
                    kuerzel = %code,
                    error = %e,
                    "cannot check the code against the employee listing"
                );
                None
            }
        }
    }
}

/// The requests that cover `from..=to` in chunks of `days`: each spans `days` days from
/// its start and the next starts on the day the previous one ends. The one-day overlap
/// costs nothing (the answers are merged by FrNr) and keeps every day covered whether
/// Advoware reads `to` as inclusive or exclusive.
pub fn chunks(from: NaiveDate, to: NaiveDate, days: u32) -> Vec<(NaiveDate, NaiveDate)> {
    let mut chunks = Vec::new();
    let mut start = from;
    loop {
        let end = start
            .checked_add_days(Days::new(u64::from(days.max(1))))
            .map_or(to, |end| end.min(to));
        chunks.push((start, end));
        if end >= to {
            return chunks;
        }
        start = end;
    }
}

#[async_trait]
impl CalendarSource for AdvowareApiSource {
    async fn employees(&self) -> Result<Vec<Employee>, SourceError> {
        let path = self.config.employees_path.clone();
        match self.get("employees", &path, &[]).await? {
            Value::Array(records) => Ok(parse_employees(&records)),
            _ => Err(SourceError::Unavailable(format!(
                "employees: the answer of {path} is not a JSON array \
                 (check ADVOWARE_EMPLOYEES_PATH)"
            ))),
        }
    }

    /// The window in chunks; a record that two chunks both return (same JSON) is read
    /// once, so a malformed one is skipped and counted once.
    async fn appointments(
        &self,
        kuerzel: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Appointments, SourceError> {
        let code = normalise_kuerzel(kuerzel);
        let mut seen = HashSet::new();
        let mut records = Vec::new();
        for (start, end) in chunks(from, to, self.config.chunk_days) {
            let answer = self.termine(&code, start, end).await?;
            records.extend(answer.into_iter().filter(|r| seen.insert(r.to_string())));
        }
        let ParsedTermine { termine, skipped } = parse_termine(&records);

        // Advoware answers an unknown code with nothing at all; the listing tells them apart.
        if termine.is_empty() && skipped == 0 && self.is_employee(&code).await == Some(false) {
            return Err(SourceError::UnknownEmployee(code));
        }
        let in_range = termine.into_iter().filter(|t| t.overlaps(from, to));
        Ok(Appointments {
            termine: merge_by_frnr(in_range),
            skipped,
        })
    }

    fn describe(&self) -> String {
        // Hosts only: a URL's path or query may carry a key, and this line is logged.
        let place = match &self.config.discovery {
            Discovery::Configurator(url) => format!("configurator {}", host_of(url)),
            Discovery::Fixed(a) => {
                format!("API {}, gateway {}", host_of(&a.api), host_of(&a.gateway))
            }
        };
        format!(
            "Advoware API ({place}; firm {}, user {}, {}-day chunks)",
            self.config.firm, self.config.user, self.config.chunk_days
        )
    }

    fn time_zone(&self) -> SourceTimeZone {
        self.time_zone
    }
}

/// `scheme://host[:port]` of a URL, without user info, path or query.
fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}",
                parsed.scheme(),
                parsed.host_str().unwrap_or("?")
            )
        }
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    #[test]
    fn a_year_in_ninety_day_chunks() {
        let got = chunks(day("2026-01-01"), day("2026-12-31"), 90);
        let want = [
            ("2026-01-01", "2026-04-01"),
            ("2026-04-01", "2026-06-30"),
            ("2026-06-30", "2026-09-28"),
            ("2026-09-28", "2026-12-27"),
            ("2026-12-27", "2026-12-31"),
        ]
        .map(|(a, b)| (day(a), day(b)));
        assert_eq!(got, want);
    }

    #[test]
    fn short_and_exact_windows() {
        let one = day("2026-05-05");
        assert_eq!(chunks(one, one, 90), [(one, one)]);
        assert_eq!(
            chunks(day("2026-05-01"), day("2026-05-11"), 10),
            [(day("2026-05-01"), day("2026-05-11"))]
        );
        assert_eq!(
            chunks(day("2026-05-01"), day("2026-05-12"), 10),
            [
                (day("2026-05-01"), day("2026-05-11")),
                (day("2026-05-11"), day("2026-05-12"))
            ]
        );
    }
}
