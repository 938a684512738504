//! Analysis stage: crediting flows to rules. One pass over the evidence rows of the window: each
//! row goes to the groups its interface had at the time, then to every rule of those groups whose
//! protocol, ports and source allow it. Rules are only compared with the rows of their own groups,
//! so the cost grows with rows × rules per group, not rows × all rules.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;

use super::link::{deployed_at, group_of, resolve_group};
use super::{EvidenceFacts, RuleEvidence, SourceUse, Unallowed, Window};
use crate::ingest::flowlog::record::Action;
use crate::ingest::inventory::{DeployedRule, RuleSource};
use crate::model::{Direction, Known, Model, Protocol, Rule, Source};
use crate::store::evidence::{EvidenceRow, Role};
use crate::store::view::EvidenceView;

/// Which addresses a rule lets in.
pub(super) enum Peer {
    Cidr(IpNet),
    /// Members of this deployed group at the time of the flow.
    Group(String),
    /// Entries of a managed prefix list (every entry it ever had: keeping more is sound).
    Prefixes(Vec<IpNet>),
}

/// A rule reduced to what matching needs.
pub(super) struct Matcher {
    pub(super) rule: usize,
    protocol: Protocol,
    /// Inclusive TCP/UDP ports; `None` when ports do not apply (ICMP types are not in flow logs).
    ports: Option<(u16, u16)>,
    pub(super) peer: Peer,
}

impl Matcher {
    /// Whether the rule's protocol and ports allow `row`: its service port, or for a response
    /// guessed from ports alone (possibly inbound the other way), any of its other ports.
    pub(super) fn allows_traffic(&self, row: &EvidenceRow) -> bool {
        match self.protocol {
            Protocol::All => true,
            Protocol::Number(p) if p != row.protocol => false,
            Protocol::Number(_) if row.guessed_response() => {
                let (lo, hi) = row.other_ports;
                self.ports.is_none_or(|(a, b)| a <= hi && lo <= b)
            }
            Protocol::Number(_) => self.ports.is_none_or(|(a, b)| (a..=b).contains(&row.port)),
        }
    }
}

/// An interface state's interval (ms) and its groups.
type Held<'a> = (i64, Option<i64>, &'a [String]);

/// Which groups each address had, and when (private and IPv6 addresses of interfaces).
pub(super) struct Members<'a> {
    by_addr: HashMap<IpAddr, Vec<Held<'a>>>,
}

impl<'a> Members<'a> {
    pub(super) fn new(view: &'a EvidenceView) -> Self {
        let mut by_addr: HashMap<IpAddr, Vec<Held<'a>>> = HashMap::new();
        for intervals in view.inventory.interfaces.values() {
            for i in intervals {
                for a in i.addresses() {
                    by_addr
                        .entry(a)
                        .or_default()
                        .push((i.from_ms, i.to_ms, &i.state.groups));
                }
            }
        }
        Self { by_addr }
    }

    /// Groups `addr` had at some moment of `[from_s, to_s]`.
    fn groups(&self, addr: IpAddr, from_s: i64, to_s: i64) -> impl Iterator<Item = &'a String> {
        let (start, end) = (from_s * 1000, to_s * 1000 + 999);
        self.by_addr
            .get(&addr)
            .into_iter()
            .flatten()
            .filter(move |(from, to, _)| *from <= end && to.is_none_or(|t| t > start))
            .flat_map(|(_, _, gs)| gs.iter())
    }

    fn is_member(&self, addr: IpAddr, group: &str, from_s: i64, to_s: i64) -> bool {
        self.groups(addr, from_s, to_s).any(|g| g == group)
    }
}

pub(super) fn matcher(
    facts: &EvidenceFacts,
    view: &EvidenceView,
    index: usize,
    rule: &Rule,
    own: Option<&str>,
) -> Result<Matcher, String> {
    let (Known::Known(protocol), Known::Known(ports), Known::Known(source)) =
        (&rule.protocol, &rule.ports, &rule.source)
    else {
        return Err("the rule has values that are not known statically".to_owned());
    };
    let ports = if protocol.has_ports() {
        Some(
            ports
                .effective(*protocol)
                .ok_or_else(|| format!("the rule's {ports} open nothing"))?,
        )
    } else {
        None
    };
    let peer = match source {
        Source::Cidr(n) => Peer::Cidr(n.trunc()),
        Source::SelfGroup => Peer::Group(
            own.ok_or("its own group is not linked to a deployed id")?
                .to_owned(),
        ),
        Source::Group(r) => Peer::Group(
            resolve_group(&facts.index, &facts.links, rule, r).ok_or_else(|| {
                format!("the referenced group `{r}` is not linked to a deployed id")
            })?,
        ),
        Source::PrefixList(r) => {
            let entries: Vec<IpNet> = view
                .prefix_lists
                .get(r.as_str())
                .into_iter()
                .flatten()
                .filter_map(|(_, s)| s.as_ref())
                .flat_map(|s| s.entries.iter())
                .filter_map(|e| e.parse::<IpNet>().ok())
                .collect();
            if entries.is_empty() {
                return Err(format!(
                    "the prefix list `{r}` is not known to the store (run `tighten ingest ec2`)"
                ));
            }
            Peer::Prefixes(entries)
        }
    };
    Ok(Matcher {
        rule: index,
        protocol: *protocol,
        ports,
        peer,
    })
}

