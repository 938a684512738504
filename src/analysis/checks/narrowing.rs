//! Analysis stage: the proposals shared by the narrowing checks — the best k-prefix cover of a
//! rule's observed sources (SG102, SG103) within the budget and the group's rule quota.

use std::net::IpAddr;

use ipnet::IpNet;

use super::Context;
use super::judge::Judged;
use crate::analysis::cover::{CoverLimits, best_covers};
use crate::analysis::proposal::{CoverOption, Proposal, addresses};

/// The cover proposal for a rule whose network is `from`, or `None` without exact sources.
pub(crate) fn cover_proposal(cx: &Context<'_>, j: &Judged<'_>, from: IpNet) -> Option<Proposal> {
    if j.ev.many_sources.is_some() {
        return None;
    }
    let sources: Vec<IpAddr> =
        j.ev.sources
            .keys()
            .copied()
            .filter(|a| from.contains(a))
            .collect();
    if sources.is_empty() {
        return None;
    }
    let settings = &cx.config.evidence;
    let limits = CoverLimits {
        max_prefixes: settings.max_prefixes.max(1),
        shortest: settings.min_prefix_len,
        longest: settings.max_prefix_len,
    };
    let options: Vec<CoverOption> = best_covers(from, &sources, limits)
        .into_iter()
        .enumerate()
        .filter_map(|(i, c)| {
            c.map(|c| CoverOption {
                k: i + 1,
                prefixes: c.prefixes,
                granted: c.granted,
            })
        })
        .collect();
    let budget = j.entry_budget(cx, limits.max_prefixes);
    let chosen = options.iter().rev().find(|o| o.k <= budget)?.clone();
    // A larger budget that grants no fewer addresses is no alternative: list each cover once.
    let mut options = options;
    let mut best = u128::MAX;
    options.retain(|o| {
        let better = o.granted < best;
        best = best.min(o.granted);
        better
    });
    let chosen = options
        .iter()
        .find(|o| o.granted == chosen.granted)
        .cloned()
        .unwrap_or(chosen);
    // Sound by construction; checked again because a proposal that drops a source is the one
    // mistake this product must never make.
    if !sources
        .iter()
        .all(|s| chosen.prefixes.iter().any(|p| p.contains(s)))
        || !chosen.prefixes.iter().all(|p| from.contains(p))
    {
        return None;
    }
    Some(Proposal::ReplaceSources {
        from,
        granted_before: addresses(&from),
        granted_after: chosen.granted,
        observed: sources.len() as u64,
        prefixes: chosen.prefixes,
        options,
    })
}

/// `203.0.113.7/32, 198.51.100.0/30`.
pub(crate) fn list(prefixes: &[IpNet]) -> String {
    prefixes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
