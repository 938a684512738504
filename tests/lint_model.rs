//! The model: evaluation of variables (defaults, terraform.tfvars, *.auto.tfvars, --var-file),
//! locals, functions, `for_each`/`count`, dynamic blocks and local modules, with the origin and
//! bytes of every value; unknown values stay unknown.

use std::path::{Path, PathBuf};

use tighten::model::{GroupRef, Known, Model, Origin, Protocol, Source};
use tighten::terraform::{self, LoadOptions};

const DIR: &str = "tests/fixtures/lint/model";

fn load(var_files: Vec<PathBuf>) -> Model {
    let loaded = terraform::load(Path::new(DIR), &LoadOptions { var_files }).unwrap();
    assert!(loaded.errors.is_empty());
    loaded.model
}

fn summaries(m: &Model) -> Vec<(String, String)> {
    m.rules
        .iter()
        .map(|r| (r.address.to_string(), r.summary()))
        .collect()
}

#[test]
fn evaluates_what_is_known() {
    let m = load(Vec::new());
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(
        summaries(&m),
        pairs(&[
            ("aws_security_group.app", "tcp port 8443 from 10.1.0.0/16"),
            ("aws_security_group.app", "tcp port 8443 from 10.2.0.0/16"),
            ("aws_security_group.app", "tcp port 443 from 203.0.113.0/24"),
            ("aws_security_group.app", "tcp port 443 from 192.0.2.0/24"),
            ("aws_security_group.app", "tcp port 443 from 10.20.3.0/24"),
            (
                "aws_security_group_rule.admin[\"192.0.2.0/24\"]",
                "tcp port 2222 from 192.0.2.0/24"
            ),
            (
                "aws_security_group_rule.admin[\"203.0.113.0/24\"]",
                "tcp port 2222 from 203.0.113.0/24"
            ),
            (
                "module.db.aws_vpc_security_group_ingress_rule.in[\"10.9.0.0/16\"]",
                "tcp port 5432 from 10.9.0.0/16"
            ),
        ])
    );
    // `count = length(var.extra_ports)` has no value: reported, not guessed.
    assert_eq!(m.unknown_expansions.len(), 1);
    assert_eq!(
        m.unknown_expansions[0].address,
        "aws_security_group_rule.extra"
    );
    assert_eq!(
        m.groups
            .iter()
            .map(|g| (g.address.to_string(), g.description.clone()))
            .collect::<Vec<_>>(),
        [
            (
                "aws_security_group.app".to_owned(),
                Known::Known(Some("app tier".to_owned()))
            ),
            (
                "module.db.aws_security_group.this".to_owned(),
                Known::Known(Some("db access".to_owned()))
            ),
        ]
    );
    assert_eq!(m.rules_of(&m.groups[0]).count(), 7);
    assert_eq!(m.rules_of(&m.groups[1]).count(), 1);
    let db = m.rules.last().unwrap();
    assert_eq!(
        db.group,
        GroupRef::Address("module.db.aws_security_group.this".to_owned())
    );
    assert_eq!(db.protocol, Known::Known(Protocol::TCP));
    assert!(
        m.rules
            .iter()
            .take(7)
            .all(|r| r.group == GroupRef::Address("aws_security_group.app".to_owned()))
    );
}

#[test]
fn var_file_overrides_tfvars_and_fills_missing_values() {
    let dir = tempfile::tempdir().unwrap();
    let vf = dir.path().join("prod.tfvars");
    std::fs::write(&vf, "admin_port = 3389\nextra_ports = [9000, 9001]\n").unwrap();
    let m = load(vec![vf]);
    let admin: Vec<String> = m
        .rules
        .iter()
        .filter(|r| r.address.name == "admin")
        .map(tighten::model::Rule::summary)
        .collect();
    assert_eq!(
        admin,
        [
            "tcp port 3389 from 192.0.2.0/24",
            "tcp port 3389 from 203.0.113.0/24"
        ]
    );
    let extra: Vec<(String, String)> = m
        .rules
        .iter()
        .filter(|r| r.address.name == "extra")
        .map(|r| (r.address.to_string(), r.summary()))
        .collect();
    assert_eq!(
        extra,
        [
            (
                "aws_security_group_rule.extra[0]".to_owned(),
                "tcp port 9000 from unknown source".to_owned()
            ),
            (
                "aws_security_group_rule.extra[1]".to_owned(),
                "tcp port 9001 from unknown source".to_owned()
            ),
        ]
    );
    assert_eq!(
        m.rules
            .iter()
            .find(|r| r.address.name == "extra")
            .unwrap()
            .source,
        Known::Unknown("`data.aws_vpc.main.cidr_block` is not known statically".to_owned())
    );
}

