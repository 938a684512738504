//! SG103 overwide-cidr: a rule whose network (not the internet) is far wider than the sources that
//! used it. Proposes the narrowest cover within the prefix budget.

use super::judge::verdicts;
use super::narrowing::{cover_proposal, list};
use super::{CheckCode, Context};
use crate::analysis::proposal::Proposal;
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};
use crate::model::{Known, Source};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg103,
    name: "overwide-cidr",
    summary: "CIDR far wider than the sources that used it",
    severity: Severity::Warning,
    fix: FixAvailability::Unsafe,
    evidence: EvidenceNeed::FlowLogs,
    docs: include_str!("../../../docs/checks/SG103.md"),
    default_enabled: true,
};

/// Reports used CIDR rules whose best cover grants at most `max_fill_percent` of the network.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let fill = u128::from(cx.config.evidence.max_fill_percent);
    for j in verdicts(cx).flatten() {
        let Known::Known(Source::Cidr(net)) = &j.rule.source else {
            continue;
        };
        if net.prefix_len() == 0 || net.prefix_len() == net.max_prefix_len() || !j.ev.used() {
            continue;
        }
        let Some(proposal) = cover_proposal(cx, &j, net.trunc()) else {
            continue;
        };
        let Proposal::ReplaceSources {
            prefixes,
            granted_before,
            granted_after,
            observed,
            ..
        } = &proposal
        else {
            continue;
        };
        if granted_after >= granted_before
            || granted_after.saturating_mul(100) > granted_before.saturating_mul(fill)
        {
            continue;
        }
        let message = format!(
            "{net} grants {granted_before} addresses; its {observed} observed source(s) fit in {} \
             ({granted_after} addresses)",
            list(prefixes)
        );
        out.push(j.diagnostic(
            META.code,
            message,
            format!("replace {net} with {}", list(prefixes)),
            Some(proposal),
        ));
    }
}
