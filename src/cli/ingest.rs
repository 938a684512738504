//! `tighten ingest …`: reading evidence into the store.

#[derive(Debug, clap::Subcommand)]
pub(crate) enum IngestCommand {
    /// VPC Flow Logs.
    FlowLogs,
}

pub(crate) fn run(_cmd: IngestCommand) -> miette::Result<super::Outcome> {
    Err(miette::miette!("ingest: not built yet"))
}
