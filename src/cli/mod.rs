//! Command line: argument parsing, dispatch to the library, and the mapping of outcomes to exit codes.
//!
//! Exit codes: 0 success (or nothing at or above `--fail-on`), 1 findings, 2 tool error.

mod athena;
mod aws_sources;
mod by_group;
mod completions;
mod demo;
mod evidence;
mod explain;
mod fix;
mod history;
mod ingest;
mod ingest_config;
mod ingest_evidence;
mod lint;
mod man;
mod progress;
mod report;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Least-privilege AWS security groups from flow-log evidence, through Terraform, by pull request.
#[derive(Debug, Parser)]
#[command(name = "tighten", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest evidence (flow logs) into the evidence store.
    #[command(subcommand)]
    Ingest(ingest::IngestCommand),
    /// Dump the aggregated evidence, or a summary of it.
    Evidence(evidence::EvidenceArgs),
    /// Run the main job on the shipped example data, in a temporary store.
    Demo(demo::DemoArgs),
    /// Static checks of the Terraform security groups under a directory.
    Lint(lint::LintArgs),
    /// Show the documentation of a check (or list the checks).
    Explain(explain::ExplainArgs),
    /// Turn the evidence checks' proposals into a verified patch (diff, --write, PR body).
    Fix(fix::FixArgs),
    /// Recorded `lint --db` runs, and what changed between them.
    History(history::HistoryArgs),
    /// The evidence report: one self-contained HTML page (same inputs as `lint --db`).
    Report(report::ReportArgs),
    /// Print the SQL that computes the evidence aggregate in Athena, Trino or DuckDB (or, with
    /// --ddl, the flow-log table's definition); import its result with `ingest evidence`.
    AthenaSql(athena::AthenaSqlArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the manual page, or write one page per subcommand with --dir.
    Man(man::ManArgs),
}

/// What a command reports back to `main`: the exit code it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything went well.
    Success,
    /// Some inputs failed (already reported); the rest was done.
    PartialFailure,
    /// Findings at or above `--fail-on` were reported.
    Findings,
}

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    // Long messages stay on one line, so that logs and CI output can be searched for them.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            // Printing help or a usage error; a closed pipe is not worth reporting.
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Ingest(cmd) => ingest::run(cmd),
        Command::Evidence(args) => evidence::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Fix(args) => fix::run(&args),
        Command::History(args) => history::run(&args),
        Command::Report(args) => report::run(&args),
        Command::AthenaSql(args) => athena::run(&args),
        Command::Completions(args) => completions::run(&args, Cli::command()),
        Command::Man(args) => man::run(&args, Cli::command()),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::PartialFailure) => ExitCode::from(2),
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(report) => {
            if is_broken_pipe(&report) {
                return ExitCode::SUCCESS;
            }
            eprintln!("{report:?}");
            ExitCode::from(2)
        }
    }
}

/// Writing to stdout or a temporary folder failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write the output: {0}")]
#[diagnostic(code(tighten::output))]
pub(crate) struct OutputError(#[source] pub(crate) std::io::Error);

/// A reader that closed the pipe (`tighten evidence | head`) is not an error.
fn is_broken_pipe(report: &miette::Report) -> bool {
    let kind = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
    report
        .downcast_ref::<OutputError>()
        .is_some_and(|e| kind(&e.0))
        || report
            .chain()
            .filter_map(|e| e.downcast_ref::<std::io::Error>())
            .any(kind)
}
