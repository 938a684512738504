//! Report stage (HTML): one security group's section — how it was linked, its traffic timeline
//! and coverage calendar (each chart with the table of its numbers), drift and unallowed flows,
//! and one article per rule: the rule as written, its evidence, top sources, the findings with
//! their proposals (the cover table of a narrowing, the coverage behind a removal) and the
//! verified diff.

use std::collections::BTreeSet;
use std::path::Path;

use maud::{Markup, PreEscaped, html};
use similar::{ChangeTag, TextDiff};

use super::charts::{Grid, Shade, grid_svg, intensity};
use super::data::{self, DayState, Kind, MAX_INTERFACES};
use super::{Cx, big, proposal_kind};
use crate::analysis::Diagnostic;
use crate::analysis::evidence::{GroupCoverage, Link, RuleEvidence, Window};
use crate::analysis::proposal::{Proposal, describe_ports, timestamp};
use crate::model::{Direction, GroupRef, Known, Rule};
use crate::store::evidence::date_of_day;

/// Top sources listed per rule.
const TOP_SOURCES: usize = 10;
/// Lines of Terraform shown per rule.
const SNIPPET_LINES: usize = 40;

/// The rules a group section shows: every rule that names the group by its address.
pub(super) fn rules_of(cx: &Cx<'_>, gi: usize) -> Vec<usize> {
    let model = cx.input.model;
    let g = &model.groups[gi];
    let address = g.address.to_string();
    model
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.root == g.root && matches!(&r.group, GroupRef::Address(a) if *a == address)
        })
        .map(|(i, _)| i)
        .collect()
}

pub(super) fn section(cx: &Cx<'_>, gi: usize) -> Markup {
    let model = cx.input.model;
    let g = &model.groups[gi];
    let address = g.address.to_string();
    let facts = cx.input.facts;
    let linked = facts.and_then(|f| f.links.get(gi));
    let gid = linked.and_then(Link::id);
    let window = facts.and_then(|f| f.window);
    let cov = gid.and_then(|id| facts.and_then(|f| f.coverage.get(id)));
    let rules = rules_of(cx, gi);
    // Ingress rules, and egress rules with findings (the others are only counted).
    let shown: Vec<usize> = rules
        .iter()
        .copied()
        .filter(|i| model.rules[*i].direction == Direction::Ingress || cx.by_rule.contains_key(i))
        .collect();
    let ingress = shown
        .iter()
        .filter(|i| model.rules[**i].direction == Direction::Ingress)
        .count();
    let egress = rules.len() - ingress;
    let heading = cx.id("group");
    let line = super::super::position(cx.text(&g.loc.file), g.loc.bytes.start).line;
    let group_diags = cx.by_group.get(&gi);
    html! {
        section.group aria-labelledby=(heading) {
            h3 #(heading) { code { (address) } @if let Some(id) = gid { " " span.id { (id) } } }
            p.where {
                (cx.path(&g.loc.file)) ":" (line)
                @if let Known::Known(Some(d)) = &g.description { " · " span.desc { (d) } }
            }
            @match linked {
                Some(Link::NotLinked { reason }) => p.warn { "Not linked to a deployed group: " (reason) ". No evidence is drawn for it." },
                Some(l) => p { "Linked to " code { (l.id().unwrap_or_default()) } " by " (l.how()) "." },
                None => {},
            }
            @if let (Some(id), Some(w)) = (gid, window) {
                (timeline(cx, id, w))
                @if let Some(c) = cov { (calendar(cx, c, w)) }
                @else { p { "No interface had " code { (id) } " in the window: no flow can be attributed to it." } }
            }
            @if let Some(ds) = group_diags { (findings_list(cx, ds)) }
            (drift(cx, gi))
            @for i in &shown { (rule_article(cx, *i, cov)) }
            @if ingress == 0 { p { "No ingress rule." } }
            @if egress > 0 { p.note { (egress) " egress rule(s), not judged by inbound evidence." } }
        }
    }
}

