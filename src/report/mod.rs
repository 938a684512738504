//! Report stage: one file per output format, all rendering the same [`Report`]. Renderers
//! compute nothing about security groups; they place findings in files and format them.

pub mod github;
pub mod html;
pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::analysis::{Diagnostic, Outcome, Severity};
use crate::model::Loc;
use crate::terraform::{LoadError, SourceFile};

/// Everything a renderer needs.
pub struct Report<'a> {
    /// Findings and counts.
    pub outcome: &'a Outcome,
    /// Source files, for positions and snippets.
    pub files: &'a [SourceFile],
    /// Input errors (syntax errors, unreadable files).
    pub errors: &'a [LoadError],
    /// Counts about the input.
    pub stats: Stats,
}

/// Counts about the input, for summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Terraform files read.
    pub files: usize,
    /// Security groups in the model.
    pub groups: usize,
    /// Rule entries in the model.
    pub rules: usize,
    /// `count`/`for_each`/`dynamic` collections or module inputs that could not be evaluated.
    pub unknown_expansions: usize,
    /// The state file linked, if any.
    pub state: Option<PathBuf>,
    /// Groups linked to a deployed id through state.
    pub linked_groups: usize,
}

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
}

impl Report<'_> {
    fn texts(&self) -> HashMap<&Path, &str> {
        self.files
            .iter()
            .map(|f| (f.path.as_path(), f.text.as_str()))
            .collect()
    }

    /// Start and end positions of `loc`.
    pub fn positions(&self, loc: &Loc) -> (Position, Position) {
        let texts = self.texts();
        let text = texts.get(loc.file.as_path()).copied().unwrap_or_default();
        (
            position(text, loc.bytes.start),
            position(text, loc.bytes.end),
        )
    }

    /// Findings per severity: `(error, warning, note)`.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |s: Severity| {
            self.outcome
                .diagnostics
                .iter()
                .filter(|d| d.severity == s)
                .count()
        };
        (n(Severity::Error), n(Severity::Warning), n(Severity::Note))
    }

    fn text_of(&self, file: &Path) -> &str {
        self.files
            .iter()
            .find(|f| f.path == file)
            .map_or("", |f| f.text.as_str())
    }
}

/// Position of byte `offset` in `text` (clamped to the text).
pub fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

/// A path as a forward-slash string for output.
/// Notes about the input that are neither findings nor errors: `(file, line, column, message)`.
pub(crate) fn input_notes(files: &[SourceFile]) -> Vec<(String, usize, usize, String)> {
    let mut out = Vec::new();
    for f in files {
        for r in &f.repeated_keys {
            let lines: Vec<String> = r.dropped.iter().map(ToString::to_string).collect();
            out.push((
                display_path(&f.path),
                r.line,
                r.column,
                format!(
                    "object key `{}` is also given on line {}; Terraform keeps the last value, \
                     and so does tighten",
                    r.key,
                    lines.join(", ")
                ),
            ));
        }
    }
    out
}

pub fn display_path(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// The part of `loc` on its first line (so that a whole-block span labels the block's head).
pub(crate) fn head(text: &str, loc: &Loc) -> std::ops::Range<usize> {
    let boundary = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = boundary(loc.bytes.start);
    let end = boundary(loc.bytes.end).max(start);
    let line_end = text[start..end].find('\n').map_or(end, |i| start + i);
    start..line_end
}

/// Sorted findings of one severity or above.
pub fn at_or_above(diags: &[Diagnostic], min: Severity) -> usize {
    diags.iter().filter(|d| d.severity >= min).count()
}

/// One line saying what a proposal changes.
pub fn proposal_line(p: &crate::analysis::proposal::Proposal) -> String {
    use crate::analysis::proposal::Proposal;
    let nets = |ps: &[ipnet::IpNet]| {
        ps.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match p {
        Proposal::RemoveRule => "remove the rule".to_owned(),
        Proposal::ReplaceSources {
            from,
            prefixes,
            granted_before,
            granted_after,
            observed,
            ..
        } => format!(
            "replace {from} with {} (grants {granted_after} of {granted_before} addresses for \
             {observed} observed source(s))",
            nets(prefixes)
        ),
        Proposal::ReplacePorts {
            ports,
            granted_before,
            granted_after,
            used,
        } => format!(
            "allow only {} ({granted_after} of {granted_before} ports for {used} used)",
            crate::analysis::proposal::describe_ports(ports)
        ),
        Proposal::ReferenceGroup {
            group_id,
            address,
            self_group,
        } => {
            if *self_group {
                format!("reference the rule's own group ({group_id}) with `self = true`")
            } else if let Some(a) = address {
                format!("reference {group_id} (`{a}.id`) instead of addresses")
            } else {
                format!("reference {group_id} instead of addresses")
            }
        }
    }
}

/// The cover table of a source proposal: `k`, prefixes, granted addresses.
pub fn cover_rows(p: &crate::analysis::proposal::Proposal) -> Vec<(usize, String, u128)> {
    match p {
        crate::analysis::proposal::Proposal::ReplaceSources { options, .. } => options
            .iter()
            .map(|o| {
                (
                    o.k,
                    o.prefixes
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    o.granted,
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Summary lines about the evidence checks (or that they did not run).
pub fn evidence_lines(outcome: &crate::analysis::Outcome) -> Vec<String> {
    let Some(e) = &outcome.evidence else {
        return vec![
            "evidence checks (SG100-SG107) not run: no evidence store (pass --db or set TIGHTEN_DB)"
                .to_owned(),
        ];
    };
    let mut lines = vec![match &e.window {
        Some(w) => format!(
            "evidence: window {w}, {} inbound or undecided row(s); groups linked by state {}, by \
             name {}, not linked {}",
            e.rows, e.linked_by_state, e.linked_by_name, e.not_linked
        ),
        None => "evidence: the store has no flow logs; nothing was judged".to_owned(),
    }];
    lines.push(format!(
        "evidence: {} ingress rule(s) judged, {} without a verdict (see SG100; --min-days {})",
        e.rules_judged, e.rules_without_verdict, e.min_days
    ));
    if e.wildcards_accepted > 0 {
        lines.push(format!(
            "evidence: {} wildcard rule(s) kept: used by more sources than the threshold",
            e.wildcards_accepted
        ));
    }
    if e.unattributed_flows > 0 {
        let mut names: Vec<&str> = e
            .unattributed_interfaces
            .iter()
            .take(5)
            .map(String::as_str)
            .collect();
        if e.unattributed_interfaces.len() > 5 {
            names.push("…");
        }
        lines.push(format!(
            "evidence: {} inbound flow(s) on {} interface(s) with no known security groups ({}): \
             ingest AWS Config or EC2 data for them",
            e.unattributed_flows,
            e.unattributed_interfaces.len(),
            names.join(", ")
        ));
    }
    lines
}

/// The `- **Top sources:** …` line of a finding's or a fix's evidence (Markdown), if any.
pub fn top_sources_markdown(e: &crate::analysis::proposal::EvidenceSummary) -> Option<String> {
    if e.top_sources.is_empty() {
        return None;
    }
    let top: Vec<String> = e
        .top_sources
        .iter()
        .map(|t| format!("`{}` ({} flows, last {})", t.address, t.flows, t.last_seen))
        .collect();
    Some(format!("- **Top sources:** {}", top.join(", ")))
}
