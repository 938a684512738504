//! Reading the evidence back: every stored row gets its role, decided from all stored facts at
//! once so that the answer does not depend on the order or the split in which files came in.
//!
//! Who opened the connection (the initiator), in this order:
//! 1. tcp-flags: SYN without ACK marks the initiator's packets, SYN-ACK (18, 19) the responder's
//!    (decided at ingest, from the record alone);
//! 2. continuity: a TCP record without SYN/SYN-ACK (a later interval of a long connection) takes the
//!    side of a flag-decided record of the same connection endpoints on the same interface;
//! 3. the port heuristic: a port below 1024 is a service port, one of 32768 or above is ephemeral.
//!
//! Which way the record crossed the interface (the direction):
//! 1. `flow-direction` (version 5+), when present;
//! 2. the interface's own addresses: the destination is its own and the source is not → arriving,
//!    and the reverse → leaving. Own addresses are learned from the records (an address that is
//!    `srcaddr` or `dstaddr` of every record of the interface), unless AWS Config or EC2 knew the
//!    interface then: its private and IPv6 addresses at the time are used instead.
//!
//! Role: leaving → `outbound`; arriving and opened by the remote end → `inbound`; arriving and
//! opened by the interface → `response`; anything not decided → `unknown`. Security groups are
//! stateful: only `inbound` counts as use of an ingress rule.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use super::addr::from_blob;
use super::clients::{decode, merge_sorted};
use super::merge::{damaged, runs_by_group};
use super::{Store, StoreError};
use crate::ingest::flowlog::aggregate::{Initiator, Stats, initiator_by_ports};
use crate::ingest::flowlog::record::Action;
use crate::ingest::sketch::Sketch;

/// The role of a record relative to the interface it was logged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Inbound,
    Response,
    Outbound,
    Unknown,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Inbound => "inbound",
            Role::Response => "response",
            Role::Outbound => "outbound",
            Role::Unknown => "unknown",
        }
    }
}

/// How the initiator was decided; later variants are weaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InitiatorBasis {
    Flags,
    Continuity,
    Port,
    None,
}

/// How the direction was decided; later variants are weaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirectionBasis {
    FlowDirection,
    Address,
    None,
}

/// One row of the evidence contract (see README, "The evidence contract").
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceRow {
    pub interface: String,
    /// Days since 1970-01-01 (UTC) of the records' start.
    pub day: i32,
    pub role: Role,
    pub protocol: u8,
    /// The connection's service port: the destination port of the opening side.
    pub port: u16,
    /// `None`: many sources (the group passed the cap); see `sources`.
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub action: Action,
    pub stats: Stats,
    /// 1 for an exact row; the estimated distinct count for a "many sources" row.
    pub sources: u64,
    pub initiator_basis: InitiatorBasis,
    pub direction_basis: DirectionBasis,
    /// Which end may have opened the connection: the client of a possibly-inbound (`unknown`)
    /// row is that end's address.
    pub opener: Opener,
    /// The lowest and highest port on the other end than `port` (the client ports), over the
    /// records merged into the row: a response whose side was only guessed from the ports may
    /// have been a connection opened to one of them.
    pub other_ports: (u16, u16),
}

/// Which end of a row opened the connection, as far as the records tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Opener {
    /// The record's source (or not decided, where the source is the first guess).
    Src,
    /// The record's destination.
    Dst,
    /// Records merged into the row disagree.
    Either,
}

impl EvidenceRow {
    /// A response whose side was guessed from the ports alone, with a service port that is not
    /// a well-known one (below 1024): without tcp-flags it may as well have been a connection
    /// the remote end opened to one of the interface's `other_ports`. Kept as possibly inbound.
    pub fn guessed_response(&self) -> bool {
        self.role == Role::Response
            && self.initiator_basis == InitiatorBasis::Port
            && self.port >= 1024
    }

    /// The addresses that may have opened the connection as a remote client: the source of an
    /// inbound row or of a guessed response, either end (as the records tell) of an undecided one.
    pub fn possible_clients(&self) -> [Option<IpAddr>; 2] {
        match self.role {
            Role::Inbound | Role::Response => [self.src, None],
            _ => self.opener.clients(self.src, self.dst),
        }
    }
}

