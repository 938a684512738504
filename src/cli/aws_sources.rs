//! Arguments of the live AWS sources (`s3://`, `cloudwatch://`) shared by `ingest flow-logs` and
//! `ingest aws-config`, and `ingest ec2` (a read-only snapshot of interfaces and security groups).

use std::path::PathBuf;

use super::Outcome;
use crate::aws::{Aws, AwsOptions, DEFAULT_CONCURRENCY, days_from_civil};
use crate::ingest::awsconfig::snapshot_observations;
use crate::ingest::flowlog::parallel::hash_bytes;
use crate::ingest::inventory::PrefixListState;
use crate::sources::{RunOptions, Source};
use crate::store::{LedgerEntry, Store};

/// Options of commands that read from S3.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct S3Options {
    #[command(flatten)]
    pub(crate) aws: AwsOptions,
    /// Only S3 objects whose key date (CloudWatch Logs events whose timestamp) is on or after this
    /// day (YYYY-MM-DD, UTC); pruned before downloading.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub(crate) since: Option<i64>,
    /// Only objects whose key date is on or before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub(crate) until: Option<i64>,
    /// Downloads at once.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY)]
    pub(crate) concurrency: usize,
    /// Events per CloudWatch Logs page (default: the API's, 10 000).
    #[arg(long, hide = true)]
    pub(crate) page_limit: Option<i32>,
}

impl S3Options {
    /// The run options these arguments give (reading options left at their defaults).
    pub(crate) fn run_options(&self) -> RunOptions {
        RunOptions {
            aws: self.aws.clone(),
            since: self.since,
            until: self.until,
            concurrency: self.concurrency,
            page_limit: self.page_limit,
            ..RunOptions::default()
        }
    }
}

/// The sources named on the command line.
pub(crate) fn parse_sources(sources: &[PathBuf]) -> miette::Result<Vec<Source>> {
    Ok(sources
        .iter()
        .map(|s| Source::parse(s))
        .collect::<Result<_, _>>()?)
}

pub(crate) fn parse_day(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a day: expected YYYY-MM-DD");
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let (y, m, d) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    days_from_civil(y, m, d).ok_or_else(bad)
}

#[derive(Debug, clap::Args)]
pub(crate) struct Ec2Args {
    /// The evidence store (an SQLite file); created when missing.
    #[arg(long, env = "TIGHTEN_DB", default_value = ".tighten/evidence.db")]
    pub(crate) db: PathBuf,
    #[command(flatten)]
    pub(crate) aws: AwsOptions,
    /// No summary line.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// `tighten ingest ec2`: a read-only snapshot (Describe calls only) of interfaces and security
/// groups in every `--region`, stored as states that hold from the snapshot time on.
pub(crate) fn ec2(args: &Ec2Args) -> miette::Result<Outcome> {
    let mut store = Store::open(&args.db, crate::store::DEFAULT_SOURCE_CAP)?;
    let aws = Aws::connect(&args.aws)?;
    for snapshot in aws.ec2_snapshot()? {
        let region = snapshot.region.clone();
        let (interfaces, groups, lists) = (
            snapshot.interfaces.len(),
            snapshot.groups.len(),
            snapshot.prefix_lists.len(),
        );
        let document = serde_json::json!({
            "region": snapshot.region,
            "taken_at": snapshot.taken_at,
            "interfaces": snapshot.interfaces,
            "groups": snapshot.groups,
            "prefix_lists": snapshot.prefix_lists.iter().map(|p| (&p.id, &p.entries)).collect::<Vec<_>>(),
        });
        let entry = LedgerEntry {
            kind: "ec2",
            source: format!("ec2://{}", snapshot.region),
            size: 0,
            mtime: Some(snapshot.taken_at),
            content_hash: hash_bytes(document.to_string().as_bytes()),
            fields: String::new(),
        };
        let prefix_lists = snapshot
            .prefix_lists
            .into_iter()
            .map(|p| PrefixListState {
                id: p.id,
                name: p.name,
                entries: p.entries,
            })
            .collect();
        let observations = snapshot_observations(
            snapshot.taken_at * 1000,
            snapshot.interfaces,
            snapshot.groups,
            prefix_lists,
        );
        store.commit_observations(&entry, "ec2", &observations)?;
        if !args.quiet {
            eprintln!(
                "ec2 {region}: {interfaces} network interfaces, {groups} security groups and {lists} managed prefix lists stored (valid from the snapshot time)"
            );
        }
    }
    Ok(Outcome::Success)
}
