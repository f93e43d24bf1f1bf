//! `stepline flows`: the flow list, or one flow rendered, from a manifest folder.
//!
//! ```text
//! stepline flows [--manifests DIR]
//! stepline flows NAME --format mermaid|dot|json|svg [-o FILE] [--manifests DIR]
//! ```
//!
//! The manifests are loaded and validated exactly as `stepline serve` loads them, against
//! the handlers linked into the binary, so the drawing shows what would run. Exit codes:
//! 0 done, 1 manifests that do not load, an unknown flow or an unwritable output file,
//! 2 a bad command line.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use stepline_runtime::manifest::ManifestSet;
use stepline_runtime::registry::Registry;

use crate::graph::FlowSet;
use crate::render::Format;

#[derive(Parser, Debug)]
#[command(
    name = "stepline flows",
    bin_name = "stepline flows",
    about = "List the flows of a manifest set, or draw one"
)]
struct FlowsArgs {
    /// The flow to draw; without it, the flows are listed with their step and edge counts.
    name: Option<String>,
    /// Output format of the drawing.
    #[arg(long, short, value_enum, default_value = "mermaid", requires = "name")]
    format: Format,
    /// Write the drawing to this file instead of standard output.
    #[arg(long, short, requires = "name")]
    output: Option<PathBuf>,
    /// Folder of manifests, searched recursively.
    #[arg(long, short, env = "STEPLINE_MANIFESTS", default_value = "manifests")]
    manifests: PathBuf,
}

/// Runs `stepline flows`. `args` is the command line after the program name, starting
/// with the word `flows`.
pub fn cli_main(args: &[String]) -> ExitCode {
    let args = match FlowsArgs::try_parse_from(args) {
        Ok(args) => args,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &FlowsArgs) -> Result<(), String> {
    let flows = load(&args.manifests)?;
    let Some(name) = &args.name else {
        print!("{}", list(&flows));
        return Ok(());
    };

    let Some(graph) = flows.get(name) else {
        let known = flows.names().join(", ");
        let known = if known.is_empty() {
            "none".into()
        } else {
            known
        };
        return Err(format!(
            "no flow `{name}` in {}; the flows are: {known}",
            args.manifests.display()
        ));
    };
    let text = args.format.render(graph);
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write to standard output: {e}")),
    }
}

/// Loads the manifests against the linked handlers; warnings go to stderr.
fn load(dir: &Path) -> Result<FlowSet, String> {
    let set = ManifestSet::load(dir, &Registry::collect()).map_err(|e| e.to_string())?;
    for warning in &set.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(FlowSet::build(&set.steps))
}

/// The flow list: a header and a line per flow.
fn list(flows: &FlowSet) -> String {
    let summaries = flows.summaries();
    let width = summaries
        .iter()
        .map(|s| s.name.chars().count())
        .chain([4])
        .max()
        .unwrap_or(4);
    let mut out = format!("{:<width$}  STEPS  EDGES  DANGLING\n", "FLOW");
    for s in &summaries {
        out.push_str(&format!(
            "{:<width$}  {:>5}  {:>5}  {:>8}\n",
            s.name, s.steps, s.edges, s.dangling
        ));
    }
    out
}
