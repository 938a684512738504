//! Fix stage: proof before anything is offered. The edited files re-parse; the model rebuilt from
//! them holds exactly the intended rule entries (every other entry unchanged, compared as a
//! multiset of AWS rule entries); the targeted findings are gone; and the replay of the window's
//! inbound flows denies nothing the old rules allowed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::locate::Change;
use crate::analysis::evidence::{Replay, Window, analyse, replay};
use crate::analysis::{self, CheckCode, Config};
use crate::model::{Direction, Known, Model, Protocol, Rule, Source};
use crate::store::view::EvidenceView;
use crate::terraform::{self, LoadOptions, Loaded};

/// One AWS rule entry as compared: group, direction, protocol, ports, source.
type Entry = (String, bool, String, String, String);

fn entry(
    rule: &Rule,
    protocol: Option<Protocol>,
    ports: Option<(u16, u16)>,
    source: Option<String>,
) -> Entry {
    let p = match (protocol, &rule.protocol) {
        (Some(p), _) | (None, &Known::Known(p)) => p.to_string(),
        (None, Known::Unknown(u)) => format!("unknown: {u}"),
    };
    let ports = match (ports, &rule.protocol, &rule.ports) {
        (Some((a, b)), ..) => format!("{a}-{b}"),
        // A piece without ports (ICMP kept whole) is written with from/to -1.
        (None, ..) if protocol.is_some_and(|p| !p.has_ports()) => "-1..-1".to_owned(),
        (None, Known::Known(proto), Known::Known(r)) => {
            r.effective(protocol.unwrap_or(*proto)).map_or_else(
                || format!("{}..{}", r.from, r.to),
                |(a, b)| format!("{a}-{b}"),
            )
        }
        _ => format!("{:?}", rule.ports),
    };
    let source = source.unwrap_or_else(|| match &rule.source {
        Known::Known(Source::Cidr(n)) => n.trunc().to_string(),
        Known::Known(s) => s.to_string(),
        Known::Unknown(u) => format!("unknown: {u}"),
    });
    (
        format!("{:?}", rule.group),
        rule.direction == Direction::Ingress,
        p,
        ports,
        source,
    )
}

/// Entries the changes produce, and which changed rules (indexes) produced each.
type Produced = BTreeMap<Entry, BTreeSet<usize>>;

/// A protocol and range replacing a rule's (`None`: unchanged).
type PortsOf = (Option<Protocol>, Option<(u16, u16)>);

/// The entries a model should hold once `changes` are applied to `model`, and those the changes
/// produce.
fn expected(model: &Model, changes: &BTreeMap<usize, Change>) -> (Vec<Entry>, Produced) {
    let mut out = Vec::new();
    let mut produced = Produced::new();
    for (i, rule) in model.rules.iter().enumerate() {
        let Some(change) = changes.get(&i) else {
            out.push(entry(rule, None, None, None));
            continue;
        };
        if change.remove {
            continue;
        }
        let sources: Vec<Option<String>> = match &change.sources {
            Some(p) => p.iter().map(|n| Some(n.to_string())).collect(),
            None => vec![None],
        };
        let ports: Vec<PortsOf> = match &change.ports {
            Some(kept) => kept
                .iter()
                .flat_map(|k| {
                    if k.ranges.is_empty() {
                        vec![(Some(k.protocol), None)]
                    } else {
                        k.ranges
                            .iter()
                            .map(|r| (Some(k.protocol), Some(*r)))
                            .collect()
                    }
                })
                .collect(),
            None => vec![(None, None)],
        };
        for s in &sources {
            for (p, r) in &ports {
                let e = entry(rule, *p, *r, s.clone());
                produced.entry(e.clone()).or_default().insert(i);
                out.push(e);
            }
        }
    }
    out.sort();
    (out, produced)
}

fn actual(model: &Model) -> Vec<Entry> {
    let mut out: Vec<Entry> = model
        .rules
        .iter()
        .map(|r| entry(r, None, None, None))
        .collect();
    out.sort();
    out
}

/// What verification needs besides the edits.
pub(crate) struct Verifier<'a> {
    pub(crate) loaded: &'a Loaded,
    pub(crate) dir: &'a std::path::Path,
    pub(crate) load_options: &'a LoadOptions,
    pub(crate) state: Option<&'a terraform::state::State>,
    pub(crate) config: &'a Config,
    pub(crate) view: &'a EvidenceView,
    pub(crate) window: Option<Window>,
    /// The replay of the unedited model.
    pub(crate) before: Option<&'a Replay>,
}

