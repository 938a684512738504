//! The check registry: one enum, exhaustive matches. Adding a check without wiring its metadata
//! and its `check` function is a compile error.

mod deployed_drift;
mod duplicate_rule;
mod expired_suppression;
mod insufficient_evidence;
mod invalid_rule;
mod judge;
mod missing_description;
mod mixed_rule_styles;
mod narrowing;
mod public_admin_port;
mod public_all_ports;
mod public_database_port;
mod public_egress;
mod public_http_port;
mod reference_group;
mod shadowed_rule;
mod unallowed_inbound;
mod unused_rule;
mod unused_suppression;
mod wide_cidr;
mod wide_ports;
mod wildcard_sources;

use std::fmt;

use serde::{Serialize, Serializer};

use super::evidence::{EvidenceFacts, Link};
use super::{Config, Diagnostic, EvidenceOutcome, Meta};
use crate::model::{Direction, Known, Model, PortRange, Protocol, Rule, Source};

/// Every check, by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckCode {
    /// Remote-administration port open to the internet.
    Sg001,
    /// Database/cache/search port open to the internet.
    Sg002,
    /// All ports or all protocols open to the internet.
    Sg003,
    /// Plain-HTTP port open to the internet.
    Sg004,
    /// Group or rule without a description.
    Sg005,
    /// Inline rules mixed with standalone rule resources on one group.
    Sg006,
    /// The same rule twice in one group.
    Sg007,
    /// A rule fully covered by another rule of the group.
    Sg008,
    /// A rule AWS rejects or that does not mean what it says.
    Sg009,
    /// A `tighten:ignore` comment that suppressed nothing.
    Sg010,
    /// A `tighten:ignore` comment past its expiry date.
    Sg011,
    /// Egress to the internet (off by default).
    Sg012,
    /// A rule the evidence cannot judge.
    Sg100,
    /// An ingress rule no inbound flow used.
    Sg101,
    /// A wildcard rule used by few sources.
    Sg102,
    /// A CIDR far wider than its sources.
    Sg103,
    /// Ports far wider than those used.
    Sg104,
    /// Sources that all belong to one group.
    Sg105,
    /// Deployed group and Terraform disagree.
    Sg106,
    /// Accepted inbound traffic no rule allows.
    Sg107,
}

impl CheckCode {
    /// All checks in code order.
    pub const ALL: [Self; 20] = [
        Self::Sg001,
        Self::Sg002,
        Self::Sg003,
        Self::Sg004,
        Self::Sg005,
        Self::Sg006,
        Self::Sg007,
        Self::Sg008,
        Self::Sg009,
        Self::Sg010,
        Self::Sg011,
        Self::Sg012,
        Self::Sg100,
        Self::Sg101,
        Self::Sg102,
        Self::Sg103,
        Self::Sg104,
        Self::Sg105,
        Self::Sg106,
        Self::Sg107,
    ];

    /// The check's metadata.
    pub fn meta(self) -> &'static Meta {
        match self {
            Self::Sg001 => &public_admin_port::META,
            Self::Sg002 => &public_database_port::META,
            Self::Sg003 => &public_all_ports::META,
            Self::Sg004 => &public_http_port::META,
            Self::Sg005 => &missing_description::META,
            Self::Sg006 => &mixed_rule_styles::META,
            Self::Sg007 => &duplicate_rule::META,
            Self::Sg008 => &shadowed_rule::META,
            Self::Sg009 => &invalid_rule::META,
            Self::Sg010 => &unused_suppression::META,
            Self::Sg011 => &expired_suppression::META,
            Self::Sg012 => &public_egress::META,
            Self::Sg100 => &insufficient_evidence::META,
            Self::Sg101 => &unused_rule::META,
            Self::Sg102 => &wildcard_sources::META,
            Self::Sg103 => &wide_cidr::META,
            Self::Sg104 => &wide_ports::META,
            Self::Sg105 => &reference_group::META,
            Self::Sg106 => &deployed_drift::META,
            Self::Sg107 => &unallowed_inbound::META,
        }
    }

    /// Runs the check, appending its findings.
    pub(crate) fn run(self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        match self {
            Self::Sg001 => public_admin_port::check(cx, out),
            Self::Sg002 => public_database_port::check(cx, out),
            Self::Sg003 => public_all_ports::check(cx, out),
            Self::Sg004 => public_http_port::check(cx, out),
            Self::Sg005 => missing_description::check(cx, out),
            Self::Sg006 => mixed_rule_styles::check(cx, out),
            Self::Sg007 => duplicate_rule::check(cx, out),
            Self::Sg008 => shadowed_rule::check(cx, out),
            Self::Sg009 => invalid_rule::check(cx, out),
            // Produced by the suppression pass, which sees the comments.
            Self::Sg010 => unused_suppression::check(cx, out),
            Self::Sg011 => expired_suppression::check(cx, out),
            Self::Sg012 => public_egress::check(cx, out),
            Self::Sg100 => insufficient_evidence::check(cx, out),
            Self::Sg101 => unused_rule::check(cx, out),
            Self::Sg102 => wildcard_sources::check(cx, out),
            Self::Sg103 => wide_cidr::check(cx, out),
            Self::Sg104 => wide_ports::check(cx, out),
            Self::Sg105 => reference_group::check(cx, out),
            Self::Sg106 => deployed_drift::check(cx, out),
            Self::Sg107 => unallowed_inbound::check(cx, out),
        }
    }

    /// `SG001` etc.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sg001 => "SG001",
            Self::Sg002 => "SG002",
            Self::Sg003 => "SG003",
            Self::Sg004 => "SG004",
            Self::Sg005 => "SG005",
            Self::Sg006 => "SG006",
            Self::Sg007 => "SG007",
            Self::Sg008 => "SG008",
            Self::Sg009 => "SG009",
            Self::Sg010 => "SG010",
            Self::Sg011 => "SG011",
            Self::Sg012 => "SG012",
            Self::Sg100 => "SG100",
            Self::Sg101 => "SG101",
            Self::Sg102 => "SG102",
            Self::Sg103 => "SG103",
            Self::Sg104 => "SG104",
            Self::Sg105 => "SG105",
            Self::Sg106 => "SG106",
            Self::Sg107 => "SG107",
        }
    }

    /// Parses `SG001` (case-insensitive) or a check name such as `public-admin-port`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()) || c.meta().name == s.trim())
    }
}

