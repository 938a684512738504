//! Fix stage: turns the evidence checks' proposals into byte-range edits of the original files,
//! proves them (re-parse, rebuild the model, compare the rule sets, re-check, replay the evidence)
//! and hands back the edited texts, what was fixed, and what was left as a note and why. Nothing
//! here decides what is wrong, and nothing is written: the CLI writes files, diffs and PR bodies.

pub mod body;
pub mod diff;
pub mod edit;
mod locate;
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use edit::Edit;
use locate::{Change, Locator};
use verify::Verifier;

use crate::analysis::evidence::{Replay, Window, replay};
use crate::analysis::proposal::{EvidenceSummary, Proposal};
use crate::analysis::{CheckCode, Config, Outcome};
use crate::store::view::EvidenceView;
use crate::terraform::{LoadOptions, Loaded, state::State};

/// Everything `plan` reads.
pub struct Inputs<'a> {
    pub loaded: &'a Loaded,
    pub dir: &'a Path,
    pub load_options: &'a LoadOptions,
    pub state: Option<&'a State>,
    /// Findings after suppressions (a suppressed finding proposes nothing).
    pub outcome: &'a Outcome,
    pub config: &'a Config,
    pub view: &'a EvidenceView,
    pub window: Option<Window>,
    /// Only fixes of these checks (`--only`).
    pub only: Option<&'a [CheckCode]>,
}

/// One verified fix: the edits that make one rule what its findings propose.
#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    /// The checks whose proposals it applies.
    pub codes: Vec<CheckCode>,
    pub address: String,
    /// The rule before the fix (one-line summary).
    pub rule: String,
    /// What changes, one line per proposal.
    pub changes: Vec<String>,
    pub proposals: Vec<Proposal>,
    pub edits: Vec<Edit>,
    /// Resources the fix adds (sibling rules for extra prefixes).
    pub creates: Vec<String>,
    pub evidence: Option<EvidenceSummary>,
    /// Where the rule is.
    pub file: PathBuf,
    pub offset: usize,
}

/// A proposal left as it is, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub code: CheckCode,
    pub address: String,
    pub rule: Option<String>,
    pub reason: String,
}

/// The replay of the window's inbound flows against the rules before and after.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplaySummary {
    /// Flow rows replayed, and the flows they hold.
    pub rows: usize,
    pub flows: u64,
    pub allowed_before: usize,
    pub allowed_after: usize,
    /// Rows allowed before and denied after (the invariant: 0).
    pub denied: usize,
}

/// What `fix` would do.
#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub fixes: Vec<Fix>,
    /// Proposals that are suggestions or have no safe automatic edit.
    pub notes: Vec<Note>,
    /// Fixes that failed verification: never offered.
    pub dropped: Vec<Note>,
    #[serde(skip)]
    pub originals: BTreeMap<PathBuf, String>,
    #[serde(skip)]
    pub edited: BTreeMap<PathBuf, String>,
    pub replay: Option<ReplaySummary>,
}

impl Plan {
    /// Files whose text changes.
    pub fn changed_files(&self) -> impl Iterator<Item = (&PathBuf, &String, &String)> {
        self.edited
            .iter()
            .filter_map(|(p, new)| self.originals.get(p).map(|old| (p, old, new)))
            .filter(|(_, old, new)| old != new)
    }
}

/// A rule's proposals gathered from its findings.
struct Wanted {
    codes: Vec<CheckCode>,
    change: Change,
    lines: Vec<String>,
    proposals: Vec<Proposal>,
    evidence: Option<EvidenceSummary>,
}

