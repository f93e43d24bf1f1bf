//! `Calendar Sync Cron` fires `calendar_sync_all` on its schedule: the repository's calendar
//! manifests, with the cron step's schedule set to every second, sync every active employee
//! without any request.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{TestServer, eventually};
use stepline::advoware_cal_sync::{CalendarConfig, CalendarService, RUNS_GROUP};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cron_step_syncs_every_active_employee() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/advoware_cal_sync");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("manifests") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let mut text = std::fs::read_to_string(&path).expect("read");
        if name == "calendar_sync_cron.yaml" {
            let line = text
                .lines()
                .find(|l| l.starts_with("cron:"))
                .expect("cron line")
                .to_string();
            text = text.replace(&line, "cron: \"* * * * * *\"");
        }
        files.push((name, text));
    }
    let manifests: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let server = TestServer::start(&manifests).await;

    let config = CalendarConfig {
        snapshot: Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/advoware_snapshot.json"),
        source_time_zone: Default::default(),
        ics_dir: server.data.join("calendars"),
        days_back: 30,
        days_ahead: 365,
        advoware: None,
        google: None,
    };
    let service =
        CalendarService::from_config(config, server.app().state.clone()).expect("service");
    server.app().provide(Arc::new(service));

    let runs = eventually(Duration::from_secs(10), || async {
        let runs = server
            .app()
            .state
            .get_group(RUNS_GROUP)
            .await
            .expect("runs");
        let ok = runs.iter().filter(|(_, r)| r["outcome"] == "ok").count();
        (ok == 6).then_some(runs)
    })
    .await
    .expect("the schedule fired and every active employee was synced");
    let codes: Vec<&str> = runs.iter().map(|(code, _)| code.as_str()).collect();
    assert_eq!(codes, ["AO", "LF", "MÜ", "RE", "SB", "TK"]);
}
