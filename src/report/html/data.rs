//! Report stage (HTML): the day-by-day numbers behind the charts — per deployed group, the flows
//! that reached its interfaces by kind and port, and each interface's flow-log coverage — read
//! from the evidence view and the coverage the analysis computed. Counting for display only.

use std::collections::{BTreeMap, HashMap};

use crate::analysis::evidence::{EvidenceFacts, GroupCoverage, Window};
use crate::ingest::flowlog::record::Action;
use crate::store::evidence::Role;
use crate::store::view::{CoverageDay, EvidenceView};

/// Series shown per group at most; the rest are folded into "other".
pub(super) const MAX_SERIES: usize = 24;
/// Interfaces drawn per coverage calendar at most.
pub(super) const MAX_INTERFACES: usize = 40;

/// What a series of the timeline counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Kind {
    /// Inbound or undecided (possibly inbound), accepted or without action.
    Inbound,
    /// Inbound or undecided, rejected.
    Reject,
    /// Return traffic of connections the interface opened (not use of an ingress rule).
    Return,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Inbound => "inbound",
            Kind::Reject => "rejected",
            Kind::Return => "return",
        }
    }
}

/// A series: kind and (protocol, port), `None` for the folded rest.
pub(super) type SeriesKey = (Kind, Option<(u8, u16)>);

/// Flows per series and day.
#[derive(Debug, Default)]
pub(super) struct Timeline {
    pub series: BTreeMap<SeriesKey, BTreeMap<i32, u64>>,
}

impl Timeline {
    pub(super) fn total(&self, key: SeriesKey) -> u64 {
        self.series.get(&key).map_or(0, |d| d.values().sum())
    }

    /// Keeps the busiest `MAX_SERIES - 1` series of each kind order, folding the rest per kind.
    fn fold(&mut self) {
        if self.series.len() <= MAX_SERIES {
            return;
        }
        let mut by_total: Vec<(SeriesKey, u64)> = self
            .series
            .iter()
            .map(|(k, d)| (*k, d.values().sum()))
            .collect();
        by_total.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (key, _) in by_total.into_iter().skip(MAX_SERIES - 3) {
            if let Some(days) = self.series.remove(&key) {
                let other = self.series.entry((key.0, None)).or_default();
                for (d, n) in days {
                    *other.entry(d).or_default() += n;
                }
            }
        }
    }
}

/// One timeline per deployed group id, over `window`.
pub(super) fn timelines(
    view: &EvidenceView,
    facts: &EvidenceFacts,
    window: Window,
) -> HashMap<String, Timeline> {
    // Interface → the groups it had, with the days it had each.
    let mut by_iface: HashMap<&str, Vec<(&str, &GroupCoverage)>> = HashMap::new();
    for (gid, cov) in &facts.coverage {
        for iface in cov.had.keys() {
            by_iface
                .entry(iface.as_str())
                .or_default()
                .push((gid.as_str(), cov));
        }
    }
    let mut out: HashMap<String, Timeline> = HashMap::new();
    for row in &view.rows {
        if !window.contains(row.day) {
            continue;
        }
        let kind = match (row.role, row.action) {
            (Role::Outbound, _) => continue,
            (Role::Response, _) => Kind::Return,
            (_, Action::Reject) => Kind::Reject,
            _ => Kind::Inbound,
        };
        let Some(groups) = by_iface.get(row.interface.as_str()) else {
            continue;
        };
        for (gid, cov) in groups {
            let had = cov
                .had
                .get(&row.interface)
                .is_some_and(|d| d.contains(&row.day));
            if had {
                let t = out.entry((*gid).to_owned()).or_default();
                *t.series
                    .entry((kind, Some((row.protocol, row.port))))
                    .or_default()
                    .entry(row.day)
                    .or_default() += row.stats.flows;
            }
        }
    }
    for t in out.values_mut() {
        t.fold();
    }
    out
}

/// The state of one interface on one day it had the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DayState {
    Covered,
    NoData,
    SkipData,
    NoLogs,
}

impl DayState {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            DayState::Covered => "covered",
            DayState::NoData => "NODATA",
            DayState::SkipData => "SKIPDATA",
            DayState::NoLogs => "no logs",
        }
    }
}

/// Flow-log coverage by (interface, day), for the calendars.
pub(super) struct CoverageIndex<'a> {
    days: HashMap<(&'a str, i32), &'a CoverageDay>,
}

impl<'a> CoverageIndex<'a> {
    pub(super) fn new(view: &'a EvidenceView) -> Self {
        Self {
            days: view
                .coverage
                .iter()
                .map(|c| ((c.interface.as_str(), c.day), c))
                .collect(),
        }
    }

    pub(super) fn state(&self, iface: &str, day: i32) -> DayState {
        match self.days.get(&(iface, day)) {
            None => DayState::NoLogs,
            Some(c) if c.skipdata > 0 => DayState::SkipData,
            Some(c) if c.records == 0 => DayState::NoData,
            Some(_) => DayState::Covered,
        }
    }
}

/// `tcp/22`, `udp/53`, `icmp`, `proto 47`.
pub(super) fn port_label(protocol: u8, port: u16) -> String {
    match protocol {
        6 => format!("tcp/{port}"),
        17 => format!("udp/{port}"),
        1 => "icmp".to_owned(),
        58 => "icmpv6".to_owned(),
        n => format!("proto {n}"),
    }
}

/// The label of a timeline series.
pub(super) fn series_label(key: SeriesKey) -> String {
    let what = key
        .1
        .map_or_else(|| "other".to_owned(), |(p, port)| port_label(p, port));
    format!("{} {what}", key.0.as_str())
}
