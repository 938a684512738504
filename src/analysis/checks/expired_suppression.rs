//! SG011 expired-suppression: A `tighten:ignore` comment past its expiry date. The findings come from the suppression pass
//! (`analysis::suppress`), which reads the comments; the check itself has nothing to look at.

use super::{CheckCode, Context};
use crate::analysis::{Diagnostic, EvidenceNeed, FixAvailability, Meta, Severity};

/// Metadata.
pub(crate) const META: Meta = Meta {
    code: CheckCode::Sg011,
    name: "expired-suppression",
    summary: "A `tighten:ignore` comment past its expiry date",
    severity: Severity::Warning,
    fix: FixAvailability::None,
    evidence: EvidenceNeed::None,
    docs: include_str!("../../../docs/checks/SG011.md"),
    default_enabled: true,
};

/// Nothing to do on the model: see `analysis::suppress`.
pub(crate) fn check(_cx: &Context<'_>, _out: &mut Vec<Diagnostic>) {}
