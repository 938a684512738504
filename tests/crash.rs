//! A process killed with SIGKILL in the middle of an ingest leaves the store as if the files of the
//! open batch had never started; rerunning completes it, and the evidence equals a clean run's.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{evidence_csv, realistic, write_v5};

const FILES: i64 = 8;

fn ledger_count(db: &std::path::Path) -> i64 {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0))
        .unwrap_or(0)
}

#[test]
fn sigkill_mid_ingest_then_rerun_equals_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    for i in 0..FILES {
        write_v5(
            &logs.join(format!("part-{i}.log.gz")),
            &realistic(100 + i as u64, 20_000),
        );
    }
    let bin = assert_cmd::cargo::cargo_bin("tighten");

    let clean = dir.path().join("clean.db");
    let status = Command::new(&bin)
        .args(["ingest", "flow-logs", "-q", "--db"])
        .arg(&clean)
        .arg(&logs)
        .status()
        .unwrap();
    assert!(status.success());

    let crashed = dir.path().join("crashed.db");
    let mut child = Command::new(&bin)
        // Small parts: the kill also lands while a file's transaction spans several parts. Short
        // batches: the kill lands after some have been committed, whatever the machine's speed.
        .args([
            "ingest",
            "flow-logs",
            "-q",
            "--threads",
            "1",
            "--part-rows",
            "2000",
            "--commit-interval",
            "0.05",
            "--db",
        ])
        .arg(&crashed)
        .arg(&logs)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while ledger_count(&crashed) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    let committed = ledger_count(&crashed);
    assert!(!status.success(), "the ingest was killed, not finished");
    assert!(
        (2..FILES).contains(&committed),
        "killed mid-ingest: {committed} of {FILES} files committed"
    );

    // The store opens, holds only whole files, and a rerun completes it.
    let rerun = Command::new(&bin)
        .args(["ingest", "flow-logs", "--part-rows", "2000", "--db"])
        .arg(&crashed)
        .arg(&logs)
        .output()
        .unwrap();
    assert!(rerun.status.success());
    let line = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        line.contains(&format!("ingested {} files", FILES - committed))
            && line.contains(&format!("{committed} already ingested, unchanged")),
        "{line}"
    );
    assert_eq!(ledger_count(&crashed), FILES);
    assert_eq!(evidence_csv(&crashed), evidence_csv(&clean));
}
