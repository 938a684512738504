//! SG100 insufficient-evidence: a rule the evidence checks cannot judge, and why (its group is not
//! linked, had no interfaces, lacks flow logs on some interface-days, too few days, the rule is too
//! new or not deployed). A note: "no evidence" is never "unused".

use std::collections::BTreeSet;

use super::judge::verdicts;
use super::{CheckCode, Context};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg100,
    name: "insufficient-evidence",
    summary: "Rule the evidence cannot judge (no coverage, not linked, too new)",
    severity: Severity::Note,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::FlowLogs,
    docs: include_str!("../../../docs/checks/SG100.md"),
    default_enabled: true,
};

/// One note per group for reasons that hold for the whole group, one per rule otherwise.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let Some(facts) = cx.evidence else { return };
    let mut groups_done: BTreeSet<usize> = BTreeSet::new();
    let mut rules_of: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for i in facts.rules.keys() {
        if let Some(g) = facts.index.rule_group[*i] {
            *rules_of.entry(g).or_default() += 1;
        }
    }
    for verdict in verdicts(cx) {
        let Err((index, rule, no)) = verdict else {
            continue;
        };
        let group = facts.index.rule_group[index];
        match group {
            Some(gi) if no.group_level => {
                if !groups_done.insert(gi) {
                    continue;
                }
                let g = &cx.model.groups[gi];
                let rules = rules_of.get(&gi).copied().unwrap_or(0);
                out.push(Diagnostic {
                    code: META.code,
                    severity: META.severity,
                    message: format!(
                        "{} ingress rule(s) of `{}` not judged: {}",
                        rules, g.address, no.reason
                    ),
                    loc: g.loc.clone(),
                    resource_loc: g.loc.clone(),
                    address: g.address.to_string(),
                    rule: None,
                    help: help(&no.reason),
                    related: Vec::new(),
                    evidence: None,
                    proposal: None,
                });
            }
            _ => {
                let mut d =
                    Diagnostic::for_rule(META.code, rule, no.reason.clone(), help(&no.reason));
                d.loc = rule.loc.clone();
                out.push(d);
            }
        }
    }
}

fn help(reason: &str) -> String {
    if reason.contains("not linked") {
        "pass the state with --state (or `terraform show -json` output), or ingest AWS Config/EC2 \
         data that names the deployed group"
            .to_owned()
    } else if reason.contains("no complete flow logs") {
        "enable flow logs on every interface of the group (or ingest the missing days) and run again"
            .to_owned()
    } else if reason.contains("no network interface") {
        "ingest AWS Config (`tighten ingest aws-config`) or an EC2 snapshot (`tighten ingest ec2`) \
         covering the window"
            .to_owned()
    } else if reason.contains("--min-days") {
        "collect more days of flow logs, or lower --min-days (or `min_days` in tighten.toml)"
            .to_owned()
    } else {
        "nothing to change; this rule is judged once the evidence allows it".to_owned()
    }
}