impl Opener {
    fn merge(self, other: Opener) -> Opener {
        if self == other { self } else { Opener::Either }
    }

    /// The addresses that may have opened the connection of `row`.
    pub fn clients(self, src: Option<IpAddr>, dst: Option<IpAddr>) -> [Option<IpAddr>; 2] {
        match self {
            Opener::Src => [src, None],
            Opener::Dst => [dst, None],
            Opener::Either => [src, dst],
        }
    }
}

type Key = (
    String,
    i32,
    Role,
    u8,
    u16,
    Option<IpAddr>,
    Option<IpAddr>,
    Action,
);

struct Acc {
    stats: Stats,
    sketch: Option<Sketch>,
    initiator_basis: InitiatorBasis,
    direction_basis: DirectionBasis,
    opener: Opener,
    other_ports: (u16, u16),
}

/// A stored row with its group, as read.
struct Stored {
    interface: String,
    day: i32,
    protocol: u8,
    action: Action,
    initiator: Initiator,
    direction: u8,
    server: Option<IpAddr>,
    server_port: u16,
    sketch: Option<Sketch>,
    client: Option<IpAddr>,
    client_port: u16,
    if_src: Option<IpAddr>,
    if_dst: Option<IpAddr>,
    stats: Stats,
}

impl Store {
    /// Every evidence row, in key order.
    pub fn evidence(&self) -> Result<Vec<EvidenceRow>, StoreError> {
        let inventory = self.inventory()?;
        self.evidence_with(&inventory)
    }

    /// Every evidence row, with the interfaces' addresses taken from `inventory`.
    pub fn evidence_with(
        &self,
        inventory: &super::inventory::Inventory,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        self.evidence_inner(inventory).map_err(|e| self.err(e))
    }

