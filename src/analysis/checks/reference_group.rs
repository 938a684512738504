//! SG105 reference-group: every source of a CIDR rule was, at the time of its flows, an address of
//! an interface of one security group. Suggests referencing that group (or `self`) instead.

use super::judge::verdicts;
use super::{CheckCode, Context};
use crate::analysis::proposal::Proposal;
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};
use crate::model::{Known, Source};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg105,
    name: "reference-group",
    summary: "Every source of a CIDR rule belonged to one security group",
    severity: Severity::Note,
    fix: FixAvailability::Unsafe,
    evidence: EvidenceNeed::FlowLogs,
    docs: include_str!("../../../docs/checks/SG105.md"),
    default_enabled: true,
};

/// Suggests a group reference where the sources of a CIDR rule share a group.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let Some(facts) = cx.evidence else { return };
    for j in verdicts(cx).flatten() {
        let Known::Known(Source::Cidr(net)) = &j.rule.source else {
            continue;
        };
        if j.ev.many_sources.is_some() || j.ev.sources.is_empty() {
            continue;
        }
        let Some(common) = &j.ev.common_groups else {
            continue;
        };
        let own = j.ev.group.as_deref();
        // Prefer the rule's own group, then a group defined in the linted code, then any.
        let defined = |id: &str| {
            facts
                .links
                .iter()
                .position(|l| l.id() == Some(id))
                .map(|gi| cx.model.groups[gi].address.to_string())
        };
        let chosen = common
            .iter()
            .find(|g| Some(g.as_str()) == own)
            .or_else(|| common.iter().find(|g| defined(g).is_some()))
            .or_else(|| common.iter().next());
        let Some(group_id) = chosen else { continue };
        let self_group = Some(group_id.as_str()) == own;
        let address = defined(group_id);
        let target = if self_group {
            "`self = true` (the rule's own group)".to_owned()
        } else {
            match &address {
                Some(a) => format!("{group_id} (`{a}`)"),
                None => group_id.clone(),
            }
        };
        let message = format!(
            "all {} source(s) of {net} were members of {target} at the time of their flows",
            j.ev.sources.len()
        );
        out.push(j.diagnostic(
            META.code,
            message,
            format!(
                "reference {target} instead of {net}: the rule then follows the group's members \
                 as they change"
            ),
            Some(Proposal::ReferenceGroup {
                group_id: group_id.clone(),
                address,
                self_group,
            }),
        ));
    }
}
