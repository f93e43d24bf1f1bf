//! The flow pages under `/_stepline/flows`, served by a real server started in this process
//! with the application's start hook (which plugs the pages in) on a copy of the
//! repository's manifests plus `tests/fixtures/flow_pages/hostile_docs.md`, a manifest
//! whose fields and Markdown try to inject script.
//!
//! The HTTP tests read the HTML, the renderings and the 404. The browser tests load the
//! calendar flow page in Debian's headless `chromium`, check the DOM it rendered and save a
//! screenshot to `target/test-artifacts/flows.png`. They fail, not skip, when `chromium` is
//! missing: `.ci/run` installs it, and so must a developer (`apt-get install -y chromium`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use stepline_runtime::server::RunningServer;

/// The steps of the calendar flow, as their manifests name them.
const CALENDAR_STEPS: [&str; 7] = [
    "Calendar Feed",
    "Calendar Sync API",
    "Calendar Sync All",
    "Calendar Sync Cron",
    "Calendar Sync Employee",
    "Calendar Sync Status",
    "Calendar Sync Status Employee",
];

/// A server with the flow pages, and the folder it runs in.
struct Pages {
    server: RunningServer,
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create manifest folder");
    for entry in std::fs::read_dir(from).expect("read manifest folder") {
        let entry = entry.expect("manifest folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy manifest");
        }
    }
}

impl Pages {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let manifests = dir.path().join("manifests");
        copy_dir(&repo("manifests"), &manifests);
        std::fs::copy(
            repo("tests/fixtures/flow_pages/hostile_docs.md"),
            manifests.join("hostile_docs.md"),
        )
        .expect("copy the fixture manifest");

        let options = common::options(&manifests, &dir.path().join("data"));
        let server = stepline_runtime::server::start(options, stepline::on_start)
            .await
            .expect("server starts");
        Self {
            base: format!("http://{}", server.address()),
            server,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Status, content type and body text.
    async fn get(&self, path: &str) -> (u16, String, String) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (
            status,
            content_type,
            response.text().await.unwrap_or_default(),
        )
    }

    async fn stop(self) {
        self.server.shutdown().await.expect("clean shutdown");
    }
}

#[tokio::test]
async fn the_flow_list_names_each_flow_with_its_counts() {
    let pages = Pages::start().await;
    let (status, content_type, html) = pages.get("/_stepline/flows").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(
        html.contains(
            "<a href=\"/_stepline/flows/advoware_cal_sync\">advoware_cal_sync</a></td>\
             <td class=\"sl-num\">7</td><td class=\"sl-num\">4</td><td class=\"sl-num\">0</td>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<a href=\"/_stepline/flows/fixture_docs\">fixture_docs</a></td>\
             <td class=\"sl-num\">1</td><td class=\"sl-num\">0</td><td class=\"sl-num\">1</td>"
        ),
        "{html}"
    );
    assert!(html.contains("href=\"/_stepline/flows/advoware_cal_sync.svg\""));
    assert!(!html.contains("<script"));
    pages.stop().await;
}

