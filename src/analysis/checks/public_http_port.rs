//! SG004 public-http-port: plain-HTTP ports open to the internet.

use super::{CheckCode, Context, hits, public_message};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg004,
    name: "public-http-port",
    summary: "Plain-HTTP port open to the internet",
    severity: Severity::Note,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG004.md"),
    default_enabled: true,
};

/// Reports ingress from the internet to a configured plain-HTTP port.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (rule, p, open) in cx.public_ingress() {
        if cx.all_ports_reported(p, open) {
            continue;
        }
        let h = hits(&cx.config.http_ports, open);
        if h.is_empty() {
            continue;
        }
        out.push(Diagnostic::for_rule(
            META.code,
            rule,
            public_message(rule, "plain-HTTP port", &h),
            "serve HTTPS (443) and redirect at a load balancer; if this port only redirects, \
             suppress with `# tighten:ignore SG004 redirect only`"
                .to_owned(),
        ));
    }
}
