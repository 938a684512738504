//! Reading VPC Flow Log files (plain or gzip, with or without a header) into a per-file aggregate.
//!
//! A file is read line by line: its first line decides the field map (a header, the flow log's
//! format, or AWS's order by field count), a header repeated further down switches it. A
//! compressed stream cut short is refused unless the caller accepts incomplete files. What a
//! read counted (the text through its last whole line) is hashed, so that a later, longer copy
//! of the same file can be checked to continue it and only its new lines be added.

pub mod aggregate;
pub mod format;
pub mod parallel;
mod parquet;
pub mod record;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use aggregate::FileEvidence;
use format::HeaderProblem;
pub use format::{Layout, LogFormatError};
use record::{Line, Malformed, parse_line};
use xxhash_rust::xxh3::Xxh3;

use super::IngestError;
pub use super::files::Walk;

/// How many malformed lines of one file are reported by line number.
pub const REPORTED_PROBLEMS: usize = 5;

/// Options that shape what a file contributes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Exact sources kept per group before folding into a "many sources" row.
    pub source_cap: usize,
    /// Malformed lines make the whole file fail.
    pub strict: bool,
    /// Rows after which what a file aggregated so far is handed over as a part (memory stays
    /// bounded whatever the file's size); 0 keeps the whole file in memory.
    pub part_rows: usize,
}

/// What is known about one source before it is read. The default reads a file as tighten always
/// did: its header, else AWS's default format or all fields of a version by field count; a
/// compressed stream cut short is refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape<'a> {
    /// The flow log's format (its `LogFormat`) for records without a header line. A header line
    /// in the file wins over it.
    pub layout: Option<&'a Layout>,
    /// Keep the complete records of a compressed stream that ends before its end marker (the
    /// file is then reported as incomplete) instead of refusing the file.
    pub accept_incomplete: bool,
    /// What an earlier ingest of this source counted: its text must start with exactly that,
    /// and only what follows is read into the aggregate.
    pub counted: Option<&'a Counted>,
}

/// The text of a file that an ingest counted: its first `bytes` decompressed bytes (through the
/// last line read, whether a record, a gap, a header or a malformed line; never a line cut by
/// the end of the file), and their xxh3-128 hash.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counted {
    pub bytes: u64,
    pub hash: String,
}

/// What the ledger says of a file ingested before from the same source.
#[derive(Debug, Clone)]
pub struct Previous {
    pub id: i64,
    pub size: u64,
    pub mtime: Option<i64>,
    pub content_hash: String,
    /// The day it was ingested (or last continued), `YYYY-MM-DD`.
    pub ingested_on: String,
    pub complete: bool,
    /// `None` for rows written before schema version 4.
    pub counted: Option<Counted>,
}

/// Receives the parts of a large file, in order, before its last part.
pub type OnPart<'a> = dyn FnMut(FileEvidence) -> Result<(), IngestError> + 'a;

/// A file read to the end (possibly with malformed lines).
#[derive(Debug)]
pub struct FileRead {
    pub evidence: FileEvidence,
    /// The field names of the file (its first header, the given format, or the assumed one).
    pub fields: String,
    /// The first malformed lines: (line number, reason).
    pub problems: Vec<(u64, Malformed)>,
    /// The file has no header and was read as all fields of this version (3, 4, 5, 7 or 8).
    pub assumed: Option<u8>,
    /// The compressed stream ended before its end marker (only with `Shape::accept_incomplete`):
    /// the complete records before the cut were read, a torn last line dropped.
    pub incomplete: bool,
    /// The text this read counted, from the start of the file (see `Shape::counted`).
    pub counted: Counted,
    /// Things the user should know about how the file was read.
    pub notes: Vec<String>,
}

/// Reads a whole file: decompresses when it starts with the gzip magic bytes. `on_bytes` hears
/// of every chunk of raw bytes read (for progress).
pub fn read_path(
    path: &Path,
    options: ReadOptions,
    on_bytes: &(dyn Fn(u64) + Sync),
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    read_path_with(path, options, Shape::default(), on_bytes, on_part)
}

