//! A Google Calendar API v3 emulator for the tests: an axum server on `127.0.0.1:0` that
//! behaves as `DOMAIN.md` describes Google.
//!
//! - `POST /token`: checks the JWT-bearer grant, the RS256 signature against the test
//!   public key and the claims (`iss`, `scope`, `aud`, `iat`, `exp` ≤ 1 h), then issues an
//!   access token that every API call must present.
//! - Calendars (`insert`, `get`), ACL rules (`insert`).
//! - Events: `list` with paging (`maxResults`, `pageToken`; `nextSyncToken` only on the last
//!   page), incremental with `syncToken` (changes since, cancelled ones included; 410 for an
//!   unknown or invalidated token; 400 when combined with `timeMin`/`timeMax`); `insert`
//!   with client ids (`a-v0-9`, 5 to 1024 long; 409 when taken, also by a deleted event);
//!   `patch` merging like Google (objects merged, `null` clears, `If-Match` → 412); `delete`
//!   (404 unknown, 410 already deleted); `get`. A `start`/`end` holding both `date` and
//!   `dateTime`, mixing kinds, or a series without `timeZone` is refused with 400.
//! - Faults injected per method: 403 rate limits, 403 quota, 429, 5xx, or an empty listing.
//! - Every call counted per method (`events.insert`, ...), faulted ones included.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::signature::Verifier;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::Sha256;

/// The service account the emulator trusts.
pub const CLIENT_EMAIL: &str = "stepline-sync@test-project.iam.example";
/// Calls that change a calendar's events.
pub const EVENT_WRITES: [&str; 3] = ["events.insert", "events.patch", "events.delete"];

/// The test key pair, generated once per test binary.
pub fn test_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("rsa key"))
}

/// What a call can be made to answer instead of its normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 403 `rateLimitExceeded`.
    RateLimit,
    /// 403 `userRateLimitExceeded`.
    UserRateLimit,
    /// 403 `quotaExceeded`.
    Quota,
    /// 429.
    TooManyRequests,
    /// 503.
    Unavailable,
    /// `events.list` only: a full listing answers one 200 page with no events and no sync
    /// token (an incremental listing passes the fault on to the next full one).
    EmptyListing,
}

#[derive(Default)]
struct Calendar {
    summary: String,
    time_zone: String,
    acl: Vec<Value>,
    events: BTreeMap<String, Event>,
}

struct Event {
    body: Value,
    changed: u64,
}

#[derive(Default)]
struct World {
    token_url: String,
    tokens: HashSet<String>,
    last_claims: Option<Value>,
    calendars: BTreeMap<String, Calendar>,
    sequence: u64,
    sync_tokens: HashMap<String, (String, u64)>,
    calls: BTreeMap<String, usize>,
    faults: HashMap<String, VecDeque<Fault>>,
}

type Shared = Arc<Mutex<World>>;

/// A running emulator; stops with the test's runtime.
pub struct GoogleEmulator {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    world: Shared,
}

