//! Analysis stage: suppression comments.
//!
//! - `# tighten:ignore SG001 reason exp:2027-01-31` on the line above a rule, block, resource or
//!   module call (or at the end of the offending line) suppresses those codes there; after the
//!   expiry date it no longer does and is reported (SG011). One that suppresses nothing is
//!   reported too (SG010).
//! - `# tighten:ignore-file SG005` anywhere in a file's leading comments suppresses the codes in
//!   the whole file.
//! - `#checkov:skip=CKV_AWS_24:reason` inside or above a resource, and `#trivy:ignore:AVD-AWS-0107`
//!   / `#tfsec:ignore:aws-ec2-no-public-ingress-sgr` above it, suppress the matching checks.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl_edit::Span;

use super::{CheckCode, Config, Diagnostic};
use crate::model::Loc;
use crate::terraform::SourceFile;

/// Checks that a checkov, trivy or tfsec id stands for.
fn foreign(id: &str) -> &'static [CheckCode] {
    use CheckCode::{Sg001, Sg002, Sg003, Sg004, Sg005, Sg012};
    match id.trim().to_ascii_uppercase().as_str() {
        "CKV_AWS_24" | "CKV_AWS_25" => &[Sg001],
        "CKV_AWS_260" => &[Sg004],
        "CKV_AWS_277" => &[Sg003],
        "CKV_AWS_23"
        | "AVD-AWS-0099"
        | "AVD-AWS-0124"
        | "AWS-0099"
        | "AWS-0124"
        | "AWS-EC2-ADD-DESCRIPTION-TO-SECURITY-GROUP"
        | "AWS-EC2-ADD-DESCRIPTION-TO-SECURITY-GROUP-RULE" => &[Sg005],
        "AVD-AWS-0107" | "AWS-0107" | "AWS-EC2-NO-PUBLIC-INGRESS-SGR" => {
            &[Sg001, Sg002, Sg003, Sg004]
        }
        "AVD-AWS-0104" | "AWS-0104" | "AWS-EC2-NO-PUBLIC-EGRESS-SGR" | "CKV_AWS_382" => &[Sg012],
        _ => &[],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `tighten:ignore`: reported when unused or expired.
    Tighten,
    /// `tighten:ignore-file`.
    File,
    /// checkov: anywhere inside the resource, or above it.
    Checkov,
    /// trivy / tfsec: above or at the end of the line.
    Trivy,
}

#[derive(Debug, Clone)]
struct Directive {
    kind: Kind,
    codes: Vec<CheckCode>,
    /// Line (0-based) the directive targets.
    target_line: usize,
    /// The comment bytes.
    bytes: Range<usize>,
    expired: Option<String>,
    used: bool,
}

/// Per file: the directives, the top-level block spans, the line start offsets.
type FileDirectives = (Vec<Directive>, Vec<Range<usize>>, Vec<usize>);

/// What the suppression pass did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Findings kept (plus SG010/SG011 findings about the comments).
    pub diagnostics: Vec<Diagnostic>,
    /// Findings suppressed.
    pub suppressed: usize,
}

