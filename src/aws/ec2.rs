//! Live EC2 inventory, read-only: network interfaces, security groups with their rules (and the
//! `sgr-…` ids only `DescribeSecurityGroupRules` gives), and managed prefix lists with entries,
//! for every region asked for. Produces the same inventory types as AWS Config ingest.

use std::collections::BTreeMap;
use std::net::IpAddr;

use aws_sdk_ec2::types::{ManagedPrefixList, NetworkInterface, SecurityGroup, SecurityGroupRule};

use super::Aws;
use super::error::{AwsError, Call, from_sdk};
use crate::ingest::inventory::{DeployedRule, GroupState, InterfaceState, RuleSource};

/// A managed prefix list and its CIDRs, as a rule source that names it resolves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PrefixList {
    /// `pl-…`
    pub id: String,
    pub name: Option<String>,
    /// CIDRs, sorted.
    pub entries: Vec<String>,
}

/// What one region looked like at one moment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ec2Snapshot {
    /// Seconds since the epoch when the snapshot began.
    pub taken_at: i64,
    pub region: String,
    /// Sorted by interface id.
    pub interfaces: Vec<InterfaceState>,
    /// Sorted by group id; rules in the order AWS lists them.
    pub groups: Vec<GroupState>,
    /// Sorted by id.
    pub prefix_lists: Vec<PrefixList>,
}

/// A flow log's definition, as far as reading its records needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowLogInfo {
    /// `fl-…`
    pub id: String,
    /// The `LogFormat` string (`${version} ${account-id} …`).
    pub log_format: Option<String>,
    /// The CloudWatch Logs group it delivers to, if it does.
    pub log_group: Option<String>,
}

/// Which flow logs to describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowLogFilter {
    /// By id (the `fl-…` in S3 keys).
    Ids(Vec<String>),
    /// Those delivering to this CloudWatch Logs group.
    LogGroup(String),
}

