//! Parquet flow logs (`FileFormat=parquet`) through the real binary: the same records written as
//! text and as Parquet (by pyarrow with AWS's column types, and by `DuckDB`, which parses the text
//! itself) give the same evidence; bad files are refused whole; S3 objects through moto.

mod common;
mod common_moto;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_s3::primitives::ByteStream;
use common::{Rec, evidence_csv, realistic, succeed, tighten, write_maybe_gz, write_v5};
use common_moto::{Setup, runtime, scenario, setup_config};

/// The project's venv python (`.ci/setup-python.sh` installs pyarrow and duckdb).
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.is_file(),
        "{} is missing: run `bash .ci/setup-python.sh` (these tests never skip)",
        venv.display()
    );
    venv
}

/// Writes the text flow log `input` as Parquet with `writer` (pyarrow or duckdb).
fn to_parquet(writer: &str, input: &Path, output: &Path, extra: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/flowlog_parquet.py");
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    let out = Command::new(python())
        .arg(script)
        .arg(writer)
        .arg(input)
        .arg(output)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{writer} {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(&std::fs::read(output).unwrap()[..4], b"PAR1");
}

fn ingest(db: &Path, sources: &[&Path], extra: &[&str]) -> Output {
    let mut cmd = tighten();
    cmd.args(["ingest", "flow-logs", "--db"])
        .arg(db)
        .args(extra);
    for s in sources {
        cmd.arg(s);
    }
    cmd.output().unwrap()
}

fn ingest_ok(db: &Path, sources: &[&Path], extra: &[&str]) -> String {
    let out = ingest(db, sources, extra);
    assert!(out.status.success(), "{}", stderr(&out));
    stderr(&out)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn summary(db: &Path) -> serde_json::Value {
    let out = succeed(
        tighten()
            .args(["evidence", "--summary", "--format", "json", "--db"])
            .arg(db),
    );
    serde_json::from_str(&out).unwrap()
}

/// The store's files and records (a store that was never written has none).
fn stored(db: &Path) -> (u64, u64) {
    if !db.exists() {
        return (0, 0);
    }
    let s = summary(db);
    (s["files"].as_u64().unwrap(), s["records"].as_u64().unwrap())
}

/// The default (v2) format without a header: no tcp-flags, no flow-direction.
fn write_v2(path: &Path, recs: &[Rec]) {
    let mut text = String::new();
    for r in recs {
        let line = if let Some(status) = r.gap {
            format!(
                "2 123456789012 {} - - - - - - - {} {} - {status}",
                r.interface,
                r.start,
                r.start + 60
            )
        } else {
            format!(
                "2 123456789012 {} {} {} {} {} {} {} {} {} {} {} OK",
                r.interface,
                r.src,
                r.dst,
                r.sport,
                r.dport,
                r.protocol,
                r.packets,
                r.bytes,
                r.start,
                r.start + 60,
                r.action
            )
        };
        text.push_str(&line);
        text.push('\n');
    }
    write_maybe_gz(path, text.as_bytes());
}

fn traffic_records(recs: &[Rec]) -> u64 {
    recs.iter().filter(|r| r.gap.is_none()).count() as u64
}

#[test]
fn pyarrow_and_duckdb_parquet_give_the_evidence_of_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("text");
    let (v5, v2) = (realistic(7, 500), realistic(8, 200));
    write_v5(&text.join("v5.log.gz"), &v5);
    write_v2(&text.join("v2.log"), &v2);
    let expected_records = traffic_records(&v5) + traffic_records(&v2);
    let text_db = dir.path().join("text.db");
    let line = ingest_ok(&text_db, &[&text], &[]);
    assert!(
        line.starts_with(&format!(
            "ingested 2 files ({expected_records} records, 0 malformed"
        )),
        "{line}"
    );
    let reference = evidence_csv(&text_db);
    assert!(reference.lines().count() > 100, "{reference}");
    let reference_summary = summary(&text_db);

    for (name, writer, extra) in [
        ("aws-types-gzip", "pyarrow", &["--compression", "gzip"][..]),
        (
            "int64-snappy",
            "pyarrow",
            &["--int64", "--compression", "snappy"],
        ),
        ("duckdb-snappy", "duckdb", &["--compression", "snappy"]),
        ("duckdb-none", "duckdb", &["--compression", "uncompressed"]),
    ] {
        let folder = dir.path().join(name);
        to_parquet(
            writer,
            &text.join("v5.log.gz"),
            &folder.join("v5.log.parquet"),
            extra,
        );
        to_parquet(
            writer,
            &text.join("v2.log"),
            &folder.join("v2.log.parquet"),
            extra,
        );
        let db = dir.path().join(format!("{name}.db"));
        let line = ingest_ok(&db, &[&folder], &[]);
        assert!(
            line.starts_with(&format!(
                "ingested 2 files ({expected_records} records, 0 malformed lines skipped"
            )),
            "{name}: {line}"
        );
        assert_eq!(evidence_csv(&db), reference, "{name}");
        let s = summary(&db);
        assert_eq!(s["records"].as_u64(), Some(expected_records), "{name}");
        assert_eq!(s, reference_summary, "{name}");
    }
}

/// The shop example (both text layouts, a month of files) as Parquet: the evidence per security
/// group (joined with AWS Config) is identical.
#[test]
fn the_shop_example_as_parquet_gives_the_same_evidence_by_group() {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("flow-logs");
    let mut files = vec![shop.join("flow-logs")];
    let mut converted = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let rel = path.strip_prefix(shop.join("flow-logs")).unwrap();
        let name = format!("{}.parquet", rel.display());
        to_parquet("pyarrow", &path, &parquet.join(name), &[]);
        converted += 1;
    }
    assert!(converted > 10, "{converted}");
    let (text_db, parquet_db) = (dir.path().join("text.db"), dir.path().join("parquet.db"));
    common::ingest_shop(&text_db);
    ingest_ok(&parquet_db, &[&parquet], &["--quiet"]);
    succeed(
        tighten()
            .args(["ingest", "aws-config", "--quiet", "--db"])
            .arg(&parquet_db)
            .arg(shop.join("aws-config")),
    );
    for view in [
        &["evidence", "--format", "csv"][..],
        &["evidence", "--by-group", "--format", "csv"],
    ] {
        let ours = succeed(tighten().args(view).arg("--db").arg(&parquet_db));
        let theirs = succeed(tighten().args(view).arg("--db").arg(&text_db));
        assert!(theirs.lines().count() > 5, "{view:?}: {theirs}");
        assert_eq!(ours, theirs, "{view:?}");
    }
}

