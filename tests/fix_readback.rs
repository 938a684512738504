//! End to end through independent readers: the shop's store, `tighten fix --write
//! --unsafe-fixes`, then python-hcl2 reads the edited Terraform back and replays every counted
//! inbound flow against it (none may be denied that the original allowed, and the removed and
//! narrowed entries are gone); and the pull-request body renders as GitHub would render it
//! (`markdown-it-py`: `CommonMark` with tables).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{succeed, tighten};
use serde_json::{Value, json};
use tighten::ingest::flowlog::record::Action;
use tighten::store::Store;
use tighten::store::evidence::Role;

/// The project's venv python (`.ci/setup-python.sh` installs python-hcl2 and markdown-it-py).
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.is_file(),
        "{} is missing: run `bash .ci/setup-python.sh` (these tests never skip)",
        venv.display()
    );
    venv
}

fn run_py(args: &[&Path], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new(python())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The counted flows of the store (inbound or undecided, not rejected, on an interface with
/// known groups), one per group it reached, and each group's member addresses.
fn flows_and_members(db: &Path) -> (Vec<Value>, BTreeMap<String, BTreeSet<String>>) {
    let store = Store::open_existing(db).unwrap();
    let view = store.view().unwrap();
    let mut flows = Vec::new();
    for row in &view.rows {
        if !matches!(row.role, Role::Inbound | Role::Unknown) || row.action == Action::Reject {
            continue;
        }
        let Some(src) = row.src else { continue };
        for g in
            view.inventory
                .groups_during(&row.interface, row.stats.first_seen, row.stats.last_seen)
        {
            flows.push(json!({
                "group": g, "protocol": row.protocol, "port": row.port, "src": src.to_string(),
            }));
        }
    }
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (addr, _, interval) in view.inventory.membership() {
        for g in &interval.state.groups {
            members
                .entry(g.clone())
                .or_default()
                .insert(addr.to_string());
        }
    }
    (flows, members)
}

#[test]
fn python_hcl2_reads_back_a_sound_fix() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    common::ingest_shop(&db);
    let before = dir.path().join("before");
    let after = dir.path().join("after");
    for d in [&before, &after] {
        std::fs::create_dir(d).unwrap();
        for f in ["main.tf", "variables.tf", "terraform.tfstate"] {
            std::fs::copy(Path::new("examples/shop/terraform").join(f), d.join(f)).unwrap();
        }
    }
    succeed(
        tighten()
            .arg("fix")
            .arg(&after)
            .args(["--write", "--unsafe-fixes", "--db"])
            .arg(&db),
    );
    let (flows, members) = flows_and_members(&db);
    assert!(flows.len() > 200, "{}", flows.len());
    let flows_file = dir.path().join("flows.json");
    let members_file = dir.path().join("members.json");
    std::fs::write(&flows_file, serde_json::to_string(&flows).unwrap()).unwrap();
    std::fs::write(&members_file, serde_json::to_string(&members).unwrap()).unwrap();
    let script = Path::new("tests/py/hcl2_replay.py");
    let read = |d: &Path| -> Value {
        serde_json::from_str(&run_py(
            &[
                script,
                d,
                &d.join("terraform.tfstate"),
                &flows_file,
                &members_file,
            ],
            None,
        ))
        .unwrap()
    };
    let (old, new) = (read(&before), read(&after));
    let allowed = |v: &Value| -> BTreeSet<u64> {
        v["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap())
            .collect()
    };
    let denied: Vec<&Value> = allowed(&old)
        .difference(&allowed(&new))
        .map(|i| &flows[*i as usize])
        .collect();
    assert!(denied.is_empty(), "denied after the fix: {denied:#?}");
    assert!(allowed(&old).len() > 200);
    let entry = |r: &Value| {
        format!(
            "{} {} {}-{} {}",
            r["group"].as_str().unwrap(),
            r["protocol"],
            r["from"],
            r["to"],
            r["source"].as_str().unwrap()
        )
    };
    let entries = |v: &Value| -> BTreeSet<String> {
        v["rules"].as_array().unwrap().iter().map(entry).collect()
    };
    let (old_e, new_e) = (entries(&old), entries(&new));
    let gone: Vec<&String> = old_e.difference(&new_e).collect();
    let added: Vec<&String> = new_e.difference(&old_e).collect();
    // Exactly the removed and narrowed entries are gone; what replaces them is narrower.
    assert_eq!(
        gone,
        [
            "sg-0app 6 32768-65535 0.0.0.0/0",
            "sg-0cache 6 6379-6379 10.0.2.0/24",
            "sg-0db 6 22-22 10.0.0.0/16",
            "sg-0db 6 5432-5432 10.0.2.0/24",
            "sg-0db 6 5432-5432 10.9.0.0/16",
            "sg-0web 6 21-21 10.0.0.0/8",
            "sg-0web 6 22-22 0.0.0.0/0",
            "sg-0web 6 8000-8999 10.0.0.0/16",
        ]
    );
    assert_eq!(
        added,
        [
            "sg-0cache 6 6379-6379 10.0.2.10/31",
            "sg-0db 6 22-22 10.0.0.5/32",
            "sg-0db 6 5432-5432 10.0.2.10/31",
            "sg-0web 6 22-22 198.51.100.1/32",
            "sg-0web 6 22-22 198.51.100.2/32",
            "sg-0web 6 22-22 203.0.113.7/32",
            "sg-0web 6 8080-8080 10.0.2.10/31",
        ]
    );
}

#[test]
fn the_pull_request_body_renders_as_github_would() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    common::ingest_shop(&db);
    let out = tighten()
        .args([
            "fix",
            "examples/shop/terraform",
            "--format",
            "markdown",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let body = String::from_utf8(out.stdout).unwrap();
    let html = run_py(&[Path::new("tests/py/render_markdown.py")], Some(&body));
    // The summary table and one cover table per narrowed source with alternatives.
    assert_eq!(html.matches("<table>").count(), 2, "{html}");
    assert_eq!(html.matches("<details>").count(), 1, "{html}");
    // Every table row of the Markdown became a row of HTML, none left as text.
    assert!(!html.contains("|---|"), "{html}");
    assert_eq!(html.matches("<tr>").count(), 1 + 8 + 1 + 3);
    assert!(
        html.contains("<strong>249 allowed, 0 denied</strong>"),
        "{html}"
    );
    assert!(
        html.contains("<h4><code>aws_security_group.web</code> — tcp port 22 from 0.0.0.0/0</h4>"),
        "{html}"
    );
}
