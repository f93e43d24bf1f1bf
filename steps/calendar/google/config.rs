//! The Google target's settings, from the environment ([`GoogleConfig::from_env`]), and
//! the service-account key file they point at.
//!
//! Nothing here is printed whole: `Debug` of [`ServiceAccountKey`] names the account and
//! leaves out the private key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

/// Google's token endpoint, used when neither the key file nor `GOOGLE_TOKEN_URL` names one.
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The Calendar API v3 base URL, unless `GOOGLE_API_URL` overrides it.
pub const DEFAULT_API_URL: &str = "https://www.googleapis.com/calendar/v3";
/// The zone of each employee's calendar, unless `GOOGLE_CALENDAR_TIMEZONE` says otherwise.
pub const DEFAULT_CALENDAR_TIMEZONE: &str = "Europe/Berlin";
/// Retries of a rate-limited or failed call, unless `GOOGLE_MAX_RETRIES` says otherwise.
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// The largest page `events.list` returns.
pub const MAX_PAGE_SIZE: u32 = 2500;

/// The parts of a service-account JSON key that the token request needs.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    /// The account's address: the JWT's `iss`.
    pub client_email: String,
    /// The RSA private key, PKCS#8 PEM.
    pub private_key: String,
    /// The token endpoint named in the key file, if any.
    #[serde(default)]
    pub token_uri: Option<String>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

/// Everything the Google target needs to know.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// The service account (`GOOGLE_SERVICE_ACCOUNT_FILE`).
    pub key: ServiceAccountKey,
    /// The user the service account acts for, if any (`GOOGLE_SUBJECT`).
    pub subject: Option<String>,
    /// The IANA zone of the calendars it creates (`GOOGLE_CALENDAR_TIMEZONE`).
    pub calendar_time_zone: String,
    /// Employee code to the address each employee's calendar is shared with
    /// (`GOOGLE_SHARE_WITH`); codes upper-case.
    pub share_with: BTreeMap<String, String>,
    /// The Calendar API base URL, without a trailing slash (`GOOGLE_API_URL`).
    pub api_url: String,
    /// The token endpoint, also the JWT's `aud` (`GOOGLE_TOKEN_URL`, else the key file's).
    pub token_url: String,
    /// Retries of a rate-limited or failed call before giving up (`GOOGLE_MAX_RETRIES`).
    pub max_retries: u32,
    /// The first backoff delay; each retry doubles it, plus up to as much again as jitter.
    pub backoff_base: Duration,
    /// The longest single backoff delay.
    pub backoff_cap: Duration,
    /// Events per `events.list` page (at most [`MAX_PAGE_SIZE`]).
    pub page_size: u32,
    /// Timeout of one HTTP call.
    pub request_timeout: Duration,
}

