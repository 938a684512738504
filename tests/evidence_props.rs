//! The soundness invariant of the evidence checks, as a property: for random rules and random
//! flows, every proposal keeps every inbound (or possibly inbound) accepted flow its rule allowed,
//! never grants more than the rule did, and the rule set with every proposal applied still allows
//! every such flow that the original rule set allowed (the replay).

mod common;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use common::view::{DAYS, Flow};
use ipnet::{IpNet, Ipv4Net};
use proptest::prelude::*;
use tighten::analysis::evidence::{Window, analyse};
use tighten::analysis::proposal::Proposal;
use tighten::analysis::{self, CheckCode, Config};
use tighten::model::{Known, Protocol, Rule, Source};
use tighten::store::evidence::Role;
use tighten::store::view::EvidenceView;

#[derive(Debug, Clone)]
struct RuleSpec {
    protocol: &'static str,
    from: u16,
    to: u16,
    net: Ipv4Net,
}

#[derive(Debug, Clone)]
struct FlowSpec {
    day: i32,
    role: Role,
    protocol: u8,
    port: u16,
    src: Ipv4Addr,
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        prop_oneof![Just("tcp"), Just("udp"), Just("-1")],
        0u16..120,
        0u16..60,
        any::<u32>(),
        prop_oneof![Just(0u8), 8u8..=32],
    )
        .prop_map(|(protocol, from, width, bits, len)| {
            // Sources live in 10.0.0.0/16 mostly; networks are drawn around them.
            let addr = Ipv4Addr::from(0x0A00_0000 | (bits & 0x0000_FFFF));
            RuleSpec {
                protocol,
                from,
                to: from + width,
                net: Ipv4Net::new(addr, len).unwrap().trunc(),
            }
        })
}

fn flow_spec() -> impl Strategy<Value = FlowSpec> {
    (
        0..DAYS,
        prop_oneof![
            Just(Role::Inbound),
            Just(Role::Unknown),
            Just(Role::Response)
        ],
        prop_oneof![Just(6u8), Just(17u8)],
        0u16..200,
        0u32..0x200,
    )
        .prop_map(|(day, role, protocol, port, low)| FlowSpec {
            day,
            role,
            protocol,
            port,
            src: Ipv4Addr::from(0x0A00_0000 | (low * 131 % 0x1_0000)),
        })
}

fn terraform(rules: &[RuleSpec]) -> String {
    let mut s = String::from("resource \"aws_security_group\" \"g\" {\n  name = \"g\"\n");
    for r in rules {
        let _ = write!(
            s,
            "  ingress {{\n    protocol    = \"{}\"\n    from_port   = {}\n    to_port     = {}\n    cidr_blocks = [\"{}\"]\n  }}\n",
            r.protocol,
            if r.protocol == "-1" { 0 } else { r.from },
            if r.protocol == "-1" { 0 } else { r.to },
            r.net
        );
    }
    s.push_str("}\n");
    s
}

fn view(flows: &[FlowSpec]) -> EvidenceView {
    let flows: Vec<Flow> = flows
        .iter()
        .map(|f| Flow {
            group: "sg-1",
            day: f.day,
            role: f.role,
            protocol: f.protocol,
            port: f.port,
            src: f.src,
        })
        .collect();
    common::view::view(&["sg-1"], &flows)
}

/// A rule as the replay sees it: protocol, inclusive port ranges per protocol (empty = all), nets.
#[derive(Debug, Clone)]
struct Allow {
    protocols: Vec<(Protocol, Vec<(u16, u16)>)>,
    nets: Vec<IpNet>,
}

fn allow_of(rule: &Rule) -> Allow {
    let (Known::Known(p), Known::Known(ports), Known::Known(Source::Cidr(net))) =
        (&rule.protocol, &rule.ports, &rule.source)
    else {
        panic!("generated rules are known");
    };
    let ranges = ports.effective(*p).map_or_else(Vec::new, |r| vec![r]);
    Allow {
        protocols: vec![(*p, ranges)],
        nets: vec![*net],
    }
}

fn allows(a: &Allow, f: &FlowSpec) -> bool {
    let addr = IpAddr::V4(f.src);
    a.nets.iter().any(|n| n.contains(&addr))
        && a.protocols.iter().any(|(p, ranges)| match p {
            Protocol::All => true,
            Protocol::Number(n) => {
                *n == f.protocol
                    && (ranges.is_empty()
                        || ranges.iter().any(|(x, y)| (*x..=*y).contains(&f.port)))
            }
        })
}