impl GoogleEmulator {
    /// Starts the emulator on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let world: Shared = Arc::new(Mutex::new(World {
            token_url: format!("{base}/token"),
            ..World::default()
        }));
        let app = Router::new()
            .route("/token", post(token))
            .route("/calendar/v3/calendars", post(insert_calendar))
            .route("/calendar/v3/calendars/{cal}", get(get_calendar))
            .route("/calendar/v3/calendars/{cal}/acl", post(insert_acl))
            .route(
                "/calendar/v3/calendars/{cal}/events",
                get(list_events).post(insert_event),
            )
            .route(
                "/calendar/v3/calendars/{cal}/events/{id}",
                get(get_event).patch(patch_event).delete(delete_event),
            )
            .with_state(world.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, world }
    }

    /// The API base URL (`GOOGLE_API_URL`).
    pub fn api_url(&self) -> String {
        format!("{}/calendar/v3", self.base)
    }

    /// The token endpoint (`GOOGLE_TOKEN_URL`).
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base)
    }

    /// A service-account JSON key for the test key, naming this emulator's token endpoint.
    pub fn key_json(&self) -> Value {
        let pem = test_key().to_pkcs8_pem(LineEnding::LF).expect("pem");
        json!({
            "type": "service_account",
            "client_email": CLIENT_EMAIL,
            "private_key": pem.as_str(),
            "token_uri": self.token_url(),
        })
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the next `times` calls of `method` answer `fault`.
    pub fn inject(&self, method: &str, fault: Fault, times: usize) {
        let mut world = self.world();
        let queue = world.faults.entry(method.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Calls of `method` so far.
    pub fn calls(&self, method: &str) -> usize {
        self.world().calls.get(method).copied().unwrap_or(0)
    }

    /// Every method called so far, with its count.
    pub fn all_calls(&self) -> BTreeMap<String, usize> {
        self.world().calls.clone()
    }

    /// Calls of `events.insert`, `events.patch` and `events.delete` so far.
    pub fn event_writes(&self) -> usize {
        EVENT_WRITES.iter().map(|m| self.calls(m)).sum()
    }

    /// Forgets the call counts.
    pub fn reset_calls(&self) {
        self.world().calls.clear();
    }

    /// Every calendar id, sorted.
    pub fn calendar_ids(&self) -> Vec<String> {
        self.world().calendars.keys().cloned().collect()
    }

    /// The calendar's summary and time zone.
    pub fn calendar(&self, calendar: &str) -> Option<(String, String)> {
        let world = self.world();
        let c = world.calendars.get(calendar)?;
        Some((c.summary.clone(), c.time_zone.clone()))
    }

    /// The calendar's ACL rules.
    pub fn acl(&self, calendar: &str) -> Vec<Value> {
        self.world()
            .calendars
            .get(calendar)
            .map(|c| c.acl.clone())
            .unwrap_or_default()
    }

    /// The events of a calendar that are not cancelled, by id.
    pub fn events(&self, calendar: &str) -> BTreeMap<String, Value> {
        let world = self.world();
        let Some(c) = world.calendars.get(calendar) else {
            return BTreeMap::new();
        };
        c.events
            .iter()
            .filter(|(_, e)| e.body["status"] != "cancelled")
            .map(|(id, e)| (id.clone(), e.body.clone()))
            .collect()
    }

    /// Puts an event straight into a calendar, as a person or another tool would.
    pub fn put_event(&self, calendar: &str, mut body: Value) {
        let mut world = self.world();
        world.sequence += 1;
        let changed = world.sequence;
        body["etag"] = json!(format!("\"{changed}\""));
        if body.get("status").is_none() {
            body["status"] = json!("confirmed");
        }
        let id = body["id"].as_str().expect("id").to_owned();
        let c = world.calendars.get_mut(calendar).expect("calendar");
        c.events.insert(id, Event { body, changed });
    }

    /// Changes an event's etag without changing it, as an edit elsewhere would.
    pub fn touch(&self, calendar: &str, id: &str) {
        let mut world = self.world();
        world.sequence += 1;
        let changed = world.sequence;
        let event = world
            .calendars
            .get_mut(calendar)
            .and_then(|c| c.events.get_mut(id))
            .expect("event");
        event.body["etag"] = json!(format!("\"{changed}\""));
        event.changed = changed;
    }

    /// Deletes a calendar with its events, as a person could.
    pub fn drop_calendar(&self, calendar: &str) {
        self.world().calendars.remove(calendar);
    }

    /// Makes every access token issued so far invalid (answered with 401).
    pub fn revoke_tokens(&self) {
        self.world().tokens.clear();
    }

    /// Makes every sync token issued so far invalid (answered with 410).
    pub fn expire_sync_tokens(&self) {
        self.world().sync_tokens.clear();
    }

    /// The claims of the last assertion the token endpoint accepted.
    pub fn last_claims(&self) -> Option<Value> {
        self.world().last_claims.clone()
    }
}

fn error(status: StatusCode, reason: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": reason,
                                 "errors": [{"domain": "calendar", "reason": reason}]}});
    (status, axum::Json(body)).into_response()
}