impl GoogleConfig {
    /// Reads the settings; `Ok(None)` when `GOOGLE_SERVICE_ACCOUNT_FILE` is not set, so the
    /// sync keeps writing ICS files.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        let Some(key_file) = var("GOOGLE_SERVICE_ACCOUNT_FILE") else {
            return Ok(None);
        };
        let key_file = PathBuf::from(key_file);
        let text = std::fs::read_to_string(&key_file).with_context(|| {
            format!(
                "GOOGLE_SERVICE_ACCOUNT_FILE: cannot read {}",
                key_file.display()
            )
        })?;
        // The parse error could quote the key; say only where it is.
        let key: ServiceAccountKey = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "GOOGLE_SERVICE_ACCOUNT_FILE: {} is not a service-account JSON key \
                 (line {}, column {}); it needs client_email and private_key",
                key_file.display(),
                e.line(),
                e.column()
            )
        })?;

        let calendar_time_zone =
            var("GOOGLE_CALENDAR_TIMEZONE").unwrap_or_else(|| DEFAULT_CALENDAR_TIMEZONE.into());
        if calendar_time_zone.parse::<chrono_tz::Tz>().is_err() {
            anyhow::bail!("GOOGLE_CALENDAR_TIMEZONE: `{calendar_time_zone}` is not an IANA zone");
        }
        let share_with = match var("GOOGLE_SHARE_WITH") {
            Some(value) => parse_share_with(&value)?,
            None => BTreeMap::new(),
        };
        let max_retries = match var("GOOGLE_MAX_RETRIES") {
            Some(v) => v.parse().ok().filter(|n| *n <= 20).ok_or_else(|| {
                anyhow::anyhow!("GOOGLE_MAX_RETRIES: `{v}` is not a number from 0 to 20")
            })?,
            None => DEFAULT_MAX_RETRIES,
        };
        let token_url = var("GOOGLE_TOKEN_URL")
            .or_else(|| key.token_uri.clone())
            .unwrap_or_else(|| DEFAULT_TOKEN_URL.into());
        let api_url = var("GOOGLE_API_URL").unwrap_or_else(|| DEFAULT_API_URL.into());

        Ok(Some(Self {
            subject: var("GOOGLE_SUBJECT"),
            calendar_time_zone,
            share_with,
            api_url: api_url.trim_end_matches('/').to_owned(),
            token_url,
            max_retries,
            ..Self::new(key)
        }))
    }

    /// Google's defaults for `key`: its token endpoint, Berlin calendars, no sharing.
    pub fn new(key: ServiceAccountKey) -> Self {
        let token_url = key
            .token_uri
            .clone()
            .unwrap_or_else(|| DEFAULT_TOKEN_URL.into());
        Self {
            key,
            subject: None,
            calendar_time_zone: DEFAULT_CALENDAR_TIMEZONE.into(),
            share_with: BTreeMap::new(),
            api_url: DEFAULT_API_URL.into(),
            token_url,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(32),
            page_size: MAX_PAGE_SIZE,
            request_timeout: Duration::from_secs(30),
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `GOOGLE_SHARE_WITH`: either `CODE=address,CODE=address` or the path of a file holding
/// such pairs, one per line or comma-separated (`#` starts a comment).
pub fn parse_share_with(value: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let text = if value.contains('=') {
        value.to_owned()
    } else {
        std::fs::read_to_string(value)
            .with_context(|| format!("GOOGLE_SHARE_WITH: cannot read the mapping file {value}"))?
    };
    let mut mapping = BTreeMap::new();
    let pairs = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|pair| !pair.is_empty());
    for pair in pairs {
        let (code, address) = pair
            .split_once('=')
            .map(|(c, a)| (c.trim(), a.trim()))
            .filter(|(c, a)| !c.is_empty() && a.contains('@'))
            .ok_or_else(|| anyhow::anyhow!("GOOGLE_SHARE_WITH: `{pair}` is not CODE=address"))?;
        mapping.insert(
            crate::calendar::advoware::normalise_kuerzel(code),
            address.to_owned(),
        );
    }
    Ok(mapping)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_with_reads_pairs_and_normalises_codes() {
        let mapping = parse_share_with(" sb = sb@kanzlei.example , MÜ=mu@kanzlei.example").unwrap();
        assert_eq!(
            mapping.into_iter().collect::<Vec<_>>(),
            vec![
                ("MÜ".to_owned(), "mu@kanzlei.example".to_owned()),
                ("SB".to_owned(), "sb@kanzlei.example".to_owned()),
            ]
        );
        assert!(parse_share_with("SB=nobody").is_err());
    }

    #[test]
    fn debug_leaves_out_the_private_key() {
        let key = ServiceAccountKey {
            client_email: "sync@project.iam.example".into(),
            private_key: "-----BEGIN PRIVATE KEY-----SECRET".into(),
            token_uri: None,
        };
        let shown = format!("{:?}", GoogleConfig::new(key));
        assert!(shown.contains("sync@project.iam.example"));
        assert!(!shown.contains("SECRET"));
    }
}
