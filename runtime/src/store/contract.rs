//! The contract every state and lock adapter honours, as executable checks.
//!
//! Each function panics with a message on the first broken rule. The embedded adapter's
//! unit tests and the Redis adapter's tests run the same functions, so both stay alike.

use std::time::Duration;

use serde_json::json;

use super::{LockStore, StateStore};

/// get/set/delete/get_group/clear, with groups kept apart.
pub async fn state_contract(store: &dyn StateStore) {
    assert_eq!(store.get("g1", "a").await.expect("get"), None);
    store.set("g1", "a", json!({"n": 1})).await.expect("set");
    store.set("g1", "b", json!("two")).await.expect("set");
    store.set("g2", "a", json!(3)).await.expect("set");
    assert_eq!(
        store.get("g1", "a").await.expect("get"),
        Some(json!({"n": 1}))
    );

    store
        .set("g1", "a", json!({"n": 2}))
        .await
        .expect("overwrite");
    assert_eq!(
        store.get_group("g1").await.expect("group"),
        vec![
            ("a".to_string(), json!({"n": 2})),
            ("b".to_string(), json!("two"))
        ]
    );

    assert!(store.delete("g1", "b").await.expect("delete"));
    assert!(!store.delete("g1", "b").await.expect("delete again"));
    assert_eq!(store.get("g1", "b").await.expect("get"), None);

    store.clear("g1").await.expect("clear");
    assert_eq!(store.get_group("g1").await.expect("group"), vec![]);
    assert_eq!(
        store.get("g2", "a").await.expect("other group"),
        Some(json!(3))
    );
}

/// acquire/renew/release/holder with owner tokens and expiry.
pub async fn lock_contract(locks: &dyn LockStore) {
    let ttl = Duration::from_secs(30);
    assert!(locks.acquire("k", "alice", ttl).await.expect("acquire"));
    assert!(!locks.acquire("k", "bob", ttl).await.expect("held"));
    assert!(
        !locks
            .acquire("k", "alice", ttl)
            .await
            .expect("not re-entrant")
    );

    let info = locks.holder("k").await.expect("holder").expect("held");
    assert_eq!(info.owner, "alice");
    assert!(
        info.ttl <= ttl && info.ttl > Duration::from_secs(25),
        "ttl {:?}",
        info.ttl
    );

    assert!(!locks.release("k", "bob").await.expect("foreign release"));
    assert!(!locks.renew("k", "bob", ttl).await.expect("foreign renew"));
    assert!(locks.renew("k", "alice", ttl).await.expect("renew"));
    assert!(locks.release("k", "alice").await.expect("release"));
    assert_eq!(locks.holder("k").await.expect("holder"), None);
    assert!(!locks.release("k", "alice").await.expect("release twice"));

    // Expiry: a lock whose TTL ran out is free for the next owner, and lost to the old one.
    assert!(
        locks
            .acquire("short", "alice", Duration::from_millis(150))
            .await
            .expect("acquire")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(locks.holder("short").await.expect("holder"), None);
    assert!(
        !locks
            .renew("short", "alice", ttl)
            .await
            .expect("renew expired")
    );
    assert!(locks.acquire("short", "bob", ttl).await.expect("take over"));
    assert!(!locks.release("short", "alice").await.expect("old owner"));
    assert_eq!(
        locks
            .holder("short")
            .await
            .expect("holder")
            .map(|i| i.owner),
        Some("bob".into())
    );
}

/// Exactly one of many concurrent acquirers wins.
pub async fn lock_race(locks: std::sync::Arc<dyn LockStore>) {
    let mut tasks = Vec::new();
    for i in 0..50 {
        let locks = locks.clone();
        tasks.push(tokio::spawn(async move {
            locks
                .acquire("race", &format!("owner-{i}"), Duration::from_secs(30))
                .await
                .expect("acquire")
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.expect("task") {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one acquirer must win");
}
