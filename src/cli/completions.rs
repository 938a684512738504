//! `tighten completions SHELL`: a completion script generated from the clap definitions.

use std::io::Write;

use super::{Outcome, OutputError};

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in. Install, for example: `tighten completions bash >
    /// ~/.local/share/bash-completion/completions/tighten`, `tighten completions zsh >
    /// ~/.zfunc/_tighten`, `tighten completions fish > ~/.config/fish/completions/tighten.fish`,
    /// `tighten completions powershell >> $PROFILE`.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub(crate) fn run(args: &CompletionsArgs, mut cmd: clap::Command) -> miette::Result<Outcome> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "tighten", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(OutputError)?;
    Ok(Outcome::Success)
}
