//! `tighten athena-sql`: the SQL that computes the evidence aggregate where the flow logs live
//! (Athena, Trino, DuckDB), or with `--ddl` the table definition of a documented layout.

use std::io::Write as _;

use super::{Outcome, OutputError};
use crate::athena::{Dialect, FieldSet, Layout, ddl, sql};
use crate::store::DEFAULT_SOURCE_CAP;

#[derive(Debug, clap::Args)]
pub(crate) struct AthenaSqlArgs {
    /// The flow-log table (or, for duckdb, a view over the files: see --ddl).
    #[arg(long, default_value = "vpc_flow_logs")]
    pub(crate) table: String,
    /// Athena database, or Trino `catalog.schema` (default: the session's).
    #[arg(long)]
    pub(crate) database: Option<String>,
    /// First day of the partitions read (YYYY-MM-DD, UTC, inclusive).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = super::aws_sources::parse_day)]
    pub(crate) since: Option<i64>,
    /// Last day of the partitions read (YYYY-MM-DD, UTC, inclusive).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = super::aws_sources::parse_day)]
    pub(crate) until: Option<i64>,
    /// The fields the table has: v2 (default format) or v5 (also `tcp_flags`,
    /// `pkt_srcaddr`, `pkt_dstaddr`, `flow_direction`: any version 3 or later log that has them).
    #[arg(long, value_enum, default_value_t = FieldSet::V5)]
    pub(crate) fields: FieldSet,
    /// How the files are laid out (decides the partition columns the window prunes by).
    #[arg(long, value_enum, default_value_t = Layout::Text)]
    pub(crate) layout: Layout,
    #[arg(long, value_enum, default_value_t = Dialect::Athena)]
    pub(crate) dialect: Dialect,
    /// Exact sources kept per group before it is folded into one row with an estimated distinct
    /// count (as `ingest flow-logs --source-cap`).
    #[arg(long, default_value_t = DEFAULT_SOURCE_CAP)]
    pub(crate) source_cap: usize,
    /// Print the CREATE TABLE (Athena) or CREATE VIEW (duckdb) of the layout instead.
    #[arg(long)]
    pub(crate) ddl: bool,
    /// With --ddl: the table's location (the prefix above the date partitions).
    #[arg(
        long,
        requires = "ddl",
        default_value = "s3://amzn-s3-demo-bucket/prefix/AWSLogs/111122223333/vpcflowlogs/us-east-1"
    )]
    pub(crate) location: String,
    /// With --ddl and a Hive-style layout: the prefixes have an `hour=` level.
    #[arg(long, requires = "ddl")]
    pub(crate) hourly: bool,
}

pub(crate) fn run(args: &AthenaSqlArgs) -> miette::Result<Outcome> {
    if let (Some(s), Some(u)) = (args.since, args.until)
        && u < s
    {
        miette::bail!(
            code = "tighten::athena::window",
            help = "give --since on or before --until",
            "--until is before --since: the window is empty"
        );
    }
    let text = if args.ddl {
        let first_day = args.since.map_or_else(
            || "2020/01/01".to_owned(),
            |d| {
                crate::store::evidence::date_of_day(i32::try_from(d).unwrap_or(0)).replace('-', "/")
            },
        );
        ddl::render(&ddl::Table {
            table: args.table.clone(),
            database: args.database.clone(),
            fields: args.fields,
            layout: args.layout,
            dialect: args.dialect,
            location: args.location.clone(),
            hourly: args.hourly,
            first_day,
        })
    } else {
        sql::render(&sql::Query {
            table: args.table.clone(),
            database: args.database.clone(),
            since: args.since,
            until: args.until,
            fields: args.fields,
            layout: args.layout,
            dialect: args.dialect,
            cap: args.source_cap.max(1),
        })
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(OutputError)?;
    out.flush().map_err(OutputError)?;
    Ok(Outcome::Success)
}
