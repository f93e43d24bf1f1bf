//! The `stepline` command line: `serve`, `check`, `steps`, `schema`, `openapi`.
//!
//! Every flag has an environment variable, so that a service manager can configure the
//! server without a command line. The application binary calls [`main`] with a start hook
//! that logs and checks its own configuration.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::app::Settings;
use crate::manifest::{ManifestSet, StepKind, json_schema};
use crate::registry::Registry;
use crate::server::{ServerOptions, StartHook};

#[derive(Parser, Debug)]
#[command(
    name = "stepline",
    version,
    about = "Run steps declared in YAML manifests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Run the server and reload the manifests when they change (`serve --watch`).
    Dev(ServeArgs),
    /// Validate the manifests against the registered handlers; exit 1 listing every error.
    Check(ManifestArgs),
    /// Print a table of the loaded steps.
    Steps(ManifestArgs),
    /// Print the JSON Schema of the manifest format.
    Schema,
    /// Print the OpenAPI 3.1 document of the API steps (as `/_stepline/openapi.json`).
    Openapi(ManifestArgs),
    /// Print the handlers compiled into this binary: id, kind, where it is registered.
    Handlers,
}

#[derive(Args, Debug, Clone)]
struct ManifestArgs {
    /// Folder of manifests, searched recursively.
    #[arg(long, short, env = "STEPLINE_MANIFESTS", default_value = "manifests")]
    manifests: PathBuf,
}

#[derive(Args, Debug, Clone)]
struct ServeArgs {
    #[command(flatten)]
    manifests: ManifestArgs,
    /// Port to listen on (0 picks a free one).
    #[arg(long, short, env = "STEPLINE_PORT", default_value_t = 3000)]
    port: u16,
    /// Address to listen on. Anything but loopback exposes the steps to the network.
    #[arg(long, env = "STEPLINE_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Folder of the embedded store and the application's files.
    #[arg(long, env = "STEPLINE_DATA_DIR", default_value = ".stepline")]
    data_dir: PathBuf,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "STEPLINE_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Seconds running handlers get to finish at shutdown.
    #[arg(long, env = "STEPLINE_SHUTDOWN_GRACE", default_value_t = 30)]
    shutdown_grace: u64,
    /// Skip fdatasync on the embedded store: faster, but a power cut may lose the last
    /// writes (a killed process loses nothing either way).
    #[arg(long, env = "STEPLINE_NO_FSYNC", default_value_t = false)]
    no_fsync: bool,
    /// Reload the manifests when a file in the folder is added, changed or removed.
    #[arg(long, env = "STEPLINE_WATCH", default_value_t = false)]
    watch: bool,
}

/// Runs the command line; the binary's `main` returns this.
pub fn main(on_start: StartHook) -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Serve(args) => serve(args, on_start),
        Command::Dev(mut args) => {
            args.watch = true;
            serve(args, on_start)
        }
        Command::Check(args) => check(&args.manifests),
        Command::Steps(args) => steps(&args.manifests),
        Command::Openapi(args) => openapi(&args.manifests),
        Command::Handlers => {
            handlers();
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&json_schema()).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `STEPLINE_API_TOKEN`, trimmed; empty or blank means no token (and the start log says
/// `auth=off`).
fn api_token() -> Option<String> {
    let token = std::env::var("STEPLINE_API_TOKEN").ok()?;
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_string())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STEPLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Loads the manifests, printing warnings; errors come back as one message listing all.
fn load(dir: &Path) -> anyhow::Result<(ManifestSet, Registry)> {
    let registry = Registry::collect();
    let set = ManifestSet::load(dir, &registry)?;
    for warning in &set.warnings {
        tracing::warn!("{warning}");
    }
    Ok((set, registry))
}

fn check(dir: &Path) -> anyhow::Result<ExitCode> {
    let registry = Registry::collect();
    match ManifestSet::load(dir, &registry) {
        Ok(set) => {
            for warning in &set.warnings {
                println!("warning: {warning}");
            }
            println!("ok: {} step(s) in {}", set.steps.len(), dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            for problem in &e.problems {
                println!("error: {problem}");
            }
            println!("{} error(s) in {}", e.problems.len(), dir.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn steps(dir: &Path) -> anyhow::Result<ExitCode> {
    let (set, _) = load(dir)?;
    let rows: Vec<[String; 4]> = set
        .steps
        .iter()
        .map(|s| {
            let m = &s.manifest;
            let trigger = match m.kind {
                StepKind::Api => format!(
                    "{} {}",
                    m.method.map(|x| x.as_str()).unwrap_or("?"),
                    m.path.as_deref().unwrap_or("?")
                ),
                StepKind::Event => m.subscribes.join(", "),
                StepKind::Cron => format!(
                    "{} ({})",
                    m.cron.as_deref().unwrap_or("?"),
                    m.timezone.as_deref().unwrap_or("UTC")
                ),
                StepKind::Noop => "-".to_string(),
            };
            let emits: Vec<&str> = m.emits.iter().map(|e| e.topic()).collect();
            [
                m.name.clone(),
                m.kind.to_string(),
                trigger,
                emits.join(", "),
            ]
        })
        .collect();
    print_table(["NAME", "TYPE", "TRIGGER", "EMITS"], &rows);
    Ok(ExitCode::SUCCESS)
}

/// The document the server would serve with the same manifests and environment.
fn openapi(dir: &Path) -> anyhow::Result<ExitCode> {
    let (set, registry) = load(dir)?;
    let document = crate::openapi::document_for(&set, &registry, api_token().is_some());
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(ExitCode::SUCCESS)
}

fn handlers() {
    let registry = Registry::collect();
    let rows: Vec<[String; 4]> = registry
        .iter()
        .map(|r| {
            let input = if r.schema.is_some() { "typed" } else { "-" };
            [
                r.id.to_string(),
                r.kind().to_string(),
                input.to_string(),
                r.source.to_string(),
            ]
        })
        .collect();
    print_table(["ID", "KIND", "INPUT", "SOURCE"], &rows);
}

fn print_table(header: [&str; 4], rows: &[[String; 4]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header);
    for row in rows {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
}

fn serve(args: ServeArgs, on_start: StartHook) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let options = ServerOptions {
            manifests: args.manifests.manifests,
            address: SocketAddr::new(args.host, args.port),
            settings: Settings {
                data_dir: args.data_dir,
                max_body_bytes: args.max_body_bytes,
                api_token: api_token(),
                shutdown_grace: Duration::from_secs(args.shutdown_grace),
                watch: args.watch,
                ..Settings::default()
            },
            fsync: !args.no_fsync,
            redis_url: std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()),
        };
        let signal = shutdown_signal()?;
        let server = crate::server::start(options, on_start).await?;
        signal.await;
        tracing::info!("shutting down: no new requests; letting running handlers finish");
        server.shutdown().await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Installs the SIGINT and SIGTERM handlers now (so a signal that arrives while the server
/// starts is not lost to the default action) and resolves at the first of them.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