    fn evidence_inner(
        &self,
        inventory: &super::inventory::Inventory,
    ) -> rusqlite::Result<Vec<EvidenceRow>> {
        let rows = self.stored_rows()?;
        let own = self.own_addresses()?;
        // Continuity: (interface, protocol, server, server port, client or None for any).
        let mut decided: HashSet<(&str, u8, IpAddr, u16, Option<IpAddr>)> = HashSet::new();
        for r in &rows {
            if let (Initiator::SrcByFlags | Initiator::DstByFlags, Some(server)) =
                (r.initiator, r.server)
            {
                decided.insert((
                    r.interface.as_str(),
                    r.protocol,
                    server,
                    r.server_port,
                    r.client,
                ));
            }
        }
        let opened = |r: &Stored, server: Option<IpAddr>, port: u16, client: Option<IpAddr>| {
            server.is_some_and(|s| {
                decided.contains(&(r.interface.as_str(), r.protocol, s, port, client))
                    || decided.contains(&(r.interface.as_str(), r.protocol, s, port, None))
            })
        };

        let mut out: BTreeMap<Key, Acc> = BTreeMap::new();
        for r in &rows {
            let (src, sport, dst, dport) = if r.initiator.server_is_src() {
                (r.server, r.server_port, r.client, r.client_port)
            } else {
                (r.client, r.client_port, r.server, r.server_port)
            };
            // Some(true): the record's source opened the connection.
            let (src_opened, initiator_basis) = match r.initiator {
                Initiator::SrcByFlags => (Some(true), InitiatorBasis::Flags),
                Initiator::DstByFlags => (Some(false), InitiatorBasis::Flags),
                Initiator::SrcByPort => (Some(true), InitiatorBasis::Port),
                Initiator::DstByPort => (Some(false), InitiatorBasis::Port),
                Initiator::Unknown => (None, InitiatorBasis::None),
                Initiator::Undecided | Initiator::UndecidedReversed => {
                    let forward = opened(r, dst, dport, src);
                    let backward = opened(r, src, sport, dst);
                    match (forward, backward) {
                        (true, false) => (Some(true), InitiatorBasis::Continuity),
                        (false, true) => (Some(false), InitiatorBasis::Continuity),
                        _ => match initiator_by_ports(sport, dport) {
                            Initiator::SrcByPort => (Some(true), InitiatorBasis::Port),
                            Initiator::DstByPort => (Some(false), InitiatorBasis::Port),
                            _ => (None, InitiatorBasis::None),
                        },
                    }
                }
            };
            let if_src = r.if_src.or(src);
            let if_dst = r.if_dst.or(dst);
            // What AWS Config or EC2 knew of the interface at the time beats what was learned
            // from the records (a host with a single peer has both addresses in every record).
            let known = inventory
                .during(&r.interface, r.stats.first_seen, r.stats.last_seen)
                .next()
                .is_some();
            let is_own = |a: Option<IpAddr>| {
                a.is_some_and(|a| {
                    if known {
                        inventory.owned_during(
                            &r.interface,
                            a,
                            r.stats.first_seen,
                            r.stats.last_seen,
                        )
                    } else {
                        own.contains(&(r.interface.clone(), a))
                    }
                })
            };
            let (arriving, direction_basis) = match r.direction {
                1 => (Some(true), DirectionBasis::FlowDirection),
                2 => (Some(false), DirectionBasis::FlowDirection),
                _ => match (is_own(if_src), is_own(if_dst)) {
                    (false, true) => (Some(true), DirectionBasis::Address),
                    (true, false) => (Some(false), DirectionBasis::Address),
                    _ => (None, DirectionBasis::None),
                },
            };
            let role = match (arriving, src_opened) {
                (Some(false), _) => Role::Outbound,
                (Some(true), Some(true)) => Role::Inbound,
                (Some(true), Some(false)) => Role::Response,
                _ => Role::Unknown,
            };
            let port = if src_opened == Some(false) {
                sport
            } else {
                dport
            };
            let side = if src_opened == Some(false) {
                Opener::Dst
            } else {
                Opener::Src
            };
            let other = if src_opened == Some(false) {
                dport
            } else {
                sport
            };
            let key = (
                r.interface.clone(),
                r.day,
                role,
                r.protocol,
                port,
                src,
                dst,
                r.action,
            );
            let acc = out.entry(key).or_insert_with(|| Acc {
                stats: Stats::default(),
                sketch: None,
                initiator_basis,
                direction_basis,
                opener: side,
                other_ports: (other, other),
            });
            acc.opener = acc.opener.merge(side);
            acc.other_ports = (acc.other_ports.0.min(other), acc.other_ports.1.max(other));
            acc.stats.merge(&r.stats);
            acc.initiator_basis = acc.initiator_basis.max(initiator_basis);
            acc.direction_basis = acc.direction_basis.max(direction_basis);
            if let Some(s) = &r.sketch {
                acc.sketch.get_or_insert_with(Sketch::default).merge(s);
            }
        }
        Ok(out
            .into_iter()
            .map(
                |((interface, day, role, protocol, port, src, dst, action), acc)| EvidenceRow {
                    interface,
                    day,
                    role,
                    protocol,
                    port,
                    src,
                    dst,
                    action,
                    stats: acc.stats,
                    sources: acc.sketch.as_ref().map_or(1, Sketch::estimate),
                    initiator_basis: acc.initiator_basis,
                    direction_basis: acc.direction_basis,
                    opener: acc.opener,
                    other_ports: acc.other_ports,
                },
            )
            .collect())
    }

