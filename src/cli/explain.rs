//! `tighten explain CODE`: the documentation of a check.

use std::fmt::Write as _;
use std::io::Write;

use miette::IntoDiagnostic;

use crate::analysis::CheckCode;

#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// Check code (`SG001`) or name (`public-admin-port`); omit to list every check.
    code: Option<String>,
}

pub(crate) fn run(args: &ExplainArgs) -> miette::Result<super::Outcome> {
    let text = match &args.code {
        None => CheckCode::ALL.iter().fold(String::new(), |mut s, c| {
            let m = c.meta();
            let _ = writeln!(
                s,
                "{c}  {:<22} {:<8} {}",
                m.name,
                m.severity.as_str(),
                m.summary
            );
            s
        }),
        Some(code) => {
            let Some(c) = CheckCode::parse(code) else {
                return Err(miette::miette!(
                    help = "`tighten explain` lists the checks",
                    "unknown check `{code}`"
                ));
            };
            let m = c.meta();
            format!(
                "{}\nDefault severity: {}\n",
                m.docs.trim_end(),
                m.severity.as_str()
            )
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).into_diagnostic()?;
    Ok(super::Outcome::Success)
}