#[tokio::test]
async fn the_calendar_page_shows_the_drawing_and_a_panel_per_step() {
    let pages = Pages::start().await;
    let response = pages
        .client
        .get(pages.url("/_stepline/flows/advoware_cal_sync"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .expect("ASCII policy");
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    let html = response.text().await.expect("body");

    // The drawing is inline: one node group per step, one edge group per topic link.
    assert_eq!(html.matches("<svg ").count(), 1);
    assert!(!html.contains("<?xml"));
    assert_eq!(html.matches("<g class=\"node ").count(), 7);
    assert_eq!(html.matches("<g class=\"edge\"").count(), 4);

    assert_eq!(html.matches("<section class=\"sl-step\"").count(), 7);
    for name in CALENDAR_STEPS {
        assert!(html.contains(&format!("data-step=\"{name}\"")), "{name}");
    }

    // The manifest fields of the API step, its Markdown body rendered, code escaped.
    let api = panel(&html, "calendar_sync_api");
    for field in [
        "<dt>type</dt><dd><code>api</code></dd>",
        "<dt>trigger</dt><dd><code>POST /advoware/calendar/sync</code></dd>",
        "<dt>emits</dt><dd><code>calendar_sync_all</code>, <code>calendar_sync_employee</code></dd>",
        "<dt>tags</dt><dd><code>advoware</code>, <code>calendar</code>, <code>sync</code>, <code>api</code></dd>",
        "<dt>version</dt><dd>1.0.0</dd>",
        "<dt>status</dt><dd>active</dd>",
        "<dt>file</dt><dd><code>",
        "calendar_sync_api.md:2</code></dd>",
        "<h2>Request</h2>",
        "<th>field</th>",
        "<code>calendar_sync:lock:&lt;KUERZEL&gt;</code>",
        "<pre><code class=\"language-sh\">curl -X POST",
    ] {
        assert!(api.contains(field), "{field} missing from\n{api}");
    }

    // The event step shows its queue settings, the cron step its schedule.
    let employee = panel(&html, "calendar_sync_employee");
    assert!(
        employee.contains("<dt>subscribes</dt><dd><code>calendar_sync_employee</code></dd>"),
        "{employee}"
    );
    assert!(
        employee.contains("<dt>queue</dt><dd>max_retries "),
        "{employee}"
    );
    let cron = panel(&html, "calendar_sync_cron");
    assert!(cron.contains("<code>*/15 6-20 * * 1-5 (Europe/Berlin)</code>"));
    pages.stop().await;
}

#[tokio::test]
async fn a_manifest_cannot_inject_script_into_the_page() {
    let pages = Pages::start().await;
    let (status, _, html) = pages.get("/_stepline/flows/fixture_docs").await;
    assert_eq!(status, 200);

    let lower = html.to_ascii_lowercase();
    for live in [
        "<script",
        "<img",
        "<span onclick",
        "<svg onload",
        "<b>",
        "javascript:",
    ] {
        assert!(!lower.contains(live), "`{live}` reached the page:\n{html}");
    }
    for escaped in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "Hostile &lt;Docs&gt; Step",
        "Looks harmless &lt;img src=x onerror=alert(3)&gt;",
        "1.0 &lt;b&gt;beta&lt;/b&gt;",
        "<code>&lt;script&gt;alert(4)&lt;/script&gt;</code>",
        "<code>&quot;&gt;&lt;svg onload=alert(5)&gt;</code>",
        "&lt;span onclick=\"alert(6)\"&gt;span&lt;/span&gt;",
    ] {
        assert!(html.contains(escaped), "`{escaped}` missing from\n{html}");
    }

    // The rest of the Markdown is still Markdown.
    assert!(html.contains("<h1>Hostile notes</h1>"), "{html}");
    assert!(html.contains("<strong>bold</strong>"), "{html}");
    assert!(html.contains("<a href=\"#\">link</a>"), "{html}");
    pages.stop().await;
}

#[tokio::test]
async fn the_renderings_have_their_content_types() {
    let pages = Pages::start().await;
    let snapshot = |name: &str| {
        std::fs::read_to_string(repo("flows/tests/snapshots").join(name)).expect("snapshot")
    };

    let (status, content_type, svg) = pages.get("/_stepline/flows/advoware_cal_sync.svg").await;
    assert_eq!((status, content_type.as_str()), (200, "image/svg+xml"));
    assert!(svg.starts_with("<?xml"), "{svg}");
    assert_eq!(svg.matches("<g class=\"node ").count(), 7);

    let (status, content_type, json) = pages.get("/_stepline/flows/advoware_cal_sync.json").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(json, snapshot("advoware_cal_sync.json"));
    let parsed: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(parsed["nodes"].as_array().map(Vec::len), Some(7));

    let (status, content_type, mermaid) = pages.get("/_stepline/flows/advoware_cal_sync.mmd").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/plain; charset=utf-8")
    );
    assert_eq!(mermaid, snapshot("advoware_cal_sync.mmd"));
    pages.stop().await;
}

