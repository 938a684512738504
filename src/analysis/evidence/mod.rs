//! Analysis stage: what each Terraform rule really carried. Links the model's groups to deployed
//! `sg-…` ids, decides which interfaces had each group and whether their flow logs cover the
//! window, and credits every inbound (or possibly inbound) accepted flow to every rule that allows
//! it — in one pass over the evidence, grouped by security group.
//!
//! Soundness first: a flow whose role is `unknown` may be inbound, so it keeps the rules it matches
//! and its client counts as a source; a "many sources" row keeps every rule of its port. Nothing
//! here proposes a change: the checks read these facts and decide.

mod attribute;
mod link;
mod replay;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::model::Model;
use crate::store::evidence::date_of_day;
use crate::store::view::EvidenceView;

pub use link::GroupIndex;
pub use link::Link;
pub use replay::{Replay, replay};

/// The days the evidence checks look at, inclusive (days since 1970-01-01, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    pub since: i32,
    pub until: i32,
}

impl Window {
    /// The window from the options, defaulting to the days the store has flow logs for; `None`
    /// when the store has no flow-log coverage and no day was given.
    pub fn choose(since: Option<i32>, until: Option<i32>, view: &EvidenceView) -> Option<Window> {
        let stored = view.days();
        let since = since.or(stored.map(|d| d.0))?;
        let until = until.or(stored.map(|d| d.1))?;
        Some(Window { since, until })
    }

    /// Number of days in the window.
    pub fn days(self) -> i64 {
        (i64::from(self.until) - i64::from(self.since) + 1).max(0)
    }

    pub fn contains(self, day: i32) -> bool {
        (self.since..=self.until).contains(&day)
    }

    /// `2026-10-01..2026-10-30`.
    pub fn label(self) -> String {
        format!("{}..{}", date_of_day(self.since), date_of_day(self.until))
    }
}

/// Flow-log coverage of the interfaces that had one deployed group in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupCoverage {
    /// Interface → days it had the group in the window.
    pub had: BTreeMap<String, BTreeSet<i32>>,
    /// Interface → days it had the group but flow logs are missing or lost records (SKIPDATA).
    pub gaps: BTreeMap<String, BTreeSet<i32>>,
    /// Days on which the group had interfaces and every one of them was fully covered.
    pub complete_days: BTreeSet<i32>,
    /// Days with SKIPDATA on an interface of the group.
    pub skipdata_days: BTreeSet<i32>,
}

impl GroupCoverage {
    /// Whether every interface-day of the group in the window has flow logs without loss.
    pub fn is_complete(&self) -> bool {
        self.gaps.values().all(BTreeSet::is_empty)
    }

    /// Interfaces with at least one day without (complete) flow logs.
    pub fn uncovered(&self) -> Vec<&str> {
        self.gaps
            .iter()
            .filter(|(_, d)| !d.is_empty())
            .map(|(i, _)| i.as_str())
            .collect()
    }
}

/// One client of a rule: its flows and when it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceUse {
    pub flows: u64,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// What one Terraform rule carried in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleEvidence {
    /// Index into `Model::rules`.
    pub rule: usize,
    /// Deployed id of the rule's group, when linked.
    pub group: Option<String>,
    /// Inbound accepted flows the rule allows.
    pub flows: u64,
    /// Flows whose role could not be decided (possibly inbound) that the rule allows.
    pub possible_flows: u64,
    /// Exact clients (of inbound and possibly-inbound flows).
    pub sources: BTreeMap<IpAddr, SourceUse>,
    /// Set when a "many sources" row matched: the largest estimated distinct count of its day.
    pub many_sources: Option<u64>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub days: BTreeSet<i32>,
    pub interfaces: BTreeSet<String>,
    /// Protocol → service ports used (ports are 0 for protocols without them).
    pub ports: BTreeMap<u8, BTreeSet<u16>>,
    /// Rejected flows on the rule's protocol and ports (context only).
    pub rejects: u64,
    /// A possibly-inbound flow whose port is not known exactly matched: no port narrowing.
    pub uncertain_ports: bool,
    /// Groups every client belonged to at the time of its flows (`None` until a client is seen,
    /// empty when they share none or one client is not a known address).
    pub common_groups: Option<BTreeSet<String>>,
    /// Why matching could not be decided (a reference to a group or prefix list that is not
    /// linked): the rule is kept and no proposal is made.
    pub undecidable: Option<String>,
    /// When the rule first appeared in the deployed group after the window began (ms).
    pub appeared_ms: Option<i64>,
    /// The deployed group is known and the rule is not in its latest state.
    pub not_deployed: bool,
}

impl RuleEvidence {
    /// Whether any flow (inbound, possibly inbound, or many sources) matched the rule.
    pub fn used(&self) -> bool {
        self.flows + self.possible_flows > 0 || self.many_sources.is_some()
    }

