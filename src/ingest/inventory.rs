//! What AWS says exists: network interfaces and security groups as AWS Config records them or
//! EC2 describes them. Both sources produce these types; the store keeps them as intervals.

use std::net::IpAddr;

/// One state of a network interface: the security groups and addresses it had.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct InterfaceState {
    /// `eni-…`
    pub interface_id: String,
    /// `sg-…`, sorted.
    pub groups: Vec<String>,
    /// Private IPv4 addresses, primary first.
    pub private_ipv4: Vec<IpAddr>,
    pub ipv6: Vec<IpAddr>,
    /// Public IPv4 (association), when any: flow logs show the private address, but NAT'd
    /// records may carry it.
    pub public_ipv4: Option<IpAddr>,
    pub instance_id: Option<String>,
    /// `interface`, `network_load_balancer`, `nat_gateway`, … as AWS names it.
    pub interface_type: Option<String>,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub owner_id: Option<String>,
}

/// A deployed security group and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct GroupState {
    /// `sg-…`
    pub group_id: String,
    pub group_name: Option<String>,
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    pub ingress: Vec<DeployedRule>,
    pub egress: Vec<DeployedRule>,
}

/// One deployed rule entry: one source (AWS counts each CIDR, group or prefix list as an entry).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeployedRule {
    /// `sgr-…` when the source tells (EC2 `DescribeSecurityGroupRules`); Config does not.
    pub rule_id: Option<String>,
    /// IANA protocol number; -1 for all.
    pub protocol: i32,
    /// Port range; `None` for all ports (protocol -1, or ICMP type/code -1).
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub source: RuleSource,
    pub description: Option<String>,
}

/// Where a rule lets traffic come from (ingress) or go to (egress).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum RuleSource {
    /// An IPv4 or IPv6 CIDR, as text (`10.0.0.0/8`, `::/0`).
    Cidr(String),
    /// Another (or the same) security group, `sg-…`, optionally `account/sg-…`.
    Group(String),
    /// A managed prefix list, `pl-…`.
    PrefixList(String),
}

/// A managed prefix list and its entries (what a rule with a `pl-…` source allows).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PrefixListState {
    /// `pl-…`
    pub id: String,
    pub name: Option<String>,
    /// CIDRs, sorted.
    pub entries: Vec<String>,
}
