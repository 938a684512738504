//! Synthetic evidence views for library-level tests: one interface per group, every day covered,
//! flows as evidence rows with their roles already decided.

use std::net::{IpAddr, Ipv4Addr};

use tighten::ingest::flowlog::aggregate::Stats;
use tighten::ingest::flowlog::record::Action;
use tighten::ingest::inventory::InterfaceState;
use tighten::store::evidence::{DirectionBasis, EvidenceRow, InitiatorBasis, Opener, Role};
use tighten::store::inventory::InterfaceInterval;
use tighten::store::view::{CoverageDay, EvidenceView};

/// Days every interface is covered.
pub const DAYS: i32 = 20;

/// One flow reaching the interface of `group`.
#[derive(Debug, Clone)]
pub struct Flow {
    pub group: &'static str,
    pub day: i32,
    pub role: Role,
    pub protocol: u8,
    pub port: u16,
    pub src: Ipv4Addr,
}

fn interface(group: &str) -> String {
    format!("eni-{group}")
}

/// An evidence row of `f`.
pub fn row(f: &Flow) -> EvidenceRow {
    let t = i64::from(f.day) * 86_400 + 3600;
    EvidenceRow {
        interface: interface(f.group),
        day: f.day,
        role: f.role,
        protocol: f.protocol,
        port: f.port,
        src: Some(IpAddr::V4(f.src)),
        dst: Some(IpAddr::V4(Ipv4Addr::new(10, 200, 0, 1))),
        action: Action::Accept,
        stats: Stats {
            flows: 1,
            packets: 1,
            bytes: 60,
            first_seen: t,
            last_seen: t + 60,
            tcp_flags: 2,
        },
        sources: 1,
        initiator_basis: InitiatorBasis::Flags,
        direction_basis: DirectionBasis::FlowDirection,
        opener: Opener::Src,
        other_ports: (40_000, 40_000),
    }
}

/// A view where the interface `eni-G` had deployed group `G` all along, for each of `groups`.
pub fn view(groups: &[&str], flows: &[Flow]) -> EvidenceView {
    let mut v = EvidenceView {
        rows: flows.iter().map(row).collect(),
        ..EvidenceView::default()
    };
    for (n, g) in groups.iter().enumerate() {
        let eni = interface(g);
        v.coverage.extend((0..DAYS).map(|day| CoverageDay {
            interface: eni.clone(),
            day,
            records: 10,
            nodata: 0,
            skipdata: 0,
        }));
        v.inventory.interfaces.insert(
            eni.clone(),
            vec![InterfaceInterval {
                from_ms: -86_400_000,
                to_ms: None,
                state: InterfaceState {
                    interface_id: eni,
                    groups: vec![(*g).to_owned()],
                    private_ipv4: vec![IpAddr::V4(Ipv4Addr::new(10, 200, 0, n as u8 + 1))],
                    ..InterfaceState::default()
                },
            }],
        );
    }
    v
}

/// Whether some known ingress rule of `model` allows flow `f` (protocol, port, CIDR source):
/// an independent reading of the rules, for replay checks.
pub fn allowed(model: &tighten::model::Model, f: &Flow) -> bool {
    use tighten::model::{Direction, Known, Protocol, Source};
    model.rules.iter().any(|r| {
        let (Known::Known(p), Known::Known(ports), Known::Known(Source::Cidr(net))) =
            (&r.protocol, &r.ports, &r.source)
        else {
            return false;
        };
        r.direction == Direction::Ingress
            && net.contains(&IpAddr::V4(f.src))
            && match p {
                Protocol::All => true,
                Protocol::Number(n) => {
                    *n == f.protocol
                        && ports
                            .effective(*p)
                            .is_some_and(|(a, b)| (a..=b).contains(&f.port))
                }
            }
    })
}

/// Loads the Terraform in `dir`, links every group `aws_security_group.NAME` to the deployed id
/// `NAME`, and plans the fixes of the evidence checks on `flows`, as `tighten fix` does.
pub fn plan_fixes(
    dir: &std::path::Path,
    flows: &[Flow],
    config: &tighten::analysis::Config,
) -> (tighten::terraform::Loaded, tighten::fix::Plan) {
    use tighten::analysis::evidence::{Window, analyse};
    let opts = tighten::terraform::LoadOptions::default();
    let mut loaded = tighten::terraform::load(dir, &opts).unwrap();
    let mut groups = Vec::new();
    for g in &mut loaded.model.groups {
        g.deployed_id = Some(g.address.name.clone());
        groups.push(Box::leak(g.address.name.clone().into_boxed_str()) as &str);
    }
    let v = view(&groups, flows);
    let window = Window::choose(None, None, &v);
    let facts = analyse(&loaded.model, &v, window);
    let outcome = tighten::analysis::lint(&loaded, config, Some(&facts), (2026, 11, 1));
    let plan = tighten::fix::plan(&tighten::fix::Inputs {
        loaded: &loaded,
        dir,
        load_options: &opts,
        state: None,
        outcome: &outcome,
        config,
        view: &v,
        window,
        only: None,
    });
    (loaded, plan)
}
