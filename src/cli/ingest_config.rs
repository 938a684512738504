//! `tighten ingest aws-config`: AWS Config snapshots and history into the store.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::Outcome;
use crate::ingest::IngestError;
use crate::ingest::awsconfig::read_config;
use crate::ingest::config_messages::OversizedItem;
use crate::ingest::files::walk;
use crate::ingest::flowlog::parallel::hash_bytes;
use crate::store::{Committed, LedgerEntry, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct AwsConfigArgs {
    /// The evidence store (an `SQLite` file); created when missing.
    #[arg(long, env = "TIGHTEN_DB", default_value = ".tighten/evidence.db")]
    pub(crate) db: PathBuf,
    /// Files or directories of AWS Config snapshot/history files (JSON, plain or gzip), output of
    /// `aws configservice get-resource-config-history`, configuration item change notifications
    /// (bare, or in SNS, SQS or `EventBridge` messages; one per line or an array), or
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

/// What one run did.
#[derive(Debug, Default)]
struct Report {
    stored: u64,
    items: u64,
    new_items: u64,
    unchanged: u64,
    skipped: u64,
    failed: u64,
}

pub(crate) fn run(args: &AwsConfigArgs) -> miette::Result<Outcome> {
    let mut store = Store::open(&args.db, crate::store::DEFAULT_SOURCE_CAP)?;
    let (s3_urls, local): (Vec<PathBuf>, Vec<PathBuf>) = args
        .sources
        .iter()
        .cloned()
        .partition(|s| super::aws_sources::is_s3(s));
    let walked = walk(&local, is_config_file)?;
    let mut report = Report {
        skipped: walked.skipped.len() as u64,
        ..Report::default()
    };
    for path in walked.files {
        match ingest_one(&mut store, &path) {
            Ok(Some((items, written))) => {
                report.stored += 1;
                report.items += items;
                report.new_items += written;
            }
            Ok(None) => report.unchanged += 1,
            Err(e) => {
                report.failed += 1;
                eprintln!("{e:?}");
            }
        }
    }
    if !s3_urls.is_empty() {
        let mut s3 = super::ingest::Report::default();
        super::aws_sources::aws_config(&mut store, &s3_urls, &args.s3, &mut s3)?;
        report.stored += s3.stored;
        report.items += s3.records;
        report.new_items += s3.rows;
        report.unchanged += s3.unchanged + s3.duplicates;
        report.skipped += s3.skipped + s3.pruned;
        report.failed += s3.failed;
    }
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

/// Reads and commits one file; `None` when its content was ingested before.
fn ingest_one(store: &mut Store, path: &Path) -> miette::Result<Option<(u64, u64)>> {
    let io = |source| IngestError::Io {
        path: path.to_owned(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let meta = std::fs::metadata(path).map_err(io)?;
    let source = std::fs::canonicalize(path)
        .map_err(io)?
        .display()
        .to_string();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    if store.known_source(&source, meta.len(), mtime)?.is_some() {
        return Ok(None);
    }
    let read = read_config(path, &bytes)?;
    for item in &read.oversized {
        eprintln!(
            "note: {}",
            oversized_note(&path.display().to_string(), item)
        );
    }
    let entry = LedgerEntry {
        kind: "aws-config",
        source,
        size: meta.len(),
        mtime,
        content_hash: hash_bytes(&bytes),
        fields: String::new(),
    };
    match store.commit_observations(&entry, "config", &read.observations)? {
        Committed::Stored { rows } => Ok(Some((read.observations.len() as u64, rows as u64))),
        Committed::Duplicate { .. } => Ok(None),
    }
}

/// What to do about an oversized item's notification read from `source`.
pub(crate) fn oversized_note(source: &str, item: &OversizedItem) -> String {
    let what = format!(
        "{source}: the configuration item of {} {} was too large for its change notification",
        item.resource_type, item.resource_id
    );
    match (item.url(), &item.error) {
        (Some(url), None) => format!(
            "{what}; AWS Config delivered it to {url}: ingest that object too \
             (`tighten ingest aws-config {url}`)"
        ),
        (_, Some(error)) => format!("{what}, and AWS Config could not deliver it to S3 ({error})"),
        (None, None) => format!("{what}; the notification names no S3 location"),
    }
}

/// `.json`, `.jsonl`, `.ndjson` and `.gz` files are tried; `ConfigWritabilityCheckFile` (Config's probe) is not.
fn is_config_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    !name.contains("configwritabilitycheckfile")
        && path.extension().is_some_and(|e| {
            ["json", "jsonl", "ndjson", "gz"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        })
}
