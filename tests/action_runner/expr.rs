//! The part of GitHub's expression language that action.yml uses: property paths
//! (`inputs.mode`, `steps.lint.outputs.sarif-file`, `github.action_ref`), string literals,
//! `true`/`false`/`null`, `!`, `==`, `!=`, `&&`, `||`, parentheses and the status functions.
//! Anything else panics, so that action.yml cannot grow an expression the simulator would
//! silently misread.

use std::collections::BTreeMap;

/// A value: what a context property or a literal evaluates to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Null,
    Bool(bool),
    Str(String),
}

impl Val {
    pub fn truthy(&self) -> bool {
        match self {
            Val::Null => false,
            Val::Bool(b) => *b,
            Val::Str(s) => !s.is_empty(),
        }
    }

    /// As GitHub writes a value into a string (`${{ }}` inside text, `env:`, `with:`).
    pub fn text(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Bool(b) => b.to_string(),
            Val::Str(s) => s.clone(),
        }
    }
}

/// The contexts an expression reads, each a flat map of dotted paths (`steps.lint.outputs.x`
/// is the key `lint.outputs.x` of `steps`), and whether an earlier step failed.
#[derive(Debug, Default)]
pub struct Contexts {
    pub maps: BTreeMap<&'static str, BTreeMap<String, String>>,
    pub failed: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Path(String),
    Str(String),
    Call(String),
    Not,
    Eq,
    Ne,
    And,
    Or,
    Open,
    Close,
}

fn tokens(src: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let b: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let two: String = b[i..(i + 2).min(b.len())].iter().collect();
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    assert!(i < b.len(), "unterminated string in {src}");
                    if b[i] == '\'' {
                        if b.get(i + 1) == Some(&'\'') {
                            s.push('\'');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    s.push(b[i]);
                    i += 1;
                }
                out.push(Tok::Str(s));
            }
            _ if two == "==" => {
                out.push(Tok::Eq);
                i += 2;
            }
            _ if two == "!=" => {
                out.push(Tok::Ne);
                i += 2;
            }
            _ if two == "&&" => {
                out.push(Tok::And);
                i += 2;
            }
            _ if two == "||" => {
                out.push(Tok::Or);
                i += 2;
            }
            '!' => {
                out.push(Tok::Not);
                i += 1;
            }
            _ if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || "_-.".contains(b[i])) {
                    i += 1;
                }
                let word: String = b[start..i].iter().collect();
                if b.get(i) == Some(&'(') && b.get(i + 1) == Some(&')') {
                    out.push(Tok::Call(word));
                    i += 2;
                } else {
                    out.push(Tok::Path(word));
                }
            }
            _ => panic!("the simulator does not know `{c}` in the expression {src}"),
        }
    }
    out
}

struct Parser<'a> {
    toks: Vec<Tok>,
    at: usize,
    cx: &'a Contexts,
    uses_status: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn or(&mut self) -> Val {
        let mut left = self.and();
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            let right = self.and();
            left = if left.truthy() { left } else { right };
        }
        left
    }

    fn and(&mut self) -> Val {
        let mut left = self.cmp();
        while self.peek() == Some(&Tok::And) {
            self.at += 1;
            let right = self.cmp();
            left = if left.truthy() { right } else { left };
        }
        left
    }

    fn cmp(&mut self) -> Val {
        let left = self.unary();
        match self.peek() {
            Some(Tok::Eq | Tok::Ne) => {
                let ne = self.peek() == Some(&Tok::Ne);
                self.at += 1;
                let right = self.unary();
                // GitHub compares strings ignoring case; null and '' are equal.
                let eq = left.text().to_lowercase() == right.text().to_lowercase();
                Val::Bool(eq != ne)
            }
            _ => left,
        }
    }

    fn unary(&mut self) -> Val {
        let tok = self.peek().cloned();
        self.at += 1;
        match tok {
            Some(Tok::Not) => Val::Bool(!self.unary().truthy()),
            Some(Tok::Open) => {
                let v = self.or();
                assert_eq!(self.peek(), Some(&Tok::Close), "unbalanced parentheses");
                self.at += 1;
                v
            }
            Some(Tok::Str(s)) => Val::Str(s),
            Some(Tok::Call(f)) => {
                self.uses_status = true;
                Val::Bool(match f.as_str() {
                    "always" => true,
                    "success" => !self.cx.failed,
                    "failure" => self.cx.failed,
                    "cancelled" => false,
                    _ => panic!("the simulator does not know {f}()"),
                })
            }
            Some(Tok::Path(p)) => match p.as_str() {
                "true" => Val::Bool(true),
                "false" => Val::Bool(false),
                "null" => Val::Null,
                _ => {
                    let (root, rest) = p.split_once('.').unwrap_or((&p, ""));
                    let map = self
                        .cx
                        .maps
                        .get(root)
                        .unwrap_or_else(|| panic!("the simulator has no context `{root}`"));
                    map.get(rest).map_or(Val::Null, |s| Val::Str(s.clone()))
                }
            },
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Evaluates one expression (the text between `${{` and `}}`, or an `if:`); also says whether
/// it called a status function.
fn eval_with_status(src: &str, cx: &Contexts) -> (Val, bool) {
    let mut p = Parser {
        toks: tokens(src),
        at: 0,
        cx,
        uses_status: false,
    };
    let v = p.or();
    assert_eq!(p.at, p.toks.len(), "trailing tokens in {src}");
    (v, p.uses_status)
}

/// A string with `${{ … }}` parts, as GitHub fills in `env:`, `with:` and `outputs:`.
pub fn interpolate(text: &str, cx: &Contexts) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("`${{` without `}}`") + start;
        out.push_str(&eval_with_status(&rest[start + 3..end], cx).0.text());
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Whether a step with this `if:` runs (no `if:` and no status function mean `success() && …`).
pub fn condition(cond: Option<&str>, cx: &Contexts) -> bool {
    let Some(cond) = cond else {
        return !cx.failed;
    };
    let cond = cond.trim();
    let cond = cond
        .strip_prefix("${{")
        .and_then(|c| c.strip_suffix("}}"))
        .unwrap_or(cond);
    let (v, status) = eval_with_status(cond, cx);
    if status {
        v.truthy()
    } else {
        !cx.failed && v.truthy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> Contexts {
        let mut cx = Contexts::default();
        cx.maps.insert(
            "inputs",
            [
                ("mode", "lint"),
                ("sarif", "true"),
                ("working-directory", "infra"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        );
        cx.maps.insert("steps", BTreeMap::new());
        cx
    }

    #[test]
    fn evaluates_like_github() {
        let mut cx = cx();
        assert!(condition(Some("inputs.mode == 'LINT'"), &cx));
        assert!(!condition(Some("inputs.mode != 'lint'"), &cx));
        assert!(condition(Some("steps.x.outputs.y == ''"), &cx));
        assert!(!condition(Some("steps.x.outputs.y != ''"), &cx));
        assert!(condition(
            Some("${{ inputs.sarif == 'true' && !(inputs.mode == 'fix') }}"),
            &cx
        ));
        assert_eq!(
            interpolate("tighten/${{ inputs.working-directory }}", &cx),
            "tighten/infra"
        );
        assert_eq!(interpolate("${{ inputs.nothing }}", &cx), "");
        cx.failed = true;
        assert!(!condition(Some("inputs.mode == 'lint'"), &cx));
        assert!(condition(Some("always()"), &cx));
        assert!(condition(Some("!cancelled()"), &cx));
        assert!(!condition(None, &cx));
    }
}