pub(super) fn peer_allows(
    peer: &Peer,
    members: &Members<'_>,
    addr: IpAddr,
    row: &EvidenceRow,
) -> bool {
    match peer {
        Peer::Cidr(n) => n.contains(&addr),
        Peer::Group(g) => members.is_member(addr, g, row.stats.first_seen, row.stats.last_seen),
        Peer::Prefixes(ps) => ps.iter().any(|p| p.contains(&addr)),
    }
}

/// Credits the rows of `window` to the ingress rules of `model`.
pub(super) fn attribute(
    model: &Model,
    view: &EvidenceView,
    window: Window,
    facts: &mut EvidenceFacts,
) {
    let members = Members::new(view);
    // Deployed group id → matchers of its Terraform ingress rules; rules that cannot be matched
    // make their group's verdicts on unexplained flows undecidable.
    let mut by_group: HashMap<String, Vec<Matcher>> = HashMap::new();
    let mut undecidable_groups: BTreeSet<String> = BTreeSet::new();
    for (i, rule) in model.rules.iter().enumerate() {
        if rule.direction != Direction::Ingress {
            continue;
        }
        let group = group_of(&facts.index, &facts.links, rule, i);
        let mut ev = RuleEvidence {
            rule: i,
            group: group.clone(),
            ..RuleEvidence::default()
        };
        if let Some(g) = &group {
            match matcher(facts, view, i, rule, Some(g)) {
                Ok(m) => by_group.entry(g.clone()).or_default().push(m),
                Err(why) => {
                    ev.undecidable = Some(why);
                    undecidable_groups.insert(g.clone());
                }
            }
        }
        facts.rules.insert(i, ev);
    }
    // Deployed id → the model group findings about unexplained flows are reported on.
    let model_group: HashMap<&str, usize> = facts
        .links
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.id().map(|id| (id, i)))
        .collect();
    let mut unallowed: HashMap<(usize, u8, u16), Unallowed> = HashMap::new();
    let mut groups: Vec<&String> = Vec::new();
    for row in &view.rows {
        if !window.contains(row.day)
            || row.role == Role::Outbound
            || (row.role == Role::Response && !row.guessed_response())
        {
            continue;
        }
        facts.rows_in_window += 1;
        groups.clear();
        groups.extend(view.inventory.possible_groups(
            &row.interface,
            row.stats.first_seen,
            row.stats.last_seen,
        ));
        groups.sort_unstable();
        groups.dedup();
        if groups.is_empty() {
            if row.role == Role::Inbound && row.action != Action::Reject {
                facts.unattributed_flows += row.stats.flows;
                facts.unattributed_interfaces.insert(row.interface.clone());
            }
            continue;
        }
        let clients = row.possible_clients();
        let mut allowed = false;
        let mut decidable = true;
        for g in &groups {
            let Some(matchers) = by_group.get(g.as_str()) else {
                // A group Terraform does not define here: its deployed rules may allow the flow.
                match deployed_at(view, g, row.stats.first_seen * 1000) {
                    Some(state) => {
                        allowed |= state
                            .ingress
                            .iter()
                            .any(|d| deployed_allows(d, row, clients, &members, view));
                    }
                    None => decidable = false,
                }
                continue;
            };
            if undecidable_groups.contains(g.as_str()) {
                decidable = false;
            }
            for m in matchers {
                if !m.allows_traffic(row) {
                    continue;
                }
                let Some(ev) = facts.rules.get_mut(&m.rule) else {
                    continue;
                };
                if row.action == Action::Reject {
                    ev.rejects += row.stats.flows;
                    continue;
                }
                if row.src.is_none() {
                    // Many sources: any of them may be inside the rule.
                    ev.many_sources = Some(ev.many_sources.unwrap_or(0).max(row.sources));
                    credit(ev, row);
                    allowed = true;
                    continue;
                }
                let mut hit = false;
                for addr in clients.into_iter().flatten() {
                    if !peer_allows(&m.peer, &members, addr, row) {
                        continue;
                    }
                    hit = true;
                    let s = ev.sources.entry(addr).or_insert(SourceUse {
                        flows: 0,
                        first_seen: row.stats.first_seen,
                        last_seen: row.stats.last_seen,
                    });
                    s.flows += row.stats.flows;
                    s.first_seen = s.first_seen.min(row.stats.first_seen);
                    s.last_seen = s.last_seen.max(row.stats.last_seen);
                    // Once the clients share no group, they never will again: skip the lookup.
                    let settled = ev.common_groups.as_ref().is_some_and(BTreeSet::is_empty);
                    if matches!(m.peer, Peer::Cidr(_)) && !settled {
                        let had: BTreeSet<String> = members
                            .groups(addr, row.stats.first_seen, row.stats.last_seen)
                            .cloned()
                            .collect();
                        ev.common_groups = Some(match ev.common_groups.take() {
                            None => had,
                            Some(c) => c.intersection(&had).cloned().collect(),
                        });
                    }
                }
                if hit {
                    credit(ev, row);
                    allowed = true;
                }
            }
        }
        if row.role == Role::Inbound
            && row.action == Action::Accept
            && row.src.is_some()
            && decidable
            && !allowed
            && let Some(&gi) = groups.iter().find_map(|g| model_group.get(g.as_str()))
        {
            let u = unallowed
                .entry((gi, row.protocol, row.port))
                .or_insert_with(|| Unallowed {
                    group: gi,
                    protocol: row.protocol,
                    port: row.port,
                    first_seen: row.stats.first_seen,
                    last_seen: row.stats.last_seen,
                    ..Unallowed::default()
                });
            u.flows += row.stats.flows;
            u.sources.extend(row.src);
            u.interfaces.insert(row.interface.clone());
            u.first_seen = u.first_seen.min(row.stats.first_seen);
            u.last_seen = u.last_seen.max(row.stats.last_seen);
        }
    }
    let mut unallowed: Vec<Unallowed> = unallowed.into_values().collect();
    unallowed.sort_by_key(|u| (u.group, u.protocol, u.port));
    facts.unallowed = unallowed;
    // Rules of unlinked groups stay without evidence; say why on each.
    for ev in facts.rules.values_mut() {
        if ev.group.is_none() && ev.undecidable.is_none() {
            ev.undecidable = Some(match facts.index.rule_group[ev.rule] {
                Some(gi) => match &facts.links[gi] {
                    super::Link::NotLinked { reason } => {
                        format!("its group is not linked: {reason}")
                    }
                    _ => "its group is not linked".to_owned(),
                },
                None => "its group is not known statically".to_owned(),
            });
        }
    }
}

