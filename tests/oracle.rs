//! The evidence CSV of a generated record set equals an independent aggregation of the same
//! records, computed here record by record from the rules documented in README.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use common::{Rec, evidence_csv, realistic, succeed, tighten, write_v5};

const DAY: i64 = 86_400;

fn role_rank(role: &str) -> u8 {
    ["inbound", "response", "outbound", "unknown"]
        .iter()
        .position(|r| *r == role)
        .unwrap() as u8
}

fn basis_rank(basis: &str) -> usize {
    [
        "flags",
        "continuity",
        "port",
        "none",
        "flow-direction",
        "address",
    ]
    .iter()
    .position(|b| *b == basis)
    .unwrap()
}

/// The port heuristic as README states it: < 1024 service, >= 32768 ephemeral, between registered.
fn by_ports(sport: u16, dport: u16) -> Option<bool> {
    let class = |p: u16| {
        if p == 0 {
            3
        } else if p < 1024 {
            0
        } else if p < 32768 {
            1
        } else {
            2
        }
    };
    let (s, d) = (class(sport), class(dport));
    if s == 3 || d == 3 || s == d {
        None
    } else {
        Some(d < s)
    }
}

fn date(day: i64) -> String {
    // Days to civil date by stepping through years and months (slow and obviously right).
    let mut days = day;
    let mut year = 1970;
    loop {
        let len = if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
            366
        } else {
            365
        };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let months = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while days >= months[month] {
        days -= months[month];
        month += 1;
    }
    format!("{year:04}-{:02}-{:02}", month + 1, days + 1)
}

#[derive(Default)]
struct Acc {
    flows: u64,
    packets: u64,
    bytes: u64,
    first: i64,
    last: i64,
    flags: u8,
    initiator_basis: &'static str,
    direction_basis: &'static str,
}

type Key = (String, i64, u8, u8, u16, IpAddr, IpAddr, u8);

