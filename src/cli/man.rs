//! `tighten man`: manual pages (roff) generated from the clap definitions.

use std::io::Write;
use std::path::PathBuf;

use miette::{Context, IntoDiagnostic};

use super::{Outcome, OutputError};

#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// Write `tighten.1` and one page per subcommand (`tighten-lint.1`, …) into this directory
    /// (created if missing) instead of printing `tighten.1` on standard output.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub(crate) fn run(args: &ManArgs, cmd: clap::Command) -> miette::Result<Outcome> {
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(cmd, dir))
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write the manual pages into {}", dir.display()))?;
        return Ok(Outcome::Success);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(OutputError)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&page)
        .and_then(|()| out.flush())
        .map_err(OutputError)?;
    Ok(Outcome::Success)
}
