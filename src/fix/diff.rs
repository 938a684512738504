//! Fix stage: the unified diff of the edited files, with `a/` and `b/` paths relative to the
//! repository root, so that `git apply` takes it from there.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use super::Plan;

/// The repository root above `dir` (a folder holding `.git`), if any.
pub fn repo_root(dir: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(dir).ok()?;
    abs.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// `path` as the diff names it: relative to `root` when inside it, else as given.
pub fn diff_path(path: &Path, root: Option<&Path>) -> String {
    let shown = root
        .and_then(|r| {
            let abs = std::path::absolute(path).ok()?;
            let abs = normalise(&abs);
            abs.strip_prefix(r).ok().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf());
    let s = shown.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map_or(s.clone(), str::to_owned)
}

fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// The unified diff of every changed file (empty when nothing changes).
pub fn unified(plan: &Plan, root: Option<&Path>) -> String {
    let mut out = String::new();
    for (path, old, new) in plan.changed_files() {
        let name = diff_path(path, root);
        let diff = TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .diff_lines(old.as_str(), new.as_str());
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string();
        let _ = writeln!(out, "diff --git a/{name} b/{name}");
        out.push_str(&text);
    }
    out
}
