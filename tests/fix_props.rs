//! The fix stage on generated Terraform: every rule style's edit (snapshots), and properties over
//! random formatting, comments and line endings — edits never touch a rule without a fix, the
//! file's line endings are kept, the rules without a fix are unchanged, and every inbound flow the
//! old rules allowed is allowed by the rules read back from the edited files.

mod common;

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use common::view::{DAYS, Flow, allowed, plan_fixes, view};
use proptest::prelude::*;
use tighten::analysis::evidence::{Window, analyse};
use tighten::analysis::{self, Config};
use tighten::fix::{self, Plan};
use tighten::model::Model;
use tighten::store::evidence::Role;
use tighten::terraform::{self, LoadOptions, Loaded};

/// Loads `files` from a temporary folder, links every group `aws_security_group.NAME` to the
/// deployed id `NAME`, and plans the fixes of the evidence checks on `flows`.
fn plan(
    files: &[(&str, &str)],
    flows: &[Flow],
    config: &Config,
) -> (tempfile::TempDir, Loaded, Plan) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let (loaded, p) = plan_fixes(dir.path(), flows, config);
    (dir, loaded, p)
}

fn flow(group: &'static str, day: i32, port: u16, src: [u8; 4]) -> Flow {
    Flow {
        group,
        day,
        role: Role::Inbound,
        protocol: 6,
        port,
        src: Ipv4Addr::from(src),
    }
}

fn config() -> Config {
    let mut c = Config::default();
    c.evidence.min_days = 1;
    c
}

/// The patch of `p`, checked to apply with `git apply` to the original files in `dir` (made a
/// repository for it) and to give exactly the edited texts.
fn patch(dir: &Path, p: &Plan) -> String {
    let diff = fix::diff::unified(p, Some(dir));
    let git = |args: &[&str]| common::git(dir, args);
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "original"]);
    std::fs::write(dir.join("fix.patch"), &diff).unwrap();
    git(&["apply", "fix.patch"]);
    for (path, _, new) in p.changed_files() {
        assert_eq!(
            &std::fs::read_to_string(path).unwrap(),
            new,
            "{}",
            path.display()
        );
    }
    diff
}

#[test]
fn a_vpc_rule_needing_three_prefixes_gets_sibling_resources() {
    let tf = r#"resource "aws_security_group" "db" {
  name = "db"
}

resource "aws_vpc_security_group_ingress_rule" "pg" {
  security_group_id = aws_security_group.db.id
  description       = "Postgres"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = "10.0.0.0/8"
}
"#;
    let flows = [
        flow("db", 1, 5432, [10, 1, 0, 1]),
        flow("db", 2, 5432, [10, 200, 0, 1]),
        flow("db", 3, 5432, [10, 77, 0, 1]),
    ];
    let (dir, _, p) = plan(&[("main.tf", tf)], &flows, &config());
    assert!(p.dropped.is_empty(), "{:?}", p.dropped);
    assert_eq!(p.fixes.len(), 1);
    assert_eq!(
        p.fixes[0].creates,
        [
            "aws_vpc_security_group_ingress_rule.pg_2",
            "aws_vpc_security_group_ingress_rule.pg_3"
        ]
    );
    insta::assert_snapshot!("vpc_siblings", patch(dir.path(), &p));
}

#[test]
fn a_one_per_line_crlf_list_keeps_its_layout_and_line_endings() {
    let tf = "resource \"aws_security_group\" \"web\" {\r\n  name = \"web\"\r\n\r\n  ingress {\r\n    protocol    = \"tcp\"\r\n    from_port   = 22\r\n    to_port     = 22\r\n    cidr_blocks = [\r\n      \"0.0.0.0/0\", # anyone\r\n      \"10.0.0.0/8\",\r\n    ]\r\n  }\r\n}\r\n";
    let flows = [
        flow("web", 1, 22, [203, 0, 113, 7]),
        flow("web", 2, 22, [198, 51, 100, 1]),
        flow("web", 3, 22, [10, 4, 0, 1]),
    ];
    let (dir, _, p) = plan(&[("main.tf", tf)], &flows, &config());
    assert!(p.dropped.is_empty(), "{:?}", p.dropped);
    let new = &p.edited[&dir.path().join("main.tf")];
    assert!(!new.replace("\r\n", "").contains('\n'), "{new:?}");
    patch(dir.path(), &p);
    insta::assert_snapshot!("crlf_list", new.replace('\r', "␍"));
}

#[test]
fn count_instances_and_dynamic_blocks_are_left_as_notes() {
    let tf = r#"resource "aws_security_group" "app" {
  name = "app"
}

resource "aws_security_group_rule" "legacy" {
  count             = 2
  type              = "ingress"
  security_group_id = aws_security_group.app.id
  protocol          = "tcp"
  from_port         = 7000 + count.index
  to_port           = 7000 + count.index
  cidr_blocks       = ["10.0.0.0/8"]
}