const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction pkt-srcaddr";

/// Nulls are `-`; rows the text parser calls malformed are malformed in Parquet too, with the
/// same reasons, located by row.
#[test]
fn nulls_and_malformed_rows_count_as_in_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("odd.log");
    let lines = [
        HEADER,
        // Fine, with nulls where the text has `-` (tcp-flags, direction, packet addresses).
        "5 1 eni-1 203.0.113.9 10.0.0.1 40000 22 6 3 180 1600000000 1600000060 ACCEPT OK - - -",
        // NAT: the packet's source differs from srcaddr.
        "5 1 eni-1 10.0.9.9 10.0.0.1 40001 443 6 3 180 1600000000 1600000060 ACCEPT OK 2 ingress 198.51.100.4",
        "5 1 eni-1 203.0.113.9 10.0.0.1 70000 22 6 3 180 1600000000 1600000060 ACCEPT OK 2 ingress -",
        "5 1 - 203.0.113.9 10.0.0.1 40000 22 6 3 180 1600000000 1600000060 ACCEPT OK 2 ingress -",
        "5 1 eni-1 203.0.113.9 10.0.0.1 40000 22 6 3 180 1600000000 1600000060 ALLOW OK 2 ingress -",
        "5 1 eni-1 10.0.0.300 10.0.0.1 40000 22 6 3 180 1600000000 1600000060 ACCEPT OK 2 ingress -",
        "5 1 eni-1 203.0.113.9 10.0.0.1 40000 22 6 3 180 - - ACCEPT OK 2 ingress -",
        // Milliseconds, as some exports write them.
        "5 1 eni-2 203.0.113.9 10.0.0.2 40000 22 6 3 180 1600000000000 1600000060000 REJECT OK 2 ingress -",
        "5 1 eni-2 - - - - - - - 1600000000 1600000060 - SKIPDATA - - -",
    ];
    std::fs::write(&text, lines.join("\n") + "\n").unwrap();
    let pq = dir.path().join("odd.parquet");
    to_parquet("pyarrow", &text, &pq, &[]);
    let (text_db, pq_db) = (dir.path().join("t.db"), dir.path().join("p.db"));
    let text_line = ingest_ok(&text_db, &[&text], &[]);
    let pq_line = ingest_ok(&pq_db, &[&pq], &[]);
    assert_eq!(evidence_csv(&pq_db), evidence_csv(&text_db));
    assert_eq!(summary(&pq_db)["malformed"], summary(&text_db)["malformed"]);
    assert_eq!(summary(&pq_db)["skipdata"].as_u64(), Some(1));
    // The text's line n (after the header) is the Parquet file's row n - 1.
    let p = pq.display();
    for expected in [
        format!("warning: {p}:3: srcport: `70000` is not a valid number"),
        format!("warning: {p}:4: interface-id is `-` in a record with log-status OK"),
        format!("warning: {p}:5: action: unexpected value `ALLOW`"),
        format!("warning: {p}:6: srcaddr: `10.0.0.300` is not an IPv4 or IPv6 address"),
        format!("warning: {p}:7: start is `-` in a record with log-status OK"),
    ] {
        assert!(pq_line.contains(&expected), "{expected}\n{pq_line}");
    }
    assert!(
        pq_line
            .ends_with("ingested 1 file (3 records, 5 malformed lines skipped, 3 rows merged)\n"),
        "{pq_line}"
    );
    assert!(
        text_line.contains("(3 records, 5 malformed lines skipped"),
        "{text_line}"
    );

    // --strict refuses the file at its first malformed row; nothing is stored.
    let strict_db = dir.path().join("strict.db");
    let out = ingest(&strict_db, &[&pq], &["--strict"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{p}:3: srcport: `70000` is not a valid number")),
        "{}",
        stderr(&out)
    );
    assert_eq!(stored(&strict_db), (0, 0));
}

