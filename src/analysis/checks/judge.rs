//! Analysis stage: whether the evidence of a rule may be judged at all, shared by the evidence
//! checks. A rule is judged only when its group is linked, had interfaces in the window, every
//! interface-day has complete flow logs, there are at least `min_days` such days, and the rule
//! existed in the deployed group for at least `min_days` of them. Everything else is "no evidence"
//! (SG100), never "unused".

use std::fmt::Write as _;

use super::{CheckCode, Context};
use crate::analysis::Diagnostic;
use crate::analysis::evidence::{GroupCoverage, Link, RuleEvidence, Window};
use crate::analysis::proposal::{EvidenceSummary, Proposal};
use crate::model::{Direction, GroupRef, Rule};

/// A rule whose evidence can be judged.
pub(crate) struct Judged<'a> {
    pub(crate) rule: &'a Rule,
    pub(crate) ev: &'a RuleEvidence,
    pub(crate) cov: &'a GroupCoverage,
    pub(crate) link: Link,
    pub(crate) window: Window,
}

/// Why a rule gets no verdict; `group_level` reasons are reported once per group.
pub(crate) struct NoVerdict {
    pub(crate) group_level: bool,
    pub(crate) reason: String,
}

/// The link of the group of rule `i`.
pub(crate) fn link_of(cx: &Context<'_>, rule: &Rule, i: usize) -> Link {
    let Some(facts) = cx.evidence else {
        return Link::NotLinked {
            reason: "no evidence store".to_owned(),
        };
    };
    match &rule.group {
        GroupRef::Id(id) => Link::Literal { id: id.clone() },
        GroupRef::Address(_) => facts.index.rule_group[i]
            .and_then(|gi| facts.links.get(gi).cloned())
            .unwrap_or(Link::NotLinked {
                reason: "its group is not in the model".to_owned(),
            }),
        GroupRef::Unknown => Link::NotLinked {
            reason: "its group is not known statically".to_owned(),
        },
    }
}

/// The verdict of every ingress rule with evidence facts, in rule order.
pub(crate) fn verdicts<'a>(
    cx: &'a Context<'a>,
) -> impl Iterator<Item = Result<Judged<'a>, (usize, &'a Rule, NoVerdict)>> + 'a {
    let facts = cx.evidence;
    facts
        .into_iter()
        .flat_map(|f| f.rules.values())
        .map(move |ev| {
            let rule = &cx.model.rules[ev.rule];
            judge(cx, rule, ev).map_err(|n| (ev.rule, rule, n))
        })
}

fn judge<'a>(
    cx: &'a Context<'a>,
    rule: &'a Rule,
    ev: &'a RuleEvidence,
) -> Result<Judged<'a>, NoVerdict> {
    let group = |reason: String| NoVerdict {
        group_level: true,
        reason,
    };
    let single = |reason: String| NoVerdict {
        group_level: false,
        reason,
    };
    let facts = cx
        .evidence
        .ok_or_else(|| group("no evidence store".to_owned()))?;
    let min_days = cx.config.evidence.min_days;
    let window = facts
        .window
        .ok_or_else(|| group("the evidence store has no flow logs".to_owned()))?;
    if let Some(why) = &ev.undecidable {
        let group_level = ev.group.is_none();
        return Err(NoVerdict {
            group_level,
            reason: format!("no verdict: {why}"),
        });
    }
    let id = ev.group.as_deref().unwrap_or_default();
    let cov = facts
        .coverage
        .get(id)
        .filter(|c| !c.had.is_empty())
        .ok_or_else(|| {
            group(format!(
                "no evidence: no network interface is known to have had {id} in {} (a fleet \
                 scaled to zero, Lambda or ECS tasks, endpoints — or AWS Config/EC2 data not \
                 ingested for them)",
                window.label()
            ))
        })?;
    if !cov.is_complete() {
        let uncovered = cov.uncovered();
        let days: usize = cov.gaps.values().map(std::collections::BTreeSet::len).sum();
        let mut names = uncovered
            .iter()
            .take(5)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if uncovered.len() > 5 {
            let _ = write!(names, " and {} more", uncovered.len() - 5);
        }
        return Err(group(format!(
            "no evidence: interface(s) {names} of {id} had no complete flow logs on {days} \
             interface-day(s) of {}; nothing is judged until every interface is covered",
            window.label()
        )));
    }
    let complete = cov.complete_days.len();
    if (complete as u64) < u64::from(min_days) {
        return Err(group(format!(
            "insufficient evidence: {id} has {complete} day(s) with complete flow logs in {}, \
             fewer than --min-days {min_days}",
            window.label()
        )));
    }
    if ev.not_deployed {
        return Err(single(format!(
            "no verdict: the rule is not in the latest deployed state of {id} (not applied yet, or \
             changed outside Terraform)"
        )));
    }
    if let Some(at) = ev.appeared_ms {
        let day = at.div_euclid(86_400_000) as i32;
        let judged = cov.complete_days.range(day..).count();
        if (judged as u64) < u64::from(min_days) {
            return Err(single(format!(
                "too new to judge: the rule appeared in {id} on {}, {judged} day(s) with complete \
                 flow logs since, fewer than --min-days {min_days}",
                crate::store::evidence::date_of_day(day)
            )));
        }
    }
    Ok(Judged {
        rule,
        ev,
        cov,
        link: link_of(cx, rule, ev.rule),
        window,
    })
}

impl Judged<'_> {
    /// The evidence numbers of this rule.
    pub(crate) fn summary(&self) -> EvidenceSummary {
        EvidenceSummary::of(
            self.ev,
            &self.link,
            self.window,
            self.cov.complete_days.len() as u64,
            self.cov.had.len() as u64,
        )
    }

    /// A finding with its evidence and, when given, its proposal.
    pub(crate) fn diagnostic(
        &self,
        code: CheckCode,
        message: String,
        help: String,
        proposal: Option<Proposal>,
    ) -> Diagnostic {
        let mut d = Diagnostic::for_rule(code, self.rule, message, help);
        d.evidence = Some(Box::new(self.summary()));
        d.proposal = proposal.map(|p| Box::new((Diagnostic::rule_ref(self.rule), p)));
        d
    }

    /// How many entries a proposal for this rule may become without passing the group's quota.
    pub(crate) fn entry_budget(&self, cx: &Context<'_>, wanted: usize) -> usize {
        let entries = cx
            .model
            .rules
            .iter()
            .filter(|r| {
                r.direction == Direction::Ingress
                    && r.root == self.rule.root
                    && r.group == self.rule.group
            })
            .count();
        let spare = cx.config.evidence.rules_per_group.saturating_sub(entries);
        wanted.min(1 + spare).max(1)
    }
}
