//! SG003 public-all-ports: every port, or every protocol, open to the internet.

use super::{CheckCode, Context};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};
use crate::model::Protocol;

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg003,
    name: "public-all-ports",
    summary: "All ports or all protocols open to the internet",
    severity: Severity::Error,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG003.md"),
    default_enabled: true,
};

/// Reports ingress from the internet to every port of a protocol, or to every protocol.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (rule, p, open) in cx.public_ingress() {
        if p != Protocol::All && open != (0, 65535) {
            continue;
        }
        let src = rule
            .source
            .known()
            .map_or_else(String::new, ToString::to_string);
        let what = if p == Protocol::All {
            "all protocols and ports".to_owned()
        } else {
            format!("all {p} ports")
        };
        out.push(Diagnostic::for_rule(
            META.code,
            rule,
            format!("{what} open to {src}"),
            "open only the ports the service listens on, to the sources that use them".to_owned(),
        ));
    }
}
