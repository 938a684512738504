//! The pre-commit hook (`hooks/tighten-lint.sh`), run as pre-commit runs it: with the changed
//! files as arguments after the hook's `args`. It lints each directory of a changed `.tf` file
//! once, passes the other arguments to tighten, and exits with the worst code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the hook in `cwd` with the test's tighten first on PATH.
fn hook(cwd: &Path, args: &[&str], path: &str) -> Output {
    Command::new(root().join("hooks/tighten-lint.sh"))
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("TIGHTEN_DB")
        .output()
        .unwrap()
}

fn path_with_tighten() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_tighten")).parent().unwrap();
    format!("{}:/usr/bin:/bin", bin.display())
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const OPEN_SSH: &str = r#"resource "aws_security_group" "web" {
  description = "web"
  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"#;

const CLEAN: &str = r#"resource "aws_security_group" "app" {
  description = "app"
  ingress {
    description = "https from the load balancer"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.1.0/24"]
  }
}
"#;

#[test]
fn lints_each_changed_directory_once_and_exits_with_the_worst_code() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("web/main.tf"), OPEN_SSH);
    write(&dir.path().join("web/variables.tf"), "");
    write(&dir.path().join("app/main.tf"), CLEAN);
    let out = hook(
        dir.path(),
        &[
            "--fail-on=error",
            "--format",
            "json",
            "web/main.tf",
            "app/main.tf",
            "web/variables.tf",
        ],
        &path_with_tighten(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One JSON report per directory, in the order of the first changed file of each.
    let stdout = String::from_utf8(out.stdout).unwrap();
    let reports: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(reports.len(), 2, "{stdout}");
    let files = |r: &serde_json::Value| r["summary"]["files"].as_u64().unwrap();
    let codes = |r: &serde_json::Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        (files(&reports[0]), codes(&reports[0])),
        (2, vec!["SG001".to_owned()])
    );
    assert_eq!((files(&reports[1]), codes(&reports[1])), (1, vec![]));

    // The clean directory alone passes.
    let out = hook(dir.path(), &["app/main.tf"], &path_with_tighten());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No .tf file changed: nothing to lint.
    let out = hook(
        dir.path(),
        &["--fail-on=note", "app/README.md"],
        &path_with_tighten(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn says_how_to_install_tighten_when_it_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("main.tf"), CLEAN);
    let out = hook(dir.path(), &["main.tf"], "/usr/bin:/bin");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tighten is not on PATH"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
