//! SG104 overwide-ports: a port range, or an all-protocols rule, whose evidence used only a few
//! ports or protocols. Proposes the used ports merged into at most `max_port_ranges` ranges.

use super::judge::verdicts;
use super::{CheckCode, Context};
use crate::analysis::port_cover::best_port_covers;
use crate::analysis::proposal::{Proposal, ProtocolPorts, describe_ports};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};
use crate::model::{Known, Protocol};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg104,
    name: "overwide-ports",
    summary: "Port range or all-protocols rule far wider than the ports used",
    severity: Severity::Warning,
    fix: FixAvailability::Unsafe,
    evidence: EvidenceNeed::FlowLogs,
    docs: include_str!("../../../docs/checks/SG104.md"),
    default_enabled: true,
};

/// Ports and protocols an all-protocols rule grants: every TCP and UDP port, and each of the
/// other 254 protocols counted once.
const ALL_PROTOCOLS: u64 = 2 * 65_536 + 254;

/// Reports used rules whose ports could shrink to what the evidence used.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let settings = &cx.config.evidence;
    let fill = u64::from(settings.max_fill_percent);
    for j in verdicts(cx).flatten() {
        let (Known::Known(protocol), Known::Known(ports)) = (&j.rule.protocol, &j.rule.ports)
        else {
            continue;
        };
        if !j.ev.used() || j.ev.uncertain_ports {
            continue;
        }
        let budget = j.entry_budget(cx, settings.max_port_ranges.max(1));
        let (kept, before) = match protocol {
            Protocol::All => {
                let mut kept = Vec::new();
                let per_protocol = if j.ev.ports.len() > budget { 1 } else { budget };
                for (&p, used) in &j.ev.ports {
                    let protocol = Protocol::Number(p);
                    if protocol.has_ports() {
                        let used: Vec<u16> = used.iter().copied().collect();
                        let covers = best_port_covers((0, 65535), &used, per_protocol);
                        let Some(c) = covers.last() else { continue };
                        kept.push(ProtocolPorts {
                            protocol,
                            ranges: c.ranges.clone(),
                        });
                    } else {
                        kept.push(ProtocolPorts {
                            protocol,
                            ranges: Vec::new(),
                        });
                    }
                }
                (kept, ALL_PROTOCOLS)
            }
            Protocol::Number(number) if protocol.has_ports() => {
                let Some((low, high)) = ports.effective(*protocol) else {
                    continue;
                };
                if low == high {
                    continue;
                }
                let used: Vec<u16> =
                    j.ev.ports
                        .get(number)
                        .into_iter()
                        .flatten()
                        .copied()
                        .filter(|u| (low..=high).contains(u))
                        .collect();
                let covers = best_port_covers((low, high), &used, budget);
                let Some(cover) = covers.last() else { continue };
                (
                    vec![ProtocolPorts {
                        protocol: *protocol,
                        ranges: cover.ranges.clone(),
                    }],
                    u64::from(high - low) + 1,
                )
            }
            Protocol::Number(_) => continue,
        };
        if kept.is_empty() {
            continue;
        }
        let after: u64 = kept
            .iter()
            .map(|k| {
                if k.ranges.is_empty() {
                    1
                } else {
                    k.ranges.iter().map(|(a, b)| u64::from(b - a) + 1).sum()
                }
            })
            .sum();
        if after >= before || after.saturating_mul(100) > before.saturating_mul(fill) {
            continue;
        }
        let used: u64 =
            j.ev.ports
                .iter()
                .map(|(p, ports)| {
                    if Protocol::Number(*p).has_ports() {
                        ports.len() as u64
                    } else {
                        1
                    }
                })
                .sum();
        let text = describe_ports(&kept);
        let message = format!(
            "{} opens {before} port(s); the evidence used {used}: {text} would keep every observed \
             flow",
            j.rule.summary()
        );
        out.push(j.diagnostic(
            META.code,
            message,
            format!("allow only {text}"),
            Some(Proposal::ReplacePorts {
                ports: kept,
                granted_before: before,
                granted_after: after,
                used,
            }),
        ));
    }
}