fn ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Counts the call, checks the token, and plays an injected fault if one is queued.
fn enter<'a>(
    shared: &'a Shared,
    method: &str,
    headers: &HeaderMap,
) -> Result<(MutexGuard<'a, World>, Option<Fault>), Box<Response>> {
    let mut world = shared.lock().unwrap_or_else(|p| p.into_inner());
    *world.calls.entry(method.to_owned()).or_default() += 1;
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| world.tokens.contains(t)) {
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, "authError")));
    }
    let fault = world.faults.get_mut(method).and_then(VecDeque::pop_front);
    let refusal = match fault {
        Some(Fault::RateLimit) => error(StatusCode::FORBIDDEN, "rateLimitExceeded"),
        Some(Fault::UserRateLimit) => error(StatusCode::FORBIDDEN, "userRateLimitExceeded"),
        Some(Fault::Quota) => error(StatusCode::FORBIDDEN, "quotaExceeded"),
        Some(Fault::TooManyRequests) => error(StatusCode::TOO_MANY_REQUESTS, "rateLimitExceeded"),
        Some(Fault::Unavailable) => error(StatusCode::SERVICE_UNAVAILABLE, "backendError"),
        other => return Ok((world, other)),
    };
    Err(Box::new(refusal))
}

fn form_value(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn token(State(shared): State<Shared>, body: String) -> Response {
    let mut world = shared.lock().unwrap_or_else(|p| p.into_inner());
    *world.calls.entry("token".into()).or_default() += 1;
    let fault = world.faults.get_mut("token").and_then(VecDeque::pop_front);
    if fault == Some(Fault::Unavailable) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "backendError");
    }
    if form_value(&body, "grant_type").as_deref()
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    let claims = form_value(&body, "assertion").and_then(|a| verify(&a, &world.token_url));
    let Some(claims) = claims else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let access = format!("ya29.test-{}", world.tokens.len() + 1);
    world.tokens.insert(access.clone());
    world.last_claims = Some(claims);
    ok(json!({"access_token": access, "token_type": "Bearer", "expires_in": 3599}))
}

/// The claims of a valid assertion: RS256 signed by the test key, for the calendar scope,
/// addressed to this token endpoint, at most one hour long and not expired.
fn verify(assertion: &str, token_url: &str) -> Option<Value> {
    let mut parts = assertion.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok();
    let signature = Signature::try_from(decode(signature)?.as_slice()).ok()?;
    let key = VerifyingKey::<Sha256>::new(RsaPublicKey::from(test_key()));
    key.verify(format!("{header}.{claims}").as_bytes(), &signature)
        .ok()?;

    let header: Value = serde_json::from_slice(&decode(header)?).ok()?;
    let claims: Value = serde_json::from_slice(&decode(claims)?).ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let (iat, exp) = (claims["iat"].as_u64()?, claims["exp"].as_u64()?);
    let valid = header["alg"] == "RS256"
        && claims["iss"] == CLIENT_EMAIL
        && claims["scope"] == "https://www.googleapis.com/auth/calendar"
        && claims["aud"] == token_url
        && exp > now
        && exp > iat
        && exp - iat <= 3600;
    valid.then_some(claims)
}

async fn insert_calendar(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (mut world, _) = match enter(&shared, "calendars.insert", &headers) {
        Ok(entered) => entered,
        Err(response) => return *response,
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "parseError");
    };
    let Some(summary) = body["summary"].as_str() else {
        return error(StatusCode::BAD_REQUEST, "required");
    };
    // Ids are never reused, also after a calendar was deleted.
    world.sequence += 1;
    let id = format!("c{}@group.calendar.example", world.sequence);
    let time_zone = body["timeZone"].as_str().unwrap_or("UTC").to_owned();
    world.calendars.insert(
        id.clone(),
        Calendar {
            summary: summary.to_owned(),
            time_zone: time_zone.clone(),
            ..Calendar::default()
        },
    );
    ok(json!({"kind": "calendar#calendar", "id": id, "summary": summary, "timeZone": time_zone}))
}

