//! Report stage: Markdown for a pull-request comment: a summary table, then one section per
//! finding with the offending lines.

use std::fmt::Write as _;

use super::{Report, display_path};

/// Longest snippet shown per finding, in lines.
const SNIPPET_LINES: usize = 8;

fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the report as Markdown.
pub fn render(r: &Report<'_>) -> String {
    let mut out = String::new();
    let (errors, warnings, notes) = r.counts();
    let _ = writeln!(out, "## tighten lint\n");
    let _ = writeln!(
        out,
        "{} finding(s): {errors} error(s), {warnings} warning(s), {notes} note(s); {} suppressed. \
         {} file(s), {} group(s), {} rule(s).\n",
        r.outcome.diagnostics.len(),
        r.outcome.suppressed,
        r.stats.files,
        r.stats.groups,
        r.stats.rules,
    );
    if !r.errors.is_empty() {
        let _ = writeln!(out, "**{} input error(s):**\n", r.errors.len());
        for e in r.errors {
            let _ = writeln!(out, "- {}", escape_cell(&e.to_string()));
        }
        out.push('\n');
    }
    if r.outcome.evidence.is_some() {
        for line in super::evidence_lines(r.outcome) {
            let _ = writeln!(out, "- {}", escape_cell(&line));
        }
        out.push('\n');
    }
    if r.outcome.diagnostics.is_empty() {
        out.push_str("No findings.\n");
        return out;
    }
    out.push_str("| Severity | Check | Location | Resource | Message |\n");
    out.push_str("|---|---|---|---|---|\n");
    for (i, d) in r.outcome.diagnostics.iter().enumerate() {
        let (s, _) = r.positions(&d.loc);
        let _ = writeln!(
            out,
            "| {} | [{}](#finding-{}) | `{}:{}` | `{}` | {} |",
            d.severity.as_str(),
            d.code,
            i + 1,
            display_path(&d.loc.file),
            s.line,
            escape_cell(&d.address),
            escape_cell(&d.message),
        );
    }
    for (i, d) in r.outcome.diagnostics.iter().enumerate() {
        let (s, e) = r.positions(&d.loc);
        let _ = writeln!(
            out,
            "\n### <a id=\"finding-{}\"></a>{} {} ({})\n",
            i + 1,
            d.code,
            d.code.meta().name,
            d.severity.as_str()
        );
        let _ = writeln!(out, "{}\n", d.message);
        let _ = writeln!(
            out,
            "- **Where:** `{}:{}:{}`",
            display_path(&d.loc.file),
            s.line,
            s.column
        );
        if !d.address.is_empty() {
            let _ = writeln!(out, "- **Resource:** `{}`", d.address);
        }
        if let Some(rule) = &d.rule {
            let _ = writeln!(out, "- **Rule:** {rule}");
        }
        let _ = writeln!(out, "- **Help:** {}", d.help);
        if let Some(e) = &d.evidence {
            let _ = writeln!(out, "- **Evidence:** {}", escape_cell(&e.line()));
            if let Some(line) = super::top_sources_markdown(e) {
                let _ = writeln!(out, "{line}");
            }
        }
        if let Some(p) = &d.proposal {
            let _ = writeln!(out, "- **Proposal:** {}", super::proposal_line(&p.1));
            let rows = super::cover_rows(&p.1);
            if !rows.is_empty() {
                out.push_str("\n| k | prefixes | granted addresses |\n|---|---|---|\n");
                for (k, prefixes, granted) in rows {
                    let _ = writeln!(out, "| {k} | {} | {granted} |", escape_cell(&prefixes));
                }
            }
        }
        let text = r.text_of(&d.loc.file);
        let lines: Vec<&str> = text.lines().collect();
        let first = s.line.saturating_sub(1);
        let last = e.line.min(first + SNIPPET_LINES).min(lines.len());
        if first < last {
            out.push_str("\n```hcl\n");
            for l in &lines[first..last] {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str("```\n");
        }
        let _ = writeln!(out, "\n<sub>`tighten explain {}`</sub>", d.code);
    }
    out
}
