//! The Advoware API source against the Advoware emulator: discovery, the signed token and
//! its reuse, refresh on 401, German refusals without retry loops, 5xx retries, and the
//! chunked appointment window merged by FrNr. Each test counts the calls it caused.

#[path = "emulators/advoware.rs"]
mod advoware_emulator;

use std::collections::HashMap;
use std::time::Duration;

use advoware_emulator::{AdvowareEmulator, Credentials};
use chrono::NaiveDate;
use serde_json::json;
use stepline::calendar::advoware_api::{AdvowareApiConfig, AdvowareApiSource, RetryPolicy};
use stepline::calendar::{CalendarSource, SourceError};

fn day(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

/// The settings as the environment would give them, for the emulator's configurator.
fn env(emulator: &AdvowareEmulator, credentials: &Credentials) -> HashMap<&'static str, String> {
    HashMap::from([
        ("ADVOWARE_CONFIGURATOR_URL", emulator.configurator_url()),
        ("ADVOWARE_FIRM", credentials.firm.clone()),
        ("ADVOWARE_DATABASE", credentials.database.clone()),
        ("ADVOWARE_USER", credentials.user.clone()),
        ("ADVOWARE_PASSWORD", credentials.password.clone()),
        ("ADVOWARE_APP_ID", credentials.app_id.clone()),
        ("ADVOWARE_API_KEY", credentials.api_key_base64()),
        ("ADVOWARE_PRODUCT", credentials.product.clone()),
    ])
}

/// A source from `vars`, with millisecond backoff so that retries do not slow the tests.
fn source(vars: &HashMap<&'static str, String>) -> AdvowareApiSource {
    source_with_timeout(vars, Duration::from_secs(5))
}

