//! The `stepline` binary: the runtime's command line with this application's steps linked in.

fn main() -> std::process::ExitCode {
    stepline_runtime::cli::main(stepline::on_start)
}
