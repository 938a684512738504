//! Committing one file's aggregate: every row, the coverage and the ledger entry in one transaction,
//! merged exactly into what is stored (sums, min/max, OR; sketches by register maximum).

use std::net::IpAddr;

use rusqlite::{OptionalExtension, Transaction, params};

use super::addr::{from_blob, to_blob};
use super::{Store, StoreError};
use crate::ingest::flowlog::aggregate::{ClientKey, FileEvidence, Group, GroupKey, Stats};
use crate::ingest::sketch::Sketch;

/// Where an ingested object came from, for the ledger.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub kind: &'static str,
    /// A path or an `s3://` URI.
    pub source: String,
    pub size: u64,
    pub mtime: Option<i64>,
    /// xxh3-128 of the raw bytes, hex.
    pub content_hash: String,
    pub fields: String,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    Stored {
        rows: usize,
    },
    /// The same content is in the ledger already (under `source`): nothing was written.
    Duplicate {
        source: String,
    },
}

impl Store {
    /// Merges one file's evidence and its ledger row in one transaction.
    pub fn commit_file(
        &mut self,
        entry: &LedgerEntry,
        evidence: &FileEvidence,
    ) -> Result<Committed, StoreError> {
        let cap = self.source_cap;
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT source FROM ledger WHERE content_hash = ?1",
                [&entry.content_hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(wrap)?;
        if let Some(source) = existing {
            return Ok(Committed::Duplicate { source });
        }
        let rows = write_evidence(&tx, evidence, cap).map_err(wrap)?;
        let malformed = serde_json::to_string(&evidence.malformed).unwrap_or_else(|_| "{}".into());
        let versions = evidence
            .versions
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        tx.execute(
            "INSERT INTO ledger (kind, source, size, mtime, content_hash, ingested_at, records, nodata,
                 skipdata, malformed, malformed_by_reason, versions, fields, rows)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                entry.kind,
                entry.source,
                entry.size as i64,
                entry.mtime,
                entry.content_hash,
                now,
                evidence.records as i64,
                evidence.nodata as i64,
                evidence.skipdata as i64,
                evidence.malformed_total() as i64,
                malformed,
                versions,
                entry.fields,
                rows as i64,
            ],
        )
        .map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        Ok(Committed::Stored { rows })
    }
}

fn write_evidence(
    tx: &Transaction<'_>,
    evidence: &FileEvidence,
    cap: usize,
) -> rusqlite::Result<usize> {
    let mut rows = 0;
    // Sorted so that the B-tree is written in key order (fewer page splits, same result).
    let mut groups: Vec<(&GroupKey, &Group)> = evidence.groups.iter().collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (key, group) in groups {
        rows += write_group(
            tx,
            &evidence.interfaces[key.interface as usize],
            key,
            group,
            cap,
        )?;
    }
    let mut cov = tx.prepare_cached(
        "INSERT INTO coverage (interface, day, records, nodata, skipdata, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (interface, day) DO UPDATE SET
             records = records + excluded.records, nodata = nodata + excluded.nodata,
             skipdata = skipdata + excluded.skipdata,
             first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
    )?;
    for (&(interface, day), c) in &evidence.coverage {
        cov.execute(params![
            evidence.interfaces[interface as usize],
            day,
            c.records as i64,
            c.nodata as i64,
            c.skipdata as i64,
            c.first,
            c.last
        ])?;
    }
    let mut own = tx.prepare_cached(
        "INSERT INTO interface_address (interface, addr, records) VALUES (?1, ?2, ?3)
         ON CONFLICT (interface, addr) DO UPDATE SET records = records + excluded.records",
    )?;
    for (&interface, candidates) in &evidence.own {
        for addr in &candidates.addrs {
            own.execute(params![
                evidence.interfaces[interface as usize],
                to_blob(Some(*addr)),
                candidates.records as i64
            ])?;
        }
    }
    Ok(rows)
}

