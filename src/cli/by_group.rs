//! `tighten evidence --by-group` and `--membership`: evidence per security group, and which
//! groups each address belonged to over time.

use std::io::Write;

use super::evidence::{Format, write_table};
use crate::store::attribution::Attribution;
use crate::store::inventory::Inventory;

pub(crate) const BY_GROUP_COLUMNS: [&str; 14] = [
    "group",
    "protocol",
    "port",
    "action",
    "flows",
    "packets",
    "bytes",
    "sources",
    "sources_capped",
    "first_seen",
    "last_seen",
    "interfaces",
    "coverage_days",
    "skipdata_days",
];

pub(crate) fn write_by_group(
    out: &mut impl Write,
    a: &Attribution,
    format: Format,
) -> std::io::Result<()> {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    let rows: Vec<Vec<String>> = a
        .by_group
        .iter()
        .map(|g| {
            vec![
                g.group.clone(),
                opt(g.protocol.map(|p| p.to_string())),
                opt(g.port.map(|p| p.to_string())),
                opt(g.action.map(|a| a.as_str().to_owned())),
                g.flows.to_string(),
                g.packets.to_string(),
                g.bytes.to_string(),
                g.sources.to_string(),
                g.capped.to_string(),
                opt(g.first_seen.map(|t| t.to_string())),
                opt(g.last_seen.map(|t| t.to_string())),
                g.interfaces.len().to_string(),
                g.coverage_days.to_string(),
                g.skipdata_days.to_string(),
            ]
        })
        .collect();
    let unattributed = serde_json::json!({
        "interfaces": a.unattributed_interfaces,
        "records": a.unattributed_records,
    });
    write_table(
        out,
        "tighten-evidence-by-group",
        &BY_GROUP_COLUMNS,
        &rows,
        format,
        Some(("unattributed", unattributed)),
    )
}

/// The hint printed when evidence could not be joined to any group.
pub(crate) fn unattributed_note(a: &Attribution) -> String {
    format!(
        "note: {} records on {} interface{} have no known security groups at the time of their records \
         ({}); they are not attributed to any group. Record AWS::EC2::NetworkInterface in AWS Config and \
         run `tighten ingest aws-config`, or run `tighten ingest ec2`",
        a.unattributed_records,
        a.unattributed_interfaces.len(),
        if a.unattributed_interfaces.len() == 1 {
            ""
        } else {
            "s"
        },
        a.unattributed_interfaces
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
            + if a.unattributed_interfaces.len() > 5 {
                ", …"
            } else {
                ""
            }
    )
}

pub(crate) const MEMBERSHIP_COLUMNS: [&str; 5] =
    ["address", "interface", "groups", "valid_from", "valid_to"];

pub(crate) fn write_membership(
    out: &mut impl Write,
    inventory: &Inventory,
    format: Format,
) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = inventory
        .membership()
        .into_iter()
        .map(|(addr, iface, interval)| {
            vec![
                addr.to_string(),
                iface.to_owned(),
                interval.state.groups.join(" "),
                iso_ms(interval.from_ms),
                interval.to_ms.map_or_else(|| "-".to_owned(), iso_ms),
            ]
        })
        .collect();
    write_table(
        out,
        "tighten-membership",
        &MEMBERSHIP_COLUMNS,
        &rows,
        format,
        None,
    )
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of milliseconds since the epoch.
fn iso_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let day = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        crate::store::evidence::date_of_day(day as i32),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}
