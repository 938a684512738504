//! SG102 wildcard-few-sources: a `0.0.0.0/0` or `::/0` rule that few distinct sources used.
//! Proposes the narrowest cover of those sources; above `wildcard_threshold` the wildcard is kept.

use ipnet::IpNet;

use super::judge::verdicts;
use super::narrowing::{cover_proposal, list};
use super::{CheckCode, Context};
use crate::analysis::proposal::Proposal;
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};
use crate::model::{Known, Source};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg102,
    name: "wildcard-few-sources",
    summary: "Internet-wide rule used by only a few sources",
    severity: Severity::Warning,
    fix: FixAvailability::Unsafe,
    evidence: EvidenceNeed::FlowLogs,
    docs: include_str!("../../../docs/checks/SG102.md"),
    default_enabled: true,
};

/// The wildcard network of a rule, when its source is one.
pub(crate) fn wildcard(rule: &crate::model::Rule) -> Option<IpNet> {
    match &rule.source {
        Known::Known(Source::Cidr(n)) if n.prefix_len() == 0 => Some(*n),
        _ => None,
    }
}

/// Reports used wildcard rules with at most `wildcard_threshold` distinct sources.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let threshold = cx.config.evidence.wildcard_threshold;
    for j in verdicts(cx).flatten() {
        let Some(net) = wildcard(j.rule) else {
            continue;
        };
        if !j.ev.used() || j.ev.distinct_sources() > threshold {
            continue;
        }
        let Some(proposal) = cover_proposal(cx, &j, net) else {
            continue;
        };
        let Proposal::ReplaceSources {
            prefixes,
            granted_after,
            observed,
            ..
        } = &proposal
        else {
            continue;
        };
        let message = format!(
            "{net} is used by only {observed} source(s) (threshold {threshold}); {} would keep \
             every observed flow and grant {granted_after} address(es)",
            list(prefixes)
        );
        out.push(j.diagnostic(
            META.code,
            message,
            format!(
                "replace {net} with {}; the cover table in the evidence lists other budgets",
                list(prefixes)
            ),
            Some(proposal),
        ));
    }
}
