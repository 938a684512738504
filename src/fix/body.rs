//! Fix stage: the text of the pull request — a summary table, the replay (the soundness
//! invariant shown to the reviewer), one section per change with its evidence, what `terraform
//! plan` will do, review hints, and what was left alone. GitHub-flavoured Markdown under GitHub's
//! 65,536-character limit for a body.

use std::fmt::Write as _;

use super::{Fix, Plan};
use crate::analysis::proposal::Proposal;

/// GitHub's limit for a pull-request body, with room for a closing line.
const LIMIT: usize = 65_000;
/// Rows of the summary table shown before the rest is folded.
const TABLE_ROWS: usize = 25;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// What `terraform plan` will show for a fix.
fn plan_action(fix: &Fix) -> String {
    let removes = fix
        .proposals
        .iter()
        .any(|p| matches!(p, Proposal::RemoveRule));
    let kind = fix
        .address
        .split('.')
        .find(|p| p.starts_with("aws_"))
        .unwrap_or_default();
    let mut s = match (kind, removes) {
        ("aws_security_group", _) => {
            format!("`{}` updated in place (its inline rules)", fix.address)
        }
        (_, true) => format!("`{}` destroyed", fix.address),
        ("aws_security_group_rule", false) => format!(
            "`{}` replaced (destroy, then create: its attributes force a new rule)",
            fix.address
        ),
        (_, false) => format!("`{}` updated in place", fix.address),
    };
    for c in &fix.creates {
        let _ = write!(s, "; `{c}` created");
    }
    s
}

