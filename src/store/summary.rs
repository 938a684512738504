//! The store at a glance: what `tighten evidence --summary` prints.

use std::collections::BTreeMap;

use super::clients::{decode, merge_sorted};
use super::merge::{damaged, runs_by_group};
use super::{Store, StoreError};
use crate::ingest::flowlog::aggregate::Coverage;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub schema_version: i64,
    pub files: u64,
    /// Files ingested with `--accept-incomplete` whose compressed stream was cut short (and that
    /// no complete copy has continued since).
    #[serde(skip_serializing_if = "is_zero")]
    pub incomplete_files: u64,
    pub records: u64,
    pub nodata: u64,
    pub skipdata: u64,
    pub malformed: BTreeMap<String, u64>,
    pub interfaces: u64,
    pub days: u64,
    pub first_day: Option<i32>,
    pub last_day: Option<i32>,
    pub rows: u64,
    pub groups_capped: u64,
}

/// The client rows of every group: its list merged with its runs, if it has any.
fn client_rows(c: &rusqlite::Connection) -> rusqlite::Result<u64> {
    let listed: i64 = c.query_row(
        "SELECT coalesce(sum(client_rows), 0) FROM source_group",
        [],
        |r| r.get(0),
    )?;
    let mut rows = listed as u64;
    let mut list = c.prepare("SELECT clients FROM source_group WHERE id = ?1")?;
    for (id, more) in runs_by_group(c)? {
        let listed = list.query_row([id], |r| {
            decode(r.get_ref(0)?.as_blob()?).ok_or_else(|| damaged(id, "client list"))
        })?;
        rows -= listed.len() as u64;
        rows += merge_sorted(listed, more).len() as u64;
    }
    Ok(rows)
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Store {
    pub fn summary(&self) -> Result<Summary, StoreError> {
        self.summary_inner().map_err(|e| self.err(e))
    }

    fn summary_inner(&self) -> rusqlite::Result<Summary> {
        self.write_pending()?;
        let c = &self.conn;
        let count = |sql: &str| {
            c.query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
        };
        let mut s = Summary {
            schema_version: c.pragma_query_value(None, "user_version", |r| r.get(0))?,
            files: count("SELECT count(*) FROM ledger")?,
            incomplete_files: count("SELECT count(*) FROM ledger WHERE complete = 0")?,
            records: count("SELECT coalesce(sum(records), 0) FROM ledger")?,
            nodata: count("SELECT coalesce(sum(nodata), 0) FROM ledger")?,
            skipdata: count("SELECT coalesce(sum(skipdata), 0) FROM ledger")?,
            interfaces: count("SELECT count(DISTINCT interface) FROM coverage")?,
            days: count("SELECT count(DISTINCT day) FROM coverage")?,
            rows: client_rows(c)?,
            groups_capped: count("SELECT count(*) FROM source_group WHERE sketch IS NOT NULL")?,
            ..Summary::default()
        };
        (s.first_day, s.last_day) =
            c.query_row("SELECT min(day), max(day) FROM coverage", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let mut stmt = c.prepare("SELECT malformed_by_reason FROM ledger WHERE malformed > 0")?;
        for json in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let by_reason: BTreeMap<String, u64> = serde_json::from_str(&json?).unwrap_or_default();
            for (reason, n) in by_reason {
                *s.malformed.entry(reason).or_default() += n;
            }
        }
        Ok(s)
    }
}

impl Store {
    /// Flow-log coverage per interface and day, in that order.
    pub fn coverage(&self) -> Result<Vec<(String, i32, Coverage)>, StoreError> {
        let query = || -> rusqlite::Result<Vec<(String, i32, Coverage)>> {
            self.write_pending()?;
            let mut stmt = self.conn.prepare(
                "SELECT interface, day, records, nodata, skipdata, first_seen, last_seen
                 FROM coverage ORDER BY interface, day",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    Coverage {
                        records: r.get::<_, i64>(2)? as u64,
                        nodata: r.get::<_, i64>(3)? as u64,
                        skipdata: r.get::<_, i64>(4)? as u64,
                        first: r.get(5)?,
                        last: r.get(6)?,
                    },
                ))
            })?;
            rows.collect()
        };
        query().map_err(|e| self.err(e))
    }
}