    fn stored_rows(&self) -> rusqlite::Result<Vec<Stored>> {
        self.write_pending()?;
        let mut stmt = self.conn.prepare(
            "SELECT g.id, i.name, g.day, g.protocol, g.action, g.initiator, g.direction, g.server,
                    g.server_port, g.sketch, g.clients
             FROM source_group AS g JOIN interface AS i ON i.id = g.interface",
        )?;
        let mut runs = runs_by_group(&self.conn)?;
        let mut query = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = query.next()? {
            let id: i64 = r.get(0)?;
            let sketch: Option<Vec<u8>> = r.get(9)?;
            let clients: Vec<u8> = r.get(10)?;
            let mut rows = decode(&clients).ok_or_else(|| damaged(id, "client list"))?;
            if let Some(more) = runs.remove(&id) {
                rows = merge_sorted(rows, more);
            }
            let group = (
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                Action::from_code(r.get(4)?),
                Initiator::from_code(r.get(5)?).ok_or_else(|| damaged(id, "initiator"))?,
                r.get(6)?,
                from_blob(&r.get::<_, Vec<u8>>(7)?),
                r.get(8)?,
            );
            let sketch = sketch.as_deref().and_then(Sketch::from_bytes);
            for (client, stats) in rows {
                out.push(Stored {
                    interface: group.0.clone(),
                    day: group.1,
                    protocol: group.2,
                    action: group.3,
                    initiator: group.4,
                    direction: group.5,
                    server: group.6,
                    server_port: group.7,
                    sketch: sketch.clone(),
                    client: client.client,
                    client_port: client.client_port,
                    if_src: client.if_src,
                    if_dst: client.if_dst,
                    stats,
                });
            }
        }
        Ok(out)
    }

    /// Addresses learned as each interface's own: present in every one of its traffic records.
    pub(crate) fn own_addresses(&self) -> rusqlite::Result<HashSet<(String, IpAddr)>> {
        self.write_pending()?;
        let mut stmt = self.conn.prepare(
            "SELECT a.interface, a.addr FROM interface_address a
             JOIN (SELECT interface, sum(records) AS total FROM coverage GROUP BY interface) c
               ON c.interface = a.interface
             WHERE a.records = c.total",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, from_blob(&r.get::<_, Vec<u8>>(1)?)))
        })?;
        let mut own = HashSet::new();
        for row in rows {
            if let (interface, Some(addr)) = row? {
                own.insert((interface, addr));
            }
        }
        Ok(own)
    }
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01), proleptic Gregorian.
pub fn date_of_day(day: i32) -> String {
    // Howard Hinnant's civil-from-days algorithm.
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::date_of_day;

    #[test]
    fn dates() {
        assert_eq!(date_of_day(0), "1970-01-01");
        assert_eq!(date_of_day(16_657), "2015-08-10");
        assert_eq!(date_of_day(-1), "1969-12-31");
        assert_eq!(date_of_day(11_016), "2000-02-29");
    }
}

/// Inbound use of one service port of one interface, over every day stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortUse {
    pub interface: String,
    pub protocol: u8,
    pub port: u16,
    pub action: Action,
    pub flows: u64,
    /// Distinct sources: exact, or at least this many when a day passed the source cap.
    pub sources: u64,
    pub capped: bool,
    pub first_day: i32,
    pub last_day: i32,
}

/// Sums inbound evidence rows per interface, protocol, port and action.
pub fn inbound_port_use(rows: &[EvidenceRow]) -> Vec<PortUse> {
    // Per key: the sums, the exact sources, and the largest estimate of a capped day.
    type Acc = (PortUse, HashSet<IpAddr>, u64);
    let mut by_port: BTreeMap<(&str, u8, u16, Action), Acc> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.role == Role::Inbound) {
        let key = (row.interface.as_str(), row.protocol, row.port, row.action);
        let (use_, exact, estimated) = by_port.entry(key).or_insert_with(|| {
            let use_ = PortUse {
                interface: row.interface.clone(),
                protocol: row.protocol,
                port: row.port,
                action: row.action,
                flows: 0,
                sources: 0,
                capped: false,
                first_day: row.day,
                last_day: row.day,
            };
            (use_, HashSet::new(), 0)
        });
        use_.flows += row.stats.flows;
        use_.first_day = use_.first_day.min(row.day);
        use_.last_day = use_.last_day.max(row.day);
        if let Some(src) = row.src {
            exact.insert(src);
        } else {
            use_.capped = true;
            *estimated = (*estimated).max(row.sources);
        }
    }
    by_port
        .into_values()
        .map(|(mut use_, exact, estimated)| {
            use_.sources = (exact.len() as u64).max(estimated);
            use_
        })
        .collect()
}
