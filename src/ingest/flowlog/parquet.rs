//! Parquet flow logs (`FileFormat=parquet`): columns found by name, read row group by row group in
//! batches, each row turned into the record the text parser makes of the same flow.
//!
//! AWS names the columns after the flow-log fields with `_` for `-` (`interface_id`,
//! `pkt_srcaddr`, …), types them INT32 (version, ports, protocol, tcp-flags, traffic-path), INT64
//! (packets, bytes, start, end) or strings, writes null where the text has `-`, and compresses the
//! pages with gzip. Each row is rendered as a text line of the columns tighten reads and parsed by
//! `record::parse_line`: both formats give the same records, malformed rows and reasons by
//! construction. Only the needed column chunks are read, one batch of rows at a time, so memory
//! is a page per needed column plus the batch, whatever the size of the file or of a row group.

use std::fmt::Write as _;
use std::path::Path;

use parquet::basic::{LogicalType, TimeUnit, Type as Physical};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::reader::{ChunkReader, FileReader, SerializedFileReader};
use parquet::schema::types::SchemaDescriptor;

use super::aggregate::FileEvidence;
use super::format::{Field, HeaderProblem, Layout};
use super::record::{Line, Malformed, parse_line};
use super::{FileRead, OnPart, REPORTED_PROBLEMS, ReadOptions};
use crate::ingest::IngestError;

/// The first (and last) four bytes of every Parquet file.
pub(crate) const MAGIC: &[u8; 4] = b"PAR1";

/// Rows decoded at once from each needed column.
const BATCH: usize = 4096;

/// Every field tighten reads, in the order the rendered line gives them.
const FIELDS: [Field; 17] = [
    Field::Version,
    Field::InterfaceId,
    Field::SrcAddr,
    Field::DstAddr,
    Field::SrcPort,
    Field::DstPort,
    Field::Protocol,
    Field::Packets,
    Field::Bytes,
    Field::Start,
    Field::End,
    Field::Action,
    Field::LogStatus,
    Field::PktSrcAddr,
    Field::PktDstAddr,
    Field::TcpFlags,
    Field::FlowDirection,
];

/// The Parquet column name of a field (`interface-id` is `interface_id`).
fn column_name(field: &str) -> String {
    field.replace('-', "_")
}

/// Reads a local Parquet file; `on_bytes` hears of each row group's compressed size.
pub(crate) fn read_file(
    path: &Path,
    options: ReadOptions,
    on_bytes: &(dyn Fn(u64) + Sync),
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    let file = std::fs::File::open(path).map_err(|source| IngestError::Io {
        path: path.to_owned(),
        source,
    })?;
    let size = file.metadata().map_or(0, |m| m.len());
    let mut reported = 0u64;
    let read = read_chunks(
        path,
        file,
        options,
        &mut |n| {
            reported += n;
            on_bytes(n);
        },
        on_part,
    );
    on_bytes(size.saturating_sub(reported));
    read
}

/// Reads a Parquet object already in memory (an S3 object); `name` only names it in messages.
pub(crate) fn read_owned(
    name: &Path,
    bytes: Vec<u8>,
    options: ReadOptions,
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    read_chunks(
        name,
        bytes::Bytes::from(bytes),
        options,
        &mut |_| {},
        on_part,
    )
}

fn read_chunks<R: ChunkReader + 'static>(
    path: &Path,
    input: R,
    options: ReadOptions,
    on_bytes: &mut dyn FnMut(u64),
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    // The decoders index by values from the file; a corrupt file must fail alone, not take the
    // whole ingest down with a panic.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_rows(path, input, options, on_bytes, on_part)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("the decoder failed");
        Err(corrupt(path, what))
    })
}