fn oracle(recs: &[Rec]) -> String {
    let traffic: Vec<&Rec> = recs.iter().filter(|r| r.gap.is_none()).collect();
    // Own addresses: present in every record of the interface.
    let mut per_iface: HashMap<&str, (usize, HashMap<&str, usize>)> = HashMap::new();
    for r in &traffic {
        let e = per_iface.entry(&r.interface).or_default();
        e.0 += 1;
        *e.1.entry(&r.src).or_default() += 1;
        if r.dst != r.src {
            *e.1.entry(&r.dst).or_default() += 1;
        }
    }
    let own =
        |iface: &str, addr: &str| per_iface[iface].1.get(addr).copied() == Some(per_iface[iface].0);
    // Connections whose opening was seen in tcp-flags: (iface, client, server, server port).
    let mut opened: HashSet<(&str, &str, &str, u16)> = HashSet::new();
    for r in traffic.iter().filter(|r| r.protocol == 6) {
        match r.flags {
            Some(f) if f & 0x12 == 0x12 => opened.insert((&r.interface, &r.dst, &r.src, r.sport)),
            Some(f) if f & 2 != 0 => opened.insert((&r.interface, &r.src, &r.dst, r.dport)),
            _ => false,
        };
    }
    let mut out: BTreeMap<Key, Acc> = BTreeMap::new();
    for r in traffic {
        let (src_opened, ib) = match (r.protocol, r.flags) {
            (6, Some(f)) if f & 0x12 == 0x12 => (Some(false), "flags"),
            (6, Some(f)) if f & 2 != 0 => (Some(true), "flags"),
            (6, Some(_)) => {
                let fwd = opened.contains(&(
                    r.interface.as_str(),
                    r.src.as_str(),
                    r.dst.as_str(),
                    r.dport,
                ));
                let bwd = opened.contains(&(
                    r.interface.as_str(),
                    r.dst.as_str(),
                    r.src.as_str(),
                    r.sport,
                ));
                match (fwd, bwd) {
                    (true, false) => (Some(true), "continuity"),
                    (false, true) => (Some(false), "continuity"),
                    _ => by_ports(r.sport, r.dport).map_or((None, "none"), |o| (Some(o), "port")),
                }
            }
            _ => by_ports(r.sport, r.dport).map_or((None, "none"), |o| (Some(o), "port")),
        };
        let (arriving, db) = match r.direction {
            "ingress" => (Some(true), "flow-direction"),
            "egress" => (Some(false), "flow-direction"),
            _ => match (own(&r.interface, &r.src), own(&r.interface, &r.dst)) {
                (false, true) => (Some(true), "address"),
                (true, false) => (Some(false), "address"),
                _ => (None, "none"),
            },
        };
        let role = match (arriving, src_opened) {
            (Some(false), _) => "outbound",
            (Some(true), Some(true)) => "inbound",
            (Some(true), Some(false)) => "response",
            _ => "unknown",
        };
        let port = if src_opened == Some(false) {
            r.sport
        } else {
            r.dport
        };
        let action = match r.action {
            "ACCEPT" => 0,
            "REJECT" => 1,
            _ => 2,
        };
        let key = (
            r.interface.clone(),
            r.start.div_euclid(DAY),
            role_rank(role),
            r.protocol,
            port,
            r.src.parse().unwrap(),
            r.dst.parse().unwrap(),
            action,
        );
        let a = out.entry(key).or_insert_with(|| Acc {
            first: i64::MAX,
            last: i64::MIN,
            initiator_basis: ib,
            direction_basis: db,
            ..Acc::default()
        });
        a.flows += 1;
        a.packets += r.packets;
        a.bytes += r.bytes;
        a.first = a.first.min(r.start);
        a.last = a.last.max(r.start + 60);
        a.flags |= r.flags.unwrap_or(0);
        if basis_rank(ib) > basis_rank(a.initiator_basis) {
            a.initiator_basis = ib;
        }
        if basis_rank(db) > basis_rank(a.direction_basis) {
            a.direction_basis = db;
        }
    }
    let mut csv = String::from(
        "interface,day,role,protocol,port,src,dst,action,flows,packets,bytes,first_seen,last_seen,tcp_flags,sources,initiator_basis,direction_basis\n",
    );
    for ((iface, day, role, proto, port, src, dst, action), a) in out {
        let role = ["inbound", "response", "outbound", "unknown"][role as usize];
        let action = ["ACCEPT", "REJECT", "-"][action as usize];
        writeln!(
            csv,
            "{iface},{},{role},{proto},{port},{src},{dst},{action},{},{},{},{},{},{},1,{},{}",
            date(day),
            a.flows,
            a.packets,
            a.bytes,
            a.first,
            a.last,
            a.flags,
            a.initiator_basis,
            a.direction_basis
        )
        .unwrap();
    }
    csv
}

#[test]
fn evidence_equals_an_independent_aggregation() {
    let recs = realistic(42, 4000);
    let dir = tempfile::tempdir().unwrap();
    let chunk = recs.len() / 3 + 1;
    for (i, part) in recs.chunks(chunk).enumerate() {
        let name = if i % 2 == 0 {
            format!("part-{i}.log.gz")
        } else {
            format!("part-{i}.log")
        };
        write_v5(&dir.path().join("logs").join(name), part);
    }
    let db = dir.path().join("e.db");
    succeed(
        tighten()
            .args(["ingest", "flow-logs", "--db"])
            .arg(&db)
            .arg(dir.path().join("logs")),
    );
    let ours = evidence_csv(&db);
    let theirs = oracle(&recs);
    assert!(
        ours.lines().count() > 1000,
        "a meaningful amount of evidence"
    );
    for role in ["inbound", "response", "outbound", "unknown"] {
        assert!(
            ours.contains(&format!(",{role},")),
            "the set exercises role {role}"
        );
    }
    for basis in [
        ",flags,",
        ",continuity,",
        ",port,",
        ",address",
        ",flow-direction",
    ] {
        assert!(ours.contains(basis), "the set exercises basis {basis}");
    }
    if ours != theirs {
        let diff: Vec<_> = ours
            .lines()
            .zip(theirs.lines())
            .filter(|(a, b)| a != b)
            .take(5)
            .collect();
        panic!(
            "evidence differs from the oracle ({} vs {} lines); first differences: {diff:#?}",
            ours.lines().count(),
            theirs.lines().count()
        );
    }
}
