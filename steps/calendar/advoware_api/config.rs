//! The Advoware API settings, read from the environment by [`AdvowareApiConfig::from_env`].
//!
//! No Advoware variable set means "no API source": the calendar sync keeps reading the
//! snapshot file. Some set and others missing is an error naming the missing ones, so a
//! typo never silently falls back to the snapshot.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `ADVOWARE_CONFIGURATOR_URL` | the firm's configurator URL; answers with the API and gateway addresses | — |
//! | `ADVOWARE_API_URL` | fixed API (relay or connector) address, instead of the configurator | — |
//! | `ADVOWARE_GATEWAY_URL` | fixed security gateway address, with `ADVOWARE_API_URL` | — |
//! | `ADVOWARE_FIRM` | the firm (`Kanzlei`) | required |
//! | `ADVOWARE_DATABASE` | the database (`Database`) | required |
//! | `ADVOWARE_USER` | the Advoware user (`User`) | required |
//! | `ADVOWARE_PASSWORD` | the user's password (`Password`); never logged | required |
//! | `ADVOWARE_APP_ID` | the registered app id (`AppID`) | required |
//! | `ADVOWARE_API_KEY` | the app's API key, base64 as issued; never logged | required |
//! | `ADVOWARE_PRODUCT` | the product (`Product`) | required |
//! | `ADVOWARE_ROLE` | the role (`Role`) | empty |
//! | `ADVOWARE_EMPLOYEES_PATH` | path of the employee listing under the API address (*unverified*) | `api/v1/advonet/Mitarbeiter` |
//! | `ADVOWARE_CHUNK_DAYS` | days per `TermineActiveSync` request (1 to 366) | `90` |

use std::fmt;
use std::time::Duration;

use base64::Engine as _;

/// `ADVOWARE_CONFIGURATOR_URL`: the firm's configurator URL.
pub const CONFIGURATOR_URL: &str = "ADVOWARE_CONFIGURATOR_URL";
/// `ADVOWARE_API_URL`: a fixed API address (with [`GATEWAY_URL`], instead of discovery).
pub const API_URL: &str = "ADVOWARE_API_URL";
/// `ADVOWARE_GATEWAY_URL`: a fixed security gateway address (with [`API_URL`]).
pub const GATEWAY_URL: &str = "ADVOWARE_GATEWAY_URL";
/// `ADVOWARE_FIRM`: the firm, sent as `Kanzlei`.
pub const FIRM: &str = "ADVOWARE_FIRM";
/// `ADVOWARE_DATABASE`: sent as `Database`.
pub const DATABASE: &str = "ADVOWARE_DATABASE";
/// `ADVOWARE_USER`: sent as `User`.
pub const USER: &str = "ADVOWARE_USER";
/// `ADVOWARE_PASSWORD`: sent as `Password`; never logged.
pub const PASSWORD: &str = "ADVOWARE_PASSWORD";
/// `ADVOWARE_APP_ID`: sent as `AppID` and signed.
pub const APP_ID: &str = "ADVOWARE_APP_ID";
/// `ADVOWARE_API_KEY`: the base64 API key that keys the token signature; never logged.
pub const API_KEY: &str = "ADVOWARE_API_KEY";
/// `ADVOWARE_PRODUCT`: sent as `Product` and signed.
pub const PRODUCT: &str = "ADVOWARE_PRODUCT";
/// `ADVOWARE_ROLE`: sent as `Role`; empty when unset.
pub const ROLE: &str = "ADVOWARE_ROLE";
/// `ADVOWARE_EMPLOYEES_PATH`: the employee listing's path (*unverified*).
pub const EMPLOYEES_PATH: &str = "ADVOWARE_EMPLOYEES_PATH";
/// `ADVOWARE_CHUNK_DAYS`: days per appointment request.
pub const CHUNK_DAYS: &str = "ADVOWARE_CHUNK_DAYS";

/// Every variable of this module: setting any of them turns the API source on.
pub const VARIABLES: [&str; 13] = [
    CONFIGURATOR_URL,
    API_URL,
    GATEWAY_URL,
    FIRM,
    DATABASE,
    USER,
    PASSWORD,
    APP_ID,
    API_KEY,
    PRODUCT,
    ROLE,
    EMPLOYEES_PATH,
    CHUNK_DAYS,
];

/// The employee listing's default path. Advoware documents no employee endpoint, so this
/// is a guess kept in configuration.
pub const DEFAULT_EMPLOYEES_PATH: &str = "api/v1/advonet/Mitarbeiter";

/// Days per `TermineActiveSync` request unless `ADVOWARE_CHUNK_DAYS` says otherwise.
pub const DEFAULT_CHUNK_DAYS: u32 = 90;

/// Where the API and the security gateway are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    /// Ask the firm's configurator URL once, then keep its answer.
    Configurator(String),
    /// Fixed addresses from the configuration.
    Fixed(Addresses),
}

