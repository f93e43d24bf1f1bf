use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::test_server::free_port;
use super::*;
use crate::store::contract;

async fn started() -> (TestRedis, RedisStore) {
    let server = TestRedis::start().expect("start redis-server");
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    (server, store)
}

/// A plain connection to look at what the store wrote.
async fn raw(server: &TestRedis) -> ::redis::aio::MultiplexedConnection {
    Client::open(server.url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection")
}

#[tokio::test]
async fn redis_honours_the_state_and_lock_contract() {
    let (_server, store) = started().await;
    contract::state_contract(&store).await;
    contract::lock_contract(&store).await;
    contract::lock_race(Arc::new(store)).await;
}

#[tokio::test]
async fn redis_lock_is_the_named_key_holding_the_token_with_a_ttl() {
    let (server, store) = started().await;
    let ttl = Duration::from_secs(300);
    assert!(
        store
            .acquire("calendar_sync:lock:SB", "token-1", ttl)
            .await
            .expect("acquire")
    );

    let mut raw = raw(&server).await;
    let value: Option<String> = ::redis::cmd("GET")
        .arg("calendar_sync:lock:SB")
        .query_async(&mut raw)
        .await
        .expect("GET");
    assert_eq!(value.as_deref(), Some("token-1"));
    let pttl: i64 = ::redis::cmd("PTTL")
        .arg("calendar_sync:lock:SB")
        .query_async(&mut raw)
        .await
        .expect("PTTL");
    assert!(pttl > 295_000 && pttl <= 300_000, "pttl {pttl}");

    // Renewal resets the TTL; release deletes the key.
    assert!(
        store
            .renew("calendar_sync:lock:SB", "token-1", Duration::from_secs(600))
            .await
            .expect("renew")
    );
    let info = store
        .holder("calendar_sync:lock:SB")
        .await
        .expect("holder")
        .expect("held");
    assert!(info.ttl > Duration::from_secs(595), "ttl {:?}", info.ttl);
    assert!(
        store
            .release("calendar_sync:lock:SB", "token-1")
            .await
            .expect("release")
    );
    let exists: i64 = ::redis::cmd("EXISTS")
        .arg("calendar_sync:lock:SB")
        .query_async(&mut raw)
        .await
        .expect("EXISTS");
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn redis_state_is_one_hash_per_group_of_json_values() {
    let (server, store) = started().await;
    store
        .set(
            "calendar_sync:runs",
            "SB",
            json!({"created": 3, "note": "ä"}),
        )
        .await
        .expect("set");

    let mut raw = raw(&server).await;
    let text: Option<String> = ::redis::cmd("HGET")
        .arg("stepline:state:calendar_sync:runs")
        .arg("SB")
        .query_async(&mut raw)
        .await
        .expect("HGET");
    let text = text.expect("field written");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).expect("json"),
        json!({"created": 3, "note": "ä"})
    );
}

#[tokio::test]
async fn redis_foreign_data_is_invalid_not_a_panic() {
    let (server, store) = started().await;
    let mut raw = raw(&server).await;
    let _: i64 = ::redis::cmd("HSET")
        .arg("stepline:state:g")
        .arg("k")
        .arg("not json")
        .query_async(&mut raw)
        .await
        .expect("HSET");
    let _: () = ::redis::cmd("SET")
        .arg("forever")
        .arg("someone")
        .query_async(&mut raw)
        .await
        .expect("SET");

    assert!(matches!(
        store.get("g", "k").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.get_group("g").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.holder("forever").await,
        Err(StoreError::Invalid(_))
    ));
    // A lock key holding a hash: wrong type, reported, not a panic.
    assert!(matches!(
        store
            .renew("stepline:state:g", "me", Duration::from_secs(1))
            .await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn redis_unreachable_is_unavailable_within_the_timeout() {
    // Nobody listens on this port: connecting is refused at once.
    let port = free_port().expect("port");
    let started = Instant::now();
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{port}/"))
        .await
        .expect("an unreachable redis does not stop the start");
    let result = store.set("g", "k", json!(1)).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    let result = store
        .acquire("calendar_sync:lock:SB", "t", Duration::from_secs(300))
        .await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < 3 * DEFAULT_TIMEOUT,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn redis_that_never_answers_is_unavailable_within_the_timeout() {
    // A listener that accepts connections and never says a word: a hung Redis.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });

    let store = RedisStore::connect(&format!("redis://127.0.0.1:{port}/"))
        .await
        .expect("a silent redis does not stop the start");
    let started = Instant::now();
    let result = store.get("g", "k").await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(
        took >= DEFAULT_TIMEOUT - Duration::from_millis(100)
            && took < DEFAULT_TIMEOUT + Duration::from_millis(500),
        "took {took:?}"
    );
    silent.abort();
}

#[tokio::test]
async fn redis_store_recovers_when_the_server_comes_back() {
    let (mut server, store) = started().await;
    store.set("g", "k", json!("before")).await.expect("set");

    server.stop();
    for _ in 0..3 {
        let result = store.get("g", "k").await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
    }

    // Same port, fresh server (no persistence): the same store object reconnects by itself.
    server.restart().expect("restart");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut failures = 0;
    loop {
        match store.set("g", "k", json!("after")).await {
            Ok(()) => break,
            Err(StoreError::Unavailable(_)) if Instant::now() < deadline => failures += 1,
            Err(e) => panic!("no recovery: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        failures <= 2,
        "{failures} failures after the server was back"
    );
    assert_eq!(
        store.get("g", "k").await.expect("get"),
        Some(json!("after"))
    );
    assert!(
        store
            .acquire("calendar_sync:lock:SB", "t", Duration::from_secs(5))
            .await
            .expect("acquire after recovery")
    );
}

#[tokio::test]
async fn redis_password_is_used_and_never_shown() {
    let server = TestRedis::start_with_password("s3cret-pw").expect("start redis-server");
    let store = RedisStore::connect(&server.url())
        .await
        .expect("connect with password");
    store.set("g", "k", json!(1)).await.expect("set");
    assert_eq!(store.address(), format!("127.0.0.1:{}/0", server.port()));
    assert!(!format!("{store:?}").contains("s3cret"));

    // Without the password Redis answers but refuses: a configuration error at start.
    let refused = RedisStore::connect(&format!("redis://127.0.0.1:{}/", server.port())).await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    let wrong = RedisStore::connect(&format!("redis://:wrong@127.0.0.1:{}/", server.port()))
        .await
        .expect_err("wrong password");
    assert!(matches!(wrong, StoreError::Invalid(_)), "{wrong:?}");
    assert!(!wrong.to_string().contains("wrong@"), "{wrong}");

    let malformed = RedisStore::connect("redis://:s3cret-pw@127.0.0.1:notaport/")
        .await
        .expect_err("malformed url");
    assert!(matches!(malformed, StoreError::Invalid(_)), "{malformed:?}");
    assert!(!malformed.to_string().contains("s3cret"), "{malformed}");
}

#[tokio::test]
async fn redis_first_operation_after_a_late_start_succeeds() {
    // Stepline starts while Redis is down, and stays idle until well after Redis is up.
    let mut server = TestRedis::start().expect("start redis-server");
    server.stop();
    let store = RedisStore::connect(&server.url())
        .await
        .expect("an unreachable redis does not stop the start");
    let result = store.get("g", "k").await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    server.restart().expect("restart");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        store
            .acquire("calendar_sync:lock:SB", "t", Duration::from_secs(5))
            .await
            .expect("the first operation after redis is back succeeds")
    );
}
