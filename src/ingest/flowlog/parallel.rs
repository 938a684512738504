//! Reading many files at once: worker threads hash and parse files, one consumer (the store
//! writer) receives each file's aggregate as soon as it is ready. Memory stays bounded by the
//! aggregates in flight: one per worker plus a channel slot each.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};

use xxhash_rust::xxh3::Xxh3;

use super::aggregate::FileEvidence;
use super::{FileRead, Previous, ReadOptions, Shape, read_path_with};
use crate::ingest::IngestError;

/// One file to ingest.
#[derive(Debug, Clone)]
pub struct Job {
    pub path: PathBuf,
    /// The name recorded in the ledger (canonical path).
    pub source: String,
    pub size: u64,
    pub mtime: Option<i64>,
    /// The ledger row of this source when it was ingested before with another size or mtime.
    pub previous: Option<Previous>,
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
        error: IngestError,
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

/// Reads `jobs` on `threads` workers and hands each outcome to `consume` on the calling thread.
/// Stops early (after in-flight files finish) when `consume` returns an error.
///
/// Memory: each worker holds at most one aggregate of `options.part_rows` rows (a larger file is
/// handed over in parts); the channel has no buffer. A worker sends a file's parts and its end
/// while holding the one send token, so the parts of a file never interleave with another file's
/// outcomes and the consumer can keep one file's transaction open across its parts.
pub fn read_all<E>(
    jobs: &[Job],
    known: &HashSet<String, impl std::hash::BuildHasher + Sync>,
    options: ReadOptions,
    shape: Shape<'_>,
    threads: usize,
    on_bytes: &(dyn Fn(u64) + Sync),
    mut consume: impl FnMut(Outcome) -> Result<(), E>,
) -> Result<(), E> {
    let next = AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let token = Mutex::new(());
    let threads = threads.clamp(1, jobs.len().max(1));
    let (tx, rx) = mpsc::sync_channel::<Outcome>(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop, token) = (&next, &stop, &token);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let mut held = None;
                    let outcome =
                        read_one(job, known, options, shape, on_bytes, &mut |hash, part| {
                            held.get_or_insert_with(|| {
                                token.lock().unwrap_or_else(PoisonError::into_inner)
                            });
                            let part = Outcome::Part {
                                job: job.clone(),
                                hash: hash.to_owned(),
                                evidence: Box::new(part),
                            };
                            tx.send(part).map_err(|_| stopped(&job.path))
                        });
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
    known: &HashSet<String, impl std::hash::BuildHasher>,
    options: ReadOptions,
    shape: Shape<'_>,
    on_bytes: &(dyn Fn(u64) + Sync),
    on_part: &mut dyn FnMut(&str, FileEvidence) -> Result<(), IngestError>,
) -> Outcome {
    let job = job.clone();
    let hash = match hash_file(&job.path) {
        Ok(h) => h,
        Err(error) => return Outcome::Failed { job, error },
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
                return Outcome::Failed { job, error };
            }
        }
    };
    let shape = Shape {
        counted: counted.as_ref(),
        ..shape
    };
    match read_path_with(&job.path, options, shape, on_bytes, &mut |part| {
        on_part(&hash, part)
    }) {
        Ok(read) => Outcome::Read {
            job,
            hash,
            read: Box::new(read),
        },
        Err(IngestError::Changed { change, .. }) => {
            let error = changed_error(&job, &hash, &change);
            Outcome::Failed { job, error }
        }
        Err(error) => Outcome::Failed { job, error },
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