variable "ports" {
  default = [8080, 8443]
}

resource "aws_security_group" "web" {
  name = "web"
  dynamic "ingress" {
    for_each = var.ports
    content {
      protocol    = "tcp"
      from_port   = ingress.value
      to_port     = ingress.value
      cidr_blocks = ["10.0.0.0/8"]
    }
  }
}
"#;
    let flows = [
        flow("app", 1, 7000, [10, 1, 1, 1]),
        flow("web", 1, 8080, [10, 2, 2, 2]),
    ];
    let (_, _, p) = plan(&[("main.tf", tf)], &flows, &config());
    let notes: Vec<String> = p
        .notes
        .iter()
        .map(|n| format!("{} {}: {}", n.code, n.address, n.reason))
        .collect();
    insta::assert_snapshot!("notes", notes.join("\n"));
    assert!(p.dropped.is_empty(), "{:?}", p.dropped);
}

/// One generated inline rule: protocol, ports, CIDRs, and how it is written.
#[derive(Debug, Clone)]
struct Block {
    from: u16,
    width: u16,
    cidrs: Vec<(u8, u8)>,
    comment: bool,
    multiline: bool,
    pad: usize,
}

fn block() -> impl Strategy<Value = Block> {
    (
        0u16..100,
        0u16..40,
        prop::collection::vec(
            (
                0u8..4,
                prop_oneof![Just(0u8), Just(8u8), Just(16u8), Just(24u8)],
            ),
            1..3,
        ),
        any::<bool>(),
        any::<bool>(),
        1usize..4,
    )
        .prop_map(|(from, width, cidrs, comment, multiline, pad)| Block {
            from,
            width,
            cidrs,
            comment,
            multiline,
            pad,
        })
}

fn render(blocks: &[Block], nl: &str, indent: &str) -> String {
    let mut s = format!(
        "# generated{nl}resource \"aws_security_group\" \"g\" {{{nl}{indent}name = \"g\"{nl}"
    );
    for (i, b) in blocks.iter().enumerate() {
        s.push_str(nl);
        if b.comment {
            let _ = write!(s, "{indent}# rule {i}{nl}");
        }
        let eq = format!("{}={}", " ".repeat(b.pad), " ".repeat(b.pad));
        let cidrs: Vec<String> = b
            .cidrs
            .iter()
            .map(|(x, len)| {
                let net = match len {
                    0 => "0.0.0.0/0".to_owned(),
                    8 => "10.0.0.0/8".to_owned(),
                    16 => format!("10.{x}.0.0/16"),
                    _ => format!("10.{x}.1.0/24"),
                };
                format!("\"{net}\"")
            })
            .collect();
        let list = if b.multiline {
            let inner = format!("{indent}{indent}{indent}");
            format!(
                "[{nl}{inner}{}{nl}{indent}{indent}]",
                cidrs.join(&format!(",{nl}{inner}"))
            )
        } else {
            format!("[{}]", cidrs.join(", "))
        };
        let _ = write!(
            s,
            "{indent}ingress {{{nl}{indent}{indent}protocol{eq}\"tcp\"{nl}{indent}{indent}from_port{eq}{}{nl}{indent}{indent}to_port{eq}{}{nl}{indent}{indent}cidr_blocks{eq}{list}{nl}{indent}}}{nl}",
            b.from,
            b.from + b.width
        );
    }
    let _ = write!(s, "}}{nl}");
    s
}

fn flows() -> impl Strategy<Value = Vec<Flow>> {
    prop::collection::vec(
        (0..DAYS, 0u16..150, 0u8..4, 0u8..4, any::<u8>()).prop_map(|(day, port, b, c, d)| Flow {
            group: "g",
            day,
            role: Role::Inbound,
            protocol: 6,
            port,
            src: Ipv4Addr::new(10, b, c, d),
        }),
        0..25,
    )
}

