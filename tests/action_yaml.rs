//! The security rules of the action and the workflows, read from the YAML itself (action.yml,
//! .github/workflows/, examples/workflows/):
//!
//! - no `${{` inside a `run:` (inputs and `github.*` values reach scripts through `env:`);
//! - every `uses:` of another repository pinned to a 40-hex commit, with its version in a
//!   comment; `docker://` images by digest;
//! - every workflow sets `permissions:`, never `write-all`, never `pull_request_target`, and a
//!   job asks for a write permission only when one of its steps needs it;
//! - action.yml's wiring: every input used and declared, every `steps.ID.outputs.NAME` set by
//!   that step's script, every run step a script under action/ that exists and is executable.
//!
//! The checker is also run on bad YAML, so that it is known to catch what it looks for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_norway::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// action.yml and every workflow file of the repository.
fn files() -> Vec<PathBuf> {
    let mut files = vec![root().join("action.yml")];
    for dir in [".github/workflows", "examples/workflows"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            .collect();
        found.sort();
        assert!(!found.is_empty(), "no workflow in {dir}");
        files.extend(found);
    }
    files
}

fn load(text: &str) -> Value {
    serde_norway::from_str(text).unwrap()
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping()?.get(key)
}

/// Is `uses` pinned: a local path, a `docker://` image by digest, or `owner/repo[/path]@` and
/// 40 lowercase hex digits.
fn pinned(uses: &str) -> bool {
    if uses.starts_with("./") {
        return true;
    }
    if let Some(image) = uses.strip_prefix("docker://") {
        return image.contains("@sha256:");
    }
    let Some((action, sha)) = uses.rsplit_once('@') else {
        return false;
    };
    let parts: Vec<&str> = action.split('/').collect();
    parts.len() >= 2
        && parts.iter().all(|p| !p.is_empty())
        && sha.len() == 40
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Every violation of the `run:` and `uses:` rules in `v`, with where it is.
fn walk(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                let key = k.as_str().unwrap_or("?");
                let here = format!("{at}.{key}");
                match (key, x.as_str()) {
                    ("run", Some(script)) if script.contains("${{") => {
                        out.push(format!("{here}: `${{{{` inside run: {script:?}"));
                    }
                    ("uses", Some(uses)) if !pinned(uses) => {
                        out.push(format!("{here}: not pinned to a commit: {uses}"));
                    }
                    _ => walk(x, &here, out),
                }
            }
        }
        Value::Sequence(s) => {
            for (i, x) in s.iter().enumerate() {
                walk(x, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Lines that pin a commit without saying which version it is.
fn unlabelled_pins(text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let uses = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")?;
            let (target, comment) = uses.split_once('#').unwrap_or((uses, ""));
            let target = target.trim();
            let labelled = comment.trim_start().strip_prefix('v').is_some_and(|v| {
                v.split('.')
                    .next()
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            });
            (target.contains('@') && !target.starts_with("./") && !labelled)
                .then(|| format!("line {}: no `# vX.Y.Z` after {target}", i + 1))
        })
        .collect()
}

/// The write permissions a job holds, and whether its steps need each.
fn permission_violations(doc: &Value, out: &mut Vec<String>) {
    match get(doc, "permissions") {
        None => out.push("no top-level `permissions:`".to_owned()),
        Some(p) if p.as_str() == Some("write-all") => out.push("permissions: write-all".to_owned()),
        Some(_) => {}
    }
    if let Some(on) = get(doc, "on")
        && (on.as_str() == Some("pull_request_target") || get(on, "pull_request_target").is_some())
    {
        out.push("runs on pull_request_target".to_owned());
    }
    let Some(jobs) = get(doc, "jobs").and_then(Value::as_mapping) else {
        out.push("no jobs".to_owned());
        return;
    };
    for (name, job) in jobs {
        let name = name.as_str().unwrap_or("?");
        let steps = get(job, "steps").and_then(Value::as_sequence);
        let uses: Vec<&str> = steps
            .into_iter()
            .flatten()
            .filter_map(|s| get(s, "uses")?.as_str())
            .collect();
        let runs: Vec<&str> = steps
            .into_iter()
            .flatten()
            .filter_map(|s| get(s, "run")?.as_str())
            .collect();
        let uses_any = |names: &[&str]| uses.iter().any(|u| names.iter().any(|n| u.contains(n)));
        let Some(perms) = get(job, "permissions") else {
            continue;
        };
        if perms.as_str() == Some("write-all") {
            out.push(format!("job {name}: permissions: write-all"));
            continue;
        }
        for (scope, level) in perms.as_mapping().into_iter().flatten() {
            let (Some(scope), Some("write")) = (scope.as_str(), level.as_str()) else {
                continue;
            };
            let needed = match scope {
                "contents" => {
                    uses_any(&["peter-evans/create-pull-request"])
                        || runs.iter().any(|r| r.contains("gh release"))
                }
                "pull-requests" => uses_any(&["peter-evans/create-pull-request"]),
                "id-token" => uses_any(&["aws-actions/configure-aws-credentials"]),
                // The tighten action uploads SARIF itself.
                "security-events" => uses_any(&["codeql-action/upload-sarif", "/tighten@"]),
                _ => false,
            };
            if !needed {
                out.push(format!("job {name}: `{scope}: write` that no step needs"));
            }
        }
    }
}

fn violations(text: &str, workflow: bool) -> Vec<String> {
    let doc = load(text);
    let mut out = Vec::new();
    walk(&doc, "", &mut out);
    out.extend(unlabelled_pins(text));
    if workflow {
        permission_violations(&doc, &mut out);
    }
    out
}

#[test]
fn no_expression_in_run_and_every_action_pinned() {
    let files = files();
    assert!(files.len() >= 4, "{files:?}");
    let mut all = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let workflow = !f.ends_with("action.yml");
        for v in violations(&text, workflow) {
            all.push(format!(
                "{}: {v}",
                f.strip_prefix(root()).unwrap().display()
            ));
        }
    }
    assert!(all.is_empty(), "{all:#?}");
}

