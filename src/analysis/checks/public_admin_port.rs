//! SG001 public-admin-port: remote-administration ports (SSH, RDP, `WinRM`, …) open to the internet.

use super::{CheckCode, Context, hits, public_message};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg001,
    name: "public-admin-port",
    summary: "Remote-administration port open to the internet",
    severity: Severity::Error,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG001.md"),
    default_enabled: true,
};

/// Reports ingress from the internet to a configured admin port.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (rule, p, open) in cx.public_ingress() {
        if cx.all_ports_reported(p, open) {
            continue;
        }
        let h = hits(&cx.config.admin_ports, open);
        if h.is_empty() {
            continue;
        }
        out.push(Diagnostic::for_rule(
            META.code,
            rule,
            public_message(rule, "remote-administration port", &h),
            "allow only the addresses that administer this host (a VPN or bastion range, or a \
             security-group reference), or use SSM Session Manager instead of an open port"
                .to_owned(),
        ));
    }
}
