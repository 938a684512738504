//! `tighten demo`: the whole product on the shipped example (`examples/shop`) in a temporary
//! folder — ingest its flow logs and AWS Config files into a fresh store, lint its Terraform with
//! the evidence, print the verified patch that `tighten fix` would offer, and write the evidence
//! report (HTML).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::ingest::{FlowLogsArgs, ingest_flow_logs};
use super::ingest_config::AwsConfigArgs;
use super::lint::{InputArgs, evaluate};
use super::{Outcome, OutputError};
use crate::report::{display_path, evidence_lines, position, proposal_line};
use crate::store::DEFAULT_SOURCE_CAP;

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// The example: a folder with `terraform/`, `flow-logs/` and `aws-config/`.
    #[arg(long, default_value = "examples/shop")]
    pub(crate) example: PathBuf,
    /// Keep the store here instead of a temporary folder.
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
    /// Write the evidence report (HTML) here; default: tighten-demo-report.html in the system's
    /// temporary folder.
    #[arg(long, value_name = "OUT.html")]
    pub(crate) report: Option<PathBuf>,
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

pub(crate) fn run(args: &DemoArgs) -> miette::Result<Outcome> {
    let ex = &args.example;
    for part in ["terraform", "flow-logs", "aws-config"] {
        if !ex.join(part).is_dir() {
            return Err(miette::miette!(
                help = "run `tighten demo` from the repository root, or pass --example",
                "{} has no {part}/ folder",
                ex.display()
            ));
        }
    }
    let temp = tempfile::tempdir().map_err(OutputError)?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| temp.path().join("evidence.db"));
    // The Terraform is copied: the demo never edits the example.
    let tf = temp.path().join("terraform");
    copy_dir(&ex.join("terraform"), &tf).map_err(OutputError)?;

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let w =
        |out: &mut std::io::StdoutLock<'_>, s: String| writeln!(out, "{s}").map_err(OutputError);
    w(
        &mut out,
        format!(
            "== 1. Evidence: flow logs and AWS Config of {} into a new store",
            display_path(ex)
        ),
    )?;
    let ingest = FlowLogsArgs {
        db: db.clone(),
        sources: vec![ex.join("flow-logs")],
        strict: false,
        log_format: None,
        accept_incomplete: false,
        source_cap: DEFAULT_SOURCE_CAP,
        commit_interval: 1.0,
        threads: None,
        s3: super::aws_sources::S3Options::default(),
        part_rows: super::ingest::DEFAULT_PART_ROWS,
        quiet: true,
    };
    let report = ingest_flow_logs(&ingest)?;
    w(&mut out, report.line())?;
    super::ingest_config::run(&AwsConfigArgs {
        db: db.clone(),
        sources: vec![ex.join("aws-config")],
        s3: super::aws_sources::S3Options::default(),
        quiet: true,
    })?;
    w(&mut out, "ingested AWS Config: which security groups each interface had, and when (a terminated instance included)".to_owned())?;

    w(
        &mut out,
        "\n== 2. tighten lint terraform/ --db evidence.db".to_owned(),
    )?;
    let input = InputArgs {
        dir: tf.clone(),
        state: None,
        config: None,
        var_files: Vec::new(),
        db: Some(db.clone()),
        since: None,
        until: None,
        min_days: None,
    };
    let e = evaluate(&input)?;
    for d in &e.outcome.diagnostics {
        let text = e
            .loaded
            .files
            .iter()
            .find(|f| f.path == d.loc.file)
            .map_or("", |f| f.text.as_str());
        let line = position(text, d.loc.bytes.start).line;
        let file = d.loc.file.strip_prefix(temp.path()).unwrap_or(&d.loc.file);
        w(
            &mut out,
            format!(
                "{:<7} {} {}:{line} {}: {}",
                d.severity.as_str(),
                d.code,
                display_path(file),
                d.address,
                d.message
            ),
        )?;
        if let Some(p) = &d.proposal {
            w(
                &mut out,
                format!("        proposal: {}", proposal_line(&p.1)),
            )?;
        }
    }
    for line in evidence_lines(&e.outcome) {
        w(&mut out, line)?;
    }

    w(
        &mut out,
        "\n== 3. tighten fix terraform/ --db evidence.db (verified patch; nothing is written)"
            .to_owned(),
    )?;
    let Some((_, view, window)) = &e.store else {
        return Err(miette::miette!("no evidence store"));
    };
    let plan = crate::fix::plan(&crate::fix::Inputs {
        loaded: &e.loaded,
        dir: &tf,
        load_options: &e.load_options,
        state: e.state.as_ref(),
        outcome: &e.outcome,
        config: &e.config,
        view,
        window: *window,
        only: None,
    });
    out.write_all(crate::fix::diff::unified(&plan, Some(temp.path())).as_bytes())
        .map_err(OutputError)?;
    if let Some(r) = &plan.replay {
        w(
            &mut out,
            format!(
                "replay: {} inbound flow row(s) of the window: {} allowed before, {} after, {} denied",
                r.rows, r.allowed_before, r.allowed_after, r.denied
            ),
        )?;
    }
    w(
        &mut out,
        format!(
            "{} verified fix(es); {} proposal(s) left as notes; {} dropped",
            plan.fixes.len(),
            plan.notes.len(),
            plan.dropped.len()
        ),
    )?;
    let html = args
        .report
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("tighten-demo-report.html"));
    let page = super::report::render(
        &e,
        &tf,
        Some(temp.path()),
        "tighten report terraform/ --db evidence.db --html report.html",
    )?;
    super::report::write_atomic(&html, &page)?;
    w(
        &mut out,
        format!(
            "\n== 4. tighten report terraform/ --db evidence.db --html report.html\n\
             evidence report written to {} (open it in a browser; it fetches nothing)",
            html.display()
        ),
    )?;
    w(
        &mut out,
        "\nNext: `tighten fix DIR --db PATH --format markdown` writes the pull-request text; \
         `--write --unsafe-fixes` applies the patch."
            .to_owned(),
    )?;
    Ok(if report.failed > 0 || !plan.dropped.is_empty() {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}
