//! `tighten ingest flow-logs` and `tighten evidence` end to end, through the real binary and real
//! `SQLite` files.

mod common;

use std::path::Path;

use common::{Rec, evidence_csv, succeed, tighten, write_maybe_gz, write_v5};

fn testdata(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

fn summary_json(db: &Path) -> serde_json::Value {
    let out = succeed(
        tighten()
            .args(["evidence", "--summary", "--format", "json", "--db"])
            .arg(db),
    );
    serde_json::from_str(&out).unwrap()
}

fn ingest(db: &Path, sources: &[&Path]) -> std::process::Output {
    let mut cmd = tighten();
    cmd.args(["ingest", "flow-logs", "--db"]).arg(db);
    for s in sources {
        cmd.arg(s);
    }
    cmd.output().unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn corpus_samples_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let out = ingest(&db, &[&testdata("flow-logs/obsrvbl")]);
    // The v3 and v4 samples use a custom format without interface-id: evidence is kept per
    // interface, so they are refused with the field named, and the other files go in.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for name in ["v3_file.log", "v3_file.log.gz", "v4_file.log"] {
        let path = testdata("flow-logs/obsrvbl").join(name);
        assert!(
            err.contains(&format!(
                "{}:1: the header lacks the field `interface-id`",
                path.display()
            )),
            "{err}"
        );
    }
    // v5_file.log.gz is the gzip of v5_file.log: different bytes, so a different object, but
    // the same records (the ledger identity is the raw bytes, as S3 objects are).
    assert!(
        err.ends_with("ingested 5 files (10 records, 0 malformed lines skipped, 10 rows merged); 1 skipped for their extension or key; 3 failed\n"),
        "{err}"
    );
    let s = summary_json(&db);
    assert_eq!(s["files"], 5);
    assert_eq!(s["records"], 10);
    assert_eq!(s["nodata"], 2);
    assert_eq!(s["skipdata"], 3);
    assert_eq!(s["interfaces"], 5);
    insta::assert_snapshot!("obsrvbl_evidence_csv", evidence_csv(&db));
}

#[test]
fn versions_and_fields_are_recorded_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let out = ingest(
        &db,
        &[
            &testdata("flow-logs/obsrvbl/v2_records_mixed_tgw.log"),
            &testdata("flow-logs/obsrvbl/v5_file.log"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT versions, fields, records FROM ledger ORDER BY source")
        .unwrap();
    let rows: Vec<(String, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows[0].0, "2,6");
    assert!(
        rows[0]
            .1
            .starts_with("version account-id interface-id srcaddr")
    );
    assert_eq!(rows[0].2, 3);
    assert_eq!(rows[1].0, "5");
    assert!(rows[1].1.ends_with("traffic-path type version vpc-id"));
}

#[test]
fn ingesting_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let logs = dir.path().join("logs");
    write_v5(&logs.join("a.log.gz"), &common::realistic(1, 300));
    write_v5(&logs.join("b.log"), &common::realistic(2, 300));
    assert!(ingest(&db, &[&logs]).status.success());
    let before = evidence_csv(&db);
    let again = ingest(&db, &[&logs]);
    assert_eq!(
        stderr(&again).trim(),
        "ingested 0 files (0 records, 0 malformed lines skipped, 0 rows merged); 2 already ingested, unchanged"
    );
    // The same content under another name (or with another mtime) is recognised by its hash.
    std::fs::copy(logs.join("b.log"), dir.path().join("copy-of-b.log")).unwrap();
    let copy = ingest(&db, &[&dir.path().join("copy-of-b.log")]);
    assert_eq!(
        stderr(&copy).trim(),
        "ingested 0 files (0 records, 0 malformed lines skipped, 0 rows merged); 1 same content as an ingested file"
    );
    assert_eq!(evidence_csv(&db), before);
    assert_eq!(summary_json(&db)["files"], 2);
}

#[test]
fn malformed_lines_are_counted_located_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let file = dir.path().join("mixed.log");
    std::fs::write(
        &file,
        "2 123 eni-1 10.0.0.9 10.0.0.1 40000 22 6 3 180 1600000000 1600000060 ACCEPT OK\n\
         2 123 eni-1 10.0.0.9 10.0.0.1 40000 22 6 3 180 1600000000 1600000060 ACCEPT\n\
         2 123 eni-1 10.0.0.9 10.0.0.1 40000 port 6 3 180 1600000000 1600000060 ACCEPT OK\n\
         2 123 eni-1 10.0.0.999 10.0.0.1 40000 22 6 3 180 1600000000 1600000060 ACCEPT OK\n\
         2 123 eni-1 10.0.0.8 10.0.0.1 40001 22 6 3 180 1600000000 1600000060 ACCEPT OK\n\
         2 123 eni-1 10.0.0.8 10.0.0.1 400",
    )
    .unwrap();
    let out = ingest(&db, &[&file]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    let path = file.display();
    assert!(
        err.contains(&format!("warning: {path}:2: expected 14 fields, found 13")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "warning: {path}:3: dstport: `port` is not a valid number"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "warning: {path}:4: srcaddr: `10.0.0.999` is not an IPv4 or IPv6 address"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "warning: {path}:6: the file ends in the middle of this line (truncated)"
        )),
        "{err}"
    );
    assert!(
        err.contains("(2 records, 4 malformed lines skipped"),
        "{err}"
    );
    let s = summary_json(&db);
    assert_eq!(
        s["malformed"],
        serde_json::json!({"bad address": 1, "bad number": 1, "truncated": 1, "wrong field count": 1})
    );

    // --strict: the same file is refused whole.
    let strict_db = dir.path().join("strict.db");
    let out = tighten()
        .args(["ingest", "flow-logs", "--strict", "--db"])
        .arg(&strict_db)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{path}:2: expected 14 fields, found 13")),
        "{}",
        stderr(&out)
    );
    assert_eq!(summary_json(&strict_db)["files"], 0);
}

