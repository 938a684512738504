//! `tighten lint --format github`: workflow commands that the Actions runner turns into
//! annotations. Snapshots of the static fixture and of the shop scenario with evidence, and a
//! decoder written after the runner's (`::name k=v,…::data`, `%`-unescaping) that checks every
//! command parses back to the finding it came from.

mod common;

use common::{shop_store, tighten};
use serde_json::Value;

const FORMATS: &str = "tests/fixtures/lint/formats";
const SHOP: &str = "examples/shop";

fn run(args: &[&str], code: i32) -> String {
    let out = tighten().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A decoded workflow command.
#[derive(Debug, PartialEq, Eq)]
struct Command {
    name: String,
    props: Vec<(String, String)>,
    data: String,
}

impl Command {
    fn prop(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn unescape(s: &str, property: bool) -> String {
    let mut s = s.replace("%0D", "\r").replace("%0A", "\n");
    if property {
        s = s.replace("%3A", ":").replace("%2C", ",");
    }
    s.replace("%25", "%")
}

/// Parses a line as the runner does; `None` for a plain log line.
fn parse(line: &str) -> Option<Command> {
    let rest = line.strip_prefix("::")?;
    let (head, data) = rest.split_once("::").expect("a command has a second `::`");
    let (name, props) = head.split_once(' ').unwrap_or((head, ""));
    let props = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("a property is key=value");
            (k.to_owned(), unescape(v, true))
        })
        .collect();
    Some(Command {
        name: name.to_owned(),
        props,
        data: unescape(data, false),
    })
}

/// Every command of `text`, checking that no raw newline or unescaped separator slipped in.
fn commands(text: &str) -> Vec<Command> {
    text.lines()
        .filter_map(|l| {
            let c = parse(l)?;
            for (k, v) in &c.props {
                assert!(
                    ["file", "line", "endLine", "col", "endColumn", "title"].contains(&k.as_str()),
                    "unknown property {k}={v} in {l}"
                );
            }
            Some(c)
        })
        .collect()
}

#[test]
fn static_findings_snapshot() {
    let text = run(&["lint", FORMATS, "--format", "github"], 1);
    insta::assert_snapshot!("github", text);
}

#[test]
fn commands_decode_to_the_json_findings() {
    let text = run(&["lint", FORMATS, "--format", "github"], 1);
    let json: Value =
        serde_json::from_str(&run(&["lint", FORMATS, "--format", "json"], 1)).unwrap();
    let cmds = commands(&text);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(cmds.len(), findings.len());
    for (c, f) in cmds.iter().zip(findings) {
        let expected = match f["severity"].as_str().unwrap() {
            "note" => "notice",
            s => s,
        };
        assert_eq!(c.name, expected);
        assert_eq!(c.prop("file"), f["file"].as_str());
        assert_eq!(c.prop("line"), Some(f["line"].to_string().as_str()));
        assert_eq!(c.prop("endLine"), Some(f["end_line"].to_string().as_str()));
        if f["line"] == f["end_line"] {
            assert_eq!(c.prop("col"), Some(f["column"].to_string().as_str()));
        } else {
            // GitHub rejects columns on a range of several lines.
            assert_eq!(c.prop("col"), None);
            assert_eq!(c.prop("endColumn"), None);
        }
        assert_eq!(
            c.prop("title").unwrap(),
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["name"].as_str().unwrap()
            )
        );
        assert!(
            c.data.starts_with(&format!(
                "{} ({})\n",
                f["message"].as_str().unwrap(),
                f["address"].as_str().unwrap()
            )),
            "{c:?}"
        );
    }
}

#[test]
fn a_syntax_error_is_an_error_annotation_and_exit_2() {
    let text = run(
        &["lint", "tests/fixtures/lint/broken", "--format", "github"],
        2,
    );
    let cmds = commands(&text);
    assert_eq!(
        cmds[0],
        Command {
            name: "error".to_owned(),
            props: vec![
                (
                    "file".to_owned(),
                    "tests/fixtures/lint/broken/bad.tf".to_owned()
                ),
                ("line".to_owned(), "2".to_owned()),
                ("col".to_owned(), "3".to_owned()),
                ("title".to_owned(), "tighten: syntax error".to_owned()),
            ],
            data: "invalid block body; expected `}`, newline or identifier (line 2, column 3)"
                .to_owned(),
        }
    );
    assert_eq!(cmds.len(), 2);
}

#[test]
fn evidence_findings_carry_evidence_and_proposal_with_escapes() {
    let (_dir, db) = shop_store();
    let tf = format!("{SHOP}/terraform");
    let db = db.to_str().unwrap();
    let args = ["lint", &tf, "--db", db, "--no-record", "--format", "github"];
    let text = run(&args, 1);
    insta::assert_snapshot!("github_shop", text);
    let cmds = commands(&text);
    // Timestamps and source lists hold `:` and `,`, which must survive in the message.
    let sg102 = cmds
        .iter()
        .find(|c| c.prop("title") == Some("SG102 wildcard-few-sources"))
        .expect("SG102 in the shop");
    assert_eq!(sg102.name, "warning");
    let lines: Vec<&str> = sg102.data.lines().collect();
    assert!(lines[1].starts_with("evidence: "), "{lines:?}");
    assert_eq!(
        lines[2],
        "proposal: replace 0.0.0.0/0 with 198.51.100.1/32, 198.51.100.2/32, 203.0.113.7/32 \
         (grants 3 of 4294967296 addresses for 3 observed source(s))"
    );
    let plain: Vec<&str> = text.lines().filter(|l| !l.starts_with("::")).collect();
    assert!(
        plain.iter().all(|l| l.starts_with("tighten: ")),
        "{plain:?}"
    );
}