async fn get_calendar(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(cal): Path<String>,
) -> Response {
    let (world, _) = match enter(&shared, "calendars.get", &headers) {
        Ok(entered) => entered,
        Err(response) => return *response,
    };
    match world.calendars.get(&cal) {
        Some(c) => ok(json!({"id": cal, "summary": c.summary, "timeZone": c.time_zone})),
        None => error(StatusCode::NOT_FOUND, "notFound"),
    }
}

async fn insert_acl(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(cal): Path<String>,
    body: Bytes,
) -> Response {
    let (mut world, _) = match enter(&shared, "acl.insert", &headers) {
        Ok(entered) => entered,
        Err(response) => return *response,
    };
    let Ok(mut rule) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "parseError");
    };
    let Some(c) = world.calendars.get_mut(&cal) else {
        return error(StatusCode::NOT_FOUND, "notFound");
    };
    let valid = rule["role"].is_string() && rule["scope"]["type"].is_string();
    if !valid {
        return error(StatusCode::BAD_REQUEST, "required");
    }
    rule["id"] = json!(format!(
        "user:{}",
        rule["scope"]["value"].as_str().unwrap_or("")
    ));
    c.acl.push(rule.clone());
    ok(rule)
}

async fn list_events(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(cal): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (mut world, fault) = match enter(&shared, "events.list", &headers) {
        Ok(entered) => entered,
        Err(response) => return *response,
    };
    match fault {
        // Only a full listing can come back wrongly empty; an incremental one keeps the
        // fault for the next full listing.
        Some(Fault::EmptyListing) if query.contains_key("syncToken") => {
            world
                .faults
                .entry("events.list".into())
                .or_default()
                .push_front(Fault::EmptyListing);
        }
        Some(Fault::EmptyListing) => return ok(json!({"kind": "calendar#events", "items": []})),
        _ => {}
    }
    if !world.calendars.contains_key(&cal) {
        return error(StatusCode::NOT_FOUND, "notFound");
    }
    let since = match query.get("syncToken") {
        Some(_) if query.contains_key("timeMin") || query.contains_key("timeMax") => {
            return error(StatusCode::BAD_REQUEST, "invalid");
        }
        Some(token) => match world.sync_tokens.get(token) {
            Some((owner, since)) if *owner == cal => Some(*since),
            _ => return error(StatusCode::GONE, "fullSyncRequired"),
        },
        None => None,
    };
    let page_size = query
        .get("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(250)
        .clamp(1, 2500);
    let offset = match query.get("pageToken") {
        Some(token) => match token
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(offset) => offset,
            None => return error(StatusCode::BAD_REQUEST, "invalid"),
        },
        None => 0,
    };

    let c = &world.calendars[&cal];
    let selected: Vec<&Event> = c
        .events
        .values()
        .filter(|e| match since {
            Some(since) => e.changed > since,
            None => e.body["status"] != "cancelled",
        })
        .collect();
    let items: Vec<Value> = selected
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|e| {
            if e.body["status"] == "cancelled" && since.is_some() {
                // An incremental listing may report a deletion by id alone.
                json!({"id": e.body["id"], "status": "cancelled"})
            } else {
                e.body.clone()
            }
        })
        .collect();
    let mut page = json!({"kind": "calendar#events", "items": items});
    if offset + page_size < selected.len() {
        page["nextPageToken"] = json!(format!("page-{}", offset + page_size));
    } else {
        let token = format!("sync-{}-{}", world.sync_tokens.len() + 1, world.sequence);
        let sequence = world.sequence;
        world.sync_tokens.insert(token.clone(), (cal, sequence));
        page["nextSyncToken"] = json!(token);
    }
    ok(page)
}

fn valid_client_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| matches!(b, b'a'..=b'v' | b'0'..=b'9'))
}

/// Google's rules for `start` and `end`: one kind each, the same kind for both, and a
/// zone for a series.
fn valid_times(event: &Value) -> bool {
    let kind = |time: &Value| match (time.get("date"), time.get("dateTime")) {
        (Some(d), None) if d.is_string() => Some("date"),
        (None, Some(t)) if t.is_string() => Some("dateTime"),
        _ => None,
    };
    let (start, end) = (kind(&event["start"]), kind(&event["end"]));
    let zoned = event["start"]["timeZone"].is_string() && event["end"]["timeZone"].is_string();
    start.is_some() && start == end && (event.get("recurrence").is_none() || zoned)
}

