//! One fixture directory per check (`tests/fixtures/lint/SG0xx`): each resource is preceded by
//! `# expect: SG0xx` or `# expect: ok`, the verdict of that check on it. The rendered
//! diagnostics of each fixture are an insta snapshot.

use std::path::{Path, PathBuf};

use tighten::analysis::config::CheckConfig;
use tighten::analysis::{self, CheckCode, Config};
use tighten::report::{self, Report, Stats};
use tighten::terraform::{self, LoadOptions};

/// A fixed "today" so that expiry dates give the same answer every day.
const TODAY: (i32, u32, u32) = (2026, 6, 1);

fn fixture_dir(code: CheckCode) -> PathBuf {
    Path::new("tests/fixtures/lint").join(code.as_str())
}

/// `(start offset of the region, expected codes)` for every `# expect:` line.
fn regions(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.trim().strip_prefix("# expect:") {
            let codes = rest
                .split_whitespace()
                .filter(|w| *w != "ok")
                .map(str::to_owned)
                .collect();
            out.push((offset, codes));
        }
        offset += line.len();
    }
    out
}

fn run(code: CheckCode) -> (terraform::Loaded, analysis::Outcome) {
    let loaded = terraform::load(&fixture_dir(code), &LoadOptions::default()).unwrap();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    // The check under test runs even when it is off by default.
    let mut config = Config::default();
    config.checks.insert(
        code,
        CheckConfig {
            enabled: Some(true),
            severity: None,
        },
    );
    let outcome = analysis::lint(&loaded, &config, None, TODAY);
    (loaded, outcome)
}

fn check_fixture(code: CheckCode) {
    let (loaded, outcome) = run(code);
    let file = &loaded.files[0];
    let regions = regions(&file.text);
    assert!(
        !regions.is_empty(),
        "fixture {code} has no `# expect:` lines"
    );
    let mut found: Vec<Vec<String>> = vec![Vec::new(); regions.len()];
    for d in outcome.diagnostics.iter().filter(|d| d.code == code) {
        let region = regions
            .iter()
            .rposition(|(start, _)| *start <= d.loc.bytes.start)
            .unwrap_or_else(|| panic!("{code}: finding before the first expectation: {d:?}"));
        if !found[region].contains(&code.as_str().to_owned()) {
            found[region].push(code.as_str().to_owned());
        }
    }
    for (i, (start, expected)) in regions.iter().enumerate() {
        let expected: Vec<String> = expected
            .iter()
            .filter(|c| *c == code.as_str())
            .cloned()
            .collect();
        let line = file.text[..*start].lines().count() + 1;
        assert_eq!(
            found[i], expected,
            "{code}: verdict of the resource after line {line}"
        );
    }
    let r = Report {
        outcome: &outcome,
        files: &loaded.files,
        errors: &loaded.errors,
        stats: Stats {
            files: loaded.files.len(),
            groups: loaded.model.groups.len(),
            rules: loaded.model.rules.len(),
            unknown_expansions: loaded.model.unknown_expansions.len(),
            state: None,
            linked_groups: 0,
        },
    };
    let only: Vec<_> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .cloned()
        .collect();
    let filtered = analysis::Outcome {
        diagnostics: only,
        ..outcome.clone()
    };
    let rendered = report::human::render(
        &Report {
            outcome: &filtered,
            ..r
        },
        false,
        100,
    );
    insta::assert_snapshot!(format!("fixture_{code}"), rendered);
}

#[test]
fn sg001() {
    check_fixture(CheckCode::Sg001);
}
#[test]
fn sg002() {
    check_fixture(CheckCode::Sg002);
}
#[test]
fn sg003() {
    check_fixture(CheckCode::Sg003);
}
#[test]
fn sg004() {
    check_fixture(CheckCode::Sg004);
}
#[test]
fn sg005() {
    check_fixture(CheckCode::Sg005);
}
#[test]
fn sg006() {
    check_fixture(CheckCode::Sg006);
}
#[test]
fn sg007() {
    check_fixture(CheckCode::Sg007);
}
#[test]
fn sg008() {
    check_fixture(CheckCode::Sg008);
}
#[test]
fn sg009() {
    check_fixture(CheckCode::Sg009);
}
#[test]
fn sg010() {
    check_fixture(CheckCode::Sg010);
}
#[test]
fn sg011() {
    check_fixture(CheckCode::Sg011);
}
#[test]
fn sg012() {
    check_fixture(CheckCode::Sg012);
}

/// The registry guard: codes unique, names unique, every check documented under the fixed
/// headings, with a fixture and a snapshot.
#[test]
fn registry_is_complete() {
    let mut codes: Vec<&str> = CheckCode::ALL.iter().map(|c| c.as_str()).collect();
    let mut names: Vec<&str> = CheckCode::ALL.iter().map(|c| c.meta().name).collect();
    codes.dedup();
    names.sort_unstable();
    names.dedup();
    assert_eq!(codes.len(), CheckCode::ALL.len());
    assert_eq!(names.len(), CheckCode::ALL.len());
    for c in CheckCode::ALL {
        let m = c.meta();
        assert_eq!(m.code, c);
        assert_eq!(CheckCode::parse(c.as_str()), Some(c));
        assert_eq!(CheckCode::parse(m.name), Some(c));
        assert!(
            m.docs
                .starts_with(&format!("# {} {}\n", c.as_str(), m.name)),
            "{c} docs title"
        );
        for heading in [
            "## What it does",
            "## Why is this bad?",
            "## Evidence used",
            "## Example",
            "## Use instead",
            "## Fix safety",
        ] {
            assert!(m.docs.contains(heading), "{c} docs lack {heading}");
        }
        if m.evidence == tighten::analysis::EvidenceNeed::FlowLogs {
            // Evidence checks are exercised on the shop scenario (tests/evidence_checks.rs).
            let snap = format!("tests/snapshots/evidence_checks__shop_check_{c}.snap");
            assert!(Path::new(&snap).is_file(), "{c} has no snapshot {snap}");
            continue;
        }
        assert!(
            fixture_dir(c).join("main.tf").is_file(),
            "{c} has no fixture"
        );
        let snap = format!("tests/snapshots/lint_fixtures__fixture_{c}.snap");
        assert!(Path::new(&snap).is_file(), "{c} has no snapshot {snap}");
    }
}