fn credit(ev: &mut RuleEvidence, row: &EvidenceRow) {
    if row.role == Role::Inbound {
        ev.flows += row.stats.flows;
    } else {
        ev.possible_flows += row.stats.flows;
    }
    if row.guessed_response() {
        // Which of its ports it used is not known: the rule's ports are not narrowed.
        ev.uncertain_ports = true;
    }
    ev.first_seen = Some(
        ev.first_seen
            .map_or(row.stats.first_seen, |t| t.min(row.stats.first_seen)),
    );
    ev.last_seen = Some(
        ev.last_seen
            .map_or(row.stats.last_seen, |t| t.max(row.stats.last_seen)),
    );
    ev.days.insert(row.day);
    if !ev.interfaces.contains(&row.interface) {
        ev.interfaces.insert(row.interface.clone());
    }
    if !row.guessed_response() {
        ev.ports.entry(row.protocol).or_default().insert(row.port);
    }
}

/// Whether a deployed rule entry allows `row` from one of `clients`.
fn deployed_allows(
    d: &DeployedRule,
    row: &EvidenceRow,
    clients: [Option<IpAddr>; 2],
    members: &Members<'_>,
    view: &EvidenceView,
) -> bool {
    if d.protocol != -1 {
        if d.protocol != i32::from(row.protocol) {
            return false;
        }
        if matches!(row.protocol, 6 | 17) {
            let from = d.from_port.unwrap_or(-1);
            let to = d.to_port.unwrap_or(-1);
            let all = from == -1 || to == -1;
            if !all && !(from..=to).contains(&i32::from(row.port)) {
                return false;
            }
        }
    }
    clients.into_iter().flatten().any(|addr| match &d.source {
        RuleSource::Cidr(c) => c.parse::<IpNet>().is_ok_and(|n| n.contains(&addr)),
        RuleSource::Group(g) => {
            let g = g.rsplit('/').next().unwrap_or(g);
            members.is_member(addr, g, row.stats.first_seen, row.stats.last_seen)
        }
        RuleSource::PrefixList(p) => view
            .prefix_lists
            .get(p.as_str())
            .into_iter()
            .flatten()
            .filter_map(|(_, s)| s.as_ref())
            .flat_map(|s| s.entries.iter())
            .any(|e| e.parse::<IpNet>().is_ok_and(|n| n.contains(&addr))),
    })
}
