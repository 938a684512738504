//! Reading VPC Flow Log files (plain or gzip, with or without a header) into a per-file aggregate.

pub mod aggregate;
pub mod format;
pub mod parallel;
mod parquet;
pub mod record;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use aggregate::FileEvidence;
use format::{HeaderProblem, Layout};
use record::{Line, Malformed, parse_line};

use super::IngestError;
pub use super::files::Walk;

/// How many malformed lines of one file are reported by line number.
pub const REPORTED_PROBLEMS: usize = 5;

/// Options that shape what a file contributes.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Exact sources kept per group before folding into a "many sources" row.
    pub source_cap: usize,
    /// Malformed lines make the whole file fail.
    pub strict: bool,
    /// Rows after which what a file aggregated so far is handed over as a part (memory stays
    /// bounded whatever the file's size); 0 keeps the whole file in memory.
    pub part_rows: usize,
}

/// Receives the parts of a large file, in order, before its last part.
pub type OnPart<'a> = dyn FnMut(FileEvidence) -> Result<(), IngestError> + 'a;

/// A file read to the end (possibly with malformed lines).
#[derive(Debug)]
pub struct FileRead {
    pub evidence: FileEvidence,
    /// The field names of the file (its header, or the default v2 set).
    pub fields: String,
    /// The first malformed lines: (line number, reason).
    pub problems: Vec<(u64, Malformed)>,
}

/// Reads a whole file: decompresses when it starts with the gzip magic bytes. `on_bytes` hears
/// of every chunk of raw bytes read (for progress).
pub fn read_path(
    path: &Path,
    options: ReadOptions,
    on_bytes: &(dyn Fn(u64) + Sync),
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_owned(),
        source,
    };
    let counting = Counting {
        inner: File::open(path).map_err(io)?,
        on_bytes,
    };
    let mut file = BufReader::with_capacity(256 * 1024, counting);
    let head = file.fill_buf().map_err(io)?;
    if head.starts_with(parquet::MAGIC) {
        return parquet::read_file(path, options, on_bytes, on_part);
    }
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(file);
        read_lines_in_parts(
            path,
            BufReader::with_capacity(256 * 1024, decoder),
            options,
            on_part,
        )
    } else {
        read_lines_in_parts(path, file, options, on_part)
    }
}

/// Reads a file already in memory (an S3 object); `name` only names it in messages.
pub fn read_bytes(
    name: &Path,
    bytes: &[u8],
    options: ReadOptions,
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let decoder = flate2::bufread::MultiGzDecoder::new(bytes);
        read_lines_in_parts(
            name,
            BufReader::with_capacity(256 * 1024, decoder),
            options,
            on_part,
        )
    } else {
        read_lines_in_parts(name, bytes, options, on_part)
    }
}

/// Reads an object already in memory and owned (an S3 object): Parquet is read in place, text
/// as in `read_bytes`.
pub fn read_object(
    name: &Path,
    bytes: Vec<u8>,
    options: ReadOptions,
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    if bytes.starts_with(parquet::MAGIC) {
        parquet::read_owned(name, bytes, options, on_part)
    } else {
        read_bytes(name, &bytes, options, on_part)
    }
}

/// A reader that reports how many bytes went through it.
struct Counting<'a, R> {
    inner: R,
    on_bytes: &'a (dyn Fn(u64) + Sync),
}

impl<R: std::io::Read> std::io::Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.on_bytes)(n as u64);
        Ok(n)
    }
}

/// Reads flow-log lines from any reader; `path` only names the source in messages.
pub fn read_lines(
    path: &Path,
    input: impl BufRead,
    options: ReadOptions,
) -> Result<FileRead, IngestError> {
    let whole = ReadOptions {
        part_rows: 0,
        ..options
    };
    read_lines_in_parts(path, input, whole, &mut |_| Ok(()))
}