/// A chart with its caption and the table of its numbers, linked for assistive technology.
fn figure(
    cx: &Cx<'_>,
    caption: &Markup,
    svg: Option<String>,
    table: &dyn Fn(&str) -> Markup,
) -> Markup {
    let cap = cx.id("caption");
    let tid = cx.id("table");
    let svg = svg.map(|s| {
        s.replacen(
            "<svg ",
            &format!("<svg role=\"img\" aria-labelledby=\"{cap}\" aria-describedby=\"{tid}\" "),
            1,
        )
    });
    html! {
        figure.chart {
            figcaption #(cap) { (caption) }
            @if let Some(s) = svg { div.svg { (PreEscaped(s)) } }
            @else { p.warn { "The chart could not be drawn; the numbers are below." } }
            details.numbers {
                summary { "Numbers behind the chart" }
                div.scroll { (table(&tid)) }
            }
        }
    }
}

fn timeline(cx: &Cx<'_>, gid: &str, w: Window) -> Markup {
    let Some(t) = cx.timelines.get(gid) else {
        return html! { p { "No inbound, rejected or return traffic reached the interfaces of " code { (gid) } " in the window." } };
    };
    let keys: Vec<_> = t.series.keys().copied().collect();
    let labels: Vec<String> = keys.iter().copied().map(data::series_label).collect();
    let mut cells = Vec::new();
    for kind in [Kind::Inbound, Kind::Reject, Kind::Return] {
        let max = t
            .series
            .iter()
            .filter(|(k, _)| k.0 == kind)
            .flat_map(|(_, d)| d.values().copied())
            .max()
            .unwrap_or(0);
        for (row, key) in keys.iter().enumerate().filter(|(_, k)| k.0 == kind) {
            let shade = match kind {
                Kind::Inbound => Shade::Inbound,
                Kind::Reject => Shade::Reject,
                Kind::Return => Shade::Return,
            };
            for (day, n) in &t.series[key] {
                cells.push((row, *day, shade, intensity(*n, max)));
            }
        }
    }
    let svg = grid_svg(&Grid {
        since: w.since,
        until: w.until,
        rows: &labels,
        cells,
    });
    let days: Vec<i32> = (w.since..=w.until).collect();
    let caption = html! { "Traffic on the interfaces of " code { (gid) } " by day and port, " (w.label()) ": inbound, rejected, and return traffic apart." };
    figure(cx, &caption, svg, &|tid| {
        html! {
            table.days #(tid) {
                thead { tr { th { "Series" } th { "Total flows" }
                    @for d in &days { th { (date_of_day(*d).get(5..).unwrap_or_default()) } } } }
                tbody { @for (key, label) in keys.iter().zip(&labels) {
                    tr { th scope="row" { (label) } td { (t.total(*key)) }
                        @for d in &days { td { @if let Some(n) = t.series[key].get(d) { (n) } } } }
                } }
            }
        }
    })
}

