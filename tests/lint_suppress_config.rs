//! Suppression comments (tighten, checkov, trivy, tfsec; expiry; unused) and `tighten.toml`
//! (found upward, per-check switches and severities, port lists, located errors).

use std::path::Path;

use tighten::analysis::{self, CheckCode, Config, Severity};
use tighten::terraform::{self, LoadOptions};

fn lint(dir: &str, config: &Config) -> analysis::Outcome {
    let loaded = terraform::load(Path::new(dir), &LoadOptions::default()).unwrap();
    analysis::lint(&loaded, config, None, (2026, 6, 1))
}

fn codes(o: &analysis::Outcome) -> Vec<(CheckCode, String)> {
    o.diagnostics
        .iter()
        .map(|d| (d.code, d.address.clone()))
        .collect()
}

#[test]
fn foreign_and_own_comments_suppress_the_matching_checks() {
    let o = lint("tests/fixtures/lint/suppress", &Config::default());
    assert_eq!(
        codes(&o),
        [(
            CheckCode::Sg001,
            "aws_security_group.block_level".to_owned()
        )]
    );
    // checkov skip (SG001), trivy ignore (SG001), tfsec inline ignore (SG002), the SG004 block
    // comment, and the file-level SG005 (two groups, five rule declarations).
    assert_eq!(o.suppressed, 11);
}

#[test]
fn expired_and_unused_suppressions_are_reported() {
    let expired = lint("tests/fixtures/lint/SG011", &Config::default());
    assert_eq!(
        codes(&expired),
        [
            (CheckCode::Sg011, String::new()),
            (
                CheckCode::Sg001,
                "aws_security_group_rule.vendor_ssh".to_owned()
            ),
        ]
    );
    let unused = lint("tests/fixtures/lint/SG010", &Config::default());
    assert_eq!(codes(&unused), [(CheckCode::Sg010, String::new())]);
    assert_eq!(unused.suppressed, 1);
}

#[test]
fn config_is_found_upward_and_applied() {
    let dir = Path::new("tests/fixtures/lint/config/nested/deeper");
    let path = Config::find(dir).unwrap();
    assert!(
        path.ends_with("tests/fixtures/lint/config/tighten.toml"),
        "{}",
        path.display()
    );
    let config = Config::read(&path).unwrap();
    assert!(!config.enabled(CheckCode::Sg005));
    assert_eq!(config.severity(CheckCode::Sg004), Severity::Error);
    assert_eq!(config.severity(CheckCode::Sg001), Severity::Error);
    let o = lint("tests/fixtures/lint/config/nested/deeper", &config);
    let found: Vec<(CheckCode, Severity, String)> = o
        .diagnostics
        .iter()
        .map(|d| (d.code, d.severity, d.message.clone()))
        .collect();
    assert_eq!(
        found,
        [
            (
                CheckCode::Sg001,
                Severity::Error,
                "remote-administration port 2222 open to 0.0.0.0/0".to_owned()
            ),
            (
                CheckCode::Sg004,
                Severity::Error,
                "plain-HTTP port 80 (HTTP) open to 0.0.0.0/0".to_owned()
            ),
        ]
    );
}

#[test]
fn a_bad_key_is_a_located_error() {
    let err = Config::parse(
        "[checks.SG001]\nenabled = true\nseverty = \"error\"\n",
        "tighten.toml",
    )
    .unwrap_err();
    let analysis::config::ConfigError::Invalid { message, at, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(message.starts_with("unknown field `severty`"), "{message}");
    let at = at.unwrap();
    assert_eq!((at.offset(), at.len()), (30, 7));

    let err = Config::parse("[checks.SG999]\nenabled = false\n", "tighten.toml").unwrap_err();
    let analysis::config::ConfigError::Invalid { message, at, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(message, "unknown check `SG999` (see `tighten explain`)");
    assert_eq!(at.unwrap().offset(), 8);

    let err = Config::parse("[ports]\nadmin = [\"22-x\"]\n", "tighten.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid tighten.toml: `22-x` is not a port or a range like \"5985-5986\""
    );
}

#[test]
fn world_threshold_widens_what_counts_as_public() {
    let config = Config::parse("[world]\nipv4_prefix_max = 8\n", "t.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "resource \"aws_security_group_rule\" \"r\" {\n  type = \"ingress\"\n  description = \"d\"\n  protocol = \"tcp\"\n  from_port = 22\n  to_port = 22\n  cidr_blocks = [\"10.0.0.0/8\"]\n  security_group_id = \"sg-1\"\n}\n",
    )
    .unwrap();
    let loaded = terraform::load(dir.path(), &LoadOptions::default()).unwrap();
    let wide = analysis::lint(&loaded, &config, None, (2026, 6, 1));
    assert_eq!(
        wide.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
        [CheckCode::Sg001]
    );
    let default = analysis::lint(&loaded, &Config::default(), None, (2026, 6, 1));
    assert!(default.diagnostics.is_empty());
}