/// As `read_path`, with what is known of the source.
pub fn read_path_with(
    path: &Path,
    options: ReadOptions,
    shape: Shape<'_>,
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
        refuse_parquet_change(path, shape)?;
        return parquet::read_file(path, options, on_bytes, on_part);
    }
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(file);
        read_lines_with(path, decoder, options, shape, on_part)
    } else {
        read_lines_with(path, file, options, shape, on_part)
    }
}

/// Reads a file already in memory (an S3 object); `name` only names it in messages.
pub fn read_bytes(
    name: &Path,
    bytes: &[u8],
    options: ReadOptions,
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    read_bytes_with(name, bytes, options, Shape::default(), on_part)
}

/// As `read_bytes`, with what is known of the source (its flow log's format, for instance).
pub fn read_bytes_with(
    name: &Path,
    bytes: &[u8],
    options: ReadOptions,
    shape: Shape<'_>,
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let decoder = flate2::bufread::MultiGzDecoder::new(bytes);
        read_lines_with(name, decoder, options, shape, on_part)
    } else {
        read_lines_with(name, bytes, options, shape, on_part)
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
    read_object_with(name, bytes, options, Shape::default(), on_part)
}

/// As `read_object`, with what is known of the source.
pub fn read_object_with(
    name: &Path,
    bytes: Vec<u8>,
    options: ReadOptions,
    shape: Shape<'_>,
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    if bytes.starts_with(parquet::MAGIC) {
        refuse_parquet_change(name, shape)?;
        parquet::read_owned(name, bytes, options, on_part)
    } else {
        read_bytes_with(name, &bytes, options, shape, on_part)
    }
}

/// A Parquet file is whole or nothing: one that changed at a path ingested before cannot be
/// continued (its rows are not a text with a counted prefix), so it is refused.
fn refuse_parquet_change(path: &Path, shape: Shape<'_>) -> Result<(), IngestError> {
    match shape.counted {
        None => Ok(()),
        Some(_) => Err(changed(
            path,
            "it is a Parquet file now, and a changed Parquet file cannot be continued",
        )),
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
    input: impl Read,
    options: ReadOptions,
) -> Result<FileRead, IngestError> {
    let whole = ReadOptions {
        part_rows: 0,
        ..options
    };
    read_lines_with(path, input, whole, Shape::default(), &mut |_| Ok(()))
}

/// As `read_lines`, handing over parts of the aggregate as it passes `options.part_rows` rows.
pub fn read_lines_in_parts(
    path: &Path,
    input: impl Read,
    options: ReadOptions,
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    read_lines_with(path, input, options, Shape::default(), on_part)
}

/// The text already counted by an earlier ingest, checked as it is read again.
struct Prefix<'a> {
    counted: &'a Counted,
    /// Whether the text read so far matched it (checked once `counted.bytes` were read).
    verified: bool,
}