fn model_of(text: &str) -> Model {
    terraform::model_of_text("main.tf", text).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn fixes_touch_only_their_rules_keep_the_format_and_every_flow(
        blocks in prop::collection::vec(block(), 1..5),
        flows in flows(),
        crlf in any::<bool>(),
        tabs in any::<bool>(),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let indent = if tabs { "\t" } else { "  " };
        let text = render(&blocks, nl, indent);
        let mut cfg = config();
        cfg.evidence.max_fill_percent = 100;
        let (dir, loaded, p) = plan(&[("main.tf", &text)], &flows, &cfg);
        prop_assert!(p.dropped.is_empty(), "dropped {:?}", p.dropped);
        let new = p.edited.get(&dir.path().join("main.tf")).cloned().unwrap_or_else(|| text.clone());
        // Line endings kept.
        if crlf {
            prop_assert!(!new.replace("\r\n", "").contains('\n'), "a bare LF in {:?}", new);
        } else {
            prop_assert!(!new.contains('\r'));
        }
        // Edits stay off every rule that has no fix.
        let fixed: Vec<(String, String)> = p.fixes.iter().map(|f| (f.address.clone(), f.rule.clone())).collect();
        for r in &loaded.model.rules {
            if fixed.contains(&(r.address.to_string(), r.summary())) {
                continue;
            }
            let shares_block = p.fixes.iter().any(|f| f.offset == r.loc.bytes.start);
            for e in p.fixes.iter().flat_map(|f| &f.edits) {
                let overlaps = e.range.start < r.loc.bytes.end && r.loc.bytes.start < e.range.end;
                prop_assert!(!overlaps || shares_block, "an edit {:?} touches {}", e.range, r.summary());
            }
        }
        // Read back independently: every counted flow allowed before is allowed after, and no
        // rule grants more than one of the old rules did.
        let (before, after) = (model_of(&text), model_of(&new));
        for f in &flows {
            if allowed(&before, f) {
                prop_assert!(allowed(&after, f), "{:?} denied after\n{}", f, new);
            }
        }
        // No rule grants more than one old rule did: protocol, ports and network inside it.
        for r in &after.rules {
            prop_assert!(
                before.rules.iter().any(|o| within(r, o)),
                "{} widens the old rules\n{}",
                r.summary(),
                new
            );
        }
    }
}

#[test]
fn ports_needing_several_ranges_split_the_rule() {
    let tf = r#"resource "aws_security_group" "app" {
  name = "app"

  # The app's ports.
  ingress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group_rule" "range" {
  type              = "ingress"
  security_group_id = aws_security_group.app.id
  protocol          = "tcp"
  from_port         = 1000
  to_port           = 9999
  cidr_blocks       = ["0.0.0.0/0"]
}
"#;
    // Ten sources: more than the wildcard threshold, so only the ports narrow.
    let mut flows: Vec<Flow> = Vec::new();
    for (n, port) in [1200, 4000, 9000, 1200, 4000, 9000, 1200, 4000, 9000, 1200]
        .into_iter()
        .enumerate()
    {
        flows.push(flow("app", n as i32, port, [10, 1, 1, n as u8]));
    }
    flows.push(Flow {
        protocol: 17,
        ..flow("app", 4, 53, [10, 1, 1, 1])
    });
    let mut cfg = config();
    cfg.evidence.max_port_ranges = 3;
    cfg.evidence.max_fill_percent = 100;
    let (dir, _, p) = plan(&[("main.tf", tf)], &flows, &cfg);
    assert!(p.dropped.is_empty(), "{:?}", p.dropped);
    let sg104: Vec<&fix::Fix> = p
        .fixes
        .iter()
        .filter(|f| f.codes.contains(&tighten::analysis::CheckCode::Sg104))
        .collect();
    assert_eq!(sg104.len(), 2, "{:?} {:?}", p.fixes, p.notes);
    insta::assert_snapshot!("split_ports", patch(dir.path(), &p));
}

/// Whether rule `r` allows nothing that rule `o` does not.
fn within(r: &tighten::model::Rule, o: &tighten::model::Rule) -> bool {
    use tighten::model::{Known, Protocol, Source};
    let (
        Known::Known(rp),
        Known::Known(rports),
        Known::Known(Source::Cidr(rn)),
        Known::Known(op),
        Known::Known(oports),
        Known::Known(Source::Cidr(on)),
    ) = (
        &r.protocol,
        &r.ports,
        &r.source,
        &o.protocol,
        &o.ports,
        &o.source,
    )
    else {
        return false;
    };
    let ports_in = match (rports.effective(*rp), oports.effective(*op)) {
        (Some((low, high)), Some((old_low, old_high))) => old_low <= low && high <= old_high,
        (None, _) => true,
        (Some(_), None) => false,
    };
    (*op == Protocol::All || op == rp) && ports_in && on.contains(rn)
}

/// Regressions from review: each would have let a proposal deny a seen flow, or written
/// Terraform that `terraform validate` rejects.
mod review {
    use super::*;
    use tighten::analysis::proposal::Proposal;
    use tighten::store::evidence::InitiatorBasis;

