//! An Advoware emulator for the tests: an axum server on `127.0.0.1:0` that behaves as
//! `DOMAIN.md` describes the Advoware REST API.
//!
//! - `GET /configurator`: the firm's configurator, answering with the API address
//!   (`{base}/relay/`) and the security gateway (`{base}/gateway`) in the shape
//!   `steps/calendar/advoware_api/discovery.rs` assumes.
//! - `POST /gateway/api/v1/Token`: checks firm, database, app, product, role, user and
//!   password, the timestamp (within five minutes) and the HMAC-SHA512 signature recomputed
//!   with the test key, and answers with German texts as Advoware does; issues tokens that
//!   expire after a configurable lifetime.
//! - `GET /relay/api/v1/advonet/TermineActiveSync?from&to&kuerzel`: the employee's
//!   appointments touching the range (a series up to `DatumBis`, open ones to 2037), no
//!   paging; a record whose `Datum` cannot be read is answered in every range.
//! - `GET /relay/api/v1/advonet/Mitarbeiter`: the employee listing.
//! - Switches: the next API calls answer 401, the next calls of an endpoint answer 503, the
//!   next appointment calls answer late, or the token endpoint refuses the licence ("nicht
//!   freigeschaltet").
//! - Every call counted per endpoint (`configurator`, `token`, `TermineActiveSync`,
//!   `employees`), faulted ones included.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the emulator"
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::{NaiveDate, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha512;

/// The employee listing's path under the API address (the source's default).
pub const EMPLOYEES_PATH: &str = "api/v1/advonet/Mitarbeiter";

/// The credentials the emulator accepts; the key is random, made per test.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub firm: String,
    pub database: String,
    pub user: String,
    pub password: String,
    pub app_id: String,
    pub product: String,
    pub role: String,
    pub api_key: Vec<u8>,
}

impl Credentials {
    /// A test firm with a fresh random 64-byte key.
    pub fn generate() -> Self {
        Self {
            firm: "Kanzlei Emulator".into(),
            database: "EMU".into(),
            user: "stepline".into(),
            password: format!("pw-{:016x}", rand::random::<u64>()),
            app_id: "stepline-test".into(),
            product: "64".into(),
            role: "".into(),
            api_key: (0..64).map(|_| rand::random::<u8>()).collect(),
        }
    }

    /// The key as `ADVOWARE_API_KEY` holds it.
    pub fn api_key_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.api_key)
    }

    /// The `ADVOWARE_*` settings of `stepline serve` for these credentials and an emulator
    /// at `configurator`; the snapshot setting points nowhere, so only the API can answer.
    pub fn serve_env(&self, configurator: &str) -> Vec<(&'static str, String)> {
        vec![
            (
                "STEPLINE_ADVOWARE_SNAPSHOT",
                "/nonexistent/snapshot.json".into(),
            ),
            ("ADVOWARE_CONFIGURATOR_URL", configurator.into()),
            ("ADVOWARE_FIRM", self.firm.clone()),
            ("ADVOWARE_DATABASE", self.database.clone()),
            ("ADVOWARE_USER", self.user.clone()),
            ("ADVOWARE_PASSWORD", self.password.clone()),
            ("ADVOWARE_APP_ID", self.app_id.clone()),
            ("ADVOWARE_API_KEY", self.api_key_base64()),
            ("ADVOWARE_PRODUCT", self.product.clone()),
        ]
    }
}

#[derive(Default)]
struct World {
    base: String,
    credentials: Option<Credentials>,
    token_lifetime: u64,
    tokens: HashMap<String, Instant>,
    employees: Vec<Value>,
    appointments: HashMap<String, Vec<Value>>,
    calls: HashMap<&'static str, usize>,
    queries: Vec<(String, String, String)>,
    unauthorized: usize,
    unavailable: HashMap<&'static str, usize>,
    slow: Option<(usize, Duration)>,
    licence_refused: bool,
}

type Shared = Arc<Mutex<World>>;

fn lock(world: &Shared) -> MutexGuard<'_, World> {
    world.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running emulator; stopped when dropped.