/// As `read_lines_in_parts`, with what is known of the source.
pub fn read_lines_with(
    path: &Path,
    input: impl Read,
    options: ReadOptions,
    shape: Shape<'_>,
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    let mut evidence = FileEvidence::new(options.source_cap);
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut input = LineReader::new(input);
    let mut layout: Option<Layout> = None;
    let mut fields: Option<String> = None;
    let mut assumed = None;
    let mut incomplete = false;
    let mut export: Option<bool> = None;
    let mut number = 0u64;
    // Decompressed bytes read so far, and the hash of those counted (every line but a cut one).
    let mut offset = 0u64;
    let mut hasher = Xxh3::new();
    let mut counted_bytes = 0u64;
    let mut prefix = shape.counted.map(|counted| Prefix {
        counted,
        verified: counted.bytes == 0,
    });
    loop {
        let buf = match input.next_line() {
            Ok(None) => break,
            Ok(Some(line)) => line,
            // The compressed stream ends before its end marker: an interrupted download.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                if !shape.accept_incomplete {
                    return Err(IngestError::Incomplete {
                        path: path.to_owned(),
                        lines: number,
                    });
                }
                incomplete = true;
                break;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData
                ) =>
            {
                if number == 0 && input.pending() == 0 {
                    return Err(IngestError::NotFlowLog {
                        path: path.to_owned(),
                        line: 1,
                        reason: format!("the compressed data cannot be read ({e})"),
                    });
                }
                return Err(IngestError::Corrupt {
                    path: path.to_owned(),
                    line: number + 1,
                    reason: e.to_string(),
                });
            }
            Err(e) => {
                return Err(IngestError::Io {
                    path: path.to_owned(),
                    source: e,
                });
            }
        };
        let complete = buf.ends_with(b"\n");
        number += 1;
        let start = offset;
        offset += buf.len() as u64;
        // Lines inside the text an earlier ingest counted are read for their headers only.
        let counting = match &mut prefix {
            Some(p) if !p.verified => {
                let end = p.counted.bytes;
                // The counted text may end with a last line without its newline: it has one now.
                let inside = offset <= end || (start < end && offset == end + 1 && complete);
                if start < end && !inside {
                    return Err(changed(path, &format!("line {number} differs")));
                }
                let own = usize::try_from(end.saturating_sub(start))
                    .map_or(buf.len(), |n| n.min(buf.len()));
                hasher.update(&buf[..own]);
                if offset >= end {
                    if hex(&hasher) != p.counted.hash {
                        return Err(changed(
                            path,
                            &format!("its first {end} bytes of text differ"),
                        ));
                    }
                    p.verified = true;
                }
                if inside {
                    hasher.update(&buf[own..]);
                    counted_bytes = offset;
                }
                !inside
            }
            _ => true,
        };
        let text = match std::str::from_utf8(buf) {
            Ok(t) => t.trim_end_matches(['\n', '\r']),
            Err(_) if number == 1 => {
                return Err(not_flow_log(path, "the file is binary or not UTF-8 text"));
            }
            Err(_) => {
                if counting {
                    count_line(&mut hasher, buf, &mut counted_bytes, offset);
                    evidence.add_malformed(Malformed::NotUtf8.kind());
                    note(&mut problems, number, Malformed::NotUtf8, path, options)?;
                }
                continue;
            }
        };
        if text.trim().is_empty() {
            if counting && complete {
                count_line(&mut hasher, buf, &mut counted_bytes, offset);
            }
            continue;
        }
        // A CloudWatch Logs export to S3: every line starts with the event's timestamp.
        let exported = *export.get_or_insert_with(|| strip_export_timestamp(text).is_some());
        let text = if exported {
            strip_export_timestamp(text).unwrap_or(text)
        } else {
            text
        };
        let current = if let Some(l) = &layout {
            l
        } else {
            // Inside the text counted before, a line that no longer reads means the file changed.
            let differs = |e| {
                if counting {
                    e
                } else {
                    changed(path, &format!("line {number} differs"))
                }
            };
            let (first, version) = first_layout(path, text, shape.layout).map_err(differs)?;
            if let Some(given) = shape.layout
                && first.from_header
                && first.names != given.names
            {
                notes.push(format!(
                    "{}: its header line differs from --log-format; the header was used",
                    path.display()
                ));
            }
            assumed = version;
            fields = Some(first.names.clone());
            let from_header = first.from_header;
            let l = layout.insert(first);
            if from_header {
                if counting {
                    count_line(&mut hasher, buf, &mut counted_bytes, offset);
                }
                continue;
            }
            l
        };
        let parsed = parse_line(current, text);
        let parsed = match parsed {
            Err(reason) => match later_header(path, number, text).map_err(|e| {
                if counting {
                    e
                } else {
                    changed(path, &format!("line {number} differs"))
                }
            })? {
                Some(header) => {
                    // A header repeated inside the file (deliveries joined with `cat`), perhaps
                    // naming other fields: it switches the field map for the lines after it.
                    layout = Some(header);
                    if counting {
                        count_line(&mut hasher, buf, &mut counted_bytes, offset);
                    }
                    continue;
                }
                None => Err(reason),
            },
            ok => ok,
        };
        if !counting {
            continue;
        }
        if !complete && parsed.is_err() {
            // The file ends without a newline in the middle of a record: counted as truncated,
            // and not part of the counted text (a longer copy of the file may complete it).
            evidence.add_malformed(Malformed::Truncated.kind());
            note(&mut problems, number, Malformed::Truncated, path, options)?;
            continue;
        }
        count_line(&mut hasher, buf, &mut counted_bytes, offset);
        match parsed {
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
    if let Some(p) = &prefix
        && !p.verified
    {
        if incomplete {
            return Err(IngestError::Incomplete {
                path: path.to_owned(),
                lines: number,
            });
        }
        return Err(changed(
            path,
            &format!(
                "it now holds {offset} bytes of text, fewer than the {} counted",
                p.counted.bytes
            ),
        ));
    }
    Ok(FileRead {
        evidence,
        fields: fields.unwrap_or_else(|| Layout::default_v2().names),
        problems,
        assumed,
        incomplete,
        counted: Counted {
            bytes: counted_bytes,
            hash: hex(&hasher),
        },
        notes,
    })
}