fn calendar(cx: &Cx<'_>, cov: &GroupCoverage, w: Window) -> Markup {
    let Some(index) = &cx.coverage else {
        return html! {};
    };
    let ifaces: Vec<&String> = cov.had.keys().collect();
    let shown: Vec<String> = ifaces
        .iter()
        .take(MAX_INTERFACES)
        .map(|s| (*s).clone())
        .collect();
    let mut cells = Vec::new();
    // Interface → (covered, NODATA, SKIPDATA, no logs) days, and the days without full logs.
    let mut rows = Vec::new();
    for (row, iface) in ifaces.iter().enumerate() {
        let mut n = [0usize; 4];
        let mut gaps = Vec::new();
        for &day in &cov.had[*iface] {
            let state = index.state(iface, day);
            let (slot, shade) = match state {
                DayState::Covered => (0, Shade::Covered),
                DayState::NoData => (1, Shade::NoData),
                DayState::SkipData => (2, Shade::SkipData),
                DayState::NoLogs => (3, Shade::NoLogs),
            };
            n[slot] += 1;
            if matches!(state, DayState::SkipData | DayState::NoLogs) {
                gaps.push((day, state));
            }
            if row < MAX_INTERFACES {
                cells.push((row, day, shade, 1.0));
            }
        }
        rows.push((*iface, n, gaps));
    }
    let svg = grid_svg(&Grid {
        since: w.since,
        until: w.until,
        rows: &shown,
        cells,
    });
    let caption = html! {
        "Flow-log coverage of every interface that had the group, " (w.label()) ": "
        (cov.complete_days.len()) " day(s) with complete logs on every interface."
        @if ifaces.len() > MAX_INTERFACES { " The chart shows the first " (MAX_INTERFACES) " of " (ifaces.len()) " interfaces; the table lists all." }
    };
    figure(cx, &caption, svg, &|tid| {
        html! {
            table.sortable #(tid) {
                thead { tr { th { "Interface" } th.num { "Covered" } th.num { "NODATA" } th.num { "SKIPDATA" } th.num { "No logs" } th { "Days without complete logs" } } }
                tbody { @for (iface, n, gaps) in &rows {
                    tr { th scope="row" { code { (iface) } } td.num { (n[0]) } td.num { (n[1]) } td.num { (n[2]) } td.num { (n[3]) }
                        td { @for (i, (d, s)) in gaps.iter().take(12).enumerate() { @if i > 0 { ", " } (date_of_day(*d)) " (" (s.as_str()) ")" }
                             @if gaps.len() > 12 { ", … " (gaps.len() - 12) " more" } } }
                } }
            }
        }
    })
}

fn drift(cx: &Cx<'_>, gi: usize) -> Markup {
    let Some(facts) = cx.input.facts else {
        return html! {};
    };
    let deployed: Vec<&String> = facts
        .deployed_only
        .iter()
        .filter(|(g, _)| *g == gi)
        .map(|(_, e)| e)
        .collect();
    let unallowed: Vec<_> = facts.unallowed.iter().filter(|u| u.group == gi).collect();
    if deployed.is_empty() && unallowed.is_empty() {
        return html! {};
    }
    html! {
        @if !deployed.is_empty() {
            h4 { "Drift: deployed but not in Terraform" }
            ul { @for e in &deployed { li { code { (e) } } } }
        }
        @if !unallowed.is_empty() {
            h4 { "Accepted inbound flows no rule of the Terraform allows" }
            table.sortable {
                thead { tr { th { "Port" } th.num { "Flows" } th.num { "Sources" } th { "Interfaces" } th { "First seen" } th { "Last seen" } } }
                tbody { @for u in &unallowed {
                    tr { td { (data::port_label(u.protocol, u.port)) } td.num { (u.flows) } td.num { (u.sources.len()) }
                         td { @for (i, f) in u.interfaces.iter().take(5).enumerate() { @if i > 0 { ", " } code { (f) } } }
                         td { (timestamp(u.first_seen)) } td { (timestamp(u.last_seen)) } }
                } }
            }
        }
    }
}

/// The lines of `rule` as written, numbered.
fn snippet(cx: &Cx<'_>, rule: &Rule) -> Markup {
    let text = cx.text(&rule.loc.file);
    let start = crate::fix::edit::line_start(text, rule.loc.bytes.start);
    let end = crate::fix::edit::line_end(text, rule.loc.bytes.end.saturating_sub(1).max(start));
    let first = super::super::position(text, start).line;
    let body = text.get(start..end).unwrap_or_default();
    let lines: Vec<&str> = body.lines().collect();
    html! {
        pre.snippet { code {
            @for (i, l) in lines.iter().take(SNIPPET_LINES).enumerate() {
                span.ln { (first + i) } " " (l) "\n"
            }
            @if lines.len() > SNIPPET_LINES { span.ln { "…" } " " (lines.len() - SNIPPET_LINES) " more line(s)\n" }
        } }
    }
}

