//! Lint never panics: random bytes, and corpus files with random edits, go through the parser,
//! the model and the checks.

use proptest::prelude::*;

use tighten::analysis::{self, Config};
use tighten::terraform::{self, Loaded};

fn corpus_text() -> Vec<String> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut out = Vec::new();
    for f in [
        "bridgecrewio__checkov/tests/terraform/checks/resource/aws/example_SecurityGroupUnrestrictedIngress22/main.tf",
        "terraform-aws-modules__terraform-aws-security-group/main.tf",
        "cloudposse__terraform-aws-security-group/main.tf",
    ] {
        out.push(std::fs::read_to_string(root.join(f)).unwrap());
    }
    out.push(std::fs::read_to_string("tests/fixtures/lint/model/main.tf").unwrap());
    out
}

fn lint_text(name: &str, text: &str) {
    if let Ok(model) = terraform::model_of_text(name, text) {
        let loaded = Loaded {
            model,
            ..Loaded::default()
        };
        let _ = analysis::lint(&loaded, &Config::default(), None, (2026, 6, 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        lint_text("main.tf", &text);
        lint_text("main.tf.json", &text);
    }

    #[test]
    fn mutated_corpus(which in 0usize..4, edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8)) {
        let texts = corpus_text();
        let mut bytes = texts[which].clone().into_bytes();
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => { bytes.remove(i); }
                1 => bytes.insert(i, byte),
                _ => bytes[i] = byte,
            }
        }
        lint_text("main.tf", &String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn hostile_expansions_are_bounded() {
    lint_text(
        "main.tf",
        "resource \"aws_security_group_rule\" \"r\" {\n  count = 100000000\n  type = \"ingress\"\n}\n",
    );
    lint_text(
        "main.tf",
        "locals {\n  a = local.b\n  b = local.a\n}\nresource \"aws_security_group\" \"g\" {\n  description = local.a\n}\n",
    );
    lint_text("main.tf", "module \"m\" {\n  source = \"./\"\n}\n");
}

#[test]
fn module_cycles_terminate() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let calls = "module \"x\" {\n  source = \"../b\"\n}\nmodule \"y\" {\n  source = \"../b\"\n}\nmodule \"self\" {\n  source = \"./\"\n}\nresource \"aws_security_group\" \"g\" {\n  description = \"g\"\n}\n";
    std::fs::write(a.join("main.tf"), calls).unwrap();
    std::fs::write(b.join("main.tf"), calls.replace("../b", "../a")).unwrap();
    let loaded = terraform::load(dir.path(), &terraform::LoadOptions::default()).unwrap();
    // Both directories call each other, so neither is a root: nothing is evaluated.
    assert_eq!(loaded.model.groups.len(), 0);
    let loaded = terraform::load(&a, &terraform::LoadOptions::default()).unwrap();
    // a (root) → x, y (b) → a is a cycle and stops there.
    assert_eq!(loaded.model.groups.len(), 3);
}
