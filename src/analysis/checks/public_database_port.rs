//! SG002 public-database-port: database, cache and search ports open to the internet.

use super::{CheckCode, Context, hits, public_message};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg002,
    name: "public-database-port",
    summary: "Database, cache or search port open to the internet",
    severity: Severity::Error,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG002.md"),
    default_enabled: true,
};

/// Reports ingress from the internet to a configured data-store port.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (rule, p, open) in cx.public_ingress() {
        if cx.all_ports_reported(p, open) {
            continue;
        }
        let h = hits(&cx.config.database_ports, open);
        if h.is_empty() {
            continue;
        }
        out.push(Diagnostic::for_rule(
            META.code,
            rule,
            public_message(rule, "data-store port", &h),
            "allow only the application tier, by security-group reference rather than by CIDR"
                .to_owned(),
        ));
    }
}
