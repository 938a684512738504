//! Committing one file's aggregate: every row, the coverage and the ledger entry together, in the
//! open batch of files (see `Store::flush`), merged exactly into what is stored (sums, min/max,
//! OR; sketches by register maximum).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::addr::Blob;
use super::clients::{decode, encode, merge_encoded, merge_sorted};
use super::{OpenFile, Store, StoreError};
use crate::ingest::flowlog::aggregate::{
    ClientKey, FileEvidence, GroupKey, SealedGroup, Stats, fold_rows,
};
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

/// What a read found out about a flow-log file, for its ledger row.
#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    /// False for a file whose compressed stream was cut short (ingested with
    /// `--accept-incomplete`).
    pub incomplete: bool,
    /// The text its records came from, from the start of the file.
    pub counted: Option<crate::ingest::flowlog::Counted>,
    /// The ledger row of an earlier, shorter copy of the same file that this read continued:
    /// the evidence holds only the records after what that copy counted, and the row is updated
    /// to describe the whole file.
    pub continues: Option<i64>,
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
    /// Writes a part of a large file (see `FileEvidence::take_part`) inside the file's
    /// transaction, which `commit_file` ends with the last part and the ledger row, and
    /// `abort_parts` rolls back.
    /// Parts of one file must not interleave with another file's.
    pub fn write_part(
        &mut self,
        content_hash: &str,
        mut part: FileEvidence,
    ) -> Result<(), StoreError> {
        self.begin_file(content_hash, true)?;
        let cap = self.source_cap;
        if let Some(open) = &self.open_file
            && open.duplicate_of.is_some()
        {
            return Ok(());
        }
        match write_evidence(&self.conn, &mut part, cap, self.runs_from) {
            Ok(rows) => {
                if let Some(open) = &mut self.open_file {
                    open.rows += rows;
                }
                Ok(())
            }
            Err(e) => {
                self.abort_parts();
                Err(self.err(e))
            }
        }
    }

    /// Merges one file's evidence (its last part, for a file stored in parts) and its ledger row
    /// into the open batch of files (see `Store::flush`): a process killed at any moment leaves
    /// the store as if the files of the batch had never started. Takes the aggregate by value: its
    /// maps are freed group by group as they merge.
    pub fn commit_file(
        &mut self,
        entry: &LedgerEntry,
        evidence: FileEvidence,
    ) -> Result<Committed, StoreError> {
        self.commit_file_with(entry, evidence, &FileFacts::default(), &|_| Ok(()))
    }

    /// As `commit_file`, with what the read found out (see `FileFacts`), running `also` in the
    /// same transaction (a source's position, say).
    pub fn commit_file_with(
        &mut self,
        entry: &LedgerEntry,
        mut evidence: FileEvidence,
        facts: &FileFacts,
        also: &dyn Fn(&Connection) -> rusqlite::Result<()>,
    ) -> Result<Committed, StoreError> {
        self.begin_file(&entry.content_hash, false)?;
        let Some(open) = self.open_file.take() else {
            return Err(self.err(rusqlite::Error::InvalidQuery));
        };
        if let Some(source) = open.duplicate_of {
            // Nothing was written for it.
            return Ok(Committed::Duplicate { source });
        }
        evidence.seal();
        let rows = sealed_rows(&evidence) + open.rows;
        let ledger = || -> rusqlite::Result<()> {
            let malformed =
                serde_json::to_string(&evidence.malformed).unwrap_or_else(|_| "{}".into());
            let versions = evidence
                .versions
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let counts = LedgerCounts {
                records: evidence.records,
                nodata: evidence.nodata,
                skipdata: evidence.skipdata,
                malformed: evidence.malformed_total(),
            };
            match facts.continues {
                None => {
                    insert_ledger_row(&self.conn, entry, &counts, &malformed, &versions, rows)?;
                    let id = self.conn.last_insert_rowid();
                    set_counted(&self.conn, id, facts)?;
                }
                Some(id) => continue_ledger_row(&self.conn, id, entry, &evidence, facts, rows)?,
            }
            also(&self.conn)
        };
        let result = ledger().and_then(|()| self.stage(evidence)).map(|()| rows);
        match result {
            Ok(rows) => {
                if self
                    .batch_started
                    .is_some_and(|t| t.elapsed() >= self.batch)
                {
                    self.flush()?;
                }
                Ok(Committed::Stored { rows })
            }
            Err(e) => {
                // The batch's other files go too: they are not in the ledger, and a new run
                // reads them again.
                self.rollback();
                Err(self.err(e))
            }
        }
    }

    /// Drops what was written of a file stored in parts that failed before its end (its
    /// transaction holds only it, see `begin_file`).
    pub fn abort_parts(&mut self) {
        if self.open_file.take().is_some() {
            self.rollback();
        }
    }

    /// Commits the files merged since the last commit. Files are committed in batches, a
    /// transaction of `BATCH` or so: each commit writes every page its files changed (through the
    /// WAL), and consecutive files change many of the same pages. A file whose parts are still
    /// open is dropped (it cannot be completed any more). Every ingest ends with a flush; a store
    /// dropped without one commits its batch as well, but cannot report an error.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        self.abort_parts();
        self.batch_started = None;
        if self.conn.is_autocommit() {
            return Ok(());
        }
        let commit = self
            .write_pending()
            .and_then(|()| self.conn.execute_batch("COMMIT"));
        commit.map_err(|e| {
            self.rollback();
            self.err(e)
        })
    }

    /// Writes a committed file's traffic, or keeps it to write with the next ones: a small
    /// file's sealed aggregate is held, and the held ones are merged (in memory, exactly as if
    /// the files were one) and written once they hold `PENDING_ROWS` client rows, when the batch
    /// commits, or before a read; a file of a fifth as many rows or more is written on its own.
    /// Consecutive small files share many groups (a busy endpoint is in every one), and each
    /// group written costs the single writer a B-tree update.
    fn stage(&self, evidence: FileEvidence) -> rusqlite::Result<()> {
        let (cap, runs_from) = (self.source_cap, self.runs_from);
        let rows = sealed_rows(&evidence);
        if rows >= self.pending_rows / 5 {
            self.write_pending()?;
            let mut evidence = evidence;
            write_evidence(&self.conn, &mut evidence, cap, runs_from)?;
            return Ok(());
        }
        let full = {
            let mut pending = self.pending.borrow_mut();
            pending.push(evidence);
            pending.iter().map(sealed_rows).sum::<usize>() >= self.pending_rows
        };
        if full {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Writes the pending traffic of committed files (see `stage`), inside the open batch.
    pub(crate) fn write_pending(&self) -> rusqlite::Result<()> {
        let files = std::mem::take(&mut *self.pending.borrow_mut());
        if !files.is_empty() {
            let mut merged = FileEvidence::merge_sealed(self.source_cap, files);
            write_evidence(&self.conn, &mut merged, self.source_cap, self.runs_from)?;
        }
        Ok(())
    }

    /// Opens the file with this content in the batch's transaction (beginning one if none is
    /// open), unless it is open already. A file stored in parts (`part`) starts a transaction of
    /// its own, so that a failure before its last part undoes only it.
    fn begin_file(&mut self, content_hash: &str, part: bool) -> Result<(), StoreError> {
        if let Some(open) = &self.open_file {
            if open.content_hash == content_hash {
                return Ok(());
            }
            // Another file's parts were left open: it cannot be completed any more.
            self.abort_parts();
        }
        if part && !self.conn.is_autocommit() {
            self.flush()?;
        }
        if self.conn.is_autocommit() {
            if let Err(e) = self.conn.execute_batch("BEGIN IMMEDIATE") {
                return Err(self.err(e));
            }
            self.batch_started = Some(std::time::Instant::now());
        }
        match ledger_source_of(&self.conn, content_hash) {
            Ok(duplicate_of) => {
                self.open_file = Some(OpenFile {
                    content_hash: content_hash.to_owned(),
                    duplicate_of,
                    rows: 0,
                });
                Ok(())
            }
            Err(e) => {
                self.rollback();
                Err(self.err(e))
            }
        }
    }

    fn rollback(&mut self) {
        self.batch_started = None;
        self.pending.get_mut().clear();
        // Nothing to do when no transaction is open (SQLite ends one on some errors by itself).
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// The client rows of small files' traffic held in memory before they are merged and written
/// (see `stage`): at most about 26 MB (104 bytes a row).
pub(crate) const PENDING_ROWS: usize = 250_000;

/// The client rows of a sealed aggregate (a folded group's row counted once).
fn sealed_rows(evidence: &FileEvidence) -> usize {
    evidence
        .sealed
        .iter()
        .map(|g| g.rows.len() + usize::from(g.folded.is_some()))
        .sum()
}

/// How long files are merged into one transaction before it is committed (see `Store::flush`).
/// Measured on 200 files of 25,000 records: a commit per file wrote 1.6 GB; one per second,
/// 0.2 GB.
pub(crate) const BATCH: std::time::Duration = std::time::Duration::from_secs(1);

/// The source under which content with this hash was ingested (or replaced), if any.
pub(crate) fn ledger_source_of(tx: &Connection, hash: &str) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "SELECT source FROM ledger WHERE content_hash = ?1
         UNION ALL
         SELECT l.source FROM superseded s JOIN ledger l ON l.id = s.ledger_id
             WHERE s.content_hash = ?1
         LIMIT 1",
        [hash],
        |r| r.get(0),
    )
    .optional()
}

fn set_counted(tx: &Connection, id: i64, facts: &FileFacts) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE ledger SET complete = ?2, counted_bytes = ?3, counted_hash = ?4 WHERE id = ?1",
        params![
            id,
            i64::from(!facts.incomplete),
            facts.counted.as_ref().map(|c| c.bytes as i64),
            facts.counted.as_ref().map(|c| c.hash.as_str()),
        ],
    )?;
    Ok(())
}