/// Many row groups and pages, aggregated in parts: the same evidence, every record counted once.
#[test]
fn row_groups_pages_and_parts_give_the_same_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let recs = realistic(11, 4000);
    let text = dir.path().join("big.log");
    write_v5(&text, &recs);
    let pq = dir.path().join("big.parquet");
    to_parquet(
        "pyarrow",
        &text,
        &pq,
        &["--row-group-size", "700", "--page-size", "2048"],
    );
    let groups = Command::new(python())
        .args([
            "-c",
            "import sys, pyarrow.parquet as pq; print(pq.ParquetFile(sys.argv[1]).num_row_groups)",
        ])
        .arg(&pq)
        .output()
        .unwrap();
    let groups: usize = String::from_utf8_lossy(&groups.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(groups, recs.len().div_ceil(700));
    let (text_db, pq_db) = (dir.path().join("t.db"), dir.path().join("p.db"));
    ingest_ok(&text_db, &[&text], &[]);
    ingest_ok(&pq_db, &[&pq], &["--part-rows", "50"]);
    assert_eq!(evidence_csv(&pq_db), evidence_csv(&text_db));
    assert_eq!(stored(&pq_db), (1, traffic_records(&recs)));
}

#[test]
fn a_file_without_a_needed_column_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("a.log");
    write_v5(&text, &realistic(1, 20));
    let good = dir.path().join("in/good.parquet");
    to_parquet("pyarrow", &text, &good, &[]);
    for column in ["interface_id", "dstport"] {
        let pq = dir.path().join(format!("in/no-{column}.parquet"));
        to_parquet("pyarrow", &text, &pq, &["--drop", column]);
    }
    let db = dir.path().join("e.db");
    let out = ingest(&db, &[&dir.path().join("in")], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for column in ["interface_id", "dstport"] {
        let path = dir.path().join(format!("in/no-{column}.parquet"));
        assert!(
            err.contains(&format!(
                "{}: the Parquet file has no column `{column}`, which tighten needs",
                path.display()
            )),
            "{err}"
        );
    }
    assert!(err.contains("; 2 failed"), "{err}");
    // Only the good file is stored.
    assert_eq!(stored(&db), (1, traffic_records(&realistic(1, 20))));
}

