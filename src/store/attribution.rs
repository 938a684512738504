//! Attribution: inbound evidence joined, by interface and time, to the security groups the
//! interface had then (from AWS Config or EC2), with each group's flow-log coverage.
//!
//! A record whose interval overlaps two states of its interface counts for the groups of both:
//! over-attributing keeps every observed flow allowed; under-attributing could not.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;

use super::evidence::{EvidenceRow, Role};
use super::{Store, StoreError};
use crate::ingest::flowlog::aggregate::SECONDS_PER_DAY;
use crate::ingest::flowlog::record::Action;

/// Inbound use of one port of one security group (or, with `port: None`, a group that had
/// flow-log coverage but no inbound evidence at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupUse {
    pub group: String,
    /// `None` on a group's "no inbound evidence" row.
    pub protocol: Option<u8>,
    pub port: Option<u16>,
    pub action: Option<Action>,
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    /// Distinct sources (at least this many when `capped`).
    pub sources: u64,
    pub capped: bool,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub interfaces: BTreeSet<String>,
    /// Days on which an interface of the group had flow logs.
    pub coverage_days: u64,
    /// Of those, days with SKIPDATA (records lost: "no traffic" cannot be claimed).
    pub skipdata_days: u64,
}

/// Evidence by group, and what could not be attributed.
#[derive(Debug, Default)]
pub struct Attribution {
    pub by_group: Vec<GroupUse>,
    /// Interfaces with evidence but no known security groups at the time of their records.
    pub unattributed_interfaces: BTreeSet<String>,
    pub unattributed_records: u64,
}

#[derive(Default)]
struct Acc {
    use_: Option<GroupUse>,
    exact: HashSet<IpAddr>,
    estimated: u64,
}

impl Store {
    /// Joins the evidence to the groups its interfaces had at the time.
    pub fn attribute(&self) -> Result<Attribution, StoreError> {
        let rows = self.evidence()?;
        let inventory = self.inventory()?;
        let mut out = Attribution::default();
        let mut acc: BTreeMap<(String, u8, u16, Action), Acc> = BTreeMap::new();
        for row in &rows {
            let groups =
                inventory.groups_during(&row.interface, row.stats.first_seen, row.stats.last_seen);
            if groups.is_empty() {
                out.unattributed_interfaces.insert(row.interface.clone());
                out.unattributed_records += row.stats.flows;
                continue;
            }
            if row.role != Role::Inbound {
                continue;
            }
            for group in groups {
                let a = acc
                    .entry((group.clone(), row.protocol, row.port, row.action))
                    .or_default();
                add(a, group, row);
            }
        }
        // Coverage: the days each group's interfaces had flow logs.
        let mut covered: BTreeMap<String, (BTreeSet<i32>, BTreeSet<i32>)> = BTreeMap::new();
        for (interface, day, skipdata) in self.coverage_days().map_err(|e| self.err(e))? {
            let start = i64::from(day) * SECONDS_PER_DAY;
            for group in inventory.groups_during(&interface, start, start + SECONDS_PER_DAY - 1) {
                let entry = covered.entry(group).or_default();
                entry.0.insert(day);
                if skipdata {
                    entry.1.insert(day);
                }
            }
        }
        let mut known: BTreeSet<String> = inventory
            .interfaces
            .values()
            .flatten()
            .flat_map(|i| i.state.groups.iter().cloned())
            .collect();
        known.extend(covered.keys().cloned());
        let mut with_evidence = BTreeSet::new();
        for ((group, ..), a) in acc {
            let Some(mut use_) = a.use_ else { continue };
            use_.sources = (a.exact.len() as u64).max(a.estimated);
            let (days, skipped) = covered
                .get(&group)
                .map_or((0, 0), |(d, s)| (d.len() as u64, s.len() as u64));
            (use_.coverage_days, use_.skipdata_days) = (days, skipped);
            with_evidence.insert(group);
            out.by_group.push(use_);
        }
        for group in known.difference(&with_evidence) {
            let (days, skipped) = covered
                .get(group)
                .map_or((0, 0), |(d, s)| (d.len() as u64, s.len() as u64));
            out.by_group.push(GroupUse {
                group: group.clone(),
                protocol: None,
                port: None,
                action: None,
                flows: 0,
                packets: 0,
                bytes: 0,
                sources: 0,
                capped: false,
                first_seen: None,
                last_seen: None,
                interfaces: BTreeSet::new(),
                coverage_days: days,
                skipdata_days: skipped,
            });
        }
        out.by_group.sort_by(|a, b| {
            (&a.group, a.protocol, a.port, a.action).cmp(&(&b.group, b.protocol, b.port, b.action))
        });
        Ok(out)
    }

    /// `(interface, day, had SKIPDATA)` for every day with flow-log coverage.
    fn coverage_days(&self) -> rusqlite::Result<Vec<(String, i32, bool)>> {
        self.write_pending()?;
        let mut stmt = self
            .conn
            .prepare("SELECT interface, day, skipdata > 0 FROM coverage ORDER BY interface, day")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    }
}

fn add(a: &mut Acc, group: String, row: &EvidenceRow) {
    let use_ = a.use_.get_or_insert_with(|| GroupUse {
        group,
        protocol: Some(row.protocol),
        port: Some(row.port),
        action: Some(row.action),
        flows: 0,
        packets: 0,
        bytes: 0,
        sources: 0,
        capped: false,
        first_seen: Some(row.stats.first_seen),
        last_seen: Some(row.stats.last_seen),
        interfaces: BTreeSet::new(),
        coverage_days: 0,
        skipdata_days: 0,
    });
    use_.flows += row.stats.flows;
    use_.packets += row.stats.packets;
    use_.bytes += row.stats.bytes;
    use_.first_seen = use_.first_seen.min(Some(row.stats.first_seen));
    use_.last_seen = use_.last_seen.max(Some(row.stats.last_seen));
    use_.interfaces.insert(row.interface.clone());
    if let Some(src) = row.src {
        a.exact.insert(src);
    } else {
        use_.capped = true;
        a.estimated = a.estimated.max(row.sources);
    }
}