/// Makes ledger row `id` (an earlier, shorter copy of the file) describe the whole file: its
/// counts plus those of the records after it. A line the shorter copy counted as truncated (cut
/// by its end) is part of what the longer copy read, so it no longer counts as malformed.
fn continue_ledger_row(
    tx: &Connection,
    id: i64,
    entry: &LedgerEntry,
    evidence: &FileEvidence,
    facts: &FileFacts,
    rows: usize,
) -> rusqlite::Result<()> {
    let (old_hash, by_reason, versions): (String, String, String) = tx.query_row(
        "SELECT content_hash, malformed_by_reason, versions FROM ledger WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut malformed: std::collections::BTreeMap<String, u64> =
        serde_json::from_str(&by_reason).unwrap_or_default();
    malformed.remove(crate::ingest::flowlog::record::Malformed::Truncated.kind());
    for (reason, n) in &evidence.malformed {
        *malformed.entry((*reason).to_owned()).or_default() += n;
    }
    let mut all_versions: std::collections::BTreeSet<u8> =
        versions.split(',').filter_map(|v| v.parse().ok()).collect();
    all_versions.extend(evidence.versions.iter().copied());
    let versions = all_versions
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    tx.execute(
        "INSERT OR IGNORE INTO superseded (content_hash, ledger_id) VALUES (?1, ?2)",
        params![old_hash, id],
    )?;
    tx.execute(
        "UPDATE ledger SET size = ?2, mtime = ?3, content_hash = ?4, ingested_at = ?5,
             records = records + ?6, nodata = nodata + ?7, skipdata = skipdata + ?8,
             malformed = ?9, malformed_by_reason = ?10, versions = ?11, fields = ?12,
             rows = rows + ?13
         WHERE id = ?1",
        params![
            id,
            entry.size as i64,
            entry.mtime,
            entry.content_hash,
            now,
            evidence.records as i64,
            evidence.nodata as i64,
            evidence.skipdata as i64,
            malformed.values().sum::<u64>() as i64,
            serde_json::to_string(&malformed).unwrap_or_else(|_| "{}".into()),
            versions,
            entry.fields,
            rows as i64,
        ],
    )?;
    set_counted(tx, id, facts)
}

/// What a ledger row counts.
pub(crate) struct LedgerCounts {
    pub(crate) records: u64,
    pub(crate) nodata: u64,
    pub(crate) skipdata: u64,
    pub(crate) malformed: u64,
}

pub(crate) fn insert_ledger_row(
    tx: &Connection,
    entry: &LedgerEntry,
    counts: &LedgerCounts,
    malformed_by_reason: &str,
    versions: &str,
    rows: usize,
) -> rusqlite::Result<()> {
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
            counts.records as i64,
            counts.nodata as i64,
            counts.skipdata as i64,
            counts.malformed as i64,
            malformed_by_reason,
            versions,
            entry.fields,
            rows as i64,
        ],
    )?;
    Ok(())
}