async fn insert_event(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(cal): Path<String>,
    body: Bytes,
) -> Response {
    let (mut world, _) = match enter(&shared, "events.insert", &headers) {
        Ok(entered) => entered,
        Err(response) => return *response,
    };
    let Ok(mut event) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "parseError");
    };
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    if !valid_client_id(&id) {
        return error(StatusCode::BAD_REQUEST, "invalid");
    }
    // A null in an insert means "not set".
    let mut clean = json!({});
    merge(&mut clean, &event);
    event = clean;
    if !valid_times(&event) {
        return error(StatusCode::BAD_REQUEST, "invalid");
    }
    world.sequence += 1;
    let changed = world.sequence;
    let Some(c) = world.calendars.get_mut(&cal) else {
        return error(StatusCode::NOT_FOUND, "notFound");
    };
    if c.events.contains_key(&id) {
        return error(StatusCode::CONFLICT, "duplicate");
    }
    event["etag"] = json!(format!("\"{changed}\""));
    event["status"] = json!("confirmed");
    c.events.insert(
        id,
        Event {
            body: event.clone(),
            changed,
        },
    );
    ok(event)
}

async fn get_event(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path((cal, id)): Path<(String, String)>,
) -> Response {
    let (world, _) = match enter(&shared, "events.get", &headers) {
        Ok(entered) => entered,
        Err(response) => return *response,
    };
    match world.calendars.get(&cal).and_then(|c| c.events.get(&id)) {
        Some(event) => ok(event.body.clone()),
        None => error(StatusCode::NOT_FOUND, "notFound"),
    }
}

/// Google's patch: objects merge key by key, `null` removes a key, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    let (Value::Object(target), Value::Object(patch)) = (target, patch) else {
        return;
    };
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(_) if target.get(key).is_some_and(Value::is_object) => {
                merge(target.get_mut(key).expect("present"), value);
            }
            _ => {
                let mut value = value.clone();
                if value.is_object() {
                    let mut clean = Value::Object(Default::default());
                    merge(&mut clean, &value);
                    value = clean;
                }
                target.insert(key.clone(), value);
            }
        }
    }
}

async fn patch_event(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path((cal, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (mut world, _) = match enter(&shared, "events.patch", &headers) {
        Ok(entered) => entered,
        Err(response) => return *response,
    };
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "parseError");
    };
    world.sequence += 1;
    let changed = world.sequence;
    let Some(event) = world
        .calendars
        .get_mut(&cal)
        .and_then(|c| c.events.get_mut(&id))
    else {
        return error(StatusCode::NOT_FOUND, "notFound");
    };
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok());
    if if_match.is_some_and(|etag| Some(etag) != event.body["etag"].as_str()) {
        return error(StatusCode::PRECONDITION_FAILED, "conditionNotMet");
    }
    let mut updated = event.body.clone();
    merge(&mut updated, &patch);
    updated["id"] = json!(id);
    if !valid_times(&updated) {
        return error(StatusCode::BAD_REQUEST, "invalid");
    }
    updated["etag"] = json!(format!("\"{changed}\""));
    event.body = updated.clone();
    event.changed = changed;
    ok(updated)
}

async fn delete_event(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path((cal, id)): Path<(String, String)>,
) -> Response {
    let (mut world, _) = match enter(&shared, "events.delete", &headers) {
        Ok(entered) => entered,
        Err(response) => return *response,
    };
    world.sequence += 1;
    let changed = world.sequence;
    let Some(event) = world
        .calendars
        .get_mut(&cal)
        .and_then(|c| c.events.get_mut(&id))
    else {
        return error(StatusCode::NOT_FOUND, "notFound");
    };
    if event.body["status"] == "cancelled" {
        return error(StatusCode::GONE, "deleted");
    }
    event.body["status"] = json!("cancelled");
    event.changed = changed;
    StatusCode::NO_CONTENT.into_response()
}