/// The pull-request body. `command` is how to regenerate it.
pub fn render(plan: &Plan, command: &str) -> String {
    let mut out = String::new();
    let files = plan.changed_files().count();
    let _ = writeln!(out, "## tighten: least-privilege security groups\n");
    let window = plan
        .fixes
        .iter()
        .find_map(|f| f.evidence.as_ref().map(|e| e.window.clone()))
        .unwrap_or_else(|| "-".to_owned());
    let _ = writeln!(
        out,
        "{} change(s) to security-group rules in {files} file(s), proposed from VPC Flow Logs of \
         {window}. Every change was verified before this PR was written: the files re-parse, the \
         rebuilt rules are exactly the intended ones, and every inbound connection seen in the \
         window is still allowed.\n",
        plan.fixes.len()
    );
    if let Some(r) = &plan.replay {
        let _ = writeln!(
            out,
            "**Replay:** {} inbound flow row(s) ({} flows) of the window replayed against the \
             proposed rules: **{} allowed, {} denied** (before: {} allowed).\n",
            r.rows, r.flows, r.allowed_after, r.denied, r.allowed_before
        );
        if r.allowed_before < r.rows {
            let _ = writeln!(
                out,
                "{} of them no Terraform rule allowed before either (see `tighten lint`, SG107).\n",
                r.rows - r.allowed_before
            );
        }
    }
    if !plan.fixes.is_empty() {
        out.push_str(
            "| Rule | Change | Flows | Sources | Granted before → after |\n|---|---|---|---|---|\n",
        );
        for (n, f) in plan.fixes.iter().enumerate() {
            if n == TABLE_ROWS {
                out.push_str("\n<details><summary>More changes</summary>\n\n| Rule | Change | Flows | Sources | Granted before → after |\n|---|---|---|---|---|\n");
            }
            let (flows, sources) =
                f.evidence
                    .as_ref()
                    .map_or(("-".to_owned(), "-".to_owned()), |e| {
                        (
                            (e.flows + e.possibly_inbound_flows).to_string(),
                            format!(
                                "{}{}",
                                if e.sources_estimated { "~" } else { "" },
                                e.sources
                            ),
                        )
                    });
            let _ = writeln!(
                out,
                "| `{}` {} | {} | {flows} | {sources} | {} |",
                cell(&f.address),
                cell(&f.rule),
                cell(&f.changes.join("; ")),
                cell(&granted(f)),
            );
        }
        if plan.fixes.len() > TABLE_ROWS {
            out.push_str("\n</details>\n");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "### What `terraform plan` will show\n");
    let mut actions: Vec<String> = plan.fixes.iter().map(plan_action).collect();
    actions.dedup();
    for a in actions {
        let _ = writeln!(out, "- {a}");
    }
    if plan.fixes.iter().any(|f| !f.creates.is_empty()) {
        out.push_str(
            "\nNew rule resources are created for the extra prefixes of a narrowed rule (a \
             `aws_vpc_security_group_ingress_rule` holds one source).\n",
        );
    }
    let _ = writeln!(out, "\n### Changes and their evidence\n");
    for f in &plan.fixes {
        section(&mut out, f);
        if out.len() > LIMIT {
            out.push_str("\n_The body was cut at GitHub's size limit: run the command below for the rest._\n");
            break;
        }
    }
    if !plan.notes.is_empty() || !plan.dropped.is_empty() {
        let _ = writeln!(out, "\n### Left as they are\n");
        for n in plan.dropped.iter().chain(&plan.notes) {
            let line = format!(
                "- {} `{}` {}: {}\n",
                n.code,
                n.address,
                n.rule.as_deref().unwrap_or_default(),
                n.reason
            );
            if out.len() + line.len() > LIMIT {
                break;
            }
            out.push_str(&line);
        }
    }
    let _ = writeln!(
        out,
        "\n### Before merging\n\n\
         - The evidence covers {window}: access used less often than that (quarterly jobs, \
           disaster recovery, yearly audits) does not show in it. Ask the owners of each group.\n\
         - Removing or narrowing a rule is an *unsafe* fix: it changes what is allowed. To keep a \
           rule, add `# tighten:ignore SG101 <reason>` (or the check's code) above it and \
           regenerate.\n\
         - Run `terraform plan` and compare it with the list above.\n"
    );
    let _ = writeln!(out, "<sub>Regenerate with `{command}`</sub>");
    out
}

fn granted(f: &Fix) -> String {
    f.proposals
        .iter()
        .map(|p| match p {
            Proposal::RemoveRule => "removed".to_owned(),
            Proposal::ReplaceSources {
                granted_before,
                granted_after,
                ..
            } => format!("{granted_before} → {granted_after} addresses"),
            Proposal::ReplacePorts {
                granted_before,
                granted_after,
                ..
            } => format!("{granted_before} → {granted_after} ports"),
            Proposal::ReferenceGroup { .. } => "group reference".to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn section(out: &mut String, f: &Fix) {
    let _ = writeln!(out, "#### `{}` — {}\n", f.address, f.rule);
    for c in &f.changes {
        let _ = writeln!(out, "- **Change:** {c}");
    }
    let codes: Vec<String> = f.codes.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "- **Checks:** {}", codes.join(", "));
    if let Some(e) = &f.evidence {
        let _ = writeln!(
            out,
            "- **Evidence:** {} inbound flow(s) from {}{} source(s) on {} day(s) of {}; {} day(s) \
             with complete flow logs on {} interface(s); group {} linked by {}",
            e.flows,
            if e.sources_estimated { "~" } else { "" },
            e.sources,
            e.days_with_traffic,
            e.window,
            e.coverage_days,
            e.interfaces,
            e.group_id.as_deref().unwrap_or("-"),
            e.link
        );
        if e.possibly_inbound_flows > 0 {
            let _ = writeln!(
                out,
                "- **Possibly inbound:** {} flow(s) whose direction could not be decided were \
                 counted as use (kept allowed)",
                e.possibly_inbound_flows
            );
        }
        if let (Some(first), Some(last)) = (&e.first_seen, &e.last_seen) {
            let _ = writeln!(
                out,
                "- **First / last seen:** {first} / {last} ({} day(s) before the window's end)",
                e.days_since_last_seen.unwrap_or_default()
            );
        }
        if let Some(line) = crate::report::top_sources_markdown(e) {
            let _ = writeln!(out, "{line}");
        }
        if e.rejects > 0 {
            let _ = writeln!(out, "- **Rejected on these ports:** {} flow(s)", e.rejects);
        }
    }
    for p in &f.proposals {
        if let Proposal::ReplaceSources { options, .. } = p
            && options.len() > 1
        {
            out.push_str("\n<details><summary>Other budgets (k prefixes)</summary>\n\n| k | prefixes | granted addresses |\n|---|---|---|\n");
            for o in options {
                let prefixes: Vec<String> = o.prefixes.iter().map(ToString::to_string).collect();
                let _ = writeln!(out, "| {} | {} | {} |", o.k, prefixes.join(", "), o.granted);
            }
            out.push_str("\n</details>\n");
        }
    }
    out.push('\n');
}
