//! `tighten athena-sql`: the rendered SQL and DDL (snapshots), and the Athena and Trino renderings
//! parsed by an independent SQL parser (sqlglot's Trino dialect) for every layout and field set.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{succeed, tighten};

const LAYOUTS: [&str; 3] = ["text", "hive", "parquet"];
const FIELDS: [&str; 2] = ["v2", "v5"];

fn render(args: &[&str]) -> String {
    succeed(tighten().arg("athena-sql").args(args))
}

/// Parses `sql` with sqlglot (`read="trino"`); `Err` holds the parser's message.
fn parse_trino(sql: &str) -> Result<(), String> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let mut child = Command::new(python)
        .args([
            "-c",
            "import sys, sqlglot\n\
             tree = sqlglot.parse_one(sys.stdin.read(), read='trino')\n\
             print(type(tree).__name__)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        // One statement: the whole union, not a fragment of it.
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Union");
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn athena_and_trino_renderings_parse_as_trino() {
    for dialect in ["athena", "trino"] {
        for layout in LAYOUTS {
            for fields in FIELDS {
                let sql = render(&[
                    "--dialect",
                    dialect,
                    "--layout",
                    layout,
                    "--fields",
                    fields,
                    "--database",
                    "flowlogs",
                    "--since",
                    "2026-09-28",
                    "--until",
                    "2026-10-03",
                ]);
                if let Err(e) = parse_trino(&sql) {
                    panic!("{dialect} {layout} {fields} does not parse:\n{e}\n{sql}");
                }
            }
        }
    }
}

#[test]
fn the_parser_check_can_fail() {
    let sql = render(&["--dialect", "trino"]);
    assert!(parse_trino(&sql.replace("GROUP BY interface, day", "GROUP interface")).is_err());
}

#[test]
fn rendered_sql() {
    insta::assert_snapshot!(
        "athena_text_v5",
        render(&["--since", "2026-10-01", "--until", "2026-10-01"])
    );
    insta::assert_snapshot!(
        "trino_hive_v2",
        render(&[
            "--dialect",
            "trino",
            "--layout",
            "hive",
            "--fields",
            "v2",
            "--database",
            "hive.flowlogs",
            "--since",
            "2026-09-30",
            "--until",
            "2026-10-01",
            "--source-cap",
            "100"
        ])
    );
    insta::assert_snapshot!(
        "duckdb_parquet_v5_open_window",
        render(&[
            "--dialect",
            "duckdb",
            "--layout",
            "parquet",
            "--since",
            "2026-10-01"
        ])
    );
}

#[test]
fn rendered_ddl() {
    for layout in LAYOUTS {
        insta::assert_snapshot!(
            format!("ddl_athena_{layout}"),
            render(&[
                "--ddl",
                "--layout",
                layout,
                "--database",
                "flowlogs",
                "--since",
                "2025-01-01"
            ])
        );
    }
    insta::assert_snapshot!(
        "ddl_athena_hive_hourly_v2",
        render(&["--ddl", "--layout", "hive", "--hourly", "--fields", "v2"])
    );
    insta::assert_snapshot!(
        "ddl_duckdb_text_v2",
        render(&[
            "--ddl",
            "--dialect",
            "duckdb",
            "--fields",
            "v2",
            "--location",
            "/data/flow-logs"
        ])
    );
}

#[test]
fn an_empty_window_is_refused() {
    let out = tighten()
        .args([
            "athena-sql",
            "--since",
            "2026-10-02",
            "--until",
            "2026-10-01",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--until is before --since"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