fn source_with_timeout(
    vars: &HashMap<&'static str, String>,
    timeout: Duration,
) -> AdvowareApiSource {
    let mut config = AdvowareApiConfig::from_lookup(|name| vars.get(name).cloned())
        .expect("valid settings")
        .expect("configured");
    config.retry = RetryPolicy {
        retries: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    config.timeout = timeout;
    AdvowareApiSource::new(config).expect("client")
}

/// An emulated firm: SB with three appointments in March 2026, and the source for it.
async fn firm() -> (AdvowareEmulator, AdvowareApiSource, Credentials) {
    let credentials = Credentials::generate();
    let emulator = AdvowareEmulator::start(credentials.clone()).await;
    emulator.set_employees(vec![
        json!({"Kuerzel": "SB", "Vorname": "Sabine", "Name": "Brenner"}),
        json!({"Kuerzel": " ", "Name": "ohne Kürzel"}),
        json!({"Kuerzel": "MÜ", "Name": "Übelacker", "Aktiv": 0}),
    ]);
    emulator.set_appointments(
        "SB",
        vec![
            json!({"FrNr": 1, "Datum": "2026-03-05T09:00:00", "UhrzeitBis": "10:00:00"}),
            json!({"FrNr": 2, "Datum": "2026-03-11T14:30:00.000", "DatumBis": "2026-03-11T00:00:00"}),
            json!({"FrNr": 3, "Datum": "2026-01-05T08:00:00", "DatumBis": "0001-01-01T00:00:00Z",
                   "Dauertermin": 1, "Turnus": 1, "TurnusArt": 2}),
            json!({"FrNr": 4, "Datum": "2026-03-25T00:00:00", "DatumBis": "0001-01-01T00:00:00Z"}),
            json!({"FrNr": 5, "Datum": "2026-03-15T25:61:00"}),
            json!({"FrNr": 6, "Datum": "2026-04-15T09:00:00"}),
        ],
    );
    let source = source(&env(&emulator, &credentials));
    (emulator, source, credentials)
}

fn frnrs(found: &[stepline::calendar::Termin]) -> Vec<i64> {
    found.iter().map(|t| t.frnr).collect()
}

#[tokio::test]
async fn the_token_is_fetched_once_and_reused() {
    let (emulator, source, _) = firm().await;

    let found = source
        .appointments("sb", day("2026-03-01"), day("2026-03-31"))
        .await
        .expect("appointments");
    assert_eq!(frnrs(&found.termine), [3, 1, 2, 4]);
    assert_eq!(found.skipped, 1);
    let again = source
        .appointments("SB", day("2026-03-01"), day("2026-03-31"))
        .await
        .expect("appointments");
    assert_eq!(again, found);
    let codes: Vec<String> = source
        .employees()
        .await
        .expect("employees")
        .into_iter()
        .map(|e| format!("{}:{}", e.kuerzel, e.active))
        .collect();
    assert_eq!(codes, ["SB:true", "MÜ:false"]);

    assert_eq!(emulator.calls("configurator"), 1);
    assert_eq!(emulator.calls("token"), 1);
    assert_eq!(emulator.calls("TermineActiveSync"), 2);
    assert_eq!(emulator.calls("employees"), 1);
}

#[tokio::test]
async fn no_value_dates_and_fractional_seconds_are_read() {
    let (_emulator, source, _) = firm().await;
    let found = source
        .appointments("SB", day("2026-03-01"), day("2026-03-31"))
        .await
        .expect("appointments");
    let by_frnr = |n: i64| found.termine.iter().find(|t| t.frnr == n).expect("present");
    assert_eq!(by_frnr(4).datum_bis, None);
    assert_eq!(by_frnr(3).series_end(), day("2037-12-31"));
    assert_eq!(
        by_frnr(2).datum,
        day("2026-03-11").and_hms_opt(14, 30, 0).expect("time")
    );
}

#[tokio::test]
async fn an_expiring_token_is_replaced_before_it_expires() {
    let (emulator, source, _) = firm().await;
    emulator.set_token_lifetime(1);
    let (from, to) = (day("2026-03-01"), day("2026-03-31"));

    source.appointments("SB", from, to).await.expect("first");
    // A one-second token is replaced after three quarters of it.
    tokio::time::sleep(Duration::from_millis(800)).await;
    source.appointments("SB", from, to).await.expect("second");
    assert_eq!(emulator.calls("token"), 2);
    assert_eq!(emulator.calls("TermineActiveSync"), 2);
}

#[tokio::test]
async fn a_401_fetches_a_new_token_exactly_once() {
    let (emulator, source, _) = firm().await;
    let (from, to) = (day("2026-03-01"), day("2026-03-31"));
    source.appointments("SB", from, to).await.expect("warm up");

    emulator.fail_unauthorized(1);
    let found = source
        .appointments("SB", from, to)
        .await
        .expect("after 401");
    assert_eq!(frnrs(&found.termine), [3, 1, 2, 4]);
    assert_eq!(emulator.calls("token"), 2);
    assert_eq!(emulator.calls("TermineActiveSync"), 3);

    // A 401 to the new token too is a refusal, not a loop.
    emulator.fail_unauthorized(10);
    let error = source
        .appointments("SB", from, to)
        .await
        .expect_err("refused");
    assert_eq!(
        error.to_string(),
        "Advoware refused access: TermineActiveSync: HTTP 401 with a newly issued token"
    );
    assert!(!error.is_retryable());
    assert_eq!(emulator.calls("token"), 3);
    assert_eq!(emulator.calls("TermineActiveSync"), 5);
}

#[tokio::test]
async fn a_licence_refusal_names_the_cause_and_is_not_retried() {
    let (emulator, source, _) = firm().await;
    emulator.refuse_licence(true);

    let error = source
        .appointments("SB", day("2026-03-01"), day("2026-03-31"))
        .await
        .expect_err("refused");
    assert!(matches!(error, SourceError::Refused(_)));
    assert_eq!(
        error.to_string(),
        "Advoware refused access: token: the app or user is not licensed for this firm (\"nicht freigeschaltet\")"
    );
    assert!(!error.is_retryable());
    assert_eq!(emulator.calls("token"), 1);
    assert_eq!(emulator.calls("TermineActiveSync"), 0);
}

#[tokio::test]
async fn a_wrong_password_or_key_is_refused_with_its_cause() {
    let credentials = Credentials::generate();
    let emulator = AdvowareEmulator::start(credentials.clone()).await;
    let (from, to) = (day("2026-03-01"), day("2026-03-31"));

    let mut vars = env(&emulator, &credentials);
    vars.insert("ADVOWARE_PASSWORD", "falsch".into());
    let error = source(&vars)
        .appointments("SB", from, to)
        .await
        .expect_err("refused");
    assert_eq!(
        error.to_string(),
        "Advoware refused access: token: wrong user name or password (\"Falscher Name oder falsches Kennwort\")"
    );

    let mut vars = env(&emulator, &credentials);
    vars.insert("ADVOWARE_API_KEY", Credentials::generate().api_key_base64());
    let error = source(&vars)
        .appointments("SB", from, to)
        .await
        .expect_err("refused");
    assert_eq!(
        error.to_string(),
        "Advoware refused access: token: the app or user is not registered (\"ist nicht registriert\")"
    );
    assert_eq!(emulator.calls("token"), 2);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_as_unavailable() {
    let (emulator, source, _) = firm().await;
    let (from, to) = (day("2026-03-01"), day("2026-03-31"));

    emulator.fail_unavailable("TermineActiveSync", 2);
    let found = source
        .appointments("SB", from, to)
        .await
        .expect("third try");
    assert_eq!(frnrs(&found.termine), [3, 1, 2, 4]);
    assert_eq!(emulator.calls("TermineActiveSync"), 3);

    emulator.fail_unavailable("TermineActiveSync", 10);
    let error = source.appointments("SB", from, to).await.expect_err("down");
    assert_eq!(
        error.to_string(),
        "Advoware is unavailable: TermineActiveSync: HTTP 503 after 4 attempts"
    );
    assert!(error.is_retryable());
    assert_eq!(emulator.calls("TermineActiveSync"), 7);
    assert_eq!(emulator.calls("token"), 1);
}

#[tokio::test]
async fn a_long_window_is_read_in_chunks_and_merged_by_frnr() {
    let credentials = Credentials::generate();
    let emulator = AdvowareEmulator::start(credentials.clone()).await;
    emulator.set_employees(vec![json!({"Kuerzel": "SB", "Name": "Brenner"})]);
    emulator.set_appointments(
        "SB",
        vec![
            json!({"FrNr": 1, "Datum": "2026-03-05T09:00:00"}),
            // On the day two chunks share, and in every chunk as an open series.
            json!({"FrNr": 2, "Datum": "2026-03-11T09:00:00"}),
            json!({"FrNr": 3, "Datum": "2026-01-05T08:00:00", "Dauertermin": 1, "Turnus": 1, "TurnusArt": 2}),
            // Malformed, on a shared day and not: each is skipped and counted once.
            json!({"FrNr": 5, "Datum": "2026-03-21T25:61:00"}),
            json!({"FrNr": 7, "Datum": "2026-03-15T25:61:00"}),
            json!({"FrNr": 6, "Datum": "2026-04-15T09:00:00"}),
        ],
    );
    let mut vars = env(&emulator, &credentials);
    vars.insert("ADVOWARE_CHUNK_DAYS", "10".into());
    let source = source(&vars);

    let found = source
        .appointments("SB", day("2026-03-01"), day("2026-03-31"))
        .await
        .expect("appointments");
    assert_eq!(frnrs(&found.termine), [3, 1, 2]);
    assert_eq!(found.skipped, 2);
    let queries: Vec<(String, String, String)> = [
        ("2026-03-01", "2026-03-11"),
        ("2026-03-11", "2026-03-21"),
        ("2026-03-21", "2026-03-31"),
    ]
    .iter()
    .map(|(a, b)| ((*a).into(), (*b).into(), "SB".into()))
    .collect();
    assert_eq!(emulator.termine_queries(), queries);
    assert_eq!(emulator.calls("token"), 1);
}

#[tokio::test]
async fn an_unknown_code_is_told_apart_by_the_listing() {
    let (emulator, source, _) = firm().await;
    let error = source
        .appointments("XY", day("2026-03-01"), day("2026-03-31"))
        .await
        .expect_err("unknown");
    assert!(matches!(&error, SourceError::UnknownEmployee(code) if code == "XY"));

    // A known employee without appointments is an empty answer, not an error.
    let empty = source
        .appointments("MÜ", day("2026-03-01"), day("2026-03-31"))
        .await
        .expect("known");
    assert_eq!((empty.termine.len(), empty.skipped), (0, 0));
    assert_eq!(emulator.calls("employees"), 2);
}

#[tokio::test]
async fn fixed_addresses_skip_the_configurator() {
    let credentials = Credentials::generate();
    let emulator = AdvowareEmulator::start(credentials.clone()).await;
    emulator.set_employees(vec![json!({"Kuerzel": "SB", "Name": "Brenner"})]);
    let mut vars = env(&emulator, &credentials);
    vars.remove("ADVOWARE_CONFIGURATOR_URL");
    vars.insert("ADVOWARE_API_URL", emulator.api_url());
    vars.insert("ADVOWARE_GATEWAY_URL", emulator.gateway_url());
    let source = source(&vars);

    let employees = source.employees().await.expect("employees");
    assert_eq!(employees.len(), 1);
    assert_eq!(emulator.calls("configurator"), 0);
    assert_eq!(emulator.calls("token"), 1);
    assert!(
        source
            .describe()
            .starts_with("Advoware API (API http://127.0.0.1:")
    );
}

#[tokio::test]
async fn a_configurator_outage_is_retried_and_then_cached() {
    let (emulator, source, _) = firm().await;
    emulator.fail_unavailable("configurator", 1);
    source.employees().await.expect("employees");
    source.employees().await.expect("employees");
    assert_eq!(emulator.calls("configurator"), 2);
    assert_eq!(emulator.calls("token"), 1);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported_as_unavailable() {
    let (emulator, _, credentials) = firm().await;
    let source = source_with_timeout(&env(&emulator, &credentials), Duration::from_millis(300));
    let (from, to) = (day("2026-03-01"), day("2026-03-31"));

    emulator.slow_termine(2, Duration::from_secs(2));
    let found = source
        .appointments("SB", from, to)
        .await
        .expect("third try");
    assert_eq!(frnrs(&found.termine), [3, 1, 2, 4]);
    assert_eq!(emulator.calls("TermineActiveSync"), 3);

    emulator.slow_termine(10, Duration::from_secs(2));
    let error = source
        .appointments("SB", from, to)
        .await
        .expect_err("too slow");
    assert_eq!(
        error.to_string(),
        "Advoware is unavailable: TermineActiveSync: no answer in time after 4 attempts"
    );
    assert!(error.is_retryable());
    assert_eq!(emulator.calls("TermineActiveSync"), 7);
}
