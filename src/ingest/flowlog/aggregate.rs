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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClientKey {
    pub client: Option<IpAddr>,
    /// Kept only while the initiator is undecided or unknown; 0 otherwise.
    pub client_port: u16,
    /// `srcaddr`/`dstaddr` as the interface saw them, when they differ from the packet addresses.
    pub if_src: Option<IpAddr>,
    pub if_dst: Option<IpAddr>,
}

// Every record looks up its group: the keys are hashed as a few packed words (the derived
// hashes fed each field, enum tag and address length separately). Same fields as `Eq`, so equal
// keys hash equally.
impl std::hash::Hash for GroupKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.interface) | (u64::from(self.day as u32) << 32));
        state.write_u64(
            u64::from(self.protocol)
                | (u64::from(self.action.code()) << 8)
                | ((self.initiator as u64) << 16)
                | (u64::from(self.direction) << 24)
                | (u64::from(self.server_port) << 32),
        );
        hash_addr(Some(self.server), state);
    }
}

impl std::hash::Hash for ClientKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        hash_addr(self.client, state);
        state.write_u16(self.client_port);
        if self.if_src.is_some() || self.if_dst.is_some() {
            hash_addr(self.if_src, state);
            hash_addr(self.if_dst, state);
        }
    }
}

/// One word for an IPv4 address (tagged, so that no IPv6 address hashes the same way by
/// construction), two for IPv6.
fn hash_addr<H: std::hash::Hasher>(addr: Option<IpAddr>, state: &mut H) {
    match addr {
        None => state.write_u64(0),
        Some(IpAddr::V4(a)) => state.write_u64(u64::from(a.to_bits()) | (1 << 32)),
        Some(IpAddr::V6(a)) => state.write_u128(a.to_bits()),
    }
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
    /// The clients seen with the addresses the interface saw (every row but translated ones).
    rows: hashbrown::HashTable<Row>,
    /// Clients whose records carry other addresses than the interface saw (`if_src`/`if_dst`
    /// set: NAT, load balancers, transit): rare, so kept apart and allocated only when seen.
    translated: Option<Box<HashMap<ClientKey, Stats>>>,
    /// Set once the group passed the cap: every client's records are summed here.
    pub folded: Option<Box<(Stats, Sketch)>>,
}

/// One client row as the aggregate holds it: key and sums in one 64-byte cache line. A
/// `(ClientKey, Stats)` pair is 104 bytes and mostly straddles two lines, and looking up a record's
/// client row (a cache miss on a large file) is the largest cost of reading one.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Row {
    /// The client's address: an IPv4 address's 32 bits, or an IPv6 address's 128.
    addr: u128,
    flows: u64,
    packets: u64,
    bytes: u64,
    first_seen: i64,
    last_seen: i64,
    port: u16,
    v6: bool,
    tcp_flags: u8,
}

impl Row {
    fn key(addr: IpAddr) -> (u128, bool) {
        match addr {
            IpAddr::V4(a) => (u128::from(a.to_bits()), false),
            IpAddr::V6(a) => (a.to_bits(), true),
        }
    }

    fn hash(addr: u128, port: u16, v6: bool) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = foldhash::fast::FixedState::default().build_hasher();
        h.write_u128(addr);
        h.write_u32(u32::from(port) | (u32::from(v6) << 16));
        h.finish()
    }

    fn address(&self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(std::net::Ipv6Addr::from_bits(self.addr))
        } else {
            // An IPv4 row holds 32 bits.
            IpAddr::V4(std::net::Ipv4Addr::from_bits(self.addr as u32))
        }
    }

    fn client(&self) -> ClientKey {
        ClientKey {
            client: Some(self.address()),
            client_port: self.port,
            if_src: None,
            if_dst: None,
        }
    }

    fn stats(&self) -> Stats {
        Stats {
            flows: self.flows,
            packets: self.packets,
            bytes: self.bytes,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            tcp_flags: self.tcp_flags,
        }
    }

    fn merge(&mut self, s: &Stats) {
        let mut stats = self.stats();
        stats.merge(s);
        self.flows = stats.flows;
        self.packets = stats.packets;
        self.bytes = stats.bytes;
        self.first_seen = stats.first_seen;
        self.last_seen = stats.last_seen;
        self.tcp_flags = stats.tcp_flags;
    }
}

impl Group {
    /// Adds a record; returns the change in the number of rows the group holds.
    #[must_use]
    fn add(&mut self, client: ClientKey, stats: &Stats, cap: usize) -> isize {
        if let Some(folded) = &mut self.folded {
            let (total, sketch) = &mut **folded;
            total.merge(stats);
            if let Some(addr) = client.client {
                sketch.insert(addr);
            }
            return 0;
        }
        let before = self.len();
        self.merge_client(client, stats);
        if self.len() > cap {
            self.fold();
            return 1 - before as isize;
        }
        (self.len() - before) as isize
    }

