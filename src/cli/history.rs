//! `tighten history`: the recorded `lint --db` runs, one run's findings, and what changed since
//! the run before it (a rule became unused, new sources appeared, a finding went away).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::evidence::{Format, write_table};
use super::{Outcome, OutputError};
use crate::analysis::Outcome as LintOutcome;
use crate::analysis::proposal::timestamp;
use crate::report::display_path;
use crate::store::Store;
use crate::store::runs::{RunFinding, RunRecord, diff};

#[derive(Debug, clap::Args)]
pub(crate) struct HistoryArgs {
    /// The evidence store (SQLite file).
    #[arg(long, env = "TIGHTEN_DB", default_value = ".tighten/evidence.db")]
    db: PathBuf,
    /// Show this run's findings and what changed since the previous run of the same directory.
    #[arg(long)]
    run: Option<i64>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// The record of a `lint --db` run.
pub(crate) fn record_of(dir: &Path, outcome: &LintOutcome) -> RunRecord {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let findings = outcome
        .diagnostics
        .iter()
        .map(|d| RunFinding {
            key: format!(
                "{} {} {}",
                d.code,
                d.address,
                d.rule.as_deref().unwrap_or_default()
            ),
            code: d.code.to_string(),
            severity: d.severity.as_str().to_owned(),
            address: d.address.clone(),
            rule: d.rule.clone(),
            message: d.message.clone(),
            proposal: d
                .proposal
                .as_ref()
                .and_then(|p| serde_json::to_string(&p.1).ok()),
            flows: d
                .evidence
                .as_ref()
                .map(|e| e.flows + e.possibly_inbound_flows),
            sources: d.evidence.as_ref().map(|e| e.sources),
            last_seen: d.evidence.as_ref().and_then(|e| e.last_seen.clone()),
        })
        .collect();
    RunRecord {
        started_at: now,
        // The absolute path: `lint .` in two repositories are two histories.
        dir: display_path(&std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())),
        window: outcome.evidence.as_ref().and_then(|e| e.window.clone()),
        findings,
    }
}

pub(crate) fn run(args: &HistoryArgs) -> miette::Result<Outcome> {
    let store = Store::open_existing(&args.db)?;
    let runs = store.runs()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let Some(id) = args.run else {
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    timestamp(r.started_at),
                    r.dir.clone(),
                    r.window.clone().unwrap_or_else(|| "-".to_owned()),
                    r.findings.to_string(),
                    r.tool_version.clone(),
                ]
            })
            .collect();
        write_table(
            &mut out,
            "runs",
            &["run", "started_at", "dir", "window", "findings", "version"],
            &rows,
            args.format,
            None,
        )
        .map_err(OutputError)?;
        out.flush().map_err(OutputError)?;
        return Ok(Outcome::Success);
    };
    let Some(pos) = runs.iter().position(|r| r.id == id) else {
        return Err(miette::miette!(
            help = "list the runs with `tighten history`",
            "{}: no run {id} in this store",
            args.db.display()
        ));
    };
    let this = &runs[pos];
    let after = store.run_findings(id)?;
    let before = match runs[..pos].iter().rev().find(|r| r.dir == this.dir) {
        Some(prev) => Some((prev.id, store.run_findings(prev.id)?)),
        None => None,
    };
    let d = diff(before.as_ref().map_or(&[][..], |b| &b.1), &after);
    let row = |change: &str, f: &RunFinding| {
        vec![
            change.to_owned(),
            f.code.clone(),
            f.address.clone(),
            f.rule.clone().unwrap_or_default(),
            f.sources.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            f.flows.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            f.message.clone(),
        ]
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    if before.is_some() {
        rows.extend(d.new.iter().map(|f| row("new", f)));
        rows.extend(d.gone.iter().map(|f| row("gone", f)));
        for (old, new) in &d.changed {
            let mut r = row("changed", new);
            r[4] = format!(
                "{} -> {}",
                old.sources
                    .map_or_else(|| "-".to_owned(), |s| s.to_string()),
                r[4]
            );
            rows.push(r);
        }
    } else {
        rows.extend(after.iter().map(|f| row("first run", f)));
    }
    let compared = before.map_or_else(
        || serde_json::Value::Null,
        |(id, _)| serde_json::Value::from(id),
    );
    write_table(
        &mut out,
        "changes",
        &[
            "change", "code", "address", "rule", "sources", "flows", "message",
        ],
        &rows,
        args.format,
        Some(("compared_with_run", compared)),
    )
    .map_err(OutputError)?;
    out.flush().map_err(OutputError)?;
    Ok(Outcome::Success)
}