impl fmt::Display for CheckCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CheckCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What a check sees.
pub(crate) struct Context<'a> {
    pub(crate) model: &'a Model,
    pub(crate) config: &'a Config,
    /// The evidence joined to the model (`lint --db`); the evidence checks do nothing without it.
    pub(crate) evidence: Option<&'a EvidenceFacts>,
}

/// The summary of what the evidence checks looked at.
pub(crate) fn evidence_outcome(
    model: &Model,
    config: &Config,
    facts: &EvidenceFacts,
) -> EvidenceOutcome {
    let cx = Context {
        model,
        config,
        evidence: Some(facts),
    };
    let mut out = EvidenceOutcome {
        window: facts.window.map(crate::analysis::evidence::Window::label),
        rows: facts.rows_in_window,
        unattributed_flows: facts.unattributed_flows,
        unattributed_interfaces: facts.unattributed_interfaces.iter().cloned().collect(),
        min_days: config.evidence.min_days,
        ..EvidenceOutcome::default()
    };
    for link in &facts.links {
        match link {
            Link::State { .. } => out.linked_by_state += 1,
            Link::Name { .. } => out.linked_by_name += 1,
            Link::Literal { .. } => {}
            Link::NotLinked { .. } => out.not_linked += 1,
        }
    }
    for v in judge::verdicts(&cx) {
        match v {
            Ok(j) => {
                out.rules_judged += 1;
                if wildcard_sources::wildcard(j.rule).is_some()
                    && j.ev.distinct_sources() > config.evidence.wildcard_threshold
                {
                    out.wildcards_accepted += 1;
                }
            }
            Err(_) => out.rules_without_verdict += 1,
        }
    }
    out
}

impl Context<'_> {
    /// Whether `source` counts as the whole internet (`0.0.0.0/0`, `::/0`, or as wide as the
    /// configured threshold).
    pub(crate) fn is_world(&self, source: &Source) -> bool {
        match source {
            Source::Cidr(net) => {
                let max = match net {
                    ipnet::IpNet::V4(_) => self.config.world.ipv4_prefix_max,
                    ipnet::IpNet::V6(_) => self.config.world.ipv6_prefix_max,
                };
                net.prefix_len() <= max
            }
            _ => false,
        }
    }

    /// Known ingress rules from the internet: `(rule, protocol, open port range)`.
    pub(crate) fn public_ingress(&self) -> impl Iterator<Item = (&Rule, Protocol, (u16, u16))> {
        self.model.rules.iter().filter_map(|r| {
            if r.direction != Direction::Ingress {
                return None;
            }
            let (Known::Known(src), Known::Known(p), Known::Known(ports)) =
                (&r.source, &r.protocol, &r.ports)
            else {
                return None;
            };
            if !self.is_world(src) {
                return None;
            }
            let open = ports.effective(*p)?;
            Some((r, *p, open))
        })
    }

    /// Whether SG003 reports this rule (so that the port-specific checks stay quiet on it).
    pub(crate) fn all_ports_reported(&self, p: Protocol, open: (u16, u16)) -> bool {
        self.config.enabled(CheckCode::Sg003) && (p == Protocol::All || open == (0, 65535))
    }
}

/// Ports of `list` that fall in `open`, for messages.
pub(crate) fn hits(list: &[PortRange], open: (u16, u16)) -> Vec<PortRange> {
    list.iter()
        .filter(|r| r.from <= i64::from(open.1) && r.to >= i64::from(open.0))
        .copied()
        .collect()
}

/// `22 (SSH), 3389 (RDP)`.
pub(crate) fn describe_ports(ports: &[PortRange]) -> String {
    ports
        .iter()
        .map(|r| {
            let name = port_name(r.from);
            let num = if r.from == r.to {
                r.from.to_string()
            } else {
                format!("{}-{}", r.from, r.to)
            };
            match name {
                Some(n) => format!("{num} ({n})"),
                None => num,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn port_name(p: i64) -> Option<&'static str> {
    Some(match p {
        21 => "FTP",
        22 => "SSH",
        23 => "Telnet",
        80 => "HTTP",
        135 => "MS RPC",
        445 => "SMB",
        1433 => "SQL Server",
        1521 => "Oracle",
        2375 | 2376 => "Docker API",
        2379 => "etcd",
        3306 => "MySQL",
        3389 => "RDP",
        5432 => "PostgreSQL",
        5900 => "VNC",
        5984 => "CouchDB",
        5985 | 5986 => "WinRM",
        6379 => "Redis",
        7000 | 9042 => "Cassandra",
        8080 => "HTTP alt",
        9200 | 9300 => "Elasticsearch",
        11211 => "Memcached",
        27017 => "MongoDB",
        _ => return None,
    })
}

/// Common text of the public-port checks.
pub(crate) fn public_message(rule: &Rule, what: &str, ports: &[PortRange]) -> String {
    let src = rule
        .source
        .known()
        .map_or_else(String::new, ToString::to_string);
    format!("{what} {} open to {src}", describe_ports(ports))
}
