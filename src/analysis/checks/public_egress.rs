//! SG012 public-egress: egress to the whole internet. Off by default: it is AWS's default for a
//! new group and most workloads need some of it; enable it where egress must be listed.

use std::collections::HashSet;

use super::{CheckCode, Context};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};
use crate::model::{Direction, Known, Loc};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg012,
    name: "public-egress",
    summary: "Egress to the whole internet",
    severity: Severity::Warning,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG012.md"),
    default_enabled: false,
};

/// Reports each egress entry whose destination is the internet, whatever its ports (an egress
/// rule without protocol or ports is still open to everyone it can reach).
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut seen: HashSet<(String, Loc)> = HashSet::new();
    for r in &cx.model.rules {
        if r.direction != Direction::Egress {
            continue;
        }
        let Known::Known(dest) = &r.source else {
            continue;
        };
        if !cx.is_world(dest) || !seen.insert((r.address.to_string(), r.loc.clone())) {
            continue;
        }
        out.push(Diagnostic::for_rule(
            META.code,
            r,
            format!("egress open to {dest}"),
            "list the destinations the workload needs (a VPC endpoint's prefix list, a proxy, \
             the CIDRs of its dependencies)"
                .to_owned(),
        ));
    }
}
