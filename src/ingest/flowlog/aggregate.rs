//! The aggregate one flow-log file adds to the store: traffic folded by group and client, coverage
//! per interface and day, and the facts from which an interface's own addresses are learned.
//!
//! Records are never kept one by one. Each traffic record is placed by *who opened the connection*
//! (its initiator), decided here only from facts inside the record itself (tcp-flags, then the port
//! heuristic); what needs other records (continuity, the interface's own addresses) is decided when
//! the store is read, so that the evidence does not depend on how records were split into files.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::record::{Action, FlowDirection, Traffic};
use crate::ingest::sketch::Sketch;

/// A fast, non-cryptographic hash map: keys come from files, but an attacker gains nothing by
/// colliding them beyond a slower ingest of their own data.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// Who opened the connection a record belongs to, and how we know. Stored as its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Initiator {
    /// TCP record without SYN or SYN-ACK (a later interval of a long connection): decided by
    /// continuity or by ports when the store is read. Both ports are kept.
    Undecided = 0,
    /// tcp-flags has SYN without ACK: the record's source opened the connection.
    SrcByFlags = 1,
    /// tcp-flags has SYN-ACK (18, or 19 with FIN): the record's source answered a connection.
    DstByFlags = 2,
    /// No flags; the destination port looks like a service port and the source port does not.
    SrcByPort = 3,
    /// No flags; the source port looks like a service port and the destination port does not.
    DstByPort = 4,
    /// No flags and the ports do not tell (both service-like or both ephemeral, or ICMP).
    Unknown = 5,
    /// As `Undecided`, stored with the source as the server end because its port looks more like
    /// a service port: the later intervals of one service's connections share one group.
    UndecidedReversed = 6,
}

impl Initiator {
    pub fn from_code(code: i64) -> Option<Initiator> {
        Some(match code {
            0 => Initiator::Undecided,
            1 => Initiator::SrcByFlags,
            2 => Initiator::DstByFlags,
            3 => Initiator::SrcByPort,
            4 => Initiator::DstByPort,
            5 => Initiator::Unknown,
            6 => Initiator::UndecidedReversed,
            _ => return None,
        })
    }

    /// Whether the server end of the connection is the record's source.
    pub fn server_is_src(self) -> bool {
        matches!(
            self,
            Initiator::DstByFlags | Initiator::DstByPort | Initiator::UndecidedReversed
        )
    }

    /// Whether the client's port is kept (it is dropped once we know which end is the server).
    pub fn keeps_client_port(self) -> bool {
        matches!(
            self,
            Initiator::Undecided | Initiator::UndecidedReversed | Initiator::Unknown
        )
    }
}

/// The documented port heuristic, used last: a port below 1024 is a service port, a port of
/// 32768 and above is ephemeral (Linux 32768–60999, Windows 49152–65535). Returns `None` when the
/// ports do not tell which end is the server.
pub fn initiator_by_ports(sport: u16, dport: u16) -> Initiator {
    let (s, d) = (port_class(sport), port_class(dport));
    if s == 3 || d == 3 || s == d {
        Initiator::Unknown
    } else if d < s {
        Initiator::SrcByPort
    } else {
        Initiator::DstByPort
    }
}

/// 0 service (below 1024), 1 registered, 2 ephemeral (32768 and above), 3 none (port 0).
pub(crate) fn port_class(port: u16) -> u8 {
    match port {
        0 => 3,
        1..1024 => 0,
        1024..32768 => 1,
        _ => 2,
    }
}

/// Decides the initiator from the record alone.
pub(crate) fn initiator_of(
    protocol: u8,
    tcp_flags: Option<u8>,
    sport: u16,
    dport: u16,
) -> Initiator {
    const SYN: u8 = 0x02;
    const SYN_ACK: u8 = 0x12;
    match (protocol, tcp_flags) {
        (6, Some(f)) if f & SYN_ACK == SYN_ACK => Initiator::DstByFlags,
        (6, Some(f)) if f & SYN != 0 => Initiator::SrcByFlags,
        (6, Some(_)) if port_class(sport) < port_class(dport) => Initiator::UndecidedReversed,
        (6, Some(_)) => Initiator::Undecided,
        _ => initiator_by_ports(sport, dport),
    }
}

