//! The evidence checks (`lint --db`) on the "shop" scenario (`examples/make_shop.py`):
//! real flow logs and AWS Config files ingested into a real store, Terraform with all three rule
//! styles, a `for_each` rule and variables, state for all groups but one. Snapshots of every
//! format, and the behaviours the soundness rules demand, each asserted exactly.

mod common;

use std::path::{Path, PathBuf};

use common::{shop_store, succeed, tighten};
use serde_json::Value;

const SHOP: &str = "examples/shop";

/// Runs `lint` on `tf` with `db` and `args`; asserts the exit code; stdout.
fn lint(tf: &Path, db: &Path, args: &[&str], code: i32) -> String {
    let out = tighten()
        .arg("lint")
        .arg(tf)
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(tf: &Path, db: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json", "--no-record"];
    all.extend_from_slice(args);
    serde_json::from_str(&lint(tf, db, &all, 1)).unwrap()
}

/// One line per finding: code, address, rule, message, proposal.
fn lines(v: &Value) -> String {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} [{}] {}{}",
                f["code"].as_str().unwrap(),
                f["address"].as_str().unwrap(),
                f["rule"].as_str().unwrap_or("-"),
                f["message"].as_str().unwrap(),
                f["proposal"]["text"]
                    .as_str()
                    .map_or_else(String::new, |t| format!("\n    => {t}")),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn terraform() -> PathBuf {
    PathBuf::from(format!("{SHOP}/terraform"))
}

fn finding<'a>(v: &'a Value, code: &str, address: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code && f["address"] == address)
        .unwrap_or_else(|| panic!("no {code} on {address} in {}", lines(v)))
}

#[test]
fn every_format_of_the_shop() {
    let (_dir, db) = shop_store();
    let tf = terraform();
    let v = json(&tf, &db, &[]);
    insta::assert_snapshot!("shop_findings", lines(&v));
    insta::assert_json_snapshot!("shop_summary", v["summary"]);
    insta::assert_json_snapshot!(
        "shop_sg102_json",
        finding(&v, "SG102", "aws_security_group.web")
    );
    insta::assert_snapshot!("shop_human", lint(&tf, &db, &["--no-record"], 1));
    insta::assert_snapshot!(
        "shop_markdown",
        lint(&tf, &db, &["--no-record", "--format", "markdown"], 1)
    );
    // SARIF: the same findings, with evidence and proposal as result properties, valid 2.1.0.
    let sarif: Value =
        serde_json::from_str(&lint(&tf, &db, &["--no-record", "--format", "sarif"], 1)).unwrap();
    let mut schema: Value =
        serde_json::from_str(&std::fs::read_to_string("testdata/sarif-schema-2.1.0.json").unwrap())
            .unwrap();
    fix_language_patterns(&mut schema);
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), v["findings"].as_array().unwrap().len());
    let sg103 = results
        .iter()
        .find(|r| r["ruleId"] == "SG103")
        .expect("an SG103 result");
    assert_eq!(
        sg103["properties"]["proposal"]["change"]["prefixes"],
        serde_json::json!(["10.0.2.10/31"])
    );
    assert_eq!(sg103["properties"]["evidence"]["sources"], 2);
}

/// The official schema's `language` patterns have a stray `]` (see `tests/lint_formats.rs`).
fn fix_language_patterns(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "pattern" && x == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                    *x = Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                } else {
                    fix_language_patterns(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(fix_language_patterns),
        _ => {}
    }
}

/// One snapshot per evidence check (the registry guard in `tests/lint_fixtures.rs` wants them).
#[test]
fn each_evidence_check_on_the_shop() {
    let (_dir, db) = shop_store();
    let v = json(&terraform(), &db, &[]);
    for code in [
        "SG100", "SG101", "SG102", "SG103", "SG104", "SG105", "SG106", "SG107",
    ] {
        let only = serde_json::json!({
            "findings": v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["code"] == code)
                .collect::<Vec<_>>()
        });
        assert!(!only["findings"].as_array().unwrap().is_empty(), "{code}");
        insta::assert_snapshot!(format!("shop_check_{code}"), lines(&only));
    }
}

#[test]
fn return_traffic_on_an_ephemeral_port_rule_is_not_use() {
    let (_dir, db) = shop_store();
    let v = json(&terraform(), &db, &[]);
    // The app servers' own calls to 52.94.0.10:443 are answered on ports 43000+: 40 response
    // flows reach the 32768-65535 rule's ports from an address inside 0.0.0.0/0.
    let csv = common::evidence_csv(&db);
    let responses = csv
        .lines()
        .filter(|l| l.starts_with("eni-0app") && l.contains(",response,6,443,52.94.0.10,"))
        .count();
    assert_eq!(responses, 40);
    let f = finding(&v, "SG101", "aws_security_group_rule.app_ephemeral");
    assert_eq!(f["proposal"]["change"]["kind"], "remove_rule");
    assert_eq!(f["evidence"]["flows"], 0);
    assert_eq!(f["evidence"]["possibly_inbound_flows"], 0);
}

#[test]
fn a_terminated_instance_known_only_from_config_history_counts() {
    let (_dir, db) = shop_store();
    let v = json(&terraform(), &db, &[]);
    // 198.51.100.2 reached ssh only on eni-0old (a v2 log without header, deleted 2026-10-08).
    let f = finding(&v, "SG102", "aws_security_group.web");
    assert_eq!(
        f["proposal"]["change"]["prefixes"],
        serde_json::json!(["198.51.100.1/32", "198.51.100.2/32", "203.0.113.7/32"])
    );
    assert_eq!(f["evidence"]["interfaces"], 2);
    assert_eq!(f["evidence"]["interfaces_with_traffic"], 2);
}

