//! Analysis stage: proposals as data (remove a rule, replace its sources, replace its ports,
//! reference a group) and the evidence numbers behind a finding. The fix stage turns a proposal
//! into edits; renderers show both. Nothing here is prose that a later stage would parse.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Serialize;

use super::evidence::{Link, RuleEvidence, Window};
use crate::model::{Loc, Protocol};
use crate::store::evidence::date_of_day;

/// Which model rule a proposal is about (its identity survives re-evaluation of the same files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    /// Root module directory.
    pub root: PathBuf,
    /// Terraform address of the declaring resource instance.
    pub address: String,
    /// Index of the entry among those its declaration expands to.
    pub entry: usize,
    /// The declaring block, list element or resource.
    pub loc: Loc,
}

/// One row of the cover table: the best cover with at most `k` prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverOption {
    pub k: usize,
    pub prefixes: Vec<IpNet>,
    /// Addresses the prefixes grant.
    #[serde(serialize_with = "big")]
    pub granted: u128,
}

/// A count of addresses: a JSON number up to 2^53 (exact in every JSON reader), a decimal string
/// beyond (an IPv6 /64 alone holds 2^64).
fn big<S: serde::Serializer>(n: &u128, s: S) -> Result<S::Ok, S::Error> {
    if *n <= 1 << 53 {
        s.serialize_u64(*n as u64)
    } else {
        s.serialize_str(&n.to_string())
    }
}

/// The ports one protocol keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtocolPorts {
    pub protocol: Protocol,
    /// Inclusive ranges; empty for a protocol without ports (the whole protocol is kept).
    pub ranges: Vec<(u16, u16)>,
}

/// What a finding proposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Proposal {
    /// Delete the rule entry.
    RemoveRule,
    /// Replace the rule's network by these prefixes (each inside it).
    ReplaceSources {
        /// The rule's network.
        from: IpNet,
        /// The chosen cover.
        prefixes: Vec<IpNet>,
        /// Addresses the rule grants now.
        #[serde(serialize_with = "big")]
        granted_before: u128,
        /// Addresses the chosen cover grants.
        #[serde(serialize_with = "big")]
        granted_after: u128,
        /// Distinct sources observed.
        observed: u64,
        /// The best cover for every budget k = 1..K, so a reviewer can pick another.
        options: Vec<CoverOption>,
    },
    /// Replace the rule's protocol and ports by these.
    ReplacePorts {
        ports: Vec<ProtocolPorts>,
        /// Ports the rule opens now (per protocol with ports; a protocol without ports counts 1).
        granted_before: u64,
        granted_after: u64,
        /// Distinct ports (or protocols) used.
        used: u64,
    },
    /// Reference a security group instead of addresses.
    ReferenceGroup {
        /// The deployed group every source belonged to.
        group_id: String,
        /// Its Terraform address, when the group is defined in the linted code.
        address: Option<String>,
        /// The group is the rule's own (`self = true`).
        self_group: bool,
    },
}

/// A source and its flows, for the top-sources list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopSource {
    pub address: IpAddr,
    pub flows: u64,
    pub last_seen: String,
}

/// The evidence behind a finding about one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceSummary {
    /// `YYYY-MM-DD..YYYY-MM-DD`.
    pub window: String,
    /// How the rule's group was linked.
    pub link: &'static str,
    /// The deployed group id.
    pub group_id: Option<String>,
    /// Inbound accepted flows the rule allowed.
    pub flows: u64,
    /// Flows of undecided role (possibly inbound) it allowed; they count as use.
    pub possibly_inbound_flows: u64,
    /// Distinct sources (exact unless `sources_estimated`).
    pub sources: u64,
    pub sources_estimated: bool,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Whole days from the last matching flow to the end of the window.
    pub days_since_last_seen: Option<i64>,
    /// Days with matching traffic.
    pub days_with_traffic: u64,
    /// Days on which every interface of the group had complete flow logs.
    pub coverage_days: u64,
    /// Interfaces that had the group in the window.
    pub interfaces: u64,
    /// Interfaces whose matching traffic was seen.
    pub interfaces_with_traffic: u64,
    /// Busiest sources first (at most five).
    pub top_sources: Vec<TopSource>,
    /// Rejected flows on the rule's ports (context only).
    pub rejects: u64,
}

