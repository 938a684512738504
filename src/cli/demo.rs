//! `tighten demo`: the main job on the shipped example data, in a temporary store.
//!
//! Until the Terraform and check stages exist, the main job is: ingest `examples/flow-logs` and
//! show what the evidence says (summary, then the inbound rows that ingress rules are judged by).

use std::io::Write;
use std::path::PathBuf;

use miette::IntoDiagnostic;

use super::Outcome;
use super::evidence::{Format, write_rows, write_summary};
use super::ingest::{FlowLogsArgs, ingest_flow_logs};
use crate::store::evidence::Role;
use crate::store::{DEFAULT_SOURCE_CAP, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// The example flow logs.
    #[arg(long, default_value = "examples/flow-logs")]
    pub(crate) flow_logs: PathBuf,
    /// Keep the store here instead of a temporary folder.
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
}

pub(crate) fn run(args: &DemoArgs) -> miette::Result<Outcome> {
    let temp = tempfile::tempdir().into_diagnostic()?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| temp.path().join("evidence.db"));
    let ingest = FlowLogsArgs {
        db: db.clone(),
        sources: vec![args.flow_logs.clone()],
        strict: false,
        source_cap: DEFAULT_SOURCE_CAP,
        threads: None,
        quiet: true,
    };
    let report = ingest_flow_logs(&ingest)?;
    let store = Store::open_existing(&db)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{}\n", report.line()).into_diagnostic()?;
    write_summary(&mut out, &store.summary()?, Format::Table).into_diagnostic()?;
    let inbound: Vec<_> = store
        .evidence()?
        .into_iter()
        .filter(|r| r.role == Role::Inbound)
        .collect();
    writeln!(
        out,
        "\nInbound evidence (what ingress rules are judged by):"
    )
    .into_diagnostic()?;
    write_rows(&mut out, &inbound, Format::Table).into_diagnostic()?;
    Ok(if report.failed > 0 {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}
