//! `tighten completions` and `tighten man`, through the binary: every shell gets a script that
//! names the subcommands, bash parses its own, and groff reads every manual page without a
//! warning (what `man` will show from the release archives).

mod common;

use std::process::Command;

use common::{succeed, tighten};

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for (shell, marker) in [
        ("bash", "_tighten()"),
        ("zsh", "#compdef tighten"),
        ("fish", "complete -c tighten"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = succeed(tighten().args(["completions", shell]));
        assert!(script.contains(marker), "{shell}: no {marker}");
        for sub in [
            "ingest",
            "flow-logs",
            "lint",
            "evidence",
            "explain",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
        // The lint formats are offered as values (clap_complete's PowerShell script completes
        // names only).
        if shell != "powershell" {
            assert!(
                script.contains("sarif") && script.contains("github"),
                "{shell}"
            );
        }
    }
}

#[test]
fn the_bash_script_parses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tighten.bash");
    std::fs::write(&path, succeed(tighten().args(["completions", "bash"]))).unwrap();
    let out = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = tighten().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
}

/// groff's warnings on `page` (`-ww`: all of them; `-k`: UTF-8 input, as `man` reads it).
fn groff_warnings(page: &std::path::Path) -> String {
    let out = Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
        .arg(page)
        .output()
        .expect("groff (Debian groff-base) renders the manual pages");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn man_prints_the_main_page() {
    let page = succeed(tighten().arg("man"));
    assert!(page.contains(".TH tighten 1"), "{page}");
    assert!(page.contains("tighten\\-lint(1)"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tighten.1");
    std::fs::write(&path, page).unwrap();
    assert_eq!(groff_warnings(&path), "");
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    succeed(tighten().arg("man").arg("--dir").arg(&out));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "tighten-athena-sql.1",
            "tighten-completions.1",
            "tighten-demo.1",
            "tighten-evidence.1",
            "tighten-explain.1",
            "tighten-fix.1",
            "tighten-history.1",
            "tighten-ingest-aws-config.1",
            "tighten-ingest-ec2.1",
            "tighten-ingest-evidence.1",
            "tighten-ingest-flow-logs.1",
            "tighten-ingest.1",
            "tighten-lint.1",
            "tighten-man.1",
            "tighten-report.1",
            "tighten.1",
        ]
    );
    for n in &names {
        assert_eq!(groff_warnings(&out.join(n)), "", "{n}");
    }
    let lint = std::fs::read_to_string(out.join("tighten-lint.1")).unwrap();
    assert!(lint.contains("\\-\\-fail\\-on"), "{lint}");
}