impl Aws {
    /// The flow logs matching `filter` in the first region (`DescribeFlowLogs`, read-only).
    pub fn describe_flow_logs(&self, filter: &FlowLogFilter) -> Result<Vec<FlowLogInfo>, AwsError> {
        let region = self.regions.first().cloned().unwrap_or_default();
        let client = self.ec2_client(&region);
        let call = || Call {
            operation: "EC2.DescribeFlowLogs",
            resource: format!("EC2 in {region}"),
            bucket: None,
            endpoint: self.endpoint_name(),
            limits: self.limits,
        };
        let request = match filter {
            FlowLogFilter::Ids(ids) => client
                .describe_flow_logs()
                .set_flow_log_ids(Some(ids.clone())),
            FlowLogFilter::LogGroup(group) => client.describe_flow_logs().filter(
                aws_sdk_ec2::types::Filter::builder()
                    .name("log-group-name")
                    .values(group)
                    .build(),
            ),
        };
        self.runtime.block_on(async {
            let mut found = Vec::new();
            let mut pages = request.into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| from_sdk(&e, call()))?;
                for flow_log in page.flow_logs() {
                    let Some(id) = flow_log.flow_log_id() else {
                        continue;
                    };
                    found.push(FlowLogInfo {
                        id: id.to_owned(),
                        log_format: flow_log.log_format().map(str::to_owned),
                        log_group: flow_log.log_group_name().map(str::to_owned),
                    });
                }
            }
            found.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(found)
        })
    }

    /// One snapshot per region (in `--region` order).
    pub fn ec2_snapshot(&self) -> Result<Vec<Ec2Snapshot>, AwsError> {
        self.regions
            .iter()
            .map(|region| self.ec2_snapshot_region(region))
            .collect()
    }

    fn ec2_snapshot_region(&self, region: &str) -> Result<Ec2Snapshot, AwsError> {
        let taken_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let client = self.ec2_client(region);
        let call = |operation: &'static str| Call {
            operation,
            resource: format!("EC2 in {region}"),
            bucket: None,
            endpoint: self.endpoint_name(),
            limits: self.limits,
        };
        self.runtime.block_on(async {
            let mut interfaces = Vec::new();
            let mut pages = client.describe_network_interfaces().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| from_sdk(&e, call("EC2.DescribeNetworkInterfaces")))?;
                for interface in page.network_interfaces() {
                    interfaces.push(interface_state(interface).ok_or_else(|| {
                        malformed(
                            "EC2.DescribeNetworkInterfaces",
                            region,
                            "an interface without an id or with an unreadable address",
                        )
                    })?);
                }
            }
            interfaces.sort_by(|a, b| a.interface_id.cmp(&b.interface_id));

            let mut groups = BTreeMap::new();
            let mut pages = client.describe_security_groups().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| from_sdk(&e, call("EC2.DescribeSecurityGroups")))?;
                for group in page.security_groups() {
                    let state = group_state(group).ok_or_else(|| {
                        malformed(
                            "EC2.DescribeSecurityGroups",
                            region,
                            "a group without an id",
                        )
                    })?;
                    groups.insert(state.group_id.clone(), state);
                }
            }

            let mut pages = client
                .describe_security_group_rules()
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| from_sdk(&e, call("EC2.DescribeSecurityGroupRules")))?;
                for rule in page.security_group_rules() {
                    let bad = || {
                        malformed(
                            "EC2.DescribeSecurityGroupRules",
                            region,
                            "a rule without a group, a protocol or a source",
                        )
                    };
                    let group_id = rule.group_id().ok_or_else(bad)?;
                    // A rule of a group created between the two calls: its group comes with the
                    // next snapshot.
                    let Some(group) = groups.get_mut(group_id) else {
                        continue;
                    };
                    let deployed =
                        deployed_rule(rule, group.owner_id.as_deref()).ok_or_else(bad)?;
                    if rule.is_egress().unwrap_or(false) {
                        group.egress.push(deployed);
                    } else {
                        group.ingress.push(deployed);
                    }
                }
            }

            let mut prefix_lists = Vec::new();
            let mut pages = client
                .describe_managed_prefix_lists()
                .into_paginator()
                .send();
            let mut listed: Vec<ManagedPrefixList> = Vec::new();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| from_sdk(&e, call("EC2.DescribeManagedPrefixLists")))?;
                listed.extend(page.prefix_lists().iter().cloned());
            }
            for list in listed {
                let Some(id) = list.prefix_list_id() else {
                    return Err(malformed(
                        "EC2.DescribeManagedPrefixLists",
                        region,
                        "a prefix list without an id",
                    ));
                };
                let mut entries = Vec::new();
                let mut pages = client
                    .get_managed_prefix_list_entries()
                    .prefix_list_id(id)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page =
                        page.map_err(|e| from_sdk(&e, call("EC2.GetManagedPrefixListEntries")))?;
                    entries.extend(
                        page.entries()
                            .iter()
                            .filter_map(|e| e.cidr().map(str::to_owned)),
                    );
                }
                entries.sort();
                entries.dedup();
                prefix_lists.push(PrefixList {
                    id: id.to_owned(),
                    name: list.prefix_list_name().map(str::to_owned),
                    entries,
                });
            }
            prefix_lists.sort_by(|a, b| a.id.cmp(&b.id));

            Ok(Ec2Snapshot {
                taken_at,
                region: region.to_owned(),
                interfaces,
                groups: groups.into_values().collect(),
                prefix_lists,
            })
        })
    }
}

fn malformed(operation: &'static str, region: &str, detail: &str) -> AwsError {
    AwsError::Malformed {
        operation,
        resource: format!("EC2 in {region}"),
        detail: detail.to_owned(),
    }
}

