//! Terraform stage: parsing HCL whose object constructors repeat a key. Terraform accepts
//! `{ Name = "a", Name = "b" }` and keeps the last value; hcl-edit's parser refuses it. The
//! earlier items are masked (their key bytes replaced by a placeholder of the same length, so
//! every span still points into the original text), the text is parsed, and the masked items
//! are dropped from the parsed objects: the body is what Terraform evaluates, with the spans of
//! the original file.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use hcl_edit::Span;
use hcl_edit::expr::{Object, ObjectKey};
use hcl_edit::structure::Body;
use hcl_edit::visit::{Visit, visit_object};
use hcl_edit::visit_mut::{VisitMut, visit_object_mut};

/// An object key given more than once; the item at `line`/`column` is the one kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedKey {
    /// The key as written (without quotes).
    pub key: String,
    /// 1-based line of the kept (last) item's key.
    pub line: usize,
    /// 1-based column of the kept item's key.
    pub column: usize,
    /// 1-based lines of the dropped earlier items.
    pub dropped: Vec<usize>,
}

/// How many repeated keys one file may have before the parser's error is returned as is.
const MAX_REPEATS: usize = 1024;

/// The parser's message for a repeated key in an object constructor.
const REDEFINED: &str = "redefined object key";

/// Parses `text` as an HCL body, accepting repeated object keys as Terraform does (last wins).
/// Any other syntax error is the parser's, at the same position as without this leniency.
pub fn parse_body(text: &str) -> Result<(Body, Vec<RepeatedKey>), hcl_edit::parser::Error> {
    let first = match hcl_edit::parser::parse_body(text) {
        Ok(body) => return Ok((body, Vec::new())),
        Err(e) if e.message().contains(REDEFINED) => e,
        Err(e) => return Err(e),
    };
    // Pass 1: mask each later occurrence the parser stops at until the text parses; this finds
    // every repeated key (masked later occurrences, and the first occurrence kept by name).
    let mut masked_text = text.to_owned();
    let mut masked: BTreeMap<usize, String> = BTreeMap::new();
    let body = loop {
        match hcl_edit::parser::parse_body(&masked_text) {
            Ok(body) => break body,
            Err(e) if e.message().contains(REDEFINED) && masked.len() < MAX_REPEATS => {
                let at = e.location().offset();
                let Some((range, key)) = key_at(&masked_text, at) else {
                    return Err(e);
                };
                let Some(mask) = placeholder(&masked_text, range.len()) else {
                    return Err(e);
                };
                masked_text.replace_range(range, &mask);
                masked.insert(at, key);
            }
            Err(e) => return Err(if masked.is_empty() { first } else { e }),
        }
    };
    // Every occurrence of each repeated key, per object: the last one is kept.
    let mut finder = Occurrences {
        masked: &masked,
        groups: Vec::new(),
    };
    finder.visit_body(&body);
    // Pass 2: mask every occurrence but the last of each group in the original text.
    let mut text2 = text.to_owned();
    let mut drop: BTreeSet<usize> = BTreeSet::new();
    let mut notes = Vec::new();
    for (key, mut starts) in finder.groups {
        starts.sort_unstable();
        let Some(&kept) = starts.last() else { continue };
        for &start in &starts[..starts.len() - 1] {
            let Some((range, _)) = key_at(&text2, start) else {
                return Err(first);
            };
            let Some(mask) = placeholder(&text2, range.len()) else {
                return Err(first);
            };
            text2.replace_range(range, &mask);
            drop.insert(start);
        }
        let (line, column) = line_column(text, kept);
        notes.push(RepeatedKey {
            key,
            line,
            column,
            dropped: starts[..starts.len() - 1]
                .iter()
                .map(|s| line_column(text, *s).0)
                .collect(),
        });
    }
    let Ok(mut body) = hcl_edit::parser::parse_body(&text2) else {
        return Err(first);
    };
    DropMasked { drop: &drop }.visit_body_mut(&mut body);
    notes.sort_by_key(|n| (n.line, n.column));
    Ok((body, notes))
}

/// The key text (without quotes) and the byte range to mask of the object key starting at `at`:
/// an identifier, or a quoted string without escapes or interpolation.
fn key_at(text: &str, at: usize) -> Option<(Range<usize>, String)> {
    let rest = text.get(at..)?;
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        let inner = &quoted[..end];
        if inner.is_empty() || inner.contains(['\\', '$', '%', '\n']) {
            return None;
        }
        return Some((at + 1..at + 1 + end, inner.to_owned()));
    }
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        .count();
    (len > 0).then(|| (at..at + len, rest[..len].to_owned()))
}

/// An identifier of `len` bytes that does not occur as a word anywhere in `text`.
fn placeholder(text: &str, len: usize) -> Option<String> {
    const FIRST: &[u8] = b"_ZQXJKVWzqxjkvwYUyuGHghFfBbPpMmLlRrTtSsNnIiOoAaEeDdCc";
    const REST: &[u8] = b"_0123456789ZQXJKVWzqxjkvwYUyuGHghFfBbPpMmLlRrTtSsNnIiOoAaEeDdCc";
    if len == 0 {
        return None;
    }
    let candidates = (1..len).fold(FIRST.len(), |n, _| n.saturating_mul(REST.len()));
    (0..candidates.min(100_000)).find_map(|mut i| {
        let mut s = String::with_capacity(len);
        s.push(FIRST[i % FIRST.len()] as char);
        i /= FIRST.len();
        for _ in 1..len {
            s.push(REST[i % REST.len()] as char);
            i /= REST.len();
        }
        (!occurs_as_word(text, &s)).then_some(s)
    })
}

