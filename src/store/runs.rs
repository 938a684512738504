//! Store stage: the history of `lint --db` runs — each run's findings and proposals with their
//! evidence numbers — and what changed between two runs.

use rusqlite::params;

use super::{Store, StoreError};

/// One finding as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunFinding {
    /// Stable identity across runs (code, address, rule).
    pub key: String,
    pub code: String,
    pub severity: String,
    pub address: String,
    pub rule: Option<String>,
    pub message: String,
    /// The proposal as JSON.
    pub proposal: Option<String>,
    pub flows: Option<u64>,
    pub sources: Option<u64>,
    pub last_seen: Option<String>,
}

/// One run to record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRecord {
    pub started_at: i64,
    pub dir: String,
    pub window: Option<String>,
    pub findings: Vec<RunFinding>,
}

/// A recorded run, without its findings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub started_at: i64,
    pub dir: String,
    pub window: Option<String>,
    pub tool_version: String,
    pub findings: u64,
}

impl Store {
    /// Records a run and its findings in one transaction; returns the run id.
    pub fn record_run(&self, run: &RunRecord) -> Result<i64, StoreError> {
        let go = || -> rusqlite::Result<i64> {
            let tx = self.conn.unchecked_transaction()?;
            tx.execute(
                "INSERT INTO run (started_at, dir, window, tool_version, findings)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    run.started_at,
                    run.dir,
                    run.window,
                    env!("CARGO_PKG_VERSION"),
                    run.findings.len() as i64
                ],
            )?;
            let id = tx.last_insert_rowid();
            {
                let mut insert = tx.prepare(
                    "INSERT INTO run_finding (run_id, key, code, severity, address, rule, message,
                        proposal, flows, sources, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?;
                for f in &run.findings {
                    insert.execute(params![
                        id,
                        f.key,
                        f.code,
                        f.severity,
                        f.address,
                        f.rule,
                        f.message,
                        f.proposal,
                        f.flows.map(|v| v as i64),
                        f.sources.map(|v| v as i64),
                        f.last_seen
                    ])?;
                }
            }
            tx.commit()?;
            Ok(id)
        };
        go().map_err(|e| self.err(e))
    }

    /// Every recorded run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunInfo>, StoreError> {
        let go = || -> rusqlite::Result<Vec<RunInfo>> {
            let mut stmt = self.conn.prepare(
                "SELECT id, started_at, dir, window, tool_version, findings FROM run ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(RunInfo {
                    id: r.get(0)?,
                    started_at: r.get(1)?,
                    dir: r.get(2)?,
                    window: r.get(3)?,
                    tool_version: r.get(4)?,
                    findings: r.get::<_, i64>(5)? as u64,
                })
            })?;
            rows.collect()
        };
        go().map_err(|e| self.err(e))
    }

    /// The findings of run `id`, in recorded order.
    pub fn run_findings(&self, id: i64) -> Result<Vec<RunFinding>, StoreError> {
        let go = || -> rusqlite::Result<Vec<RunFinding>> {
            let mut stmt = self.conn.prepare(
                "SELECT key, code, severity, address, rule, message, proposal, flows, sources,
                        last_seen
                 FROM run_finding WHERE run_id = ?1 ORDER BY rowid",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok(RunFinding {
                    key: r.get(0)?,
                    code: r.get(1)?,
                    severity: r.get(2)?,
                    address: r.get(3)?,
                    rule: r.get(4)?,
                    message: r.get(5)?,
                    proposal: r.get(6)?,
                    flows: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
                    sources: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
                    last_seen: r.get(9)?,
                })
            })?;
            rows.collect()
        };
        go().map_err(|e| self.err(e))
    }
}

/// What changed from one run's findings to the next's.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunDiff {
    /// Findings of the later run that the earlier one did not have (e.g. a rule became unused).
    pub new: Vec<RunFinding>,
    /// Findings of the earlier run that are gone.
    pub gone: Vec<RunFinding>,
    /// Same finding, different evidence: (before, after) — new sources, more flows.
    pub changed: Vec<(RunFinding, RunFinding)>,
}

/// Compares two runs' findings by key.
pub fn diff(before: &[RunFinding], after: &[RunFinding]) -> RunDiff {
    use std::collections::BTreeMap;
    let b: BTreeMap<&str, &RunFinding> = before.iter().map(|f| (f.key.as_str(), f)).collect();
    let a: BTreeMap<&str, &RunFinding> = after.iter().map(|f| (f.key.as_str(), f)).collect();
    let mut out = RunDiff::default();
    for (k, f) in &a {
        match b.get(k) {
            None => out.new.push((*f).clone()),
            Some(old)
                if old.sources != f.sources
                    || old.flows != f.flows
                    || old.proposal != f.proposal =>
            {
                out.changed.push(((*old).clone(), (*f).clone()));
            }
            Some(_) => {}
        }
    }
    for (k, f) in &b {
        if !a.contains_key(k) {
            out.gone.push((*f).clone());
        }
    }
    out
}