#[test]
fn files_that_are_not_flow_logs_fail_alone_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let logs = dir.path().join("in");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("config.json.gz"), b"").unwrap();
    write_maybe_gz(&logs.join("a-config.gz"), br#"{"configurationItems": []}"#);
    std::fs::write(logs.join("b-binary"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    std::fs::write(
        logs.join("c-header.log"),
        "version srcaddr dstaddr srcport dstport protocol start end action log-status\n",
    )
    .unwrap();
    std::fs::write(logs.join("d-prose.txt"), "hello, this is a README\n").unwrap();
    std::fs::write(
        logs.join("e-good.log"),
        "2 123 eni-1 10.0.0.9 10.0.0.1 40000 22 6 3 180 1600000000 1600000060 ACCEPT OK\n",
    )
    .unwrap();
    let out = ingest(&db, &[&logs]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let p = |name: &str| logs.join(name).display().to_string();
    assert!(
        err.contains(&format!(
            "{}:1: not a VPC flow log: it holds JSON, not flow-log text",
            p("a-config.gz")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:1: not a VPC flow log: the file is binary or not UTF-8 text",
            p("b-binary")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:1: the header lacks the field `interface-id`, which tighten needs",
            p("c-header.log")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:1: not a VPC flow log: line 1 is neither a header",
            p("d-prose.txt")
        )),
        "{err}"
    );
    // config.json.gz is an empty gzip-named file: tried (".gz"), empty, so zero records.
    assert!(err.contains("ingested 2 files (1 records"), "{err}");
    assert!(err.contains("; 4 failed"), "{err}");
    let s = summary_json(&db);
    assert_eq!(
        (s["files"].as_u64(), s["records"].as_u64()),
        (Some(2), Some(1))
    );
}

#[test]
fn gzip_members_truncation_and_millisecond_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let line = |i: u32| {
        format!(
            "2 123 eni-1 10.0.0.{i} 10.0.0.1 40000 22 6 3 180 1600000000000 1600000060000 ACCEPT OK\n"
        )
    };
    // Two gzip members in one file (as concatenated deliveries are).
    let mut multi = Vec::new();
    for part in [line(2) + &line(3), line(4)] {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, part.as_bytes()).unwrap();
        multi.extend(enc.finish().unwrap());
    }
    std::fs::write(dir.path().join("multi.log.gz"), &multi).unwrap();
    // A gzip cut in the middle (an interrupted download) is refused: nothing of it is stored.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    let body: String = (10..30).map(line).collect();
    std::io::Write::write_all(&mut enc, body.as_bytes()).unwrap();
    let whole = enc.finish().unwrap();
    std::fs::write(dir.path().join("cut.log.gz"), &whole[..whole.len() / 2]).unwrap();

    let out = ingest(&db, &[&dir.path().join("multi.log.gz")]);
    assert!(
        stderr(&out).contains("ingested 1 file (3 records, 0 malformed"),
        "{}",
        stderr(&out)
    );
    let before = evidence_csv(&db);
    let out = ingest(&db, &[&dir.path().join("cut.log.gz")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: incomplete: the compressed stream ends before its end marker, after 9 whole lines",
            dir.path().join("cut.log.gz").display()
        )),
        "{err}"
    );
    assert!(err.contains("ingested 0 files (0 records"), "{err}");
    assert_eq!(evidence_csv(&db), before);
    assert_eq!(summary_json(&db)["files"], 1);
    let csv = evidence_csv(&db);
    // Milliseconds are read as seconds: day 2020-09-13.
    assert!(csv.lines().any(|l| l.starts_with("eni-1,2020-09-13,inbound,6,22,10.0.0.2,10.0.0.1,ACCEPT,1,3,180,1600000000,1600000060,0,1,port,address")), "{csv}");
}