fn interface_state(interface: &NetworkInterface) -> Option<InterfaceState> {
    let mut groups: Vec<String> = interface
        .groups()
        .iter()
        .filter_map(|g| g.group_id().map(str::to_owned))
        .collect();
    groups.sort();
    groups.dedup();
    // Primary first, then the secondaries in AWS's order.
    let mut private_ipv4: Vec<IpAddr> = Vec::new();
    if let Some(primary) = interface.private_ip_address() {
        private_ipv4.push(primary.parse().ok()?);
    }
    for address in interface.private_ip_addresses() {
        if let Some(text) = address.private_ip_address() {
            let ip: IpAddr = text.parse().ok()?;
            if !private_ipv4.contains(&ip) {
                private_ipv4.push(ip);
            }
        }
    }
    let ipv6 = interface
        .ipv6_addresses()
        .iter()
        .filter_map(|a| a.ipv6_address())
        .map(str::parse)
        .collect::<Result<Vec<IpAddr>, _>>()
        .ok()?;
    let public_ipv4 = match interface.association().and_then(|a| a.public_ip()) {
        Some(text) => Some(text.parse().ok()?),
        None => None,
    };
    Some(InterfaceState {
        interface_id: interface.network_interface_id()?.to_owned(),
        groups,
        private_ipv4,
        ipv6,
        public_ipv4,
        instance_id: interface
            .attachment()
            .and_then(|a| a.instance_id())
            .map(str::to_owned),
        interface_type: interface.interface_type().map(|t| t.as_str().to_owned()),
        vpc_id: interface.vpc_id().map(str::to_owned),
        subnet_id: interface.subnet_id().map(str::to_owned),
        owner_id: interface.owner_id().map(str::to_owned),
    })
}

fn group_state(group: &SecurityGroup) -> Option<GroupState> {
    Some(GroupState {
        group_id: group.group_id()?.to_owned(),
        group_name: group.group_name().map(str::to_owned),
        vpc_id: group.vpc_id().map(str::to_owned),
        owner_id: group.owner_id().map(str::to_owned),
        ingress: Vec::new(),
        egress: Vec::new(),
    })
}

fn deployed_rule(rule: &SecurityGroupRule, group_owner: Option<&str>) -> Option<DeployedRule> {
    let protocol = protocol_number(rule.ip_protocol()?)?;
    let source = if let Some(cidr) = rule.cidr_ipv4().or(rule.cidr_ipv6()) {
        RuleSource::Cidr(cidr.to_owned())
    } else if let Some(list) = rule.prefix_list_id() {
        RuleSource::PrefixList(list.to_owned())
    } else {
        let referenced = rule.referenced_group_info()?;
        let group = referenced.group_id()?;
        match referenced.user_id() {
            Some(account) if Some(account) != group_owner => {
                RuleSource::Group(format!("{account}/{group}"))
            }
            _ => RuleSource::Group(group.to_owned()),
        }
    };
    // All protocols, or ICMP "all types": no port range.
    let port = |p: Option<i32>| p.filter(|&p| p >= 0 && protocol != -1);
    Some(DeployedRule {
        rule_id: rule.security_group_rule_id().map(str::to_owned),
        protocol,
        from_port: port(rule.from_port()),
        to_port: port(rule.to_port()),
        source,
        description: rule
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
    })
}

/// EC2 answers with names for the common protocols and numbers for the rest.
fn protocol_number(text: &str) -> Option<i32> {
    match text.to_ascii_lowercase().as_str() {
        "-1" | "all" => Some(-1),
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmp" => Some(1),
        "icmpv6" => Some(58),
        other => other.parse().ok().filter(|n| (0..=255).contains(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_normalise_to_numbers() {
        for (text, number) in [
            ("-1", Some(-1)),
            ("tcp", Some(6)),
            ("UDP", Some(17)),
            ("icmp", Some(1)),
            ("icmpv6", Some(58)),
            ("50", Some(50)),
            ("256", None),
            ("sctp", None),
        ] {
            assert_eq!(protocol_number(text), number, "{text}");
        }
    }
}