impl Verifier<'_> {
    /// Checks the edited texts; `Err` says what failed. On success, the replay of the new model.
    pub(crate) fn verify(
        &self,
        edited: &BTreeMap<PathBuf, String>,
        changes: &BTreeMap<usize, Change>,
        targeted: &BTreeMap<usize, BTreeSet<(CheckCode, String)>>,
        creates: &BTreeMap<String, usize>,
    ) -> Result<Option<Replay>, String> {
        let mut rebuilt = terraform::rebuild(self.loaded, edited, self.dir, self.load_options)
            .map_err(|e| format!("the edited files do not parse: {e}"))?;
        if let Some(state) = self.state {
            terraform::link_state(&mut rebuilt.model, state);
        }
        // The groups keep the deployed ids they had (however they were linked): the edit changes
        // rules, not groups.
        let ids: BTreeMap<(&std::path::Path, String), &String> = self
            .loaded
            .model
            .groups
            .iter()
            .filter_map(|g| {
                Some((
                    (g.root.as_path(), g.address.to_string()),
                    g.deployed_id.as_ref()?,
                ))
            })
            .collect();
        for g in &mut rebuilt.model.groups {
            if let Some(id) = ids.get(&(g.root.as_path(), g.address.to_string())) {
                g.deployed_id = Some((*id).clone());
            }
        }
        let (want, produced) = expected(&self.loaded.model, changes);
        let got = actual(&rebuilt.model);
        if want != got {
            let missing: Vec<String> = want
                .iter()
                .filter(|e| !got.contains(e))
                .map(|e| format!("{e:?}"))
                .collect();
            let extra: Vec<String> = got
                .iter()
                .filter(|e| !want.contains(e))
                .map(|e| format!("{e:?}"))
                .collect();
            return Err(format!(
                "the edited Terraform does not hold exactly the intended rules (missing {}; \
                 unexpected {})",
                if missing.is_empty() {
                    "none".to_owned()
                } else {
                    missing.join(", ")
                },
                if extra.is_empty() {
                    "none".to_owned()
                } else {
                    extra.join(", ")
                }
            ));
        }
        let Some(window) = self.window else {
            return Ok(None);
        };
        let facts = analyse(&rebuilt.model, self.view, Some(window));
        let again = analysis::run(&rebuilt.model, self.config, Some(&facts));
        // The findings fixed are gone: no check proposes the same change again on an entry the
        // same rule's edit made — in place or in a sibling it created (a different, finer one may
        // appear: narrower sources can show fewer ports used).
        for d in &again {
            let Some(p) = &d.proposal else { continue };
            let key = (d.code, serde_json::to_string(&p.1).unwrap_or_default());
            let Some(r) = rebuilt.model.rules.iter().find(|r| {
                r.root == p.0.root
                    && r.address.to_string() == p.0.address
                    && r.entry == p.0.entry
                    && r.loc == p.0.loc
            }) else {
                continue;
            };
            let made_by = produced.get(&entry(r, None, None, None));
            let same_rule = made_by.is_some_and(|by| {
                by.iter().any(|i| {
                    let own = model_address(&self.loaded.model, *i) == p.0.address
                        || creates.get(&p.0.address) == Some(i);
                    own && targeted.get(i).is_some_and(|t| t.contains(&key))
                })
            });
            if same_rule {
                return Err(format!(
                    "{} still proposes the same change to {} ({})",
                    d.code,
                    d.address,
                    d.rule.as_deref().unwrap_or_default()
                ));
            }
        }
        let after = replay(&rebuilt.model, self.view, window);
        if let Some(before) = self.before {
            let denied = before.denied_by(&after);
            if !denied.is_empty() {
                let row = &self.view.rows[denied[0]];
                return Err(format!(
                    "the edited rules would deny {} observed inbound flow row(s), e.g. {} from {} \
                     to port {} on {} (day {})",
                    denied.len(),
                    Protocol::Number(row.protocol),
                    row.src
                        .map_or_else(|| "many sources".to_owned(), |a| a.to_string()),
                    row.port,
                    row.interface,
                    crate::store::evidence::date_of_day(row.day)
                ));
            }
        }
        Ok(Some(after))
    }
}

fn model_address(model: &Model, i: usize) -> String {
    model.rules[i].address.to_string()
}
