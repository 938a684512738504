//! `tighten ingest evidence`: results of `athena-sql` (CSV files, or the Athena output location
//! `s3://…`) into the evidence store, each in one transaction with its ledger row.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::Outcome;
use crate::aws::{Aws, AwsOptions, DEFAULT_CONCURRENCY};
use crate::ingest::evidence_csv::{EvidenceRead, read_evidence};
use crate::ingest::flowlog::parallel::hash_bytes;
use crate::sources::{Report, Source};
use crate::store::{Committed, DEFAULT_SOURCE_CAP, LedgerEntry, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct EvidenceArgs {
    /// The evidence store (SQLite file); created when missing.
    #[arg(long, env = "TIGHTEN_DB", default_value = ".tighten/evidence.db")]
    pub(crate) db: PathBuf,
    /// Result files (.csv or .csv.gz), directories of them, or `s3://bucket/prefix` (the Athena
    /// query output location, or one result object).
    #[arg(required = true)]
    pub(crate) sources: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) aws: AwsOptions,
    /// No summary line.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// `.csv` and `.csv.gz`: what Athena writes (its `.metadata` and `.txt` files are skipped).
fn is_result(name: &str) -> bool {
    let name = Path::new(name);
    let ext = |p: &Path, e: &str| p.extension().is_some_and(|x| x.eq_ignore_ascii_case(e));
    ext(name, "csv")
        || (ext(name, "gz") && ext(Path::new(name.file_stem().unwrap_or_default()), "csv"))
}

pub(crate) fn run(args: &EvidenceArgs) -> miette::Result<Outcome> {
    let sources = super::aws_sources::parse_sources(&args.sources)?;
    if let Some(Source::CloudWatch { group, .. }) = sources
        .iter()
        .find(|s| matches!(s, Source::CloudWatch { .. }))
    {
        return Err(miette::miette!(
            help = "pass the query result files, folders or the Athena output location s3://…",
            "cloudwatch://{group}: query results are not delivered to CloudWatch Logs"
        ));
    }
    let local = crate::sources::local_paths(&sources);
    let s3_urls = crate::sources::s3_urls(&sources);
    let walked = crate::ingest::files::walk(&local, |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_result)
    })?;
    let mut store = Store::open(&args.db, DEFAULT_SOURCE_CAP)?;
    let mut report = Report {
        skipped: walked.skipped.len() as u64,
        ..Report::default()
    };
    for path in walked.files {
        let meta = std::fs::metadata(&path).ok();
        let size = meta.as_ref().map_or(0, std::fs::Metadata::len);
        let mtime = meta
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64);
        let source = std::fs::canonicalize(&path)
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string();
        if store.known_source(&source, size, mtime)?.is_some() {
            report.unchanged += 1;
            continue;
        }
        let outcome = std::fs::read(&path)
            .map_err(|e| {
                miette::Report::new(crate::ingest::IngestError::Io {
                    path: path.clone(),
                    source: e,
                })
            })
            .and_then(|bytes| import(&mut store, &path, source, size, mtime, &bytes));
        tally(&mut report, outcome);
    }
    if !s3_urls.is_empty() {
        let aws = Aws::connect(&args.aws)?;
        let mut objects = Vec::new();
        for url in &s3_urls {
            let listing = aws.s3_list(url, None, None)?;
            for object in listing.objects {
                if !is_result(&object.key) {
                    report.skipped += 1;
                } else if store
                    .known_source(&object.source(), object.size, Some(object.last_modified))?
                    .is_some()
                {
                    report.unchanged += 1;
                } else {
                    objects.push(object);
                }
            }
        }
        aws.s3_fetch(
            objects,
            DEFAULT_CONCURRENCY,
            |object, bytes| -> miette::Result<()> {
                let source = object.source();
                let outcome = bytes.map_err(miette::Report::new).and_then(|bytes| {
                    import(
                        &mut store,
                        Path::new(&source),
                        source.clone(),
                        object.size,
                        Some(object.last_modified),
                        &bytes,
                    )
                });
                tally(&mut report, outcome);
                Ok(())
            },
        )?;
    }
    store.flush()?;
    if !args.quiet {
        eprintln!("{}", summary(&report));
    }
    Ok(if report.failed > 0 {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}

fn summary(report: &Report) -> String {
    let mut line = format!(
        "imported {} result{} ({} records, {} rows merged)",
        report.stored,
        if report.stored == 1 { "" } else { "s" },
        report.records,
        report.rows
    );
    for (n, what) in [
        (report.unchanged, "already imported, unchanged"),
        (report.duplicates, "same content as an imported result"),
        (report.skipped, "skipped (not .csv or .csv.gz)"),
        (report.failed, "failed"),
    ] {
        if n > 0 {
            let _ = write!(line, "; {n} {what}");
        }
    }
    line
}

/// What one import did: stored (records, rows) or a duplicate.
type Imported = (Committed, u64);

fn tally(report: &mut Report, outcome: miette::Result<Imported>) {
    match outcome {
        Ok((Committed::Stored { rows }, records)) => {
            report.stored += 1;
            report.records += records;
            report.rows += rows as u64;
        }
        Ok((Committed::Duplicate { .. }, _)) => report.duplicates += 1,
        Err(error) => {
            report.failed += 1;
            eprintln!("{error:?}");
        }
    }
}

fn import(
    store: &mut Store,
    path: &Path,
    source: String,
    size: u64,
    mtime: Option<i64>,
    bytes: &[u8],
) -> miette::Result<Imported> {
    let EvidenceRead {
        evidence,
        meta,
        unreadable,
        ..
    } = read_evidence(path, bytes)?;
    if unreadable > 0 {
        eprintln!(
            "warning: {}: {unreadable} rows skipped: an address that is not IPv4 or IPv6 (ingest flow-logs skips such lines as malformed)",
            path.display()
        );
    }
    let records = evidence.records;
    store.set_source_cap(meta.cap)?;
    let entry = LedgerEntry {
        kind: "evidence",
        source,
        size,
        mtime,
        content_hash: hash_bytes(bytes),
        // What the query was rendered for: its window, field set, layout and cap.
        fields: meta.render(),
    };
    Ok((store.commit_file(&entry, evidence)?, records))
}