pub struct AdvowareEmulator {
    pub base: String,
    world: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AdvowareEmulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AdvowareEmulator {
    /// Starts the emulator accepting `credentials`; tokens live an hour.
    pub async fn start(credentials: Credentials) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the emulator");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let world: Shared = Arc::new(Mutex::new(World {
            base: base.clone(),
            credentials: Some(credentials),
            token_lifetime: 3600,
            ..World::default()
        }));
        let app = Router::new()
            .route("/configurator", get(configurator))
            .route("/gateway/api/v1/Token", post(token))
            .route("/relay/api/v1/advonet/TermineActiveSync", get(termine))
            .route(&format!("/relay/{EMPLOYEES_PATH}"), get(employees))
            .with_state(world.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, world, task }
    }

    /// The configurator URL for `ADVOWARE_CONFIGURATOR_URL`.
    pub fn configurator_url(&self) -> String {
        format!("{}/configurator", self.base)
    }

    /// The fixed API address for `ADVOWARE_API_URL`.
    pub fn api_url(&self) -> String {
        format!("{}/relay/", self.base)
    }

    /// The fixed gateway address for `ADVOWARE_GATEWAY_URL`.
    pub fn gateway_url(&self) -> String {
        format!("{}/gateway", self.base)
    }

    /// The employee listing.
    pub fn set_employees(&self, employees: Vec<Value>) {
        lock(&self.world).employees = employees;
    }

    /// The appointment records of `code`.
    pub fn set_appointments(&self, code: &str, records: Vec<Value>) {
        lock(&self.world)
            .appointments
            .insert(code.to_uppercase(), records);
    }

    /// How long tokens issued from now on live.
    pub fn set_token_lifetime(&self, seconds: u64) {
        lock(&self.world).token_lifetime = seconds;
    }

    /// The next `n` API calls answer 401, whatever token they carry.
    pub fn fail_unauthorized(&self, n: usize) {
        lock(&self.world).unauthorized = n;
    }

    /// The next `n` calls of `endpoint` answer 503.
    pub fn fail_unavailable(&self, endpoint: &'static str, n: usize) {
        lock(&self.world).unavailable.insert(endpoint, n);
    }

    /// The next `n` `TermineActiveSync` calls answer only after `pause`.
    pub fn slow_termine(&self, n: usize, pause: Duration) {
        lock(&self.world).slow = Some((n, pause));
    }

    /// Whether the token endpoint refuses the licence ("nicht freigeschaltet").
    pub fn refuse_licence(&self, refuse: bool) {
        lock(&self.world).licence_refused = refuse;
    }

    /// How often `endpoint` was called, faulted calls included.
    pub fn calls(&self, endpoint: &str) -> usize {
        lock(&self.world).calls.get(endpoint).copied().unwrap_or(0)
    }

    /// Every `TermineActiveSync` query as (from, to, kuerzel), in order.
    pub fn termine_queries(&self) -> Vec<(String, String, String)> {
        lock(&self.world).queries.clone()
    }
}

fn german(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "Message": message }))).into_response()
}

/// Counts the call and answers 503 when a fault is pending for `endpoint`.
fn arrive(world: &mut World, endpoint: &'static str) -> Option<Response> {
    *world.calls.entry(endpoint).or_default() += 1;
    let pending = world.unavailable.entry(endpoint).or_default();
    if *pending > 0 {
        *pending -= 1;
        return Some(german(
            StatusCode::SERVICE_UNAVAILABLE,
            "Der Dienst ist nicht erreichbar.",
        ));
    }
    None
}

async fn configurator(State(world): State<Shared>) -> Response {
    let mut world = lock(&world);
    if let Some(fault) = arrive(&mut world, "configurator") {
        return fault;
    }
    Json(json!({
        "ApiUrl": format!("{}/relay/", world.base),
        "SecurityGatewayUrl": format!("{}/gateway", world.base),
    }))
    .into_response()
}

async fn token(State(world): State<Shared>, Json(body): Json<Value>) -> Response {
    let mut world = lock(&world);
    if let Some(fault) = arrive(&mut world, "token") {
        return fault;
    }
    if world.licence_refused {
        return german(
            StatusCode::FORBIDDEN,
            "Die Anwendung ist für diese Kanzlei nicht freigeschaltet.",
        );
    }
    let Some(expected) = world.credentials.clone() else {
        return german(StatusCode::INTERNAL_SERVER_ERROR, "Keine Konfiguration.");
    };
    if let Some(refusal) = refuse_token_request(&body, &expected) {
        return refusal;
    }

    let lifetime = world.token_lifetime;
    let access_token = format!("{:032x}", rand::random::<u128>());
    world.tokens.insert(
        access_token.clone(),
        Instant::now() + Duration::from_secs(lifetime),
    );
    let expiration = Utc::now() + chrono::Duration::seconds(lifetime as i64);
    Json(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": lifetime,
        "expiration_utc": expiration.to_rfc3339(),
    }))
    .into_response()
}

