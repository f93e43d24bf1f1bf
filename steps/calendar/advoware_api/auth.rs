//! Tokens from the Advoware security gateway: the signed request, the answer, and the
//! German refusal texts that mean "fix the configuration" rather than "try again".
//!
//! ```text
//!   nonce + timestamp ─► signature(key, Product:AppID:Nonce:RequestTimeStamp)
//!     ─► POST {gateway}/api/v1/Token ─► Token (cached until shortly before expiry)
//! ```

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha512;
use tokio::time::Instant;

use super::config::AdvowareApiConfig;

/// The lifetime assumed when the gateway's answer names none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// How long before its expiry a token is replaced: a minute, or a quarter of the lifetime
/// for short-lived tokens.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// `HMAC512Signature`: base64 of HMAC-SHA512 over `Product:AppID:Nonce:RequestTimeStamp`,
/// keyed with the decoded API key.
pub fn signature(
    api_key: &[u8],
    product: &str,
    app_id: &str,
    nonce: &str,
    timestamp: &str,
) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(api_key).expect("HMAC accepts keys of any length");
    mac.update(format!("{product}:{app_id}:{nonce}:{timestamp}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `RequestTimeStamp`: ISO 8601 in UTC, whole seconds.
pub fn timestamp(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The JSON body of the token request, signed with a fresh nonce and the current time.
pub fn token_request(config: &AdvowareApiConfig, nonce: &str, timestamp: &str) -> Value {
    let signature = signature(
        &config.api_key,
        &config.product,
        &config.app_id,
        nonce,
        timestamp,
    );
    json!({
        "AppID": config.app_id,
        "Kanzlei": config.firm,
        "Database": config.database,
        "User": config.user,
        "Password": config.password,
        "Role": config.role,
        "Product": config.product,
        "Nonce": nonce,
        "RequestTimeStamp": timestamp,
        "HMAC512Signature": signature,
    })
}

/// A bearer token and when to replace it. `Debug` hides the token.
#[derive(Clone)]
pub struct Token {
    /// The `access_token`.
    pub value: String,
    /// When the token is replaced: shortly before it expires.
    pub refresh_at: Instant,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("refresh_at", &self.refresh_at)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// Reads the gateway's answer: `access_token`, and the lifetime from `expires_in`
    /// (seconds), else from `expiration_utc`, else five minutes.
    pub fn from_answer(answer: &Value, now: Instant) -> Result<Self, &'static str> {
        let value = answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or("the token answer has no access_token")?;
        let expires_in = match answer.get("expires_in") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let lifetime = match expires_in {
            Some(seconds) => Duration::from_secs(seconds),
            None => answer
                .get("expiration_utc")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .and_then(|t| (t.with_timezone(&Utc) - Utc::now()).to_std().ok())
                .unwrap_or(DEFAULT_LIFETIME),
        };
        let margin = REFRESH_MARGIN.min(lifetime / 4);
        Ok(Self {
            value: value.to_owned(),
            refresh_at: now + lifetime - margin,
        })
    }

    /// Whether the token can still be sent at `now`.
    pub fn is_fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }
}

/// The cause named by one of Advoware's German refusal texts, if `body` holds one. These
/// are licence and login failures: retrying cannot help.
pub fn refusal_cause(body: &str) -> Option<&'static str> {
    const CAUSES: [(&str, &str); 4] = [
        (
            "nicht freigeschaltet",
            "the app or user is not licensed for this firm (\"nicht freigeschaltet\")",
        ),
        (
            "ist nicht angemeldet",
            "the user is not signed in to Advoware (\"ist nicht angemeldet\")",
        ),
        (
            "ist nicht registriert",
            "the app or user is not registered (\"ist nicht registriert\")",
        ),
        (
            "falscher name oder falsches kennwort",
            "wrong user name or password (\"Falscher Name oder falsches Kennwort\")",
        ),
    ];
    let body = body.to_lowercase();
    CAUSES
        .iter()
        .find(|(text, _)| body.contains(text))
        .map(|(_, cause)| *cause)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_signature_matches_a_vector_computed_independently() {
        // python3: base64(hmac.new(b"not-a-real-advoware-key",
        //   b"64:stepline-test:0b9e6c1d2f3a4b5c:2026-12-04T09:30:00Z", sha512).digest())
        let at = Utc
            .with_ymd_and_hms(2026, 12, 4, 9, 30, 0)
            .single()
            .expect("valid");
        let stamp = timestamp(at);
        assert_eq!(stamp, "2026-12-04T09:30:00Z");
        assert_eq!(
            signature(
                b"not-a-real-advoware-key",
                "64",
                "stepline-test",
                "0b9e6c1d2f3a4b5c",
                &stamp
            ),
            "1hJ2I1bNDRemVH/YeODAAwWK7Mz7xU0tzFUnxNYgLZ+9NnCGNediTsTDnGFIR2Vi/yU2dNC9GjY9p89rGj9Zjg=="
        );
    }

    #[test]
    fn token_lifetime_and_refresh_margin() {
        let now = Instant::now();
        let long = Token::from_answer(&json!({"access_token": "t", "expires_in": 3600}), now)
            .expect("token");
        assert_eq!(long.refresh_at - now, Duration::from_secs(3540));
        let short = Token::from_answer(&json!({"access_token": "t", "expires_in": "8"}), now)
            .expect("token");
        assert_eq!(short.refresh_at - now, Duration::from_secs(6));
        assert!(short.is_fresh(now + Duration::from_secs(5)));
        assert!(!short.is_fresh(now + Duration::from_secs(6)));
        let unnamed = Token::from_answer(&json!({"access_token": "t"}), now).expect("token");
        assert_eq!(unnamed.refresh_at - now, Duration::from_secs(240));
        assert!(Token::from_answer(&json!({"expires_in": 60}), now).is_err());
        assert!(!format!("{long:?}").contains("\"t\""));
    }

    #[test]
    fn german_refusals_name_their_cause() {
        assert_eq!(
            refusal_cause(r#"{"Message":"Die App ist für die Kanzlei nicht freigeschaltet."}"#),
            Some("the app or user is not licensed for this firm (\"nicht freigeschaltet\")")
        );
        assert_eq!(
            refusal_cause("FALSCHER NAME ODER FALSCHES KENNWORT"),
            Some("wrong user name or password (\"Falscher Name oder falsches Kennwort\")")
        );
        assert_eq!(refusal_cause("Internal Server Error"), None);
    }
}
