//! Reading VPC Flow Log files (plain or gzip, with or without a header) into a per-file aggregate.

pub mod aggregate;
pub mod format;
pub mod parallel;
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
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Exact sources kept per group before folding into a "many sources" row.
    pub source_cap: usize,
    /// Malformed lines make the whole file fail.
    pub strict: bool,
    /// Rows after which what a file aggregated so far is handed over as a part (memory stays
    /// bounded whatever the file's size); 0 keeps the whole file in memory.
    pub part_rows: usize,
    /// The flow log's `LogFormat` (`${version} ${account-id} …`, from `--log-format` or
    /// `ec2:DescribeFlowLogs`): the layout of a source without a header line (CloudWatch Logs
    /// events, exports). `None`: the default version-2 layout.
    pub log_format: Option<String>,
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
    let gzip = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
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
    let ReadOptions {
        source_cap,
        strict,
        part_rows,
        log_format,
    } = options;
    let mut evidence = FileEvidence::new(source_cap);
    let mut problems = Vec::new();
    let mut buf = Vec::with_capacity(512);
    let mut layout: Option<Layout> = None;
    let mut export: Option<bool> = None;
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
                note(&mut problems, number, Malformed::Truncated, path, strict)?;
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
                note(&mut problems, number, Malformed::NotUtf8, path, strict)?;
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        // A CloudWatch Logs export: every line starts with the event's timestamp.
        let exported = *export.get_or_insert_with(|| strip_export_timestamp(text).is_some());
        let text = if exported {
            strip_export_timestamp(text).unwrap_or(text)
        } else {
            text
        };
        let layout = if let Some(l) = &layout {
            l
        } else {
            let first = first_layout(path, text, log_format.as_deref())?;
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
                note(&mut problems, number, Malformed::Truncated, path, strict)?;
                continue;
            }
        }
        match parse_line(layout, text) {
            Ok(Line::Traffic(t, version)) => {
                evidence.add_traffic(&t, version);
                if part_rows > 0 && evidence.rows() >= part_rows {
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
                note(&mut problems, number, m, path, strict)?;
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

/// The layout a `LogFormat` string names. The one place where an explicit format becomes a
/// layout: the full `LogFormat` parser (format.rs) replaces this minimal one.
fn explicit_layout(path: &Path, log_format: &str) -> Result<Layout, IngestError> {
    let names: Vec<&str> = log_format
        .split_whitespace()
        .map(|f| f.trim_start_matches("${").trim_end_matches('}'))
        .collect();
    match Layout::parse_header(&names.join(" ")) {
        // The line that made us look the format up is a record, not a header.
        Ok(layout) => Ok(Layout {
            from_header: false,
            ..layout
        }),
        Err(HeaderProblem::MissingField(field)) => Err(IngestError::MissingField {
            path: path.to_owned(),
            field,
        }),
        Err(HeaderProblem::Duplicate(field)) => Err(not_flow_log(
            path,
            &format!("the log format names the field `{field}` twice"),
        )),
        Err(HeaderProblem::NotAHeader) => Err(not_flow_log(
            path,
            &format!("the log format `{log_format}` does not name flow-log fields"),
        )),
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

/// Decides the layout from the first non-empty line: a header, or else a record of the explicit
/// log format (when given) or of the default v2 layout.
fn first_layout(path: &Path, text: &str, log_format: Option<&str>) -> Result<Layout, IngestError> {
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
            if let Some(log_format) = log_format {
                return explicit_layout(path, log_format);
            }
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
    strict: bool,
) -> Result<(), IngestError> {
    if strict {
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

/// `.log`, `.log.gz`, `.gz`, `.txt` and files without an extension are tried.
fn tried(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        None => true,
        Some(ext) => ["log", "gz", "txt"].contains(&ext.to_ascii_lowercase().as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(log_format: Option<&str>) -> ReadOptions {
        ReadOptions {
            source_cap: 8,
            strict: true,
            part_rows: 0,
            log_format: log_format.map(str::to_owned),
        }
    }

    #[test]
    fn an_explicit_log_format_reads_headerless_records_from_the_first_line() {
        let text = "eni-1 10.0.0.1 10.0.0.2 40000 443 6 1709769600\neni-1 10.0.0.3 10.0.0.2 40001 443 6 1709769660\n";
        let format =
            "${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start}";
        let read = read_lines(Path::new("x"), text.as_bytes(), options(Some(format))).unwrap();
        assert_eq!(read.evidence.records, 2);
        assert_eq!(
            read.fields,
            "interface-id srcaddr dstaddr srcport dstport protocol start"
        );
        // Without it, the default v2 layout refuses the first line.
        assert!(read_lines(Path::new("x"), text.as_bytes(), options(None)).is_err());
        // A header still wins over the explicit format.
        let with_header =
            format!("interface-id srcaddr dstaddr srcport dstport protocol start\n{text}");
        let read = read_lines(
            Path::new("x"),
            with_header.as_bytes(),
            options(Some("${version}")),
        )
        .unwrap();
        assert_eq!(read.evidence.records, 2);
    }

    #[test]
    fn cloudwatch_export_lines_lose_their_timestamp() {
        let record = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 60 1709769600 1709769660 ACCEPT OK";
        let line = format!("2024-03-07T00:00:01.000Z {record}");
        assert_eq!(strip_export_timestamp(&line), Some(record));
        assert_eq!(strip_export_timestamp(record), None);
        assert_eq!(strip_export_timestamp("version account-id"), None);
        let text = format!("{line}\n2024-03-07T00:00:02.500Z {record}\n");
        let read = read_lines(Path::new("x"), text.as_bytes(), options(None)).unwrap();
        assert_eq!(read.evidence.records, 2);
    }
}
