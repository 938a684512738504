//! The fix stage on one inline rule block holding several CIDRs whose proposals differ: one
//! entry is removed (no traffic) while another's ports split into several rules. The copies made
//! for the extra ports must leave out the removed entry too (regression of `fix_props`, cc 8b228d41).

mod common;

use std::net::Ipv4Addr;

use common::view::{Flow, plan_fixes};
use tighten::analysis::{CheckCode, Config};
use tighten::fix;
use tighten::store::evidence::Role;

fn flow(port: u16, src: [u8; 4]) -> Flow {
    Flow {
        group: "g",
        day: 0,
        role: Role::Inbound,
        protocol: 6,
        port,
        src: Ipv4Addr::from(src),
    }
}

/// Plans the fixes of `tf` on `flows`, the group `g` linked to the deployed id `g`; gives the
/// edited text, the fixes' codes and the dropped proposals.
fn plan(tf: &str, flows: &[Flow]) -> (String, Vec<Vec<CheckCode>>, Vec<fix::Note>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("main.tf");
    std::fs::write(&path, tf).unwrap();
    let mut config = Config::default();
    config.evidence.min_days = 1;
    config.evidence.max_fill_percent = 100;
    let (_, p) = plan_fixes(dir.path(), flows, &config);
    let edited = p
        .edited
        .get(&path)
        .cloned()
        .unwrap_or_else(|| tf.to_owned());
    let codes = p.fixes.iter().map(|f| f.codes.clone()).collect();
    (edited, codes, p.dropped)
}

#[test]
fn a_removed_entry_stays_out_of_the_copies_made_for_extra_ports() {
    let tf = r#"resource "aws_security_group" "g" {
  name = "g"

  ingress {
    protocol = "tcp"
    from_port = 15
    to_port = 49
    cidr_blocks = ["10.0.1.0/24", "0.0.0.0/0"]
  }
}
"#;
    // Nothing from 10.0.1.0/24; eight sources on port 15 (too many to narrow the wildcard) and
    // one on port 17.
    let mut flows: Vec<Flow> = [
        [10, 0, 2, 0],
        [10, 1, 0, 0],
        [10, 1, 0, 1],
        [10, 0, 0, 0],
        [10, 1, 0, 2],
        [10, 0, 2, 1],
        [10, 1, 0, 3],
        [10, 1, 1, 0],
    ]
    .into_iter()
    .map(|src| flow(15, src))
    .collect();
    flows.push(flow(17, [10, 0, 2, 2]));
    let (edited, codes, dropped) = plan(tf, &flows);
    assert!(dropped.is_empty(), "{dropped:?}");
    assert_eq!(codes, [vec![CheckCode::Sg101], vec![CheckCode::Sg104]]);
    assert_eq!(
        edited,
        r#"resource "aws_security_group" "g" {
  name = "g"

  ingress {
    protocol = "tcp"
    from_port = 15
    to_port = 15
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    protocol = "tcp"
    from_port = 17
    to_port = 17
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"#
    );
}

#[test]
fn removed_entries_of_a_one_per_line_list_stay_out_of_every_copy() {
    let tf = r#"resource "aws_security_group" "g" {
  name = "g"

  ingress {
    protocol    = "tcp"
    from_port   = 15
    to_port     = 49
    cidr_blocks = [
      "10.0.1.0/24",
      "0.0.0.0/0", # partners
      "10.0.3.0/24",
    ]
  }
}
"#;
    let mut flows: Vec<Flow> = (0..8).map(|n| flow(15, [10, 1, n, n])).collect();
    flows.push(flow(17, [10, 2, 0, 1]));
    flows.push(flow(40, [10, 2, 0, 2]));
    let (edited, codes, dropped) = plan(tf, &flows);
    assert!(dropped.is_empty(), "{dropped:?}");
    assert_eq!(
        codes,
        [
            vec![CheckCode::Sg101],
            vec![CheckCode::Sg104],
            vec![CheckCode::Sg101]
        ]
    );
    assert_eq!(
        edited,
        r#"resource "aws_security_group" "g" {
  name = "g"

  ingress {
    protocol    = "tcp"
    from_port   = 15
    to_port     = 15
    cidr_blocks = [
      "0.0.0.0/0", # partners
    ]
  }

  ingress {
    protocol    = "tcp"
    from_port   = 17
    to_port     = 17
    cidr_blocks = [
      "0.0.0.0/0", # partners
    ]
  }

  ingress {
    protocol    = "tcp"
    from_port   = 40
    to_port     = 40
    cidr_blocks = [
      "0.0.0.0/0", # partners
    ]
  }
}
"#
    );
}