    fn proposals(tf: &str, v: &tighten::store::view::EvidenceView) -> Vec<(String, Proposal)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tf"), tf).unwrap();
        let mut loaded = terraform::load(dir.path(), &LoadOptions::default()).unwrap();
        for g in &mut loaded.model.groups {
            g.deployed_id = Some(g.address.name.clone());
        }
        let facts = analyse(&loaded.model, v, Window::choose(None, None, v));
        analysis::run(&loaded.model, &config(), Some(&facts))
            .into_iter()
            .filter_map(|d| d.proposal.map(|p| (d.code.to_string(), p.1)))
            .collect()
    }

    const SSH: &str = r#"resource "aws_security_group" "web" {
  name = "web"
  ingress {
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    protocol    = "tcp"
    from_port   = 32768
    to_port     = 65535
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"#;

    #[test]
    fn flows_before_the_first_config_item_still_count() {
        let flows = [
            flow("web", 1, 22, [198, 51, 100, 1]),
            flow("web", 9, 22, [203, 0, 113, 7]),
        ];
        let mut v = view(&["web"], &flows);
        // AWS Config started recording the interface on day 5.
        for i in v.inventory.interfaces.values_mut().flatten() {
            i.from_ms = 5 * 86_400_000;
        }
        let found = proposals(SSH, &v);
        let ssh = found
            .iter()
            .find_map(|(c, p)| match p {
                Proposal::ReplaceSources { prefixes, .. } if c == "SG102" => Some(prefixes.clone()),
                _ => None,
            })
            .expect("an SG102 proposal");
        assert!(
            ssh.iter()
                .any(|p| p.contains(&"198.51.100.1".parse::<std::net::IpAddr>().unwrap())),
            "{ssh:?}"
        );
    }

    #[test]
    fn a_response_guessed_from_ports_keeps_the_ephemeral_rule() {
        // A v2 record (no tcp-flags): 198.51.100.9:20000 -> interface:40000, taken for a
        // response by the port heuristic; it may be a connection opened to port 40000.
        let mut v = view(&["web"], &[flow("web", 3, 22, [10, 9, 9, 9])]);
        let mut row = common::view::row(&flow("web", 2, 20_000, [198, 51, 100, 9]));
        row.role = Role::Response;
        row.initiator_basis = InitiatorBasis::Port;
        row.other_ports = (40_000, 40_000);
        v.rows.push(row);
        let found = proposals(SSH, &v);
        assert!(
            !found.iter().any(|(c, _)| c == "SG101"),
            "the ephemeral rule was proposed for removal: {found:?}"
        );
    }

    #[test]
    fn siblings_never_reuse_a_declared_name_and_referenced_resources_stay() {
        let tf = r#"resource "aws_security_group" "db" {
  name = "db"
}

resource "aws_vpc_security_group_ingress_rule" "pg" {
  security_group_id = aws_security_group.db.id
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = "10.0.0.0/8"
}

resource "aws_vpc_security_group_ingress_rule" "pg_2" {
  count             = 0
  security_group_id = aws_security_group.db.id
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = "10.0.0.0/8"
}

resource "aws_vpc_security_group_ingress_rule" "old" {
  security_group_id = aws_security_group.db.id
  ip_protocol       = "tcp"
  from_port         = 1521
  to_port           = 1521
  cidr_ipv4         = "10.0.0.0/8"
}

output "old_rule" {
  value = aws_vpc_security_group_ingress_rule.old.id
}
"#;
        let flows = [
            flow("db", 1, 5432, [10, 1, 0, 1]),
            flow("db", 2, 5432, [10, 200, 0, 1]),
        ];
        let (_dir, _, p) = plan(&[("main.tf", tf)], &flows, &config());
        assert!(p.dropped.is_empty(), "{:?}", p.dropped);
        let creates: Vec<&String> = p.fixes.iter().flat_map(|f| &f.creates).collect();
        assert_eq!(creates, ["aws_vpc_security_group_ingress_rule.pg_3"]);
        assert!(
            p.notes
                .iter()
                .any(|n| n.address == "aws_vpc_security_group_ingress_rule.old"
                    && n.reason.contains("reference(s)")),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn a_dynamic_block_whose_elements_are_all_unused_stays() {
        let tf = r#"variable "ports" {
  default = [8080, 8443]
}

resource "aws_security_group" "web" {
  name = "web"
  dynamic "ingress" {
    for_each = var.ports
    content {
      protocol    = "tcp"
      from_port   = ingress.value
      to_port     = ingress.value
      cidr_blocks = ["10.0.0.0/8"]
    }
  }
  ingress {
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["10.0.0.0/8"]
  }
}
"#;
        let flows = [flow("web", 1, 22, [10, 1, 1, 1])];
        let (_dir, _, p) = plan(&[("main.tf", tf)], &flows, &config());
        assert!(p.dropped.is_empty(), "{:?}", p.dropped);
        assert!(
            p.fixes
                .iter()
                .all(|f| f.rule != "tcp port 8080 from 10.0.0.0/8"),
            "{:?}",
            p.fixes
        );
        let dynamic_notes = p
            .notes
            .iter()
            .filter(|n| n.reason.contains("dynamic block"))
            .count();
        assert_eq!(dynamic_notes, 2, "{:?}", p.notes);
    }
}
