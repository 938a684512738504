//! `tighten ingest aws-config`: AWS Config snapshots and history into the store.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::Outcome;
use crate::sources::{Observer, Source};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub(crate) struct AwsConfigArgs {
    /// The evidence store (an SQLite file); created when missing.
    #[arg(long, env = "TIGHTEN_DB", default_value = ".tighten/evidence.db")]
    pub(crate) db: PathBuf,
    /// Files or directories of AWS Config snapshot/history files (JSON, plain or gzip), output of
    /// `aws configservice get-resource-config-history`, configuration item change notifications
    /// (bare, or in SNS, SQS or EventBridge messages; one per line or an array), or
    /// `s3://bucket/prefix` where Config delivers (objects pruned by the date in their key with
    /// --since/--until).
    #[arg(required = true)]
    pub(crate) sources: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) s3: super::aws_sources::S3Options,
    /// No summary line.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// Messages go to stderr as they come.
struct Notes;

impl Observer for Notes {
    fn note(&self, line: &str) {
        eprintln!("{line}");
    }
}

pub(crate) fn run(args: &AwsConfigArgs) -> miette::Result<Outcome> {
    let sources = super::aws_sources::parse_sources(&args.sources)?;
    if let Some(Source::CloudWatch { group, .. }) = sources
        .iter()
        .find(|s| matches!(s, Source::CloudWatch { .. }))
    {
        return Err(miette::miette!(
            help = "pass AWS Config files, folders or the s3:// prefix Config delivers to",
            "cloudwatch://{group}: AWS Config does not deliver to CloudWatch Logs"
        ));
    }
    let mut store = Store::open(&args.db, crate::store::DEFAULT_SOURCE_CAP)?;
    let report = crate::sources::aws_config(&mut store, &sources, &args.s3.run_options(), &Notes)?;
    if !args.quiet {
        let mut line = format!(
            "ingested {} AWS Config file{} ({} configuration items of interfaces, instances and security groups, {} new)",
            report.stored,
            if report.stored == 1 { "" } else { "s" },
            report.items,
            report.new_items
        );
        for (n, what) in [
            (report.unchanged, "already ingested"),
            (
                report.skipped,
                "skipped (not .json, .jsonl, .ndjson or .gz, or ConfigWritabilityCheckFile)",
            ),
            (report.failed, "failed"),
        ] {
            if n > 0 {
                let _ = write!(line, "; {n} {what}");
            }
        }
        eprintln!("{line}");
    }
    Ok(if report.failed > 0 {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}