#[test]
fn truncated_corrupt_and_unsupported_parquet_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("a.log");
    write_v5(&text, &realistic(2, 300));
    let good = dir.path().join("good.parquet");
    to_parquet("pyarrow", &text, &good, &[]);
    let bytes = std::fs::read(&good).unwrap();
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    // Cut in the middle: the footer is gone.
    std::fs::write(bad.join("truncated.parquet"), &bytes[..bytes.len() / 2]).unwrap();
    // Header and footer intact, every data page overwritten.
    let footer = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap());
    let data_end = bytes.len() - 8 - footer as usize;
    let mut corrupt = bytes.clone();
    corrupt[4..data_end].fill(0xAB);
    std::fs::write(bad.join("corrupt.parquet"), &corrupt).unwrap();
    // Only the magic bytes.
    std::fs::write(bad.join("magic-only.parquet"), b"PAR1").unwrap();
    // A codec tighten does not build in (zstd).
    to_parquet(
        "pyarrow",
        &text,
        &bad.join("zstd.parquet"),
        &["--compression", "zstd"],
    );
    let db = dir.path().join("e.db");
    for name in ["truncated", "corrupt", "magic-only", "zstd"] {
        let path = bad.join(format!("{name}.parquet"));
        let out = ingest(&db, &[&path], &[]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{}: cannot read the Parquet file: ",
                path.display()
            )),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(
            err.contains("nothing of this file was stored"),
            "{name}: {err}"
        );
        assert!(
            err.ends_with(
                "ingested 0 files (0 records, 0 malformed lines skipped, 0 rows merged); 1 failed\n"
            ),
            "{name}: {err}"
        );
        assert_eq!(stored(&db), (0, 0), "{name}");
    }
    let out = ingest(&db, &[&bad.join("zstd.parquet")], &[]);
    assert!(
        stderr(&out).to_lowercase().contains("zstd"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_second_ingest_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("a.log");
    write_v5(&text, &realistic(4, 200));
    let pq = dir.path().join("in/a.log.parquet");
    to_parquet("pyarrow", &text, &pq, &[]);
    let db = dir.path().join("e.db");
    ingest_ok(&db, &[&pq], &[]);
    let before = evidence_csv(&db);
    let again = ingest_ok(&db, &[&dir.path().join("in")], &[]);
    assert_eq!(
        again.trim(),
        "ingested 0 files (0 records, 0 malformed lines skipped, 0 rows merged); 1 already ingested, unchanged"
    );
    let copy = dir.path().join("copy.parquet");
    std::fs::copy(&pq, &copy).unwrap();
    let line = ingest_ok(&db, &[&copy], &[]);
    assert!(
        line.contains("1 same content as an ingested file"),
        "{line}"
    );
    assert_eq!(evidence_csv(&db), before);
    assert_eq!(stored(&db), (1, traffic_records(&realistic(4, 200))));
}

/// Parquet is known by its magic bytes, whatever the name: in a folder of text files, a
/// `.log.parquet`, a file without an extension and one misnamed `.gz` are all read as Parquet.
#[test]
fn parquet_among_text_files_in_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let parts: Vec<Vec<Rec>> = (0..5).map(|i| realistic(20 + i, 80)).collect();
    let text = dir.path().join("text");
    let mixed = dir.path().join("mixed");
    for (i, recs) in parts.iter().enumerate() {
        write_v5(&text.join(format!("{i}.log")), recs);
    }
    write_v5(&mixed.join("0.log.gz"), &parts[0]);
    write_v5(&mixed.join("1.txt"), &parts[1]);
    to_parquet(
        "pyarrow",
        &text.join("2.log"),
        &mixed.join("2.log.parquet"),
        &[],
    );
    to_parquet("duckdb", &text.join("3.log"), &mixed.join("sub/3"), &[]);
    to_parquet("pyarrow", &text.join("4.log"), &mixed.join("4.gz"), &[]);
    std::fs::write(mixed.join("notes.csv"), "not a flow log\n").unwrap();
    let (text_db, mixed_db) = (dir.path().join("t.db"), dir.path().join("m.db"));
    ingest_ok(&text_db, &[&text], &[]);
    let line = ingest_ok(&mixed_db, &[&mixed], &[]);
    let records: u64 = parts.iter().map(|p| traffic_records(p)).sum();
    assert!(
        line.starts_with(&format!("ingested 5 files ({records} records, 0 malformed")),
        "{line}"
    );
    assert!(
        line.contains("; 1 skipped for their extension or key"),
        "{line}"
    );
    assert_eq!(evidence_csv(&mixed_db), evidence_csv(&text_db));
}

