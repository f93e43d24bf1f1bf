//! Each employee's calendar: found in state, or created with the configured time zone and
//! shared with the employee's mapped address.
//!
//! ```text
//!   calendar_id(K) ─► state calendar_sync:google_calendars[K]? ─ no ─► calendars.insert
//!                                                               (id saved at once)
//!                  ─► mapped address not yet shared? ─► acl.insert (reader) ─► saved
//! ```
//!
//! The caller holds the employee's lock, so two runs cannot create two calendars. A
//! failed share is logged and tried again on the next run; the sync goes on without it.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{CALENDARS_GROUP, CalendarRecord, GoogleTarget, refused};
use crate::calendar::target::TargetError;

impl GoogleTarget {
    /// The id of `code`'s calendar: from state, or created (and shared) now. The caller
    /// holds the employee's lock, so two runs cannot create two calendars.
    pub async fn calendar_id(&self, code: &str) -> Result<String, TargetError> {
        let mut record = match self.load::<CalendarRecord>(CALENDARS_GROUP, code).await? {
            Some(record) => record,
            None => self.create_calendar(code).await?,
        };

        let Some(address) = self.config.share_with.get(code) else {
            return Ok(record.calendar_id);
        };
        if record.shared_with.as_ref() != Some(address) {
            let rule = json!({"role": "reader", "scope": {"type": "user", "value": address}});
            let answer = self
                .call(
                    Method::POST,
                    &["calendars", &record.calendar_id, "acl"],
                    &[],
                    Some(&rule),
                    None,
                    "acl.insert",
                )
                .await?;
            if answer.status.is_success() || answer.status == StatusCode::CONFLICT {
                record.shared_with = Some(address.clone());
                self.save(CALENDARS_GROUP, code, &record).await?;
            } else {
                // The sync itself still works; sharing is tried again on the next run.
                tracing::warn!(kuerzel = %code, status = answer.status.as_u16(), "sharing the calendar failed");
            }
        }
        Ok(record.calendar_id)
    }

    async fn create_calendar(&self, code: &str) -> Result<CalendarRecord, TargetError> {
        let body = json!({"summary": format!("Advoware {code}"), "timeZone": self.config.calendar_time_zone});
        let answer = self
            .call(
                Method::POST,
                &["calendars"],
                &[],
                Some(&body),
                None,
                "calendars.insert",
            )
            .await?;
        let id = answer.body["id"]
            .as_str()
            .filter(|_| answer.status.is_success());
        let Some(id) = id else {
            return Err(refused("calendars.insert", &answer));
        };
        let record = CalendarRecord {
            calendar_id: id.to_owned(),
            shared_with: None,
        };
        // Saved before sharing, so a failed share never leads to a second calendar.
        self.save(CALENDARS_GROUP, code, &record).await?;
        tracing::info!(kuerzel = %code, "google calendar created");
        Ok(record)
    }
}
