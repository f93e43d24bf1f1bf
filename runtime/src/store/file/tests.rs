use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::store::contract;

fn delivery(id: &str, step: &str) -> Delivery {
    Delivery {
        id: id.to_string(),
        event_id: format!("ev-{id}"),
        step: step.to_string(),
        topic: "t".to_string(),
        payload: json!({"id": id}),
        trace_id: "trace".to_string(),
        attempts: 0,
        emitted_at: 1,
    }
}

#[tokio::test]
async fn honours_the_state_and_lock_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FileStore::open(dir.path(), true).expect("open");
    contract::state_contract(&store).await;
    contract::lock_contract(&store).await;
    contract::lock_race(Arc::new(store)).await;
}

#[tokio::test]
async fn state_locks_and_pending_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = FileStore::open(dir.path(), false).expect("open");
        store.set("g", "k", json!([1, 2])).await.expect("set");
        store.set("g", "gone", json!(0)).await.expect("set");
        assert!(store.delete("g", "gone").await.expect("delete"));
        assert!(
            store
                .acquire("lock", "me", Duration::from_secs(60))
                .await
                .expect("lock")
        );
        store
            .enqueue(vec![
                delivery("a", "s1"),
                delivery("b", "s2"),
                delivery("c", "s1"),
            ])
            .await
            .expect("enqueue");
        store.ack("b");
        store.record_attempts("c", 2);
        store
            .dead_letter(DeadLetter {
                delivery: delivery("a", "s1"),
                error: "boom".into(),
                failed_at: 5,
            })
            .await
            .expect("dead letter");
    }
    let store = FileStore::open(dir.path(), false).expect("reopen");
    assert_eq!(store.get("g", "k").await.expect("get"), Some(json!([1, 2])));
    assert_eq!(store.get("g", "gone").await.expect("get"), None);
    assert_eq!(
        store.holder("lock").await.expect("holder").map(|l| l.owner),
        Some("me".into())
    );
    let pending = store.pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, "c");
    assert_eq!(pending[0].attempts, 2);
    let dead = store.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].error, "boom");

    let redriven = store
        .redrive("a", "a2".into())
        .await
        .expect("redrive")
        .expect("present");
    assert_eq!((redriven.id.as_str(), redriven.attempts), ("a2", 0));
    assert!(store.dead_letters().is_empty());
    assert_eq!(
        store
            .pending()
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>(),
        ["c", "a2"]
    );
    assert!(
        store
            .redrive("a", "a3".into())
            .await
            .expect("redrive")
            .is_none()
    );
}

#[tokio::test]
async fn a_torn_last_line_is_dropped_and_corruption_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = FileStore::open(dir.path(), false).expect("open");
        store.set("g", "k", json!(1)).await.expect("set");
    }
    let log = dir.path().join(LOG_FILE);
    let mut text = fs::read_to_string(&log).expect("read");
    text.push_str(r#"{"op":"set","g":"g","k":"half"#);
    fs::write(&log, &text).expect("write");
    let store = FileStore::open(dir.path(), false).expect("torn tail is tolerated");
    assert_eq!(store.get_group("g").await.expect("group").len(), 1);
    drop(store);

    fs::write(&log, "not json\n{\"op\":\"clear\",\"g\":\"g\"}\n").expect("write");
    let err = FileStore::open(dir.path(), false).expect_err("corrupt line refused");
    assert!(err.to_string().contains("line 1 is corrupt"), "{err}");
}

#[tokio::test]
async fn the_log_is_compacted_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = FileStore::open(dir.path(), false).expect("open");
        for i in 0..200 {
            store.set("g", "k", json!(i)).await.expect("set");
        }
    }
    let _store = FileStore::open(dir.path(), false).expect("reopen");
    let text = fs::read_to_string(dir.path().join(LOG_FILE)).expect("read");
    assert_eq!(text, "{\"op\":\"set\",\"g\":\"g\",\"k\":\"k\",\"v\":199}\n");
}

#[tokio::test]
async fn expired_locks_do_not_pile_up_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FileStore::open(dir.path(), false).expect("open");
    for i in 0..3000 {
        let key = format!("tick:{i}");
        assert!(
            store
                .acquire(&key, "me", Duration::from_millis(1))
                .await
                .expect("acquire")
        );
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(
        store
            .acquire("last", "me", Duration::from_secs(60))
            .await
            .expect("acquire")
    );
    assert!(
        store.memory().locks.len() < 1100,
        "{} locks kept",
        store.memory().locks.len()
    );
    assert_eq!(
        store.holder("last").await.expect("holder").map(|l| l.owner),
        Some("me".into())
    );
}
