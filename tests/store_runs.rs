//! A large group touched by many files keeps the files' rows in runs beside its list, merges
//! runs of similar size, and reads back exactly as one list; files are committed in batches.

mod common;

use std::io::Cursor;
use std::path::Path;

use common::{GROUPS_BACK_TO_VERSION_6, Rec, v5_text};
use tighten::ingest::flowlog::{ReadOptions, read_lines};
use tighten::store::{Committed, LedgerEntry, Store};

/// Ten inbound ssh connections to 10.0.0.1 from clients no other file has (file `file`).
fn file_records(file: u32) -> Vec<Rec> {
    (0..10u32)
        .map(|i| Rec {
            interface: "eni-1".into(),
            src: format!("198.51.{}.{}", file, i + 1),
            dst: "10.0.0.1".into(),
            sport: 40_000,
            dport: 22,
            protocol: 6,
            packets: 3,
            bytes: 180,
            start: 1_700_000_000 + i64::from(file),
            action: "ACCEPT",
            flags: Some(2),
            direction: "ingress",
            gap: None,
        })
        .collect()
}

/// Commits `recs` as one file named `name` (its content hash too).
fn commit_records(store: &mut Store, name: &str, recs: &[Rec]) -> Committed {
    let text = v5_text(recs);
    let options = ReadOptions {
        source_cap: 4096,
        strict: true,
        part_rows: 0,
    };
    let read = read_lines(Path::new(name), Cursor::new(text), options).unwrap();
    let entry = LedgerEntry {
        kind: "flow-log",
        source: name.into(),
        size: 0,
        mtime: None,
        content_hash: name.into(),
        fields: read.fields.clone(),
    };
    store.commit_file(&entry, read.evidence).unwrap()
}

/// Commits one of `file_records`' files.
fn commit(store: &mut Store, name: &str, recs: &[Rec]) {
    assert_eq!(
        commit_records(store, name, recs),
        Committed::Stored { rows: 10 }
    );
}

/// Every row `sql` selects, as `T`.
fn select<T: rusqlite::types::FromSql>(conn: &rusqlite::Connection, sql: &str) -> Vec<T> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// (list rows, run sizes oldest first) of the one group, read with a connection of its own.
fn layout(db: &Path) -> (i64, Vec<i64>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let list = conn
        .query_row("SELECT client_rows FROM source_group", [], |r| r.get(0))
        .unwrap();
    (
        list,
        select(&conn, "SELECT client_rows FROM client_run ORDER BY id"),
    )
}

#[test]
fn runs_merge_by_size_and_read_back_as_one_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs.db");
    let mut store = Store::open(&db, 4096).unwrap();
    store.set_runs_from(2);
    store.set_pending_rows(0);
    // Each file adds 10 rows. The second merges into the list (as large as the file); then runs
    // grow like a binary counter and fold into the list once as large as it.
    let expected: [(i64, &[i64]); 8] = [
        (10, &[]),
        (20, &[]),
        (20, &[10]),
        (40, &[]),
        (40, &[10]),
        (40, &[20]),
        (40, &[20, 10]),
        (80, &[]),
    ];
    let mut all = Vec::new();
    for (file, (list, runs)) in (0..8u32).zip(expected) {
        let recs = file_records(file);
        commit(&mut store, &format!("f{file}"), &recs);
        all.extend(recs);
        store.flush().unwrap();
        assert_eq!(layout(&db), (list, runs.to_vec()), "after file {file}");
        if file == 6 {
            // Read back with runs present: the evidence of one file holding every record.
            let one = dir.path().join("one.db");
            let mut reference = Store::open(&one, 4096).unwrap();
            commit_all(&mut reference, &all);
            assert_eq!(store.evidence().unwrap(), reference.evidence().unwrap());
            assert_eq!(store.summary().unwrap().rows, 70);
        }
    }
    assert_eq!(store.summary().unwrap().rows, 80);
}

fn commit_all(store: &mut Store, recs: &[Rec]) {
    commit_records(store, "all", recs);
}