/// The two Advoware base addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    /// The API (relay or connector), ending in `/`: paths such as `api/v1/advonet/…` are
    /// appended to it.
    pub api: String,
    /// The security gateway, without a trailing `/`: `/api/v1/Token` is appended to it.
    pub gateway: String,
}

impl Addresses {
    /// Both addresses, with the trailing `/` normalised as described on the fields.
    pub fn new(api: &str, gateway: &str) -> Self {
        Self {
            api: format!("{}/", api.trim().trim_end_matches('/')),
            gateway: gateway.trim().trim_end_matches('/').to_owned(),
        }
    }
}

/// How failed requests (5xx, 429, timeouts, lost connections) are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The delay before the first retry; it doubles with each further retry.
    pub base_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0 for the first): the doubled base delay,
    /// capped, then scaled by a random factor from 0.5 to 1 so that many clients failing
    /// together do not come back together.
    pub fn delay(&self, retry: u32) -> Duration {
        let doubled = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(16)));
        doubled
            .min(self.max_delay)
            .mul_f64(rand::random_range(0.5..=1.0))
    }
}

/// The settings of the Advoware API source. `Debug` leaves out the password and the key.
#[derive(Clone)]
pub struct AdvowareApiConfig {
    /// Configurator or fixed addresses.
    pub discovery: Discovery,
    /// `Kanzlei`.
    pub firm: String,
    /// `Database`.
    pub database: String,
    /// `User`.
    pub user: String,
    /// `Password` (secret).
    pub password: String,
    /// `AppID`.
    pub app_id: String,
    /// The decoded API key (secret).
    pub api_key: Vec<u8>,
    /// `Product`.
    pub product: String,
    /// `Role`.
    pub role: String,
    /// The employee listing's path under the API address, without a leading `/`.
    pub employees_path: String,
    /// Days per appointment request.
    pub chunk_days: u32,
    /// The limit for one request, connection included.
    pub timeout: Duration,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
}

impl fmt::Debug for AdvowareApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdvowareApiConfig")
            .field("discovery", &self.discovery)
            .field("firm", &self.firm)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("app_id", &self.app_id)
            .field("product", &self.product)
            .field("role", &self.role)
            .field("employees_path", &self.employees_path)
            .field("chunk_days", &self.chunk_days)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl AdvowareApiConfig {
    /// Reads the settings from the environment; `None` when no Advoware variable is set.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a table in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Self>> {
        // Blank counts as unset; the password alone keeps its spaces.
        let raw = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let get = |name: &str| raw(name).map(|v| v.trim().to_owned());
        if VARIABLES.iter().all(|name| raw(name).is_none()) {
            return Ok(None);
        }

        let mut missing = Vec::new();
        let discovery = match (get(CONFIGURATOR_URL), get(API_URL), get(GATEWAY_URL)) {
            (Some(url), None, None) => Some(Discovery::Configurator(url)),
            (None, Some(api), Some(gateway)) => {
                Some(Discovery::Fixed(Addresses::new(&api, &gateway)))
            }
            (Some(_), _, _) => anyhow::bail!(
                "set either {CONFIGURATOR_URL} or {API_URL} with {GATEWAY_URL}, not both"
            ),
            (None, api, gateway) => {
                match (api, gateway) {
                    (None, None) => missing.push(format!(
                        "{CONFIGURATOR_URL} (or {API_URL} and {GATEWAY_URL})"
                    )),
                    (None, _) => missing.push(API_URL.to_owned()),
                    _ => missing.push(GATEWAY_URL.to_owned()),
                }
                None
            }
        };
        let mut required = |name: &str| {
            let value = if name == PASSWORD {
                raw(name)
            } else {
                get(name)
            };
            if value.is_none() {
                missing.push(name.to_owned());
            }
            value.unwrap_or_default()
        };
        let firm = required(FIRM);
        let database = required(DATABASE);
        let user = required(USER);
        let password = required(PASSWORD);
        let app_id = required(APP_ID);
        let api_key = required(API_KEY);
        let product = required(PRODUCT);
        if !missing.is_empty() {
            anyhow::bail!(
                "the Advoware API settings are incomplete: set {} \
                 (or no ADVOWARE_* variable at all to read the snapshot file)",
                missing.join(", ")
            );
        }

        let discovery = discovery.unwrap_or(Discovery::Configurator(String::new()));
        check_urls(&discovery)?;
        // The key's value never reaches a message.
        let api_key = base64::engine::general_purpose::STANDARD
            .decode(api_key)
            .map_err(|_| anyhow::anyhow!("{API_KEY} is not valid base64"))?;
        let chunk_days = match get(CHUNK_DAYS) {
            None => DEFAULT_CHUNK_DAYS,
            Some(v) => v
                .parse()
                .ok()
                .filter(|d| (1..=366).contains(d))
                .ok_or_else(|| {
                    anyhow::anyhow!("{CHUNK_DAYS}: `{v}` is not a number of days from 1 to 366")
                })?,
        };
        let employees_path = get(EMPLOYEES_PATH).unwrap_or_else(|| DEFAULT_EMPLOYEES_PATH.into());

        Ok(Some(Self {
            discovery,
            firm,
            database,
            user,
            password,
            app_id,
            api_key,
            product,
            role: get(ROLE).unwrap_or_default(),
            employees_path: employees_path.trim_start_matches('/').to_owned(),
            chunk_days,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }))
    }
}

