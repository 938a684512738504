//! What AWS Config and EC2 said exists, as stored observations, and the validity intervals built
//! from them: which security groups and addresses each interface had, and when.
//!
//! Observations are kept one per configuration item; intervals are derived when read (sorted by
//! capture time, then state id), so the result does not depend on the order files came in.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use rusqlite::params;

use super::merge::LedgerEntry;
use super::{Committed, Store, StoreError};
use crate::ingest::awsconfig::{Observation, ObservedState, ResourceKind};
use crate::ingest::inventory::{GroupState, InterfaceState, PrefixListState};

/// An interface's state over `[from_ms, to_ms)`; `to_ms: None` while it still holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInterval {
    pub from_ms: i64,
    pub to_ms: Option<i64>,
    pub state: InterfaceState,
}

impl InterfaceInterval {
    /// Whether the interval overlaps `[from_s, to_s]` (seconds, inclusive).
    pub fn overlaps(&self, from_s: i64, to_s: i64) -> bool {
        let (start, end) = (from_s * 1000, to_s * 1000 + 999);
        self.from_ms <= end && self.to_ms.is_none_or(|to| to > start)
    }

    /// Every address the interface had in this state.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.state
            .private_ipv4
            .iter()
            .chain(&self.state.ipv6)
            .copied()
    }
}

/// Validity intervals of every interface known to AWS Config or EC2.
#[derive(Debug, Default)]
pub struct Inventory {
    pub interfaces: HashMap<String, Vec<InterfaceInterval>>,
}

impl Inventory {
    /// The intervals of `interface` that overlap `[from_s, to_s]`.
    pub fn during<'a>(
        &'a self,
        interface: &str,
        from_s: i64,
        to_s: i64,
    ) -> impl Iterator<Item = &'a InterfaceInterval> + 'a {
        self.interfaces
            .get(interface)
            .into_iter()
            .flatten()
            .filter(move |i| i.overlaps(from_s, to_s))
    }

    /// The groups `interface` had at any moment of `[from_s, to_s]` (sorted, unique).
    pub fn groups_during(&self, interface: &str, from_s: i64, to_s: i64) -> Vec<String> {
        let mut groups: Vec<String> = self
            .during(interface, from_s, to_s)
            .flat_map(|i| i.state.groups.iter().cloned())
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }

    /// The groups `interface` may have had at some moment of `[from_s, to_s]`: those of the
    /// states recorded then, or, outside every recorded state (the recorder started late, a gap),
    /// every group it ever had — over-attributing keeps every observed flow allowed. Unsorted,
    /// may repeat; empty for an interface AWS Config and EC2 never recorded.
    pub fn possible_groups(&self, interface: &str, from_s: i64, to_s: i64) -> Vec<&String> {
        let during: Vec<&String> = self
            .during(interface, from_s, to_s)
            .flat_map(|i| i.state.groups.iter())
            .collect();
        if !during.is_empty() {
            return during;
        }
        self.ever(interface).collect()
    }

    /// Every group `interface` had in any recorded state.
    pub fn ever<'a>(&'a self, interface: &str) -> impl Iterator<Item = &'a String> + 'a {
        self.interfaces
            .get(interface)
            .into_iter()
            .flatten()
            .flat_map(|i| i.state.groups.iter())
    }

    /// Whether `addr` was one of `interface`'s own addresses at some moment of `[from_s, to_s]`.
    pub fn owned_during(&self, interface: &str, addr: IpAddr, from_s: i64, to_s: i64) -> bool {
        self.during(interface, from_s, to_s)
            .any(|i| i.addresses().any(|a| a == addr))
    }

    /// Which groups an address belonged to over time: (address, interface, interval).
    pub fn membership(&self) -> Vec<(IpAddr, &str, &InterfaceInterval)> {
        let mut out: Vec<(IpAddr, &str, &InterfaceInterval)> = self
            .interfaces
            .iter()
            .flat_map(|(iface, intervals)| {
                intervals
                    .iter()
                    .flat_map(move |i| i.addresses().map(move |a| (a, iface.as_str(), i)))
            })
            .collect();
        out.sort_by(|a, b| (a.0, a.1, a.2.from_ms).cmp(&(b.0, b.1, b.2.from_ms)));
        out
    }

    /// The groups `addr` belonged to at `at_s` (through any interface that had it then).
    pub fn groups_of_address(&self, addr: IpAddr, at_s: i64) -> Vec<String> {
        let mut groups: Vec<String> = self
            .interfaces
            .values()
            .flatten()
            .filter(|i| i.overlaps(at_s, at_s) && i.addresses().any(|a| a == addr))
            .flat_map(|i| i.state.groups.iter().cloned())
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }
}

