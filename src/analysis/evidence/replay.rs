//! Analysis stage: the replay behind the soundness invariant. Every inbound (or possibly inbound)
//! accepted flow of the window that reached an interface of a group defined in the model is
//! replayed against that model's rules; a fix is sound when every flow the old rules allowed, the
//! new rules allow too.

use std::collections::HashMap;

use super::attribute::{Matcher, Members, matcher, peer_allows};
use super::{EvidenceFacts, Window, link};
use crate::ingest::flowlog::record::Action;
use crate::model::{Direction, Model};
use crate::store::evidence::Role;
use crate::store::view::EvidenceView;

/// Which counted flows a model allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// Indexes into `EvidenceView::rows` of the flows replayed (inbound or undecided, accepted,
    /// in the window, on an interface of a linked model group).
    pub counted: Vec<usize>,
    /// Parallel to `counted`: whether some rule of the model allows the flow.
    pub allowed: Vec<bool>,
    /// Flows counted.
    pub flows: u64,
}

impl Replay {
    /// Row indexes `self` allowed that `after` does not (the invariant says: none).
    pub fn denied_by(&self, after: &Replay) -> Vec<usize> {
        let now: HashMap<usize, bool> = after
            .counted
            .iter()
            .copied()
            .zip(after.allowed.iter().copied())
            .collect();
        self.counted
            .iter()
            .zip(&self.allowed)
            .filter(|(row, allowed)| **allowed && !now.get(row).copied().unwrap_or(false))
            .map(|(row, _)| *row)
            .collect()
    }

    /// Counted flows allowed.
    pub fn allowed_count(&self) -> usize {
        self.allowed.iter().filter(|a| **a).count()
    }
}

/// Replays the window's counted flows against `model` (linked as it would be for `lint --db`).
pub fn replay(model: &Model, view: &EvidenceView, window: Window) -> Replay {
    let facts = EvidenceFacts {
        links: link::link_groups(model, view),
        index: super::GroupIndex::new(model),
        ..EvidenceFacts::default()
    };
    let members = Members::new(view);
    let mut by_group: HashMap<String, Vec<Option<Matcher>>> = HashMap::new();
    for (i, rule) in model.rules.iter().enumerate() {
        if rule.direction != Direction::Ingress {
            continue;
        }
        let Some(g) = link::group_of(&facts.index, &facts.links, rule, i) else {
            continue;
        };
        // A rule that cannot be matched allows whatever it might: `None` allows every flow.
        let m = matcher(&facts, view, i, rule, Some(&g)).ok();
        by_group.entry(g).or_default().push(m);
    }
    let mut out = Replay::default();
    for (index, row) in view.rows.iter().enumerate() {
        let counted = matches!(row.role, Role::Inbound | Role::Unknown) || row.guessed_response();
        if !window.contains(row.day) || !counted || row.action == Action::Reject {
            continue;
        }
        let mut groups = view.inventory.possible_groups(
            &row.interface,
            row.stats.first_seen,
            row.stats.last_seen,
        );
        groups.retain(|g| by_group.contains_key(g.as_str()));
        groups.sort_unstable();
        groups.dedup();
        if groups.is_empty() {
            continue;
        }
        let clients = row.possible_clients();
        let allowed = groups.iter().any(|g| {
            by_group[g.as_str()].iter().any(|m| match m {
                None => true,
                Some(m) => {
                    m.allows_traffic(row)
                        && (row.src.is_none()
                            || clients
                                .into_iter()
                                .flatten()
                                .any(|a| peer_allows(&m.peer, &members, a, row)))
                }
            })
        });
        out.counted.push(index);
        out.allowed.push(allowed);
        out.flows += row.stats.flows;
    }
    out
}