fn corrupt(path: &Path, reason: impl std::fmt::Display) -> IngestError {
    IngestError::Parquet {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// A column tighten reads: its index in the file and how to turn its values into text.
#[derive(Debug, Clone, Copy)]
struct Column {
    field: Field,
    index: usize,
    /// The definition level of a present value (0: the column cannot hold nulls).
    max_def: i16,
    /// Divisor that turns a timestamp column's unit into seconds (1 otherwise).
    per_second: i64,
}

/// Finds the columns by name and checks their types. Returns them in `FIELDS` order with the
/// layout of the rendered line and the file's field names (for the ledger).
fn find_columns(
    path: &Path,
    schema: &SchemaDescriptor,
) -> Result<(Vec<Column>, Layout, String), IngestError> {
    let mut columns = Vec::new();
    let mut names = Vec::new();
    for (index, descr) in schema.columns().iter().enumerate() {
        let parts = descr.path().parts();
        let name = parts.join(".").to_ascii_lowercase().replace('_', "-");
        names.push(name.clone());
        let Some(&field) = FIELDS.iter().find(|f| f.name() == name) else {
            continue;
        };
        if columns.iter().any(|c: &Column| c.field == field) {
            return Err(corrupt(
                path,
                format!("the column `{}` occurs twice", column_name(field.name())),
            ));
        }
        if descr.max_rep_level() > 0 {
            return Err(corrupt(
                path,
                format!(
                    "the column `{}` is a list; tighten reads one value per row",
                    column_name(field.name())
                ),
            ));
        }
        let physical = descr.physical_type();
        if !matches!(
            physical,
            Physical::INT32 | Physical::INT64 | Physical::BYTE_ARRAY
        ) {
            return Err(corrupt(
                path,
                format!(
                    "the column `{}` holds {physical}; tighten reads INT32, INT64 and strings",
                    column_name(field.name())
                ),
            ));
        }
        let per_second = match descr.logical_type_ref() {
            Some(LogicalType::Timestamp(t)) => match t.unit {
                TimeUnit::MILLIS => 1_000,
                TimeUnit::MICROS => 1_000_000,
                TimeUnit::NANOS => 1_000_000_000,
            },
            _ => 1,
        };
        columns.push(Column {
            field,
            index,
            max_def: descr.max_def_level(),
            per_second,
        });
    }
    columns.sort_by_key(|c| FIELDS.iter().position(|f| *f == c.field));
    let header = columns
        .iter()
        .map(|c| c.field.name())
        .collect::<Vec<_>>()
        .join(" ");
    let layout = match Layout::parse_header(&header) {
        Ok(layout) => layout,
        Err(HeaderProblem::MissingField(field)) => {
            return Err(IngestError::MissingColumn {
                path: path.to_owned(),
                column: column_name(field),
            });
        }
        Err(HeaderProblem::TransitGateway(field)) => {
            return Err(IngestError::TransitGateway {
                path: path.to_owned(),
                line: 1,
                what: format!("the column `{}`", column_name(&field)),
            });
        }
        Err(HeaderProblem::NotAHeader | HeaderProblem::Duplicate(_)) => {
            // No column of a flow-log field at all (a duplicate was refused above).
            return Err(IngestError::MissingColumn {
                path: path.to_owned(),
                column: column_name(Field::InterfaceId.name()),
            });
        }
    };
    Ok((columns, layout, names.join(" ")))
}

/// The typed reader of one column and the buffers of its current batch.
struct Cursor {
    column: Column,
    reader: Typed,
    defs: Vec<i16>,
}

enum Typed {
    Int32(ColumnReaderImpl<Int32Type>, Vec<i32>),
    Int64(ColumnReaderImpl<Int64Type>, Vec<i64>),
    Bytes(ColumnReaderImpl<ByteArrayType>, Vec<ByteArray>),
}

impl Cursor {
    fn new(column: Column, reader: ColumnReader) -> Option<Cursor> {
        let reader = match reader {
            ColumnReader::Int32ColumnReader(r) => Typed::Int32(r, Vec::new()),
            ColumnReader::Int64ColumnReader(r) => Typed::Int64(r, Vec::new()),
            ColumnReader::ByteArrayColumnReader(r) => Typed::Bytes(r, Vec::new()),
            _ => return None,
        };
        Some(Cursor {
            column,
            reader,
            defs: Vec::new(),
        })
    }

    /// Decodes the next `rows` values (nulls as definition levels); returns the rows read.
    fn read(&mut self, rows: usize) -> parquet::errors::Result<usize> {
        self.defs.clear();
        let defs = (self.column.max_def > 0).then_some(&mut self.defs);
        let (records, ..) = match &mut self.reader {
            Typed::Int32(r, values) => {
                values.clear();
                r.read_records(rows, defs, None, values)?
            }
            Typed::Int64(r, values) => {
                values.clear();
                r.read_records(rows, defs, None, values)?
            }
            Typed::Bytes(r, values) => {
                values.clear();
                r.read_records(rows, defs, None, values)?
            }
        };
        Ok(records)
    }

    /// Which value of the batch each row has (`None`: null).
    fn value_of_rows(&self, rows: usize, out: &mut Vec<Option<usize>>) {
        out.clear();
        if self.column.max_def > 0 {
            let mut next = 0;
            for &d in &self.defs {
                if d == self.column.max_def {
                    out.push(Some(next));
                    next += 1;
                } else {
                    out.push(None);
                }
            }
        } else {
            out.extend((0..rows).map(Some));
        }
    }

    /// Appends the text form of value `i` to `line`: the text parser then decides.
    fn render(&self, i: Option<usize>, line: &mut String) -> Result<(), Malformed> {
        let Some(i) = i else {
            line.push('-');
            return Ok(());
        };
        let per_second = self.column.per_second;
        match &self.reader {
            Typed::Int32(_, values) => {
                let _ = write!(line, "{}", i64::from(values[i]) / per_second);
            }
            Typed::Int64(_, values) => {
                let _ = write!(line, "{}", values[i] / per_second);
            }
            Typed::Bytes(_, values) => {
                let text = std::str::from_utf8(values[i].data()).map_err(|_| Malformed::NotUtf8)?;
                if text.is_empty() {
                    line.push('-');
                } else if text.contains(' ') {
                    return Err(Malformed::BadValue {
                        field: self.column.field.name(),
                        value: text.to_owned(),
                    });
                } else {
                    line.push_str(text);
                }
            }
        }
        Ok(())
    }
}

fn read_rows<R: ChunkReader + 'static>(
    path: &Path,
    input: R,
    options: ReadOptions,
    on_bytes: &mut dyn FnMut(u64),
    on_part: &mut OnPart<'_>,
) -> Result<FileRead, IngestError> {
    let reader = SerializedFileReader::new(input).map_err(|e| corrupt(path, e))?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let (columns, layout, fields) = find_columns(path, schema)?;
    let mut evidence = FileEvidence::new(options.source_cap);
    let mut problems = Vec::new();
    let mut row = 0u64;
    let mut line = String::with_capacity(256);
    let mut slots: Vec<Vec<Option<usize>>> = vec![Vec::new(); columns.len()];
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).map_err(|e| corrupt(path, e))?;
        let mut cursors = Vec::with_capacity(columns.len());
        for column in &columns {
            let typed = group
                .get_column_reader(column.index)
                .map_err(|e| corrupt(path, e))?;
            cursors.push(Cursor::new(*column, typed).ok_or_else(|| {
                corrupt(
                    path,
                    format!(
                        "the column `{}` has an unexpected type",
                        column_name(column.field.name())
                    ),
                )
            })?);
        }
        let mut remaining = usize::try_from(group.metadata().num_rows()).unwrap_or(0);
        while remaining > 0 {
            let batch = remaining.min(BATCH);
            for (cursor, slots) in cursors.iter_mut().zip(&mut slots) {
                let read = cursor.read(batch).map_err(|e| corrupt(path, e))?;
                if read != batch {
                    return Err(corrupt(
                        path,
                        format!(
                            "row group {g}: the column `{}` ends before the row group's {} rows",
                            column_name(cursor.column.field.name()),
                            group.metadata().num_rows()
                        ),
                    ));
                }
                cursor.value_of_rows(batch, slots);
            }
            for r in 0..batch {
                row += 1;
                line.clear();
                let mut bad = None;
                for (n, (cursor, slots)) in cursors.iter().zip(&slots).enumerate() {
                    if n > 0 {
                        line.push(' ');
                    }
                    if let Err(m) = cursor.render(slots[r], &mut line) {
                        bad = Some(m);
                        break;
                    }
                }
                let parsed = match bad {
                    Some(m) => Err(m),
                    None => parse_line(&layout, &line),
                };
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
                    }) => evidence.add_gap(interface, start, end, skipped, version),
                    Err(m) => {
                        if options.strict {
                            return Err(IngestError::Strict {
                                path: path.to_owned(),
                                line: row,
                                reason: m.to_string(),
                            });
                        }
                        evidence.add_malformed(m.kind());
                        if problems.len() < REPORTED_PROBLEMS {
                            problems.push((row, m));
                        }
                    }
                }
            }
            remaining -= batch;
        }
        on_bytes(group.metadata().compressed_size().max(0) as u64);
    }
    Ok(FileRead {
        evidence,
        fields,
        problems,
        assumed: None,
        incomplete: false,
        counted: super::Counted::default(),
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parquet::schema::parser::parse_message_type;

    use super::*;

    fn columns(message: &str) -> Result<(Vec<Column>, Layout, String), IngestError> {
        let schema = SchemaDescriptor::new(Arc::new(parse_message_type(message).unwrap()));
        find_columns(Path::new("f.parquet"), &schema)
    }

    #[test]
    fn columns_are_found_by_name_in_any_order_and_case() {
        let (found, layout, names) = columns(
            "message m {
                optional binary other (STRING);
                required int64 START;
                optional int32 dstport;
                optional int64 srcport;
                optional binary protocol (STRING);
                optional binary dstaddr (STRING);
                optional binary srcaddr (STRING);
                required binary interface_id (STRING);
                optional int64 end (TIMESTAMP(MILLIS, true));
                optional binary pkt_srcaddr (STRING);
            }",
        )
        .unwrap();
        let order: Vec<(&str, usize, i16, i64)> = found
            .iter()
            .map(|c| (c.field.name(), c.index, c.max_def, c.per_second))
            .collect();
        assert_eq!(
            order,
            [
                ("interface-id", 7, 0, 1),
                ("srcaddr", 6, 1, 1),
                ("dstaddr", 5, 1, 1),
                ("srcport", 3, 1, 1),
                ("dstport", 2, 1, 1),
                ("protocol", 4, 1, 1),
                ("start", 1, 0, 1),
                ("end", 8, 1, 1000),
                ("pkt-srcaddr", 9, 1, 1),
            ]
        );
        assert_eq!(layout.width, 9);
        assert_eq!(
            names,
            "other start dstport srcport protocol dstaddr srcaddr interface-id end pkt-srcaddr"
        );
    }

    #[test]
    fn a_missing_or_unreadable_column_is_named() {
        let err = columns(
            "message m { optional binary srcaddr (STRING); optional binary dstaddr (STRING);
               optional int32 srcport; optional int32 dstport; optional int32 protocol;
               optional int64 start; }",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.parquet: the Parquet file has no column `interface_id`, which tighten needs"
        );
        let err = columns(
            "message m { optional binary interface_id (STRING); optional binary srcaddr (STRING);
               optional binary dstaddr (STRING); optional double srcport; optional int32 dstport;
               optional int32 protocol; optional int64 start; }",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.parquet: cannot read the Parquet file: the column `srcport` holds DOUBLE; tighten reads INT32, INT64 and strings"
        );
        let err = columns("message m { repeated int32 srcport; }").unwrap_err();
        assert!(err.to_string().contains("`srcport` is a list"), "{err}");
    }
}