/// The `flow-direction` field as stored: 0 absent, 1 ingress, 2 egress.
pub(crate) fn direction_code(direction: Option<FlowDirection>) -> u8 {
    match direction {
        None => 0,
        Some(FlowDirection::Ingress) => 1,
        Some(FlowDirection::Egress) => 2,
    }
}

/// The service end of a connection, on one interface and day: the unit of the source cap.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    pub interface: u32,
    pub day: i32,
    pub protocol: u8,
    pub action: Action,
    pub initiator: Initiator,
    /// 0 absent, 1 ingress, 2 egress.
    pub direction: u8,
    pub server: IpAddr,
    pub server_port: u16,
}

/// The other end: one client (or, once the group is folded, `client: None` for all of them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientKey {
    pub client: Option<IpAddr>,
    /// Kept only while the initiator is undecided or unknown; 0 otherwise.
    pub client_port: u16,
    /// `srcaddr`/`dstaddr` as the interface saw them, when they differ from the packet addresses.
    pub if_src: Option<IpAddr>,
    pub if_dst: Option<IpAddr>,
}

/// Sums and bounds of the records folded into one row. Merging is exact and commutative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub tcp_flags: u8,
}

impl Stats {
    pub fn merge(&mut self, other: &Stats) {
        if self.flows == 0 {
            *self = *other;
            return;
        }
        // Saturating: input files are outside data, and a sum never wraps to a small number.
        self.flows = self.flows.saturating_add(other.flows);
        self.packets = self.packets.saturating_add(other.packets);
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.tcp_flags |= other.tcp_flags;
    }
}

/// The clients of one group: exact up to the cap, then folded into one row and a sketch.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub clients: HashMap<ClientKey, Stats>,
    /// Set once the group passed the cap: every client's records are summed here.
    pub folded: Option<(Stats, Sketch)>,
}

impl Group {
    /// Adds a record; returns the change in the number of rows the group holds.
    #[must_use]
    fn add(&mut self, client: ClientKey, stats: &Stats, cap: usize) -> isize {
        if let Some((total, sketch)) = &mut self.folded {
            total.merge(stats);
            if let Some(addr) = client.client {
                sketch.insert(addr);
            }
            return 0;
        }
        let before = self.clients.len();
        self.clients.entry(client).or_default().merge(stats);
        if self.clients.len() > cap {
            self.fold();
            return 1 - before as isize;
        }
        (self.clients.len() - before) as isize
    }

    /// Folds every exact client into the marker row and the sketch.
    pub fn fold(&mut self) {
        let (mut total, mut sketch) = self.folded.take().unwrap_or_default();
        for (client, stats) in self.clients.drain() {
            total.merge(&stats);
            if let Some(addr) = client.client {
                sketch.insert(addr);
            }
        }
        self.folded = Some((total, sketch));
    }
}

/// Flow-log coverage of one interface on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    /// Records with log-status OK.
    pub records: u64,
    /// NODATA intervals: the log was on and saw no traffic.
    pub nodata: u64,
    /// SKIPDATA intervals: records were lost; "no traffic" cannot be claimed for this day.
    pub skipdata: u64,
    pub first: i64,
    pub last: i64,
}

impl Coverage {
    pub fn merge(&mut self, other: &Coverage) {
        let empty = self.records + self.nodata + self.skipdata == 0;
        self.records += other.records;
        self.nodata += other.nodata;
        self.skipdata += other.skipdata;
        if empty {
            self.first = other.first;
            self.last = other.last;
        } else {
            self.first = self.first.min(other.first);
            self.last = self.last.max(other.last);
        }
    }

    fn span(&mut self, start: i64, end: i64) {
        let empty = self.records + self.nodata + self.skipdata == 0;
        self.first = if empty { start } else { self.first.min(start) };
        self.last = if empty { end } else { self.last.max(end) };
    }
}

/// Addresses present in every traffic record of an interface (as `srcaddr` or `dstaddr`). The
/// interface's own primary address is one of them; an address is learned as the interface's own
/// when, over everything ingested, it appeared in every record (see `store`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnCandidates {
    pub records: u64,
    pub addrs: Vec<IpAddr>,
}