/// The gateway's checks, in the order a client would trip over them: the refusal, if any.
fn refuse_token_request(body: &Value, expected: &Credentials) -> Option<Response> {
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default();
    let registered = field("AppID") == expected.app_id
        && field("Kanzlei") == expected.firm
        && field("Database") == expected.database
        && field("Product") == expected.product
        && field("Role") == expected.role;
    if !registered {
        return Some(german(
            StatusCode::UNAUTHORIZED,
            "Die Anwendung ist für diese Kanzlei nicht registriert.",
        ));
    }

    let (nonce, stamp) = (field("Nonce"), field("RequestTimeStamp"));
    let fresh = chrono::DateTime::parse_from_rfc3339(stamp)
        .is_ok_and(|t| (Utc::now() - t.with_timezone(&Utc)).num_seconds().abs() <= 300);
    if nonce.is_empty() || !fresh {
        return Some(german(
            StatusCode::BAD_REQUEST,
            "Nonce oder Zeitstempel der Anfrage ist ungültig.",
        ));
    }

    let mut mac = Hmac::<Sha512>::new_from_slice(&expected.api_key).expect("any key length");
    mac.update(format!("{}:{}:{nonce}:{stamp}", expected.product, expected.app_id).as_bytes());
    let signature = base64::engine::general_purpose::STANDARD
        .decode(field("HMAC512Signature"))
        .unwrap_or_default();
    if mac.verify_slice(&signature).is_err() {
        return Some(german(
            StatusCode::UNAUTHORIZED,
            "Die Signatur ist ungültig: die Anwendung ist nicht registriert.",
        ));
    }

    if field("User") != expected.user || field("Password") != expected.password {
        return Some(german(
            StatusCode::UNAUTHORIZED,
            "Falscher Name oder falsches Kennwort.",
        ));
    }
    None
}

/// Counts the call, then checks faults and the bearer token.
fn authorise(world: &mut World, endpoint: &'static str, headers: &HeaderMap) -> Option<Response> {
    if let Some(fault) = arrive(world, endpoint) {
        return Some(fault);
    }
    if world.unauthorized > 0 {
        world.unauthorized -= 1;
        return Some(StatusCode::UNAUTHORIZED.into_response());
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match world.tokens.get(bearer) {
        Some(expiry) if *expiry > Instant::now() => None,
        _ => Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"Message": "Authorization has been denied for this request."})),
            )
                .into_response(),
        ),
    }
}

async fn termine(
    State(world): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    // The lock is released before pausing: a slow answer holds up no other call.
    let pause = {
        let mut world = lock(&world);
        if let Some(refusal) = authorise(&mut world, "TermineActiveSync", &headers) {
            return refusal;
        }
        match &mut world.slow {
            Some((n, pause)) if *n > 0 => {
                *n -= 1;
                Some(*pause)
            }
            _ => None,
        }
    };
    if let Some(pause) = pause {
        tokio::time::sleep(pause).await;
    }
    let mut world = lock(&world);
    let day = |name: &str| {
        query
            .get(name)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    let (Some(from), Some(to), Some(code)) = (day("from"), day("to"), query.get("kuerzel")) else {
        return german(
            StatusCode::BAD_REQUEST,
            "from, to und kuerzel sind erforderlich.",
        );
    };
    world
        .queries
        .push((from.to_string(), to.to_string(), code.clone()));

    let records = world
        .appointments
        .get(&code.to_uppercase())
        .cloned()
        .unwrap_or_default();
    let touching: Vec<Value> = records
        .into_iter()
        .filter(|r| span(r).is_none_or(|(first, last)| first <= to && last >= from))
        .collect();
    Json(Value::Array(touching)).into_response()
}

/// The days a raw record touches, or `None` when its `Datum` cannot be read.
fn span(record: &Value) -> Option<(NaiveDate, NaiveDate)> {
    let date = |name: &str| {
        let text = record.get(name)?.as_str()?;
        let day = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
        (day > NaiveDate::from_ymd_opt(1, 1, 1)?).then_some(day)
    };
    let first = date("Datum")?;
    let series = record.get("Dauertermin").and_then(Value::as_i64) == Some(1);
    let last = match date("DatumBis") {
        Some(last) => last,
        None if series => NaiveDate::from_ymd_opt(2037, 12, 31)?,
        None => first,
    };
    Some((first, last.max(first)))
}

async fn employees(State(world): State<Shared>, headers: HeaderMap) -> Response {
    let mut world = lock(&world);
    if let Some(refusal) = authorise(&mut world, "employees", &headers) {
        return refusal;
    }
    Json(Value::Array(world.employees.clone())).into_response()
}
