//! CloudWatch Logs positions and flow-log formats: per (log group, stream) the time from which it
//! is still read and the ids of the events already stored at or after it, so that a rerun or an
//! interrupted run counts every event exactly once; and the `LogFormat` of each flow log as
//! `ec2:DescribeFlowLogs` gave it (a cache: formats do not change for a flow-log id).

use std::collections::{HashMap, HashSet};

use rusqlite::params;

use super::{Committed, FileFacts, LedgerEntry, Store, StoreError};
use crate::ingest::flowlog::aggregate::FileEvidence;

/// One event a page contributed: (stream, event id, timestamp in ms).
pub type EventKey = (String, String, i64);

impl Store {
    /// Per stream of `group`: the time (ms) before which it was read completely.
    pub fn stream_positions(&self, group: &str) -> Result<HashMap<String, i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT stream, read_from FROM cloudwatch_stream WHERE log_group = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([group], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The (stream, event id) pairs of `group` already stored at or after their stream's position.
    pub fn seen_events(&self, group: &str) -> Result<HashSet<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT stream, event_id FROM cloudwatch_event WHERE log_group = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([group], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Stores one page's evidence, its ledger row and the ids of its events in one transaction.
    pub fn commit_events(
        &mut self,
        entry: &LedgerEntry,
        evidence: FileEvidence,
        group: &str,
        events: &[EventKey],
    ) -> Result<Committed, StoreError> {
        self.commit_file_with(entry, evidence, &FileFacts::default(), &|conn| {
            let mut insert = conn.prepare_cached(
                "INSERT OR IGNORE INTO cloudwatch_event (log_group, stream, event_id, timestamp)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (stream, id, timestamp) in events {
                insert.execute(params![group, stream, id, timestamp])?;
            }
            Ok(())
        })
    }

    /// After a complete read: moves each stream's position forward (never back) and forgets the
    /// ids of events before it.
    pub fn advance_streams(
        &mut self,
        group: &str,
        positions: &[(String, i64)],
    ) -> Result<(), StoreError> {
        self.flush()?;
        let run = |conn: &rusqlite::Connection| -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            for (stream, read_from) in positions {
                conn.execute(
                    "INSERT INTO cloudwatch_stream (log_group, stream, read_from) VALUES (?1, ?2, ?3)
                     ON CONFLICT (log_group, stream)
                     DO UPDATE SET read_from = max(read_from, excluded.read_from)",
                    params![group, stream, read_from],
                )?;
                conn.execute(
                    "DELETE FROM cloudwatch_event WHERE log_group = ?1 AND stream = ?2
                     AND timestamp < (SELECT read_from FROM cloudwatch_stream
                                      WHERE log_group = ?1 AND stream = ?2)",
                    params![group, stream],
                )?;
            }
            conn.execute_batch("COMMIT")
        };
        run(&self.conn).map_err(|e| {
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            self.err(e)
        })
    }

    /// The cached `LogFormat` of these flow-log ids (ids not cached are absent; a cached flow log
    /// without a format maps to `None`).
    pub fn flow_log_formats(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Option<String>>, StoreError> {
        let mut out = HashMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT log_format FROM flow_log_format WHERE flow_log_id = ?1")
            .map_err(|e| self.err(e))?;
        for id in ids {
            let mut rows = stmt.query([id]).map_err(|e| self.err(e))?;
            if let Some(row) = rows.next().map_err(|e| self.err(e))? {
                out.insert(id.clone(), row.get(0).map_err(|e| self.err(e))?);
            }
        }
        Ok(out)
    }

    /// The cached `LogFormat`s of the flow logs delivering to `group`.
    pub fn flow_log_formats_of_group(&self, group: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT log_format FROM flow_log_format
                 WHERE log_group = ?1 AND log_format IS NOT NULL ORDER BY log_format",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([group], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Caches flow logs: (id, log group, `LogFormat`).
    pub fn cache_flow_log_formats(
        &mut self,
        flow_logs: &[(String, Option<String>, Option<String>)],
    ) -> Result<(), StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT OR REPLACE INTO flow_log_format (flow_log_id, log_group, log_format, looked_up_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(|e| self.err(e))?;
        for (id, group, format) in flow_logs {
            stmt.execute(params![id, group, format, now])
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}
