//! Report stage: the evidence report — one self-contained HTML page a reviewer reads instead of
//! tables: per security group and rule, the rule as written, a day × port timeline of the traffic,
//! the coverage calendar of its interfaces, top sources, the cover table of a narrowing, the
//! verified diff, drift, and the run history. HTML from `maud` (every interpolated value is
//! escaped), charts as inline SVG from `plotters`, CSS and a little JavaScript (sorting and
//! filtering only) inline; a Content-Security-Policy forbids every fetch. Deterministic: nothing
//! depends on the clock or on hash order.

mod charts;
mod data;
mod group;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::analysis::evidence::EvidenceFacts;
use crate::analysis::proposal::{Proposal, addresses, timestamp};
use crate::analysis::{Diagnostic, Outcome, Severity};
use crate::fix::Plan;
use crate::model::{Direction, Known, Model, Source};
use crate::store::runs::RunInfo;
use crate::store::view::EvidenceView;
use crate::terraform::SourceFile;

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

/// Everything the report shows.
pub struct Input<'a> {
    pub model: &'a Model,
    pub files: &'a [SourceFile],
    /// Findings after suppressions.
    pub outcome: &'a Outcome,
    pub facts: Option<&'a EvidenceFacts>,
    pub view: Option<&'a EvidenceView>,
    /// The verified fixes, when computed.
    pub plan: Option<&'a Plan>,
    /// Recorded `lint --db` runs, oldest first.
    pub runs: &'a [RunInfo],
    /// Paths are shown relative to this folder when inside it.
    pub base: Option<&'a Path>,
    /// What produced the report (shown in the header).
    pub command: &'a str,
}

/// Lookups shared by the sections.
struct Cx<'a> {
    input: &'a Input<'a>,
    texts: HashMap<&'a Path, &'a str>,
    /// Diagnostics per rule index, per group index, and the rest.
    by_rule: BTreeMap<usize, Vec<&'a Diagnostic>>,
    by_group: BTreeMap<usize, Vec<&'a Diagnostic>>,
    other: Vec<&'a Diagnostic>,
    timelines: HashMap<String, data::Timeline>,
    coverage: Option<data::CoverageIndex<'a>>,
    /// Ids of charts and tables: unique per page.
    next_id: std::cell::Cell<usize>,
}

impl<'a> Cx<'a> {
    fn new(input: &'a Input<'a>) -> Self {
        let model = input.model;
        let mut by_rule: BTreeMap<usize, Vec<&Diagnostic>> = BTreeMap::new();
        let mut by_group: BTreeMap<usize, Vec<&Diagnostic>> = BTreeMap::new();
        let mut other = Vec::new();
        let summaries: Vec<String> = model
            .rules
            .iter()
            .map(crate::model::Rule::summary)
            .collect();
        for d in &input.outcome.diagnostics {
            let rule = model.rules.iter().enumerate().position(|(i, r)| {
                r.loc == d.resource_loc
                    && r.address.to_string() == d.address
                    && d.rule.as_deref() == Some(summaries[i].as_str())
            });
            if let Some(i) = rule {
                by_rule.entry(i).or_default().push(d);
            } else if let Some(g) = model
                .groups
                .iter()
                .position(|g| g.address.to_string() == d.address && g.loc.file == d.loc.file)
            {
                by_group.entry(g).or_default().push(d);
            } else {
                other.push(d);
            }
        }
        let timelines = match (input.view, input.facts) {
            (Some(view), Some(facts)) => facts
                .window
                .map(|w| data::timelines(view, facts, w))
                .unwrap_or_default(),
            _ => HashMap::new(),
        };
        Self {
            input,
            texts: input
                .files
                .iter()
                .map(|f| (f.path.as_path(), f.text.as_str()))
                .collect(),
            by_rule,
            by_group,
            other,
            timelines,
            coverage: input.view.map(data::CoverageIndex::new),
            next_id: std::cell::Cell::new(0),
        }
    }

    fn id(&self, what: &str) -> String {
        let n = self.next_id.get() + 1;
        self.next_id.set(n);
        format!("{what}-{n}")
    }

    fn path(&self, p: &Path) -> String {
        let shown = self
            .input
            .base
            .and_then(|b| p.strip_prefix(b).ok())
            .unwrap_or(p);
        super::display_path(shown)
    }

    fn text(&self, p: &Path) -> &'a str {
        self.texts.get(p).copied().unwrap_or_default()
    }
}

