//! `tighten lint`: static checks of the Terraform security groups under a directory.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use miette::{Context, IntoDiagnostic};

use crate::analysis::evidence::Window;
use crate::analysis::{self, Config, Severity};
use crate::report::{self, Report, Stats};
use crate::store::Store;
use crate::store::view::EvidenceView;
use crate::terraform::{self, LoadOptions, state};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Graphical diagnostics with source snippets.
    Human,
    /// JSON, schema version 1.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// Markdown for a pull-request comment.
    Markdown,
    /// GitHub Actions workflow commands: an annotation per finding on the pull request.
    Github,
}

/// Lowest severity that makes the run fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FailOn {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warning,
    /// Any finding.
    Note,
    /// Never fail on findings (input errors still exit 2).
    Never,
}

/// The inputs `lint` and `fix` share: the Terraform, its state and the evidence.
#[derive(Debug, clap::Args)]
pub(crate) struct InputArgs {
    /// Directory (or single file) to read.
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// Terraform state (`terraform.tfstate` v4 or `terraform show -json` output); default: DIR/terraform.tfstate when present.
    #[arg(long)]
    pub(crate) state: Option<PathBuf>,
    /// Configuration file; default: tighten.toml in DIR or a parent.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Variable values (`.tfvars`), applied after terraform.tfvars and *.auto.tfvars.
    #[arg(long = "var-file")]
    pub(crate) var_files: Vec<PathBuf>,
    /// Evidence store: adds the evidence checks (SG100-SG107). Without it only static checks run.
    #[arg(long, env = "TIGHTEN_DB")]
    pub(crate) db: Option<PathBuf>,
    /// First day of the evidence window (YYYY-MM-DD, UTC); default: the first day with flow logs.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = super::aws_sources::parse_day, requires = "db")]
    pub(crate) since: Option<i64>,
    /// Last day of the evidence window (YYYY-MM-DD, UTC); default: the last day with flow logs.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = super::aws_sources::parse_day, requires = "db")]
    pub(crate) until: Option<i64>,
    /// Days of complete flow-log coverage below which nothing is proposed (default 14, or
    /// `min_days` in tighten.toml).
    #[arg(long, requires = "db")]
    pub(crate) min_days: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct LintArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Lowest severity that makes the run exit 1.
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    fail_on: FailOn,
    /// Write the report to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Do not record this run in the store's history.
    #[arg(long, requires = "db")]
    no_record: bool,
}

/// The Terraform read, the evidence joined to it, and the findings.
pub(crate) struct Evaluated {
    pub(crate) config: Config,
    pub(crate) loaded: terraform::Loaded,
    pub(crate) load_options: LoadOptions,
    pub(crate) state: Option<state::State>,
    pub(crate) state_path: Option<PathBuf>,
    pub(crate) linked_groups: usize,
    pub(crate) store: Option<(Store, EvidenceView, Option<Window>)>,
    /// The evidence joined to the model (with `--db`): what the HTML report draws.
    pub(crate) facts: Option<analysis::evidence::EvidenceFacts>,
    pub(crate) outcome: analysis::Outcome,
}

/// Reads everything `args` names and runs the checks.
pub(crate) fn evaluate(args: &InputArgs) -> miette::Result<Evaluated> {
    let mut config = match args.config.clone().or_else(|| Config::find(&args.dir)) {
        Some(p) => Config::read(&p)?,
        None => Config::default(),
    };
    if let Some(days) = args.min_days {
        config.evidence.min_days = days;
    }
    if let (Some(a), Some(b)) = (args.since, args.until)
        && a > b
    {
        return Err(miette::miette!(
            help = "give --since on or before --until",
            "--since is after --until"
        ));
    }
    if !args.dir.exists() {
        return Err(miette::miette!("{} does not exist", args.dir.display()));
    }
    let load_options = LoadOptions {
        var_files: args.var_files.clone(),
    };
    let mut loaded = terraform::load(&args.dir, &load_options)?;
    let state_path = args.state.clone().or_else(|| {
        let p = args.dir.join("terraform.tfstate");
        p.is_file().then_some(p)
    });
    let mut linked_groups = 0;
    let mut st = None;
    if let Some(p) = &state_path {
        let read = state::read(p)?;
        terraform::link_state(&mut loaded.model, &read);
        linked_groups = loaded
            .model
            .groups
            .iter()
            .filter(|g| g.deployed_id.is_some())
            .count();
        st = Some(read);
    }
    let (store, facts) = match &args.db {
        Some(db) => {
            let store = Store::open_existing(db)?;
            let view = store.view()?;
            let window = Window::choose(
                args.since.map(|d| d as i32),
                args.until.map(|d| d as i32),
                &view,
            );
            let facts = analysis::evidence::analyse(&loaded.model, &view, window);
            (Some((store, view, window)), Some(facts))
        }
        None => (None, None),
    };
    let outcome = analysis::lint(
        &loaded,
        &config,
        facts.as_ref(),
        analysis::suppress::today(),
    );
    Ok(Evaluated {
        config,
        loaded,
        load_options,
        state: st,
        state_path,
        linked_groups,
        store,
        facts,
        outcome,
    })
}

pub(crate) fn run(args: &LintArgs) -> miette::Result<super::Outcome> {
    let e = evaluate(&args.input)?;
    // A run with input errors is not recorded: its findings are not comparable with the next.
    // A store that cannot take the record (read-only) gets a warning, and the report is printed.
    if let Some((store, _, _)) = &e.store
        && !args.no_record
        && e.loaded.errors.is_empty()
        && let Err(err) = store.record_run(&super::history::record_of(&args.input.dir, &e.outcome))
    {
        eprintln!("warning: this run was not recorded in the store's history: {err}");
    }
    let stats = Stats {
        files: e.loaded.files.len(),
        groups: e.loaded.model.groups.len(),
        rules: e.loaded.model.rules.len(),
        unknown_expansions: e.loaded.model.unknown_expansions.len(),
        state: e.state_path.clone(),
        linked_groups: e.linked_groups,
    };
    let r = Report {
        outcome: &e.outcome,
        files: &e.loaded.files,
        errors: &e.loaded.errors,
        stats,
    };
    let text = match args.format {
        Format::Human => {
            let color = args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            report::human::render(&r, color, 100)
        }
        Format::Json => report::json::render(&r),
        Format::Sarif => report::sarif::render(&r),
        Format::Markdown => report::markdown::render(&r),
        Format::Github => report::github::render(&r),
    };
    if write(args.output.as_deref(), &text)? == Written::PipeClosed {
        return Ok(super::Outcome::Success);
    }
    if !e.loaded.errors.is_empty() {
        return Ok(super::Outcome::PartialFailure);
    }
    let min = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Note => Some(Severity::Note),
        FailOn::Never => None,
    };
    Ok(match min {
        Some(min) if report::at_or_above(&e.outcome.diagnostics, min) > 0 => {
            super::Outcome::Findings
        }
        _ => super::Outcome::Success,
    })
}

/// Whether the reader of standard output went away (`tighten lint | head`): that is not an
/// error, and the run exits 0.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    All,
    PipeClosed,
}

pub(crate) fn write(output: Option<&Path>, text: &str) -> miette::Result<Written> {
    if let Some(p) = output {
        std::fs::write(p, text)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", p.display()))?;
        return Ok(Written::All);
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(Written::All),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Written::PipeClosed),
        Err(e) => Err(e).into_diagnostic(),
    }
}
