//! AWS Config files: configuration snapshots and history as Config delivers them to S3 (gzip
//! JSON), the API shape (`aws configservice get-resource-config-history` output) and change
//! notifications (see [`super::config_messages`]), turned into observations of network
//! interfaces, instances and security groups.
//!
//! An observation is one configuration item: the state of a resource from its capture time on.
//! Intervals are built from all stored observations when the store is read (sorted by capture
//! time and `configurationStateId`), so files may arrive in any order and repeat.

use std::net::IpAddr;
use std::path::Path;

use serde_json::Value;

use super::IngestError;
use super::config_messages::{Found, OversizedItem, visit};
use super::inventory::{DeployedRule, GroupState, InterfaceState, PrefixListState, RuleSource};

/// Which kind of resource an observation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    Interface,
    Instance,
    Group,
    PrefixList,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Interface => "interface",
            ResourceKind::Instance => "instance",
            ResourceKind::Group => "group",
            ResourceKind::PrefixList => "prefix-list",
        }
    }
}

/// What a configuration item says about its resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ObservedState {
    Interface(InterfaceState),
    /// An instance's interfaces (Config records them inside `AWS::EC2::Instance` items too).
    Instance {
        interfaces: Vec<InterfaceState>,
    },
    Group(GroupState),
    PrefixList(PrefixListState),
}

/// One configuration item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub kind: ResourceKind,
    pub resource_id: String,
    /// Milliseconds since the epoch.
    pub captured_at: i64,
    /// `configurationStateId` (orders items captured in the same millisecond).
    pub state_id: String,
    /// `None`: the resource was deleted (`ResourceDeleted`, configuration null).
    pub state: Option<ObservedState>,
}

/// What one file held.
#[derive(Debug, Default)]
pub struct ConfigRead {
    pub observations: Vec<Observation>,
    /// Items of resource types tighten does not use.
    pub other_items: u64,
    /// Items not recorded (`ResourceNotRecorded`, `ResourceDeletedNotRecorded`).
    pub not_recorded: u64,
    /// Change notifications of oversized items: the items are in S3, not in this file.
    pub oversized: Vec<OversizedItem>,
    /// Config notifications of other kinds (delivery completed, compliance change, …).
    pub other_messages: u64,
}

/// Reads a Config file's bytes (plain or gzip JSON).
pub fn read_config(path: &Path, bytes: &[u8]) -> Result<ConfigRead, IngestError> {
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out)
            .map_err(|e| bad(path, 0, &format!("the gzip data cannot be read ({e})")))?;
        out
    } else {
        bytes.to_vec()
    };
    // One document (a delivered file, API output, an array of notifications) or several (one
    // notification per line, as queues and log exports write them).
    let mut read = ConfigRead::default();
    let mut found = Found::default();
    let mut documents = 0u64;
    let mut stream = serde_json::Deserializer::from_slice(&text).into_iter::<Value>();
    loop {
        let line = line_at(&text, stream.byte_offset());
        let doc = match stream.next() {
            None => break,
            Some(Ok(doc)) => doc,
            Some(Err(e)) => {
                return Err(bad(path, e.line() as u64, &format!("not valid JSON: {e}")));
            }
        };
        documents += 1;
        let mut index = 0usize;
        visit(&doc, &mut found, &mut |item| {
            index += 1;
            item_to_observation(item, &mut read)
                .map_err(|reason| format!("configuration item {index}: {reason}"))
        })
        .map_err(|reason| bad(path, line, &reason))?;
    }
    if documents == 0 {
        return Err(bad(path, 1, "the file holds no JSON document"));
    }
    read.oversized = found.oversized;
    read.other_messages = found.other_messages;
    Ok(read)
}

