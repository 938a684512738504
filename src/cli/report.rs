//! `tighten report`: the evidence report — one self-contained HTML page per run of the same
//! inputs as `lint --db`, with the verified fixes `tighten fix` would offer.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use miette::{Context, IntoDiagnostic};

use super::Outcome;
use super::lint::{Evaluated, InputArgs, evaluate};
use crate::report::html;

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Write the HTML report to this file.
    #[arg(long, value_name = "OUT.html")]
    pub(crate) html: PathBuf,
}

pub(crate) fn run(args: &ReportArgs) -> miette::Result<Outcome> {
    if args.input.db.is_none() {
        return Err(miette::miette!(
            help = "pass --db PATH (or set TIGHTEN_DB): the report draws the evidence",
            "tighten report needs an evidence store"
        ));
    }
    let e = evaluate(&args.input)?;
    let page = render(&e, &args.input.dir, None, &command(&args.input))?;
    write_atomic(&args.html, &page)?;
    eprintln!(
        "evidence report written to {} ({} KB)",
        args.html.display(),
        page.len().div_ceil(1024)
    );
    Ok(if e.loaded.errors.is_empty() {
        Outcome::Success
    } else {
        for err in &e.loaded.errors {
            eprintln!("{err}");
        }
        Outcome::PartialFailure
    })
}

/// The page for an evaluated run: the fixes are planned and verified as `tighten fix` does.
pub(crate) fn render(
    e: &Evaluated,
    dir: &Path,
    base: Option<&Path>,
    command: &str,
) -> miette::Result<String> {
    let (store, view, window) = match &e.store {
        Some((s, v, w)) => (Some(s), Some(v), *w),
        None => (None, None, None),
    };
    // A tree with input errors is not fixed (fix refuses it); the report still shows the rest.
    let plan = match view {
        Some(view) if e.loaded.errors.is_empty() => Some(crate::fix::plan(&crate::fix::Inputs {
            loaded: &e.loaded,
            dir,
            load_options: &e.load_options,
            state: e.state.as_ref(),
            outcome: &e.outcome,
            config: &e.config,
            view,
            window,
            only: None,
        })),
        _ => None,
    };
    let runs = match store {
        Some(s) => s.runs()?,
        None => Vec::new(),
    };
    Ok(html::render(&html::Input {
        model: &e.loaded.model,
        files: &e.loaded.files,
        outcome: &e.outcome,
        facts: e.facts.as_ref(),
        view,
        plan: plan.as_ref(),
        runs: &runs,
        base,
        command,
    }))
}

/// Writes `text` to a temporary file beside `path` and renames it: a failed run leaves nothing
/// half-written.
pub(crate) fn write_atomic(path: &Path, text: &str) -> miette::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    tmp.write_all(text.as_bytes())
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    // A report is for reading (a CI artifact, a web server): not the 0600 of a temporary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The command line shown in the report's header (no machine paths beyond what was given).
fn command(input: &InputArgs) -> String {
    let mut s = format!("tighten report {}", crate::report::display_path(&input.dir));
    if let Some(p) = &input.state {
        let _ = write!(s, " --state {}", crate::report::display_path(p));
    }
    for (flag, day) in [("--since", input.since), ("--until", input.until)] {
        if let Some(d) = day {
            let _ = write!(
                s,
                " {flag} {}",
                crate::store::evidence::date_of_day(d as i32)
            );
        }
    }
    if let Some(m) = input.min_days {
        let _ = write!(s, " --min-days {m}");
    }
    s
}
