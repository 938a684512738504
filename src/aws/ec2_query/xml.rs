//! EC2 Query responses, read from their XML: exactly the fields tighten uses of network
//! interfaces, security groups (with their permissions), security group rules, managed prefix
//! lists with entries, and flow logs, plus the page token and the error document. Elements are
//! matched by name wherever they are in their parent; unknown ones are skipped.

use std::borrow::Cow;

use aws_smithy_xml::decode::{Document, ScopedDecoder, XmlDecodeError, try_data};

/// One page of a `Describe*` answer: its items and the token of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// `None` (or absent/empty in the XML) on the last page.
    pub next_token: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            next_token: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct NetworkInterface {
    pub id: Option<String>,
    pub group_ids: Vec<String>,
    /// The primary private address.
    pub private_ip: Option<String>,
    /// Every private address (the primary included), in AWS's order.
    pub private_ips: Vec<String>,
    pub ipv6: Vec<String>,
    pub public_ip: Option<String>,
    pub instance_id: Option<String>,
    pub interface_type: Option<String>,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub owner_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SecurityGroup {
    pub id: Option<String>,
    pub name: Option<String>,
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    pub ingress: Vec<IpPermission>,
    pub egress: Vec<IpPermission>,
}

/// A permission of `DescribeSecurityGroups` (several sources per protocol and port range).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct IpPermission {
    pub protocol: Option<String>,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    /// (CIDR, description) for IPv4 and IPv6 ranges alike.
    pub ranges: Vec<(String, Option<String>)>,
    pub prefix_lists: Vec<(String, Option<String>)>,
    pub groups: Vec<GroupPair>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct GroupPair {
    pub group_id: Option<String>,
    pub user_id: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SecurityGroupRule {
    pub id: Option<String>,
    pub group_id: Option<String>,
    pub is_egress: bool,
    pub protocol: Option<String>,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidr_ipv4: Option<String>,
    pub cidr_ipv6: Option<String>,
    pub prefix_list_id: Option<String>,
    /// The referenced group and its account.
    pub referenced_group: Option<GroupPair>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ManagedPrefixList {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// A flow log as `DescribeFlowLogs` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct FlowLogInfo {
    /// `fl-…`
    pub flow_log_id: Option<String>,
    /// The custom format (`${version} ${account-id} …`); AWS reports the default one too.
    pub log_format: Option<String>,
    /// An S3 bucket ARN (with a prefix) or a Firehose/CloudWatch ARN.
    pub log_destination: Option<String>,
    /// `s3`, `cloud-watch-logs` or `kinesis-data-firehose`.
    pub log_destination_type: Option<String>,
    pub log_group_name: Option<String>,
    /// The VPC, subnet or interface the log is attached to.
    pub resource_id: Option<String>,
    /// `ACCEPT`, `REJECT` or `ALL`.
    pub traffic_type: Option<String>,
}

/// An EC2 error document: `<Response><Errors><Error><Code>…`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ErrorDoc {
    pub code: Option<String>,
    pub message: Option<String>,
}

type Tag<'inp, 'a> = ScopedDecoder<'inp, 'a>;

fn text(tag: &mut Tag<'_, '_>) -> Result<String, XmlDecodeError> {
    try_data(tag).map(Cow::into_owned)
}

/// A present, non-empty text value.
fn opt_text(tag: &mut Tag<'_, '_>) -> Result<Option<String>, XmlDecodeError> {
    let value = text(tag)?;
    Ok((!value.trim().is_empty()).then(|| value.trim().to_owned()))
}

fn number(tag: &mut Tag<'_, '_>) -> Result<Option<i32>, XmlDecodeError> {
    match opt_text(tag)? {
        None => Ok(None),
        Some(value) => value
            .parse()
            .map(Some)
            .map_err(|_| XmlDecodeError::custom(format!("`{value}` is not a number"))),
    }
}

/// The `<item>` children of a list element, each read by `read`.
fn items<T>(
    list: &mut Tag<'_, '_>,
    mut read: impl FnMut(&mut Tag<'_, '_>) -> Result<T, XmlDecodeError>,
) -> Result<Vec<T>, XmlDecodeError> {
    let mut out = Vec::new();
    while let Some(mut item) = list.next_tag() {
        if item.start_el().local() == "item" {
            out.push(read(&mut item)?);
        }
    }
    Ok(out)
}

/// Reads a page of the answer `<{action}Response>` whose items sit in `<{list}><item>…`.
fn page<T>(
    body: &str,
    action: &str,
    list: &str,
    mut read: impl FnMut(&mut Tag<'_, '_>) -> Result<T, XmlDecodeError>,
) -> Result<Page<T>, XmlDecodeError> {
    let mut doc = Document::new(body);
    let mut root = doc.root_element()?;
    let root_name = root.start_el().local();
    if root_name.strip_suffix("Response") != Some(action) {
        return Err(XmlDecodeError::custom(format!(
            "expected a `{action}Response` document, found `<{root_name}>`"
        )));
    }
    let mut out = Page::default();
    while let Some(mut tag) = root.next_tag() {
        let name = tag.start_el().local();
        if name == list {
            out.items.extend(items(&mut tag, &mut read)?);
        } else if name == "nextToken" {
            out.next_token = opt_text(&mut tag)?;
        }
    }
    Ok(out)
}

pub(crate) fn network_interfaces(body: &str) -> Result<Page<NetworkInterface>, XmlDecodeError> {
    page(
        body,
        "DescribeNetworkInterfaces",
        "networkInterfaceSet",
        |item| {
            let mut out = NetworkInterface::default();
            while let Some(mut tag) = item.next_tag() {
                match tag.start_el().local() {
                    "networkInterfaceId" => out.id = opt_text(&mut tag)?,
                    "groupSet" => {
                        out.group_ids = items(&mut tag, |g| field(g, "groupId"))?
                            .into_iter()
                            .flatten()
                            .collect();
                    }
                    "privateIpAddress" => out.private_ip = opt_text(&mut tag)?,
                    "privateIpAddressesSet" => {
                        out.private_ips = items(&mut tag, |a| field(a, "privateIpAddress"))?
                            .into_iter()
                            .flatten()
                            .collect();
                    }
                    "ipv6AddressesSet" => {
                        out.ipv6 = items(&mut tag, |a| field(a, "ipv6Address"))?
                            .into_iter()
                            .flatten()
                            .collect();
                    }
                    "association" => out.public_ip = field(&mut tag, "publicIp")?,
                    "attachment" => out.instance_id = field(&mut tag, "instanceId")?,
                    "interfaceType" => out.interface_type = opt_text(&mut tag)?,
                    "vpcId" => out.vpc_id = opt_text(&mut tag)?,
                    "subnetId" => out.subnet_id = opt_text(&mut tag)?,
                    "ownerId" => out.owner_id = opt_text(&mut tag)?,
                    _ => {}
                }
            }
            Ok(out)
        },
    )
}

/// The text of the child `name` of `parent` (the last one, if repeated).
fn field(parent: &mut Tag<'_, '_>, name: &str) -> Result<Option<String>, XmlDecodeError> {
    let mut out = None;
    while let Some(mut tag) = parent.next_tag() {
        if tag.start_el().local() == name {
            out = opt_text(&mut tag)?;
        }
    }
    Ok(out)
}

pub(crate) fn security_groups(body: &str) -> Result<Page<SecurityGroup>, XmlDecodeError> {
    page(
        body,
        "DescribeSecurityGroups",
        "securityGroupInfo",
        |item| {
            let mut out = SecurityGroup::default();
            while let Some(mut tag) = item.next_tag() {
                match tag.start_el().local() {
                    "groupId" => out.id = opt_text(&mut tag)?,
                    "groupName" => out.name = opt_text(&mut tag)?,
                    "vpcId" => out.vpc_id = opt_text(&mut tag)?,
                    "ownerId" => out.owner_id = opt_text(&mut tag)?,
                    "ipPermissions" => out.ingress = items(&mut tag, ip_permission)?,
                    "ipPermissionsEgress" => out.egress = items(&mut tag, ip_permission)?,
                    _ => {}
                }
            }
            Ok(out)
        },
    )
}

fn ip_permission(item: &mut Tag<'_, '_>) -> Result<IpPermission, XmlDecodeError> {
    let mut out = IpPermission::default();
    while let Some(mut tag) = item.next_tag() {
        match tag.start_el().local() {
            "ipProtocol" => out.protocol = opt_text(&mut tag)?,
            "fromPort" => out.from_port = number(&mut tag)?,
            "toPort" => out.to_port = number(&mut tag)?,
            "ipRanges" => {
                out.ranges.extend(
                    items(&mut tag, |r| described(r, "cidrIp"))?
                        .into_iter()
                        .flatten(),
                );
            }
            "ipv6Ranges" => out.ranges.extend(
                items(&mut tag, |r| described(r, "cidrIpv6"))?
                    .into_iter()
                    .flatten(),
            ),
            "prefixListIds" => out.prefix_lists.extend(
                items(&mut tag, |r| described(r, "prefixListId"))?
                    .into_iter()
                    .flatten(),
            ),
            "groups" => out.groups = items(&mut tag, group_pair)?,
            _ => {}
        }
    }
    Ok(out)
}

/// `(value of key, description)` of an item that has the key.
fn described(
    item: &mut Tag<'_, '_>,
    key: &str,
) -> Result<Option<(String, Option<String>)>, XmlDecodeError> {
    let (mut value, mut description) = (None, None);
    while let Some(mut tag) = item.next_tag() {
        let name = tag.start_el().local();
        if name == key {
            value = opt_text(&mut tag)?;
        } else if name == "description" {
            description = opt_text(&mut tag)?;
        }
    }
    Ok(value.map(|v| (v, description)))
}

fn group_pair(item: &mut Tag<'_, '_>) -> Result<GroupPair, XmlDecodeError> {
    let mut out = GroupPair::default();
    while let Some(mut tag) = item.next_tag() {
        match tag.start_el().local() {
            "groupId" => out.group_id = opt_text(&mut tag)?,
            "userId" => out.user_id = opt_text(&mut tag)?,
            "description" => out.description = opt_text(&mut tag)?,
            _ => {}
        }
    }
    Ok(out)
}

pub(crate) fn security_group_rules(body: &str) -> Result<Page<SecurityGroupRule>, XmlDecodeError> {
    page(
        body,
        "DescribeSecurityGroupRules",
        "securityGroupRuleSet",
        |item| {
            let mut out = SecurityGroupRule::default();
            while let Some(mut tag) = item.next_tag() {
                match tag.start_el().local() {
                    "securityGroupRuleId" => out.id = opt_text(&mut tag)?,
                    "groupId" => out.group_id = opt_text(&mut tag)?,
                    "isEgress" => out.is_egress = opt_text(&mut tag)?.as_deref() == Some("true"),
                    "ipProtocol" => out.protocol = opt_text(&mut tag)?,
                    "fromPort" => out.from_port = number(&mut tag)?,
                    "toPort" => out.to_port = number(&mut tag)?,
                    "cidrIpv4" => out.cidr_ipv4 = opt_text(&mut tag)?,
                    "cidrIpv6" => out.cidr_ipv6 = opt_text(&mut tag)?,
                    "prefixListId" => out.prefix_list_id = opt_text(&mut tag)?,
                    "referencedGroupInfo" => out.referenced_group = Some(group_pair(&mut tag)?),
                    "description" => out.description = opt_text(&mut tag)?,
                    _ => {}
                }
            }
            Ok(out)
        },
    )
}

pub(crate) fn managed_prefix_lists(body: &str) -> Result<Page<ManagedPrefixList>, XmlDecodeError> {
    page(
        body,
        "DescribeManagedPrefixLists",
        "prefixListSet",
        |item| {
            let mut out = ManagedPrefixList::default();
            while let Some(mut tag) = item.next_tag() {
                match tag.start_el().local() {
                    "prefixListId" => out.id = opt_text(&mut tag)?,
                    "prefixListName" => out.name = opt_text(&mut tag)?,
                    _ => {}
                }
            }
            Ok(out)
        },
    )
}

/// The CIDRs of a prefix list's entries (entries without one are skipped).
pub(crate) fn prefix_list_entries(body: &str) -> Result<Page<String>, XmlDecodeError> {
    let page = page(body, "GetManagedPrefixListEntries", "entrySet", |item| {
        field(item, "cidr")
    })?;
    Ok(Page {
        items: page.items.into_iter().flatten().collect(),
        next_token: page.next_token,
    })
}

pub(crate) fn flow_logs(body: &str) -> Result<Page<FlowLogInfo>, XmlDecodeError> {
    page(body, "DescribeFlowLogs", "flowLogSet", |item| {
        let mut out = FlowLogInfo::default();
        while let Some(mut tag) = item.next_tag() {
            let slot = match tag.start_el().local() {
                "flowLogId" => &mut out.flow_log_id,
                "logFormat" => &mut out.log_format,
                "logDestination" => &mut out.log_destination,
                "logDestinationType" => &mut out.log_destination_type,
                "logGroupName" => &mut out.log_group_name,
                "resourceId" => &mut out.resource_id,
                "trafficType" => &mut out.traffic_type,
                _ => continue,
            };
            *slot = opt_text(&mut tag)?;
        }
        Ok(out)
    })
}

/// The first error of an EC2 error document (`<Response><Errors><Error>`), or of a bare
/// `<Error>` (some proxies and stores answer that way). `None`: not an error document.
pub(crate) fn error(body: &str) -> Option<ErrorDoc> {
    fn read_error(error: &mut Tag<'_, '_>) -> Result<ErrorDoc, XmlDecodeError> {
        let mut out = ErrorDoc::default();
        while let Some(mut tag) = error.next_tag() {
            match tag.start_el().local() {
                "Code" => out.code = opt_text(&mut tag)?,
                "Message" => out.message = opt_text(&mut tag)?,
                _ => {}
            }
        }
        Ok(out)
    }
    let mut doc = Document::new(body);
    let mut root = doc.root_element().ok()?;
    if root.start_el().local() == "Error" {
        return read_error(&mut root).ok();
    }
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().local() == "Errors" {
            while let Some(mut error) = tag.next_tag() {
                if error.start_el().local() == "Error" {
                    return read_error(&mut error).ok();
                }
            }
        }
    }
    None
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