    /// Merges one client's sums into its row (no cap).
    pub fn merge_client(&mut self, client: ClientKey, stats: &Stats) {
        match client {
            ClientKey {
                client: Some(addr),
                client_port,
                if_src: None,
                if_dst: None,
            } => {
                let (addr, v6) = Row::key(addr);
                let hash = Row::hash(addr, client_port, v6);
                let entry = self.rows.entry(
                    hash,
                    |r| r.addr == addr && r.port == client_port && r.v6 == v6,
                    |r| Row::hash(r.addr, r.port, r.v6),
                );
                match entry {
                    hashbrown::hash_table::Entry::Occupied(mut row) => row.get_mut().merge(stats),
                    hashbrown::hash_table::Entry::Vacant(row) => {
                        row.insert(Row {
                            addr,
                            flows: stats.flows,
                            packets: stats.packets,
                            bytes: stats.bytes,
                            first_seen: stats.first_seen,
                            last_seen: stats.last_seen,
                            port: client_port,
                            v6,
                            tcp_flags: stats.tcp_flags,
                        });
                    }
                }
            }
            client => {
                self.translated
                    .get_or_insert_with(Box::default)
                    .entry(client)
                    .or_default()
                    .merge(stats);
            }
        }
    }

    /// Merges the sums and the sketch of clients counted without their rows.
    pub fn merge_folded(&mut self, stats: &Stats, sketch: &Sketch) {
        let (total, merged) = &mut **self.folded.get_or_insert_with(Box::default);
        total.merge(stats);
        merged.merge(sketch);
    }

    /// The number of exact client rows held (the folded row not counted).
    pub fn len(&self) -> usize {
        self.rows.len() + self.translated.as_ref().map_or(0, |t| t.len())
    }

    /// Whether the group holds no exact client row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The group as the store takes it: exact client rows sorted by client (appended to the last
    /// of `chunks`, or to a new one when they do not fit), and the folded row.
    pub fn into_sealed(
        self,
        key: GroupKey,
        chunks: &mut Vec<Vec<(ClientKey, Stats)>>,
    ) -> SealedGroup {
        let chunk = chunk_for(chunks, self.len());
        let clients = &mut chunks[chunk];
        let start = clients.len();
        clients.extend(self.rows.iter().map(|r| (r.client(), r.stats())));
        if let Some(translated) = self.translated {
            clients.extend(*translated);
        }
        clients[start..].sort_unstable_by(|a, b| a.0.cmp(&b.0));
        SealedGroup {
            key,
            chunk,
            rows: start..clients.len(),
            folded: self.folded.map(|f| *f),
        }
    }

