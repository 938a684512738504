//! The shared corpus: every `.tf` parses or fails with a located error, and the model of each
//! corpus folder has exactly the groups and rules counted here (the group counts equal the
//! resource-block counts in `TERRAFORM_COUNTS.json` where no `count`, `for_each` or module call
//! multiplies them).

use std::path::PathBuf;

use tighten::analysis::{self, Config};
use tighten::terraform::{self, LoadError, LoadOptions};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// `(folder, files, groups, rules, unknown expansions)`.
const EXPECTED: [(&str, usize, usize, usize, usize); 9] = [
    ("aquasecurity__tfsec", 1, 2, 4, 0),
    ("aquasecurity__trivy-checks", 10, 7, 11, 0),
    ("bridgecrewio__checkov", 17, 111, 239, 0),
    // The module's context (null-label `module.this`) is not in the corpus: every count and
    // for_each depends on it and is reported as unknown instead of guessed (the linted folder
    // is a root module itself, and is also called by its example).
    ("cloudposse__terraform-aws-security-group", 7, 0, 0, 14),
    ("cycloidio__inframap", 1, 4, 7, 0),
    ("hashicorp__terraform-provider-aws", 3, 5, 11, 0),
    ("obsrvbl-oss__flowlogs-reader", 0, 0, 0, 0),
    ("snyk__driftctl", 5, 26, 31, 0),
    // The folder is the module itself, a root with its defaults (one group, no rules), and its
    // examples call it.
    (
        "terraform-aws-modules__terraform-aws-security-group",
        32,
        18,
        83,
        7,
    ),
];

#[test]
fn every_corpus_folder_loads_with_the_expected_model() {
    for (folder, files, groups, rules, unknown) in EXPECTED {
        let loaded = terraform::load(&corpus().join(folder), &LoadOptions::default()).unwrap();
        let m = &loaded.model;
        assert_eq!(
            (
                loaded.files.len(),
                m.groups.len(),
                m.rules.len(),
                m.unknown_expansions.len()
            ),
            (files, groups, rules, unknown),
            "{folder}"
        );
        // Checks run on every folder without a panic.
        let _ = analysis::lint(&loaded, &Config::default(), None, (2026, 6, 1));
    }
}

#[test]
fn group_counts_match_the_resource_block_counts() {
    let counts: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(corpus().join("TERRAFORM_COUNTS.json")).unwrap(),
    )
    .unwrap();
    let mut compared = 0;
    for (folder, _, groups, _, _) in EXPECTED {
        let Some(c) = counts.get(folder) else {
            continue;
        };
        let other = &c["other_constructs"];
        let multiplied = ["for_each_lines", "count_lines", "module_calls_total"]
            .iter()
            .any(|k| {
                other[k].as_u64().unwrap_or(0) > 0
                    && !(folder == "bridgecrewio__checkov" && *k == "module_calls_total")
            });
        if multiplied {
            continue;
        }
        let blocks = c["resource_blocks"]["aws_security_group"].as_u64().unwrap()
            + c["resource_blocks"]["aws_default_security_group"]
                .as_u64()
                .unwrap();
        assert_eq!(groups as u64, blocks, "{folder}");
        compared += 1;
    }
    assert_eq!(compared, 6);
}

#[test]
fn the_one_broken_file_is_a_located_error_and_the_rest_is_read() {
    let loaded = terraform::load(
        &corpus().join("bridgecrewio__checkov"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(loaded.errors.len(), 1);
    let LoadError::Syntax(e) = &loaded.errors[0] else {
        panic!("expected a syntax error, got {:?}", loaded.errors[0]);
    };
    assert!(
        e.path
            .ends_with("variable_rendering/render_from_module_def_sg/main.tf"),
        "{}",
        e.path
    );
    assert_eq!((e.line, e.column), (2, 22));
    assert!(
        e.message.starts_with("invalid escape sequence"),
        "{}",
        e.message
    );
    assert_eq!(loaded.model.groups.len(), 111);
}

#[test]
fn the_whole_corpus_lints_in_one_run() {
    let loaded = terraform::load(&corpus(), &LoadOptions::default()).unwrap();
    assert_eq!(loaded.errors.len(), 1);
    assert_eq!(
        (loaded.model.groups.len(), loaded.model.rules.len()),
        (172, 386)
    );
}

#[test]
fn registry_rule_table_is_shipped() {
    assert_eq!(terraform::registry::named_rule_count(), 156);
}

/// Files of the corpus that Terraform rejects too, with its reason. Every other `.tf` parses.
const REJECTED_BY_TERRAFORM: [(&str, &str); 1] = [(
    "bridgecrewio__checkov/tests/terraform/graph/resources/variable_rendering/render_from_module_def_sg/main.tf",
    // `source = "modules\/security_group"`: HCL's escapes are \n \r \t \" \\ \uNNNN \UNNNNNNNN;
    // Terraform says "The symbol "/" is not a valid escape sequence selector".
    "invalid escape sequence",
)];

#[test]
fn every_corpus_file_parses_but_those_terraform_rejects() {
    let files = terraform::files::discover(&corpus()).unwrap();
    assert!(files.len() >= 76, "{}", files.len());
    let mut rejected = Vec::new();
    for path in &files {
        if let Err(e) = terraform::files::read(path) {
            let LoadError::Syntax(s) = &e else {
                panic!("{}: {e}", path.display())
            };
            let rel = path.strip_prefix(corpus()).unwrap().to_string_lossy();
            rejected.push((rel.replace('\\', "/"), s.message.clone()));
        }
    }
    assert_eq!(rejected.len(), REJECTED_BY_TERRAFORM.len(), "{rejected:#?}");
    for ((file, message), (want_file, want_reason)) in rejected.iter().zip(REJECTED_BY_TERRAFORM) {
        assert_eq!(file, want_file);
        assert!(message.starts_with(want_reason), "{file}: {message}");
    }
}
