use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::calendar::id::EventId;
use crate::calendar::mapping::CalendarEvent;
use crate::calendar::testing::event;

fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0)
        .single()
        .expect("valid")
}

fn target(dir: &tempfile::TempDir) -> IcsTarget {
    IcsTarget::new(dir.path().join("calendars")).with_clock(fixed_now)
}

fn creating(events: &[CalendarEvent]) -> SyncPlan {
    SyncPlan {
        create: events.to_vec(),
        ..SyncPlan::default()
    }
}

fn uid_count(text: &str, e: &CalendarEvent) -> usize {
    text.matches(&format!("UID:{}@stepline\r\n", e.id)).count()
}

#[test]
fn file_names_keep_umlauts_and_reject_escapes() {
    assert_eq!(calendar_file_name(" sb ").expect("valid"), "SB.ics");
    assert_eq!(calendar_file_name("MÜ").expect("valid"), "MÜ.ics");
    for bad in [
        "",
        "  ",
        "../x",
        "a/b",
        "a\\b",
        "..",
        ".hidden",
        "A\u{7}",
        "A:B",
        &"X".repeat(65),
    ] {
        assert!(
            matches!(calendar_file_name(bad), Err(TargetError::InvalidKuerzel(_))),
            "{bad:?} must be rejected"
        );
    }
}

#[tokio::test]
async fn a_missing_calendar_lists_empty_and_an_empty_plan_writes_a_valid_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = target(&dir);
    assert_eq!(target.list("SB").await.expect("listed"), []);

    let report = target
        .apply("SB", &SyncPlan::default())
        .await
        .expect("applied");
    assert_eq!(report, ApplyReport::default());
    let text = std::fs::read_to_string(target.path_for("SB").expect("path")).expect("written");
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    assert!(text.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"));
}

#[tokio::test]
async fn creating_an_existing_event_overwrites_it_instead_of_duplicating() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = target(&dir);
    let a = event(json!({"FrNr": 1}), true);
    target
        .apply("SB", &creating(std::slice::from_ref(&a)))
        .await
        .expect("first");
    target
        .apply("SB", &creating(std::slice::from_ref(&a)))
        .await
        .expect("second");

    let path = target.path_for("SB").expect("path");
    let text = std::fs::read_to_string(&path).expect("written");
    assert_eq!(uid_count(&text, &a), 1);
    assert_eq!(text.matches("BEGIN:VTIMEZONE").count(), 1);
    let listed = target.list("SB").await.expect("listed");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].managed);
}

#[tokio::test]
async fn update_and_delete_touch_only_their_events_and_keep_foreign_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = target(&dir);
    let path = target.path_for("SB").expect("path");
    let keep = event(json!({"FrNr": 1}), true);
    let change = event(json!({"FrNr": 2}), true);
    let drop = event(json!({"FrNr": 3}), true);
    target
        .apply(
            "SB",
            &creating(&[keep.clone(), change.clone(), drop.clone()]),
        )
        .await
        .expect("created");

    // Someone added an event of their own to the file.
    let foreign = "BEGIN:VEVENT\r\nUID:own@example.org\r\nDTSTAMP:20250101T000000Z\r\n\
                   DTSTART;VALUE=DATE:20250610\r\nSUMMARY:Eigener Eintrag\r\nEND:VEVENT\r\n";
    let text = std::fs::read_to_string(&path).expect("written");
    let text = text.replace("END:VCALENDAR\r\n", &format!("{foreign}END:VCALENDAR\r\n"));
    std::fs::write(&path, &text).expect("edited");
    let kept_block = text[text.find("BEGIN:VEVENT").expect("has events")..]
        .split_inclusive("END:VEVENT\r\n")
        .find(|b| b.contains(&keep.id.to_string()))
        .expect("keep is there")
        .to_owned();

    let changed = event(json!({"FrNr": 2, "Text": "Verlegt"}), true);
    let plan = SyncPlan {
        update: vec![changed.clone()],
        delete: vec![drop.id.clone(), EventId::for_appointment("SB", 99)],
        unchanged: vec![keep.id.clone()],
        ..SyncPlan::default()
    };
    let report = target.apply("SB", &plan).await.expect("applied");
    assert_eq!(
        report,
        ApplyReport {
            created: 0,
            updated: 1,
            deleted: 2,
            errors: 0
        }
    );

    let text = std::fs::read_to_string(&path).expect("rewritten");
    assert!(
        text.contains(foreign),
        "the foreign event survives byte for byte"
    );
    assert!(
        text.contains(&kept_block),
        "unchanged events are not rewritten"
    );
    assert_eq!(uid_count(&text, &drop), 0);
    assert!(text.contains("SUMMARY:Verlegt\r\n"));
    let unfolded = text.replace("\r\n ", "");
    assert!(unfolded.contains(&format!("X-STEPLINE-HASH:{}\r\n", changed.content_hash)));
    let listed = target.list("SB").await.expect("listed");
    assert_eq!(listed.iter().filter(|e| e.managed).count(), 2);
    assert_eq!(listed.len(), 3);
}

#[tokio::test]
async fn a_broken_file_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = target(&dir);
    let path = target.path_for("SB").expect("path");
    std::fs::create_dir_all(path.parent().expect("has parent")).expect("dir");
    std::fs::write(&path, "BEGIN:VCALENDAR\nBEGIN:VEVENT\n").expect("written");

    let listed = target.list("SB").await;
    assert!(matches!(listed, Err(TargetError::Malformed { .. })));
    let applied = target
        .apply("SB", &creating(&[event(json!({}), true)]))
        .await;
    let error = applied.expect_err("broken file");
    assert!(!error.is_retryable());
    assert_eq!(
        std::fs::read_to_string(&path).expect("kept"),
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\n"
    );
}

#[tokio::test]
async fn no_temporary_files_are_left_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = target(&dir);
    target
        .apply("MÜ", &creating(&[event(json!({}), true)]))
        .await
        .expect("applied");
    let names: Vec<String> = std::fs::read_dir(target.dir())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["MÜ.ics"]);
    assert_eq!(
        target.describe(),
        format!("ICS files in {}", target.dir().display())
    );
}