fn counts(f: &FlowSpec) -> bool {
    matches!(f.role, Role::Inbound | Role::Unknown)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn proposals_keep_every_inbound_flow_and_never_widen(
        rules in prop::collection::vec(rule_spec(), 1..5),
        flows in prop::collection::vec(flow_spec(), 0..40),
    ) {
        let mut model = tighten::terraform::model_of_text("main.tf", &terraform(&rules)).unwrap();
        model.groups[0].deployed_id = Some("sg-1".to_owned());
        let v = view(&flows);
        let mut config = Config::default();
        config.evidence.min_days = 1;
        config.evidence.max_prefixes = 3;
        config.evidence.max_port_ranges = 2;
        config.evidence.max_fill_percent = 100;
        config.evidence.wildcard_threshold = 5;
        let facts = analyse(&model, &v, Window::choose(None, None, &v));
        let diags = analysis::run(&model, &config, Some(&facts));

        let mut after: Vec<Option<Allow>> = model.rules.iter().map(|r| Some(allow_of(r))).collect();
        for d in &diags {
            let Some(p) = &d.proposal else { continue };
            let (target, change) = (&p.0, &p.1);
            let index = model
                .rules
                .iter()
                .position(|r| r.address.to_string() == target.address && r.entry == target.entry && r.loc == target.loc)
                .expect("a proposal names a model rule");
            let before = allow_of(&model.rules[index]);
            let matched: Vec<&FlowSpec> = flows.iter().filter(|f| counts(f) && allows(&before, f)).collect();
            match change {
                Proposal::RemoveRule => {
                    prop_assert!(matched.is_empty(), "{:?} removes a rule that {} flow(s) used", d.code, matched.len());
                    after[index] = None;
                }
                Proposal::ReplaceSources { from, prefixes, granted_after, granted_before, .. } => {
                    prop_assert!(prefixes.iter().all(|p| from.contains(p)), "a prefix leaves the rule's network");
                    prop_assert!(granted_after <= granted_before);
                    for f in &matched {
                        prop_assert!(prefixes.iter().any(|p| p.contains(&IpAddr::V4(f.src))), "{} dropped", f.src);
                    }
                    if let Some(a) = after[index].as_mut() {
                        a.nets = prefixes.clone();
                    }
                }
                Proposal::ReplacePorts { ports, .. } => {
                    for kept in ports {
                        let fits = before.protocols.iter().any(|(p, ranges)| match p {
                            Protocol::All => true,
                            Protocol::Number(_) => *p == kept.protocol
                                && kept.ranges.iter().all(|(a, b)| ranges.iter().any(|(x, y)| x <= a && b <= y)),
                        });
                        prop_assert!(fits, "{:?} widens {:?}", kept, before.protocols);
                    }
                    if let Some(a) = after[index].as_mut() {
                        a.protocols = ports.iter().map(|k| (k.protocol, k.ranges.clone())).collect();
                    }
                    for f in &matched {
                        prop_assert!(allows(after[index].as_ref().unwrap(), f), "port {} of {} dropped", f.port, f.protocol);
                    }
                }
                Proposal::ReferenceGroup { .. } => {}
            }
            prop_assert!(matches!(d.code, CheckCode::Sg101 | CheckCode::Sg102 | CheckCode::Sg103 | CheckCode::Sg104 | CheckCode::Sg105));
        }
        // The replay: every counted flow the old rule set allowed, the new one allows.
        let before: Vec<Allow> = model.rules.iter().map(allow_of).collect();
        for f in flows.iter().filter(|f| counts(f)) {
            if before.iter().any(|a| allows(a, f)) {
                prop_assert!(after.iter().flatten().any(|a| allows(a, f)), "replay denies {:?}", f);
            }
        }
    }
}

/// The property above is only as good as its inputs: this fixed case shows the generator's shapes
/// produce every kind of proposal the property checks.
#[test]
fn the_property_sees_every_kind_of_proposal() {
    let rules = [
        RuleSpec {
            protocol: "tcp",
            from: 0,
            to: 100,
            net: "10.0.0.0/16".parse().unwrap(),
        },
        RuleSpec {
            protocol: "udp",
            from: 50,
            to: 50,
            net: "10.0.0.0/8".parse().unwrap(),
        },
        RuleSpec {
            protocol: "tcp",
            from: 80,
            to: 80,
            net: "0.0.0.0/0".parse().unwrap(),
        },
    ];
    let flow = |day, port, src: [u8; 4]| FlowSpec {
        day,
        role: Role::Inbound,
        protocol: 6,
        port,
        src: Ipv4Addr::from(src),
    };
    let flows = [
        flow(1, 22, [10, 0, 0, 1]),
        flow(2, 22, [10, 0, 0, 3]),
        flow(3, 80, [10, 1, 0, 9]),
        flow(4, 80, [10, 2, 0, 9]),
    ];
    let mut model = tighten::terraform::model_of_text("main.tf", &terraform(&rules)).unwrap();
    model.groups[0].deployed_id = Some("sg-1".to_owned());
    let v = view(&flows);
    let mut config = Config::default();
    config.evidence.min_days = 1;
    let facts = analyse(&model, &v, Window::choose(None, None, &v));
    let found: Vec<(CheckCode, String)> = analysis::run(&model, &config, Some(&facts))
        .into_iter()
        .filter_map(|d| {
            let p = d.proposal?;
            Some((d.code, tighten::report::proposal_line(&p.1)))
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (CheckCode::Sg103, "replace 10.0.0.0/16 with 10.0.0.1/32, 10.0.0.3/32 (grants 2 of 65536 addresses for 2 observed source(s))".to_owned()),
            (CheckCode::Sg104, "allow only tcp 22 (1 of 101 ports for 1 used)".to_owned()),
            (CheckCode::Sg101, "remove the rule".to_owned()),
            (CheckCode::Sg102, "replace 0.0.0.0/0 with 10.1.0.9/32, 10.2.0.9/32 (grants 2 of 4294967296 addresses for 2 observed source(s))".to_owned()),
        ]
    );
}
