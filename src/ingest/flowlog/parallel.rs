//! Reading many files at once: worker threads hash and parse files (local paths, or objects
//! already downloaded into memory), one consumer (the store writer) receives each file's aggregate
//! as soon as it is ready. Memory stays bounded by the aggregates in flight: one per worker plus a
//! channel slot each (and, for downloaded objects, what the producer's bounded queue holds).

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError, mpsc};

use xxhash_rust::xxh3::Xxh3;

use super::aggregate::FileEvidence;
use super::format::Layout;
use super::{FileRead, Previous, ReadOptions, Shape, read_object_with, read_path_with};
use crate::ingest::IngestError;

/// One file to ingest.
#[derive(Debug, Clone, Default)]
pub struct Job {
    pub path: PathBuf,
    /// The name recorded in the ledger (canonical path, or `s3://bucket/key`).
    pub source: String,
    pub size: u64,
    pub mtime: Option<i64>,
    /// The ledger's content hash when the source gives one (an S3 `ETag`); else the bytes are
    /// hashed.
    pub content_hash: Option<String>,
    /// The object's own `LogFormat` (looked up by its flow-log id), over the shape's layout.
    pub log_format: Option<String>,
    /// The ledger row of this source when it was ingested before with another size or mtime.
    pub previous: Option<Previous>,
}

/// Where a job's bytes are.
#[derive(Debug)]
pub enum Input {
    /// Read `job.path` from disk.
    File,
    /// Downloaded into memory.
    Bytes(Vec<u8>),
    /// The download failed: reported as the job's failure.
    Failed(miette::Report),
}

/// What became of one file.
#[derive(Debug)]
pub enum Outcome {
    /// A part of a large file; its `Read` (or `Failed`) follows, and no other file's outcome
    /// comes in between.
    Part {
        job: Job,
        hash: String,
        evidence: Box<FileEvidence>,
    },
    Read {
        job: Job,
        hash: String,
        read: Box<FileRead>,
    },
    /// Its content is in the ledger already (under another name, or with another mtime).
    KnownContent {
        job: Job,
        hash: String,
    },
    Failed {
        job: Job,
        error: miette::Report,
    },
}

/// Hashes a file's raw bytes (xxh3-128, hex): the ledger's identity of an object.
pub fn hash_file(path: &Path) -> Result<String, IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:032x}", hasher.digest128()))
}

/// Hashes bytes already in memory, the same way as `hash_file`.
pub fn hash_bytes(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// Reads local files on `threads` workers (see [`read_inputs`]).
pub fn read_all<E>(
    jobs: &[Job],
    known: &HashSet<String, impl std::hash::BuildHasher + Sync>,
    options: ReadOptions,
    shape: Shape<'_>,
    threads: usize,
    on_bytes: &(dyn Fn(u64) + Sync),
    consume: impl FnMut(Outcome) -> Result<(), E>,
) -> Result<(), E> {
    let threads = threads.clamp(1, jobs.len().max(1));
    let inputs = jobs.iter().map(|job| (job.clone(), Input::File));
    read_inputs(inputs, known, options, shape, threads, on_bytes, consume)
}

/// Reads `inputs` (pulled one at a time, so a producer may still be downloading them) on
/// `threads` workers and hands each outcome to `consume` on the calling thread. Stops early
/// (after in-flight files finish) when `consume` returns an error; the rest of `inputs` is
/// dropped unread.
///
/// Memory: each worker holds at most one aggregate of `options.part_rows` rows (a larger file is
/// handed over in parts); the channel has no buffer. A worker sends a file's parts and its end
/// while holding the one send token, so the parts of a file never interleave with another file's
/// outcomes and the consumer can keep one file's transaction open across its parts.
pub fn read_inputs<E>(
    inputs: impl Iterator<Item = (Job, Input)> + Send,
    known: &HashSet<String, impl std::hash::BuildHasher + Sync>,
    options: ReadOptions,
    shape: Shape<'_>,
    threads: usize,
    on_bytes: &(dyn Fn(u64) + Sync),
    mut consume: impl FnMut(Outcome) -> Result<(), E>,
) -> Result<(), E> {
    let inputs = Mutex::new(inputs);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let token = Mutex::new(());
    let threads = threads.max(1);
    let (tx, rx) = mpsc::sync_channel::<Outcome>(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (inputs, stop, token) = (&inputs, &stop, &token);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let next = inputs.lock().unwrap_or_else(PoisonError::into_inner).next();
                    let Some((job, input)) = next else { break };
                    let job = &job;
                    let mut held = None;
                    let outcome = read_one(
                        job,
                        input,
                        known,
                        options,
                        shape,
                        on_bytes,
                        &mut |hash, mut part| {
                            part.seal();
                            held.get_or_insert_with(|| {
                                token.lock().unwrap_or_else(PoisonError::into_inner)
                            });
                            let part = Outcome::Part {
                                job: job.clone(),
                                hash: hash.to_owned(),
                                evidence: Box::new(part),
                            };
                            tx.send(part).map_err(|_| stopped(&job.path))
                        },
                    );
                    let _held = held
                        .unwrap_or_else(|| token.lock().unwrap_or_else(PoisonError::into_inner));
                    if tx.send(outcome).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut result = Ok(());
        for outcome in rx {
            if result.is_ok() {
                result = consume(outcome);
                if result.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
            }
        }
        result
    })
}

