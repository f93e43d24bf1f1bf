use serde_json::json;

use super::*;
use crate::calendar::testing::{day, event};

/// What the target would list after writing `e` (as this sync).
fn held(e: &CalendarEvent) -> TargetEvent {
    TargetEvent {
        id: e.id.to_string(),
        content_hash: Some(e.content_hash.clone()),
        first_day: e.time.start_date(),
        last_day: e.last_date(),
        managed: true,
    }
}

fn window() -> SyncWindow {
    SyncWindow {
        from: day(2025, 5, 1),
        to: day(2025, 12, 31),
    }
}

fn ids(events: &[CalendarEvent]) -> Vec<i64> {
    events.iter().map(|e| e.frnr).collect()
}

#[test]
fn default_window_is_30_days_back_and_365_ahead() {
    let w = SyncWindow::default_for(day(2026, 12, 4));
    assert_eq!((w.from, w.to), (day(2026, 11, 4), day(2027, 12, 4)));
    let narrow = SyncWindow::around(day(2026, 12, 4), 0, 7);
    assert_eq!(
        (narrow.from, narrow.to),
        (day(2026, 12, 4), day(2026, 12, 11))
    );
    assert!(w.touches(day(2026, 1, 1), day(2026, 11, 4)));
    assert!(!w.touches(day(2026, 1, 1), day(2026, 11, 3)));
}

#[test]
fn new_events_are_created_and_known_ones_left_alone() {
    let a = event(json!({"FrNr": 1}), true);
    let b = event(json!({"FrNr": 2}), true);
    let p = plan(vec![a.clone(), b.clone()], &[held(&a)], window());
    assert_eq!(ids(&p.create), [2]);
    assert_eq!(p.unchanged, [a.id]);
    assert_eq!(
        p.counts(),
        PlanCounts {
            create: 1,
            update: 0,
            delete: 0,
            unchanged: 1
        }
    );
}

#[test]
fn empty_listing_trap_plans_creates_by_deterministic_id() {
    // A listing that came back empty: everything is "created", under the same ids the
    // target already holds, so the target overwrites instead of duplicating.
    let a = event(json!({"FrNr": 1}), true);
    let p = plan(vec![a.clone()], &[], window());
    assert_eq!(p.create.len(), 1);
    assert_eq!(p.create[0].id, EventId::for_appointment("SB", 1));
}

#[test]
fn concurrent_run_trap_duplicates_in_the_target_are_rewritten_once() {
    let a = event(json!({"FrNr": 1}), true);
    let p = plan(vec![a.clone()], &[held(&a), held(&a)], window());
    assert_eq!(ids(&p.update), [1]);
    assert!(p.create.is_empty() && p.unchanged.is_empty());
}

#[test]
fn vanished_appointment_trap_deletes_our_event_inside_the_window() {
    let gone = event(
        json!({"FrNr": 9, "Datum": "2025-08-01T09:00:00", "DatumBis": "2025-08-01T00:00:00"}),
        true,
    );
    let p = plan(Vec::new(), &[held(&gone)], window());
    assert_eq!(p.delete, [gone.id]);
}

#[test]
fn events_outside_the_window_or_not_ours_are_never_deleted() {
    let before = event(
        json!({"FrNr": 1, "Datum": "2025-04-30T09:00:00", "DatumBis": "2025-04-30T00:00:00"}),
        true,
    );
    let after = event(
        json!({"FrNr": 2, "Datum": "2026-01-01T09:00:00", "DatumBis": "2026-01-01T00:00:00"}),
        true,
    );
    let foreign = TargetEvent {
        managed: false,
        ..held(&event(json!({"FrNr": 3}), true))
    };
    let p = plan(
        Vec::new(),
        &[held(&before), held(&after), foreign],
        window(),
    );
    assert!(p.is_empty());
    assert_eq!(p.counts(), PlanCounts::default());
}

#[test]
fn a_foreign_event_with_our_id_is_not_treated_as_ours() {
    let a = event(json!({"FrNr": 1}), true);
    let foreign = TargetEvent {
        managed: false,
        ..held(&a)
    };
    let p = plan(vec![a], &[foreign], window());
    assert_eq!(ids(&p.create), [1]);
}

#[test]
fn a_vanished_series_reaching_into_the_window_is_deleted() {
    let series = event(
        json!({"FrNr": 5, "Datum": "2024-01-08T09:00:00", "DatumBis": "2025-06-30T00:00:00",
               "Dauertermin": 1, "Turnus": 1, "TurnusArt": 2}),
        true,
    );
    let p = plan(Vec::new(), &[held(&series)], window());
    assert_eq!(p.delete, [series.id]);
}

#[test]
fn all_day_trap_second_run_sees_no_change() {
    let fields = json!({"FrNr": 4, "Datum": "2025-07-21T00:00:00", "DatumBis": "2025-07-23T23:59:00", "Abwesenheit": 1});
    let first = event(fields.clone(), true);
    let p = plan(vec![event(fields, true)], &[held(&first)], window());
    assert_eq!(p.unchanged, [first.id]);
    assert!(p.is_empty());
}

#[test]
fn full_content_trap_switching_updates_every_event_and_back() {
    let fields = [
        json!({"FrNr": 1}),
        json!({"FrNr": 2, "Privat": 1}),
        json!({"FrNr": 3, "Abwesenheit": 1}),
    ];
    let full: Vec<_> = fields.iter().map(|f| event(f.clone(), true)).collect();
    let anon: Vec<_> = fields.iter().map(|f| event(f.clone(), false)).collect();

    let listing: Vec<_> = full.iter().map(held).collect();
    let to_anon = plan(anon.clone(), &listing, window());
    // The private one looks the same either way, and is rewritten all the same.
    assert_eq!(ids(&to_anon.update), [1, 2, 3]);
    assert!(to_anon.unchanged.is_empty());

    let listing: Vec<_> = anon.iter().map(held).collect();
    let back = plan(full, &listing, window());
    assert_eq!(ids(&back.update), [1, 2, 3]);
}

#[test]
fn timed_to_all_day_trap_is_an_update() {
    let timed = event(json!({"FrNr": 8}), true);
    let all_day = event(json!({"FrNr": 8, "Abwesenheit": 1}), true);
    let p = plan(vec![all_day], &[held(&timed)], window());
    assert_eq!(ids(&p.update), [8]);
}

#[test]
fn duplicate_desired_ids_count_once_and_plans_are_sorted() {
    let a = event(json!({"FrNr": 30}), true);
    let b = event(json!({"FrNr": 10}), true);
    let c = event(json!({"FrNr": 20}), true);
    let p = plan(vec![a.clone(), b, a, c], &[], window());
    let mut expected: Vec<_> = [30, 10, 20]
        .iter()
        .map(|n| EventId::for_appointment("SB", *n))
        .collect();
    expected.sort();
    let planned: Vec<_> = p.create.iter().map(|e| e.id.clone()).collect();
    assert_eq!(planned, expected);
}
