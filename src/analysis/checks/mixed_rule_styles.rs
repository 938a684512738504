//! SG006 mixed-rule-styles: inline `ingress`/`egress` rules and standalone rule resources on the
//! same group. Terraform then rewrites the group's rules on every apply.

use std::collections::HashSet;

use super::{CheckCode, Context};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Related, Severity};
use crate::model::{GroupRef, RuleStyle};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg006,
    name: "mixed-rule-styles",
    summary: "Inline rules mixed with standalone rule resources on one group",
    severity: Severity::Warning,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG006.md"),
    default_enabled: true,
};

/// Reports each standalone rule resource attached to a group that also has inline rules.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    for r in &cx.model.rules {
        if r.style == RuleStyle::Inline {
            continue;
        }
        let GroupRef::Address(addr) = &r.group else {
            continue;
        };
        let Some(g) = cx.model.group(&r.root, addr) else {
            continue;
        };
        if !g.has_inline_rules || !seen.insert(r.address.to_string()) {
            continue;
        }
        let mut d = Diagnostic::for_rule(
            META.code,
            r,
            format!(
                "`{}` adds a rule to `{addr}`, which also declares inline rules",
                r.address
            ),
            "declare every rule of a group in one style: all inline blocks, or all \
             standalone rule resources"
                .to_owned(),
        );
        d.loc = r.loc.clone();
        d.related.push(Related {
            loc: g.loc.clone(),
            message: "the group with inline rules".to_owned(),
        });
        out.push(d);
    }
}
