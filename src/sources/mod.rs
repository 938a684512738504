//! Ingest runs: one way in for every source. A [`Source`] is a local path, an `s3://` prefix or a
//! CloudWatch Logs group; this module lists what each holds, prunes it by date, fetches it, knows
//! its ledger identity (a canonical path, `s3://bucket/key` + `ETag`, a CloudWatch stream's event
//! ids) and stores every object whole with its ledger row. Flow logs and AWS Config use it the same
//! way; `cli` only parses arguments and prints. Sits above `store` and `aws` (it drives both).

pub mod cloudwatch;
mod config;
mod flow_logs;
mod formats;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use config::{ConfigReport, aws_config};
pub use flow_logs::flow_logs;

use crate::aws::{AwsError, AwsOptions, DEFAULT_CONCURRENCY, parse_s3_url};
use crate::ingest::flowlog::{Layout, ReadOptions};

/// Where evidence comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file or a directory (walked recursively).
    Local(PathBuf),
    /// `s3://bucket/prefix`.
    S3 { url: String },
    /// `cloudwatch://LOG_GROUP[/STREAM_PREFIX]`.
    CloudWatch {
        group: String,
        stream_prefix: Option<String>,
    },
}

impl Source {
    /// Reads a command-line source: `s3://…`, `cloudwatch://…`, or a local path.
    pub fn parse(text: &Path) -> Result<Source, AwsError> {
        let Some(s) = text.to_str() else {
            return Ok(Source::Local(text.to_owned()));
        };
        if s.starts_with("s3://") {
            parse_s3_url(s)?;
            return Ok(Source::S3 { url: s.to_owned() });
        }
        if let Some(rest) = s.strip_prefix("cloudwatch://") {
            return cloudwatch::parse_url(s, rest);
        }
        Ok(Source::Local(text.to_owned()))
    }
}

/// The local paths among `sources`, in order.
pub fn local_paths(sources: &[Source]) -> Vec<PathBuf> {
    sources
        .iter()
        .filter_map(|s| match s {
            Source::Local(path) => Some(path.clone()),
            _ => None,
        })
        .collect()
}

/// The `s3://` prefixes among `sources`, in order.
pub fn s3_urls(sources: &[Source]) -> Vec<&str> {
    sources
        .iter()
        .filter_map(|s| match s {
            Source::S3 { url } => Some(url.as_str()),
            _ => None,
        })
        .collect()
}

/// How to read the sources of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub aws: AwsOptions,
    /// Days since 1970-01-01 (UTC), inclusive: S3 objects by the date in their key, CloudWatch
    /// events by their timestamp. Local files are always read whole.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Downloads at once (0: the default).
    pub concurrency: usize,
    /// Parsing workers (0: one per core).
    pub threads: usize,
    pub read: ReadOptions,
    /// `--log-format`: the layout of sources without a header line, over a looked-up one.
    pub log_format: Option<Layout>,
    /// Keep the whole records of a compressed file cut short (marked incomplete in the ledger).
    pub accept_incomplete: bool,
    /// Events per `FilterLogEvents` page (`None`: the API's default).
    pub page_limit: Option<i32>,
}

impl RunOptions {
    fn concurrency(&self) -> usize {
        if self.concurrency == 0 {
            DEFAULT_CONCURRENCY
        } else {
            self.concurrency
        }
    }

    fn threads(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map_or(2, usize::from)
        } else {
            self.threads
        }
    }
}

/// Hears how a run goes (a progress bar, say). Called from the reading threads too.
pub trait Observer: Sync {
    /// The bytes about to be read, once known (may be called once per source).
    fn add_total(&self, _bytes: u64) {}
    /// Raw bytes read.
    fn bytes_read(&self, _bytes: u64) {}
    /// One object done: the raw bytes not reported while reading it, and the records it held.
    fn object_done(&self, _unreported: u64, _records: u64) {}
    /// A warning or an error about one object; the run goes on.
    fn note(&self, line: &str);
    /// After an object or a CloudWatch page is merged into the store; an error stops the run
    /// there (what was merged so far is committed and stays). Tests use it to interrupt a run.
    fn committed(&self) -> Result<(), String> {
        Ok(())
    }
}

/// What one flow-log run did, for its summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub stored: u64,
    pub records: u64,
    pub malformed: u64,
    /// Client rows the stored files merged into the store (each file's rows per group, summed).
    pub rows: u64,
    pub unchanged: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub pruned: u64,
    pub failed: u64,
    /// CloudWatch Logs pages stored (counted in `stored` too) and events already stored.
    pub pages: u64,
    pub events_seen: u64,
    /// Files ingested before that grew: only their new records were added.
    pub continued: u64,
    /// Files ingested with --accept-incomplete whose compressed stream was cut short.
    pub incomplete: u64,
}

impl Report {
    pub fn line(&self) -> String {
        let files = self.stored.saturating_sub(self.pages);
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let pages = if self.pages > 0 {
            format!(
                " and {} CloudWatch Logs page{}",
                self.pages,
                plural(self.pages)
            )
        } else {
            String::new()
        };
        let mut line = format!(
            "ingested {files} file{}{pages} ({} records, {} malformed lines skipped, {} rows merged)",
            plural(files),
            self.records,
            self.malformed,
            self.rows
        );
        for (n, what) in [
            (
                self.continued,
                "ingested before and since grown (only the new records added)",
            ),
            (self.incomplete, "incomplete (marked so in the ledger)"),
            (self.events_seen, "CloudWatch Logs events already ingested"),
            (self.unchanged, "already ingested, unchanged"),
            (self.duplicates, "same content as an ingested file"),
            (self.skipped, "skipped for their extension or key"),
            (self.pruned, "S3 objects outside --since/--until"),
            (self.failed, "failed"),
        ] {
            if n > 0 {
                let _ = write!(line, "; {n} {what}");
            }
        }
        line
    }
}

/// An observer's request to stop, as an error of the run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the ingest was stopped: {0}")]
#[diagnostic(
    code(tighten::ingest::stopped),
    help("what was committed before stays; run again to continue")
)]
pub struct Stopped(pub String);
