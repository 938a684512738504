//! Flow logs from every kind of source: local files and S3 objects go through the same parsing
//! workers (objects are downloaded into a queue as long as the concurrency, parsed on every core,
//! and each merged with its ledger row into the store's open batch, see `Store::flush`);
//! CloudWatch Logs page by page.

use std::path::{Path, PathBuf};

use super::{Observer, Report, RunOptions, Source, Stopped, formats};
use crate::aws::{Aws, KeyKind, S3Object};
use crate::ingest::IngestError;
use crate::ingest::flowlog::parallel::{self, Input, Job};
use crate::ingest::flowlog::{Shape, walk};
use crate::store::{Committed, FileFacts, LedgerEntry, Store};

/// Reads every source into the store: local files first, then S3 prefixes, then CloudWatch Logs.
pub fn flow_logs(
    store: &mut Store,
    sources: &[Source],
    options: &RunOptions,
    observer: &dyn Observer,
) -> miette::Result<Report> {
    let mut report = Report::default();
    let local = super::local_paths(sources);
    if !local.is_empty() {
        local_files(store, &local, options, observer, &mut report)?;
    }
    let urls = super::s3_urls(sources);
    let needs_aws = sources.iter().any(|s| !matches!(s, Source::Local(_)));
    let aws = if needs_aws {
        Some(Aws::connect(&options.aws)?)
    } else {
        None
    };
    if let (Some(aws), false) = (&aws, urls.is_empty()) {
        s3_objects(aws, store, &urls, options, observer, &mut report)?;
    }
    for source in sources {
        if let (
            Source::CloudWatch {
                group,
                stream_prefix,
            },
            Some(aws),
        ) = (source, &aws)
        {
            super::cloudwatch::ingest(
                aws,
                store,
                group,
                stream_prefix.as_deref(),
                options,
                observer,
                &mut report,
            )?;
        }
    }
    store.flush()?;
    Ok(report)
}

fn local_files(
    store: &mut Store,
    paths: &[PathBuf],
    options: &RunOptions,
    observer: &dyn Observer,
    report: &mut Report,
) -> miette::Result<()> {
    let walked = walk(paths)?;
    report.skipped += walked.skipped.len() as u64;
    let mut jobs = Vec::new();
    for path in walked.files {
        let mut job = job_for(&path).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        match store.previous_of(&job.source)? {
            Some(p) if p.size == job.size && p.mtime == job.mtime => report.unchanged += 1,
            previous => {
                job.previous = previous;
                jobs.push(job);
            }
        }
    }
    let known = store.known_hashes()?;
    observer.add_total(jobs.iter().map(|j| j.size).sum());
    let threads = options.threads().clamp(1, jobs.len().max(1));
    let mut assumed = Assumed::new();
    let result = parallel::read_all(
        &jobs,
        &known,
        options.read,
        shape(options),
        threads,
        &|n| observer.bytes_read(n),
        |outcome| consume(store, outcome, observer, report, &mut assumed),
    );
    note_assumed(&assumed, observer);
    result
}

/// Headerless sources read as all fields of a version: per version, how many and the first name.
type Assumed = std::collections::BTreeMap<u8, (u64, PathBuf)>;

fn shape(options: &RunOptions) -> Shape<'_> {
    Shape {
        layout: options.log_format.as_ref(),
        accept_incomplete: options.accept_incomplete,
        counted: None,
    }
}

/// One note per version (not per line or file) for sources read by their width.
fn note_assumed(assumed: &Assumed, observer: &dyn Observer) {
    for (version, (files, first)) in assumed {
        let fields = crate::ingest::flowlog::format::ALL_FIELDS_WIDTHS
            .iter()
            .find(|(_, v)| v == version)
            .map_or(0, |(w, _)| *w);
        let which = if *files == 1 {
            format!("{} has", first.display())
        } else {
            format!("{files} files (the first: {}) have", first.display())
        };
        observer.note(&format!(
            "note: {which} no header line and {fields} fields: read as all fields of version \
             {version} in AWS's documented order; pass --log-format if your flow log uses a custom \
             format"
        ));
    }
}