/// As `read_lines`, handing over parts of the aggregate as it passes `options.part_rows` rows.
pub fn read_lines_in_parts(
    path: &Path,
    mut input: impl BufRead,
    options: ReadOptions,
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    let mut evidence = FileEvidence::new(options.source_cap);
    let mut problems = Vec::new();
    let mut buf = Vec::with_capacity(512);
    let mut layout: Option<Layout> = None;
    let mut number = 0u64;
    loop {
        buf.clear();
        let complete = match input.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => buf.ends_with(b"\n"),
            // A truncated or corrupt compressed stream: what was decoded so far stays; the partial
            // line (if any) is counted as truncated.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::InvalidInput
                        | std::io::ErrorKind::InvalidData
                ) =>
            {
                if number == 0 && buf.is_empty() {
                    return Err(IngestError::NotFlowLog {
                        path: path.to_owned(),
                        line: 1,
                        reason: format!("the compressed data cannot be read ({e})"),
                    });
                }
                number += 1;
                evidence.add_malformed(Malformed::Truncated.kind());
                note(&mut problems, number, Malformed::Truncated, path, options)?;
                break;
            }
            Err(e) => {
                return Err(IngestError::Io {
                    path: path.to_owned(),
                    source: e,
                });
            }
        };
        number += 1;
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_end_matches(['\n', '\r']),
            Err(_) if number == 1 => {
                return Err(not_flow_log(path, "the file is binary or not UTF-8 text"));
            }
            Err(_) => {
                evidence.add_malformed(Malformed::NotUtf8.kind());
                note(&mut problems, number, Malformed::NotUtf8, path, options)?;
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        let layout = if let Some(l) = &layout {
            l
        } else {
            let first = first_layout(path, text)?;
            let from_header = first.from_header;
            let l = layout.insert(first);
            if from_header {
                continue;
            }
            l
        };
        if !complete {
            // The file ends without a newline. Accept a complete last record; a cut one is truncated.
            if parse_line(layout, text).is_err() {
                evidence.add_malformed(Malformed::Truncated.kind());
                note(&mut problems, number, Malformed::Truncated, path, options)?;
                continue;
            }
        }
        match parse_line(layout, text) {
            Ok(Line::Traffic(t, version)) => {
                evidence.add_traffic(&t, version);
                if options.part_rows > 0 && evidence.rows() >= options.part_rows {
                    on_part(evidence.take_part())?;
                }
            }
            Ok(Line::Gap {
                interface,
                start,
                end,
                skipped,
                version,
            }) => {
                evidence.add_gap(interface, start, end, skipped, version);
            }
            Err(m) => {
                evidence.add_malformed(m.kind());
                note(&mut problems, number, m, path, options)?;
            }
        }
    }
    let fields = layout.map_or_else(|| Layout::default_v2().names, |l| l.names);
    Ok(FileRead {
        evidence,
        fields,
        problems,
    })
}

/// Decides the layout from the first non-empty line: a header, or a v2 record.
fn first_layout(path: &Path, text: &str) -> Result<Layout, IngestError> {
    match Layout::parse_header(text) {
        Ok(layout) => Ok(layout),
        Err(HeaderProblem::MissingField(field)) => Err(IngestError::MissingField {
            path: path.to_owned(),
            field,
        }),
        Err(HeaderProblem::Duplicate(field)) => Err(not_flow_log(
            path,
            &format!("the header names the field `{field}` twice"),
        )),
        Err(HeaderProblem::NotAHeader) => {
            let v2 = Layout::default_v2();
            match parse_line(&v2, text) {
                Ok(_) => Ok(v2),
                Err(reason) => {
                    let looks_like_json = text.trim_start().starts_with(['{', '[']);
                    let reason = if looks_like_json {
                        "it holds JSON, not flow-log text".to_owned()
                    } else {
                        format!(
                            "line 1 is neither a header of flow-log field names nor a default-format record ({reason})"
                        )
                    };
                    Err(not_flow_log(path, &reason))
                }
            }
        }
    }
}

fn not_flow_log(path: &Path, reason: &str) -> IngestError {
    IngestError::NotFlowLog {
        path: path.to_owned(),
        line: 1,
        reason: reason.to_owned(),
    }
}

fn note(
    problems: &mut Vec<(u64, Malformed)>,
    line: u64,
    reason: Malformed,
    path: &Path,
    options: ReadOptions,
) -> Result<(), IngestError> {
    if options.strict {
        return Err(IngestError::Strict {
            path: path.to_owned(),
            line,
            reason: reason.to_string(),
        });
    }
    if problems.len() < REPORTED_PROBLEMS {
        problems.push((line, reason));
    }
    Ok(())
}

/// Lists the flow-log files of the sources (see `files::walk`).
pub fn walk(sources: &[PathBuf]) -> Result<Walk, IngestError> {
    super::files::walk(sources, tried)
}

/// `.log`, `.log.gz`, `.gz`, `.txt`, `.parquet` and files without an extension are tried.
fn tried(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        None => true,
        Some(ext) => ["log", "gz", "txt", "parquet"].contains(&ext.to_ascii_lowercase().as_str()),
    }
}