/// What a file says about one interface besides its traffic.
#[derive(Debug, Clone, Default)]
pub struct InterfaceFacts {
    /// Coverage per day (an interface's records span few days: a short list beats a map).
    pub days: Vec<(i32, Coverage)>,
    pub own: OwnCandidates,
}

impl InterfaceFacts {
    pub(crate) fn day(&mut self, day: i32) -> &mut Coverage {
        let i = if let Some(i) = self.days.iter().position(|(d, _)| *d == day) {
            i
        } else {
            self.days.push((day, Coverage::default()));
            self.days.len() - 1
        };
        &mut self.days[i].1
    }
}

/// Everything one file contributes, plus what was read from it.
#[derive(Debug, Default)]
pub struct FileEvidence {
    pub interfaces: Vec<String>,
    interface_index: HashMap<String, u32>,
    /// The last interface looked up: files often hold runs of records of one interface.
    last_interface: Option<u32>,
    pub groups: HashMap<GroupKey, Group>,
    /// Coverage by day and own-address candidates, indexed like `interfaces`.
    pub facts: Vec<InterfaceFacts>,
    pub records: u64,
    pub nodata: u64,
    pub skipdata: u64,
    pub versions: BTreeSet<u8>,
    pub malformed: BTreeMap<&'static str, u64>,
    cap: usize,
    /// Rows held in `groups` (exact clients plus folded markers).
    rows: usize,
}

pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

impl FileEvidence {
    pub fn new(cap: usize) -> FileEvidence {
        FileEvidence {
            cap,
            ..FileEvidence::default()
        }
    }

    pub(crate) fn interface(&mut self, name: &str) -> u32 {
        if let Some(last) = self.last_interface
            && self.interfaces[last as usize] == name
        {
            return last;
        }
        let i = if let Some(&i) = self.interface_index.get(name) {
            i
        } else {
            let i = self.interfaces.len() as u32;
            self.interfaces.push(name.to_owned());
            self.facts.push(InterfaceFacts::default());
            self.interface_index.insert(name.to_owned(), i);
            i
        };
        self.last_interface = Some(i);
        i
    }

    pub(crate) fn add_traffic(&mut self, t: &Traffic<'_>, version: Option<u8>) {
        if let Some(v) = version {
            self.versions.insert(v);
        }
        self.records += 1;
        let interface = self.interface(t.interface);
        let day = t.start.div_euclid(SECONDS_PER_DAY) as i32;
        let facts = &mut self.facts[interface as usize];
        let coverage = facts.day(day);
        coverage.span(t.start, t.end);
        coverage.records += 1;

        let own = &mut facts.own;
        if own.records == 0 {
            own.addrs.push(t.if_src);
            if t.if_dst != t.if_src {
                own.addrs.push(t.if_dst);
            }
        } else {
            own.addrs.retain(|a| *a == t.if_src || *a == t.if_dst);
        }
        own.records += 1;

        let initiator = initiator_of(t.protocol, t.tcp_flags, t.sport, t.dport);
        let (server, server_port, client, client_port) = if initiator.server_is_src() {
            (t.src, t.sport, t.dst, t.dport)
        } else {
            (t.dst, t.dport, t.src, t.sport)
        };
        let group = GroupKey {
            interface,
            day,
            protocol: t.protocol,
            action: t.action,
            initiator,
            direction: direction_code(t.direction),
            server,
            server_port,
        };
        let client = ClientKey {
            client: Some(client),
            client_port: if initiator.keeps_client_port() {
                client_port
            } else {
                0
            },
            if_src: (t.if_src != t.src).then_some(t.if_src),
            if_dst: (t.if_dst != t.dst).then_some(t.if_dst),
        };
        let stats = Stats {
            flows: 1,
            packets: t.packets,
            bytes: t.bytes,
            first_seen: t.start,
            last_seen: t.end,
            tcp_flags: t.tcp_flags.unwrap_or(0),
        };
        let cap = self.cap;
        let delta = self
            .groups
            .entry(group)
            .or_default()
            .add(client, &stats, cap);
        self.rows = self.rows.saturating_add_signed(delta);
    }

