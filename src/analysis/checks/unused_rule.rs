//! SG101 unused-rule: an ingress rule that no inbound flow used in a window in which every
//! interface of its group had complete flow logs. Proposes removing it.

use std::fmt::Write as _;

use super::judge::verdicts;
use super::{CheckCode, Context};
use crate::analysis::proposal::Proposal;
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg101,
    name: "unused-rule",
    summary: "Ingress rule no inbound flow used in a fully covered window",
    severity: Severity::Warning,
    fix: FixAvailability::Unsafe,
    evidence: EvidenceNeed::FlowLogs,
    docs: include_str!("../../../docs/checks/SG101.md"),
    default_enabled: true,
};

/// Reports judged rules without any matching inbound or possibly-inbound flow.
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for j in verdicts(cx).flatten() {
        if j.ev.used() {
            continue;
        }
        let days = j.cov.complete_days.len();
        let mut message = format!(
            "no inbound traffic used this rule in {days} day(s) of complete flow logs ({}, {} \
             interface(s))",
            j.window.label(),
            j.cov.had.len()
        );
        if j.ev.rejects > 0 {
            let _ = write!(
                message,
                "; {} REJECTed flow(s) on its ports came from other sources",
                j.ev.rejects
            );
        }
        out.push(
            j.diagnostic(
                META.code,
                message,
                "remove the rule; if it serves something rarer than the window (a quarterly job, \
             disaster recovery), keep it with `# tighten:ignore SG101 <reason>`"
                    .to_owned(),
                Some(Proposal::RemoveRule),
            ),
        );
    }
}