/// The lines of a reader, handed out in place from one buffer that the reader (the gzip
/// decoder, as a rule) fills directly: only a line cut by the end of a read is moved, to the
/// front. `read_until` into a line buffer copied every byte once more, and with its per-line
/// calls cost a tenth of reading.
struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// The first byte not handed out yet.
    start: usize,
    /// The end of the bytes read.
    end: usize,
    eof: bool,
}

impl<R: Read> LineReader<R> {
    fn new(inner: R) -> LineReader<R> {
        LineReader {
            inner,
            buf: vec![0; 256 * 1024],
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// The next line with its newline (without one at the end of the input), `None` at the end.
    /// An error of the reader is returned once the lines before it were handed out.
    fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let line = self.start..self.start + i + 1;
                self.start = line.end;
                return Ok(Some(&self.buf[line]));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let line = self.start..self.end;
                self.start = self.end;
                return Ok(Some(&self.buf[line]));
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                // A line longer than the buffer.
                self.buf.resize(self.buf.len() * 2, 0);
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Bytes of a line begun but not ended (read before an error).
    fn pending(&self) -> usize {
        self.end - self.start
    }
}

/// Strips the timestamp CloudWatch Logs puts before each line of an export to S3
/// (`2024-01-01T00:00:00.000Z MESSAGE`); `None` when the line has none.
pub fn strip_export_timestamp(line: &str) -> Option<&str> {
    let (stamp, rest) = line.split_once(' ')?;
    let b = stamp.as_bytes();
    let shaped = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b.ends_with(b"Z")
        && b[..4].iter().all(u8::is_ascii_digit);
    shaped.then_some(rest)
}

/// Adds a counted line (one after any earlier-counted text) to the hash of the counted text.
fn count_line(hasher: &mut Xxh3, line: &[u8], counted: &mut u64, end: u64) {
    hasher.update(line);
    *counted = end;
}

fn hex(hasher: &Xxh3) -> String {
    format!("{:032x}", hasher.digest128())
}

fn changed(path: &Path, what: &str) -> IngestError {
    IngestError::Changed {
        path: path.to_owned(),
        since: String::new(),
        change: what.to_owned(),
    }
}

/// A header line after the first line: a new field map, or `None` for a line that is no header.
fn later_header(path: &Path, line: u64, text: &str) -> Result<Option<Layout>, IngestError> {
    match Layout::parse_header(text) {
        Ok(layout) => Ok(Some(layout)),
        Err(HeaderProblem::NotAHeader) => Ok(None),
        Err(problem) => Err(header_error(path, line, problem)),
    }
}

fn header_error(path: &Path, line: u64, problem: HeaderProblem) -> IngestError {
    match problem {
        HeaderProblem::MissingField(field) => IngestError::MissingField {
            path: path.to_owned(),
            line,
            field,
        },
        HeaderProblem::Duplicate(field) => IngestError::NotFlowLog {
            path: path.to_owned(),
            line,
            reason: format!("the header names the field `{field}` twice"),
        },
        HeaderProblem::TransitGateway(field) => IngestError::TransitGateway {
            path: path.to_owned(),
            line,
            what: format!("its header names `{field}`"),
        },
        HeaderProblem::NotAHeader => not_flow_log(path, "line 1 is not a header"),
    }
}

/// Decides the layout from the first non-empty line: a header, the given format, AWS's default
/// format, or all fields of a version (returned with the layout).
fn first_layout(
    path: &Path,
    text: &str,
    given: Option<&Layout>,
) -> Result<(Layout, Option<u8>), IngestError> {
    match Layout::parse_header(text) {
        Ok(layout) => Ok((layout, None)),
        Err(HeaderProblem::NotAHeader) => headerless_layout(path, text, given),
        Err(problem) => Err(header_error(path, 1, problem)),
    }
}

fn headerless_layout(
    path: &Path,
    text: &str,
    given: Option<&Layout>,
) -> Result<(Layout, Option<u8>), IngestError> {
    if format::transit_gateway_record(text) {
        return Err(IngestError::TransitGateway {
            path: path.to_owned(),
            line: 1,
            what: "line 1 holds a transit gateway's resource type or id".to_owned(),
        });
    }
    if let Some(given) = given {
        return match parse_line(given, text) {
            Ok(_) => Ok((given.clone(), None)),
            Err(reason) => Err(not_flow_log(
                path,
                &format!("line 1 does not match the given log format ({reason})"),
            )),
        };
    }
    let width = text.split_ascii_whitespace().count();
    let by_width = format::ALL_FIELDS_WIDTHS
        .iter()
        .find(|(w, _)| *w == width)
        .and_then(|&(_, version)| Some((Layout::all_fields_of(version)?, version)));
    let guess = match by_width {
        Some((layout, 2)) => match parse_line(&layout, text) {
            Ok(_) => return Ok((layout, None)),
            Err(reason) => format!(
                "line 1 is neither a header of flow-log field names nor a default-format record ({reason})"
            ),
        },
        Some((layout, version)) => match parse_line(&layout, text) {
            Ok(Line::Traffic(_, v) | Line::Gap { version: v, .. }) if v == Some(version) => {
                return Ok((layout, Some(version)));
            }
            Ok(_) => format!(
                "line 1 has {width} fields, as all fields of version {version} have, but its first field is not the version {version}"
            ),
            Err(reason) => format!(
                "line 1 has {width} fields, as all fields of version {version} have, but does not read as them ({reason})"
            ),
        },
        None if text.trim_start().starts_with(['{', '[']) => {
            return Err(not_flow_log(path, "it holds JSON, not flow-log text"));
        }
        None => format!(
            "line 1 is neither a header of flow-log field names nor a record of a known format ({width} fields; AWS's default format has 14, all fields of version 3, 4, 5, 7 or 8 have 21, 25, 29, 39 or 40)"
        ),
    };
    Err(not_flow_log(
        path,
        &format!(
            "{guess}. If this is a flow log without a header line, pass its format with --log-format '${{version}} ${{account-id}} …' as `aws ec2 describe-flow-logs --query 'FlowLogs[].LogFormat'` prints it"
        ),
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: ReadOptions = ReadOptions {
        source_cap: 100,
        strict: false,
        part_rows: 0,
    };

    fn line(i: u32) -> String {
        format!(
            "2 123 eni-1 10.0.0.{i} 10.0.0.1 40000 22 6 3 180 1600000000 1600000060 ACCEPT OK\n"
        )
    }

    fn gzip(text: &str) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
        enc.finish().unwrap()
    }

    fn read(bytes: &[u8], shape: Shape<'_>) -> Result<FileRead, IngestError> {
        read_bytes_with(
            Path::new("f.log.gz"),
            bytes,
            OPTIONS,
            shape,
            &mut |_| Ok(()),
        )
    }

    #[test]
    fn cloudwatch_export_lines_lose_their_timestamp() {
        let record = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 60 1709769600 1709769660 ACCEPT OK";
        let line = format!("2024-03-07T00:00:01.000Z {record}");
        assert_eq!(strip_export_timestamp(&line), Some(record));
        assert_eq!(strip_export_timestamp(record), None);
        assert_eq!(strip_export_timestamp("version account-id"), None);
        let text = format!("{line}\n2024-03-07T00:00:02.500Z {record}\n");
        let read = read_lines(Path::new("x"), text.as_bytes(), OPTIONS).unwrap();
        assert_eq!(read.evidence.records, 2);
    }

    /// Two members, as deliveries joined with `cat`; cut at every byte.
    #[test]
    fn every_cut_of_a_gzip_file_is_incomplete_and_its_completion_adds_the_rest() {
        let first: String = (1..40).map(line).collect();
        let second: String = (40..60).map(line).collect();
        let mut whole = gzip(&first);
        whole.extend(gzip(&second));
        let full = read(&whole, Shape::default()).unwrap();
        assert_eq!((full.evidence.records, full.incomplete), (59, false));
        // A cut exactly between members leaves a whole gzip file: nothing tells it apart.
        let boundary = gzip(&first).len();
        for cut in 2..whole.len() {
            let part = &whole[..cut];
            let refused = read(part, Shape::default());
            if cut == boundary {
                assert_eq!(refused.unwrap().evidence.records, 39);
            } else if !matches!(refused, Err(IngestError::Incomplete { .. })) {
                panic!("cut at {cut} of {}: {refused:?}", whole.len());
            }
            let accept = Shape {
                accept_incomplete: true,
                ..Shape::default()
            };
            let early = match read(part, accept) {
                Ok(r) => r,
                // A cut inside the first member's header leaves no text at all.
                Err(IngestError::Incomplete { lines: 0, .. }) => continue,
                Err(e) => panic!("cut at {cut}: {e}"),
            };
            assert_eq!(early.incomplete, cut != boundary, "cut at {cut}");
            assert_eq!(early.evidence.malformed_total(), 0, "cut at {cut}");
            let rest = read(
                &whole,
                Shape {
                    counted: Some(&early.counted),
                    ..Shape::default()
                },
            )
            .unwrap();
            assert_eq!(
                early.evidence.records + rest.evidence.records,
                59,
                "cut at {cut}"
            );
            assert_eq!(rest.counted, full.counted, "cut at {cut}");
        }
    }

    fn read_text(text: &str) -> Result<FileRead, IngestError> {
        read_lines(Path::new("f.log"), text.as_bytes(), OPTIONS)
    }

    #[test]
    fn a_later_header_switches_the_map_and_is_checked_like_the_first() {
        let header = "interface-id srcaddr dstaddr srcport dstport protocol start";
        let read = read_text(&format!(
            "{}{header}\neni-2 10.0.0.7 10.0.0.1 40000 22 6 1600000000\n{}",
            line(1),
            line(2)
        ))
        .unwrap();
        // After the second header, a v2 record has the wrong field count.
        assert_eq!(
            (read.evidence.records, read.evidence.malformed_total()),
            (2, 1)
        );
        assert_eq!(read.problems[0].0, 4);
        let Err(IngestError::MissingField { line: 2, field, .. }) = read_text(&format!(
            "{}version srcaddr dstaddr srcport dstport protocol start\n",
            line(1)
        )) else {
            panic!("a later header without interface-id was accepted")
        };
        assert_eq!(field, "interface-id");
        assert!(matches!(
            read_text(&format!(
                "{}version resource-type tgw-id srcaddr\n",
                line(1)
            )),
            Err(IngestError::TransitGateway { line: 2, .. })
        ));
    }

    #[test]
    fn corrupt_compressed_data_is_refused() {
        let mut bytes = gzip(&(1..50).map(line).collect::<String>());
        let n = bytes.len();
        // The CRC of the trailer no longer matches.
        bytes[n - 8] ^= 0xff;
        assert!(matches!(
            read(
                &bytes,
                Shape {
                    accept_incomplete: true,
                    ..Shape::default()
                }
            ),
            Err(IngestError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_shorter_or_different_copy_is_not_continued() {
        let text: String = (1..30).map(line).collect();
        let first = read_text(&text[..text.len() / 2]).unwrap();
        assert_eq!(first.evidence.malformed_total(), 1, "the cut line");
        let again = |t: &str| {
            read_lines_with(
                Path::new("f.log"),
                t.as_bytes(),
                OPTIONS,
                Shape {
                    counted: Some(&first.counted),
                    ..Shape::default()
                },
                &mut |_| Ok(()),
            )
        };
        let rest = again(&text).unwrap();
        assert_eq!(first.evidence.records + rest.evidence.records, 29);
        assert_eq!(rest.evidence.malformed_total(), 0);
        assert!(matches!(
            again(&text[..text.len() / 3]),
            Err(IngestError::Changed { .. })
        ));
        let other = text.replacen("10.0.0.3 ", "10.0.0.4 ", 1);
        assert!(matches!(again(&other), Err(IngestError::Changed { .. })));
    }
}
