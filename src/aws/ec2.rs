//! Live EC2 inventory, read-only: network interfaces, security groups with their rules (and the
//! `sgr-…` ids only `DescribeSecurityGroupRules` gives), and managed prefix lists with entries,
//! for every region asked for. Produces the same inventory types as AWS Config ingest.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::Aws;
use super::ec2_query::{
    self, Action, Failure, Filter, FlowLogInfo, NetworkInterface, SecurityGroup, SecurityGroupRule,
};
use super::error::{AwsError, Call, from_query};
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

/// A flow log's format, as far as reading its records needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowLogFormat {
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
    /// The formats of the flow logs matching `filter` in the first region (`DescribeFlowLogs`,
    /// read-only), sorted by id.
    pub fn flow_log_formats(&self, filter: &FlowLogFilter) -> Result<Vec<FlowLogFormat>, AwsError> {
        let region = self.regions.first().cloned().unwrap_or_default();
        let filter = match filter {
            FlowLogFilter::Ids(ids) => Filter::new("flow-log-id", ids.iter().cloned()),
            FlowLogFilter::LogGroup(group) => Filter::new("log-group-name", [group.clone()]),
        };
        let mut found: Vec<FlowLogFormat> = self
            .describe_flow_logs(&region, &[filter])?
            .into_iter()
            .filter_map(|f| {
                Some(FlowLogFormat {
                    id: f.flow_log_id?,
                    log_format: f.log_format,
                    log_group: f.log_group_name,
                })
            })
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    /// One snapshot per region (in `--region` order).
    pub fn ec2_snapshot(&self) -> Result<Vec<Ec2Snapshot>, AwsError> {
        self.regions
            .iter()
            .map(|region| self.ec2_snapshot_region(region))
            .collect()
    }

    /// The flow logs of `region` that match every filter (`resource-id`, `log-destination-type`,
    /// … as `DescribeFlowLogs` defines them), in AWS's order.
    pub fn describe_flow_logs(
        &self,
        region: &str,
        filters: &[Filter],
    ) -> Result<Vec<FlowLogInfo>, AwsError> {
        let params = ec2_query::filter_params(filters);
        self.runtime
            .block_on(self.ec2.pages(
                region,
                Action::DescribeFlowLogs,
                &params,
                ec2_query::flow_logs,
            ))
            .map_err(|f| self.ec2_error(f, Action::DescribeFlowLogs, region))
    }

    fn ec2_error(&self, failure: Failure, action: Action, region: &str) -> AwsError {
        from_query(
            failure,
            Call {
                operation: action.operation(),
                resource: format!("EC2 in {region}"),
                bucket: None,
                endpoint: self.endpoint_name(),
                limits: self.limits,
            },
        )
    }

    fn ec2_snapshot_region(&self, region: &str) -> Result<Ec2Snapshot, AwsError> {
        let taken_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let client = &self.ec2;
        let error = |action: Action| move |failure| self.ec2_error(failure, action, region);
        self.runtime.block_on(async {
            let action = Action::DescribeNetworkInterfaces;
            let listed = client
                .pages(region, action, &[], ec2_query::network_interfaces)
                .await
                .map_err(error(action))?;
            let mut interfaces = Vec::with_capacity(listed.len());
            for interface in &listed {
                interfaces.push(interface_state(interface).ok_or_else(|| {
                    malformed(
                        action.operation(),
                        region,
                        "an interface without an id or with an unreadable address",
                    )
                })?);
            }
            interfaces.sort_by(|a, b| a.interface_id.cmp(&b.interface_id));

            let action = Action::DescribeSecurityGroups;
            let mut groups = BTreeMap::new();
            let listed = client
                .pages(region, action, &[], ec2_query::security_groups)
                .await
                .map_err(error(action))?;
            for group in &listed {
                let state = group_state(group).ok_or_else(|| {
                    malformed(action.operation(), region, "a group without an id")
                })?;
                groups.insert(state.group_id.clone(), state);
            }

            let action = Action::DescribeSecurityGroupRules;
            let rules = client
                .pages(region, action, &[], ec2_query::security_group_rules)
                .await
                .map_err(error(action))?;
            for rule in &rules {
                let bad = || {
                    malformed(
                        action.operation(),
                        region,
                        "a rule without a group, a protocol or a source",
                    )
                };
                let group_id = rule.group_id.as_deref().ok_or_else(bad)?;
                // A rule of a group created between the two calls: its group comes with the
                // next snapshot.
                let Some(group) = groups.get_mut(group_id) else {
                    continue;
                };
                let deployed = deployed_rule(rule, group.owner_id.as_deref()).ok_or_else(bad)?;
                if rule.is_egress {
                    group.egress.push(deployed);
                } else {
                    group.ingress.push(deployed);
                }
            }

            let action = Action::DescribeManagedPrefixLists;
            let listed = client
                .pages(region, action, &[], ec2_query::managed_prefix_lists)
                .await
                .map_err(error(action))?;
            let mut prefix_lists = Vec::with_capacity(listed.len());
            for list in listed {
                let Some(id) = list.id else {
                    return Err(malformed(
                        action.operation(),
                        region,
                        "a prefix list without an id",
                    ));
                };
                let entries_action = Action::GetManagedPrefixListEntries;
                let mut entries = client
                    .pages(
                        region,
                        entries_action,
                        &[("PrefixListId".to_owned(), id.clone())],
                        ec2_query::prefix_list_entries,
                    )
                    .await
                    .map_err(error(entries_action))?;
                entries.sort();
                entries.dedup();
                prefix_lists.push(PrefixList {
                    id,
                    name: list.name,
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
    let mut groups = interface.group_ids.clone();
    groups.sort();
    groups.dedup();
    // Primary first, then the secondaries in AWS's order.
    let mut private_ipv4: Vec<IpAddr> = Vec::new();
    if let Some(primary) = &interface.private_ip {
        private_ipv4.push(primary.parse().ok()?);
    }
    for text in &interface.private_ips {
        let ip: IpAddr = text.parse().ok()?;
        if !private_ipv4.contains(&ip) {
            private_ipv4.push(ip);
        }
    }
    let ipv6 = interface
        .ipv6
        .iter()
        .map(|text| text.parse())
        .collect::<Result<Vec<IpAddr>, _>>()
        .ok()?;
    let public_ipv4 = match &interface.public_ip {
        Some(text) => Some(text.parse().ok()?),
        None => None,
    };
    Some(InterfaceState {
        interface_id: interface.id.clone()?,
        groups,
        private_ipv4,
        ipv6,
        public_ipv4,
        instance_id: interface.instance_id.clone(),
        interface_type: interface.interface_type.clone(),
        vpc_id: interface.vpc_id.clone(),
        subnet_id: interface.subnet_id.clone(),
        owner_id: interface.owner_id.clone(),
    })
}

fn group_state(group: &SecurityGroup) -> Option<GroupState> {
    Some(GroupState {
        group_id: group.id.clone()?,
        group_name: group.name.clone(),
        vpc_id: group.vpc_id.clone(),
        owner_id: group.owner_id.clone(),
        ingress: Vec::new(),
        egress: Vec::new(),
    })
}

fn deployed_rule(rule: &SecurityGroupRule, group_owner: Option<&str>) -> Option<DeployedRule> {
    let protocol = protocol_number(rule.protocol.as_deref()?)?;
    let source = if let Some(cidr) = rule.cidr_ipv4.as_ref().or(rule.cidr_ipv6.as_ref()) {
        RuleSource::Cidr(cidr.clone())
    } else if let Some(list) = &rule.prefix_list_id {
        RuleSource::PrefixList(list.clone())
    } else {
        let referenced = rule.referenced_group.as_ref()?;
        let group = referenced.group_id.as_deref()?;
        match referenced.user_id.as_deref() {
            Some(account) if Some(account) != group_owner => {
                RuleSource::Group(format!("{account}/{group}"))
            }
            _ => RuleSource::Group(group.to_owned()),
        }
    };
    // All protocols, or ICMP "all types": no port range.
    let port = |p: Option<i32>| p.filter(|&p| p >= 0 && protocol != -1);
    Some(DeployedRule {
        rule_id: rule.id.clone(),
        protocol,
        from_port: port(rule.from_port),
        to_port: port(rule.to_port),
        source,
        description: rule.description.clone().filter(|d| !d.is_empty()),
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
