//! Report stage: JSON output, schema version 1 (documented in the README, "Output formats"). Fields are only
//! ever added within a schema version: `evidence` and `proposal` are filled by the evidence checks
//! (`lint --db`), `suggestion` stays reserved (null) for fixes.

use serde_json::{Value, json};

use super::{Report, display_path};

/// The schema version written in `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// Renders the report as pretty JSON (with a trailing newline).
pub fn render(r: &Report<'_>) -> String {
    let (errors, warnings, notes) = r.counts();
    let findings: Vec<Value> = r
        .outcome
        .diagnostics
        .iter()
        .map(|d| {
            let (start, end) = r.positions(&d.loc);
            json!({
                "code": d.code,
                "name": d.code.meta().name,
                "severity": d.severity,
                "message": d.message,
                "file": display_path(&d.loc.file),
                "line": start.line,
                "column": start.column,
                "end_line": end.line,
                "end_column": end.column,
                "byte_range": [d.loc.bytes.start, d.loc.bytes.end],
                "address": d.address,
                "rule": d.rule,
                "help": d.help,
                "related": d.related.iter().map(|rel| {
                    let (s, _) = r.positions(&rel.loc);
                    json!({
                        "file": display_path(&rel.loc.file),
                        "line": s.line,
                        "column": s.column,
                        "byte_range": [rel.loc.bytes.start, rel.loc.bytes.end],
                        "message": rel.message,
                    })
                }).collect::<Vec<_>>(),
                "evidence": d.evidence.as_ref().map_or(Value::Null, |e| json!(e)),
                "proposal": d.proposal.as_ref().map_or(Value::Null, |p| json!({
                    "rule": p.0,
                    "change": p.1,
                    "text": super::proposal_line(&p.1),
                })),
                "suggestion": Value::Null,
            })
        })
        .collect();
    let input_errors: Vec<Value> = r
        .errors
        .iter()
        .map(|e| match e {
            crate::terraform::LoadError::Syntax(s) => json!({
                "kind": "syntax",
                "file": s.path,
                "line": s.line,
                "column": s.column,
                "message": s.message,
            }),
            crate::terraform::LoadError::Io { path, source } => json!({
                "kind": "io",
                "file": path,
                "message": source.to_string(),
            }),
        })
        .collect();
    let input_notes: Vec<Value> = super::input_notes(r.files)
        .into_iter()
        .map(|(file, line, column, message)| {
            json!({ "file": file, "line": line, "column": column, "message": message })
        })
        .collect();
    let doc = json!({
        "schema_version": SCHEMA_VERSION,
        "tool": { "name": "tighten", "version": env!("CARGO_PKG_VERSION") },
        "summary": {
            "files": r.stats.files,
            "groups": r.stats.groups,
            "rules": r.stats.rules,
            "findings": r.outcome.diagnostics.len(),
            "errors": errors,
            "warnings": warnings,
            "notes": notes,
            "suppressed": r.outcome.suppressed,
            "unknown_rules": r.outcome.unknown_rules,
            "unknown_expansions": r.stats.unknown_expansions,
            "state": r.stats.state.as_deref().map(display_path),
            "linked_groups": r.stats.linked_groups,
            "evidence": r.outcome.evidence,
        },
        "findings": findings,
        "input_errors": input_errors,
        "input_notes": input_notes,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
