//! Analysis stage: the checks (one file each in `checks/`), their registry, the one
//! [`Diagnostic`] type every finding uses, configuration (`tighten.toml`) and suppressions.
//! Nothing here touches files or prints.

pub mod checks;
pub mod config;
mod cover;
pub mod evidence;
mod port_cover;
pub mod proposal;
pub mod suppress;

use serde::Serialize;

use crate::model::{Loc, Model, Rule};
pub use checks::CheckCode;
pub use config::Config;

/// How bad a finding is. Ordered: `Note < Warning < Error`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Note,
    /// Should be fixed.
    Warning,
    /// Must be fixed.
    Error,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// What a check needs besides the Terraform model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceNeed {
    /// Terraform alone.
    None,
    /// Flow-log evidence and the groups each interface had (`lint --db`).
    FlowLogs,
}

/// Whether a check offers fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FixAvailability {
    /// No fix is offered.
    None,
    /// A structured proposal is attached; applying it changes what is allowed, so the fix is
    /// unsafe (flow logs cover a window, not the future).
    Unsafe,
}

/// The fixed description of one check.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// `SG0xx`.
    pub code: CheckCode,
    /// kebab-case name.
    pub name: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Default severity (config may change it).
    pub severity: Severity,
    /// Fix availability.
    pub fix: FixAvailability,
    /// Evidence used.
    pub evidence: EvidenceNeed,
    /// The Markdown docs (`docs/checks/SG0xx.md`).
    pub docs: &'static str,
    /// Whether the check runs without being enabled in `tighten.toml`.
    pub default_enabled: bool,
}

/// A secondary location with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    /// Where.
    pub loc: Loc,
    /// What it is.
    pub message: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Check code.
    pub code: CheckCode,
    /// Effective severity.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The bytes at fault.
    pub loc: Loc,
    /// The resource block the finding belongs to (suppressions above it apply).
    pub resource_loc: Loc,
    /// Terraform address of the resource instance.
    pub address: String,
    /// One-line summary of the rule, when the finding is about a rule.
    pub rule: Option<String>,
    /// How to fix it.
    pub help: String,
    /// Other places involved (the rule that shadows this one, the group, …).
    pub related: Vec<Related>,
    /// The evidence behind an evidence check's finding.
    pub evidence: Option<Box<proposal::EvidenceSummary>>,
    /// The change proposed, as data, with the rule it applies to.
    pub proposal: Option<Box<(proposal::RuleRef, proposal::Proposal)>>,
}

impl Diagnostic {
    /// A finding about `rule`, located at its source attribute when it has one.
    pub fn for_rule(code: CheckCode, rule: &Rule, message: String, help: String) -> Self {
        let loc = rule
            .attrs
            .iter()
            .find(|a| {
                matches!(
                    a.name.as_str(),
                    "cidr_blocks"
                        | "ipv6_cidr_blocks"
                        | "cidr_ipv4"
                        | "cidr_ipv6"
                        | "security_groups"
                        | "source_security_group_id"
                        | "referenced_security_group_id"
                        | "prefix_list_ids"
                        | "prefix_list_id"
                        | "self"
                )
            })
            .map_or_else(|| rule.loc.clone(), |a| a.loc.clone());
        Self {
            code,
            severity: code.meta().severity,
            message,
            loc,
            resource_loc: rule.loc.clone(),
            address: rule.address.to_string(),
            rule: Some(rule.summary()),
            help,
            related: Vec::new(),
            evidence: None,
            proposal: None,
        }
    }

    /// The identity of `rule`, for proposals.
    pub fn rule_ref(rule: &Rule) -> proposal::RuleRef {
        proposal::RuleRef {
            root: rule.root.clone(),
            address: rule.address.to_string(),
            entry: rule.entry,
            loc: rule.loc.clone(),
        }
    }
}

/// What the static checks found, and what they could not look at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Findings after suppressions, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Number of findings suppressed by comments.
    pub suppressed: usize,
    /// Rules with a value that is not known statically (skipped by the checks that need it).
    pub unknown_rules: usize,
    /// What the evidence checks looked at; `None` when no store was given.
    pub evidence: Option<EvidenceOutcome>,
}

/// The evidence checks' summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EvidenceOutcome {
    /// `YYYY-MM-DD..YYYY-MM-DD`, or `None` when the store has no flow-log coverage.
    pub window: Option<String>,
    /// Evidence rows (inbound or undecided) read in the window.
    pub rows: usize,
    /// Groups linked through state / by name / not linked.
    pub linked_by_state: usize,
    pub linked_by_name: usize,
    pub not_linked: usize,
    /// Ingress rules judged against complete evidence.
    pub rules_judged: usize,
    /// Ingress rules left without a verdict (no evidence, too new, not linked, …).
    pub rules_without_verdict: usize,
    /// Wildcard rules kept because more sources than the threshold used them.
    pub wildcards_accepted: usize,
    /// Inbound flows on interfaces with no known security groups at the time.
    pub unattributed_flows: u64,
    pub unattributed_interfaces: Vec<String>,
    /// `--min-days`.
    pub min_days: u32,
}

/// Runs every enabled check on `model` (the evidence checks too when `evidence` is given).
pub fn run(
    model: &Model,
    config: &Config,
    evidence: Option<&evidence::EvidenceFacts>,
) -> Vec<Diagnostic> {
    let cx = checks::Context {
        model,
        config,
        evidence,
    };
    let mut out = Vec::new();
    for code in CheckCode::ALL {
        if config.enabled(code) {
            let start = out.len();
            code.run(&cx, &mut out);
            for d in &mut out[start..] {
                d.severity = config.severity(code);
            }
        }
    }
    sort(&mut out);
    out
}

/// Sorts diagnostics by file, byte offset, then code: the order every format prints.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (&a.loc.file, a.loc.bytes.start, a.code, &a.message).cmp(&(
            &b.loc.file,
            b.loc.bytes.start,
            b.code,
            &b.message,
        ))
    });
}

/// Number of rules with any value that is not known statically.
pub fn unknown_rules(model: &Model) -> usize {
    model
        .rules
        .iter()
        .filter(|r| {
            r.protocol.known().is_none() || r.ports.known().is_none() || r.source.known().is_none()
        })
        .count()
}

/// Runs the checks on a loaded directory and applies the suppression comments of its files.
pub fn lint(
    loaded: &crate::terraform::Loaded,
    config: &Config,
    evidence: Option<&evidence::EvidenceFacts>,
    today: (i32, u32, u32),
) -> Outcome {
    let diags = run(&loaded.model, config, evidence);
    let applied = suppress::apply(diags, &loaded.files, config, today);
    Outcome {
        diagnostics: applied.diagnostics,
        suppressed: applied.suppressed,
        unknown_rules: unknown_rules(&loaded.model),
        evidence: evidence.map(|facts| checks::evidence_outcome(&loaded.model, config, facts)),
    }
}
