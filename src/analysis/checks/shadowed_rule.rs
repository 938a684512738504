//! SG008 shadowed-rule: a rule whose traffic another rule of the same group already allows.

use std::collections::HashMap;

use super::duplicate_rule::key;
use super::{CheckCode, Context};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Related, Severity};
use crate::model::{Protocol, Source};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg008,
    name: "shadowed-rule",
    summary: "A rule fully covered by a broader rule of the same group",
    severity: Severity::Note,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG008.md"),
    default_enabled: true,
};

fn source_covers(wide: &Source, narrow: &Source) -> bool {
    match (wide, narrow) {
        (Source::Cidr(w), Source::Cidr(n)) => w.contains(n),
        (w, n) => w == n,
    }
}

/// Reports each rule covered by a different, broader rule of its group (exact duplicates are
/// SG007's).
pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let keyed: Vec<_> = cx
        .model
        .rules
        .iter()
        .filter_map(|r| key(r).map(|k| (r, k)))
        .collect();
    // Only rules of the same group and direction can cover each other.
    let mut by_group: HashMap<_, Vec<usize>> = HashMap::new();
    for (i, (_, k)) in keyed.iter().enumerate() {
        by_group.entry((k.0, k.1)).or_default().push(i);
    }
    for (r, k) in &keyed {
        let peers = by_group.get(&(k.0, k.1)).map_or(&[][..], Vec::as_slice);
        let covering = peers.iter().map(|i| &keyed[*i]).find(|(_, w)| {
            w != k
                && w.0 == k.0
                && w.1 == k.1
                && (w.2 == Protocol::All || w.2 == k.2)
                && match (w.3, k.3) {
                    (Some(wp), Some(np)) => wp.0 <= np.0 && wp.1 >= np.1,
                    _ => w.2 == Protocol::All || w.3 == k.3,
                }
                && source_covers(w.4, k.4)
        });
        if let Some((wide, _)) = covering {
            let mut d = Diagnostic::for_rule(
                META.code,
                r,
                format!(
                    "{} is already allowed by {} in `{}`",
                    r.summary(),
                    wide.summary(),
                    wide.address
                ),
                "remove the narrower rule, or narrow the broader one".to_owned(),
            );
            d.related.push(Related {
                loc: wide.loc.clone(),
                message: "the broader rule".to_owned(),
            });
            out.push(d);
        }
    }
}