/// Plans, proves and applies (in memory) every fix the findings propose.
pub fn plan(inputs: &Inputs<'_>) -> Plan {
    let model = &inputs.loaded.model;
    let mut out = Plan::default();
    let mut wanted: BTreeMap<usize, Wanted> = BTreeMap::new();
    for d in &inputs.outcome.diagnostics {
        let Some(p) = &d.proposal else { continue };
        if inputs.only.is_some_and(|only| !only.contains(&d.code)) {
            continue;
        }
        let (target, proposal) = (&p.0, &p.1);
        let note = |reason: String| Note {
            code: d.code,
            address: d.address.clone(),
            rule: d.rule.clone(),
            reason,
        };
        let Some(index) = model.rules.iter().position(|r| {
            r.root == target.root
                && r.address.to_string() == target.address
                && r.entry == target.entry
                && r.loc == target.loc
        }) else {
            out.notes
                .push(note("the rule was not found in the model".to_owned()));
            continue;
        };
        let w = wanted.entry(index).or_insert_with(|| Wanted {
            codes: Vec::new(),
            change: Change::default(),
            lines: Vec::new(),
            proposals: Vec::new(),
            evidence: d.evidence.as_deref().cloned(),
        });
        match proposal {
            Proposal::RemoveRule => w.change.remove = true,
            Proposal::ReplaceSources { prefixes, .. } => w.change.sources = Some(prefixes.clone()),
            Proposal::ReplacePorts { ports, .. } => w.change.ports = Some(ports.clone()),
            Proposal::ReferenceGroup { .. } => {
                out.notes.push(note(format!(
                    "a suggestion, not applied automatically: {}",
                    crate::report::proposal_line(proposal)
                )));
                continue;
            }
        }
        w.codes.push(d.code);
        w.lines.push(crate::report::proposal_line(proposal));
        w.proposals.push(proposal.clone());
    }
    dedupe_sources(model, &mut wanted);
    out.originals = inputs
        .loaded
        .files
        .iter()
        .map(|f| (f.path.clone(), f.text.clone()))
        .collect();

    // Plan the edits; a rule that cannot be edited safely may make its neighbours unsafe too
    // (they shared bytes with it), so plan again until nothing more drops out.
    let mut planned: BTreeMap<usize, locate::Planned> = BTreeMap::new();
    loop {
        let changes: BTreeMap<usize, Change> =
            wanted.iter().map(|(i, w)| (*i, w.change.clone())).collect();
        let locator = Locator {
            loaded: inputs.loaded,
            model,
            changes: &changes,
        };
        planned.clear();
        let mut failed = Vec::new();
        for (i, change) in &changes {
            match locator.plan(*i, change) {
                Ok(p) => {
                    planned.insert(*i, p);
                }
                Err(reason) => failed.push((*i, reason)),
            }
        }
        if failed.is_empty() {
            break;
        }
        for (i, reason) in failed {
            // Ports that cannot be written keep the rule's other narrowing: only SG104 drops.
            if let Some(w) = wanted.get_mut(&i)
                && w.change.ports.is_some()
                && (w.change.sources.is_some() || w.change.remove)
            {
                w.change.ports = None;
                let keep: Vec<bool> = w.codes.iter().map(|c| *c != CheckCode::Sg104).collect();
                let mut k = keep.iter();
                w.lines.retain(|_| *k.next().unwrap_or(&true));
                let mut k = keep.iter();
                w.proposals.retain(|_| *k.next().unwrap_or(&true));
                w.codes.retain(|c| *c != CheckCode::Sg104);
                out.notes.push(Note {
                    code: CheckCode::Sg104,
                    address: model.rules[i].address.to_string(),
                    rule: Some(model.rules[i].summary()),
                    reason: format!("no automatic edit: {reason}"),
                });
                continue;
            }
            if let Some(w) = wanted.remove(&i) {
                for code in w.codes {
                    out.notes.push(Note {
                        code,
                        address: model.rules[i].address.to_string(),
                        rule: Some(model.rules[i].summary()),
                        reason: format!("no automatic edit: {reason}"),
                    });
                }
            }
        }
    }

    let before: Option<Replay> = inputs.window.map(|w| replay(model, inputs.view, w));
    let verifier = Verifier {
        loaded: inputs.loaded,
        dir: inputs.dir,
        load_options: inputs.load_options,
        state: inputs.state,
        config: inputs.config,
        view: inputs.view,
        window: inputs.window,
        before: before.as_ref(),
    };
    // Units: the rules of one declaration are verified together (their edits depend on each
    // other). A file's declarations are tried together first (one rebuild per file), one by one
    // only when that fails, so that one failure does not sink the others.
    let mut units: BTreeMap<(PathBuf, usize, usize), Vec<usize>> = BTreeMap::new();
    for i in wanted.keys() {
        let loc = &model.rules[*i].loc;
        units
            .entry((loc.file.clone(), loc.bytes.start, loc.bytes.end))
            .or_default()
            .push(*i);
    }
    let mut by_file: BTreeMap<PathBuf, Vec<&Vec<usize>>> = BTreeMap::new();
    for ((file, ..), rules) in &units {
        by_file.entry(file.clone()).or_default().push(rules);
    }
    let check = |rules: &[usize], full: bool| {
        check_unit(&out.originals, &planned, &wanted, rules, &verifier, full)
    };
    let mut kept: Vec<Vec<usize>> = Vec::new();
    let mut failed: Vec<(Vec<usize>, String)> = Vec::new();
    for decls in by_file.values() {
        let all: Vec<usize> = decls.iter().flat_map(|d| d.iter().copied()).collect();
        if check(&all, false).is_ok() {
            kept.extend(decls.iter().map(|d| (*d).clone()));
            continue;
        }
        for d in decls {
            match check(d, false) {
                Ok(_) => kept.push((*d).clone()),
                Err(reason) => failed.push(((*d).clone(), reason)),
            }
        }
    }
    // All kept fixes together, with the re-check and the replay. A failure that names rules
    // drops their declarations; one that does not is narrowed down declaration by declaration.
    let mut result;
    let mut rounds = 0;
    loop {
        let all: Vec<usize> = kept.iter().flatten().copied().collect();
        result = check(&all, true);
        let Err(reason) = &result else { break };
        rounds += 1;
        let named: Vec<usize> = kept
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                d.iter()
                    .any(|i| reason.contains(&format!(" {} (", model.rules[*i].address)))
            })
            .map(|(n, _)| n)
            .collect();
        if !named.is_empty() && rounds < 20 {
            for n in named.into_iter().rev() {
                failed.push((kept.remove(n), reason.clone()));
            }
            continue;
        }
        let mut still = Vec::new();
        for d in std::mem::take(&mut kept) {
            match check(&d, true) {
                Ok(_) => still.push(d),
                Err(reason) => failed.push((d, reason)),
            }
        }
        kept = still;
        let all: Vec<usize> = kept.iter().flatten().copied().collect();
        result = check(&all, true);
        if let Err(reason) = &result {
            failed.extend(
                std::mem::take(&mut kept)
                    .into_iter()
                    .map(|d| (d, reason.clone())),
            );
            result = check(&[], true);
        }
        break;
    }
    for (rules, reason) in &failed {
        drop_rules(&mut out, &wanted, model, rules, reason);
    }
    let kept: Vec<usize> = kept.into_iter().flatten().collect();
    let (edited, after) = result.unwrap_or_default();
    out.edited = edited;
    if let (Some(b), Some(a)) = (&before, &after) {
        out.replay = Some(ReplaySummary {
            rows: b.counted.len(),
            flows: b.flows,
            allowed_before: b.allowed_count(),
            allowed_after: a.allowed_count(),
            denied: b.denied_by(a).len(),
        });
    } else if let Some(b) = &before {
        out.replay = Some(ReplaySummary {
            rows: b.counted.len(),
            flows: b.flows,
            allowed_before: b.allowed_count(),
            allowed_after: b.allowed_count(),
            denied: 0,
        });
    }
    for i in kept {
        let (Some(w), Some(p)) = (wanted.get(&i), planned.get(&i)) else {
            continue;
        };
        let rule = &model.rules[i];
        out.fixes.push(Fix {
            codes: w.codes.clone(),
            address: rule.address.to_string(),
            rule: rule.summary(),
            changes: w.lines.clone(),
            proposals: w.proposals.clone(),
            edits: p.edits.clone(),
            creates: p.creates.clone(),
            evidence: w.evidence.clone(),
            file: rule.loc.file.clone(),
            offset: rule.loc.bytes.start,
        });
    }
    out.fixes
        .sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
    out
}