#[tokio::test]
async fn an_unknown_flow_is_a_json_404() {
    let pages = Pages::start().await;
    for path in [
        "/_stepline/flows/nope",
        "/_stepline/flows/nope.svg",
        "/_stepline/flows/advoware_cal_sync.dot",
    ] {
        let (status, content_type, body) = pages.get(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(content_type, "application/json", "{path}");
        let body: Value = serde_json::from_str(&body).expect("JSON error");
        assert_eq!(common::code(&body), "not_found", "{path}");
        let message = body["error"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains("advoware_cal_sync, fixture_docs"),
            "{message}"
        );
    }
    pages.stop().await;
}

/// The HTML of the panel of the step with this node id.
fn panel<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section class=\"sl-step\" id=\"step-{id}\""))
        .unwrap_or_else(|| panic!("no panel for {id}"));
    let end = html[start..]
        .find("</section>")
        .map_or(html.len(), |end| start + end);
    &html[start..end]
}

// --- A real browser -------------------------------------------------------------------------

/// What `chromium` printed.
struct Run {
    stdout: String,
    stderr: String,
}

/// Runs headless `chromium` on `url` with `extra` arguments, in a fresh profile. Panics
/// with the install command when `chromium` is missing.
async fn chromium(url: &str, extra: &[String]) -> Run {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut command = tokio::process::Command::new("chromium");
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    // Bounded in time, so that a hung browser fails the test instead of stalling CI.
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("chromium ran for more than 120 s on {url}"));
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`chromium` is not installed: the flow page browser tests need Debian's chromium; \
             install it with `apt-get install -y chromium` (.ci/run does)"
        ),
        Err(e) => panic!("chromium did not run: {e}"),
    };
    let run = Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        output.status.success(),
        "chromium failed ({}):\n{}",
        output.status,
        run.stderr
    );
    run
}

/// Console messages and script errors in chromium's log; the page has no script, so any
/// is a fault.
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Refused to"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_every_step_of_the_calendar_flow() {
    let pages = Pages::start().await;
    let url = pages.url("/_stepline/flows/advoware_cal_sync");
    let run = chromium(&url, &["--dump-dom".to_string()]).await;
    let dom = run.stdout;

    assert!(dom.contains("<svg "), "no SVG element in the DOM:\n{dom}");
    assert!(dom.contains("class=\"stepline-flow\""), "{dom}");
    assert_eq!(dom.matches("<g class=\"node ").count(), 7, "{dom}");
    for name in CALENDAR_STEPS {
        assert!(dom.contains(&format!("data-step=\"{name}\"")), "{name}");
        assert!(dom.contains(&format!("{name}</h3>")), "{name}");
    }
    assert!(
        dom.contains("<h2>Request</h2>"),
        "Markdown not rendered:\n{dom}"
    );
    assert!(!dom.contains("<script"), "{dom}");
    assert_eq!(console_errors(&run.stderr), Vec::<&str>::new());
    pages.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_takes_a_screenshot_of_the_calendar_flow() {
    let pages = Pages::start().await;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo("target"));
    let folder = target.join("test-artifacts");
    std::fs::create_dir_all(&folder).expect("create target/test-artifacts");
    let png = folder.join("flows.png");
    let _ = std::fs::remove_file(&png);

    let url = pages.url("/_stepline/flows/advoware_cal_sync");
    let run = chromium(
        &url,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1400,1000".to_string(),
            "--hide-scrollbars".to_string(),
        ],
    )
    .await;
    assert_eq!(console_errors(&run.stderr), Vec::<&str>::new());

    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let size =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    assert_eq!((size(16), size(20)), (1400, 1000), "width and height");
    assert!(
        bytes.len() > 20_000,
        "a {} byte screenshot is blank",
        bytes.len()
    );
    pages.stop().await;
}

/// The check above would pass on a log format it cannot read; this proves it reads one.
#[tokio::test]
async fn chromium_logs_a_script_error_where_the_check_looks() {
    let page = "data:text/html,<p>x</p><script>throw new Error('seen')</script>";
    let run = chromium(page, &["--dump-dom".to_string()]).await;
    let errors = console_errors(&run.stderr);
    assert!(
        errors.iter().any(|l| l.contains("Uncaught Error: seen")),
        "chromium's log shows no script error:\n{}",
        run.stderr
    );
}
