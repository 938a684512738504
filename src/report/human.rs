//! Report stage: human output, miette graphical diagnostics with the offending span and a help
//! line, then a summary. Colour is the caller's decision (terminal and `NO_COLOR`).

use std::fmt::{self, Write as _};

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use super::{Report, display_path, head};
use crate::analysis::{Diagnostic, Severity};

struct Human<'a> {
    d: &'a Diagnostic,
    src: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    help: String,
}

impl fmt::Debug for Human<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl fmt::Display for Human<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for Human<'_> {}

impl miette::Diagnostic for Human<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!(
            "{}({})",
            self.d.code,
            self.d.code.meta().name
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.src)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// Renders findings, input errors and a summary. `color` selects the coloured theme; `width`
/// the wrap width.
pub fn render(r: &Report<'_>, color: bool, width: usize) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false);
    let mut out = String::new();
    for e in r.errors {
        let _ = handler.render_report(&mut out, e);
    }
    for d in &r.outcome.diagnostics {
        let text = r.text_of(&d.loc.file).to_owned();
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            d.rule.clone(),
            head(&text, &d.loc),
        )];
        let mut help = d.help.clone();
        for rel in &d.related {
            if rel.loc.file == d.loc.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(rel.message.clone()),
                    head(&text, &rel.loc),
                ));
            } else {
                let (s, _) = r.positions(&rel.loc);
                let _ = write!(
                    help,
                    "\n{}: {}:{}:{}",
                    rel.message,
                    display_path(&rel.loc.file),
                    s.line,
                    s.column
                );
            }
        }
        if !d.address.is_empty() {
            help = format!("{help}\nresource: {}", d.address);
        }
        if let Some(e) = &d.evidence {
            help = format!("{help}\nevidence: {}", e.line());
            if !e.top_sources.is_empty() {
                let top: Vec<String> = e
                    .top_sources
                    .iter()
                    .map(|t| format!("{} ({} flows)", t.address, t.flows))
                    .collect();
                help = format!("{help}\ntop sources: {}", top.join(", "));
            }
        }
        if let Some(p) = &d.proposal {
            help = format!("{help}\nproposal: {}", super::proposal_line(&p.1));
            for (k, prefixes, granted) in super::cover_rows(&p.1) {
                help = format!("{help}\n  k={k}: {prefixes} ({granted} addresses)");
            }
        }
        let h = Human {
            d,
            src: NamedSource::new(display_path(&d.loc.file), text),
            labels,
            help,
        };
        let _ = handler.render_report(&mut out, &h);
        out.push('\n');
    }
    for (file, line, column, message) in super::input_notes(r.files) {
        let _ = writeln!(out, "note: {file}:{line}:{column}: {message}");
    }
    let (errors, warnings, notes) = r.counts();
    let _ = writeln!(
        out,
        "{} finding(s): {errors} error(s), {warnings} warning(s), {notes} note(s); {} suppressed",
        r.outcome.diagnostics.len(),
        r.outcome.suppressed,
    );
    let _ = writeln!(
        out,
        "{} file(s), {} group(s), {} rule(s); {} rule(s) with values not known statically, \
         {} collection(s) not expanded",
        r.stats.files,
        r.stats.groups,
        r.stats.rules,
        r.outcome.unknown_rules,
        r.stats.unknown_expansions,
    );
    if let Some(p) = &r.stats.state {
        let _ = writeln!(
            out,
            "state: {} ({} group(s) linked to deployed ids)",
            display_path(p),
            r.stats.linked_groups
        );
    } else {
        out.push_str(
            "state: none (evidence checks will not be able to link rules to deployed groups)\n",
        );
    }
    for line in super::evidence_lines(r.outcome) {
        let _ = writeln!(out, "{line}");
    }
    if !r.errors.is_empty() {
        let _ = writeln!(out, "{} input error(s)", r.errors.len());
    }
    out
}
