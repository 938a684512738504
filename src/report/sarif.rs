//! Report stage: SARIF 2.1.0, as GitHub code scanning ingests it. Rule metadata comes from the
//! check docs. GitHub's limits are kept: at most 25,000 results per run (the rest are dropped
//! and the run says so) and at most 1,000 related locations per result.

use serde_json::{Value, json};

use super::{Report, display_path};
use crate::analysis::{CheckCode, Severity};

/// Most results GitHub accepts in one run.
pub const MAX_RESULTS: usize = 25_000;
const MAX_RELATED: usize = 1_000;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// The docs text under `## heading`, trimmed.
fn section<'a>(docs: &'a str, heading: &str) -> &'a str {
    let marker = format!("## {heading}\n");
    let Some(start) = docs.find(&marker).map(|i| i + marker.len()) else {
        return "";
    };
    let rest = &docs[start..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].trim()
}

/// Renders the report as a SARIF 2.1.0 log.
#[expect(
    clippy::too_many_lines,
    reason = "the document literal mirrors the SARIF layout"
)]
pub fn render(r: &Report<'_>) -> String {
    let rules: Vec<Value> = CheckCode::ALL
        .iter()
        .map(|c| {
            let m = c.meta();
            json!({
                "id": c.as_str(),
                "name": m.name,
                "shortDescription": { "text": m.summary },
                "fullDescription": { "text": section(m.docs, "What it does") },
                "help": { "text": m.docs, "markdown": m.docs },
                "defaultConfiguration": { "level": level(m.severity) },
                "properties": { "tags": ["security", "terraform", "aws"] },
            })
        })
        .collect();
    let results: Vec<Value> = r
        .outcome
        .diagnostics
        .iter()
        .take(MAX_RESULTS)
        .map(|d| {
            let (s, e) = r.positions(&d.loc);
            let related: Vec<Value> = d
                .related
                .iter()
                .take(MAX_RELATED)
                .enumerate()
                .map(|(i, rel)| {
                    let (rs, re) = r.positions(&rel.loc);
                    json!({
                        "id": i,
                        "message": { "text": rel.message },
                        "physicalLocation": {
                            "artifactLocation": { "uri": display_path(&rel.loc.file) },
                            "region": {
                                "startLine": rs.line, "startColumn": rs.column,
                                "endLine": re.line, "endColumn": re.column,
                            },
                        },
                    })
                })
                .collect();
            let mut message = d.message.clone();
            if !d.address.is_empty() {
                message = format!("{message} ({})", d.address);
            }
            json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": CheckCode::ALL.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": level(d.severity),
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": display_path(&d.loc.file) },
                        "region": {
                            "startLine": s.line, "startColumn": s.column,
                            "endLine": e.line, "endColumn": e.column,
                            "byteOffset": d.loc.bytes.start,
                            "byteLength": d.loc.bytes.end - d.loc.bytes.start,
                        },
                    },
                    "logicalLocations": [{ "fullyQualifiedName": d.address, "kind": "resource" }],
                }],
                "relatedLocations": related,
                "properties": sarif_properties(d),
                "partialFingerprints": {
                    "tightenFinding/v1": format!("{}:{}:{}", d.code, d.address, d.rule.as_deref().unwrap_or_default()),
                },
            })
        })
        .collect();
    let mut notifications = Vec::new();
    if r.outcome.diagnostics.len() > MAX_RESULTS {
        notifications.push(json!({
            "level": "warning",
            "message": { "text": format!(
                "{} findings; only the first {MAX_RESULTS} are included (GitHub's limit per run)",
                r.outcome.diagnostics.len()
            ) },
        }));
    }
    for e in r.errors {
        notifications.push(json!({ "level": "error", "message": { "text": e.to_string() } }));
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "tighten",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": r.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The evidence and proposal of a finding, as SARIF result properties.
fn sarif_properties(d: &crate::analysis::Diagnostic) -> Value {
    let mut p = serde_json::Map::new();
    if let Some(e) = &d.evidence {
        p.insert("evidence".to_owned(), json!(e));
    }
    if let Some(prop) = &d.proposal {
        p.insert(
            "proposal".to_owned(),
            json!({ "change": prop.1, "text": super::proposal_line(&prop.1) }),
        );
    }
    Value::Object(p)
}
