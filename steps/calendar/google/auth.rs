//! Access tokens for the Calendar API: a service account signs a JWT (RS256) and trades
//! it at the token endpoint; the token is cached until a minute before it expires.
//!
//! ```text
//!   token() ─► cached and fresh? ─► yes: it
//!                                 └► no: sign {iss, scope, aud, iat, exp ≤ 1 h, sub?}
//!                                        ─► POST token endpoint (jwt-bearer grant) ─► cache
//!   invalidate() after a 401: the next token() fetches a new one
//! ```
//!
//! Neither the key nor a token is ever logged or put into an error message.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use super::config::GoogleConfig;
use crate::calendar::target::TargetError;

/// The one scope the sync needs: read and write calendars.
pub const SCOPE: &str = "https://www.googleapis.com/auth/calendar";
/// The OAuth grant type of a signed JWT.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long a signed assertion is valid (Google's maximum is one hour).
const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);
/// A token is renewed this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// A cached access token.
struct Token {
    value: String,
    renew_at: Instant,
}

/// Signs assertions and keeps the current access token.
pub struct TokenSource {
    signing_key: SigningKey<Sha256>,
    issuer: String,
    subject: Option<String>,
    token_url: String,
    cached: tokio::sync::Mutex<Option<Token>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("issuer", &self.issuer)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenSource {
    /// Reads the private key of `config`; an unreadable key is a configuration error.
    pub fn new(config: &GoogleConfig) -> Result<Self, TargetError> {
        let key = RsaPrivateKey::from_pkcs8_pem(&config.key.private_key).map_err(|_| {
            TargetError::Auth("the service account's private_key is not a PKCS#8 RSA key".into())
        })?;
        Ok(Self {
            signing_key: SigningKey::<Sha256>::new(key),
            issuer: config.key.client_email.clone(),
            subject: config.subject.clone(),
            token_url: config.token_url.clone(),
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// The signed JWT for a token request issued at `now` (seconds since the epoch).
    pub fn assertion(&self, now: u64) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let mut claims = json!({
            "iss": self.issuer,
            "scope": SCOPE,
            "aud": self.token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME.as_secs(),
        });
        if let Some(subject) = &self.subject {
            claims["sub"] = json!(subject);
        }
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.signing_key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    /// The current access token, fetched when none is cached or it is about to expire.
    pub async fn token(&self, http: &reqwest::Client) -> Result<String, TargetError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let token = self.fetch(http).await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Forgets the cached token (the API answered 401).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Token, TargetError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let assertion = self.assertion(now);
        let response = http
            .post(&self.token_url)
            .form(&[("grant_type", JWT_BEARER_GRANT), ("assertion", &assertion)])
            .send()
            .await
            .map_err(|e| {
                TargetError::Unavailable(format!("token endpoint: {}", e.without_url()))
            })?;

        let status = response.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(TargetError::Unavailable(format!(
                "token endpoint answered {status}"
            )));
        }
        if !status.is_success() {
            // Only the OAuth `error` code ("invalid_grant", ...) is kept: the rest of the body
            // is whatever the endpoint (or a proxy) sent, and the run record is shown.
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let cause = body["error"]
                .as_str()
                .filter(|c| {
                    c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                })
                .unwrap_or("no error code");
            return Err(TargetError::Auth(format!(
                "the token endpoint refused the service account ({status}): {cause}"
            )));
        }
        let answer: TokenAnswer = response.json().await.map_err(|_| {
            TargetError::Auth("the token endpoint's answer holds no access_token".into())
        })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        tracing::debug!(
            lifetime_s = lifetime.as_secs(),
            "google access token obtained"
        );
        Ok(Token {
            value: answer.access_token,
            // A short-lived token is renewed after three quarters of its life, not at once.
            renew_at: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN.min(lifetime / 4)),
        })
    }
}
