//! SG007 duplicate-rule: the same protocol, ports and source twice in one group.

use std::collections::HashMap;

use super::{CheckCode, Context};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Related, Severity};
use crate::model::{Direction, GroupRef, Known, Protocol, Rule, Source};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg007,
    name: "duplicate-rule",
    summary: "The same rule twice in one security group",
    severity: Severity::Warning,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG007.md"),
    default_enabled: true,
};

/// The identity of a rule entry as AWS sees it.
pub(crate) type Key<'a> = (
    (&'a std::path::Path, &'a GroupRef),
    Direction,
    Protocol,
    Option<(u16, u16)>,
    &'a Source,
);

/// The AWS identity of `r`, when everything in it is known.
pub(crate) fn key(r: &Rule) -> Option<Key<'_>> {
    if matches!(r.group, GroupRef::Unknown) {
        return None;
    }
    let (Known::Known(p), Known::Known(ports), Known::Known(s)) =
        (&r.protocol, &r.ports, &r.source)
    else {
        return None;
    };
    Some(((&r.root, &r.group), r.direction, *p, ports.effective(*p), s))
}

/// Reports every entry equal to an earlier one of the same group.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut first: HashMap<Key<'_>, &Rule> = HashMap::new();
    for r in &cx.model.rules {
        let Some(k) = key(r) else { continue };
        if let Some(prev) = first.get(&k) {
            let mut d = Diagnostic::for_rule(
                META.code,
                r,
                format!(
                    "duplicate rule: {} is already allowed by `{}`",
                    r.summary(),
                    prev.address
                ),
                "remove one of the two; AWS keeps a single entry and Terraform keeps trying to \
                 create the other"
                    .to_owned(),
            );
            d.related.push(Related {
                loc: prev.loc.clone(),
                message: "first declared here".to_owned(),
            });
            out.push(d);
        } else {
            first.insert(k, r);
        }
    }
}
