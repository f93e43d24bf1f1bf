//! Reading a calendar's events: incrementally from the sync token of the last complete
//! run when there is one, else every event, page by page.
//!
//! ```text
//!   saved listing for this calendar? ─ yes ─► events.list?syncToken=T (every page)
//!        │                                   ├─ 2xx ─► saved events + changes (cancelled
//!        │                                   │        ones removed) ─► Complete
//!        │                                   └─ 410 ─► as if nothing were saved
//!        └─ no ─► events.list (every page) ─► Complete
//!   404 anywhere ─► NoCalendar
//! ```
//!
//! `nextSyncToken` comes only on the last page. A sync token is never combined with
//! `timeMin`/`timeMax`: the listing is of the whole calendar, which is what makes its
//! token usable, and the planner decides what lies in the window.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};

use super::wire::{self, ListEntry, Listed};
use super::{GoogleTarget, LISTING_GROUP, StoredListing, config, refused};
use crate::calendar::target::TargetError;

/// A listing longer than this many pages is taken for a fault (at 2,500 events a page,
/// 25 million events), not followed further.
const MAX_PAGES: usize = 10_000;

/// What reading a calendar gave.
pub(super) enum Listing {
    /// Every event present, and the token for the next incremental listing (absent if the
    /// API gave none).
    Complete {
        events: BTreeMap<String, Listed>,
        sync_token: Option<String>,
    },
    /// The calendar does not exist (404).
    NoCalendar,
    /// The sync token is no longer valid (410).
    TokenExpired,
}

impl GoogleTarget {
    /// The events of `calendar_id`, incrementally when the last complete run saved a token.
    pub(super) async fn read_events(
        &self,
        code: &str,
        calendar_id: &str,
    ) -> Result<Listing, TargetError> {
        let stored = self.load::<StoredListing>(LISTING_GROUP, code).await?;
        if let Some(stored) = stored.filter(|s| s.calendar_id == calendar_id) {
            let token = Some(stored.sync_token.as_str());
            match self
                .list_pages(calendar_id, code, token, stored.events)
                .await?
            {
                Listing::TokenExpired => {
                    tracing::warn!(kuerzel = %code, "sync token expired (410); listing every event");
                }
                listing => return Ok(listing),
            }
        }
        match self
            .list_pages(calendar_id, code, None, BTreeMap::new())
            .await?
        {
            Listing::TokenExpired => Err(TargetError::Refused {
                call: "events.list",
                status: StatusCode::GONE.as_u16(),
                reason: None,
            }),
            listing => Ok(listing),
        }
    }

    /// Lists every page, from `token` (the changes since, merged into `events`) or all.
    async fn list_pages(
        &self,
        calendar_id: &str,
        code: &str,
        token: Option<&str>,
        mut events: BTreeMap<String, Listed>,
    ) -> Result<Listing, TargetError> {
        let page_size = self.config.page_size.clamp(1, config::MAX_PAGE_SIZE);
        let page_size = page_size.to_string();
        let path = ["calendars", calendar_id, "events"];
        let mut page_token: Option<String> = None;
        let mut pages = 0usize;
        loop {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(TargetError::Unavailable(format!(
                    "events.list gave more than {MAX_PAGES} pages; stopped"
                )));
            }
            let mut query = vec![("maxResults", page_size.as_str())];
            query.extend(token.map(|t| ("syncToken", t)));
            query.extend(page_token.as_deref().map(|p| ("pageToken", p)));
            let answer = self
                .call(Method::GET, &path, &query, None, None, "events.list")
                .await?;
            match answer.status {
                s if s.is_success() => {}
                StatusCode::NOT_FOUND => return Ok(Listing::NoCalendar),
                StatusCode::GONE => return Ok(Listing::TokenExpired),
                _ => return Err(refused("events.list", &answer)),
            }

            for item in wire::page_items(&answer.body) {
                match Listed::from_json(item, code) {
                    ListEntry::Present(event) => {
                        events.insert(event.id.clone(), event);
                    }
                    ListEntry::Cancelled(id) => {
                        events.remove(&id);
                    }
                    ListEntry::Unreadable => {}
                }
            }
            let next = answer.body["nextPageToken"].as_str().map(str::to_owned);
            if next.is_some() && next == page_token {
                return Err(TargetError::Unavailable(
                    "events.list answered the same page token twice; stopped".into(),
                ));
            }
            page_token = next;
            if page_token.is_none() {
                let sync_token = answer.body["nextSyncToken"].as_str().map(str::to_owned);
                return Ok(Listing::Complete { events, sync_token });
            }
        }
    }
}
