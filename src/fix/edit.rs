//! Fix stage: byte-range edits of a file's text and the text helpers that make an edit read like a
//! person wrote it — whole lines with their own leading comments for removals, the list's own
//! layout (one element per line or inline) for replacements, the file's line endings.

use std::ops::Range;
use std::path::PathBuf;

/// Replace `range` of `file` with `text`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Edit {
    pub file: PathBuf,
    pub range: Range<usize>,
    pub text: String,
}

/// Applies edits to `text`. Overlapping deletions (adjacent removed blocks share a blank line)
/// are merged; any other overlap is refused with the two edits' indexes.
pub(crate) fn apply(text: &str, edits: &[&Edit]) -> Result<String, (usize, usize)> {
    let mut order: Vec<usize> = (0..edits.len()).collect();
    order.sort_by_key(|&i| (edits[i].range.start, edits[i].range.end));
    // (range, text) after merging deletions.
    let mut merged: Vec<(std::ops::Range<usize>, &str, usize)> = Vec::new();
    for i in order {
        let e = edits[i];
        let range = e.range.start.min(text.len())..e.range.end.min(text.len());
        if let Some((last, last_text, j)) = merged.last_mut()
            && range.start < last.end
        {
            if last_text.is_empty() && e.text.is_empty() {
                last.end = last.end.max(range.end);
                continue;
            }
            return Err((*j, i));
        }
        if let Some((last, _, j)) = merged.last()
            && last.is_empty()
            && range == *last
        {
            return Err((*j, i));
        }
        merged.push((range, e.text.as_str(), i));
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, new, _) in merged {
        out.push_str(&text[at..range.start]);
        out.push_str(new);
        at = range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// The file's line ending.
pub(crate) fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// Start of the line holding `pos`.
pub(crate) fn line_start(text: &str, pos: usize) -> usize {
    text[..pos.min(text.len())].rfind('\n').map_or(0, |i| i + 1)
}

/// Just past the newline ending the line holding `pos` (or the end of the text).
pub(crate) fn line_end(text: &str, pos: usize) -> usize {
    text[pos.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| pos + i + 1)
}

/// The whitespace that starts the line holding `pos`.
pub(crate) fn indent_of(text: &str, pos: usize) -> &str {
    let start = line_start(text, pos);
    let line = &text[start..];
    let n = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..n]
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') || t.starts_with("//")
}

/// The bytes to delete to remove the block at `range`: its whole lines, the comment lines right
/// above it (its own), and one blank line so that no double blank line is left behind.
pub(crate) fn block_removal(text: &str, range: &Range<usize>) -> Range<usize> {
    let mut start = range.start;
    let ls = line_start(text, start);
    if text[ls..start].trim().is_empty() {
        start = ls;
    }
    let mut end = range.end.min(text.len());
    let le = line_end(text, end);
    if text[end..le].trim().is_empty() {
        end = le;
    }
    // Leading comment lines belong to the block.
    while start > 0 {
        let prev = line_start(text, start - 1);
        if is_comment(&text[prev..start]) {
            start = prev;
        } else {
            break;
        }
    }
    let before_blank = start == 0 || {
        let prev = line_start(text, start - 1);
        is_blank(&text[prev..start])
    };
    let next_end = line_end(text, end);
    let next = &text[end..next_end];
    if before_blank && end < text.len() && is_blank(next) {
        end = next_end;
    } else if before_blank && start > 0 && (next.trim_start().starts_with('}') || end >= text.len())
    {
        start = line_start(text, start - 1);
    }
    start..end
}

/// Whether the expression at `range` is an element of a list literal (`[` or `,` before it).
pub(crate) fn is_list_element(text: &str, range: &Range<usize>) -> bool {
    let mut before = text[..range.start.min(text.len())].trim_end();
    // Skip comments at the ends of the lines above (`"a", # office`).
    loop {
        let ls = before.rfind('\n').map_or(0, |i| i + 1);
        let code = without_comment(&before[ls..]).trim_end();
        if !code.trim().is_empty() {
            return code.ends_with(['[', ',']);
        }
        if ls == 0 {
            return false;
        }
        before = before[..ls].trim_end();
    }
}

/// A line without its trailing `#` or `//` comment (quotes respected).
fn without_comment(line: &str) -> &str {
    let mut quoted = false;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => quoted = !quoted,
            b'#' if !quoted => return &line[..i],
            b'/' if !quoted && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

/// Whether the element at `range` sits alone on its line (a list written one element per line).
fn own_line(text: &str, range: &Range<usize>) -> bool {
    let ls = line_start(text, range.start);
    let le = line_end(text, range.end);
    let rest = text[range.end..le].trim().trim_start_matches(',').trim();
    text[ls..range.start].trim().is_empty()
        && (rest.is_empty() || rest.starts_with('#') || rest.starts_with("//"))
}

/// The bytes to delete to remove one element of a list literal, with its separator.
pub(crate) fn element_removal(text: &str, range: &Range<usize>) -> Range<usize> {
    if own_line(text, range) {
        return line_start(text, range.start)..line_end(text, range.end);
    }
    let after = &text[range.end..];
    let trimmed = after.trim_start_matches([' ', '\t']);
    if let Some(rest) = trimmed.strip_prefix(',') {
        let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        return range.start..range.end + (after.len() - rest.len()) + spaces;
    }
    let before = text[..range.start].trim_end_matches([' ', '\t']);
    match before.strip_suffix(',') {
        Some(b) => b.len()..range.end,
        None => range.clone(),
    }
}

/// `values` as list elements replacing the element at `range`, in the list's own layout.
pub(crate) fn render_elements(text: &str, range: &Range<usize>, values: &[String]) -> String {
    let sep = if own_line(text, range) {
        format!(",{}{}", newline(text), indent_of(text, range.start))
    } else {
        ", ".to_owned()
    };
    values.join(&sep)
}

/// An HCL string literal.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("$$"),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(range: Range<usize>, text: &str) -> Edit {
        Edit {
            file: PathBuf::from("main.tf"),
            range,
            text: text.to_owned(),
        }
    }

    #[test]
    fn overlapping_edits_are_refused_and_deletions_merged() {
        let a = edit(0..4, "x");
        let b = edit(2..6, "y");
        assert_eq!(apply("abcdefgh", &[&a, &b]), Err((0, 1)));
        let (d1, d2) = (edit(1..4, ""), edit(3..6, ""));
        assert_eq!(apply("abcdefgh", &[&d2, &d1]).unwrap(), "agh");
        let c = edit(4..6, "y");
        assert_eq!(apply("abcdefgh", &[&c, &a]).unwrap(), "xygh");
    }

    #[test]
    fn a_block_goes_with_its_comments_and_one_blank_line() {
        let text =
            "a {\n  x = 1\n\n  # legacy\n  # really\n  ingress {\n    y = 2\n  }\n\n  z = 3\n}\n";
        let start = text.find("ingress").unwrap();
        let end = text.find("  }\n").unwrap() + 3;
        let r = block_removal(text, &(start..end));
        let mut out = text.to_owned();
        out.replace_range(r, "");
        assert_eq!(out, "a {\n  x = 1\n\n  z = 3\n}\n");
    }

    #[test]
    fn the_last_block_takes_the_blank_line_before_it() {
        let text = "a {\n  x = 1\n\n  ingress {\n  }\n}\n";
        let start = text.find("ingress").unwrap();
        let end = text.find("  }\n").unwrap() + 3;
        let r = block_removal(text, &(start..end));
        let mut out = text.to_owned();
        out.replace_range(r, "");
        assert_eq!(out, "a {\n  x = 1\n}\n");
    }

    #[test]
    fn list_elements_inline_and_one_per_line() {
        let text = r#"c = ["a", "b", "c"]"#;
        let b = text.find("\"b\"").unwrap();
        let mut out = text.to_owned();
        out.replace_range(element_removal(text, &(b..b + 3)), "");
        assert_eq!(out, r#"c = ["a", "c"]"#);
        let c = text.find("\"c\"").unwrap();
        let mut out = text.to_owned();
        out.replace_range(element_removal(text, &(c..c + 3)), "");
        assert_eq!(out, r#"c = ["a", "b"]"#);
        let multi = "c = [\r\n  \"a\",\r\n  \"b\",\r\n]\r\n";
        let a = multi.find("\"a\"").unwrap();
        assert_eq!(
            render_elements(
                multi,
                &(a..a + 3),
                &["\"x\"".to_owned(), "\"y\"".to_owned()]
            ),
            "\"x\",\r\n  \"y\""
        );
        let mut out = multi.to_owned();
        out.replace_range(element_removal(multi, &(a..a + 3)), "");
        assert_eq!(out, "c = [\r\n  \"b\",\r\n]\r\n");
        assert!(is_list_element(text, &(b..b + 3)));
        assert!(!is_list_element("c = var.x", &(4..9)));
        let commented = "c = [\n  \"a\", # office\n  \"b\",\n]";
        let b = commented.find("\"b\"").unwrap();
        assert!(is_list_element(commented, &(b..b + 3)));
    }

    #[test]
    fn quoting_escapes_what_hcl_interprets() {
        assert_eq!(quote("10.0.0.0/8"), "\"10.0.0.0/8\"");
        assert_eq!(quote("a\"${b}%{c}"), "\"a\\\"$${b}%%{c}\"");
    }
}