/// The whole page.
pub fn render(input: &Input<'_>) -> String {
    let cx = Cx::new(input);
    let groups: Vec<Markup> = (0..input.model.groups.len())
        .map(|g| group::section(&cx, g))
        .collect();
    // Rules of groups defined elsewhere (a literal `sg-…` id, a module output) that have
    // findings or evidence: shown on their own, so that no finding is left off the page.
    let in_groups: std::collections::BTreeSet<usize> = (0..input.model.groups.len())
        .flat_map(|g| group::rules_of(&cx, g))
        .collect();
    let loose: Vec<usize> = (0..input.model.rules.len())
        .filter(|i| !in_groups.contains(i))
        .filter(|i| {
            cx.by_rule.contains_key(i) || input.facts.is_some_and(|f| f.rules.contains_key(i))
        })
        .collect();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy"
                    content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "tighten evidence report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "tighten evidence report" }
                    p.command { code { (input.command) } }
                }
                main {
                    (summary(&cx))
                    section #groups aria-labelledby="groups-h" {
                        h2 #groups-h { "Security groups" }
                        @if groups.is_empty() {
                            p { "No security group was found in the Terraform." }
                        }
                        @for g in &groups { (g) }
                    }
                    @if !loose.is_empty() {
                        section #loose aria-labelledby="loose-h" {
                            h2 #loose-h { "Rules of groups defined outside this Terraform" }
                            @for i in &loose { (group::rule_article(&cx, *i, None)) }
                        }
                    }
                    (unattributed(&cx))
                    (other_findings(&cx))
                    (fix_plan(&cx))
                    (history(&cx))
                }
                footer { p { "Generated by tighten " (env!("CARGO_PKG_VERSION")) ". Self-contained: this page fetches nothing." } }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    page.into_string()
}

/// Addresses a proposal stops allowing (saturating).
fn no_longer_exposed(p: &Proposal, source: Option<&Source>) -> u128 {
    match p {
        Proposal::ReplaceSources {
            granted_before,
            granted_after,
            ..
        } => granted_before.saturating_sub(*granted_after),
        Proposal::RemoveRule => match source {
            Some(Source::Cidr(net)) => addresses(net),
            _ => 0,
        },
        _ => 0,
    }
}

/// `1 234 567`, or `2^64` style beyond 10^15 (IPv6 counts).
pub(super) fn big(n: u128) -> String {
    if n >= 1 << 50 {
        let bits = n.ilog2();
        if n.is_power_of_two() {
            return format!("2^{bits}");
        }
        return format!("≈ 2^{bits}");
    }
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

fn summary(cx: &Cx<'_>) -> Markup {
    let input = cx.input;
    let model = input.model;
    let ingress = model
        .rules
        .iter()
        .filter(|r| r.direction == Direction::Ingress)
        .count();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut exposed: u128 = 0;
    for (i, diags) in &cx.by_rule {
        let source = match &model.rules[*i].source {
            Known::Known(s) => Some(s),
            Known::Unknown(_) => None,
        };
        for d in diags {
            if let Some(p) = &d.proposal {
                *kinds.entry(proposal_kind(&p.1)).or_default() += 1;
                exposed = exposed.saturating_add(no_longer_exposed(&p.1, source));
            }
        }
    }
    let count = |s: Severity| {
        input
            .outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .count()
    };
    let ev = input.outcome.evidence.as_ref();
    html! {
        section #summary aria-labelledby="summary-h" {
            h2 #summary-h { "Summary" }
            dl.summary {
                div { dt { "Security groups" } dd { (model.groups.len()) } }
                div { dt { "Ingress rules" } dd { (ingress) } }
                div { dt { "Findings" } dd { (count(Severity::Error)) " error(s), " (count(Severity::Warning)) " warning(s), " (count(Severity::Note)) " note(s)" } }
                div { dt { "Proposals" } dd {
                    @if kinds.is_empty() { "none" }
                    @for (i, (k, n)) in kinds.iter().enumerate() { @if i > 0 { ", " } (n) " " (k) }
                } }
                @if let Some(plan) = input.plan {
                    div { dt { "Verified fixes" } dd { (plan.fixes.len()) " (" (plan.notes.len()) " left as notes, " (plan.dropped.len()) " dropped)" } }
                }
                div { dt { "Addresses no longer exposed" } dd { (big(exposed)) } }
                div { dt { "Evidence window" } dd {
                    @match ev.and_then(|e| e.window.as_deref()) {
                        Some(w) => { (w) " (" (ev.map_or(0, |e| e.rows)) " inbound or undecided rows; " (ev.map_or(0, |e| e.rules_judged)) " rules judged, " (ev.map_or(0, |e| e.rules_without_verdict)) " without a verdict, --min-days " (ev.map_or(0, |e| e.min_days)) ")" }
                        None => { "no flow-log evidence" }
                    }
                } }
            }
            (legend())
        }
    }
}

