//! Writing events: insert under the deterministic id, patch with `If-Match`, delete, and
//! the conflict rules of `DOMAIN.md`.
//!
//! ```text
//!   insert ─┬─ 2xx ─► done
//!           ├─ 409 (the id exists) ─► get ─► ours or cancelled? ─► patch with its etag
//!           └─ other ─► refused (counted)
//!   update ─┬─ patch If-Match: listed etag ─ 2xx ─► done
//!           ├─ 412 (changed since listing) ─► get ─► still ours? ─► patch with its etag
//!           └─ 404 ─► insert
//!   delete ─── 2xx, 404, 410 ─► done (already gone is success)
//! ```
//!
//! A re-read event that lacks the sync's link is left alone: only the sync's own events
//! are ever updated. Rate limits and quota are handled below, in [`super::client`].

use reqwest::{Method, StatusCode};

use super::GoogleTarget;
use super::client::Answer;
use super::wire::{self, ListEntry, Listed};
use crate::calendar::mapping::CalendarEvent;
use crate::calendar::target::TargetError;

/// How a write ended, when it did not stop the run.
pub(super) enum Written {
    /// The event as the API now holds it.
    Done(Listed),
    /// Refused, or not ours to write; counted as an error.
    Failed,
}

impl GoogleTarget {
    /// Inserts `event`; on 409 (the id exists: a listing came back empty or failed, or the
    /// event was deleted) re-reads it and patches it if it is the sync's own or cancelled.
    pub(super) async fn insert(
        &self,
        calendar_id: &str,
        event: &CalendarEvent,
    ) -> Result<Written, TargetError> {
        let body = wire::event_body(event, &self.config.calendar_time_zone, true);
        let answer = self
            .call(
                Method::POST,
                &["calendars", calendar_id, "events"],
                &[],
                Some(&body),
                None,
                "events.insert",
            )
            .await?;
        match answer.status {
            s if s.is_success() => Ok(self.written(&answer, event)),
            StatusCode::CONFLICT => self.reread_and_patch(calendar_id, event).await,
            _ => Ok(self.failed("events.insert", &answer)),
        }
    }

    /// Patches `event` with `If-Match: etag`; on 412 re-reads and patches again if it is
    /// still the sync's own; on 404 inserts it.
    pub(super) async fn update(
        &self,
        calendar_id: &str,
        event: &CalendarEvent,
        etag: Option<&str>,
    ) -> Result<Written, TargetError> {
        let answer = self.patch(calendar_id, event, etag).await?;
        match answer.status {
            s if s.is_success() => Ok(self.written(&answer, event)),
            StatusCode::PRECONDITION_FAILED => self.reread_and_patch(calendar_id, event).await,
            StatusCode::NOT_FOUND => self.insert(calendar_id, event).await,
            _ => Ok(self.failed("events.patch", &answer)),
        }
    }

    async fn reread_and_patch(
        &self,
        calendar_id: &str,
        event: &CalendarEvent,
    ) -> Result<Written, TargetError> {
        let id = event.id.as_str();
        let current = self
            .call(
                Method::GET,
                &["calendars", calendar_id, "events", id],
                &[],
                None,
                None,
                "events.get",
            )
            .await?;
        if !current.status.is_success() {
            return Ok(self.failed("events.get", &current));
        }
        let link = &current.body["extendedProperties"]["private"];
        let cancelled = current.body["status"] == "cancelled";
        if !cancelled && !wire::link_matches(id, link, &event.kuerzel) {
            tracing::warn!(kuerzel = %event.kuerzel, "an event with the sync's id lacks its link; left alone");
            return Ok(Written::Failed);
        }
        let answer = self
            .patch(calendar_id, event, current.body["etag"].as_str())
            .await?;
        if answer.status.is_success() {
            Ok(self.written(&answer, event))
        } else {
            Ok(self.failed("events.patch", &answer))
        }
    }

    async fn patch(
        &self,
        calendar_id: &str,
        event: &CalendarEvent,
        etag: Option<&str>,
    ) -> Result<Answer, TargetError> {
        let body = wire::event_body(event, &self.config.calendar_time_zone, false);
        let path = ["calendars", calendar_id, "events", event.id.as_str()];
        self.call(Method::PATCH, &path, &[], Some(&body), etag, "events.patch")
            .await
    }

    /// Deletes event `id`; an event already gone (404, 410) counts as deleted.
    pub(super) async fn delete(&self, calendar_id: &str, id: &str) -> Result<bool, TargetError> {
        let answer = self
            .call(
                Method::DELETE,
                &["calendars", calendar_id, "events", id],
                &[],
                None,
                None,
                "events.delete",
            )
            .await?;
        let gone = matches!(answer.status, StatusCode::NOT_FOUND | StatusCode::GONE);
        if answer.status.is_success() || gone {
            return Ok(true);
        }
        let _ = self.failed("events.delete", &answer);
        Ok(false)
    }

    fn written(&self, answer: &Answer, event: &CalendarEvent) -> Written {
        match Listed::from_json(&answer.body, &event.kuerzel) {
            ListEntry::Present(listed) => Written::Done(listed),
            // An answer without the event: remember what was sent.
            _ => Written::Done(Listed {
                id: event.id.to_string(),
                hash: Some(event.content_hash.clone()),
                first_day: event.time.start_date(),
                last_day: event.last_date(),
                managed: true,
                etag: None,
            }),
        }
    }

    fn failed(&self, call: &'static str, answer: &Answer) -> Written {
        tracing::warn!(
            call,
            status = answer.status.as_u16(),
            reason = answer.reason().unwrap_or(""),
            "google calendar refused a write; the event is left as it is"
        );
        Written::Failed
    }
}