    /// Folds every exact client into the marker row and the sketch.
    pub fn fold(&mut self) {
        let (mut total, mut sketch) = self.folded.take().map(|f| *f).unwrap_or_default();
        for row in self.rows.drain() {
            total.merge(&row.stats());
            sketch.insert(row.address());
        }
        for (client, stats) in self.translated.take().into_iter().flat_map(|t| *t) {
            total.merge(&stats);
            if let Some(addr) = client.client {
                sketch.insert(addr);
            }
        }
        self.folded = Some(Box::new((total, sketch)));
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
    /// Groups taken out of `groups` by `seal`, in key order, ready for the store.
    pub sealed: Vec<SealedGroup>,
    /// The exact client rows of `sealed`, group after group, in chunks of `CHUNK_ROWS` rows (a
    /// larger group has a chunk of its own). A file's rows are a few allocations, which the
    /// store writer frees as it passes them, instead of one per group: those frees, on another
    /// thread than the allocations, were 5 % of the wall time on low-skew data.
    pub sealed_clients: Vec<Vec<(ClientKey, Stats)>>,
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

/// A group as the store takes it: its exact client rows sorted by client, and its folded row.
#[derive(Debug, Clone)]
pub struct SealedGroup {
    pub key: GroupKey,
    /// Where its exact client rows are, sorted by client: `rows` of chunk `chunk` of
    /// `FileEvidence::sealed_clients`.
    pub chunk: usize,
    pub rows: std::ops::Range<usize>,
    pub folded: Option<(Stats, Sketch)>,
}

/// The sums of these client rows, whose addresses are added to `sketch`: what a group keeps of
/// them once folded past the cap.
pub(crate) fn fold_rows(rows: &[(ClientKey, Stats)], sketch: &mut Sketch) -> Stats {
    let mut total = Stats::default();
    for (client, stats) in rows {
        if let Some(addr) = client.client {
            sketch.insert(addr);
        }
        total.merge(stats);
    }
    total
}

/// The chunk of `chunks` that `n` more rows go to: the last one when they fit, else a new one.
fn chunk_for(chunks: &mut Vec<Vec<(ClientKey, Stats)>>, n: usize) -> usize {
    if chunks
        .last()
        .is_none_or(|chunk| chunk.len() + n > chunk.capacity())
    {
        chunks.push(Vec::with_capacity(n.max(CHUNK_ROWS)));
    }
    chunks.len() - 1
}

/// One group of several files (each part's rows sorted by client) as one sealed group, its rows
/// appended to `chunks`: rows of the same client summed, and folded, as `Group::add` folds, when
/// a part was folded or there are more clients than `cap`.
fn merge_groups(
    key: GroupKey,
    parts: &[(SealedGroup, &[(ClientKey, Stats)])],
    cap: usize,
    chunks: &mut Vec<Vec<(ClientKey, Stats)>>,
) -> SealedGroup {
    let n = parts.iter().map(|(_, rows)| rows.len()).sum();
    let chunk = chunk_for(chunks, n);
    let clients = &mut chunks[chunk];
    let start = clients.len();
    for (_, rows) in parts {
        clients.extend_from_slice(rows);
    }
    if parts.len() > 1 {
        // A stable sort finds the parts' sorted runs and merges them.
        clients[start..].sort_by(|a, b| a.0.cmp(&b.0));
        let mut end = start;
        for i in start..clients.len() {
            if end > start && clients[end - 1].0 == clients[i].0 {
                let stats = clients[i].1;
                clients[end - 1].1.merge(&stats);
            } else {
                clients.swap(end, i);
                end += 1;
            }
        }
        clients.truncate(end);
    }
    let mut part_folded = parts.iter().filter_map(|(group, _)| group.folded.as_ref());
    let folded = if part_folded.clone().next().is_some() || clients.len() - start > cap {
        let mut sketch = Sketch::default();
        let mut total = fold_rows(&clients[start..], &mut sketch);
        for (stats, part_sketch) in &mut part_folded {
            total.merge(stats);
            sketch.merge(part_sketch);
        }
        clients.truncate(start);
        Some((total, sketch))
    } else {
        None
    };
    SealedGroup {
        key,
        chunk,
        rows: start..clients.len(),
        folded,
    }
}

/// Client rows per chunk of `FileEvidence::sealed_clients`: 104 KB, under glibc's threshold
/// for mapping an allocation of its own, so chunks come from and go back to the heap. Chunks of
/// 0.85 and 6.8 MB were as fast and held 10 to 20 MB more at peak.
const CHUNK_ROWS: usize = 1_024;

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

    /// Turns the groups into the sorted lists the store merges, on the thread that read the file:
    /// the single store writer is then left with merging and writing. Records added afterwards
    /// go to new groups (sealed by the next call), which the store merges like any other.
    pub fn seal(&mut self) {
        let mut groups: Vec<(GroupKey, Group)> =
            std::mem::take(&mut self.groups).into_iter().collect();
        groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.sealed.reserve(groups.len());
        for (key, group) in groups {
            let sealed = group.into_sealed(key, &mut self.sealed_clients);
            self.sealed.push(sealed);
        }
    }

    /// Merges sealed aggregates of several files into one sealed aggregate, as if their records
    /// had been read here as one file: traffic, coverage and own-address facts. The files' own
    /// counts (records, gaps, malformed lines, versions) are not added: they stay theirs, for
    /// their ledger rows. Own addresses are those of every record of all of them: the store
    /// learns an address as an interface's own only when it was in every record ingested, so
    /// that what it learns does not change (as for any split of records into files, which the
    /// property tests check).
    ///
    /// Each file's groups are sorted already, so the groups are merged in one pass over them
    /// in key order (a heap over the files), and a group's rows by sorting its files' runs.
    /// Before, each row was added to a hash table and everything sorted again: on 200 small
    /// files that was a third of the store writer's time.
    #[must_use]
    pub fn merge_sealed(cap: usize, files: Vec<FileEvidence>) -> FileEvidence {
        let mut out = FileEvidence::new(cap);
        let mut sources = Vec::with_capacity(files.len());
        let mut chunks = Vec::with_capacity(files.len());
        for mut file in files {
            file.seal();
            let index = out.merge_facts(&file);
            let mut groups = std::mem::take(&mut file.sealed);
            for group in &mut groups {
                group.key.interface = index[group.key.interface as usize];
            }
            // In key order again: the numbers of the file's interfaces changed.
            groups.sort_by(|a, b| a.key.cmp(&b.key));
            sources.push(groups.into_iter().peekable());
            chunks.push(file.sealed_clients);
        }
        let mut heap = std::collections::BinaryHeap::new();
        for (i, groups) in sources.iter_mut().enumerate() {
            if let Some(group) = groups.peek() {
                heap.push(std::cmp::Reverse((group.key.clone(), i)));
            }
        }
        let mut parts = Vec::new();
        while let Some(std::cmp::Reverse((key, first))) = heap.pop() {
            parts.clear();
            parts.push(first);
            while let Some(std::cmp::Reverse((next, i))) = heap.peek() {
                if *next != key {
                    break;
                }
                parts.push(*i);
                heap.pop();
            }
            let groups: Vec<(SealedGroup, &[(ClientKey, Stats)])> = parts
                .iter()
                .filter_map(|&i| {
                    let groups = &mut sources[i];
                    let group = groups.next()?;
                    if let Some(next) = groups.peek() {
                        heap.push(std::cmp::Reverse((next.key.clone(), i)));
                    }
                    let rows = &chunks[i][group.chunk][group.rows.clone()];
                    Some((group, rows))
                })
                .collect();
            let sealed = merge_groups(key, &groups, cap, &mut out.sealed_clients);
            out.sealed.push(sealed);
        }
        out
    }

    /// Merges another file's coverage and own-address facts into this one's; returns the number
    /// here of each of its interfaces.
    fn merge_facts(&mut self, other: &FileEvidence) -> Vec<u32> {
        let index: Vec<u32> = other
            .interfaces
            .iter()
            .map(|name| self.interface(name))
            .collect();
        for (facts, &i) in other.facts.iter().zip(&index) {
            let mine = &mut self.facts[i as usize];
            for (day, coverage) in &facts.days {
                mine.day(*day).merge(coverage);
            }
            if facts.own.records > 0 {
                if mine.own.records == 0 {
                    mine.own.addrs.clone_from(&facts.own.addrs);
                } else {
                    mine.own.addrs.retain(|a| facts.own.addrs.contains(a));
                }
                mine.own.records += facts.own.records;
            }
        }
        index
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
            sealed: std::mem::take(&mut self.sealed),
            sealed_clients: std::mem::take(&mut self.sealed_clients),
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
    fn client_rows_keep_every_key_apart_and_come_out_sorted() {
        let v4 = IpAddr::from([192, 0, 2, 7]);
        // The IPv4-mapped and the IPv4-compatible forms of the same four bytes are other clients.
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let compatible: IpAddr = "::192.0.2.7".parse().unwrap();
        let key = |client, port, if_src| ClientKey {
            client: Some(client),
            client_port: port,
            if_src,
            if_dst: None,
        };
        let stats = |flows, first: i64| Stats {
            flows,
            packets: flows * 2,
            bytes: flows * 100,
            first_seen: first,
            last_seen: first + 60,
            tcp_flags: 2,
        };
        let adds = [
            (key(v4, 0, None), stats(1, 100)),
            (key(mapped, 0, None), stats(2, 200)),
            (key(compatible, 0, None), stats(3, 300)),
            (key(v4, 443, None), stats(4, 400)),
            (key(v4, 0, Some(IpAddr::from([10, 0, 0, 1]))), stats(5, 500)),
            (key(v4, 0, None), stats(6, 50)),
            (key(mapped, 0, None), stats(7, 700)),
        ];
        let mut group = Group::default();
        let mut expected: BTreeMap<ClientKey, Stats> = BTreeMap::new();
        for (client, s) in &adds {
            let _ = group.add(client.clone(), s, 100);
            expected.entry(client.clone()).or_default().merge(s);
        }
        assert_eq!(group.len(), 5);
        let mut clients = Vec::new();
        let sealed = group.into_sealed(
            GroupKey {
                interface: 0,
                day: 0,
                protocol: 6,
                action: Action::Accept,
                initiator: Initiator::SrcByFlags,
                direction: 1,
                server: IpAddr::from([10, 0, 0, 9]),
                server_port: 22,
            },
            &mut clients,
        );
        assert_eq!((sealed.chunk, sealed.rows), (0, 0..5));
        assert_eq!(clients, [expected.into_iter().collect::<Vec<_>>()]);
        assert_eq!(
            clients[0][0].1,
            Stats {
                flows: 7,
                packets: 14,
                bytes: 700,
                first_seen: 50,
                last_seen: 160,
                tcp_flags: 2
            }
        );
        assert!(sealed.folded.is_none());
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
        assert!(g.is_empty());
        let (total, sketch) = *g.folded.unwrap();
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