#[test]
fn a_parquet_object_in_s3_gives_the_evidence_of_the_text() {
    scenario(
        "a_parquet_object_in_s3_gives_the_evidence_of_the_text",
        Setup::Moto,
        |s| {
            let endpoint = s.endpoint.clone().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let recs = realistic(31, 300);
            let text = dir.path().join("a.log");
            write_v5(&text, &recs);
            let pq = dir.path().join("a.parquet");
            to_parquet("pyarrow", &text, &pq, &[]);
            let key = "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=10/day=01/123456789012_vpcflowlogs_us-east-1_fl-01_20261001T0000Z_a1.log.parquet";
            let rt = runtime();
            let config = setup_config(&rt, &endpoint);
            let client = aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&config)
                    .force_path_style(true)
                    .build(),
            );
            rt.block_on(async {
                client.create_bucket().bucket("logs").send().await.unwrap();
                client
                    .put_object()
                    .bucket("logs")
                    .key(key)
                    .body(ByteStream::from(std::fs::read(&pq).unwrap()))
                    .send()
                    .await
                    .unwrap();
            });
            let (remote, local) = (dir.path().join("s3.db"), dir.path().join("local.db"));
            let url = "s3://logs/AWSLogs/";
            let mut cmd = tighten();
            cmd.args(["ingest", "flow-logs", url, "--endpoint-url", &endpoint])
                .args(["--region", "us-east-1", "--db"])
                .arg(&remote);
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
            let records = traffic_records(&recs);
            assert!(
                stderr(&out)
                    .starts_with(&format!("ingested 1 file ({records} records, 0 malformed")),
                "{}",
                stderr(&out)
            );
            ingest_ok(&local, &[&text], &[]);
            assert_eq!(evidence_csv(&remote), evidence_csv(&local));
            // Again: the ledger knows the object.
            let again = cmd.output().unwrap();
            assert!(
                stderr(&again).contains("ingested 0 files")
                    && stderr(&again).contains("1 already ingested, unchanged"),
                "{}",
                stderr(&again)
            );
        },
    );
}