/// The statements one file's merge uses, prepared once.
struct Writer<'tx> {
    find: rusqlite::CachedStatement<'tx>,
    list: rusqlite::CachedStatement<'tx>,
    upsert: rusqlite::CachedStatement<'tx>,
    update: rusqlite::CachedStatement<'tx>,
    runs: rusqlite::CachedStatement<'tx>,
    run: rusqlite::CachedStatement<'tx>,
    add_run: rusqlite::CachedStatement<'tx>,
    drop_run: rusqlite::CachedStatement<'tx>,
    cap: usize,
    runs_from: usize,
}

/// A group's rows sorted by client.
pub(crate) type Rows = Vec<(ClientKey, Stats)>;

fn write_evidence(
    tx: &Connection,
    evidence: &mut FileEvidence,
    cap: usize,
    runs_from: usize,
) -> rusqlite::Result<usize> {
    let mut writer = Writer {
        find: tx.prepare_cached(
            "SELECT id, client_rows FROM source_group WHERE interface = ?1 AND day = ?2
                 AND protocol = ?3 AND action = ?4 AND initiator = ?5 AND direction = ?6
                 AND server = ?7 AND server_port = ?8",
        )?,
        list: tx.prepare_cached("SELECT clients, sketch FROM source_group WHERE id = ?1")?,
        // A new group is inserted; a stored one whose list is small and stays under the cap
        // whatever the overlap is merged in place by the same statement (the functions of
        // `register_functions`; `client_rows` is computed first, in column order, and the list
        // reuses that merge). Anything else is left to `group`'s slower path.
        upsert: tx.prepare_cached(
            "INSERT INTO source_group (interface, day, protocol, action, initiator, direction, server,
                 server_port, client_rows, clients, sketch)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (interface, day, protocol, action, initiator, direction, server, server_port)
                 DO UPDATE SET client_rows = tighten_merged_rows(clients, excluded.clients),
                     clients = tighten_merged_list(clients, excluded.clients)
                 WHERE source_group.client_rows + excluded.client_rows <= ?12
                     AND source_group.sketch IS NULL AND excluded.sketch IS NULL",
        )?,
        update: tx.prepare_cached(
            "UPDATE source_group SET client_rows = ?2, clients = ?3, sketch = ?4 WHERE id = ?1",
        )?,
        runs: tx.prepare_cached("SELECT id, client_rows FROM client_run WHERE group_id = ?1")?,
        run: tx.prepare_cached("SELECT clients FROM client_run WHERE id = ?1")?,
        add_run: tx.prepare_cached(
            "INSERT INTO client_run (group_id, client_rows, clients) VALUES (?1, ?2, ?3)",
        )?,
        drop_run: tx.prepare_cached("DELETE FROM client_run WHERE id = ?1")?,
        cap,
        runs_from,
    };
    let ids = interface_ids(tx, &evidence.interfaces)?;
    let mut rows = 0;
    // Sealed by the worker that read the file, as a rule; sorted, so that the B-tree is written
    // in key order (fewer page splits, same result).
    evidence.seal();
    let mut chunks = std::mem::take(&mut evidence.sealed_clients);
    let mut passed = 0;
    for group in std::mem::take(&mut evidence.sealed) {
        // Chunks before this group's hold no more groups to write: freed now, not at the end.
        for chunk in &mut chunks[passed..group.chunk] {
            *chunk = Vec::new();
        }
        passed = group.chunk;
        let interface = ids[group.key.interface as usize];
        let clients = &chunks[group.chunk][group.rows.clone()];
        rows += writer.group(interface, group, clients)?;
    }
    let mut cov = tx.prepare_cached(
        "INSERT INTO coverage (interface, day, records, nodata, skipdata, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (interface, day) DO UPDATE SET
             records = records + excluded.records, nodata = nodata + excluded.nodata,
             skipdata = skipdata + excluded.skipdata,
             first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
    )?;
    for (interface, facts) in evidence.interfaces.iter().zip(&evidence.facts) {
        for (day, c) in &facts.days {
            cov.execute(params![
                interface,
                day,
                c.records as i64,
                c.nodata as i64,
                c.skipdata as i64,
                c.first,
                c.last
            ])?;
        }
    }
    let mut own = tx.prepare_cached(
        "INSERT INTO interface_address (interface, addr, records) VALUES (?1, ?2, ?3)
         ON CONFLICT (interface, addr) DO UPDATE SET records = records + excluded.records",
    )?;
    for (interface, facts) in evidence.interfaces.iter().zip(&evidence.facts) {
        for addr in &facts.own.addrs {
            own.execute(params![
                interface,
                Blob::of(Some(*addr)).as_slice(),
                facts.own.records as i64
            ])?;
        }
    }
    Ok(rows)
}

