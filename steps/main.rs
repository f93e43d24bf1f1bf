//! The `stepline` binary: the runtime's command line with this application's steps linked in;
//! `stepline flows …` is answered by the flow graph crate.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("flows") => stepline_flows::cli_main(&args[1..]),
        _ => stepline_runtime::cli::main(stepline::on_start),
    }
}