    pub(crate) fn add_gap(
        &mut self,
        interface: &str,
        start: i64,
        end: i64,
        skipped: bool,
        version: Option<u8>,
    ) {
        if let Some(v) = version {
            self.versions.insert(v);
        }
        let interface = self.interface(interface);
        let day = start.div_euclid(SECONDS_PER_DAY) as i32;
        let coverage = self.facts[interface as usize].day(day);
        coverage.span(start, end);
        if skipped {
            coverage.skipdata += 1;
            self.skipdata += 1;
        } else {
            coverage.nodata += 1;
            self.nodata += 1;
        }
    }

    pub(crate) fn add_malformed(&mut self, kind: &'static str) {
        *self.malformed.entry(kind).or_default() += 1;
    }

    pub fn malformed_total(&self) -> u64 {
        self.malformed.values().sum()
    }

    /// Number of aggregate rows held (exact clients plus folded markers).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Takes what was aggregated so far (traffic, coverage, own-address facts) as a part of this
    /// file to be stored on its own, so that memory stays bounded however large the file. The
    /// counts of the whole file (records, gaps, malformed lines, versions) stay here for the
    /// ledger. Storing the parts and the rest gives the same evidence as storing the whole:
    /// every stored fact merges exactly, and own addresses are learned from counts that sum.
    #[must_use]
    pub fn take_part(&mut self) -> FileEvidence {
        let facts = self
            .facts
            .iter()
            .map(|_| InterfaceFacts::default())
            .collect();
        FileEvidence {
            interfaces: self.interfaces.clone(),
            groups: std::mem::take(&mut self.groups),
            facts: std::mem::replace(&mut self.facts, facts),
            cap: self.cap,
            rows: std::mem::take(&mut self.rows),
            ..FileEvidence::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initiator_from_flags_then_ports() {
        assert_eq!(initiator_of(6, Some(2), 50000, 443), Initiator::SrcByFlags);
        assert_eq!(initiator_of(6, Some(3), 50000, 443), Initiator::SrcByFlags);
        assert_eq!(initiator_of(6, Some(18), 443, 50000), Initiator::DstByFlags);
        assert_eq!(initiator_of(6, Some(19), 443, 50000), Initiator::DstByFlags);
        // Later intervals of a long connection carry no SYN: left to continuity.
        assert_eq!(initiator_of(6, Some(0), 50000, 443), Initiator::Undecided);
        assert_eq!(initiator_of(6, Some(1), 50000, 443), Initiator::Undecided);
        assert_eq!(
            initiator_of(6, Some(0), 443, 50000),
            Initiator::UndecidedReversed
        );
        // No flags field: ports.
        assert_eq!(initiator_of(6, None, 50000, 443), Initiator::SrcByPort);
        assert_eq!(initiator_of(17, None, 53, 40000), Initiator::DstByPort);
        assert_eq!(initiator_of(17, Some(0), 5432, 40000), Initiator::DstByPort);
        assert_eq!(initiator_of(17, None, 40000, 50000), Initiator::Unknown);
        assert_eq!(initiator_of(17, None, 123, 123), Initiator::Unknown);
        assert_eq!(initiator_of(1, None, 0, 0), Initiator::Unknown);
    }

    #[test]
    fn group_folds_past_the_cap_and_keeps_sums() {
        let mut g = Group::default();
        for i in 0..5u8 {
            let client = ClientKey {
                client: Some(IpAddr::from([10, 0, 0, i])),
                client_port: 0,
                if_src: None,
                if_dst: None,
            };
            let stats = Stats {
                flows: 1,
                packets: 2,
                bytes: 3,
                first_seen: i64::from(i),
                last_seen: 10,
                tcp_flags: 2,
            };
            let _ = g.add(client, &stats, 3);
        }
        assert!(g.clients.is_empty());
        let (total, sketch) = g.folded.unwrap();
        assert_eq!(
            total,
            Stats {
                flows: 5,
                packets: 10,
                bytes: 15,
                first_seen: 0,
                last_seen: 10,
                tcp_flags: 2
            }
        );
        assert_eq!(sketch.estimate(), 5);
    }
}