fn stopped(path: &Path) -> IngestError {
    IngestError::Io {
        path: path.to_owned(),
        source: std::io::Error::other("the ingest stopped before this file was read"),
    }
}

fn read_one(
    job: &Job,
    input: Input,
    known: &HashSet<String, impl std::hash::BuildHasher>,
    options: ReadOptions,
    shape: Shape<'_>,
    on_bytes: &(dyn Fn(u64) + Sync),
    on_part: &mut dyn FnMut(&str, FileEvidence) -> Result<(), IngestError>,
) -> Outcome {
    let job = job.clone();
    let failed = |job, error: IngestError| Outcome::Failed {
        job,
        error: miette::Report::new(error),
    };
    let hash = match (&job.content_hash, &input) {
        (_, Input::Failed(_)) => String::new(),
        (Some(hash), _) => hash.clone(),
        (None, Input::Bytes(bytes)) => hash_bytes(bytes),
        (None, Input::File) => match hash_file(&job.path) {
            Ok(h) => h,
            Err(error) => return failed(job, error),
        },
    };
    if known.contains(&hash) {
        return Outcome::KnownContent { job, hash };
    }
    // A file ingested before that changed: only a longer copy that continues exactly the text
    // counted then is read (and only past it); anything else would count records twice.
    let counted = match &job.previous {
        None => None,
        Some(previous) => {
            if let Some(counted) = &previous.counted {
                Some(counted.clone())
            } else {
                let error = changed_error(
                    &job,
                    &hash,
                    "the ledger row was written by an older tighten that did not record what it counted",
                );
                return failed(job, error);
            }
        }
    };
    // The object's own format (looked up by its flow-log id) over the one given for all.
    let own = match job.log_format.as_deref().map(Layout::from_log_format) {
        None => None,
        Some(Ok(layout)) => Some(layout),
        Some(Err(problem)) => {
            let error = IngestError::NotFlowLog {
                path: job.path.clone(),
                line: 1,
                reason: format!("its flow log's LogFormat cannot be used: {problem}"),
            };
            return failed(job, error);
        }
    };
    let shape = Shape {
        counted: counted.as_ref(),
        layout: own.as_ref().or(shape.layout),
        ..shape
    };
    let on_part = &mut |part| on_part(&hash, part);
    let read = match input {
        Input::Failed(error) => return Outcome::Failed { job, error },
        Input::File => read_path_with(&job.path, options, shape, on_bytes, on_part),
        Input::Bytes(bytes) => {
            on_bytes(bytes.len() as u64);
            read_object_with(&job.path, bytes, options, shape, on_part)
        }
    };
    match read {
        Ok(mut read) => {
            read.evidence.seal();
            Outcome::Read {
                job,
                hash,
                read: Box::new(read),
            }
        }
        Err(IngestError::Changed { change, .. }) => {
            let error = changed_error(&job, &hash, &change);
            failed(job, error)
        }
        Err(error) => failed(job, error),
    }
}
/// The refusal of a changed file, saying when it was ingested and what changed.
fn changed_error(job: &Job, hash: &str, change: &str) -> IngestError {
    let since = job.previous.as_ref().map_or_else(String::new, |p| {
        format!(
            " on {} (size {} → {} bytes, content hash {}… → {}…{})",
            p.ingested_on,
            p.size,
            job.size,
            p.content_hash.get(..12).unwrap_or(&p.content_hash),
            hash.get(..12).unwrap_or(hash),
            if p.complete {
                ""
            } else {
                "; it was incomplete then"
            }
        )
    });
    IngestError::Changed {
        path: job.path.clone(),
        since,
        change: change.to_owned(),
    }
}
