//! `tighten evidence`: dump of the aggregated evidence.

#[derive(Debug, clap::Args)]
pub(crate) struct EvidenceArgs {}

pub(crate) fn run(_args: &EvidenceArgs) -> miette::Result<super::Outcome> {
    Err(miette::miette!("evidence: not built yet"))
}