/// Within one declaration (its entries share protocol and ports), a prefix that another entry
/// already gives is dropped from a narrowed entry: an entry left with nothing is removed. AWS
/// refuses duplicate entries, and the flows stay allowed by the entry that keeps the prefix.
fn dedupe_sources(model: &crate::model::Model, wanted: &mut BTreeMap<usize, Wanted>) {
    let mut decls: BTreeMap<(String, PathBuf, usize), Vec<usize>> = BTreeMap::new();
    for (i, r) in model.rules.iter().enumerate() {
        decls
            .entry((r.address.to_string(), r.loc.file.clone(), r.loc.bytes.start))
            .or_default()
            .push(i);
    }
    for rules in decls.values().filter(|v| v.len() > 1) {
        // Entries that stay as they are first, then the narrowed ones in order.
        let mut seen: BTreeSet<String> = rules
            .iter()
            .filter(|i| !wanted.contains_key(i))
            .filter_map(|&i| match &model.rules[i].source {
                crate::model::Known::Known(crate::model::Source::Cidr(n)) => {
                    Some(n.trunc().to_string())
                }
                _ => None,
            })
            .collect();
        for &i in rules {
            match wanted.get_mut(&i) {
                Some(w) if w.change.remove => {}
                Some(w) if w.change.sources.is_some() => {
                    let Some(sources) = w.change.sources.as_mut() else {
                        continue;
                    };
                    sources.retain(|p| seen.insert(p.to_string()));
                    if sources.is_empty() {
                        w.change = Change {
                            remove: true,
                            ..Change::default()
                        };
                        w.codes.truncate(1);
                        w.proposals = vec![Proposal::RemoveRule];
                        w.lines = vec![
                            "remove the entry: another entry of the block now gives its prefixes"
                                .to_owned(),
                        ];
                    }
                }
                Some(w) => {
                    // Ports only: the entry keeps its source.
                    if let crate::model::Known::Known(crate::model::Source::Cidr(n)) =
                        &model.rules[i].source
                    {
                        seen.insert(n.trunc().to_string());
                    }
                    let _ = w;
                }
                None => {}
            }
        }
    }
}

