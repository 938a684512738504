//! `tighten demo`: the main job on the shipped example data.

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {}

pub(crate) fn run(_args: &DemoArgs) -> miette::Result<super::Outcome> {
    Err(miette::miette!("demo: not built yet"))
}