impl EvidenceSummary {
    /// Summarises `ev` for a finding.
    pub fn of(
        ev: &RuleEvidence,
        link: &Link,
        window: Window,
        coverage_days: u64,
        interfaces: u64,
    ) -> Self {
        let mut top: Vec<(&IpAddr, &super::evidence::SourceUse)> = ev.sources.iter().collect();
        top.sort_by(|a, b| b.1.flows.cmp(&a.1.flows).then(a.0.cmp(b.0)));
        Self {
            window: window.label(),
            link: link.how(),
            group_id: ev.group.clone(),
            flows: ev.flows,
            possibly_inbound_flows: ev.possible_flows,
            sources: ev.distinct_sources(),
            sources_estimated: ev.many_sources.is_some(),
            first_seen: ev.first_seen.map(timestamp),
            last_seen: ev.last_seen.map(timestamp),
            days_since_last_seen: ev
                .last_seen
                .map(|t| (i64::from(window.until) - t.div_euclid(86_400)).max(0)),
            days_with_traffic: ev.days.len() as u64,
            coverage_days,
            interfaces,
            interfaces_with_traffic: ev.interfaces.len() as u64,
            top_sources: top
                .into_iter()
                .take(5)
                .map(|(a, s)| TopSource {
                    address: *a,
                    flows: s.flows,
                    last_seen: timestamp(s.last_seen),
                })
                .collect(),
            rejects: ev.rejects,
        }
    }

    /// One line: `12 flows from 3 sources on 5 of 30 days, last 2026-10-20T…; 30 days covered`.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{} inbound flow(s) from {}{} source(s) on {} day(s)",
            self.flows,
            if self.sources_estimated { "~" } else { "" },
            self.sources,
            self.days_with_traffic,
        );
        if self.possibly_inbound_flows > 0 {
            let _ = write!(
                s,
                ", plus {} flow(s) of undecided direction counted as possibly inbound",
                self.possibly_inbound_flows
            );
        }
        if let Some(last) = &self.last_seen {
            let _ = write!(s, ", last seen {last}");
        }
        let _ = write!(
            s,
            "; window {}, {} day(s) with complete flow logs on {} interface(s)",
            self.window, self.coverage_days, self.interfaces
        );
        if let Some(g) = &self.group_id {
            let _ = write!(s, "; group {g} linked by {}", self.link);
        }
        s
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of seconds since the epoch.
pub fn timestamp(t: i64) -> String {
    let day = t.div_euclid(86_400) as i32;
    let s = t.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date_of_day(day),
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Addresses in a network, saturating at `u128::MAX` for `::/0`.
pub fn addresses(net: &IpNet) -> u128 {
    let bits = u32::from(net.max_prefix_len() - net.prefix_len());
    1u128.checked_shl(bits).unwrap_or(u128::MAX)
}

/// `tcp 22, 443-444; udp 53; icmp`.
pub fn describe_ports(kept: &[ProtocolPorts]) -> String {
    kept.iter()
        .map(|k| {
            if k.ranges.is_empty() {
                k.protocol.to_string()
            } else {
                let ranges = k
                    .ranges
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("{} {ranges}", k.protocol)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_counts_beyond_2_53_are_json_strings() {
        let from: IpNet = "::/0".parse().unwrap();
        let p = Proposal::ReplaceSources {
            from,
            prefixes: vec!["2001:db8::/64".parse().unwrap()],
            granted_before: addresses(&from),
            granted_after: addresses(&"2001:db8::/64".parse().unwrap()),
            observed: 2,
            options: vec![CoverOption {
                k: 1,
                prefixes: vec!["10.0.0.0/8".parse().unwrap()],
                granted: 1 << 24,
            }],
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["granted_before"], u128::MAX.to_string());
        assert_eq!(v["granted_after"], "18446744073709551616");
        assert_eq!(v["options"][0]["granted"], 16_777_216);
    }
}
