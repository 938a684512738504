//! Report stage: GitHub Actions workflow commands (`::error file=…,line=…::message`), one per
//! finding and input error, which the runner turns into annotations on the pull request's diff;
//! then plain summary lines for the log.
//!
//! Escaping follows the runner's own (`@actions/core`, `command.ts`): in the message `%`, `\r`
//! and `\n` become `%25`, `%0D` and `%0A`; in a property value `:` and `,` also become `%3A` and
//! `%2C`. Columns are only sent for a one-line range: GitHub rejects `col`/`endColumn` when
//! `line` and `endLine` differ.

use std::fmt::Write as _;

use super::{Report, display_path};
use crate::analysis::{Diagnostic, Severity};
use crate::terraform::LoadError;

/// Annotations GitHub shows per severity and step; more are accepted but not displayed.
const SHOWN_PER_STEP: usize = 10;

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    }
}

/// A message: the data after `::`.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value, between `=` and the next `,` or `::`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command: `::NAME key=value,…::message`.
fn line(out: &mut String, name: &str, props: &[(&str, String)], message: &str) {
    let props: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    let _ = writeln!(
        out,
        "::{name} {}::{}",
        props.join(","),
        escape_data(message)
    );
}

fn finding(out: &mut String, r: &Report<'_>, d: &Diagnostic) {
    let (s, e) = r.positions(&d.loc);
    let mut props = vec![
        ("file", display_path(&d.loc.file)),
        ("line", s.line.to_string()),
        ("endLine", e.line.max(s.line).to_string()),
    ];
    if s.line == e.line {
        props.push(("col", s.column.to_string()));
        props.push(("endColumn", e.column.max(s.column).to_string()));
    }
    props.push(("title", format!("{} {}", d.code, d.code.meta().name)));
    let mut message = d.message.clone();
    if !d.address.is_empty() {
        let _ = write!(message, " ({})", d.address);
    }
    if let Some(ev) = &d.evidence {
        let _ = write!(message, "\nevidence: {}", ev.line());
    }
    if let Some(p) = &d.proposal {
        let _ = write!(message, "\nproposal: {}", super::proposal_line(&p.1));
    }
    let _ = write!(message, "\nhelp: {}\n(tighten explain {})", d.help, d.code);
    line(out, command(d.severity), &props, &message);
}

fn input_error(out: &mut String, e: &LoadError) {
    match e {
        LoadError::Syntax(s) => line(
            out,
            "error",
            &[
                ("file", s.path.replace('\\', "/")),
                ("line", s.line.to_string()),
                ("col", s.column.to_string()),
                ("title", "tighten: syntax error".to_owned()),
            ],
            &s.message,
        ),
        LoadError::Io { path, source } => line(
            out,
            "error",
            &[
                ("file", path.replace('\\', "/")),
                ("title", "tighten: cannot read the file".to_owned()),
            ],
            &source.to_string(),
        ),
    }
}

/// Renders the report as workflow commands followed by summary lines.
pub fn render(r: &Report<'_>) -> String {
    let mut out = String::new();
    for e in r.errors {
        input_error(&mut out, e);
    }
    for d in &r.outcome.diagnostics {
        finding(&mut out, r, d);
    }
    let (errors, warnings, notes) = r.counts();
    let _ = writeln!(
        out,
        "tighten: {} finding(s): {errors} error(s), {warnings} warning(s), {notes} note(s); {} \
         suppressed; {} file(s), {} group(s), {} rule(s)",
        r.outcome.diagnostics.len(),
        r.outcome.suppressed,
        r.stats.files,
        r.stats.groups,
        r.stats.rules,
    );
    if errors + r.errors.len() > SHOWN_PER_STEP
        || warnings > SHOWN_PER_STEP
        || notes > SHOWN_PER_STEP
    {
        let _ = writeln!(
            out,
            "tighten: GitHub shows at most {SHOWN_PER_STEP} annotations of each severity per step; \
             the SARIF upload and the step summary have every finding"
        );
    }
    for l in super::evidence_lines(r.outcome) {
        let _ = writeln!(out, "tighten: {l}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_runner() {
        assert_eq!(escape_data("100% a\r\nb:c,d"), "100%25 a%0D%0Ab:c,d");
        assert_eq!(
            escape_property("100% a\r\nb:c,d"),
            "100%25 a%0D%0Ab%3Ac%2Cd"
        );
        // Escaping `%` first keeps an existing escape sequence literal.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn writes_one_command_per_line() {
        let mut out = String::new();
        line(
            &mut out,
            "warning",
            &[("file", "a,b.tf".to_owned()), ("title", "T: x".to_owned())],
            "two\nlines",
        );
        assert_eq!(out, "::warning file=a%2Cb.tf,title=T%3A x::two%0Alines\n");
    }
}
