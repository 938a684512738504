//! `tighten fix`: the evidence checks' proposals as a verified patch — a unified diff (default),
//! the files edited in place (`--write`, unsafe fixes only with `--unsafe-fixes`), and the text of
//! the pull request (`--format markdown`, `--body FILE`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use miette::{Context, IntoDiagnostic};

use super::lint::{InputArgs, Written, evaluate, write};
use super::{Outcome, OutputError};
use crate::analysis::CheckCode;
use crate::fix::{self, Plan};

/// What `fix` prints on standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FixFormat {
    /// The unified diff (with `--write`: nothing), and the summary on standard error.
    Human,
    /// The plan as JSON: fixes with their edits, notes, the replay.
    Json,
    /// The pull-request body.
    Markdown,
}

#[derive(Debug, clap::Args)]
pub(crate) struct FixArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Print the patch and write nothing (the default).
    #[arg(long, conflicts_with = "write")]
    diff: bool,
    /// Edit the files in place (removal and narrowing need --unsafe-fixes).
    #[arg(long)]
    write: bool,
    /// Apply unsafe fixes with --write: every evidence-based fix changes what is allowed.
    #[arg(long)]
    unsafe_fixes: bool,
    /// Only the proposals of these checks (codes or names, comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = parse_code)]
    only: Vec<CheckCode>,
    /// What to print on standard output.
    #[arg(long, value_enum, default_value_t = FixFormat::Human)]
    format: FixFormat,
    /// Also write the pull-request body (Markdown) to this file.
    #[arg(long)]
    body: Option<PathBuf>,
}

fn parse_code(s: &str) -> Result<CheckCode, String> {
    CheckCode::parse(s).ok_or_else(|| format!("unknown check `{s}` (see `tighten explain`)"))
}

pub(crate) fn run(args: &FixArgs) -> miette::Result<Outcome> {
    if args.input.db.is_none() {
        return Err(miette::miette!(
            help = "pass --db PATH (or set TIGHTEN_DB): fixes come from the evidence checks",
            "tighten fix needs an evidence store"
        ));
    }
    let mut e = evaluate(&args.input)?;
    if !e.loaded.errors.is_empty() {
        // Each with its file, line and the offending snippet, as lint shows them.
        for err in std::mem::take(&mut e.loaded.errors) {
            eprintln!("{:?}", miette::Report::new(err));
        }
        return Err(miette::miette!(
            "the Terraform has input errors; nothing is fixed until it parses"
        ));
    }
    let Some((_, view, window)) = &e.store else {
        return Err(miette::miette!("no evidence store"));
    };
    let only = (!args.only.is_empty()).then_some(args.only.as_slice());
    let plan = fix::plan(&fix::Inputs {
        loaded: &e.loaded,
        dir: &args.input.dir,
        load_options: &e.load_options,
        state: e.state.as_ref(),
        outcome: &e.outcome,
        config: &e.config,
        view,
        window: *window,
        only,
    });
    let root = fix::diff::repo_root(&args.input.dir);
    let patch = fix::diff::unified(&plan, root.as_deref());
    let command = regenerate(args);
    let body = fix::body::render(&plan, &command);
    let mut written = 0;
    if args.write && args.unsafe_fixes {
        written = write_files(&plan)?;
    }
    // The body last: it describes what was written.
    if let Some(p) = &args.body {
        std::fs::write(p, &body)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", p.display()))?;
    }
    let stdout = match args.format {
        FixFormat::Human if args.write => String::new(),
        FixFormat::Human => patch.clone(),
        FixFormat::Json => {
            let mut s = serde_json::to_string_pretty(&serde_json::json!({
                "schema_version": 1,
                "fixes": plan.fixes,
                "notes": plan.notes,
                "dropped": plan.dropped,
                "replay": plan.replay,
                "patch": patch,
            }))
            .unwrap_or_default();
            s.push('\n');
            s
        }
        FixFormat::Markdown => body,
    };
    if write(None, &stdout)? == Written::PipeClosed {
        return Ok(Outcome::Success);
    }
    summary(&plan, args, written).map_err(OutputError)?;
    // A dropped fix is reported (error lines above) and never written; the others stand, and
    // the run fails only when nothing else was offered.
    if !plan.dropped.is_empty() && plan.fixes.is_empty() {
        return Ok(Outcome::PartialFailure);
    }
    Ok(if plan.fixes.is_empty() || (args.write && written > 0) {
        Outcome::Success
    } else {
        Outcome::Findings
    })
}