#[test]
fn the_checker_catches_what_it_looks_for() {
    let bad = r#"
name: bad
on: pull_request_target
permissions: write-all
jobs:
  a:
    runs-on: ubuntu-24.04
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/cache@5a3ec84eff668545956fd18022155c47e93e2684
      - uses: docker://alpine:3.20
      - uses: ./local
      - run: echo "${{ github.event.pull_request.title }}"
      - run: |
          echo ok
          echo ${{ inputs.x }}
      - run: echo "$SAFE"
        env:
          SAFE: ${{ inputs.x }}
"#;
    let v = violations(bad, true);
    assert_eq!(
        v,
        [
            ".jobs.a.steps[0].uses: not pinned to a commit: actions/checkout@v4",
            ".jobs.a.steps[2].uses: not pinned to a commit: docker://alpine:3.20",
            ".jobs.a.steps[4].run: `${{` inside run: \"echo \\\"${{ github.event.pull_request.title }}\\\"\"",
            ".jobs.a.steps[5].run: `${{` inside run: \"echo ok\\necho ${{ inputs.x }}\\n\"",
            "line 12: no `# vX.Y.Z` after actions/checkout@v4",
            "line 13: no `# vX.Y.Z` after actions/cache@5a3ec84eff668545956fd18022155c47e93e2684",
            "permissions: write-all",
            "runs on pull_request_target",
            "job a: `contents: write` that no step needs",
            "job a: `id-token: write` that no step needs",
        ]
    );
    assert!(pinned(
        "github/codeql-action/upload-sarif@5d4e8d1aca955e8d8589aabd499c5cae939e33c7"
    ));
    assert!(!pinned(
        "github/codeql-action/upload-sarif@5D4E8D1ACA955E8D8589AABD499C5CAE939E33C7"
    ));
    assert!(!pinned(
        "actions/cache@5a3ec84eff668545956fd18022155c47e93e268"
    ));
    assert!(pinned("docker://alpine@sha256:0123"));
}

