//! SG005 missing-description: a group or rule without a `description`.

use std::collections::HashSet;

use super::{CheckCode, Context};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};
use crate::model::{Known, Loc};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg005,
    name: "missing-description",
    summary: "Security group or rule without a description",
    severity: Severity::Note,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG005.md"),
    default_enabled: true,
};

/// Reports groups and rule declarations (once per block, not per source) without description.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for g in &cx.model.groups {
        if g.description == Known::Known(None) {
            out.push(Diagnostic {
                code: META.code,
                severity: META.severity,
                message: format!("security group `{}` has no description", g.address),
                loc: g.description_loc.clone().unwrap_or_else(|| g.loc.clone()),
                resource_loc: g.loc.clone(),
                address: g.address.to_string(),
                rule: None,
                help: "say what the group is for in `description` (changing it replaces the \
                       group, so plan the change)"
                    .to_owned(),
                related: Vec::new(),
                evidence: None,
                proposal: None,
            });
        }
    }
    let mut seen: HashSet<(String, Loc)> = HashSet::new();
    for r in &cx.model.rules {
        if r.description != Known::Known(None) {
            continue;
        }
        if !seen.insert((r.address.to_string(), r.loc.clone())) {
            continue;
        }
        let mut d = Diagnostic::for_rule(
            META.code,
            r,
            format!("{} rule has no description", direction(r.direction)),
            "say who needs this access and why in `description`".to_owned(),
        );
        d.loc = r.loc.clone();
        out.push(d);
    }
}

fn direction(d: crate::model::Direction) -> &'static str {
    match d {
        crate::model::Direction::Ingress => "ingress",
        crate::model::Direction::Egress => "egress",
    }
}