#[test]
fn origins_and_bytes_of_values() {
    let loaded = terraform::load(Path::new(DIR), &LoadOptions::default()).unwrap();
    let m = &loaded.model;
    let text = &loaded
        .files
        .iter()
        .find(|f| f.path.ends_with("model/main.tf"))
        .unwrap()
        .text;
    let admin = m.rules.iter().find(|r| r.address.name == "admin").unwrap();
    let from = admin.attr("from_port").unwrap();
    assert_eq!(
        from.origin,
        Origin::Variable {
            name: "admin_port".to_owned()
        }
    );
    assert_eq!(&text[from.loc.bytes.clone()], "var.admin_port");
    let cidr = admin.attr("cidr_blocks").unwrap();
    assert_eq!(cidr.origin, Origin::ForEach);
    assert_eq!(&text[cidr.loc.bytes.clone()], "each.value");
    // Both for_each instances share the bytes of `from_port`: a fix must know.
    assert_eq!(m.rules_sharing("from_port", &from.loc).count(), 2);

    let dynamic = &m.rules[0];
    assert_eq!(dynamic.attr("from_port").unwrap().origin, Origin::ForEach);
    assert_eq!(
        &text[dynamic.loc.bytes.clone()]
            .lines()
            .next()
            .unwrap()
            .trim(),
        &"content {"
    );

    // A module rule points at the caller's input, where the value is written.
    let db = m.rules.last().unwrap();
    let from = db.attr("from_port").unwrap();
    assert_eq!(
        from.origin,
        Origin::ModuleInput {
            call: "module.db".to_owned(),
            name: "port".to_owned()
        }
    );
    assert_eq!(&text[from.loc.bytes.clone()], "5432");
    assert_eq!(
        db.source,
        Known::Known(Source::Cidr("10.9.0.0/16".parse().unwrap()))
    );
}

#[test]
fn registry_module_named_rules_and_computed_inputs() {
    let loaded = terraform::load(
        Path::new("tests/fixtures/lint/registry"),
        &LoadOptions::default(),
    )
    .unwrap();
    let m = &loaded.model;
    assert_eq!(
        summaries(m)
            .into_iter()
            .map(|(a, s)| format!("{a}: {s}"))
            .collect::<Vec<_>>(),
        [
            "module.all_sg.aws_security_group_rule.ingress_rules[0]: tcp port 22 from 10.0.0.0/8",
            "module.all_sg.aws_security_group_rule.ingress_rules[0]: tcp port 22 from 0.0.0.0/0",
            "module.all_sg.aws_security_group_rule.ingress_with_cidr_blocks[0]: tcp port 5432 from 10.1.0.0/16",
            "module.all_sg.aws_security_group_rule.ingress_with_cidr_blocks[0]: tcp port 5432 from 10.2.0.0/16",
            "module.all_sg.aws_security_group_rule.ingress_with_cidr_blocks[1]: tcp ports 8080-8090 from 192.168.0.0/16",
            "module.all_sg.aws_security_group_rule.ingress_with_source_security_group_id[0]: tcp port 443 from group data.aws_security_group.lb.id",
            "module.all_sg.aws_security_group_rule.egress_rules[0]: all traffic to 0.0.0.0/0",
            "module.all_sg.aws_security_group_rule.egress_rules[0]: all traffic to ::/0",
        ]
    );
    assert_eq!(m.unknown_expansions.len(), 1);
    assert_eq!(
        m.unknown_expansions[0].address,
        "module.all_sg.computed_ingress_rules"
    );
    let text = &loaded.files[0].text;
    let ssh = &m.rules[1];
    assert_eq!(
        &text[ssh.attr("from_port").unwrap().loc.bytes.clone()],
        "\"ssh-tcp\""
    );
    assert_eq!(ssh.description, Known::Known(Some("SSH".to_owned())));
}

#[test]
fn tf_json_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf.json"),
        r#"{"variable": {"port": {"default": 22}}, "resource": {"aws_security_group_rule": {"ssh": {"type": "ingress", "protocol": "tcp", "from_port": "${var.port}", "to_port": 22, "cidr_blocks": ["0.0.0.0/0"], "security_group_id": "sg-1"}}}}"#,
    )
    .unwrap();
    let loaded = terraform::load(dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(
        summaries(&loaded.model),
        [(
            "aws_security_group_rule.ssh".to_owned(),
            "tcp port 22 from 0.0.0.0/0".to_owned()
        )]
    );
    assert_eq!(loaded.model.rules[0].loc.bytes, 0..0);
}