pub(super) fn rule_article(cx: &Cx<'_>, i: usize, cov: Option<&GroupCoverage>) -> Markup {
    let rule = &cx.input.model.rules[i];
    let heading = cx.id("rule");
    let line = super::super::position(cx.text(&rule.loc.file), rule.loc.bytes.start).line;
    let ev = cx.input.facts.and_then(|f| f.rules.get(&i));
    let diags = cx.by_rule.get(&i);
    html! {
        article.rule aria-labelledby=(heading) {
            h4 #(heading) { code { (rule.summary()) } }
            p.where {
                (cx.path(&rule.loc.file)) ":" (line) " · " code { (rule.address.to_string()) }
                @match &rule.description {
                    Known::Known(Some(d)) => { " · " span.desc { (d) } }
                    Known::Known(None) => { " · " em { "no description" } }
                    Known::Unknown(_) => {}
                }
            }
            (snippet(cx, rule))
            @if let Some(ev) = ev { (evidence(ev, cov)) }
            @else if cx.input.facts.is_some() && rule.direction == Direction::Ingress { p { "No evidence attributed (the group is not linked, or the rule's values are not known statically)." } }
            @if let Some(ds) = diags { (findings_list(cx, ds)) }
            (diffs(cx, rule))
        }
    }
}

fn evidence(ev: &RuleEvidence, cov: Option<&GroupCoverage>) -> Markup {
    let mut top: Vec<_> = ev.sources.iter().collect();
    top.sort_by(|a, b| b.1.flows.cmp(&a.1.flows).then(a.0.cmp(b.0)));
    let ports: Vec<String> = ev
        .ports
        .iter()
        .flat_map(|(p, ps)| ps.iter().map(move |port| data::port_label(*p, *port)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    html! {
        dl.evidence {
            div { dt { "Inbound flows" } dd { (ev.flows) @if ev.possible_flows > 0 { " + " (ev.possible_flows) " undecided" } } }
            div { dt { "Sources" } dd { @if ev.many_sources.is_some() { "≈ " } (ev.distinct_sources()) } }
            div { dt { "Days with traffic" } dd { (ev.days.len()) } }
            div { dt { "Interfaces with traffic" } dd { (ev.interfaces.len()) @if let Some(c) = cov { " of " (c.had.len()) } } }
            div { dt { "First / last seen" } dd { (ev.first_seen.map_or_else(|| "-".to_owned(), timestamp)) " / " (ev.last_seen.map_or_else(|| "-".to_owned(), timestamp)) } }
            div { dt { "Ports used" } dd { @if ports.is_empty() { "-" } @else { (ports.join(", ")) } } }
            div { dt { "Rejected flows" } dd { (ev.rejects) } }
            @if let Some(c) = cov { div { dt { "Days with complete logs" } dd { (c.complete_days.len()) } } }
        }
        @if let Some(why) = &ev.undecidable { p.warn { "Not decidable: " (why) } }
        @if !top.is_empty() {
            table.sortable.sources {
                caption { "Top sources (" (top.len().min(TOP_SOURCES)) " of " (ev.sources.len()) ")" }
                thead { tr { th { "Source" } th.num { "Flows" } th { "First seen" } th { "Last seen" } } }
                tbody { @for (a, u) in top.iter().take(TOP_SOURCES) {
                    tr { td { (a) } td.num { (u.flows) } td { (timestamp(u.first_seen)) } td { (timestamp(u.last_seen)) } }
                } }
            }
        }
    }
}

pub(super) fn findings_list(cx: &Cx<'_>, diags: &[&Diagnostic]) -> Markup {
    html! {
        ul.findings { @for d in diags {
            li class=(d.severity.as_str()) {
                span.sev { (d.severity.as_str()) } " " code { (d.code.as_str()) } " "
                @if !cx.input.model.groups.is_empty() && cx.other.iter().any(|o| std::ptr::eq(*o, *d)) { code { (d.address) } " " }
                (d.message)
                @if !d.help.is_empty() { br; span.help { (d.help) } }
                @if let Some(p) = &d.proposal { (proposal(&p.1, d)) }
            }
        } }
    }
}

fn proposal(p: &Proposal, d: &Diagnostic) -> Markup {
    html! {
        div.proposal {
            p { strong { "Proposal (" (proposal_kind(p)) "): " } (super::super::proposal_line(p)) }
            @match p {
                Proposal::ReplaceSources { prefixes, observed, options, granted_before, .. } => {
                    table.cover {
                        caption { "Cover table: the best cover with at most k prefixes (granted addresses vs " (observed) " observed source(s); the rule grants " (big(*granted_before)) " now)" }
                        thead { tr { th.num { "k" } th { "Prefixes" } th.num { "Granted" } th.num { "Granted per observed" } th { "Chosen" } } }
                        tbody { @for o in options {
                            @let chosen = &o.prefixes == prefixes;
                            tr class=[chosen.then_some("chosen")] {
                                td.num { (o.k) }
                                td { @for (i, n) in o.prefixes.iter().enumerate() { @if i > 0 { ", " } code { (n) } } }
                                td.num { (big(o.granted)) }
                                td.num { (big(o.granted / u128::from((*observed).max(1)))) }
                                td { @if chosen { "✔ chosen" } }
                            }
                        } }
                    }
                }
                Proposal::RemoveRule => {
                    @if let Some(e) = &d.evidence {
                        p { "Why it can go: window " (e.window) ", " (e.coverage_days) " day(s) with complete flow logs on " (e.interfaces) " interface(s); "
                            (e.flows) " inbound flow(s), " (e.possibly_inbound_flows) " undecided"
                            @if let Some(l) = &e.last_seen { ", last seen " (l) } @else { ", never seen in the window" } "." }
                    }
                }
                Proposal::ReplacePorts { ports, used, granted_before, granted_after } => {
                    p { "Keeps " (describe_ports(ports)) ": " (granted_after) " of " (granted_before) " port(s) for " (used) " used." }
                }
                Proposal::ReferenceGroup { .. } => {}
            }
        }
    }
}

/// The verified diff of each fix of `rule`.
fn diffs(cx: &Cx<'_>, rule: &Rule) -> Markup {
    let Some(plan) = cx.input.plan else {
        return html! {};
    };
    let fixes: Vec<_> = plan
        .fixes
        .iter()
        .filter(|f| f.file == rule.loc.file && f.offset == rule.loc.bytes.start)
        .collect();
    let mut parts = Vec::new();
    for f in &fixes {
        let touched: BTreeSet<&Path> = f.edits.iter().map(|e| e.file.as_path()).collect();
        for file in touched {
            let Some(old) = plan.originals.get(file) else {
                continue;
            };
            let edits: Vec<_> = f.edits.iter().filter(|e| e.file == file).collect();
            let Ok(new) = crate::fix::edit::apply(old, &edits) else {
                continue;
            };
            parts.push((cx.path(file), unified(old, &new)));
        }
    }
    html! {
        @for (name, lines) in &parts {
            figure.diff {
                figcaption { "Verified diff of " code { (name) } " (this rule's fix alone)" }
                pre { code {
                    @for (tag, l) in lines {
                        @match tag {
                            Some(ChangeTag::Insert) => span.add { "+" (l) }
                            Some(ChangeTag::Delete) => span.del { "-" (l) }
                            Some(ChangeTag::Equal) => { " " (l) }
                            None => span.hunk { (l) }
                        }
                        "\n"
                    }
                } }
            }
        }
    }
}

/// Hunks of a line diff: `None` tags are hunk headers.
fn unified(old: &str, new: &str) -> Vec<(Option<ChangeTag>, String)> {
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(old, new);
    let mut out = Vec::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push((None, hunk.header().to_string()));
        for change in hunk.iter_changes() {
            out.push((
                Some(change.tag()),
                change.value().trim_end_matches(['\n', '\r']).to_owned(),
            ));
        }
    }
    out
}
