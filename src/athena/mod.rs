//! Evidence aggregated where the flow logs live: the SQL that computes `ingest flow-logs`'s
//! aggregate inside Athena, Trino or DuckDB (`tighten athena-sql`), the table definitions of the
//! documented layouts, and the contract of the result that `tighten ingest evidence` imports.
//!
//! The SQL is rendered from `rules` (one description of the derived facts, checked against the
//! Rust aggregation); the result's columns are `COLUMNS`, in order, one result set whose `kind`
//! column tells what each row is.

pub mod ddl;
pub mod rules;
pub mod sql;

/// Version of the result's contract, carried by its `meta` row.
pub const FORMAT: &str = "tighten-evidence/1";

/// The result's columns, in order. Every row has all of them; a value that does not apply to a
/// row's kind is NULL (an empty field in the CSV).
pub const COLUMNS: [&str; 23] = [
    "kind",
    "interface",
    "day",
    "protocol",
    "action",
    "initiator",
    "direction",
    "server",
    "server_port",
    "client",
    "client_port",
    "if_src",
    "if_dst",
    "flows",
    "packets",
    "bytes",
    "first_seen",
    "last_seen",
    "tcp_flags",
    "sources",
    "nodata",
    "skipdata",
    "meta",
];

/// Columns holding text; the others hold integers.
pub(crate) const TEXT_COLUMNS: [&str; 7] = [
    "kind",
    "interface",
    "server",
    "client",
    "if_src",
    "if_dst",
    "meta",
];

/// What a row of the result is.
pub mod kind {
    /// One client of a group under the cap: its exact sums.
    pub const CLIENT: &str = "client";
    /// A group past the cap: the sums over all its clients and their estimated distinct count.
    pub const MANY: &str = "many";
    /// Flow-log coverage of one interface on one day (records, NODATA, SKIPDATA, first, last).
    pub const COVERAGE: &str = "coverage";
    /// An address present in every traffic record of an interface (`client`), and that count.
    pub const ADDRESS: &str = "address";
    /// The one row that says what the query was rendered for (`meta`).
    pub const META: &str = "meta";
}

/// Which flow-log fields the table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FieldSet {
    /// The default format (version 2): no tcp-flags, packet addresses or flow-direction.
    V2,
    /// Version 3 and later fields too: `tcp_flags`, `pkt_srcaddr`, `pkt_dstaddr`,
    /// `flow_direction`.
    V5,
}

impl FieldSet {
    pub fn name(self) -> &'static str {
        match self {
            FieldSet::V2 => "v2",
            FieldSet::V5 => "v5",
        }
    }
}

/// How the table's files are laid out in S3 (decides the partition columns and their pruning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// Text files under `AWSLogs/{account}/vpcflowlogs/{region}/yyyy/MM/dd/`, one partition
    /// column `day` ('yyyy/MM/dd') with partition projection (AWS's documented table).
    Text,
    /// Text files under Hive-style prefixes: partition columns `year`, `month`, `day` (and an
    /// optional `hour`), zero-padded strings.
    Hive,
    /// Parquet files (columns named with underscores) under Hive-style prefixes, as `Hive`.
    Parquet,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Text => "text",
            Layout::Hive => "hive",
            Layout::Parquet => "parquet",
        }
    }
}

/// The SQL dialect to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// Amazon Athena (engine version 3, Trino SQL).
    Athena,
    /// Trino (or Presto).
    Trino,
    /// DuckDB: a local reference run, over a view of the files.
    Duckdb,
}

/// The text of the `meta` row: what a result was computed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub fields: String,
    pub layout: String,
    /// `YYYY-MM-DD`, or `-` when open.
    pub since: String,
    pub until: String,
    pub cap: usize,
}

impl Meta {
    pub fn render(&self) -> String {
        format!(
            "{FORMAT} fields={} layout={} since={} until={} cap={}",
            self.fields, self.layout, self.since, self.until, self.cap
        )
    }

    /// Reads a `meta` value; `Err` says what is wrong with it.
    pub fn parse(text: &str) -> Result<Meta, String> {
        let mut words = text.split_whitespace();
        match words.next() {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(format!(
                    "the result is of format `{other}`, this tighten reads `{FORMAT}`"
                ));
            }
            None => return Err("the meta value is empty".to_owned()),
        }
        let mut meta = Meta {
            fields: String::new(),
            layout: String::new(),
            since: "-".to_owned(),
            until: "-".to_owned(),
            cap: 0,
        };
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                return Err(format!("`{word}` is not key=value"));
            };
            match key {
                "fields" => value.clone_into(&mut meta.fields),
                "layout" => value.clone_into(&mut meta.layout),
                "since" => value.clone_into(&mut meta.since),
                "until" => value.clone_into(&mut meta.until),
                "cap" => {
                    meta.cap = value
                        .parse()
                        .ok()
                        .filter(|c| *c > 0)
                        .ok_or_else(|| format!("cap `{value}` is not a positive number"))?;
                }
                _ => {}
            }
        }
        if meta.cap == 0 || meta.fields.is_empty() {
            return Err("the meta value lacks `fields=` or `cap=`".to_owned());
        }
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_and_refuses_other_formats() {
        let meta = Meta {
            fields: "v5".into(),
            layout: "text".into(),
            since: "2026-10-01".into(),
            until: "-".into(),
            cap: 4096,
        };
        assert_eq!(Meta::parse(&meta.render()), Ok(meta));
        assert_eq!(
            Meta::parse("tighten-evidence/9 fields=v5 cap=1"),
            Err("the result is of format `tighten-evidence/9`, this tighten reads `tighten-evidence/1`".into())
        );
        assert!(Meta::parse("tighten-evidence/1 fields=v5 cap=0").is_err());
    }
}