impl Writer<'_> {
    /// Merges one group into the store; returns the number of client rows the file merged.
    ///
    /// A group that many files touch would have its whole list rewritten by each of them (the
    /// bytes written per file growing with what the day already holds). Instead a file's rows
    /// for a large group are stored as a run beside the list, merged with the newest runs that
    /// are no larger than what is merged so far, and into the list only when that has grown as
    /// large as the list. Each client row is then rewritten a logarithmic number of times.
    fn group(
        &mut self,
        interface: i64,
        group: SealedGroup,
        file_rows: &[(ClientKey, Stats)],
    ) -> rusqlite::Result<usize> {
        let SealedGroup { key, folded, .. } = group;
        let merged_rows = file_rows.len() + usize::from(folded.is_some());
        // Most of a file's groups are new to the store or small: one statement inserts or
        // merges them.
        if self.upsert(interface, &key, file_rows, folded.as_ref())? {
            return Ok(merged_rows);
        }
        // The insert found the group, so the lookup does (inside one transaction). Only the
        // row's head is read here, not its list.
        let server = Blob::of(Some(key.server));
        let (id, list_rows): (i64, usize) = self.find.query_row(
            rusqlite::params_from_iter(key_columns(interface, &key, &server)),
            |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)),
        )?;
        let mut runs = self
            .runs
            .query_map([id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as usize))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        runs.sort_unstable();
        if folded.is_none()
            && let Some(from) = self.run_from(list_rows, &runs, file_rows.len())
        {
            let rows = self.take_runs(id, &runs[from..], file_rows)?;
            self.add_run
                .execute(params![id, rows.len() as i64, encode(&rows)])?;
            return Ok(merged_rows);
        }
        let rows = self.take_runs(id, &runs, file_rows)?;
        self.merge_into_list(id, rows, folded)?;
        Ok(merged_rows)
    }

    /// Where a file's `new_rows` go in a group with a list of `list_rows` and these runs (oldest
    /// first): `Some(i)` into a new run, merged with the runs from index `i` on; `None` into the
    /// list, merged with every run.
    fn run_from(&self, list_rows: usize, runs: &[(i64, usize)], new_rows: usize) -> Option<usize> {
        let bound = list_rows + runs.iter().map(|r| r.1).sum::<usize>() + new_rows;
        // A small list is rewritten faster than a run is added and read back (and `upsert`
        // relies on small lists having no runs); a list of one row may be a folded group's.
        // Past the cap, only the exact count (every run merged) says whether the group folds;
        // under it, the group cannot fold.
        if list_rows < self.runs_from.max(2) || bound > self.cap {
            return None;
        }
        let mut size = new_rows;
        let mut from = runs.len();
        while from > 0 && runs[from - 1].1 <= size {
            from -= 1;
            size += runs[from].1;
        }
        (from > 0 || list_rows > size).then_some(from)
    }

    /// The rows of these runs of group `id` merged with `rows` (the file's, borrowed while
    /// there is no run); the runs are deleted.
    fn take_runs<'r>(
        &mut self,
        id: i64,
        runs: &[(i64, usize)],
        rows: &'r [(ClientKey, Stats)],
    ) -> rusqlite::Result<Cow<'r, [(ClientKey, Stats)]>> {
        let mut rows = Cow::Borrowed(rows);
        for &(run, _) in runs {
            let stored = self.run.query_row([run], |r| {
                decode(r.get_ref(0)?.as_blob()?).ok_or_else(|| damaged(id, "client run"))
            })?;
            rows = Cow::Owned(match rows {
                Cow::Borrowed(rows) => merge_sorted(stored, rows.iter().cloned()),
                Cow::Owned(rows) => merge_sorted(stored, rows),
            });
            self.drop_run.execute([run])?;
        }
        Ok(rows)
    }

    /// Merges `rows` (sorted) and a file's folded rows into group `id`'s list, folding the group
    /// once it passes the cap.
    fn merge_into_list(
        &mut self,
        id: i64,
        new_rows: Cow<'_, [(ClientKey, Stats)]>,
        folded: Option<(Stats, Sketch)>,
    ) -> rusqlite::Result<()> {
        // A group under the cap on both sides is merged in its encoded form, read in place.
        let cap = self.cap;
        let stored = self.list.query_row([id], |r| {
            let clients = r.get_ref(0)?.as_blob()?;
            let sketch: Option<Vec<u8>> = r.get(1)?;
            if sketch.is_none() && folded.is_none() {
                let (merged, n) =
                    merge_encoded(clients, &new_rows).ok_or_else(|| damaged(id, "client list"))?;
                if n <= cap {
                    return Ok(Stored::Merged { merged, n });
                }
            }
            Ok(Stored::Whole {
                clients: clients.to_vec(),
                sketch,
            })
        })?;
        let (clients, sketch) = match stored {
            Stored::Merged { merged, n } => {
                self.update
                    .execute(params![id, n as i64, merged, None::<Vec<u8>>])?;
                return Ok(());
            }
            Stored::Whole { clients, sketch } => (clients, sketch),
        };
        let stored_rows = decode(&clients).ok_or_else(|| damaged(id, "client list"))?;
        let mut sketch = match sketch {
            None => None,
            Some(bytes) => Some(Sketch::from_bytes(&bytes).ok_or_else(|| damaged(id, "sketch"))?),
        };
        let mut rows = merge_sorted(stored_rows, new_rows.into_owned());
        if let Some((stats, file_sketch)) = folded {
            sketch
                .get_or_insert_with(Sketch::default)
                .merge(&file_sketch);
            rows.push((MARKER, stats));
        }
        if sketch.is_some() || rows.len() > self.cap {
            let total = fold_rows(&rows, sketch.get_or_insert_with(Sketch::default));
            rows = vec![(MARKER, total)];
        }
        let clients = encode(&rows);
        let sketch = sketch.map(|s| s.to_bytes());
        self.update
            .execute(params![id, rows.len() as i64, clients, sketch])?;
        Ok(())
    }

    /// Inserts a group the store does not have yet (its rows sorted by client), or merges it
    /// into a small stored one that cannot pass the cap; false when it did neither (nothing
    /// written).
    fn upsert(
        &mut self,
        interface: i64,
        key: &GroupKey,
        rows: &[(ClientKey, Stats)],
        folded: Option<&(Stats, Sketch)>,
    ) -> rusqlite::Result<bool> {
        let (stored, clients, sketch) = if folded.is_none() && rows.len() <= self.cap {
            (rows.len(), encode(rows), None)
        } else {
            let mut sketch = folded.map(|(_, s)| s.clone()).unwrap_or_default();
            let mut total = fold_rows(rows, &mut sketch);
            if let Some((stats, _)) = folded {
                total.merge(stats);
            }
            (1, encode(&[(MARKER, total)]), Some(sketch.to_bytes()))
        };
        // The merge in place stays at lists the slower path would rewrite anyway: runs are made
        // only for lists of `runs_from` rows or more.
        let in_place = self.cap.min(self.runs_from) as i64;
        let server = Blob::of(Some(key.server));
        let columns = key_columns(interface, key, &server);
        let rest: [&dyn rusqlite::ToSql; 4] = [&(stored as i64), &clients, &sketch, &in_place];
        let changed = self.upsert.execute(rusqlite::params_from_iter(
            columns
                .iter()
                .map(|c| c as &dyn rusqlite::ToSql)
                .chain(rest),
        ))?;
        Ok(changed > 0)
    }
}