fn legend() -> Markup {
    html! {
        details.legend {
            summary { "How to read the charts" }
            ul {
                li { span.sw.inbound {} " Inbound (or undecided) accepted flows: use of an ingress rule. Darker = more flows (logarithmic)." }
                li { span.sw.reject {} " Rejected flows: attempts the groups refused (context only)." }
                li { span.sw.return {} " Return traffic of connections the interface opened: allowed by state, not by an ingress rule." }
                li { span.sw.covered {} " Covered: flow logs with records that day. " span.sw.nodata {} " NODATA: logs on, no traffic. " span.sw.skipdata {} " SKIPDATA: records lost. " span.sw.nologs {} " No logs stored for that interface and day. Blank: the interface did not have the group that day." }
            }
        }
    }
}

pub(super) fn proposal_kind(p: &Proposal) -> &'static str {
    match p {
        Proposal::RemoveRule => "remove",
        Proposal::ReplaceSources { .. } => "narrow sources",
        Proposal::ReplacePorts { .. } => "narrow ports",
        Proposal::ReferenceGroup { .. } => "reference a group",
    }
}

fn unattributed(cx: &Cx<'_>) -> Markup {
    let Some(facts) = cx.input.facts else {
        return html! {};
    };
    html! {
        section #unattributed aria-labelledby="unattributed-h" {
            h2 #unattributed-h { "Unattributed evidence" }
            @if facts.unattributed_flows == 0 {
                p { "Every inbound flow of the window was on an interface with known security groups." }
            } @else {
                p { (facts.unattributed_flows) " inbound flow(s) on " (facts.unattributed_interfaces.len()) " interface(s) that no AWS Config or EC2 state ties to a security group. Ingest AWS Config or EC2 data for them." }
                ul.ids { @for i in facts.unattributed_interfaces.iter().take(100) { li { code { (i) } } } }
            }
        }
    }
}

fn other_findings(cx: &Cx<'_>) -> Markup {
    if cx.other.is_empty() {
        return html! {};
    }
    html! {
        section #other aria-labelledby="other-h" {
            h2 #other-h { "Other findings" }
            (group::findings_list(cx, &cx.other))
        }
    }
}

fn fix_plan(cx: &Cx<'_>) -> Markup {
    let Some(plan) = cx.input.plan else {
        return html! {};
    };
    html! {
        section #fixes aria-labelledby="fixes-h" {
            h2 #fixes-h { "Fixes" }
            @if let Some(r) = &plan.replay {
                p { "Replay of the window's inbound flows against the rules before and after every fix: "
                    (r.rows) " row(s), " (r.allowed_before) " allowed before, " (r.allowed_after) " after, "
                    strong { (r.denied) " denied" } "." }
            }
            @if plan.fixes.is_empty() { p { "No verified fix." } }
            @else { p { (plan.fixes.len()) " verified fix(es); each rule's diff is shown with the rule above." } }
            @if !plan.notes.is_empty() {
                h3 { "Proposals left as notes" }
                ul { @for n in &plan.notes { li { code { (n.code.as_str()) } " " code { (n.address) } ": " (n.reason) } } }
            }
            @if !plan.dropped.is_empty() {
                h3 { "Fixes dropped by verification" }
                ul { @for n in &plan.dropped { li { code { (n.code.as_str()) } " " code { (n.address) } ": " (n.reason) } } }
            }
        }
    }
}

fn history(cx: &Cx<'_>) -> Markup {
    let runs = cx.input.runs;
    let id = cx.id("table");
    html! {
        section #history aria-labelledby="history-h" {
            h2 #history-h { "Run history" }
            @if runs.is_empty() {
                p { "No `lint --db` run is recorded in the store." }
            } @else {
                table.sortable #(id) {
                    caption { "Recorded lint --db runs (latest 50)" }
                    thead { tr { th { "Run" } th { "Started (UTC)" } th { "Directory" } th { "Window" } th { "Version" } th.num { "Findings" } } }
                    tbody {
                        @for r in runs.iter().rev().take(50) {
                            tr { td.num { (r.id) } td { (timestamp(r.started_at)) } td { code { (r.dir) } } td { (r.window.as_deref().unwrap_or("-")) } td { (r.tool_version) } td.num { (r.findings) } }
                        }
                    }
                }
            }
        }
    }
}