fn check_urls(discovery: &Discovery) -> anyhow::Result<()> {
    let urls = match discovery {
        Discovery::Configurator(url) => vec![(CONFIGURATOR_URL, url.as_str())],
        Discovery::Fixed(a) => vec![(API_URL, a.api.as_str()), (GATEWAY_URL, a.gateway.as_str())],
    };
    for (name, url) in urls {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            anyhow::bail!("{name}: `{url}` is not an http:// or https:// URL");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> anyhow::Result<Option<AdvowareApiConfig>> {
        let table: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        AdvowareApiConfig::from_lookup(|name| table.get(name).cloned())
    }

    const COMPLETE: [(&str, &str); 8] = [
        (CONFIGURATOR_URL, "https://config.example.test/kanzlei"),
        (FIRM, "Kanzlei Muster"),
        (DATABASE, "MUSTER"),
        (USER, "sync"),
        (PASSWORD, " geheim "),
        (APP_ID, "stepline"),
        (API_KEY, "c3RlcGxpbmU="),
        (PRODUCT, "64"),
    ];

    #[test]
    fn no_variable_means_no_api_source() {
        assert!(read(&[]).expect("valid").is_none());
        assert!(read(&[(FIRM, "  ")]).expect("valid").is_none());
    }

    #[test]
    fn a_complete_configuration_with_defaults() {
        let config = read(&COMPLETE).expect("valid").expect("configured");
        assert_eq!(
            config.discovery,
            Discovery::Configurator("https://config.example.test/kanzlei".into())
        );
        assert_eq!(config.api_key, b"stepline");
        assert_eq!(config.password, " geheim ");
        assert_eq!(config.role, "");
        assert_eq!(config.employees_path, DEFAULT_EMPLOYEES_PATH);
        assert_eq!(config.chunk_days, 90);

        let debug = format!("{config:?}");
        assert!(
            !debug.contains("geheim") && !debug.contains("115, 116"),
            "{debug}"
        );
    }

    #[test]
    fn fixed_addresses_are_normalised() {
        let mut vars = COMPLETE[1..].to_vec();
        vars.push((API_URL, "http://127.0.0.1:9/relay"));
        vars.push((GATEWAY_URL, "http://127.0.0.1:9/gateway/"));
        vars.push((CHUNK_DAYS, "30"));
        let config = read(&vars).expect("valid").expect("configured");
        assert_eq!(
            config.discovery,
            Discovery::Fixed(Addresses {
                api: "http://127.0.0.1:9/relay/".into(),
                gateway: "http://127.0.0.1:9/gateway".into(),
            })
        );
        assert_eq!(config.chunk_days, 30);
    }

    #[test]
    fn partial_and_invalid_configurations_name_the_problem() {
        let error = read(&[(API_URL, "http://a.test"), (USER, "sync"), (PASSWORD, "x")])
            .expect_err("partial");
        assert_eq!(
            error.to_string(),
            "the Advoware API settings are incomplete: set ADVOWARE_GATEWAY_URL, ADVOWARE_FIRM, \
             ADVOWARE_DATABASE, ADVOWARE_APP_ID, ADVOWARE_API_KEY, ADVOWARE_PRODUCT (or no \
             ADVOWARE_* variable at all to read the snapshot file)"
        );

        let mut bad_key = COMPLETE.to_vec();
        bad_key[6] = (API_KEY, "geheim!!");
        let error = read(&bad_key).expect_err("bad key").to_string();
        assert_eq!(error, "ADVOWARE_API_KEY is not valid base64");

        let mut bad_days = COMPLETE.to_vec();
        bad_days.push((CHUNK_DAYS, "0"));
        let error = read(&bad_days).expect_err("bad days").to_string();
        assert_eq!(
            error,
            "ADVOWARE_CHUNK_DAYS: `0` is not a number of days from 1 to 366"
        );

        let mut both = COMPLETE.to_vec();
        both.push((API_URL, "http://a.test"));
        assert!(read(&both).is_err());
    }

    #[test]
    fn retry_delays_double_with_jitter_and_a_cap() {
        let policy = RetryPolicy {
            retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for _ in 0..50 {
            let first = policy.delay(0);
            let second = policy.delay(1);
            let capped = policy.delay(5);
            assert!((50..=100).contains(&first.as_millis()), "{first:?}");
            assert!((100..=200).contains(&second.as_millis()), "{second:?}");
            assert!((150..=300).contains(&capped.as_millis()), "{capped:?}");
        }
    }
}
