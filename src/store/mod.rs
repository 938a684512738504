//! Store stage: the SQLite evidence store — schema and migrations, the ledger of ingested objects,
//! exact merging of per-file aggregates, and typed queries. Callers never see SQL.

mod addr;
pub mod attribution;
mod clients;
pub mod cloudwatch;
pub mod evidence;
pub mod inventory;
mod merge;
pub mod runs;
mod schema;
pub mod summary;
pub mod view;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

pub use crate::ingest::flowlog::Previous;
pub use merge::{Committed, FileFacts, LedgerEntry};

/// Default number of exact sources kept per group (interface, day, service endpoint) before the
/// group is folded into one "many sources" row with an estimated distinct count.
pub const DEFAULT_SOURCE_CAP: usize = 4096;

/// The size of a group's list (client rows) from which a file's rows for the group are stored as
/// a run beside the list rather than merged into it (see `merge.rs`).
pub const DEFAULT_RUNS_FROM: usize = 256;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StoreError {
    #[error("{}: evidence store error: {source}", path.display())]
    #[diagnostic(
        code(tighten::store::sqlite),
        help("check that the file is a tighten store, writable, and that the disk is not full")
    )]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: the evidence store has schema version {found}, newer than this tighten understands ({supported})", path.display())]
    #[diagnostic(
        code(tighten::store::newer),
        help("upgrade tighten; the store was left untouched")
    )]
    Newer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{}: no evidence store here", path.display())]
    #[diagnostic(
        code(tighten::store::missing),
        help("create one with `tighten ingest flow-logs --db PATH …`, or check --db / TIGHTEN_DB")
    )]
    Missing { path: PathBuf },
    #[error("{}: cannot create the store's folder: {source}", path.display())]
    #[diagnostic(
        code(tighten::store::folder),
        help("choose another place with --db or TIGHTEN_DB")
    )]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// An open evidence store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    source_cap: usize,
    runs_from: usize,
    /// When the open batch of files began (see `flush`); `None` when no batch is open.
    batch_started: Option<std::time::Instant>,
    /// How long a batch stays open (see `flush`).
    batch: std::time::Duration,
    /// The file whose parts are being written in the open transaction, if any.
    open_file: Option<OpenFile>,
    /// The traffic of small files committed to the open batch but not written yet, each sealed
    /// (see `merge.rs`). Merged into one aggregate and written before the batch commits and
    /// before any read.
    pending: std::cell::RefCell<Vec<crate::ingest::flowlog::aggregate::FileEvidence>>,
    pending_rows: usize,
}