type Checked = (BTreeMap<PathBuf, String>, Option<Replay>);

/// Applies the edits of `rules` to the original texts and verifies the result.
fn check_unit(
    originals: &BTreeMap<PathBuf, String>,
    planned: &BTreeMap<usize, locate::Planned>,
    wanted: &BTreeMap<usize, Wanted>,
    rules: &[usize],
    verifier: &Verifier<'_>,
    replay: bool,
) -> Result<Checked, String> {
    let mut by_file: BTreeMap<&PathBuf, Vec<&Edit>> = BTreeMap::new();
    for i in rules {
        for e in planned
            .get(i)
            .map(|p| p.edits.as_slice())
            .unwrap_or_default()
        {
            by_file.entry(&e.file).or_default().push(e);
        }
    }
    let mut edited = BTreeMap::new();
    for (file, edits) in by_file {
        let old = originals
            .get(file)
            .ok_or_else(|| format!("{} is not a file of the model", file.display()))?;
        let new = edit::apply(old, &edits)
            .map_err(|_| format!("two edits overlap in {}", file.display()))?;
        edited.insert(file.clone(), new);
    }
    let changes: BTreeMap<usize, Change> = rules
        .iter()
        .filter_map(|i| wanted.get(i).map(|w| (*i, w.change.clone())))
        .collect();
    let targeted: BTreeMap<usize, BTreeSet<(CheckCode, String)>> = rules
        .iter()
        .filter_map(|i| wanted.get(i).map(|w| (*i, w)))
        .map(|(i, w)| {
            let keys = w
                .codes
                .iter()
                .zip(&w.proposals)
                .map(|(c, p)| (*c, serde_json::to_string(p).unwrap_or_default()))
                .collect();
            (i, keys)
        })
        .collect();
    let verifier = Verifier {
        window: if replay { verifier.window } else { None },
        ..*verifier
    };
    let creates: BTreeMap<String, usize> = rules
        .iter()
        .filter_map(|i| planned.get(i).map(|p| (*i, p)))
        .flat_map(|(i, p)| p.creates.iter().map(move |c| (c.clone(), i)))
        .collect();
    let after = verifier.verify(&edited, &changes, &targeted, &creates)?;
    Ok((edited, after))
}

fn drop_rules(
    out: &mut Plan,
    wanted: &BTreeMap<usize, Wanted>,
    model: &crate::model::Model,
    rules: &[usize],
    reason: &str,
) {
    for i in rules {
        let Some(w) = wanted.get(i) else { continue };
        for code in &w.codes {
            out.dropped.push(Note {
                code: *code,
                address: model.rules[*i].address.to_string(),
                rule: Some(model.rules[*i].summary()),
                reason: format!("verification failed: {reason}"),
            });
        }
    }
}