#[test]
fn a_version_6_store_with_runs_migrates_keeping_its_groups_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v6.db");
    // A group with a list and runs (eni-1), and a second interface's group beside it.
    let mut all = Vec::new();
    {
        let mut store = Store::open(&db, 4096).unwrap();
        store.set_runs_from(2);
        store.set_pending_rows(0);
        for file in 0..7u32 {
            let mut recs = file_records(file);
            if file == 0 {
                recs.extend(file_records(0).into_iter().map(|r| Rec {
                    interface: "eni-2".into(),
                    dport: 443,
                    ..r
                }));
            }
            assert!(matches!(
                commit_records(&mut store, &format!("f{file}"), &recs),
                Committed::Stored { .. }
            ));
            all.extend(recs);
        }
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(GROUPS_BACK_TO_VERSION_6).unwrap();
    let interfaces: Vec<String> = select(&conn, "SELECT interface FROM source_group ORDER BY id");
    assert_eq!(interfaces, ["eni-1", "eni-2"]);
    // A row referring to nothing, as the sqlite3 shell (no foreign keys) can leave: not the
    // migration's doing, so it does not stop it.
    conn.execute_batch("INSERT INTO superseded (content_hash, ledger_id) VALUES ('gone', 999)")
        .unwrap();
    drop(conn);

    let mut store = Store::open(&db, 4096).unwrap();
    store.set_runs_from(2);
    store.set_pending_rows(0);
    assert_eq!(store.schema_version().unwrap(), 7);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let named: Vec<String> = select(
        &conn,
        "SELECT g.id || ' ' || i.name FROM source_group AS g
         JOIN interface AS i ON i.id = g.interface ORDER BY g.id",
    );
    assert_eq!(named, ["1 eni-1", "2 eni-2"]);
    let runs: Vec<String> = select(
        &conn,
        "SELECT group_id || ' ' || client_rows FROM client_run ORDER BY id",
    );
    assert_eq!(runs, ["1 20", "1 10"]);
    let one = dir.path().join("one.db");
    let mut reference = Store::open(&one, 4096).unwrap();
    commit_all(&mut reference, &all);
    assert_eq!(store.evidence().unwrap(), reference.evidence().unwrap());
    // Files after the migration merge into the same groups and runs.
    commit(&mut store, "f7", &file_records(7));
    store.flush().unwrap();
    all.extend(file_records(7));
    let after = dir.path().join("after.db");
    let mut reference = Store::open(&after, 4096).unwrap();
    commit_all(&mut reference, &all);
    assert_eq!(store.evidence().unwrap(), reference.evidence().unwrap());
    let groups: i64 = conn
        .query_row("SELECT count(*) FROM source_group", [], |r| r.get(0))
        .unwrap();
    assert_eq!(groups, 2);
    assert_eq!(store.summary().unwrap().rows, 90);
}

#[test]
fn a_group_with_runs_folds_past_the_cap_whatever_the_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let fold = |order: &[u32], name: &str| {
        let db = dir.path().join(name);
        let mut store = Store::open(&db, 45).unwrap();
        store.set_runs_from(2);
        store.set_pending_rows(0);
        for &file in order {
            commit(&mut store, &format!("f{file}"), &file_records(file));
        }
        (store.evidence().unwrap(), store.summary().unwrap())
    };
    let forward = fold(&[0, 1, 2, 3, 4], "forward.db");
    let backward = fold(&[4, 3, 2, 1, 0], "backward.db");
    assert_eq!(forward, backward);
    // 50 clients past a cap of 45: one folded row, 50 sources estimated.
    assert_eq!(forward.1.groups_capped, 1);
    assert_eq!(forward.1.rows, 1);
    let inbound: Vec<_> = forward.0.iter().filter(|r| r.stats.flows > 0).collect();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0].stats.flows, 50);
    assert_eq!(inbound[0].sources, 50);
}

#[test]
fn a_batch_is_committed_by_flush_and_by_drop() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("batch.db");
    let ledger = || -> i64 {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0))
            .unwrap()
    };
    let mut store = Store::open(&db, 4096).unwrap();
    store.set_commit_interval(std::time::Duration::from_secs(3600));
    commit(&mut store, "a", &file_records(0));
    commit(&mut store, "b", &file_records(1));
    // Within the batch's time, nothing is committed yet.
    assert_eq!(ledger(), 0);
    store.flush().unwrap();
    assert_eq!(ledger(), 2);
    commit(&mut store, "c", &file_records(2));
    drop(store);
    assert_eq!(ledger(), 3);
    // A batch past its time is committed with the file that ends it.
    let mut store = Store::open(&db, 4096).unwrap();
    store.set_commit_interval(std::time::Duration::ZERO);
    commit(&mut store, "d", &file_records(3));
    assert_eq!(ledger(), 4);
}

