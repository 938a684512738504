//! Proof of equivalence for the large-account path: the query `tighten athena-sql` renders for
//! `DuckDB`, run over the test flow logs (text under AWS's date layout and under Hive-style
//! prefixes, and Parquet; v2 and v5 field sets) and imported with `tighten ingest evidence`, gives
//! the store the same `evidence` and `evidence --by-group` output as `ingest flow-logs` on the same
//! records. Groups past the cap carry an estimated distinct count on both sides (tighten's sketch,
//! the engine's `approx_distinct`): those two numbers agree within 3 %; every other value exactly.
//!
//! The Parquet files hold the same records as the text files; `ingest flow-logs` reads the text.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{succeed, tighten};

const CAP: &str = "40";
const SINCE: &str = "2026-09-30";
const UNTIL: &str = "2026-10-21";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    root().join(".venv/bin/python")
}

fn fixture_script() -> PathBuf {
    root().join("tests/py/athena_fixture.py")
}

/// The test flow logs, written once per test binary.
fn data() -> &'static Path {
    static DATA: OnceLock<tempfile::TempDir> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(python())
            .arg(fixture_script())
            .arg("build")
            .arg(dir.path())
            .arg(root().join("examples/shop/flow-logs"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

fn aws_config(db: &Path) {
    succeed(
        tighten()
            .args(["ingest", "aws-config", "--quiet", "--db"])
            .arg(db)
            .arg(root().join("examples/shop/aws-config")),
    );
}

/// `evidence` and `evidence --by-group` as CSV.
fn outputs(db: &Path) -> (String, String) {
    let evidence = succeed(
        tighten()
            .args(["evidence", "--format", "csv", "--db"])
            .arg(db),
    );
    let by_group = succeed(
        tighten()
            .args(["evidence", "--by-group", "--format", "csv", "--db"])
            .arg(db),
    );
    (evidence, by_group)
}

/// The store `ingest flow-logs` builds from the text files of a field set.
/// `ingest flow-logs` of the layout's own files: the text files, or the same records as
/// Parquet (read by tighten's Parquet reader, as `DuckDB`'s `read_parquet` reads them).
fn reference(dir: &Path, fields: &str, layout: &str) -> (String, String) {
    let files = if layout == "parquet" {
        "parquet"
    } else {
        "text"
    };
    reference_of(dir, &[data().join(fields).join(files)])
}

fn reference_of(dir: &Path, sources: &[PathBuf]) -> (String, String) {
    let db = dir.join("flow-logs.db");
    succeed(
        tighten()
            .args([
                "ingest",
                "flow-logs",
                "--quiet",
                "--source-cap",
                CAP,
                "--db",
            ])
            .arg(&db)
            .args(sources),
    );
    aws_config(&db);
    outputs(&db)
}

/// Renders the view and the query, runs them in `DuckDB`; the result file.
fn run_query(dir: &Path, fields: &str, layout: &str, result_name: &str) -> PathBuf {
    run_query_for(dir, fields, layout, result_name, (SINCE, UNTIL))
}

fn run_query_for(
    dir: &Path,
    fields: &str,
    layout: &str,
    result_name: &str,
    (since, until): (&str, &str),
) -> PathBuf {
    let location = data().join(fields).join(layout);
    let view = succeed(
        tighten()
            .args([
                "athena-sql",
                "--ddl",
                "--dialect",
                "duckdb",
                "--fields",
                fields,
            ])
            .args(["--layout", layout, "--location"])
            .arg(&location),
    );
    let query = succeed(tighten().args([
        "athena-sql",
        "--dialect",
        "duckdb",
        "--fields",
        fields,
        "--layout",
        layout,
        "--since",
        since,
        "--until",
        until,
        "--source-cap",
        CAP,
    ]));
    std::fs::write(dir.join("view.sql"), view).unwrap();
    std::fs::write(dir.join("query.sql"), query).unwrap();
    let result = dir.join(result_name);
    let out = std::process::Command::new(python())
        .arg(fixture_script())
        .arg("query")
        .arg(dir.join("view.sql"))
        .arg(dir.join("query.sql"))
        .arg(&result)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    result
}

fn imported(dir: &Path, result: &Path) -> (String, String) {
    let db = dir.join("imported.db");
    succeed(
        tighten()
            .args(["ingest", "evidence", "--quiet", "--db"])
            .arg(&db)
            .arg(result),
    );
    aws_config(&db);
    outputs(&db)
}

/// Compares two CSV outputs: every value equal, except the `sources` of rows past the cap
/// (estimates on both sides) within 3 %. Returns how many rows carried such an estimate.
fn assert_same(what: &str, expected: &str, actual: &str) -> usize {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    assert_eq!(
        e.len(),
        a.len(),
        "{what}: row counts differ\n{expected}\n---\n{actual}"
    );
    assert!(
        e.len() > 5,
        "{what}: too few rows to prove anything:\n{expected}"
    );
    let header: Vec<&str> = e[0].split(',').collect();
    let sources = header.iter().position(|c| *c == "sources").unwrap();
    let cap: u64 = CAP.parse().unwrap();
    let mut estimated = 0;
    for (x, y) in e.iter().zip(&a) {
        let (xs, ys): (Vec<&str>, Vec<&str>) = (x.split(',').collect(), y.split(',').collect());
        assert_eq!(xs.len(), ys.len(), "{what}:\n{x}\n{y}");
        for (i, (u, v)) in xs.iter().zip(&ys).enumerate() {
            if i == sources && u != v {
                let (u, v): (f64, f64) = (u.parse().unwrap(), v.parse().unwrap());
                assert!(
                    u > cap as f64 && v > cap as f64 && (u - v).abs() / u <= 0.03,
                    "{what}: sources {u} vs {v}:\n{x}\n{y}"
                );
            } else {
                assert_eq!(u, v, "{what}: column {}:\n{x}\n{y}", header[i]);
            }
        }
        if xs.get(sources).and_then(|s| s.parse::<u64>().ok()) > Some(cap) {
            estimated += 1;
        }
    }
    estimated
}

fn equivalence(fields: &str, layout: &str, result_name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (evidence, by_group) = reference(dir.path(), fields, layout);
    let result = run_query(dir.path(), fields, layout, result_name);
    let (ev2, bg2) = imported(dir.path(), &result);
    let capped = assert_same("evidence", &evidence, &ev2);
    assert!(
        capped >= 2,
        "the high-cardinality group is not past the cap"
    );
    assert_same("evidence --by-group", &by_group, &bg2);
    // Not vacuous: the outputs hold inbound rows, responses, coverage of a NODATA-only interface.
    assert!(evidence.contains(",inbound,"), "{evidence}");
    assert!(by_group.contains("sg-0web,6,443,ACCEPT"), "{by_group}");
}

#[test]
fn v5_text_layout() {
    equivalence("v5", "text", "result.csv");
}

#[test]
fn v5_hive_layout_gzip_result() {
    equivalence("v5", "hive", "result.csv.gz");
}

#[test]
fn v5_parquet() {
    equivalence("v5", "parquet", "result.csv");
}

#[test]
fn v2_text_layout() {
    equivalence("v2", "text", "result.csv.gz");
}

#[test]
fn v2_hive_layout() {
    equivalence("v2", "hive", "result.csv");
}

#[test]
fn v2_parquet() {
    equivalence("v2", "parquet", "result.csv");
}

/// A window reads the partitions of its days only, as `ingest flow-logs s3://… --since/--until`
/// reads the objects whose key date is within it.
#[test]
fn a_window_reads_its_partitions_only() {
    let days = data().join("v5/text/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/10");
    for layout in ["text", "parquet"] {
        let dir = tempfile::tempdir().unwrap();
        let (evidence, by_group) = reference_of(dir.path(), &[days.join("02"), days.join("03")]);
        let result = run_query_for(
            dir.path(),
            "v5",
            layout,
            "result.csv",
            ("2026-10-02", "2026-10-03"),
        );
        let (ev2, bg2) = imported(dir.path(), &result);
        assert_same("evidence", &evidence, &ev2);
        assert_same("evidence --by-group", &by_group, &bg2);
        assert!(!evidence.contains(",2026-10-01,"), "{evidence}");
        assert!(evidence.contains(",2026-10-03,"), "{evidence}");
    }
}

fn ledger(db: &Path) -> Vec<(String, String, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT kind, fields, records FROM ledger ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn import_is_idempotent_and_records_what_the_query_was_for() {
    let dir = tempfile::tempdir().unwrap();
    let result = run_query(dir.path(), "v5", "text", "result.csv");
    let db = dir.path().join("store.db");
    let import = |path: &Path| {
        let out = tighten()
            .args(["ingest", "evidence", "--db"])
            .arg(&db)
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let first = import(&result);
    assert!(
        first.starts_with("imported 1 result (912 records, "),
        "{first}"
    );
    let again = import(&result);
    assert_eq!(
        again.trim(),
        "imported 0 results (0 records, 0 rows merged); 1 already imported, unchanged"
    );
    let copy = dir.path().join("copy.csv");
    std::fs::copy(&result, &copy).unwrap();
    let same = import(&copy);
    assert_eq!(
        same.trim(),
        "imported 0 results (0 records, 0 rows merged); 1 same content as an imported result"
    );
    assert_eq!(
        ledger(&db),
        vec![(
            "evidence".to_owned(),
            format!(
                "tighten-evidence/1 fields=v5 layout=text since={SINCE} until={UNTIL} cap={CAP}"
            ),
            912
        )]
    );
}

#[test]
fn missing_columns_are_named_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let result = run_query(dir.path(), "v2", "hive", "result.csv");
    let text = std::fs::read_to_string(&result).unwrap();
    // Drop the `skipdata` column (the 22nd) from every row.
    let cut: String = text
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(21);
            cells.join(",") + "\n"
        })
        .collect();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, cut).unwrap();
    let db = dir.path().join("store.db");
    let out = tighten()
        .args(["ingest", "evidence", "--db"])
        .arg(&db)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad.csv:1: the header lacks the column `skipdata`"),
        "{stderr}"
    );
    assert!(ledger(&db).is_empty());
    assert_eq!(common::evidence_csv(&db).lines().count(), 1);
}

#[test]
fn a_truncated_result_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let result = run_query(dir.path(), "v5", "parquet", "result.csv");
    let text = std::fs::read_to_string(&result).unwrap();
    // Cut before the `meta` row (always the last row the query writes here).
    let cut: String = text
        .lines()
        .filter(|l| !l.starts_with("\"meta\""))
        .flat_map(|l| [l, "\n"])
        .collect();
    assert!(cut.len() < text.len());
    let bad = dir.path().join("cut.csv");
    std::fs::write(&bad, cut).unwrap();
    let db = dir.path().join("store.db");
    let out = tighten()
        .args(["ingest", "evidence", "--db"])
        .arg(&db)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("cut.csv:1: no `meta` row"), "{stderr}");
    assert!(ledger(&db).is_empty());
}
