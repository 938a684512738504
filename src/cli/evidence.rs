//! `tighten evidence`: the aggregated evidence, one row per key, or a summary of the store.
//!
//! The columns are a contract (README, "The evidence contract"): tests and other tools read them.

use std::io::Write;
use std::path::PathBuf;

use miette::IntoDiagnostic;

use super::Outcome;
use crate::store::Store;
use crate::store::evidence::{EvidenceRow, date_of_day};
use crate::store::summary::Summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct EvidenceArgs {
    /// The evidence store (`SQLite` file).
    #[arg(long, env = "TIGHTEN_DB", default_value = ".tighten/evidence.db")]
    pub(crate) db: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Files, records, skipped lines, interfaces, days, rows and capped groups instead of rows.
    #[arg(long)]
    pub(crate) summary: bool,
}

/// The contract's columns, in order.
pub(crate) const COLUMNS: [&str; 17] = [
    "interface",
    "day",
    "role",
    "protocol",
    "port",
    "src",
    "dst",
    "action",
    "flows",
    "packets",
    "bytes",
    "first_seen",
    "last_seen",
    "tcp_flags",
    "sources",
    "initiator_basis",
    "direction_basis",
];

pub(crate) fn run(args: &EvidenceArgs) -> miette::Result<Outcome> {
    let store = Store::open_existing(&args.db)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.summary {
        write_summary(&mut out, &store.summary()?, args.format).into_diagnostic()?;
    } else {
        write_rows(&mut out, &store.evidence()?, args.format).into_diagnostic()?;
    }
    out.flush().into_diagnostic()?;
    Ok(Outcome::Success)
}

fn cells(row: &EvidenceRow) -> [String; 17] {
    let addr = |a: Option<std::net::IpAddr>| a.map_or_else(|| "*".to_owned(), |a| a.to_string());
    let s = &row.stats;
    [
        row.interface.clone(),
        date_of_day(row.day),
        row.role.as_str().to_owned(),
        row.protocol.to_string(),
        row.port.to_string(),
        addr(row.src),
        addr(row.dst),
        row.action.as_str().to_owned(),
        s.flows.to_string(),
        s.packets.to_string(),
        s.bytes.to_string(),
        s.first_seen.to_string(),
        s.last_seen.to_string(),
        s.tcp_flags.to_string(),
        row.sources.to_string(),
        serde_plain(&row.initiator_basis),
        serde_plain(&row.direction_basis),
    ]
}

fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(field: &str) -> std::borrow::Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\"")).into()
    } else {
        field.into()
    }
}

pub(crate) fn write_rows(
    out: &mut impl Write,
    rows: &[EvidenceRow],
    format: Format,
) -> std::io::Result<()> {
    match format {
        Format::Csv => {
            writeln!(out, "{}", COLUMNS.join(","))?;
            for row in rows {
                let cells = cells(row);
                let line: Vec<_> = cells.iter().map(|c| csv_field(c)).collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        Format::Json => {
            let rows: Vec<serde_json::Value> = rows
                .iter()
                .map(|row| {
                    let cells = cells(row);
                    let mut object = serde_json::Map::new();
                    for (name, cell) in COLUMNS.iter().zip(cells) {
                        let numeric = matches!(
                            *name,
                            "protocol"
                                | "port"
                                | "flows"
                                | "packets"
                                | "bytes"
                                | "first_seen"
                                | "last_seen"
                                | "tcp_flags"
                                | "sources"
                        );
                        let value = if numeric {
                            cell.parse::<i64>()
                                .map_or(serde_json::Value::String(cell), serde_json::Value::from)
                        } else {
                            serde_json::Value::String(cell)
                        };
                        object.insert((*name).to_owned(), value);
                    }
                    serde_json::Value::Object(object)
                })
                .collect();
            let doc =
                serde_json::json!({ "format": "tighten-evidence", "version": 1, "rows": rows });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        Format::Table => {
            let all: Vec<[String; 17]> = rows.iter().map(cells).collect();
            let mut widths: Vec<usize> = COLUMNS.iter().map(|c| c.len()).collect();
            for cells in &all {
                for (w, c) in widths.iter_mut().zip(cells) {
                    *w = (*w).max(c.len());
                }
            }
            let line = |cells: &[&str]| {
                let padded: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                padded.join("  ").trim_end().to_owned()
            };
            writeln!(out, "{}", line(&COLUMNS))?;
            for cells in &all {
                let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
                writeln!(out, "{}", line(&refs))?;
            }
        }
    }
    Ok(())
}

pub(crate) fn write_summary(
    out: &mut impl Write,
    s: &Summary,
    format: Format,
) -> std::io::Result<()> {
    let day = |d: Option<i32>| d.map_or_else(|| "-".to_owned(), date_of_day);
    let skipped: u64 = s.malformed.values().sum();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, s)?;
            writeln!(out)?;
        }
        Format::Csv => {
            writeln!(out, "key,value")?;
            for (k, v) in [
                ("schema_version", s.schema_version.to_string()),
                ("files", s.files.to_string()),
                ("records", s.records.to_string()),
                ("nodata", s.nodata.to_string()),
                ("skipdata", s.skipdata.to_string()),
                ("malformed", skipped.to_string()),
                ("interfaces", s.interfaces.to_string()),
                ("days", s.days.to_string()),
                ("first_day", day(s.first_day)),
                ("last_day", day(s.last_day)),
                ("rows", s.rows.to_string()),
                ("groups_capped", s.groups_capped.to_string()),
            ] {
                writeln!(out, "{k},{v}")?;
            }
            for (reason, n) in &s.malformed {
                writeln!(out, "malformed: {},{n}", csv_field(reason))?;
            }
        }
        Format::Table => {
            writeln!(out, "files ingested     {}", s.files)?;
            writeln!(out, "records            {}", s.records)?;
            writeln!(out, "NODATA intervals   {}", s.nodata)?;
            writeln!(out, "SKIPDATA intervals {}", s.skipdata)?;
            writeln!(out, "malformed skipped  {skipped}")?;
            for (reason, n) in &s.malformed {
                writeln!(out, "  {reason:<16} {n}")?;
            }
            writeln!(out, "interfaces         {}", s.interfaces)?;
            writeln!(
                out,
                "days covered       {} ({} .. {})",
                s.days,
                day(s.first_day),
                day(s.last_day)
            )?;
            writeln!(out, "evidence rows      {}", s.rows)?;
            writeln!(out, "groups capped      {}", s.groups_capped)?;
            writeln!(out, "schema version     {}", s.schema_version)?;
        }
    }
    Ok(())
}
