//! The table definitions of the documented flow-log layouts, with the partitions that let the
//! engine prune by date: Athena's `CREATE EXTERNAL TABLE` (partition projection, so that no
//! `MSCK REPAIR` or crawler is needed), and for DuckDB a view over the local files.

use std::fmt::Write as _;

use super::sql::{ident, table_ref};
use super::{Dialect, FieldSet, Layout};

/// The columns of the default format (version 2), in documented order, with Athena types.
const V2: [(&str, &str); 14] = [
    ("version", "int"),
    ("account_id", "string"),
    ("interface_id", "string"),
    ("srcaddr", "string"),
    ("dstaddr", "string"),
    ("srcport", "int"),
    ("dstport", "int"),
    ("protocol", "bigint"),
    ("packets", "bigint"),
    ("bytes", "bigint"),
    ("start", "bigint"),
    ("end", "bigint"),
    ("action", "string"),
    ("log_status", "string"),
];

/// The fields versions 3 to 5 add, in documented order (all 29 fields of a v5 "all fields" log).
const V3_TO_V5: [(&str, &str); 15] = [
    ("vpc_id", "string"),
    ("subnet_id", "string"),
    ("instance_id", "string"),
    ("tcp_flags", "int"),
    ("type", "string"),
    ("pkt_srcaddr", "string"),
    ("pkt_dstaddr", "string"),
    ("region", "string"),
    ("az_id", "string"),
    ("sublocation_type", "string"),
    ("sublocation_id", "string"),
    ("pkt_src_aws_service", "string"),
    ("pkt_dst_aws_service", "string"),
    ("flow_direction", "string"),
    ("traffic_path", "int"),
];

fn columns(fields: FieldSet) -> Vec<(&'static str, &'static str)> {
    let mut cols = V2.to_vec();
    if fields == FieldSet::V5 {
        cols.extend_from_slice(&V3_TO_V5);
    }
    cols
}

/// What to define.
#[derive(Debug, Clone)]
pub struct Table {
    pub table: String,
    pub database: Option<String>,
    pub fields: FieldSet,
    pub layout: Layout,
    pub dialect: Dialect,
    /// `s3://…/AWSLogs/{account}/vpcflowlogs/{region}/` (text) or the Hive-style prefix; a local
    /// folder for DuckDB.
    pub location: String,
    /// Hive-style prefixes with an `hour=` level.
    pub hourly: bool,
    /// First day of the projected partitions (`YYYY/MM/DD`).
    pub first_day: String,
}

/// Renders the `CREATE` statement(s).
pub fn render(t: &Table) -> String {
    match t.dialect {
        Dialect::Athena | Dialect::Trino => athena(t),
        Dialect::Duckdb => duckdb(t),
    }
}

