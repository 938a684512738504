//! Output formats and exit codes, through the binary: json (snapshot), sarif (validated against
//! the official 2.1.0 schema), markdown (snapshot), human (no colour when not a terminal).

use assert_cmd::Command;

fn tighten() -> Command {
    let mut c = Command::cargo_bin("tighten").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn stdout(args: &[&str], code: i32) -> String {
    let out = tighten().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const FORMATS: &str = "tests/fixtures/lint/formats";

#[test]
fn json_output() {
    let text = stdout(&["lint", FORMATS, "--format", "json"], 1);
    insta::assert_snapshot!("json", text);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["summary"]["suppressed"], 1);
}

#[test]
fn markdown_output() {
    insta::assert_snapshot!(
        "markdown",
        stdout(&["lint", FORMATS, "--format", "markdown"], 1)
    );
}

#[test]
fn human_output_has_no_colour_off_a_terminal() {
    let text = stdout(&["lint", FORMATS], 1);
    assert!(!text.contains('\u{1b}'), "escape codes in {text}");
    insta::assert_snapshot!("human", text);
}

/// Replaces the malformed `language` patterns; returns how many there were.
fn fix_language_patterns(v: &mut serde_json::Value) -> usize {
    match v {
        serde_json::Value::Object(m) => {
            let mut n = 0;
            for (k, x) in m.iter_mut() {
                if k == "pattern" && x == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                    *x = serde_json::Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                    n += 1;
                } else {
                    n += fix_language_patterns(x);
                }
            }
            n
        }
        serde_json::Value::Array(a) => a.iter_mut().map(fix_language_patterns).sum(),
        _ => 0,
    }
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("testdata/sarif-schema-2.1.0.json").unwrap())
            .unwrap();
    // The official schema's `language` patterns (run and toolComponent) have a stray `]` that strict (ECMA-262)
    // regex engines reject when the schema itself is checked; tighten never writes
    // `language`, so the patterns are made well-formed here and the file stays as published.
    assert_eq!(fix_language_patterns(&mut schema), 2);
    let validator = jsonschema::validator_for(&schema).unwrap();
    for dir in [
        FORMATS,
        "tests/fixtures/lint/SG007",
        "tests/fixtures/lint/broken",
    ] {
        let out = tighten()
            .args(["lint", dir, "--format", "sarif"])
            .output()
            .unwrap();
        let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{dir}: {errors:#?}");
    }
    let log: serde_json::Value =
        serde_json::from_str(&stdout(&["lint", FORMATS, "--format", "sarif"], 1)).unwrap();
    let run = &log["runs"][0];
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 20);
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "SG001");
    assert_eq!(
        run["tool"]["driver"]["rules"][0]["fullDescription"]["text"]
            .as_str()
            .unwrap()
            .lines()
            .next()
            .unwrap(),
        "Reports an ingress rule that opens a remote-administration port (SSH 22, Telnet 23, RDP 3389,"
    );
    let results = run["results"].as_array().unwrap();
    let codes: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["SG001", "SG005", "SG006"]);
    assert_eq!(results[0]["level"], "error");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        9
    );
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startColumn"],
        20
    );
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "tests/fixtures/lint/formats/main.tf"
    );
}

#[test]
fn exit_codes() {
    // Findings at or above the default threshold (warning): 1.
    stdout(&["lint", FORMATS, "--format", "json"], 1);
    stdout(
        &["lint", FORMATS, "--format", "json", "--fail-on", "never"],
        0,
    );
    // Only notes in SG005's fixture: below `error`, at `note`.
    stdout(
        &["lint", "tests/fixtures/lint/SG005", "--fail-on", "error"],
        0,
    );
    stdout(
        &["lint", "tests/fixtures/lint/SG005", "--fail-on", "note"],
        1,
    );
    // A syntax error: 2, and the other file is still linted.
    let text = stdout(
        &["lint", "tests/fixtures/lint/broken", "--format", "json"],
        2,
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["input_errors"][0]["kind"], "syntax");
    assert_eq!(v["input_errors"][0]["line"], 2);
    assert_eq!(v["findings"][0]["code"], "SG001");
    // Tool errors: 2.
    stdout(&["lint", "tests/fixtures/lint/does-not-exist"], 2);
    stdout(
        &[
            "lint",
            FORMATS,
            "--state",
            "../shared/corpus/cycloidio__inframap/generate/testdata/version_3_state.json",
        ],
        2,
    );
    stdout(&["explain", "SG999"], 2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tighten.toml"),
        "[checks.SG001]\nenabeld = true\n",
    )
    .unwrap();
    std::fs::copy(format!("{FORMATS}/main.tf"), dir.path().join("main.tf")).unwrap();
    let out = tighten()
        .args(["lint", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unknown field `enabeld`"), "{err}");
    assert!(err.contains("tighten.toml:2:1"), "{err}");
}

#[test]
fn syntax_errors_are_located_diagnostics() {
    let out = tighten()
        .args(["lint", "tests/fixtures/lint/broken"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("tests/fixtures/lint/broken/bad.tf:2:"),
        "{text}"
    );
    assert!(text.contains("1 input error(s)"), "{text}");
}

#[test]
fn output_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.sarif");
    let text = stdout(
        &[
            "lint",
            FORMATS,
            "--format",
            "sarif",
            "--output",
            path.to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(text, "");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["version"], "2.1.0");
}

#[test]
fn explain_prints_the_check_docs() {
    let text = stdout(&["explain", "SG001"], 0);
    assert!(text.starts_with("# SG001 public-admin-port\n"), "{text}");
    assert!(text.ends_with("Default severity: error\n"), "{text}");
    let list = stdout(&["explain"], 0);
    assert_eq!(list.lines().count(), 20);
    assert!(list.starts_with("SG001  public-admin-port      error    Remote-administration port open to the internet\n"), "{list}");
}

#[test]
fn state_next_to_the_configuration_is_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "tests/fixtures/lint/registry/main.tf",
        dir.path().join("main.tf"),
    )
    .unwrap();
    std::fs::copy(
        "../shared/corpus/cycloidio__inframap/generate/testdata/repeated_modules.json",
        dir.path().join("terraform.tfstate"),
    )
    .unwrap();
    let text = stdout(
        &[
            "lint",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
            "--fail-on",
            "never",
        ],
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["summary"]["linked_groups"], 1);
}

#[test]
fn repeated_object_keys_keep_the_last_value_with_a_note() {
    let dir = "tests/fixtures/repeated_keys";
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&["lint", dir, "--format", "json"], 0)).unwrap();
    assert_eq!(v["summary"]["rules"], 1);
    assert_eq!(v["input_errors"], serde_json::json!([]));
    // The rule's port is the last `ssh` value, 2222: with the first (22) it would be SG001.
    assert_eq!(v["findings"], serde_json::json!([]));
    assert_eq!(
        v["input_notes"],
        serde_json::json!([{
            "file": "tests/fixtures/repeated_keys/main.tf",
            "line": 6, "column": 5,
            "message": "object key `ssh` is also given on line 4; Terraform keeps the last \
                        value, and so does tighten"
        }])
    );
    let human = stdout(&["lint", dir], 0);
    assert!(
        human.contains(
            "note: tests/fixtures/repeated_keys/main.tf:6:5: object key `ssh` is also given on line 4"
        ),
        "{human}"
    );
}
