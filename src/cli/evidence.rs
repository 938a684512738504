//! `tighten evidence`: the aggregated evidence, one row per key, or a summary of the store.
//!
//! The columns are a contract (README, "The evidence contract"): tests and other tools read them.

use std::io::Write;
use std::path::PathBuf;

use super::{Outcome, OutputError};
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
    /// The evidence store (SQLite file).
    #[arg(long, env = "TIGHTEN_DB", default_value = ".tighten/evidence.db")]
    pub(crate) db: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Files, records, skipped lines, interfaces, days, rows and capped groups instead of rows.
    #[arg(long, conflicts_with_all = ["by_group", "membership"])]
    pub(crate) summary: bool,
    /// Inbound evidence per security group (joined by interface and time to the groups the
    /// interface had then), with each group's flow-log coverage.
    #[arg(long, conflicts_with = "membership")]
    pub(crate) by_group: bool,
    /// Which security groups each address belonged to, and when (from AWS Config or EC2).
    #[arg(long)]
    pub(crate) membership: bool,
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
        write_summary(&mut out, &store.summary()?, args.format).map_err(OutputError)?;
    } else if args.by_group {
        let attribution = store.attribute()?;
        super::by_group::write_by_group(&mut out, &attribution, args.format)
            .map_err(OutputError)?;
        if !attribution.unattributed_interfaces.is_empty() {
            eprintln!("{}", super::by_group::unattributed_note(&attribution));
        }
    } else if args.membership {
        super::by_group::write_membership(&mut out, &store.inventory()?, args.format)
            .map_err(OutputError)?;
    } else {
        write_rows(&mut out, &store.evidence()?, args.format).map_err(OutputError)?;
    }
    out.flush().map_err(OutputError)?;
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
    let cells: Vec<Vec<String>> = rows.iter().map(|r| cells(r).to_vec()).collect();
    write_table(out, "tighten-evidence", &COLUMNS, &cells, format, None)
}

/// Columns whose JSON values are numbers (when the cell parses as one).
const NUMERIC: &[&str] = &[
    "protocol",
    "port",
    "flows",
    "packets",
    "bytes",
    "first_seen",
    "last_seen",
    "tcp_flags",
    "sources",
    "interfaces",
    "coverage_days",
    "skipdata_days",
];

/// Writes rows of cells under named columns as an aligned table, CSV with a header, or a JSON
/// document `{"format", "version": 1, "rows": [{column: value}], …extra}`.
pub(crate) fn write_table(
    out: &mut impl Write,
    name: &str,
    columns: &[&str],
    rows: &[Vec<String>],
    format: Format,
    extra: Option<(&str, serde_json::Value)>,
) -> std::io::Result<()> {
    match format {
        Format::Csv => {
            writeln!(out, "{}", columns.join(","))?;
            for row in rows {
                let line: Vec<_> = row.iter().map(|c| csv_field(c)).collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        Format::Json => {
            let rows: Vec<serde_json::Value> = rows
                .iter()
                .map(|row| {
                    let mut object = serde_json::Map::new();
                    for (name, cell) in columns.iter().zip(row) {
                        let value = if NUMERIC.contains(name) {
                            cell.parse::<i64>().map_or_else(
                                |_| serde_json::Value::String(cell.clone()),
                                serde_json::Value::from,
                            )
                        } else {
                            serde_json::Value::String(cell.clone())
                        };
                        object.insert((*name).to_owned(), value);
                    }
                    serde_json::Value::Object(object)
                })
                .collect();
            let mut doc = serde_json::json!({ "format": name, "version": 1, "rows": rows });
            if let (Some((key, value)), Some(map)) = (extra, doc.as_object_mut()) {
                map.insert(key.to_owned(), value);
            }
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        Format::Table => {
            let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
            for row in rows {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.len());
                }
            }
            let line = |cells: &mut dyn Iterator<Item = &str>| {
                let padded: Vec<String> = cells
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                padded.join("  ").trim_end().to_owned()
            };
            writeln!(out, "{}", line(&mut columns.iter().copied()))?;
            for row in rows {
                writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
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
                ("incomplete_files", s.incomplete_files.to_string()),
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
            if s.incomplete_files > 0 {
                writeln!(
                    out,
                    "  incomplete       {} (cut short; a complete copy at the same path adds the rest)",
                    s.incomplete_files
                )?;
            }
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