fn athena(t: &Table) -> String {
    let backtick = |name: &str| format!("`{}`", name.replace('`', "``"));
    let name = match &t.database {
        Some(db) => format!("{}.{}", backtick(db), backtick(&t.table)),
        None => backtick(&t.table),
    };
    let location = t.location.trim_end_matches('/');
    let mut out = format!(
        "-- {} flow logs ({} fields) for `tighten athena-sql --layout {} --fields {}`.\n",
        match t.layout {
            Layout::Text => "Text",
            Layout::Hive => "Hive-style text",
            Layout::Parquet => "Parquet",
        },
        t.fields.name(),
        t.layout.name(),
        t.fields.name()
    );
    let _ = writeln!(out, "CREATE EXTERNAL TABLE IF NOT EXISTS {name} (");
    let cols: Vec<String> = columns(t.fields)
        .iter()
        .map(|(c, ty)| format!("  {} {ty}", backtick(c)))
        .collect();
    let _ = writeln!(out, "{}\n)", cols.join(",\n"));
    let mut props: Vec<(String, String)> = vec![("projection.enabled".into(), "true".into())];
    let template = match t.layout {
        Layout::Text => {
            out.push_str("PARTITIONED BY (`day` string)\n");
            out.push_str("ROW FORMAT DELIMITED\nFIELDS TERMINATED BY ' '\n");
            props.insert(0, ("skip.header.line.count".into(), "1".into()));
            for (k, v) in [
                ("type", "date"),
                ("format", "yyyy/MM/dd"),
                ("interval", "1"),
                ("interval.unit", "DAYS"),
            ] {
                props.push((format!("projection.day.{k}"), v.into()));
            }
            props.push((
                "projection.day.range".into(),
                format!("{},NOW", t.first_day),
            ));
            format!("{location}/${{day}}")
        }
        Layout::Hive | Layout::Parquet => {
            let hour = if t.hourly { ", `hour` string" } else { "" };
            let _ = writeln!(
                out,
                "PARTITIONED BY (`year` string, `month` string, `day` string{hour})"
            );
            if t.layout == Layout::Parquet {
                out.push_str("STORED AS PARQUET\n");
            } else {
                out.push_str("ROW FORMAT DELIMITED\nFIELDS TERMINATED BY ' '\n");
                props.insert(0, ("skip.header.line.count".into(), "1".into()));
            }
            let first_year = t.first_day.get(..4).unwrap_or("2020");
            let mut levels = vec![
                ("year", format!("{first_year},2099"), "4"),
                ("month", "1,12".to_owned(), "2"),
                ("day", "1,31".to_owned(), "2"),
            ];
            if t.hourly {
                levels.push(("hour", "0,23".to_owned(), "2"));
            }
            let mut path = location.to_owned();
            for (level, range, digits) in levels {
                props.push((format!("projection.{level}.type"), "integer".into()));
                props.push((format!("projection.{level}.range"), range));
                props.push((format!("projection.{level}.digits"), digits.into()));
                let _ = write!(path, "/{level}=${{{level}}}");
            }
            path
        }
    };
    let _ = writeln!(out, "LOCATION '{location}/'");
    props.push(("storage.location.template".into(), template));
    let props: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("  '{k}' = '{v}'"))
        .collect();
    let _ = writeln!(out, "TBLPROPERTIES (\n{}\n);", props.join(",\n"));
    out
}

fn duckdb(t: &Table) -> String {
    let name = table_ref(t.database.as_deref(), &t.table);
    let location = t.location.trim_end_matches('/').replace('\'', "''");
    let mut out = format!(
        "-- A DuckDB view of {} flow logs ({} fields) under {location}, typed as Athena reads them.\n",
        t.layout.name(),
        t.fields.name()
    );
    let _ = writeln!(out, "CREATE OR REPLACE VIEW {name} AS");
    if t.layout == Layout::Parquet {
        let _ = writeln!(
            out,
            "SELECT * FROM read_parquet('{location}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false);"
        );
        return out;
    }
    // Text: `-` read as NULL (for a number, as Athena's text SerDe reads it; the query treats a
    // `-` text and NULL alike), every field as text, then typed.
    let cols = columns(t.fields);
    let select: Vec<String> = cols
        .iter()
        .map(|(c, ty)| {
            let col = ident(c);
            match *ty {
                "int" => format!("  TRY_CAST({col} AS INTEGER) AS {col}"),
                "bigint" => format!("  TRY_CAST({col} AS BIGINT) AS {col}"),
                _ => format!("  {col}"),
            }
        })
        .collect();
    let types: Vec<String> = cols
        .iter()
        .map(|(c, _)| format!("'{c}': 'VARCHAR'"))
        .collect();
    let (partition, options) = match t.layout {
        Layout::Text => (
            "  regexp_extract(filename, '/([0-9]{4}/[0-9]{2}/[0-9]{2})/', 1) AS \"day\"".to_owned(),
            "filename = true".to_owned(),
        ),
        _ => (
            "  \"year\", \"month\", \"day\"".to_owned(),
            "hive_partitioning = true, hive_types_autocast = false".to_owned(),
        ),
    };
    let _ = writeln!(
        out,
        "SELECT\n{},\n{partition}\nFROM read_csv('{location}/**/*.log*', delim = ' ', header = true, auto_detect = false, nullstr = '-', columns = {{{}}}, {options});",
        select.join(",\n"),
        types.join(", ")
    );
    out
}