/// 1-based line of byte `offset` (the start of the next document, after whitespace).
fn line_at(text: &[u8], offset: usize) -> u64 {
    let mut at = offset.min(text.len());
    while at < text.len() && text[at].is_ascii_whitespace() {
        at += 1;
    }
    text[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1
}

fn bad(path: &Path, line: u64, reason: &str) -> IngestError {
    IngestError::NotAwsConfig {
        path: path.to_owned(),
        line: line.max(1),
        reason: reason.to_owned(),
    }
}

fn item_to_observation(item: &Value, read: &mut ConfigRead) -> Result<(), String> {
    let kind = match str_field(item, "resourceType")? {
        "AWS::EC2::NetworkInterface" => ResourceKind::Interface,
        "AWS::EC2::Instance" => ResourceKind::Instance,
        "AWS::EC2::SecurityGroup" => ResourceKind::Group,
        _ => {
            read.other_items += 1;
            return Ok(());
        }
    };
    let status = item
        .get("configurationItemStatus")
        .and_then(Value::as_str)
        .unwrap_or("OK");
    if matches!(status, "ResourceNotRecorded" | "ResourceDeletedNotRecorded") {
        read.not_recorded += 1;
        return Ok(());
    }
    let resource_id = str_field(item, "resourceId")?.to_owned();
    let captured_at = capture_time(item.get("configurationItemCaptureTime"))?;
    let state_id = match item.get("configurationStateId") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => captured_at.to_string(),
    };
    // The delivered files hold the configuration as an object; the API output as a JSON string.
    let configuration = match item.get("configuration") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() || s == "null" => None,
        Some(Value::String(s)) => Some(
            serde_json::from_str::<Value>(s)
                .map_err(|e| format!("`configuration` is a string but not JSON ({e})"))?,
        ),
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err("`configuration` is neither an object nor a JSON string".into()),
    };
    let deleted = status == "ResourceDeleted" || configuration.is_none();
    let state = match (deleted, configuration) {
        (true, _) | (_, None) => None,
        (false, Some(c)) => Some(match kind {
            ResourceKind::Interface => ObservedState::Interface(interface_state(&c, &resource_id)),
            ResourceKind::Instance => ObservedState::Instance {
                interfaces: instance_interfaces(&c),
            },
            // Prefix lists come from EC2 snapshots only; `kind` above never maps a Config item here.
            ResourceKind::Group | ResourceKind::PrefixList => {
                ObservedState::Group(group_state(&c, &resource_id))
            }
        }),
    };
    read.observations.push(Observation {
        kind,
        resource_id,
        captured_at,
        state_id,
        state,
    });
    Ok(())
}