fn inbound_rec(src: String, start: i64) -> Rec {
    Rec {
        interface: "eni-web".into(),
        src,
        dst: "10.0.0.1".into(),
        sport: 40000,
        dport: 443,
        protocol: 6,
        packets: 2,
        bytes: 100,
        start,
        action: "ACCEPT",
        flags: Some(2),
        direction: "ingress",
        gap: None,
    }
}

#[test]
fn busy_endpoint_is_folded_past_the_cap_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let first: Vec<Rec> = (0..30)
        .map(|i| inbound_rec(format!("198.51.100.{i}"), 1_600_000_000))
        .collect();
    let second: Vec<Rec> = (20..50)
        .map(|i| inbound_rec(format!("198.51.100.{i}"), 1_600_000_100))
        .collect();
    write_v5(&dir.path().join("1.log"), &first);
    write_v5(&dir.path().join("2.log"), &second);
    let mut csvs = Vec::new();
    for order in [["1.log", "2.log"], ["2.log", "1.log"]] {
        let db = dir.path().join(format!("{}.db", order[0]));
        for name in order {
            let out = tighten()
                .args(["ingest", "flow-logs", "--source-cap", "40", "--db"])
                .arg(&db)
                .arg(dir.path().join(name))
                .output()
                .unwrap();
            assert!(out.status.success());
        }
        csvs.push(evidence_csv(&db));
        assert_eq!(summary_json(&db)["groups_capped"], 1);
    }
    assert_eq!(csvs[0], csvs[1]);
    assert_eq!(
        csvs[0].lines().nth(1).unwrap(),
        "eni-web,2020-09-13,inbound,6,443,*,10.0.0.1,ACCEPT,60,120,6000,1600000000,1600000160,2,50,flags,flow-direction"
    );
    // Under the cap, every source stays exact.
    let db = dir.path().join("exact.db");
    assert!(
        ingest(&db, &[&dir.path().join("1.log"), &dir.path().join("2.log")])
            .status
            .success()
    );
    assert_eq!(evidence_csv(&db).lines().count(), 1 + 50);
}

#[test]
fn a_newer_store_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let out = tighten()
        .args(["evidence", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "the evidence store has schema version 99, newer than this tighten understands (7)"
        ),
        "{}",
        stderr(&out)
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);
}

#[test]
fn store_from_env_and_missing_store_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("env.db");
    let out = tighten()
        .env("TIGHTEN_DB", &db)
        .args(["ingest", "flow-logs", "-q"])
        .arg(testdata("flow-logs/obsrvbl/v2_records.log"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "--quiet prints nothing: {}",
        stderr(&out)
    );
    assert_eq!(summary_json(&db)["records"], 3);
    let out = tighten()
        .args(["evidence", "--db"])
        .arg(dir.path().join("nope.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn formats_of_the_evidence_dump() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    assert!(
        ingest(&db, &[&testdata("flow-logs/obsrvbl/v5_file.log")])
            .status
            .success()
    );
    let table = tighten()
        .args(["evidence", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    insta::assert_snapshot!("v5_table", String::from_utf8(table.stdout).unwrap());
    let json = tighten()
        .args(["evidence", "--format", "json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    insta::assert_snapshot!("v5_json", String::from_utf8(json.stdout).unwrap());
    let summary = tighten()
        .args(["evidence", "--summary", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    insta::assert_snapshot!("v5_summary", String::from_utf8(summary.stdout).unwrap());
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let logs = dir.path().join("many.log");
    write_v5(&logs, &common::realistic(9, 3000));
    assert!(ingest(&db, &[&logs]).status.success());
    // A reader that takes one line and closes the pipe, as `head -1` does.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tighten"))
        .args(["evidence", "--format", "csv", "--db"])
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_commit_interval_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let out = tighten()
        .args(["ingest", "flow-logs", "--commit-interval=-1", "--db"])
        .arg(&db)
        .arg(testdata("flow-logs/obsrvbl/v5_file.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("'-1' is not a number of seconds from 0 to 3600 (0: commit every file)"),
        "{}",
        stderr(&out)
    );
    assert!(!db.exists());
}
