//! `tighten fix` on the shop example through the binary: the patch (snapshot), `git apply` of it
//! in a real repository, `--write` (refused without `--unsafe-fixes`, then equal to the patch),
//! suppressions, `--only`, the PR body (snapshot), and every rule style's edit.

mod common;

use std::path::{Path, PathBuf};

use common::{git, tighten};

const SHOP: &str = "examples/shop";

/// A git repository holding a copy of the shop's Terraform under `infra/`, and a store.
struct Repo {
    _dir: tempfile::TempDir,
    root: PathBuf,
    db: PathBuf,
}

fn repo() -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let infra = root.join("infra");
    std::fs::create_dir_all(&infra).unwrap();
    for f in ["main.tf", "variables.tf", "terraform.tfstate"] {
        std::fs::copy(Path::new(SHOP).join("terraform").join(f), infra.join(f)).unwrap();
    }
    git(&root, &["init", "-q"]);
    git(&root, &["add", "."]);
    git(&root, &["commit", "-qm", "shop"]);
    let db = dir.path().join("shop.db");
    common::ingest_shop(&db);
    Repo {
        _dir: dir,
        root,
        db,
    }
}

fn fix(repo: &Repo, args: &[&str], code: i32) -> (String, String) {
    let out = tighten()
        .current_dir(&repo.root)
        .args(["fix", "infra", "--db"])
        .arg(&repo.db)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

#[test]
fn the_patch_applies_with_git_and_equals_write() {
    let repo = repo();
    let (patch, stderr) = fix(&repo, &[], 1);
    insta::assert_snapshot!("shop_patch", patch);
    assert!(
        stderr.contains("8 unsafe fix(es) offered in 2 file(s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "replay: 251 inbound flow row(s) of the window: 249 allowed before, 249 after, 0 denied"
        ),
        "{stderr}"
    );
    // The patch applies from the repository root.
    std::fs::write(repo.root.join("fix.patch"), &patch).unwrap();
    git(&repo.root, &["apply", "--check", "fix.patch"]);
    git(&repo.root, &["apply", "fix.patch"]);
    let applied: Vec<String> = ["main.tf", "variables.tf"]
        .iter()
        .map(|f| std::fs::read_to_string(repo.root.join("infra").join(f)).unwrap())
        .collect();
    git(&repo.root, &["checkout", "--", "."]);
    // --write without --unsafe-fixes writes nothing and says why.
    let (_, stderr) = fix(&repo, &["--write"], 1);
    assert!(stderr.contains("8 unsafe fix(es) not written"), "{stderr}");
    assert_eq!(
        git(&repo.root, &["status", "--porcelain", "--", "infra"]),
        ""
    );
    // --write --unsafe-fixes writes exactly what the patch said.
    let (out, stderr) = fix(&repo, &["--write", "--unsafe-fixes"], 0);
    assert_eq!(out, "");
    assert!(
        stderr.contains("8 fix(es) applied to 2 file(s)"),
        "{stderr}"
    );
    for (f, want) in ["main.tf", "variables.tf"].iter().zip(&applied) {
        assert_eq!(
            &std::fs::read_to_string(repo.root.join("infra").join(f)).unwrap(),
            want
        );
    }
    // Fixed: nothing more to propose but the suggestions (and a second run is a no-op).
    let (patch, _) = fix(&repo, &[], 0);
    assert_eq!(patch, "");
}

#[test]
fn the_pull_request_body() {
    let repo = repo();
    let (body, _) = fix(&repo, &["--format", "markdown"], 1);
    insta::assert_snapshot!("shop_body", body);
    assert!(body.len() < 65_536);
    assert!(body.contains("**249 allowed, 0 denied**"), "{body}");
}

#[test]
fn a_suppression_with_a_reason_keeps_the_rule() {
    let repo = repo();
    let main = repo.root.join("infra/main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    let text = text.replace(
        "  # Legacy FTP drop box, retired in 2025.\n",
        "  # tighten:ignore SG101 the auditors still upload here once a quarter\n",
    );
    std::fs::write(&main, text).unwrap();
    let (patch, _) = fix(&repo, &[], 1);
    assert!(!patch.contains("-    from_port   = 21"), "{patch}");
    assert!(
        patch.contains("+    cidr_blocks = [\"198.51.100.1/32\""),
        "{patch}"
    );
}

#[test]
fn only_the_checks_asked_for() {
    let repo = repo();
    let (json, _) = fix(&repo, &["--only", "SG101", "--format", "json"], 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let fixed: Vec<String> = v["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["codes"][0].as_str().unwrap(),
                f["address"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        fixed,
        [
            "SG101 aws_security_group.web",
            "SG101 aws_security_group_rule.app_ephemeral",
            "SG101 aws_vpc_security_group_ingress_rule.db_pg[\"legacy\"]"
        ]
    );
    assert_eq!(v["replay"]["denied"], 0);
}

#[test]
fn fix_needs_a_store() {
    let out = tighten()
        .args(["fix", &format!("{SHOP}/terraform")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tighten fix needs an evidence store"));
}

/// The demo: ingest, lint and the verified patch, in one command from a fresh clone.
#[test]
fn the_demo_shows_the_whole_product() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let out = tighten()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["demo", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.is_file());
    let stdout = String::from_utf8(out.stdout)
        .unwrap()
        .replace(report.to_str().unwrap(), "[REPORT]");
    insta::assert_snapshot!("demo", stdout);
}