    /// Distinct sources: exact, or the estimate when larger (many sources).
    pub fn distinct_sources(&self) -> u64 {
        (self.sources.len() as u64).max(self.many_sources.unwrap_or(0))
    }
}

/// Accepted inbound flows that no rule of the interface's groups allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unallowed {
    /// Model group index that the finding is reported on.
    pub group: usize,
    pub protocol: u8,
    pub port: u16,
    pub flows: u64,
    pub sources: BTreeSet<IpAddr>,
    pub interfaces: BTreeSet<String>,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// The result of joining the model to the store.
#[derive(Debug, Default)]
pub struct EvidenceFacts {
    pub window: Option<Window>,
    /// Model groups by address, and each rule's model group.
    pub index: GroupIndex,
    /// Per model group (same index as `Model::groups`): how it was linked.
    pub links: Vec<Link>,
    /// Per deployed group id: coverage in the window.
    pub coverage: BTreeMap<String, GroupCoverage>,
    /// Per ingress rule of the model (index into `Model::rules`), its evidence.
    pub rules: BTreeMap<usize, RuleEvidence>,
    pub unallowed: Vec<Unallowed>,
    /// Deployed ingress/egress entries missing from Terraform: (model group index, entry text).
    pub deployed_only: Vec<(usize, String)>,
    /// Inbound rows of the window that no interface state attributes to a group.
    pub unattributed_flows: u64,
    pub unattributed_interfaces: BTreeSet<String>,
    /// Evidence rows read in the window.
    pub rows_in_window: usize,
}

/// Joins `model` to the evidence of `view` over `window`.
pub fn analyse(model: &Model, view: &EvidenceView, window: Option<Window>) -> EvidenceFacts {
    let links = link::link_groups(model, view);
    let mut facts = EvidenceFacts {
        window,
        links,
        index: GroupIndex::new(model),
        ..EvidenceFacts::default()
    };
    let Some(window) = window else {
        return facts;
    };
    facts.coverage = coverage(view, window);
    attribute::attribute(model, view, window, &mut facts);
    link::drift(model, view, &mut facts);
    facts
}

/// Which interfaces had each deployed group on which days of the window, and whether their flow
/// logs cover those days.
fn coverage(view: &EvidenceView, window: Window) -> BTreeMap<String, GroupCoverage> {
    // (interface, day) → had SKIPDATA.
    let covered: BTreeMap<(&str, i32), bool> = view
        .coverage
        .iter()
        .filter(|c| window.contains(c.day))
        .map(|c| ((c.interface.as_str(), c.day), c.skipdata > 0))
        .collect();
    let mut out: BTreeMap<String, GroupCoverage> = BTreeMap::new();
    for (iface, intervals) in &view.inventory.interfaces {
        for interval in intervals {
            let from = day_of_ms(interval.from_ms).max(window.since);
            let to = interval
                .to_ms
                .map_or(window.until, |t| day_of_ms(t - 1).min(window.until));
            if from > to {
                continue;
            }
            for group in &interval.state.groups {
                let g = out.entry(group.clone()).or_default();
                let had = g.had.entry(iface.clone()).or_default();
                let gaps = g.gaps.entry(iface.clone()).or_default();
                for day in from..=to {
                    had.insert(day);
                    match covered.get(&(iface.as_str(), day)) {
                        Some(false) => {}
                        Some(true) => {
                            gaps.insert(day);
                            g.skipdata_days.insert(day);
                        }
                        None => {
                            gaps.insert(day);
                        }
                    }
                }
            }
        }
    }
    // Days an interface logged flows outside every state AWS Config or EC2 recorded for it: its
    // flows go to every group it ever had (see attribution), and so do those days.
    // One pass over the coverage rows (not one per interface).
    for c in view.coverage.iter().filter(|c| window.contains(c.day)) {
        let Some(intervals) = view.inventory.interfaces.get(&c.interface) else {
            continue;
        };
        let (start, end) = (
            i64::from(c.day) * 86_400,
            i64::from(c.day) * 86_400 + 86_399,
        );
        if intervals.iter().any(|i| i.overlaps(start, end)) {
            continue;
        }
        let ever: BTreeSet<&String> = view.inventory.ever(&c.interface).collect();
        for group in ever {
            let g = out.entry(group.clone()).or_default();
            g.had.entry(c.interface.clone()).or_default().insert(c.day);
            let gaps = g.gaps.entry(c.interface.clone()).or_default();
            if c.skipdata > 0 {
                gaps.insert(c.day);
                g.skipdata_days.insert(c.day);
            }
        }
    }
    for g in out.values_mut() {
        let mut days: BTreeSet<i32> = g.had.values().flatten().copied().collect();
        for gaps in g.gaps.values() {
            for d in gaps {
                days.remove(d);
            }
        }
        g.complete_days = days;
    }
    out
}

fn day_of_ms(ms: i64) -> i32 {
    ms.div_euclid(86_400_000) as i32
}