#[test]
fn an_interface_without_coverage_blocks_every_verdict_of_its_group() {
    let (_dir, db) = shop_store();
    let v = json(&terraform(), &db, &[]);
    let f = finding(&v, "SG100", "aws_security_group.batch");
    assert_eq!(
        f["message"],
        "1 ingress rule(s) of `aws_security_group.batch` not judged: no evidence: interface(s) \
         eni-0batch1 of sg-0batch had no complete flow logs on 5 interface-day(s) of \
         2026-10-01..2026-10-20; nothing is judged until every interface is covered"
    );
    let batch: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["address"] == "aws_security_group.batch")
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(batch, ["SG100"]);
}

#[test]
fn too_few_days_say_insufficient_evidence_instead_of_proposing() {
    let (_dir, db) = shop_store();
    for args in [
        &["--min-days", "21"][..],
        &["--since", "2026-10-10"][..],
        &["--until", "2026-10-05"][..],
    ] {
        let v = json(&terraform(), &db, args);
        let proposals: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["proposal"].is_null())
            .map(|f| f["code"].to_string())
            .collect();
        assert_eq!(proposals, Vec::<String>::new(), "{args:?}");
        assert_eq!(v["summary"]["evidence"]["rules_judged"], 0, "{args:?}");
        assert!(
            lines(&v).contains("insufficient evidence: sg-0web has"),
            "{args:?}: {}",
            lines(&v)
        );
    }
}

#[test]
fn without_state_groups_link_by_their_unique_name() {
    let (dir, db) = shop_store();
    let tf = dir.path().join("tf");
    std::fs::create_dir(&tf).unwrap();
    for f in ["main.tf", "variables.tf"] {
        std::fs::copy(terraform().join(f), tf.join(f)).unwrap();
    }
    let with_state = json(&terraform(), &db, &[]);
    let by_name = json(&tf, &db, &[]);
    assert_eq!(by_name["summary"]["evidence"]["linked_by_name"], 5);
    assert_eq!(by_name["summary"]["evidence"]["linked_by_state"], 0);
    let codes = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["code"], f["address"]))
            .collect()
    };
    assert_eq!(codes(&by_name), codes(&with_state));
}

#[test]
fn without_a_store_only_static_checks_run_and_the_summary_says_so() {
    let out = tighten()
        .args(["lint", &format!("{SHOP}/terraform")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.lines().any(|l| l.starts_with("SG1")), "{text}");
    assert!(
        text.contains(
            "evidence checks (SG100-SG107) not run: no evidence store (pass --db or set TIGHTEN_DB)"
        ),
        "{text}"
    );
}

#[test]
fn tighten_db_in_the_environment_is_the_store() {
    let (_dir, db) = shop_store();
    let out = tighten()
        .env("TIGHTEN_DB", &db)
        .args([
            "lint",
            &format!("{SHOP}/terraform"),
            "--format",
            "json",
            "--no-record",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["evidence"]["window"], "2026-10-01..2026-10-20");
}

#[test]
fn bad_windows_and_options_without_a_store_exit_2() {
    let (_dir, db) = shop_store();
    let out = tighten()
        .args(["lint", &format!("{SHOP}/terraform"), "--db"])
        .arg(&db)
        .args(["--since", "2026-10-10", "--until", "2026-10-01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since is after --until"));
    let out = tighten()
        .args(["lint", &format!("{SHOP}/terraform"), "--min-days", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = tighten()
        .args([
            "lint",
            &format!("{SHOP}/terraform"),
            "--db",
            "/nonexistent/store.db",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn runs_are_recorded_and_history_shows_what_changed() {
    let (_dir, db) = shop_store();
    let tf = terraform();
    // Run 1 sees only the first ten days: nothing can be judged yet.
    lint(&tf, &db, &["--until", "2026-10-10", "--format", "json"], 1);
    // Run 2 sees all twenty.
    lint(&tf, &db, &["--format", "json"], 1);
    let runs = succeed(
        tighten()
            .args(["history", "--format", "csv", "--db"])
            .arg(&db),
    );
    let rows: Vec<&str> = runs.lines().collect();
    assert_eq!(rows[0], "run,started_at,dir,window,findings,version");
    assert_eq!(rows.len(), 3);
    assert!(rows[1].contains("/examples/shop/terraform,2026-10-01..2026-10-10,"));
    assert!(rows[2].contains("/examples/shop/terraform,2026-10-01..2026-10-20,"));
    let changes: Value = serde_json::from_str(&succeed(
        tighten()
            .args(["history", "--run", "2", "--format", "json", "--db"])
            .arg(&db),
    ))
    .unwrap();
    assert_eq!(changes["compared_with_run"], 1);
    let new_unused: Vec<&str> = changes["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["change"] == "new" && r["code"] == "SG101")
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        new_unused,
        [
            "aws_security_group.web",
            "aws_security_group_rule.app_ephemeral",
            "aws_vpc_security_group_ingress_rule.db_pg[\"legacy\"]"
        ]
    );
    let out = tighten()
        .args(["history", "--run", "9", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
