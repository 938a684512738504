//! Binary entry point: everything lives in the library; this maps the outcome to an exit code.

fn main() -> std::process::ExitCode {
    tighten::cli::main()
}