/// Applies the suppression comments of `files` to `diags`.
pub fn apply(
    diags: Vec<Diagnostic>,
    files: &[SourceFile],
    config: &Config,
    today: (i32, u32, u32),
) -> Applied {
    let mut per_file: HashMap<&Path, FileDirectives> = HashMap::new();
    for f in files {
        let lines = line_starts(&f.text);
        let blocks = f
            .body
            .as_ref()
            .map(|b| b.blocks().filter_map(Span::span).collect())
            .unwrap_or_default();
        per_file.insert(&f.path, (parse(&f.text, &lines, today), blocks, lines));
    }
    let mut out = Applied::default();
    for d in diags {
        let Some((directives, blocks, lines)) = per_file.get_mut(d.loc.file.as_path()) else {
            out.diagnostics.push(d);
            continue;
        };
        let line_of = |off: usize| lines.partition_point(|s| *s <= off).saturating_sub(1);
        let block = blocks
            .iter()
            .find(|b| b.contains(&d.loc.bytes.start))
            .cloned();
        let mut targets = vec![
            line_of(d.loc.bytes.start),
            line_of(d.resource_loc.bytes.start),
        ];
        if let Some(b) = &block {
            targets.push(line_of(b.start));
        }
        let hit = directives.iter_mut().find(|dir| {
            dir.expired.is_none()
                && dir.codes.contains(&d.code)
                && match dir.kind {
                    Kind::File => true,
                    Kind::Tighten | Kind::Trivy => targets.contains(&dir.target_line),
                    Kind::Checkov => {
                        targets.contains(&dir.target_line)
                            || block.as_ref().is_some_and(|b| b.contains(&dir.bytes.start))
                    }
                }
        });
        if let Some(dir) = hit {
            dir.used = true;
            out.suppressed += 1;
        } else {
            out.diagnostics.push(d);
        }
    }
    let mut extra = Vec::new();
    for f in files {
        let Some((directives, _, _)) = per_file.get(f.path.as_path()) else {
            continue;
        };
        for dir in directives
            .iter()
            .filter(|d| d.kind == Kind::Tighten || d.kind == Kind::File)
        {
            let (code, message, help) = match &dir.expired {
                Some(date) => (
                    CheckCode::Sg011,
                    format!("suppression expired on {date}"),
                    "fix the finding, or renew the suppression with a new `exp:` date and a reason",
                ),
                None if !dir.used => (
                    CheckCode::Sg010,
                    format!(
                        "suppression of {} matches no finding",
                        dir.codes
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "remove the comment: what it suppressed is gone",
                ),
                None => continue,
            };
            if !config.enabled(code) {
                continue;
            }
            let loc = Loc::new(f.path.clone(), dir.bytes.clone());
            extra.push(Diagnostic {
                code,
                severity: config.severity(code),
                message,
                loc: loc.clone(),
                resource_loc: loc,
                address: String::new(),
                rule: None,
                help: help.to_owned(),
                related: Vec::new(),
                evidence: None,
                proposal: None,
            });
        }
    }
    out.diagnostics.extend(extra);
    super::sort(&mut out.diagnostics);
    out
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The comment on a line: its byte offset in the line and whether code precedes it.
fn comment(line: &str) -> Option<(usize, bool)> {
    let mut in_string = false;
    let mut prev = '\0';
    for (i, c) in line.char_indices() {
        match c {
            '"' if prev != '\\' => in_string = !in_string,
            '#' if !in_string => return Some((i, !line[..i].trim().is_empty())),
            '/' if !in_string && prev == '/' => {
                return Some((i - 1, !line[..i - 1].trim().is_empty()));
            }
            _ => {}
        }
        prev = c;
    }
    None
}

fn parse(text: &str, lines: &[usize], today: (i32, u32, u32)) -> Vec<Directive> {
    let mut out = Vec::new();
    let all: Vec<&str> = text.split('\n').collect();
    let mut leading = true;
    for (n, line) in all.iter().enumerate() {
        let Some((at, trailing)) = comment(line) else {
            if !line.trim().is_empty() {
                leading = false;
            }
            continue;
        };
        if trailing {
            leading = false;
        }
        let body = line[at..].trim_start_matches(['#', '/']).trim();
        let start = lines.get(n).copied().unwrap_or(0) + at;
        let bytes = start..start + line[at..].trim_end().len();
        // The line the comment applies to: its own when code precedes it, else the next line
        // that is neither blank nor a comment.
        let target_line = if trailing {
            n
        } else {
            (n + 1..all.len())
                .find(|i| {
                    let l = all[*i].trim();
                    !l.is_empty() && !l.starts_with('#') && !l.starts_with("//")
                })
                .unwrap_or(n)
        };
        let mut push = |kind, codes: Vec<CheckCode>, expired| {
            if !codes.is_empty() {
                out.push(Directive {
                    kind,
                    codes,
                    target_line,
                    bytes: bytes.clone(),
                    expired,
                    used: false,
                });
            }
        };
        if let Some(rest) = body.strip_prefix("tighten:ignore-file") {
            if leading {
                push(Kind::File, codes(rest), None);
            }
        } else if let Some(rest) = body.strip_prefix("tighten:ignore") {
            let expired = rest
                .split_whitespace()
                .find_map(|w| w.strip_prefix("exp:"))
                .filter(|d| parse_date(d).is_none_or(|d| d < today))
                .map(str::to_owned);
            push(Kind::Tighten, codes(rest), expired);
        } else if let Some(rest) = body.strip_prefix("checkov:skip=") {
            let id = rest.split([':', ' ']).next().unwrap_or_default();
            push(Kind::Checkov, foreign(id).to_vec(), None);
        } else if let Some(rest) = body
            .strip_prefix("trivy:ignore:")
            .or_else(|| body.strip_prefix("tfsec:ignore:"))
        {
            let id = rest.split([' ', '[']).next().unwrap_or_default();
            let (id, exp) = match id.split_once(":exp:") {
                Some((id, date)) => (id, Some(date)),
                None => (id, None),
            };
            if exp.and_then(parse_date).is_none_or(|d| d >= today) {
                push(Kind::Trivy, foreign(id).to_vec(), None);
            }
        }
    }
    out
}

/// The leading codes of a directive (`SG001 SG002,SG003 reason…`).
fn codes(rest: &str) -> Vec<CheckCode> {
    rest.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map_while(CheckCode::parse)
        .collect()
}

fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let mut it = s.trim().splitn(3, '-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// Today's date (UTC) as `(year, month, day)`.
pub fn today() -> (i32, u32, u32) {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    civil_from_days(days)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

/// Files as a map for lookups by path (used by renderers).
pub fn by_path(files: &[SourceFile]) -> HashMap<PathBuf, &SourceFile> {
    files.iter().map(|f| (f.path.clone(), f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn comments_outside_strings() {
        assert_eq!(comment("  # tighten:ignore SG001"), Some((2, false)));
        assert_eq!(comment(r#"x = "a#b" # c"#), Some((10, true)));
        assert_eq!(comment("// x"), Some((0, false)));
        assert_eq!(comment(r#"x = "http://a""#), None);
    }

    #[test]
    fn directive_codes() {
        assert_eq!(
            codes(" SG001,SG002 admin via VPN"),
            vec![CheckCode::Sg001, CheckCode::Sg002]
        );
        assert_eq!(codes(" public-admin-port why"), vec![CheckCode::Sg001]);
    }
}