/// Registers the SQL functions of the writer's upsert on `conn`: `tighten_merged_rows(list,
/// rows)` and `tighten_merged_list(list, rows)`, the number of rows and the encoding of two
/// client lists merged. The first call's merge is kept for the second one with the same
/// arguments, so that an update that sets both merges once.
pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    let memo = Arc::new(Mutex::new(Memo::default()));
    let flags = FunctionFlags::SQLITE_UTF8;
    let rows = Arc::clone(&memo);
    conn.create_scalar_function("tighten_merged_rows", 2, flags, move |ctx| {
        let mut memo = rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        memo.merge(blob(ctx, 0)?, blob(ctx, 1)?).map(|n| n as i64)
    })?;
    conn.create_scalar_function("tighten_merged_list", 2, flags, move |ctx| {
        let mut memo = memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        memo.merge(blob(ctx, 0)?, blob(ctx, 1)?)?;
        memo.inputs = None;
        Ok(std::mem::take(&mut memo.merged))
    })?;
    Ok(())
}

fn blob<'a>(ctx: &'a rusqlite::functions::Context<'_>, i: usize) -> rusqlite::Result<&'a [u8]> {
    ctx.get_raw(i)
        .as_blob()
        .map_err(|e| rusqlite::Error::UserFunctionError(e.into()))
}