/// Writes one group; returns the number of rows it added or touched.
fn write_group(
    tx: &Transaction<'_>,
    interface: &str,
    key: &GroupKey,
    group: &Group,
    cap: usize,
) -> rusqlite::Result<usize> {
    let added = group.clients.len() + usize::from(group.folded.is_some());
    let (id, bound, stored_folded): (i64, i64, bool) = tx
        .prepare_cached(
            "INSERT INTO source_group (interface, day, protocol, action, initiator, direction, server,
                 server_port, rows_bound)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (interface, day, protocol, action, initiator, direction, server, server_port)
             DO UPDATE SET rows_bound = rows_bound + excluded.rows_bound
             RETURNING id, rows_bound, sketch IS NOT NULL",
        )?
        .query_row(
            params![
                interface,
                key.day,
                key.protocol,
                key.action.code(),
                key.initiator as u8,
                key.direction,
                to_blob(Some(key.server)),
                key.server_port,
                added as i64
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
    if stored_folded || group.folded.is_some() {
        fold(tx, id, group)?;
        return Ok(added);
    }
    let mut upsert = tx.prepare_cached(
        "INSERT INTO flow (grp, client, client_port, if_src, if_dst, flows, packets, bytes, first_seen,
             last_seen, tcp_flags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (grp, client, client_port, if_src, if_dst) DO UPDATE SET
             flows = flows + excluded.flows, packets = packets + excluded.packets,
             bytes = bytes + excluded.bytes, first_seen = min(first_seen, excluded.first_seen),
             last_seen = max(last_seen, excluded.last_seen), tcp_flags = tcp_flags | excluded.tcp_flags",
    )?;
    for (client, stats) in &group.clients {
        upsert_row(&mut upsert, id, client, stats)?;
    }
    if bound > cap as i64 {
        // The bound over-counts clients seen in several files: recount before folding.
        let exact: i64 = tx.query_row("SELECT count(*) FROM flow WHERE grp = ?1", [id], |r| {
            r.get(0)
        })?;
        if exact > cap as i64 {
            fold(tx, id, &Group::default())?;
        } else {
            tx.execute(
                "UPDATE source_group SET rows_bound = ?2 WHERE id = ?1",
                params![id, exact],
            )?;
        }
    }
    Ok(added)
}

fn upsert_row(
    stmt: &mut rusqlite::CachedStatement<'_>,
    grp: i64,
    client: &ClientKey,
    s: &Stats,
) -> rusqlite::Result<()> {
    stmt.execute(params![
        grp,
        to_blob(client.client),
        client.client_port,
        to_blob(client.if_src),
        to_blob(client.if_dst),
        s.flows as i64,
        s.packets as i64,
        s.bytes as i64,
        s.first_seen,
        s.last_seen,
        s.tcp_flags
    ])?;
    Ok(())
}

/// Folds the stored rows of group `id` and the file's `group` into one "every client" row and the
/// group's sketch.
fn fold(tx: &Transaction<'_>, id: i64, group: &Group) -> rusqlite::Result<()> {
    let stored_sketch: Option<Vec<u8>> =
        tx.query_row("SELECT sketch FROM source_group WHERE id = ?1", [id], |r| {
            r.get(0)
        })?;
    let mut sketch = stored_sketch
        .as_deref()
        .and_then(Sketch::from_bytes)
        .unwrap_or_default();
    let mut total = Stats::default();
    {
        let mut rows = tx.prepare_cached(
            "SELECT client, flows, packets, bytes, first_seen, last_seen, tcp_flags FROM flow WHERE grp = ?1",
        )?;
        let mut query = rows.query([id])?;
        while let Some(r) = query.next()? {
            let client: Vec<u8> = r.get(0)?;
            if let Some(addr) = from_blob(&client) {
                sketch.insert(addr);
            }
            total.merge(&stats_of(r, 1)?);
        }
    }
    for (client, stats) in &group.clients {
        if let Some(addr) = client.client {
            sketch.insert(addr);
        }
        total.merge(stats);
    }
    if let Some((stats, file_sketch)) = &group.folded {
        sketch.merge(file_sketch);
        total.merge(stats);
    }
    tx.execute("DELETE FROM flow WHERE grp = ?1", [id])?;
    let marker = ClientKey {
        client: None::<IpAddr>,
        client_port: 0,
        if_src: None,
        if_dst: None,
    };
    let mut insert = tx.prepare_cached(
        "INSERT INTO flow (grp, client, client_port, if_src, if_dst, flows, packets, bytes, first_seen,
             last_seen, tcp_flags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    upsert_row(&mut insert, id, &marker, &total)?;
    tx.execute(
        "UPDATE source_group SET sketch = ?2, rows_bound = 1 WHERE id = ?1",
        params![id, sketch.to_bytes()],
    )?;
    Ok(())
}

/// Reads `flows, packets, bytes, first_seen, last_seen, tcp_flags` starting at column `at`.
pub(crate) fn stats_of(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Stats> {
    Ok(Stats {
        flows: r.get::<_, i64>(at)? as u64,
        packets: r.get::<_, i64>(at + 1)? as u64,
        bytes: r.get::<_, i64>(at + 2)? as u64,
        first_seen: r.get(at + 3)?,
        last_seen: r.get(at + 4)?,
        tcp_flags: r.get(at + 5)?,
    })
}
