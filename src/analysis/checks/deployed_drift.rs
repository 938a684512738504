//! SG106 deployed-drift: the deployed group (latest AWS Config/EC2 state of the linked `sg-…`)
//! and Terraform disagree — a deployed entry Terraform does not define (a console edit), or a
//! Terraform rule missing from the deployed group (not applied, or removed by hand).

use super::{CheckCode, Context};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg106,
    name: "deployed-drift",
    summary: "Deployed group and Terraform disagree",
    severity: Severity::Warning,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::FlowLogs,
    docs: include_str!("../../../docs/checks/SG106.md"),
    default_enabled: true,
};

/// Reports both directions of drift.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let Some(facts) = cx.evidence else { return };
    for (gi, entry) in &facts.deployed_only {
        let g = &cx.model.groups[*gi];
        let id = facts.links[*gi].id().unwrap_or_default();
        out.push(Diagnostic {
            code: META.code,
            severity: cx.config.severity(META.code),
            message: format!("deployed {id} has `{entry}`, which Terraform does not define"),
            loc: g.loc.clone(),
            resource_loc: g.loc.clone(),
            address: g.address.to_string(),
            rule: Some(entry.clone()),
            help: "find who added it (AWS Config history, CloudTrail); define it in Terraform or \
                   let `terraform apply` remove it"
                .to_owned(),
            related: Vec::new(),
            evidence: None,
            proposal: None,
        });
    }
    for ev in facts.rules.values().filter(|e| e.not_deployed) {
        let rule = &cx.model.rules[ev.rule];
        let id = ev.group.as_deref().unwrap_or_default();
        out.push(Diagnostic::for_rule(
            META.code,
            rule,
            format!("this rule is not in the latest deployed state of {id}"),
            "run `terraform plan`: the rule is not applied yet, or it was removed outside \
             Terraform"
                .to_owned(),
        ));
    }
}
