//! SG009 invalid-rule: combinations AWS rejects or that do not mean what they say.

use super::{CheckCode, Context};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};
use crate::model::{Known, Protocol, Rule};
use crate::terraform::NO_SOURCE;

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg009,
    name: "invalid-rule",
    summary: "Invalid or misleading protocol, port or source combination",
    severity: Severity::Error,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG009.md"),
    default_enabled: true,
};

fn problem(r: &Rule) -> Option<(String, &'static str)> {
    if let Known::Unknown(why) = &r.source {
        if why == NO_SOURCE {
            return Some((
                "the rule names no source (no CIDR, group, prefix list or `self`)".to_owned(),
                "add the source that needs access; AWS rejects a rule without one",
            ));
        }
        if why.contains("is not a valid") {
            return Some((
                why.clone(),
                "write the network as a CIDR such as `10.0.0.0/16`",
            ));
        }
    }
    let (Known::Known(p), Known::Known(ports)) = (&r.protocol, &r.ports) else {
        return None;
    };
    let (from, to) = (ports.from, ports.to);
    match *p {
        Protocol::All if !((from == 0 && to == 0) || (from == -1 && to == -1)) => Some((
            format!("protocol -1 (all) with ports {from}-{to}: all ports are open regardless"),
            "write `from_port = 0` and `to_port = 0` with protocol -1, or name the protocol and ports",
        )),
        p if p.has_ports() && (from < -1 || to > 65535 || from > 65535 || to < -1) => Some((
            format!("ports {from}-{to} are outside 0-65535"),
            "use ports between 0 and 65535",
        )),
        p if p.has_ports() && from > to && to != -1 => Some((
            format!("from_port {from} is greater than to_port {to}"),
            "swap the two ports",
        )),
        p if p.has_ports() && from == 0 && to == 0 => Some((
            format!("{p} with ports 0-0 opens port 0 only"),
            "for every port write `from_port = 0, to_port = 65535`; for every protocol use `protocol = \"-1\"`",
        )),
        p if p.is_icmp() && !((-1..=255).contains(&from) && (-1..=255).contains(&to)) => Some((
            format!("{p} type/code {from}/{to} are not ICMP values (ports do not apply to ICMP)"),
            "for ICMP, `from_port` is the type and `to_port` the code (-1 for all)",
        )),
        _ => None,
    }
}

/// Reports rules with an invalid combination, once per declaration.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut last: Option<(String, crate::model::Loc, String)> = None;
    for r in &cx.model.rules {
        let Some((message, help)) = problem(r) else {
            continue;
        };
        let id = (r.address.to_string(), r.loc.clone(), message.clone());
        if last.as_ref() == Some(&id) {
            continue;
        }
        let mut d = Diagnostic::for_rule(META.code, r, message, help.to_owned());
        if !matches!(&r.source, Known::Unknown(w) if w.contains("is not a valid")) {
            d.loc = r.loc.clone();
        }
        out.push(d);
        last = Some(id);
    }
}
