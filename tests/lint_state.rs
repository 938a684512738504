//! State files: tfstate v4 and `terraform show -json`, from the corpus (driftctl, inframap),
//! with module paths and index keys, and linking the model to deployed ids.

use std::path::PathBuf;

use tighten::model::GroupRef;
use tighten::terraform::{self, LoadOptions, state};

fn corpus(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(p)
}

#[test]
fn driftctl_rules_state() {
    let s = state::read(&corpus(
        "snyk__driftctl/pkg/iac/terraform/state/test/aws_vpc_security_group_rule/terraform.tfstate",
    ))
    .unwrap();
    assert_eq!(s.resources.len(), 11);
    assert_eq!(
        s.id("aws_security_group_rule.baz-ingress"),
        Some("sgrule-2471889226")
    );
    let r = &s.resources["aws_security_group_rule.baz-ingress"];
    assert_eq!(r.kind, "aws_security_group_rule");
    assert_eq!(r.attributes["type"], "ingress");
}

#[test]
fn driftctl_groups_state() {
    let s = state::read(&corpus(
        "snyk__driftctl/pkg/iac/terraform/state/test/aws_vpc_security_group/terraform.tfstate",
    ))
    .unwrap();
    assert_eq!(
        s.id("aws_default_security_group.test-default-sg"),
        Some("sg-9e0204ff")
    );
    assert_eq!(
        s.id("aws_security_group.test-sg"),
        Some("sg-0254c038e32f25530")
    );
}

#[test]
fn inframap_module_paths_and_index_keys() {
    let s = state::read(&corpus(
        "cycloidio__inframap/generate/testdata/repeated_modules.json",
    ))
    .unwrap();
    assert_eq!(s.resources.len(), 16);
    assert_eq!(
        s.id("module.ec2_openvpn.module.bastion_sg.aws_security_group.this_name_prefix[0]"),
        Some("sg-0004cc061bc236c1c")
    );
    assert_eq!(
        s.id("module.all_sg.aws_security_group_rule.ingress_rules[0]"),
        Some("sgrule-1734591447")
    );
    let sg = state::read(&corpus(
        "cycloidio__inframap/generate/testdata/aws_state_sg.json",
    ))
    .unwrap();
    assert_eq!(
        sg.id("module.lemp.aws_security_group.LHwFh[0]"),
        Some("sg-011db815ad698b58a")
    );
    assert_eq!(
        sg.id("module.lemp.aws_security_group.YPHPR"),
        Some("sg-0e74bbe876eba7e6f")
    );
}

#[test]
fn old_and_broken_states_are_clear_errors() {
    let v3 = state::read(&corpus(
        "cycloidio__inframap/generate/testdata/version_3_state.json",
    ))
    .unwrap_err();
    assert!(
        v3.to_string()
            .starts_with("unsupported state version 3 in "),
        "{v3}"
    );
    let v2 = state::read(&corpus(
        "cycloidio__inframap/generate/testdata/invalid_version_state.json",
    ))
    .unwrap_err();
    assert!(
        v2.to_string()
            .starts_with("unsupported state version 2 in "),
        "{v2}"
    );
    let empty = state::read(&corpus(
        "snyk__driftctl/pkg/iac/terraform/state/enumerator/testdata/states/terraform.tfstate",
    ))
    .unwrap_err();
    assert!(empty.to_string().contains("is not JSON"), "{empty}");
    let none = state::read(&corpus(
        "snyk__driftctl/pkg/iac/terraform/state/backend/testdata/valid.tfstate",
    ))
    .unwrap();
    assert!(none.resources.is_empty());
}

#[test]
fn registry_module_call_links_to_its_deployed_state() {
    let mut loaded = terraform::load(
        &PathBuf::from("tests/fixtures/lint/registry"),
        &LoadOptions::default(),
    )
    .unwrap();
    let s = state::read(&corpus(
        "cycloidio__inframap/generate/testdata/repeated_modules.json",
    ))
    .unwrap();
    terraform::link_state(&mut loaded.model, &s);
    let m = &loaded.model;
    assert_eq!(m.groups.len(), 1);
    assert_eq!(
        m.groups[0].address.to_string(),
        "module.all_sg.aws_security_group.this_name_prefix[0]"
    );
    assert_eq!(
        m.groups[0].deployed_id.as_deref(),
        Some("sg-0987114dd4c1ff786")
    );
    let ids: Vec<(String, Option<String>)> = m
        .rules
        .iter()
        .map(|r| (r.address.to_string(), r.deployed_id.clone()))
        .collect();
    assert!(ids.contains(&(
        "module.all_sg.aws_security_group_rule.ingress_rules[0]".to_owned(),
        Some("sgrule-1734591447".to_owned())
    )));
    assert!(ids.contains(&(
        "module.all_sg.aws_security_group_rule.egress_rules[0]".to_owned(),
        Some("sgrule-3777339840".to_owned())
    )));
    assert!(m.rules.iter().all(|r| r.group
        == GroupRef::Address("module.all_sg.aws_security_group.this_name_prefix[0]".to_owned())));
}