/// The last merge of `register_functions`' functions: its inputs and its result.
#[derive(Default)]
struct Memo {
    inputs: Option<(Vec<u8>, Vec<u8>)>,
    merged: Vec<u8>,
    rows: usize,
}

impl Memo {
    fn merge(&mut self, list: &[u8], new: &[u8]) -> rusqlite::Result<usize> {
        let same = matches!(&self.inputs, Some((l, n)) if l == list && n == new);
        if !same {
            let damaged = || rusqlite::Error::UserFunctionError(Box::new(DamagedList));
            let rows = decode(new).ok_or_else(damaged)?;
            let (merged, n) = merge_encoded(list, &rows).ok_or_else(damaged)?;
            self.merged = merged;
            self.rows = n;
            self.inputs = Some((list.to_vec(), new.to_vec()));
        }
        Ok(self.rows)
    }
}

/// A stored list the upsert's merge could not read (the group is not known there).
#[derive(Debug, thiserror::Error)]
#[error(
    "a stored client list is damaged; restore the store from a backup or re-ingest into a new one"
)]
struct DamagedList;

/// Every group's runs, merged per group: a group's clients are its list merged with these.
pub(crate) fn runs_by_group(conn: &Connection) -> rusqlite::Result<HashMap<i64, Rows>> {
    let mut stmt = conn.prepare("SELECT group_id, clients FROM client_run")?;
    let mut query = stmt.query([])?;
    let mut out: HashMap<i64, Rows> = HashMap::new();
    while let Some(r) = query.next()? {
        let id: i64 = r.get(0)?;
        let rows = decode(r.get_ref(1)?.as_blob()?).ok_or_else(|| damaged(id, "client run"))?;
        let merged = match out.remove(&id) {
            Some(earlier) => merge_sorted(earlier, rows),
            None => rows,
        };
        out.insert(id, merged);
    }
    Ok(out)
}

