//! AWS Config snapshots, history and change notifications from local files and S3 prefixes, each
//! file committed with its ledger row in one transaction; the S3 objects that oversized items'
//! notifications point at are read too.

use std::path::{Path, PathBuf};

use super::flow_logs::s3_to_read;
use super::{Observer, Report, RunOptions, Source};
use crate::aws::{Aws, KeyKind, S3Object};
use crate::ingest::IngestError;
use crate::ingest::awsconfig::read_config;
use crate::ingest::config_messages::OversizedItem;
use crate::ingest::files::walk;
use crate::ingest::flowlog::parallel::hash_bytes;
use crate::store::{Committed, LedgerEntry, Store};

/// What one AWS Config run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConfigReport {
    pub stored: u64,
    pub items: u64,
    pub new_items: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub failed: u64,
}

/// Reads AWS Config files from every source (CloudWatch Logs holds none: refused by the caller).
pub fn aws_config(
    store: &mut Store,
    sources: &[Source],
    options: &RunOptions,
    observer: &dyn Observer,
) -> miette::Result<ConfigReport> {
    let mut report = ConfigReport::default();
    let local = super::local_paths(sources);
    let walked = walk(&local, is_config_file)?;
    report.skipped += walked.skipped.len() as u64;
    for path in walked.files {
        match ingest_one(store, &path, observer) {
            Ok(Some((items, written))) => {
                report.stored += 1;
                report.items += items;
                report.new_items += written;
            }
            Ok(None) => report.unchanged += 1,
            Err(e) => {
                report.failed += 1;
                observer.note(&format!("{e:?}"));
            }
        }
    }
    let urls = super::s3_urls(sources);
    if !urls.is_empty() {
        let mut s3 = Report::default();
        from_s3(store, &urls, options, observer, &mut s3)?;
        report.stored += s3.stored;
        report.items += s3.records;
        report.new_items += s3.rows;
        report.unchanged += s3.unchanged + s3.duplicates;
        report.skipped += s3.skipped + s3.pruned;
        report.failed += s3.failed;
    }
    Ok(report)
}

fn entry(object: &S3Object) -> LedgerEntry {
    LedgerEntry {
        kind: "aws-config",
        source: object.source(),
        size: object.size,
        mtime: Some(object.last_modified),
        content_hash: object.content_hash(),
        fields: String::new(),
    }
}

fn from_s3(
    store: &mut Store,
    urls: &[&str],
    options: &RunOptions,
    observer: &dyn Observer,
    report: &mut Report,
) -> miette::Result<()> {
    let aws = Aws::connect(&options.aws)?;
    let kinds = [KeyKind::ConfigSnapshot, KeyKind::ConfigHistory];
    let objects = s3_to_read(&aws, store, urls, options, &kinds, report)?;
    let oversized = fetch_and_store(&aws, store, objects, options, observer, report)?;
    if oversized.is_empty() {
        return Ok(());
    }
    // Oversized items' notifications point at the objects that hold them: read those too
    // (whatever their date: the notification's own date brought them in).
    let pointed: Vec<&str> = oversized.iter().map(String::as_str).collect();
    let exact = RunOptions {
        since: None,
        until: None,
        ..options.clone()
    };
    let every = [
        KeyKind::FlowLog,
        KeyKind::ConfigSnapshot,
        KeyKind::ConfigHistory,
    ];
    // A pointer that cannot be followed (another bucket, no permission) fails alone.
    match s3_to_read(&aws, store, &pointed, &exact, &every, report) {
        Ok(mut objects) => {
            objects.retain(|o| oversized.contains(&o.source()));
            fetch_and_store(&aws, store, objects, options, observer, report)?;
        }
        Err(error) => {
            report.failed += 1;
            observer.note(&format!(
                "{error:?}\nnote: these objects hold oversized configuration items: {}",
                oversized.join(", ")
            ));
        }
    }
    Ok(())
}

/// Downloads and commits `objects`; returns the `s3://` objects oversized items point at.
fn fetch_and_store(
    aws: &Aws,
    store: &mut Store,
    objects: Vec<S3Object>,
    options: &RunOptions,
    observer: &dyn Observer,
    report: &mut Report,
) -> miette::Result<Vec<String>> {
    let mut oversized = Vec::new();
    aws.s3_fetch(
        objects,
        options.concurrency(),
        |object, bytes| -> miette::Result<()> {
            let outcome = bytes.map_err(miette::Report::new).and_then(|bytes| {
                let read = read_config(&PathBuf::from(object.source()), &bytes)?;
                for item in &read.oversized {
                    match item.url() {
                        Some(url) if item.error.is_none() => oversized.push(url),
                        _ => observer
                            .note(&format!("note: {}", oversized_note(&object.source(), item))),
                    }
                }
                let committed =
                    store.commit_observations(&entry(&object), "config", &read.observations)?;
                Ok((committed, read.observations.len() as u64))
            });
            match outcome {
                Ok((Committed::Stored { rows }, items)) => {
                    report.stored += 1;
                    report.records += items;
                    report.rows += rows as u64;
                }
                Ok((Committed::Duplicate { .. }, _)) => report.duplicates += 1,
                Err(error) => {
                    report.failed += 1;
                    observer.note(&format!("{error:?}"));
                }
            }
            Ok(())
        },
    )?;
    oversized.sort();
    oversized.dedup();
    Ok(oversized)
}

/// What to do about an oversized item's notification read from `source`.
fn oversized_note(source: &str, item: &OversizedItem) -> String {
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

/// Reads and commits one file; `None` when its content was ingested before.
fn ingest_one(
    store: &mut Store,
    path: &Path,
    observer: &dyn Observer,
) -> miette::Result<Option<(u64, u64)>> {
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
        observer.note(&format!(
            "note: {}",
            oversized_note(&path.display().to_string(), item)
        ));
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
