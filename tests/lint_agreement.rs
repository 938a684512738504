//! Agreement with checkov's and trivy's own expectations on their fixtures (copied into
//! `../shared/corpus` with `EXPECTED_VERDICTS.json`). Where tighten disagrees, the deviation is
//! listed here with the reason, and tighten's own verdict on that resource is asserted.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tighten::analysis::{self, CheckCode, Config};
use tighten::terraform::{self, LoadOptions};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

fn verdicts(folder: &str) -> serde_json::Value {
    let text =
        std::fs::read_to_string(corpus().join(folder).join("EXPECTED_VERDICTS.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Resource addresses (without instance key) with a finding of one of `codes`.
fn failing(
    dir: &std::path::Path,
    config: &Config,
    codes: &[CheckCode],
) -> (BTreeSet<String>, analysis::Outcome) {
    let loaded = terraform::load(dir, &LoadOptions::default()).unwrap();
    assert!(loaded.errors.is_empty());
    let outcome = analysis::lint(&loaded, config, None, (2026, 6, 1));
    let set = outcome
        .diagnostics
        .iter()
        .filter(|d| codes.contains(&d.code))
        .map(|d| d.address.split('[').next().unwrap_or_default().to_owned())
        .collect();
    (set, outcome)
}

fn strings(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// A resource where tighten's verdict differs from checkov's, and the finding tighten reports
/// on it instead (`None`: tighten reports nothing for this check).
struct Deviation {
    resource: &'static str,
    checkov_fails: bool,
    instead: Option<CheckCode>,
    why: &'static str,
}

const TCP_ZERO: &str = "protocol tcp with from_port = to_port = 0 opens port 0 only in AWS; \
                        checkov reads 0-0 as every port. tighten reports SG009 (port 0 only).";
const NO_SOURCE: &str = "the rule names no source at all, so it allows nobody (AWS rejects it); \
                         checkov fails it as if it were open to the world. tighten reports SG009.";

fn deviations(check: &str) -> Vec<Deviation> {
    match check {
        "CKV_AWS_24" => vec![
            Deviation {
                resource: "aws_security_group.fail2",
                checkov_fails: true,
                instead: Some(CheckCode::Sg009),
                why: TCP_ZERO,
            },
            Deviation {
                resource: "aws_security_group.not_self",
                checkov_fails: true,
                instead: Some(CheckCode::Sg009),
                why: NO_SOURCE,
            },
            Deviation {
                resource: "aws_vpc_security_group_ingress_rule.fail2",
                checkov_fails: true,
                instead: Some(CheckCode::Sg009),
                why: NO_SOURCE,
            },
            Deviation {
                resource: "aws_security_group.pass_self2",
                checkov_fails: false,
                instead: Some(CheckCode::Sg003),
                why: "`self = true` next to cidr_blocks = [\"0.0.0.0/0\"] adds the group as one more \
                      source; AWS still creates the 0.0.0.0/0 entry, so every port is open to the world",
            },
        ],
        "CKV_AWS_260" => vec![
            Deviation {
                resource: "aws_security_group.fail2",
                checkov_fails: true,
                instead: Some(CheckCode::Sg009),
                why: TCP_ZERO,
            },
            Deviation {
                resource: "aws_vpc_security_group_ingress_rule.fail2",
                checkov_fails: true,
                instead: Some(CheckCode::Sg009),
                why: NO_SOURCE,
            },
        ],
        _ => Vec::new(),
    }
}

/// tighten's equivalent of each checkov check: the codes, and the port list for SG001.
fn equivalent(check: &str) -> (Vec<CheckCode>, Config) {
    let ports =
        |admin: &str| Config::parse(&format!("[ports]\nadmin = [{admin}]\n"), "t.toml").unwrap();
    match check {
        "CKV_AWS_23" => (vec![CheckCode::Sg005], Config::default()),
        "CKV_AWS_24" => (vec![CheckCode::Sg001, CheckCode::Sg003], ports("22")),
        "CKV_AWS_25" => (vec![CheckCode::Sg001, CheckCode::Sg003], ports("3389")),
        "CKV_AWS_260" => (vec![CheckCode::Sg004, CheckCode::Sg003], Config::default()),
        "CKV_AWS_277" => (vec![CheckCode::Sg003], Config::default()),
        other => panic!("no equivalent for {other}"),
    }
}

#[test]
fn checkov_resource_verdicts() {
    let v = verdicts("bridgecrewio__checkov");
    let mut checked = Vec::new();
    for c in v["resource_checks"].as_array().unwrap() {
        let id = c["check_id"].as_str().unwrap();
        if ![
            "CKV_AWS_23",
            "CKV_AWS_24",
            "CKV_AWS_25",
            "CKV_AWS_260",
            "CKV_AWS_277",
        ]
        .contains(&id)
        {
            continue;
        }
        let dir = corpus()
            .join("bridgecrewio__checkov")
            .join(c["fixture"].as_str().unwrap())
            .parent()
            .unwrap()
            .to_path_buf();
        let (codes, config) = equivalent(id);
        let (failed, outcome) = failing(&dir, &config, &codes);
        let mut expected_failed = strings(&c["expected_failed"]);
        let expected_passed = strings(&c["expected_passed"]);
        for d in deviations(id) {
            assert!(!d.why.is_empty());
            if d.checkov_fails {
                assert!(
                    expected_failed.remove(d.resource),
                    "{id}: {} is not a checkov failure",
                    d.resource
                );
                assert!(
                    !failed.contains(d.resource),
                    "{id}: {} now fails: drop the deviation",
                    d.resource
                );
            } else {
                assert!(expected_passed.contains(d.resource), "{id}: {}", d.resource);
                expected_failed.insert(d.resource.to_owned());
            }
            if let Some(code) = d.instead {
                assert!(
                    outcome
                        .diagnostics
                        .iter()
                        .any(|x| x.code == code && x.address == d.resource),
                    "{id}: expected {code} on {}",
                    d.resource
                );
            }
        }
        assert_eq!(failed, expected_failed, "{id}: failing resources");
        assert!(
            failed.is_disjoint(
                &expected_passed
                    .difference(&expected_failed)
                    .cloned()
                    .collect()
            ),
            "{id}"
        );
        checked.push(id.to_owned());
    }
    assert_eq!(
        checked,
        [
            "CKV_AWS_23",
            "CKV_AWS_24",
            "CKV_AWS_25",
            "CKV_AWS_260",
            "CKV_AWS_277"
        ]
    );
}

#[test]
fn trivy_good_examples_pass_and_bad_examples_fail() {
    let v = verdicts("aquasecurity__trivy-checks");
    let mut seen = Vec::new();
    for c in v["checks"].as_array().unwrap() {
        let id = c["check_id"].as_str().unwrap();
        let codes: &[CheckCode] = match id {
            "AWS-0099" | "AWS-0124" => &[CheckCode::Sg005],
            "AWS-0107" => &[CheckCode::Sg001, CheckCode::Sg002, CheckCode::Sg003],
            // Public egress: SG012, which is off by default (enabled below).
            "AWS-0104" => &[CheckCode::Sg012],
            other => panic!("unexpected trivy check {other}"),
        };
        for ex in c["examples"].as_array().unwrap() {
            let file = corpus()
                .join("aquasecurity__trivy-checks")
                .join(ex["file"].as_str().unwrap());
            let config = Config::parse("[checks.SG012]\nenabled = true\n", "t.toml").unwrap();
            let (failed, _) = failing(&file, &config, codes);
            let expect_fail = ex["expected"].as_str().unwrap().contains("fail");
            assert_eq!(!failed.is_empty(), expect_fail, "{id} {}", file.display());
            seen.push(format!(
                "{id} {}",
                ex["file"].as_str().unwrap().rsplit('/').next().unwrap()
            ));
        }
    }
    assert_eq!(seen.len(), 10, "{seen:?}");
}