#[test]
fn a_file_failing_after_some_parts_leaves_the_batch_s_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("parts.db");
    let mut store = Store::open(&db, 4096).unwrap();
    store.set_commit_interval(std::time::Duration::from_secs(3600));
    commit(&mut store, "a", &file_records(0));
    // File b is stored in parts of one row; it fails before its end.
    let text = v5_text(&file_records(1));
    let options = ReadOptions {
        source_cap: 4096,
        strict: true,
        part_rows: 1,
    };
    let mut parts = Vec::new();
    tighten::ingest::flowlog::read_lines_in_parts(
        Path::new("b"),
        Cursor::new(text),
        options,
        &mut |part| {
            parts.push(part);
            Ok(())
        },
    )
    .unwrap();
    assert!(parts.len() > 2);
    for part in parts.drain(..2) {
        store.write_part("b", part).unwrap();
    }
    store.abort_parts();
    commit(&mut store, "c", &file_records(2));
    store.flush().unwrap();
    drop(store);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let sources: Vec<String> = select(&conn, "SELECT source FROM ledger ORDER BY id");
    assert_eq!(sources, ["a", "c"]);
    let one = dir.path().join("one.db");
    let mut reference = Store::open(&one, 4096).unwrap();
    let mut both = file_records(0);
    both.extend(file_records(2));
    commit_all(&mut reference, &both);
    let store = Store::open(&db, 4096).unwrap();
    assert_eq!(store.evidence().unwrap(), reference.evidence().unwrap());
}

/// A busy endpoint's clients (3,000 of them, under the default cap) in 60 files with everyday
/// traffic, ingested by the command line three ways: in batches with small files merged in
/// memory (the default), every file committed on its own (its rows go to runs once the group's
/// list is large), and as one file. The evidence is the same.
#[test]
fn the_command_line_stores_the_same_evidence_however_files_are_committed() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let mut all = Vec::new();
    for file in 0..60u32 {
        let mut recs = common::realistic(u64::from(file), 20);
        recs.extend((0..50u32).map(|i| {
            let client = file * 50 + i;
            Rec {
                interface: "eni-lb".into(),
                src: format!(
                    "198.{}.{}.{}",
                    51 + client / 65_536,
                    client / 256 % 256,
                    client % 256
                ),
                dst: "10.0.0.9".into(),
                sport: 40_000,
                dport: 443,
                protocol: 6,
                packets: 3,
                bytes: 180,
                start: 1_790_812_800 + i64::from(file) * 60,
                action: "ACCEPT",
                flags: Some(2),
                direction: "ingress",
                gap: None,
            }
        }));
        common::write_v5(&logs.join(format!("f{file:02}.log")), &recs);
        all.extend(recs);
    }
    let one = dir.path().join("one");
    common::write_v5(&one.join("all.log"), &all);
    let ingest = |db: &Path, source: &Path, extra: &[&str]| {
        common::succeed(
            common::tighten()
                .args(["ingest", "flow-logs", "-q", "--threads", "2", "--db"])
                .arg(db)
                .args(extra)
                .arg(source),
        );
    };
    let batched = dir.path().join("batched.db");
    ingest(&batched, &logs, &[]);
    let each = dir.path().join("each.db");
    ingest(&each, &logs, &["--commit-interval", "0"]);
    let whole = dir.path().join("whole.db");
    ingest(&whole, &one, &[]);
    let reference = common::evidence_csv(&whole);
    assert_eq!(common::evidence_csv(&batched), reference);
    assert_eq!(common::evidence_csv(&each), reference);
    let runs: i64 = rusqlite::Connection::open(&each)
        .unwrap()
        .query_row("SELECT count(*) FROM client_run", [], |r| r.get(0))
        .unwrap();
    assert!(runs > 0, "files committed one by one keep rows in runs");
    let summary = |db: &Path| {
        common::succeed(
            common::tighten()
                .args(["evidence", "--summary", "--format", "json", "--db"])
                .arg(db),
        )
    };
    let rows = |db: &Path| -> u64 {
        serde_json::from_str::<serde_json::Value>(&summary(db)).unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(rows(&batched), rows(&whole));
    assert_eq!(rows(&each), rows(&whole));
}

#[test]
fn traffic_held_back_is_written_with_the_cap_it_was_read_with() {
    let dir = tempfile::tempdir().unwrap();
    let imported = |name: &str, pending_rows: usize| {
        let mut store = Store::open(&dir.path().join(name), 4096).unwrap();
        store.set_pending_rows(pending_rows);
        commit(&mut store, "ssh", &file_records(0));
        // An import rendered with a cap of 2, for another endpoint.
        store.set_source_cap(2).unwrap();
        let https: Vec<Rec> = file_records(1)
            .into_iter()
            .map(|r| Rec { dport: 443, ..r })
            .collect();
        commit(&mut store, "https", &https);
        store.flush().unwrap();
        (store.evidence().unwrap(), store.summary().unwrap())
    };
    let held_back = imported("held.db", 100_000);
    let one_by_one = imported("each.db", 0);
    assert_eq!(held_back, one_by_one);
    // ssh keeps its 10 exact clients; https is folded into one row.
    assert_eq!(held_back.1.rows, 11);
    assert_eq!(held_back.1.groups_capped, 1);
}