/// Writes every changed file; all or nothing as far as the file system lets (each file is written
/// to a temporary file beside it and renamed).
fn write_files(plan: &Plan) -> miette::Result<usize> {
    // The files on disk must still be the texts that were verified.
    for (path, old, _) in plan.changed_files() {
        let now = std::fs::read_to_string(path)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot read {}", path.display()))?;
        if &now != old {
            return Err(miette::miette!(
                help = "run tighten fix again on the current files",
                "{} changed while the fixes were being verified; nothing was written",
                path.display()
            ));
        }
    }
    let mut staged = Vec::new();
    for (path, _, new) in plan.changed_files() {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let mut tmp =
            tempfile::NamedTempFile::new_in(dir.unwrap_or_else(|| std::path::Path::new(".")))
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot write beside {}", path.display()))?;
        tmp.write_all(new.as_bytes())
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", path.display()))?;
        if let Ok(meta) = std::fs::metadata(path) {
            let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
        }
        staged.push((tmp, path.clone()));
    }
    let n = staged.len();
    for (tmp, path) in staged {
        tmp.persist(&path)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot replace {}", path.display()))?;
    }
    Ok(n)
}

fn summary(plan: &Plan, args: &FixArgs, written: usize) -> std::io::Result<()> {
    let mut err = std::io::stderr().lock();
    let files = plan.changed_files().count();
    if args.write && !args.unsafe_fixes && !plan.fixes.is_empty() {
        writeln!(
            err,
            "{} unsafe fix(es) not written: removing or narrowing a rule changes what is allowed; \
             review the diff (`tighten fix`) and pass --unsafe-fixes to write them",
            plan.fixes.len()
        )?;
    } else if args.write {
        writeln!(
            err,
            "{} fix(es) applied to {written} file(s)",
            plan.fixes.len()
        )?;
    } else {
        writeln!(
            err,
            "{} unsafe fix(es) offered in {files} file(s) (apply with --write --unsafe-fixes)",
            plan.fixes.len()
        )?;
    }
    if let Some(r) = &plan.replay {
        writeln!(
            err,
            "replay: {} inbound flow row(s) of the window: {} allowed before, {} after, {} denied",
            r.rows, r.allowed_before, r.allowed_after, r.denied
        )?;
    }
    if !plan.notes.is_empty() {
        writeln!(err, "{} proposal(s) left as notes:", plan.notes.len())?;
        for n in &plan.notes {
            writeln!(err, "  {} {}: {}", n.code, n.address, n.reason)?;
        }
    }
    for n in &plan.dropped {
        writeln!(
            err,
            "error: {} {} ({}) dropped: {}",
            n.code,
            n.address,
            n.rule.as_deref().unwrap_or_default(),
            n.reason
        )?;
    }
    Ok(())
}

/// The command that regenerates the PR body.
fn regenerate(args: &FixArgs) -> String {
    let mut s = format!(
        "tighten fix {}",
        crate::report::display_path(&args.input.dir)
    );
    if let Some(p) = &args.input.state {
        let _ = write!(s, " --state {}", crate::report::display_path(p));
    }
    if let Some(d) = args.input.since {
        let _ = write!(
            s,
            " --since {}",
            crate::store::evidence::date_of_day(d as i32)
        );
    }
    if let Some(d) = args.input.until {
        let _ = write!(
            s,
            " --until {}",
            crate::store::evidence::date_of_day(d as i32)
        );
    }
    if !args.only.is_empty() {
        let codes: Vec<&str> = args.only.iter().map(|c| c.as_str()).collect();
        let _ = write!(s, " --only {}", codes.join(","));
    }
    s.push_str(" --db $TIGHTEN_DB --format markdown");
    s
}
