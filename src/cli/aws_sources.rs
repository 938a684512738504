//! Live AWS sources: `s3://bucket/prefix` for `ingest flow-logs` and `ingest aws-config`, and
//! `ingest ec2` (a read-only snapshot of interfaces and security groups).

use std::path::PathBuf;

use super::Outcome;
use super::ingest::Report;
use super::progress::Progress;
use crate::aws::{Aws, AwsOptions, DEFAULT_CONCURRENCY, KeyKind, S3Object, days_from_civil};
use crate::ingest::IngestError;
use crate::ingest::awsconfig::{read_config, snapshot_observations};
use crate::ingest::flowlog::parallel::hash_bytes;
use crate::ingest::flowlog::{ReadOptions, read_object};
use crate::ingest::inventory::PrefixListState;
use crate::store::{Committed, LedgerEntry, Store, StoreError};

/// Options of commands that read from S3.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct S3Options {
    #[command(flatten)]
    pub(crate) aws: AwsOptions,
    /// Only objects whose key date is on or after this day (YYYY-MM-DD, UTC); pruned before
    /// downloading.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub(crate) since: Option<i64>,
    /// Only objects whose key date is on or before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub(crate) until: Option<i64>,
    /// Downloads at once.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY)]
    pub(crate) concurrency: usize,
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

/// Whether a source names an S3 prefix.
pub(crate) fn is_s3(source: &std::path::Path) -> bool {
    source.to_str().is_some_and(|s| s.starts_with("s3://"))
}

/// Lists the prefixes, keeps the objects of `kinds` (and undated ones) not ingested yet.
fn objects_to_read(
    aws: &Aws,
    store: &Store,
    urls: &[PathBuf],
    s3: &S3Options,
    kinds: &[KeyKind],
    report: &mut Report,
) -> miette::Result<Vec<S3Object>> {
    let mut objects = Vec::new();
    let known = store.known_hashes()?;
    for url in urls {
        let listing = aws.s3_list(&url.to_string_lossy(), s3.since, s3.until)?;
        report.pruned += listing.pruned;
        report.skipped += listing.skipped;
        for object in listing.objects {
            if object
                .info
                .as_ref()
                .is_some_and(|i| !kinds.contains(&i.kind))
            {
                report.skipped += 1;
            } else if store
                .known_source(&object.source(), object.size, Some(object.last_modified))?
                .is_some()
            {
                report.unchanged += 1;
            } else if known.contains(&object.content_hash()) {
                report.duplicates += 1;
            } else {
                objects.push(object);
            }
        }
    }
    Ok(objects)
}

fn entry(kind: &'static str, object: &S3Object, fields: String) -> LedgerEntry {
    LedgerEntry {
        kind,
        source: object.source(),
        size: object.size,
        mtime: Some(object.last_modified),
        content_hash: object.content_hash(),
        fields,
    }
}

/// Flow logs from S3 prefixes: listed, pruned by key date, downloaded with bounded concurrency
/// into memory (never to disk), each object stored in its own transaction with its ledger row.
pub(crate) fn flow_logs(
    store: &mut Store,
    urls: &[PathBuf],
    s3: &S3Options,
    options: ReadOptions,
    quiet: bool,
    report: &mut Report,
) -> miette::Result<()> {
    let aws = Aws::connect(&s3.aws)?;
    let objects = objects_to_read(&aws, store, urls, s3, &[KeyKind::FlowLog], report)?;
    let progress = Progress::bytes(objects.iter().map(|o| o.size).sum(), quiet);
    let result = aws.s3_fetch(
        objects,
        s3.concurrency,
        |object, bytes| -> miette::Result<()> {
            let outcome = bytes
                .map_err(miette::Report::new)
                .and_then(|bytes| store_flow_log(store, &object, bytes, options));
            match outcome {
                Ok((committed, records, malformed, problems)) => {
                    for line in problems {
                        progress.println(&line);
                    }
                    match committed {
                        Committed::Stored { rows } => {
                            report.stored += 1;
                            report.records += records;
                            report.malformed += malformed;
                            report.rows += rows as u64;
                        }
                        Committed::Duplicate { .. } => report.duplicates += 1,
                    }
                    progress.file_done(object.size, records);
                }
                Err(error) => {
                    store.abort_parts();
                    report.failed += 1;
                    progress.println(&format!("{error:?}"));
                    progress.file_done(object.size, 0);
                }
            }
            Ok(())
        },
    );
    progress.finish();
    result?;
    Ok(())
}

type Stored = (Committed, u64, u64, Vec<String>);

fn store_flow_log(
    store: &mut Store,
    object: &S3Object,
    bytes: Vec<u8>,
    options: ReadOptions,
) -> miette::Result<Stored> {
    let name = PathBuf::from(object.source());
    let hash = object.content_hash();
    let mut store_error: Option<StoreError> = None;
    let read = read_object(&name, bytes, options, &mut |part| {
        store.write_part(&hash, part).map_err(|e| {
            store_error = Some(e);
            IngestError::Io {
                path: name.clone(),
                source: std::io::Error::other("the evidence store failed"),
            }
        })
    });
    if let Some(e) = store_error {
        return Err(e.into());
    }
    let read = read?;
    let problems = read
        .problems
        .iter()
        .map(|(line, reason)| format!("warning: {}:{line}: {reason}", name.display()))
        .collect();
    let (records, malformed) = (read.evidence.records, read.evidence.malformed_total());
    let committed = store.commit_file(
        &entry("flow-log", object, read.fields.clone()),
        read.evidence,
    )?;
    Ok((committed, records, malformed, problems))
}

/// AWS Config snapshots and history files from S3 prefixes.
pub(crate) fn aws_config(
    store: &mut Store,
    urls: &[PathBuf],
    s3: &S3Options,
    report: &mut Report,
) -> miette::Result<()> {
    let aws = Aws::connect(&s3.aws)?;
    let kinds = [KeyKind::ConfigSnapshot, KeyKind::ConfigHistory];
    let objects = objects_to_read(&aws, store, urls, s3, &kinds, report)?;
    let result = aws.s3_fetch(
        objects,
        s3.concurrency,
        |object, bytes| -> miette::Result<()> {
            let outcome = bytes.map_err(miette::Report::new).and_then(|bytes| {
                let read = read_config(&PathBuf::from(object.source()), &bytes)?;
                let committed = store.commit_observations(
                    &entry("aws-config", &object, String::new()),
                    "config",
                    &read.observations,
                )?;
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
                    eprintln!("{error:?}");
                }
            }
            Ok(())
        },
    );
    result?;
    Ok(())
}

#[derive(Debug, clap::Args)]
pub(crate) struct Ec2Args {
    /// The evidence store (an `SQLite` file); created when missing.
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
