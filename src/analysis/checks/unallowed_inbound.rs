//! SG107 unallowed-inbound: accepted inbound flows on an interface that no rule of its groups (as
//! Terraform defines them, or as deployed for groups defined elsewhere) allows — a console edit,
//! stale state, or wrong attribution. Reported, never ignored.

use super::{CheckCode, Context};
use crate::analysis::proposal::timestamp;
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};
use crate::model::Protocol;

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg107,
    name: "unallowed-inbound",
    summary: "Accepted inbound traffic that no rule allows",
    severity: Severity::Warning,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::FlowLogs,
    docs: include_str!("../../../docs/checks/SG107.md"),
    default_enabled: true,
};

/// One finding per group, protocol and port.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let Some(facts) = cx.evidence else { return };
    for u in &facts.unallowed {
        let g = &cx.model.groups[u.group];
        let id = facts.links[u.group].id().unwrap_or_default();
        let proto = Protocol::Number(u.protocol);
        let what = if proto.has_ports() {
            format!("{proto} port {}", u.port)
        } else {
            proto.to_string()
        };
        let mut sources: Vec<String> = u.sources.iter().take(5).map(ToString::to_string).collect();
        if u.sources.len() > 5 {
            sources.push(format!("{} more", u.sources.len() - 5));
        }
        out.push(Diagnostic {
            code: META.code,
            severity: cx.config.severity(META.code),
            message: format!(
                "{} accepted inbound flow(s) on {what} from {} source(s) ({}) reached {} \
                 interface(s) of {id} between {} and {}, but no rule of their groups allows them",
                u.flows,
                u.sources.len(),
                sources.join(", "),
                u.interfaces.len(),
                timestamp(u.first_seen),
                timestamp(u.last_seen),
            ),
            loc: g.loc.clone(),
            resource_loc: g.loc.clone(),
            address: g.address.to_string(),
            rule: None,
            help: "check for rules added outside Terraform (AWS Config history), a stale state \
                   file, or interfaces whose groups AWS Config did not record"
                .to_owned(),
            related: Vec::new(),
            evidence: None,
            proposal: None,
        });
    }
}