/// The store's number for each of these interface ids (`interface` table), added when new.
fn interface_ids(tx: &Connection, names: &[String]) -> rusqlite::Result<Vec<i64>> {
    let mut add =
        tx.prepare_cached("INSERT INTO interface (name) VALUES (?1) ON CONFLICT DO NOTHING")?;
    let mut find = tx.prepare_cached("SELECT id FROM interface WHERE name = ?1")?;
    names
        .iter()
        .map(|name| {
            add.execute([name])?;
            find.query_row([name], |r| r.get(0))
        })
        .collect()
}

/// A group's key as the writer's statements bind it, `?1` to `?8`.
fn key_columns<'a>(
    interface: i64,
    key: &GroupKey,
    server: &'a Blob,
) -> [rusqlite::types::ToSqlOutput<'a>; 8] {
    [
        interface.into(),
        key.day.into(),
        key.protocol.into(),
        key.action.code().into(),
        (key.initiator as u8).into(),
        key.direction.into(),
        server.as_slice().into(),
        key.server_port.into(),
    ]
}

/// A group's list as the writer read it: merged with the new rows already, or as it is.
enum Stored {
    Merged {
        merged: Vec<u8>,
        n: usize,
    },
    Whole {
        clients: Vec<u8>,
        sketch: Option<Vec<u8>>,
    },
}

/// The row that stands for every client of a folded group.
const MARKER: ClientKey = ClientKey {
    client: None,
    client_port: 0,
    if_src: None,
    if_dst: None,
};

/// A stored value this version cannot read: reported, never guessed at.
#[derive(Debug, thiserror::Error)]
#[error(
    "the {what} of group {id} is damaged; restore the store from a backup or re-ingest into a new one"
)]
struct Damaged {
    id: i64,
    what: &'static str,
}

pub(crate) fn damaged(id: i64, what: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Blob,
        Box::new(Damaged { id, what }),
    )
}