fn occurs_as_word(text: &str, word: &str) -> bool {
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let bytes = text.as_bytes();
    text.match_indices(word).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + word.len()).copied();
        !before.is_some_and(word_byte) && !after.is_some_and(word_byte)
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

/// The start of an object key's text (inside the quotes for a string key).
fn key_start(key: &ObjectKey) -> Option<(usize, String)> {
    match key {
        ObjectKey::Ident(ident) => Some((ident.span()?.start, ident.as_str().to_owned())),
        ObjectKey::Expression(e) => {
            let s = e.as_str()?;
            Some((e.span()?.start + 1, s.to_owned()))
        }
    }
}

/// Finds, per object holding a masked key, every occurrence of each repeated key.
struct Occurrences<'a> {
    /// Key starts masked in pass 1, with their original text.
    masked: &'a BTreeMap<usize, String>,
    /// Per repeated key of one object: the key and the starts of all its occurrences.
    groups: Vec<(String, Vec<usize>)>,
}

impl Visit for Occurrences<'_> {
    fn visit_object(&mut self, node: &Object) {
        let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut repeated: BTreeSet<String> = BTreeSet::new();
        for (key, _) in node {
            let Some((start, name)) = key_start(key) else {
                continue;
            };
            // A masked key's start: for a string key the span starts at the quote, the mask
            // inside it.
            let original = self
                .masked
                .get(&start)
                .or_else(|| start.checked_sub(1).and_then(|s| self.masked.get(&s)));
            let name = if let Some(original) = original {
                repeated.insert(original.clone());
                original.clone()
            } else {
                name
            };
            by_key.entry(name).or_default().push(start);
        }
        for name in repeated {
            if let Some(starts) = by_key.remove(&name) {
                self.groups.push((name, starts));
            }
        }
        visit_object(self, node);
    }
}

/// Removes the items whose keys were masked in pass 2.
struct DropMasked<'a> {
    drop: &'a BTreeSet<usize>,
}

impl VisitMut for DropMasked<'_> {
    fn visit_object_mut(&mut self, node: &mut Object) {
        let masked: Vec<ObjectKey> = node
            .iter()
            .filter(|(k, _)| key_start(k).is_some_and(|(s, _)| self.drop.contains(&s)))
            .map(|(k, _)| k.clone())
            .collect();
        for key in masked {
            node.remove(&key);
        }
        visit_object_mut(self, node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl_edit::expr::Expression;

    fn object_of(body: &Body, attr: &str) -> Vec<(String, String, Option<Range<usize>>)> {
        let Some(a) = body.get_attribute(attr) else {
            panic!("no attribute {attr}")
        };
        let Expression::Object(o) = &a.value else {
            panic!("not an object")
        };
        o.iter()
            .map(|(k, v)| {
                let key = key_start(k).map(|(_, n)| n).unwrap_or_default();
                (key, v.expr().to_string().trim().to_owned(), k.span())
            })
            .collect()
    }

    #[test]
    fn last_value_wins_and_spans_point_into_the_original() {
        let text = "tags = {\n  Name = \"a\"\n  Env = \"x\"\n  Name = \"b\"\n}\n";
        let (body, notes) = parse_body(text).unwrap();
        let items = object_of(&body, "tags");
        assert_eq!(
            items
                .iter()
                .map(|(k, v, _)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            [("Env", "\"x\""), ("Name", "\"b\"")]
        );
        let span = items[1].2.clone().unwrap();
        assert_eq!(&text[span.clone()], "Name");
        assert_eq!(span.start, text.rfind("Name").unwrap());
        assert_eq!(
            notes,
            [RepeatedKey {
                key: "Name".into(),
                line: 4,
                column: 3,
                dropped: vec![2]
            }]
        );
    }

    #[test]
    fn three_occurrences_quoted_and_nested() {
        let text = "x = { a = 1, \"a\" = 2, b = { c = 1, c = 2 }, a = 3 }\n";
        let (body, notes) = parse_body(text).unwrap();
        let items = object_of(&body, "x");
        assert_eq!(
            items
                .iter()
                .map(|(k, v, _)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            [("b", "{ c = 2 }"), ("a", "3")]
        );
        assert_eq!(
            notes.iter().map(|n| n.key.as_str()).collect::<Vec<_>>(),
            ["c", "a"]
        );
        assert_eq!(notes[1].dropped, [1, 1]);
    }

    #[test]
    fn other_errors_are_the_parsers_own() {
        let e = parse_body("x = { a = 1, a = 2 }\ny = \"\\q\"\n").unwrap_err();
        assert!(e.message().contains("escape"), "{}", e.message());
        assert_eq!(e.location().line(), 2);
        // A repeated attribute is an error in Terraform too.
        let e = parse_body("a = 1\na = 2\n").unwrap_err();
        assert!(
            e.message().contains("redefined attribute"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn placeholders_avoid_words_of_the_text() {
        assert_eq!(placeholder("_ = 1", 1).as_deref(), Some("Z"));
        assert_eq!(placeholder("x", 3).as_deref(), Some("___"));
        assert!(!occurs_as_word("a_b", "b"));
        assert!(occurs_as_word("a b", "b"));
    }
}