fn str_field<'a>(item: &'a Value, name: &str) -> Result<&'a str, String> {
    item.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{name}` is missing or not a string"))
}

/// `configurationItemCaptureTime`: an ISO 8601 string (delivered files, CLI v2) or epoch
/// seconds as a number (CLI v1). Returns milliseconds.
fn capture_time(value: Option<&Value>) -> Result<i64, String> {
    match value {
        Some(Value::Number(n)) => n
            .as_f64()
            .map(|s| (s * 1000.0).round() as i64)
            .ok_or_else(|| "bad capture time".into()),
        Some(Value::String(s)) => parse_iso8601_ms(s)
            .ok_or_else(|| format!("`configurationItemCaptureTime` `{s}` is not an ISO 8601 time")),
        _ => Err("`configurationItemCaptureTime` is missing".into()),
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)` into milliseconds since the epoch.
pub fn parse_iso8601_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = s.get(start..i)?;
        let padded: String = frac.chars().chain("000".chars()).take(3).collect();
        millis = padded.parse::<i64>().ok()?;
    }
    let offset_minutes = match s.get(i..)? {
        "Z" | "" | "+00:00" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (tz.get(1..3)?.parse::<i64>().ok()? * 60 + tz.get(4..6)?.parse::<i64>().ok()?)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(
        ((days * 86_400 + hour * 3600 + minute * 60 + second) - offset_minutes * 60) * 1000
            + millis,
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn s(v: &Value, name: &str) -> Option<String> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn ip(v: &Value, name: &str) -> Option<IpAddr> {
    v.get(name)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn array<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A network interface from the EC2 `NetworkInterface` shape (camelCase, as Config stores it; the
/// same fields appear inside an instance's `networkInterfaces`).
fn interface_state(c: &Value, fallback_id: &str) -> InterfaceState {
    let mut groups: Vec<String> = array(c, "groups")
        .iter()
        .filter_map(|g| s(g, "groupId"))
        .collect();
    groups.sort();
    groups.dedup();
    let mut private_ipv4: Vec<IpAddr> = Vec::new();
    if let Some(primary) = ip(c, "privateIpAddress") {
        private_ipv4.push(primary);
    }
    let mut public_ipv4 = c.get("association").and_then(|a| ip(a, "publicIp"));
    for entry in array(c, "privateIpAddresses") {
        if let Some(addr) = ip(entry, "privateIpAddress")
            && !private_ipv4.contains(&addr)
        {
            private_ipv4.push(addr);
        }
        if public_ipv4.is_none() {
            public_ipv4 = entry.get("association").and_then(|a| ip(a, "publicIp"));
        }
    }
    let ipv6 = array(c, "ipv6Addresses")
        .iter()
        .filter_map(|a| ip(a, "ipv6Address"))
        .collect();
    InterfaceState {
        interface_id: s(c, "networkInterfaceId").unwrap_or_else(|| fallback_id.to_owned()),
        groups,
        private_ipv4,
        ipv6,
        public_ipv4,
        instance_id: c.get("attachment").and_then(|a| s(a, "instanceId")),
        interface_type: s(c, "interfaceType"),
        vpc_id: s(c, "vpcId"),
        subnet_id: s(c, "subnetId"),
        owner_id: s(c, "ownerId"),
    }
}

fn instance_interfaces(c: &Value) -> Vec<InterfaceState> {
    let instance_id = s(c, "instanceId");
    array(c, "networkInterfaces")
        .iter()
        .filter(|n| n.get("networkInterfaceId").is_some())
        .map(|n| {
            let mut state = interface_state(n, "");
            state.instance_id = state.instance_id.or_else(|| instance_id.clone());
            state.vpc_id = state.vpc_id.or_else(|| s(c, "vpcId"));
            state
        })
        .collect()
}

fn group_state(c: &Value, fallback_id: &str) -> GroupState {
    GroupState {
        group_id: s(c, "groupId").unwrap_or_else(|| fallback_id.to_owned()),
        group_name: s(c, "groupName"),
        vpc_id: s(c, "vpcId"),
        owner_id: s(c, "ownerId"),
        ingress: array(c, "ipPermissions")
            .iter()
            .flat_map(permission_rules)
            .collect(),
        egress: array(c, "ipPermissionsEgress")
            .iter()
            .flat_map(permission_rules)
            .collect(),
    }
}

/// One `IpPermission` expands into one rule entry per source. Config lists IPv4 ranges twice
/// (`ipv4Ranges` and the legacy `ipRanges`): they are counted once.
fn permission_rules(p: &Value) -> Vec<DeployedRule> {
    let protocol = match p.get("ipProtocol").and_then(Value::as_str).unwrap_or("-1") {
        "-1" | "all" => -1,
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmpv6" | "58" => 58,
        other => other.parse().unwrap_or(-1),
    };
    let port = |name: &str| {
        p.get(name)
            .and_then(Value::as_i64)
            .map(|v| v as i32)
            .filter(|_| protocol != -1)
    };
    let (from_port, to_port) = match (port("fromPort"), port("toPort")) {
        (Some(-1), _) | (_, Some(-1)) => (None, None),
        range => range,
    };
    let rule = |source: RuleSource, description: Option<String>| DeployedRule {
        rule_id: None,
        protocol,
        from_port,
        to_port,
        source,
        description,
    };
    let mut rules = Vec::new();
    let ipv4 = array(p, "ipv4Ranges");
    if ipv4.is_empty() {
        for cidr in array(p, "ipRanges") {
            match cidr {
                Value::String(c) => rules.push(rule(RuleSource::Cidr(c.clone()), None)),
                other => {
                    if let Some(c) = s(other, "cidrIp") {
                        rules.push(rule(RuleSource::Cidr(c), s(other, "description")));
                    }
                }
            }
        }
    } else {
        for r in ipv4 {
            if let Some(c) = s(r, "cidrIp") {
                rules.push(rule(RuleSource::Cidr(c), s(r, "description")));
            }
        }
    }
    for r in array(p, "ipv6Ranges") {
        if let Some(c) = s(r, "cidrIpv6") {
            rules.push(rule(RuleSource::Cidr(c), s(r, "description")));
        }
    }
    for r in array(p, "prefixListIds") {
        if let Some(id) = s(r, "prefixListId") {
            rules.push(rule(RuleSource::PrefixList(id), s(r, "description")));
        }
    }
    for r in array(p, "userIdGroupPairs") {
        if let Some(id) = s(r, "groupId") {
            rules.push(rule(RuleSource::Group(id), s(r, "description")));
        }
    }
    rules
}

/// Observations of a live EC2 snapshot taken at `taken_at_ms`: each interface and group holds its
/// state from then on (the newest observation wins where Config data overlaps).
pub fn snapshot_observations(
    taken_at_ms: i64,
    interfaces: Vec<InterfaceState>,
    groups: Vec<GroupState>,
    prefix_lists: Vec<PrefixListState>,
) -> Vec<Observation> {
    let state_id = format!("ec2-snapshot-{taken_at_ms}");
    let interfaces = interfaces.into_iter().map(|i| Observation {
        kind: ResourceKind::Interface,
        resource_id: i.interface_id.clone(),
        captured_at: taken_at_ms,
        state_id: state_id.clone(),
        state: Some(ObservedState::Interface(i)),
    });
    let groups = groups.into_iter().map(|g| Observation {
        kind: ResourceKind::Group,
        resource_id: g.group_id.clone(),
        captured_at: taken_at_ms,
        state_id: state_id.clone(),
        state: Some(ObservedState::Group(g)),
    });
    let prefix_lists = prefix_lists.into_iter().map(|p| Observation {
        kind: ResourceKind::PrefixList,
        resource_id: p.id.clone(),
        captured_at: taken_at_ms,
        state_id: state_id.clone(),
        state: Some(ObservedState::PrefixList(p)),
    });
    interfaces.chain(groups).chain(prefix_lists).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(parse_iso8601_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso8601_ms("2026-10-01T00:00:00.913Z"),
            Some(1_790_812_800_913)
        );
        assert_eq!(
            parse_iso8601_ms("2026-10-01T02:00:00.5+02:00"),
            Some(1_790_812_800_500)
        );
        assert_eq!(
            parse_iso8601_ms("2026-10-01T00:00:00.123456+00:00"),
            Some(1_790_812_800_123)
        );
        assert_eq!(parse_iso8601_ms("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_iso8601_ms("yesterday"), None);
    }

    #[test]
    fn ip_ranges_are_counted_once() {
        let p: Value = serde_json::json!({
            "ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
            "ipv4Ranges": [{"cidrIp": "10.0.0.0/8"}, {"cidrIp": "192.168.0.0/16", "description": "office"}],
            "ipRanges": ["10.0.0.0/8", "192.168.0.0/16"],
            "ipv6Ranges": [{"cidrIpv6": "::/0"}],
            "userIdGroupPairs": [{"groupId": "sg-1", "userId": "123"}],
            "prefixListIds": [{"prefixListId": "pl-1"}]
        });
        let rules = permission_rules(&p);
        let sources: Vec<_> = rules.iter().map(|r| r.source.clone()).collect();
        assert_eq!(
            sources,
            [
                RuleSource::Cidr("10.0.0.0/8".into()),
                RuleSource::Cidr("192.168.0.0/16".into()),
                RuleSource::Cidr("::/0".into()),
                RuleSource::PrefixList("pl-1".into()),
                RuleSource::Group("sg-1".into())
            ]
        );
        assert_eq!(
            (rules[0].protocol, rules[0].from_port, rules[0].to_port),
            (6, Some(22), Some(22))
        );
        assert_eq!(rules[1].description.as_deref(), Some("office"));
        let legacy: Value = serde_json::json!({"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"]});
        let rules = permission_rules(&legacy);
        assert_eq!(rules.len(), 1);
        assert_eq!((rules[0].protocol, rules[0].from_port), (-1, None));
    }
}