impl Drop for Store {
    /// Commits the files of the open batch (an ingest flushes before it ends; this keeps what a
    /// run stopped by an error had merged).
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// A file stored in parts: its transaction (its own, see `begin_file`) stays open until its last
/// part and ledger row.
struct OpenFile {
    content_hash: String,
    /// The same content is in the ledger already: its parts are ignored.
    duplicate_of: Option<String>,
    rows: usize,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates it forward.
    pub fn open(path: &Path, source_cap: usize) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Folder {
                path: parent.to_owned(),
                source,
            })?;
        }
        let wrap = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(wrap)?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            source_cap: source_cap.max(1),
            runs_from: DEFAULT_RUNS_FROM,
            batch_started: None,
            batch: merge::BATCH,
            open_file: None,
            pending: std::cell::RefCell::new(Vec::new()),
            pending_rows: merge::PENDING_ROWS,
        };
        store.configure().map_err(wrap)?;
        store.migrate()?;
        Ok(store)
    }

    /// Sets the number of exact sources a group keeps before it is folded, for the next commits
    /// (an imported aggregate carries the cap its query was rendered with). Traffic held back
    /// under another cap is written first, with the cap it was read with.
    pub fn set_source_cap(&mut self, source_cap: usize) -> Result<(), StoreError> {
        let source_cap = source_cap.max(1);
        if source_cap != self.source_cap {
            self.write_pending().map_err(|e| self.err(e))?;
        }
        self.source_cap = source_cap;
        Ok(())
    }

    /// Sets the group size from which a file's rows are stored as a run (for tests: runs are
    /// then exercised by small inputs; the evidence is the same whatever the size).
    #[doc(hidden)]
    pub fn set_runs_from(&mut self, rows: usize) {
        self.runs_from = rows;
    }

    /// Sets how many client rows of small files' traffic are held in memory before they are
    /// merged and written (for tests: 0 writes every file as it comes; the evidence is the same
    /// either way).
    #[doc(hidden)]
    pub fn set_pending_rows(&mut self, rows: usize) {
        self.pending_rows = rows;
    }

    /// Sets how long a batch of files stays open before it is committed (see `flush`); zero
    /// commits every file on its own.
    pub fn set_commit_interval(&mut self, batch: std::time::Duration) {
        self.batch = batch;
    }

    /// Opens an existing store read-only (for dumps); a missing file is an error, not a new store.
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        Store::open(path, DEFAULT_SOURCE_CAP)
    }

    fn configure(&self) -> rusqlite::Result<()> {
        // WAL keeps every committed batch of files intact across a kill at any moment; a crash
        // before COMMIT leaves the store as if the batch's files had never started.
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 16 MiB of page cache (the default is 2 MiB): one lookup per group, all over the B-tree.
        self.conn.pragma_update(None, "cache_size", -16_384)?;
        // Copy the log into the database every 32 MiB of log rather than every 4 MiB: an ingest
        // commits a transaction per batch of files, consecutive ones change many of the same
        // pages (the index, a day's groups), and each checkpoint copies a page once however
        // often it changed. Measured on the 5 M-record bench (one commit per file then): 28 %
        // fewer bytes written (290 → 209 MB).
        self.conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
        self.conn.busy_timeout(std::time::Duration::from_secs(30))?;
        merge::register_functions(&self.conn)?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let wrap = |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(wrap)?;
        if found > schema::CURRENT {
            return Err(StoreError::Newer {
                path: self.path.clone(),
                found,
                supported: schema::CURRENT,
            });
        }
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        if found == schema::CURRENT {
            return Ok(());
        }
        // A migration that rebuilds a table (version 7) drops it while other tables refer to its
        // rows: foreign keys are checked when the migration is done, before it commits. Rows
        // that referred to nothing before (left by a tool that does not enforce foreign keys,
        // such as the sqlite3 shell) are not the migration's doing and do not stop it.
        self.conn
            .pragma_update(None, "foreign_keys", false)
            .map_err(wrap)?;
        let dangling = |c: &Connection| {
            c.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get::<_, i64>(0)
            })
        };
        for (version, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self.conn.transaction().map_err(wrap)?;
            let before = dangling(&tx).map_err(wrap)?;
            tx.execute_batch(sql).map_err(wrap)?;
            let broken = dangling(&tx).map_err(wrap)? - before;
            if broken > 0 {
                return Err(wrap(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(format!(
                        "migrating to schema version {} would leave {broken} rows referring to \
                         rows that do not exist; that migration was rolled back",
                        version + 1
                    )),
                )));
            }
            tx.pragma_update(None, "user_version", version as i64 + 1)
                .map_err(wrap)?;
            tx.commit().map_err(wrap)?;
        }
        self.conn
            .pragma_update(None, "foreign_keys", true)
            .map_err(wrap)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The content hash of an object already ingested from this source with this size and mtime.
    pub fn known_source(
        &self,
        source: &str,
        size: u64,
        mtime: Option<i64>,
    ) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT content_hash FROM ledger WHERE source = ?1 AND size = ?2 AND mtime IS ?3",
                params![source, size as i64, mtime],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The latest flow-log ledger row of a source (a path or an `s3://` URI), if any.
    pub fn previous_of(&self, source: &str) -> Result<Option<Previous>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, size, mtime, content_hash, ingested_at, complete, counted_bytes,
                     counted_hash
                 FROM ledger WHERE source = ?1 AND kind = 'flow-log' ORDER BY id DESC LIMIT 1",
                [source],
                |r| {
                    let counted =
                        match (r.get::<_, Option<i64>>(6)?, r.get::<_, Option<String>>(7)?) {
                            (Some(bytes), Some(hash)) => Some(crate::ingest::flowlog::Counted {
                                bytes: bytes as u64,
                                hash,
                            }),
                            _ => None,
                        };
                    Ok(Previous {
                        id: r.get(0)?,
                        size: r.get::<_, i64>(1)? as u64,
                        mtime: r.get(2)?,
                        content_hash: r.get(3)?,
                        ingested_on: evidence::date_of_day(
                            i32::try_from(r.get::<_, i64>(4)?.div_euclid(86_400)).unwrap_or(0),
                        ),
                        complete: r.get::<_, i64>(5)? != 0,
                        counted,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every content hash in the ledger, and those of copies a longer copy replaced.
    pub fn known_hashes(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT content_hash FROM ledger UNION SELECT content_hash FROM superseded")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}
