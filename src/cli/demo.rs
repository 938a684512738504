//! `tighten demo`: the main job on the shipped example data, in a temporary store.
//!
//! Until the Terraform and check stages exist, the main job is: ingest `examples/flow-logs` and
//! show what the evidence says (summary, then the inbound rows that ingress rules are judged by).

use std::io::Write;
use std::path::PathBuf;

use super::evidence::{Format, write_summary};
use super::ingest::{FlowLogsArgs, ingest_flow_logs};
use super::{Outcome, OutputError};
use crate::store::evidence::{Role, date_of_day, inbound_port_use};
use crate::store::{DEFAULT_SOURCE_CAP, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// The example flow logs.
    #[arg(long, default_value = "examples/flow-logs")]
    pub(crate) flow_logs: PathBuf,
    /// Keep the store here instead of a temporary folder.
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
}

pub(crate) fn run(args: &DemoArgs) -> miette::Result<Outcome> {
    let temp = tempfile::tempdir().map_err(OutputError)?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| temp.path().join("evidence.db"));
    let ingest = FlowLogsArgs {
        db: db.clone(),
        sources: vec![args.flow_logs.clone()],
        strict: false,
        source_cap: DEFAULT_SOURCE_CAP,
        threads: None,
        s3: super::aws_sources::S3Options::default(),
        part_rows: super::ingest::DEFAULT_PART_ROWS,
        quiet: true,
    };
    let report = ingest_flow_logs(&ingest)?;
    let store = Store::open_existing(&db)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{}\n", report.line()).map_err(OutputError)?;
    write_summary(&mut out, &store.summary()?, Format::Table).map_err(OutputError)?;
    let rows = store.evidence()?;
    writeln!(
        out,
        "\nInbound use per port (what ingress rules are judged by; `tighten evidence` shows every row):"
    )
    .map_err(OutputError)?;
    writeln!(
        out,
        "{:<24} {:>8} {:>6} {:<7} {:>6} {:>8}  days",
        "interface", "protocol", "port", "action", "flows", "sources"
    )
    .map_err(OutputError)?;
    for u in inbound_port_use(&rows) {
        let sources = if u.capped {
            format!("~{}", u.sources)
        } else {
            u.sources.to_string()
        };
        let days = if u.first_day == u.last_day {
            date_of_day(u.first_day)
        } else {
            format!(
                "{} .. {}",
                date_of_day(u.first_day),
                date_of_day(u.last_day)
            )
        };
        writeln!(
            out,
            "{:<24} {:>8} {:>6} {:<7} {:>6} {:>8}  {days}",
            u.interface,
            u.protocol,
            u.port,
            u.action.as_str(),
            u.flows,
            sources
        )
        .map_err(OutputError)?;
    }
    let flows_of = |role: Role| {
        rows.iter()
            .filter(|r| r.role == role)
            .map(|r| r.stats.flows)
            .sum::<u64>()
    };
    writeln!(
        out,
        "\nNot counted as use of ingress rules: {} response records (return traffic of connections \
         the interfaces opened; security groups are stateful) and {} records whose role could not \
         be decided.",
        flows_of(Role::Response),
        flows_of(Role::Unknown)
    )
    .map_err(OutputError)?;
    Ok(if report.failed > 0 {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}
