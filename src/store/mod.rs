//! Store stage: the `SQLite` evidence store — schema and migrations, the ledger of ingested objects,
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

pub use merge::{Committed, LedgerEntry};

/// Default number of exact sources kept per group (interface, day, service endpoint) before the
/// group is folded into one "many sources" row with an estimated distinct count.
pub const DEFAULT_SOURCE_CAP: usize = 4096;

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
    /// The file whose parts are being written in the open transaction, if any.
    open_file: Option<OpenFile>,
}

/// A file stored in parts: its transaction stays open until its last part and ledger row.
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
            open_file: None,
        };
        store.configure().map_err(wrap)?;
        store.migrate()?;
        Ok(store)
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
        // WAL keeps every committed file intact across a kill at any moment; a crash before COMMIT
        // leaves the store as if the file had never started.
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 16 MiB of page cache (the default is 2 MiB): one lookup per group, all over the B-tree.
        self.conn.pragma_update(None, "cache_size", -16_384)?;
        self.conn.busy_timeout(std::time::Duration::from_secs(30))?;
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
        for (version, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self.conn.transaction().map_err(wrap)?;
            tx.execute_batch(sql).map_err(wrap)?;
            tx.pragma_update(None, "user_version", version as i64 + 1)
                .map_err(wrap)?;
            tx.commit().map_err(wrap)?;
        }
        Ok(())
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

    /// Every content hash in the ledger.
    pub fn known_hashes(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT content_hash FROM ledger")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}