/// Commits what the workers made of one object (or one part of it).
fn consume(
    store: &mut Store,
    outcome: parallel::Outcome,
    observer: &dyn Observer,
    report: &mut Report,
    assumed: &mut Assumed,
) -> miette::Result<()> {
    match outcome {
        parallel::Outcome::Part { hash, evidence, .. } => {
            store.write_part(&hash, *evidence)?;
        }
        parallel::Outcome::Read { job, hash, read } => {
            let name = job.path.display();
            for (line, reason) in &read.problems {
                observer.note(&format!("warning: {name}:{line}: {reason}"));
            }
            let hidden = read
                .evidence
                .malformed_total()
                .saturating_sub(read.problems.len() as u64);
            if hidden > 0 {
                observer.note(&format!("warning: {name}: {hidden} more malformed lines"));
            }
            for note in &read.notes {
                observer.note(&format!("note: {note}"));
            }
            if let Some(version) = read.assumed {
                // Named by the first file in name order, whatever order workers finish in.
                let seen = assumed.entry(version).or_insert((0, job.path.clone()));
                seen.0 += 1;
                if job.path < seen.1 {
                    seen.1.clone_from(&job.path);
                }
            }
            let entry = LedgerEntry {
                kind: "flow-log",
                source: job.source.clone(),
                size: job.size,
                mtime: job.mtime,
                content_hash: hash,
                fields: read.fields.clone(),
            };
            let facts = FileFacts {
                incomplete: read.incomplete,
                counted: Some(read.counted.clone()),
                continues: job.previous.as_ref().map(|p| p.id),
            };
            let (records, malformed) = (read.evidence.records, read.evidence.malformed_total());
            match store.commit_file_with(&entry, read.evidence, &facts, &|_| Ok(()))? {
                Committed::Stored { rows } => {
                    report.stored += 1;
                    report.records += records;
                    report.malformed += malformed;
                    report.rows += rows as u64;
                    report.continued += u64::from(facts.continues.is_some());
                    if read.incomplete {
                        report.incomplete += 1;
                        observer.note(&format!(
                            "warning: {name}: incomplete (the compressed stream ends before its \
                             end marker): its {records} whole records were ingested and the file \
                             is marked incomplete in the ledger; when the complete file arrives \
                             at this path, only the records after them are added"
                        ));
                    }
                }
                Committed::Duplicate { .. } => report.duplicates += 1,
            }
            observer.object_done(0, records);
            if let Err(stop) = observer.committed() {
                // What was merged before the stop stays.
                store.flush()?;
                return Err(Stopped(stop).into());
            }
        }
        parallel::Outcome::KnownContent { job, hash } => {
            // Only the mtime changed: the same content at the same path.
            if job
                .previous
                .as_ref()
                .is_some_and(|p| p.content_hash == hash)
            {
                report.unchanged += 1;
            } else {
                report.duplicates += 1;
            }
            observer.object_done(job.size, 0);
        }
        parallel::Outcome::Failed { error, .. } => {
            store.abort_parts();
            report.failed += 1;
            observer.note(&format!("{error:?}"));
            observer.object_done(0, 0);
        }
    }
    Ok(())
}

/// Lists the prefixes, keeps the objects of `kinds` (and undated ones) not ingested yet.
pub(super) fn s3_to_read(
    aws: &Aws,
    store: &Store,
    urls: &[&str],
    options: &RunOptions,
    kinds: &[KeyKind],
    report: &mut Report,
) -> miette::Result<Vec<S3Object>> {
    let mut objects = Vec::new();
    let known = store.known_hashes()?;
    for url in urls {
        let listing = aws.s3_list(url, options.since, options.until)?;
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

/// Flow logs from S3 prefixes: listed, pruned by key date, downloaded with bounded concurrency
/// into memory (never to disk) on the AWS thread while the workers parse what arrived.
fn s3_objects(
    aws: &Aws,
    store: &mut Store,
    urls: &[&str],
    options: &RunOptions,
    observer: &dyn Observer,
    report: &mut Report,
) -> miette::Result<()> {
    let objects = s3_to_read(aws, store, urls, options, &[KeyKind::FlowLog], report)?;
    if objects.is_empty() {
        return Ok(());
    }
    let formats = formats::for_objects(aws, store, &objects, observer)?;
    observer.add_total(objects.iter().map(|o| o.size).sum());
    let known = store.known_hashes()?;
    let concurrency = options.concurrency();
    let threads = options.threads().clamp(1, objects.len());
    // Downloaded objects wait here for a worker: at most `concurrency` of them in memory, plus
    // one per download in flight.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Job, Input)>(concurrency);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let _ = aws.s3_fetch(objects, concurrency, |object, bytes| {
                let job = Job {
                    path: PathBuf::from(object.source()),
                    source: object.source(),
                    size: object.size,
                    mtime: Some(object.last_modified),
                    content_hash: Some(object.content_hash()),
                    log_format: formats::flow_log_id(&object.key)
                        .and_then(|id| formats.get(id).cloned()),
                    previous: None,
                };
                let input = match bytes {
                    Ok(bytes) => Input::Bytes(bytes),
                    Err(error) => Input::Failed(miette::Report::new(error)),
                };
                // The receiver is gone when the run stopped: stop downloading too.
                tx.send((job, input)).map_err(drop)
            });
        });
        let mut assumed = Assumed::new();
        let result = parallel::read_inputs(
            rx.into_iter(),
            &known,
            options.read,
            shape(options),
            threads,
            &|n| observer.bytes_read(n),
            |outcome| consume(store, outcome, observer, report, &mut assumed),
        );
        note_assumed(&assumed, observer);
        result
    })
}

fn job_for(path: &Path) -> std::io::Result<Job> {
    let meta = std::fs::metadata(path)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    let source = std::fs::canonicalize(path)?.display().to_string();
    Ok(Job {
        path: path.to_owned(),
        source,
        size: meta.len(),
        mtime,
        content_hash: None,
        log_format: None,
        previous: None,
    })
}