/// Each security group's states over time: group id → (from, in ms; the state, `None` once
/// deleted), in time order.
pub type GroupHistory = BTreeMap<String, Vec<(i64, Option<GroupState>)>>;

/// Each managed prefix list's entries over time, like `GroupHistory`.
pub type PrefixListHistory = BTreeMap<String, Vec<(i64, Option<PrefixListState>)>>;

/// A change of an interface, from its own item or from its instance's.
struct Event {
    at: i64,
    state_id: String,
    state: Option<InterfaceState>,
}

impl Store {
    /// Stores the observations of one AWS Config file (or EC2 snapshot) with its ledger row, in one
    /// transaction. Observations already stored (same resource, time and state id) are kept once.
    pub fn commit_observations(
        &mut self,
        entry: &LedgerEntry,
        source: &str,
        observations: &[Observation],
    ) -> Result<Committed, StoreError> {
        self.flush()?;
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        if let Some(existing) =
            super::merge::ledger_source_of(&tx, &entry.content_hash).map_err(wrap)?
        {
            return Ok(Committed::Duplicate { source: existing });
        }
        let mut written = 0;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO observation (kind, resource_id, captured_at, state_id, source, state)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(wrap)?;
            for o in observations {
                let state = o.state.as_ref().and_then(|s| serde_json::to_string(s).ok());
                written += insert
                    .execute(params![
                        o.kind.as_str(),
                        o.resource_id,
                        o.captured_at,
                        o.state_id,
                        source,
                        state
                    ])
                    .map_err(wrap)?;
            }
        }
        let counts = super::merge::LedgerCounts {
            records: observations.len() as u64,
            nodata: 0,
            skipdata: 0,
            malformed: 0,
        };
        super::merge::insert_ledger_row(&tx, entry, &counts, "{}", "", written).map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        Ok(Committed::Stored { rows: written })
    }

    /// Builds every interface's validity intervals from the stored observations.
    pub fn inventory(&self) -> Result<Inventory, StoreError> {
        self.inventory_inner().map_err(|e| self.err(e))
    }

    pub(crate) fn inventory_inner(&self) -> rusqlite::Result<Inventory> {
        let mut stmt = self.conn.prepare(
            "SELECT kind, resource_id, captured_at, state_id, state FROM observation
             WHERE kind IN ('interface', 'instance') ORDER BY resource_id, captured_at, state_id",
        )?;
        let mut events: HashMap<String, Vec<Event>> = HashMap::new();
        // Each instance's interfaces as last seen, to close them when the instance is deleted.
        let mut instance_last: HashMap<String, Vec<String>> = HashMap::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let kind: String = r.get(0)?;
            let resource: String = r.get(1)?;
            let at: i64 = r.get(2)?;
            let state_id: String = r.get(3)?;
            let state: Option<String> = r.get(4)?;
            let state: Option<ObservedState> =
                state.as_deref().and_then(|s| serde_json::from_str(s).ok());
            match (kind.as_str(), state) {
                ("interface", Some(ObservedState::Interface(s))) => {
                    events.entry(resource).or_default().push(Event {
                        at,
                        state_id,
                        state: Some(s),
                    });
                }
                ("interface", _) => events.entry(resource).or_default().push(Event {
                    at,
                    state_id,
                    state: None,
                }),
                ("instance", Some(ObservedState::Instance { interfaces })) => {
                    let ids: Vec<String> =
                        interfaces.iter().map(|i| i.interface_id.clone()).collect();
                    for s in interfaces {
                        events
                            .entry(s.interface_id.clone())
                            .or_default()
                            .push(Event {
                                at,
                                state_id: state_id.clone(),
                                state: Some(s),
                            });
                    }
                    instance_last.insert(resource, ids);
                }
                ("instance", _) => {
                    for iface in instance_last.remove(&resource).unwrap_or_default() {
                        events.entry(iface).or_default().push(Event {
                            at,
                            state_id: state_id.clone(),
                            state: None,
                        });
                    }
                }
                _ => {}
            }
        }
        let mut inventory = Inventory::default();
        for (iface, mut evs) in events {
            evs.sort_by(|a, b| (a.at, &a.state_id).cmp(&(b.at, &b.state_id)));
            let mut intervals: Vec<InterfaceInterval> = Vec::new();
            for ev in evs {
                if let Some(open) = intervals.last_mut().filter(|i| i.to_ms.is_none()) {
                    open.to_ms = Some(ev.at);
                }
                if let Some(state) = ev.state {
                    intervals.push(InterfaceInterval {
                        from_ms: ev.at,
                        to_ms: None,
                        state,
                    });
                }
            }
            // A state repeated by later items (daily snapshots) is one interval.
            let mut merged: Vec<InterfaceInterval> = Vec::new();
            for i in intervals.into_iter().filter(|i| i.to_ms != Some(i.from_ms)) {
                match merged.last_mut() {
                    Some(prev) if prev.to_ms == Some(i.from_ms) && prev.state == i.state => {
                        prev.to_ms = i.to_ms;
                    }
                    _ => merged.push(i),
                }
            }
            inventory.interfaces.insert(iface, merged);
        }
        Ok(inventory)
    }

    /// Each security group's deployed states over time: group id → (`from_ms`, state or deleted).
    pub fn group_states(&self) -> Result<GroupHistory, StoreError> {
        let query = || -> rusqlite::Result<GroupHistory> {
            let mut stmt = self.conn.prepare(
                "SELECT resource_id, captured_at, state FROM observation WHERE kind = ?1
                 ORDER BY resource_id, captured_at, state_id",
            )?;
            let mut out = GroupHistory::new();
            let mut rows = stmt.query([ResourceKind::Group.as_str()])?;
            while let Some(r) = rows.next()? {
                let state: Option<String> = r.get(2)?;
                let state = match state.as_deref().and_then(|s| serde_json::from_str(s).ok()) {
                    Some(ObservedState::Group(g)) => Some(g),
                    _ => None,
                };
                out.entry(r.get(0)?).or_default().push((r.get(1)?, state));
            }
            Ok(out)
        };
        query().map_err(|e| self.err(e))
    }

    /// Each managed prefix list's entries over time (from EC2 snapshots).
    pub fn prefix_list_states(&self) -> Result<PrefixListHistory, StoreError> {
        let query = || -> rusqlite::Result<PrefixListHistory> {
            let mut stmt = self.conn.prepare(
                "SELECT resource_id, captured_at, state FROM observation WHERE kind = ?1
                 ORDER BY resource_id, captured_at, state_id",
            )?;
            let mut out = PrefixListHistory::new();
            let mut rows = stmt.query([ResourceKind::PrefixList.as_str()])?;
            while let Some(r) = rows.next()? {
                let state: Option<String> = r.get(2)?;
                let state = match state.as_deref().and_then(|s| serde_json::from_str(s).ok()) {
                    Some(ObservedState::PrefixList(p)) => Some(p),
                    _ => None,
                };
                out.entry(r.get(0)?).or_default().push((r.get(1)?, state));
            }
            Ok(out)
        };
        query().map_err(|e| self.err(e))
    }
}
