//! A SIGKILL between emit and handling loses nothing.
//!
//! This test binary plays both parts (it has its own `main`, `harness = false`): run plainly,
//! it is the test, which starts itself again as a server child process (the environment
//! variable `STEPLINE_KILL_CHILD` names the folder), accepts events while the subscriber is
//! held, kills the child with SIGKILL, starts a fresh child on the same data folder, and
//! checks that every accepted event was handled exactly once.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const EVENTS: usize = 25;

fn main() -> ExitCode {
    if let Some(dir) = std::env::var_os("STEPLINE_KILL_CHILD") {
        return child(Path::new(&dir));
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    match runtime.block_on(parent()) {
        Ok(()) => {
            println!("test sigkill_between_emit_and_handling_loses_nothing ... ok");
            println!("1 passed, 0 failed");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("test sigkill_between_emit_and_handling_loses_nothing ... FAILED: {message}");
            println!("0 passed, 1 failed");
            ExitCode::FAILURE
        }
    }
}

/// The server part: start, print the address, serve until killed.
fn child(dir: &Path) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut options = common::options(&dir.join("manifests"), &dir.join("data"));
        options.fsync = true;
        let server = stepline_runtime::server::start(options, |_| Ok(()))
            .await
            .expect("child server starts");
        println!("LISTENING {}", server.address());
        std::future::pending::<()>().await;
    });
    ExitCode::SUCCESS
}

fn spawn(dir: &Path, hold: bool) -> (Child, String) {
    let mut command = Command::new(std::env::current_exe().expect("own path"));
    command
        .env("STEPLINE_KILL_CHILD", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if hold {
        command.env("STEPLINE_TEST_HOLD", "1");
    } else {
        command.env_remove("STEPLINE_TEST_HOLD");
    }
    let mut child = command.spawn().expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read address");
    let address = line
        .trim()
        .strip_prefix("LISTENING ")
        .expect("address line")
        .to_string();
    (child, format!("http://{address}"))
}

async fn parent() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    common::write_manifests(
        &dir.path().join("manifests"),
        &[
            (
                "submit.yaml",
                "type: api\nname: Submit\npath: /jobs\nmethod: POST\nhandler: stepline.forward\nemits: [job.created]\n",
            ),
            (
                "record.yaml",
                "type: event\nname: Record\nhandler: test_record_a\nsubscribes: [job.created]\n",
            ),
            (
                "state.yaml",
                "type: api\nname: State\npath: /state/{group}\nmethod: GET\nhandler: test_show_state\n",
            ),
        ],
    );
    let client = reqwest::Client::new();

    // First life: every event is accepted, none can finish; then SIGKILL.
    let (mut first, base) = spawn(dir.path(), true);
    for i in 0..EVENTS {
        let response = client
            .post(format!("{base}/jobs"))
            .json(&json!({"id": format!("k{i}")}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != 202 {
            return Err(format!("event {i} answered {}", response.status()));
        }
    }
    first.kill().map_err(|e| e.to_string())?;
    first.wait().map_err(|e| e.to_string())?;

    // Second life: the pending events are delivered, each once.
    let (mut second, base) = spawn(dir.path(), false);
    let mut seen = Value::Null;
    for _ in 0..250 {
        seen = client
            .get(format!("{base}/state/test:Record:attempts"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if seen.as_object().is_some_and(|m| m.len() == EVENTS) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = second.kill();
    let _ = second.wait();

    let expected: serde_json::Map<String, Value> =
        (0..EVENTS).map(|i| (format!("k{i}"), json!(1))).collect();
    if seen != Value::Object(expected) {
        return Err(format!(
            "after the restart the handler saw {seen}, expected each of {EVENTS} events once"
        ));
    }
    Ok(())
}