/// `name` in every `${{ … }}` of `text` that reads `prefix.name…`.
fn references(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for expr in text.split("${{").skip(1) {
        let expr = expr.split("}}").next().unwrap_or_default();
        for part in expr.split(prefix).skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            out.insert(name);
        }
    }
    out
}

#[test]
fn action_wiring_is_consistent() {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let doc = load(&text);
    let declared: BTreeSet<String> = get(&doc, "inputs")
        .and_then(Value::as_mapping)
        .unwrap()
        .iter()
        .map(|(k, v)| {
            assert!(
                get(v, "description").and_then(Value::as_str).is_some(),
                "input {k:?} has no description"
            );
            assert!(get(v, "default").is_some(), "input {k:?} has no default");
            k.as_str().unwrap().to_owned()
        })
        .collect();
    let used = references(&text, "inputs.");
    assert_eq!(used, declared, "inputs used vs declared");

    let steps = get(get(&doc, "runs").unwrap(), "steps")
        .and_then(Value::as_sequence)
        .unwrap();
    assert_eq!(
        get(get(&doc, "runs").unwrap(), "using").unwrap(),
        "composite"
    );
    let mut scripts = std::collections::BTreeMap::new();
    for step in steps {
        let id = get(step, "id").and_then(Value::as_str);
        if let Some(run) = get(step, "run").and_then(Value::as_str) {
            assert_eq!(get(step, "shell").and_then(Value::as_str), Some("bash"));
            let script = run
                .strip_prefix("\"$GITHUB_ACTION_PATH/")
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or_else(|| panic!("a run step calls one script of action/: {run}"));
            let path = root().join(script);
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&path).unwrap().permissions(),
            );
            assert!(mode & 0o111 != 0, "{script} is not executable");
            if let Some(id) = id {
                scripts.insert(id.to_owned(), std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    // Every `steps.ID.outputs.NAME` is set by the script of step ID (or is actions/cache's
    // `cache-hit`, or upload-artifact's `artifact-url`).
    for r in references(&text, "steps.") {
        let (id, name) = r.split_once(".outputs.").unwrap_or_else(|| panic!("{r}"));
        if name == "cache-hit" {
            assert_eq!(id, "cache");
            continue;
        }
        if name == "artifact-url" {
            assert_eq!(id, "upload-report");
            continue;
        }
        let script = scripts
            .get(id)
            .unwrap_or_else(|| panic!("no run step with id {id}"));
        assert!(
            script.contains(&format!("set_output {name} ")),
            "step {id} never sets output {name}"
        );
    }
}

#[test]
fn pre_commit_hook_runs_a_script_of_the_repository() {
    let doc = load(&std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap());
    let hooks = doc.as_sequence().unwrap();
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!(get(hook, "id").unwrap(), "tighten-lint");
    assert_eq!(get(hook, "language").unwrap(), "script");
    assert_eq!(get(hook, "files").unwrap(), r"\.tf(\.json)?$");
    let entry = root().join(get(hook, "entry").unwrap().as_str().unwrap());
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&entry).unwrap().permissions());
    assert!(mode & 0o111 != 0, "{} is not executable", entry.display());
}

#[test]
fn every_script_is_in_the_shellcheck_list_of_ci() {
    // .ci/run shellchecks action/*.sh, hooks/*.sh and .github/scripts/*.sh: a script elsewhere
    // would escape it.
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    for dir in ["action", "hooks", ".github/scripts"] {
        assert!(
            ci.contains(&format!("{dir}/*.sh")),
            ".ci/run does not check {dir}/*.sh"
        );
        assert!(Path::new(&root().join(dir)).is_dir());
    }
}
