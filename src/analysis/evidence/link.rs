//! Analysis stage: linking Terraform groups to deployed ones, and drift between the two.
//!
//! A group is linked through state (its `sg-…` id) or, when no state links it, through the
//! deployed groups AWS Config or EC2 recorded: same `name` (or `name_prefix`) and, when both are
//! known, the same VPC — only when exactly one deployed group matches. Never a guess.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use serde::Serialize;

use super::EvidenceFacts;
use crate::ingest::inventory::{DeployedRule, GroupState, RuleSource};
use crate::model::{Direction, GroupRef, Known, Model, Protocol, Rule, SecurityGroup, Source};
use crate::store::view::EvidenceView;

/// How a Terraform group was tied to a deployed `sg-…` id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Link {
    /// Through the Terraform state.
    State { id: String },
    /// Through the unique deployed group of the same name (and VPC).
    Name { id: String },
    /// The rule names a literal `sg-…` id as its group.
    Literal { id: String },
    /// Not linked: the reason.
    NotLinked { reason: String },
}

impl Link {
    /// The deployed id, when linked.
    pub fn id(&self) -> Option<&str> {
        match self {
            Link::State { id } | Link::Name { id } | Link::Literal { id } => Some(id),
            Link::NotLinked { .. } => None,
        }
    }

    /// `state`, `name`, `literal id` or `not linked`.
    pub fn how(&self) -> &'static str {
        match self {
            Link::State { .. } => "state",
            Link::Name { .. } => "name",
            Link::Literal { .. } => "literal id",
            Link::NotLinked { .. } => "not linked",
        }
    }
}

/// Links every model group (same order as `Model::groups`).
pub(super) fn link_groups(model: &Model, view: &EvidenceView) -> Vec<Link> {
    let by_state: BTreeSet<&str> = model
        .groups
        .iter()
        .filter_map(|g| g.deployed_id.as_deref())
        .collect();
    let deployed: Vec<&GroupState> = view
        .groups
        .values()
        .filter_map(|history| history.iter().rev().find_map(|(_, s)| s.as_ref()))
        .filter(|s| !by_state.contains(s.group_id.as_str()))
        .collect();
    model
        .groups
        .iter()
        .map(|g| match &g.deployed_id {
            Some(id) => Link::State { id: id.clone() },
            None => by_name(g, &deployed),
        })
        .collect()
}

fn by_name(g: &SecurityGroup, deployed: &[&GroupState]) -> Link {
    if g.name.is_none() && g.name_prefix.is_none() {
        return Link::NotLinked {
            reason: "no state entry, and its name is not known statically".to_owned(),
        };
    }
    let matches: Vec<&&GroupState> = deployed
        .iter()
        .filter(|d| {
            let Some(name) = d.group_name.as_deref() else {
                return false;
            };
            let named = g.name.as_deref() == Some(name)
                || g.name_prefix
                    .as_deref()
                    .is_some_and(|p| name.starts_with(p));
            let same_vpc = match (&g.vpc_id, &d.vpc_id) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            named && same_vpc
        })
        .collect();
    let wanted = g.name.clone().map_or_else(
        || {
            format!(
                "name prefix `{}`",
                g.name_prefix.as_deref().unwrap_or_default()
            )
        },
        |n| format!("name `{n}`"),
    );
    match matches.as_slice() {
        [one] => Link::Name {
            id: one.group_id.clone(),
        },
        [] => Link::NotLinked {
            reason: format!(
                "no state entry, and no deployed group known to the store has {wanted}"
            ),
        },
        many => Link::NotLinked {
            reason: format!(
                "no state entry, and {} deployed groups have {wanted} ({}): pass --state",
                many.len(),
                many.iter()
                    .map(|d| d.group_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

/// Model groups by (root, address), and each rule's group: built once, so that no lookup scans
/// the groups (a model may hold thousands of rules in hundreds of groups).
#[derive(Debug, Default)]
pub struct GroupIndex {
    by_address: HashMap<(PathBuf, String), usize>,
    /// Per rule (index into `Model::rules`): its model group, when it names one.
    pub rule_group: Vec<Option<usize>>,
}

impl GroupIndex {
    pub(crate) fn new(model: &Model) -> Self {
        let mut by_address = HashMap::new();
        for (i, g) in model.groups.iter().enumerate() {
            by_address.insert((g.root.clone(), g.address.to_string()), i);
            if g.address.key.is_none() {
                by_address
                    .entry((g.root.clone(), g.address.resource()))
                    .or_insert(i);
            }
        }
        let rule_group = model
            .rules
            .iter()
            .map(|r| match &r.group {
                GroupRef::Address(a) => by_address.get(&(r.root.clone(), a.clone())).copied(),
                _ => None,
            })
            .collect();
        Self {
            by_address,
            rule_group,
        }
    }

    fn find(&self, root: &std::path::Path, address: &str) -> Option<usize> {
        self.by_address
            .get(&(root.to_path_buf(), address.to_owned()))
            .copied()
    }
}

/// The deployed id of the group rule `i` belongs to.
pub(crate) fn group_of(
    index: &GroupIndex,
    links: &[Link],
    rule: &Rule,
    i: usize,
) -> Option<String> {
    match &rule.group {
        GroupRef::Id(id) => Some(id.clone()),
        GroupRef::Address(_) => index.rule_group[i].and_then(|g| links[g].id().map(str::to_owned)),
        GroupRef::Unknown => None,
    }
}

/// The deployed id a group reference names: a literal `sg-…`, or a Terraform reference to a
/// group of the model that is linked.
pub(crate) fn resolve_group(
    index: &GroupIndex,
    links: &[Link],
    rule: &Rule,
    reference: &str,
) -> Option<String> {
    let r = reference.trim();
    if r.starts_with("sg-") {
        return Some(r.to_owned());
    }
    let r = r.strip_suffix(".id").unwrap_or(r);
    let wanted = format!("{}{r}", rule.address.module_prefix());
    index
        .find(&rule.root, &wanted)
        .and_then(|i| links[i].id().map(str::to_owned))
}

/// One deployed rule entry, normalised for comparison with Terraform's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EntryKey {
    ingress: bool,
    protocol: i32,
    ports: Option<(i32, i32)>,
    source: String,
}

impl std::fmt::Display for EntryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = if self.ingress { "ingress" } else { "egress" };
        let peer = if self.ingress { "from" } else { "to" };
        let proto = match self.protocol {
            -1 => "all".to_owned(),
            n => {
                u8::try_from(n).map_or_else(|_| n.to_string(), |n| Protocol::Number(n).to_string())
            }
        };
        match self.ports {
            Some((a, b)) if a == b => write!(f, "{dir} {proto} port {a} {peer} {}", self.source),
            Some((a, b)) => write!(f, "{dir} {proto} ports {a}-{b} {peer} {}", self.source),
            None => write!(f, "{dir} {proto} {peer} {}", self.source),
        }
    }
}

fn ports_matter(protocol: i32) -> bool {
    matches!(protocol, 1 | 6 | 17 | 58)
}

fn normal_cidr(text: &str) -> String {
    text.parse::<ipnet::IpNet>()
        .map_or_else(|_| text.to_owned(), |n| n.trunc().to_string())
}

fn deployed_key(ingress: bool, d: &DeployedRule) -> EntryKey {
    let ports =
        ports_matter(d.protocol).then(|| (d.from_port.unwrap_or(-1), d.to_port.unwrap_or(-1)));
    let source = match &d.source {
        RuleSource::Cidr(c) => normal_cidr(c),
        RuleSource::Group(g) => g.rsplit('/').next().unwrap_or(g).to_owned(),
        RuleSource::PrefixList(p) => p.clone(),
    };
    EntryKey {
        ingress,
        protocol: d.protocol,
        ports,
        source,
    }
}

/// The deployed form of a Terraform rule, when every value is known and every reference resolves.
pub(crate) fn rule_key(
    index: &GroupIndex,
    links: &[Link],
    rule: &Rule,
    own: &str,
) -> Option<EntryKey> {
    let (Known::Known(p), Known::Known(ports), Known::Known(source)) =
        (&rule.protocol, &rule.ports, &rule.source)
    else {
        return None;
    };
    let protocol = match p {
        Protocol::All => -1,
        Protocol::Number(n) => i32::from(*n),
    };
    let ports = ports_matter(protocol).then(|| {
        let (a, b) = (ports.from as i32, ports.to as i32);
        // AWS shows "all ports" of TCP/UDP as 0-65535 and Terraform may write -1.
        if matches!(protocol, 6 | 17) && (a == -1 || b == -1) {
            (0, 65535)
        } else {
            (a, b)
        }
    });
    let source = match source {
        Source::Cidr(n) => n.trunc().to_string(),
        Source::Group(r) => resolve_group(index, links, rule, r)?,
        Source::SelfGroup => own.to_owned(),
        Source::PrefixList(r) => r.starts_with("pl-").then(|| r.clone())?,
    };
    Some(EntryKey {
        ingress: rule.direction == Direction::Ingress,
        protocol,
        ports,
        source,
    })
}

fn state_keys(state: &GroupState) -> BTreeSet<EntryKey> {
    state
        .ingress
        .iter()
        .map(|d| deployed_key(true, d))
        .chain(state.egress.iter().map(|d| deployed_key(false, d)))
        .map(|mut k| {
            if matches!(k.protocol, 6 | 17) && k.ports == Some((-1, -1)) {
                k.ports = Some((0, 65535));
            }
            k
        })
        .collect()
}

/// Drift between Terraform and the latest deployed state of each linked group, and when each
/// Terraform ingress rule appeared in the deployed group.
pub(super) fn drift(model: &Model, view: &EvidenceView, facts: &mut EvidenceFacts) {
    let mut rules_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, g) in facts.index.rule_group.iter().enumerate() {
        if let Some(g) = g {
            rules_of.entry(*g).or_default().push(i);
        }
    }
    for gi in 0..model.groups.len() {
        let Some(id) = facts.links[gi].id() else {
            continue;
        };
        let Some(history) = view.groups.get(id) else {
            continue;
        };
        let Some(Some(latest)) = history.last().map(|(_, s)| s.as_ref()) else {
            continue;
        };
        let latest_keys = state_keys(latest);
        let rules: Vec<(usize, &Rule)> = rules_of.get(&gi).map_or_else(Vec::new, |is| {
            is.iter().map(|&i| (i, &model.rules[i])).collect()
        });
        let keys: Vec<(usize, Option<EntryKey>)> = rules
            .iter()
            .map(|(i, r)| (*i, rule_key(&facts.index, &facts.links, r, id)))
            .collect();
        let all_known = keys.iter().all(|(_, k)| k.is_some());
        let tf: BTreeSet<&EntryKey> = keys.iter().filter_map(|(_, k)| k.as_ref()).collect();
        // Deployed entries Terraform does not define: only when every Terraform rule of the
        // group could be compared, and only in a direction Terraform manages at all.
        if all_known {
            for k in &latest_keys {
                let manages = rules
                    .iter()
                    .any(|(_, r)| (r.direction == Direction::Ingress) == k.ingress);
                if manages && !tf.contains(k) {
                    facts.deployed_only.push((gi, k.to_string()));
                }
            }
        }
        for (i, key) in keys {
            let Some(key) = key else { continue };
            let Some(ev) = facts.rules.get_mut(&i) else {
                continue;
            };
            if !latest_keys.contains(&key) {
                ev.not_deployed = true;
                continue;
            }
            ev.appeared_ms = appeared(history, &key);
        }
    }
}

/// The start of the latest uninterrupted presence of `key` in the group's history, when it began
/// after the first recorded state (otherwise it was there before anything we know).
fn appeared(history: &[(i64, Option<GroupState>)], key: &EntryKey) -> Option<i64> {
    let mut since: Option<i64> = None;
    let mut from_start = true;
    for (i, (at, state)) in history.iter().enumerate() {
        let present = state.as_ref().is_some_and(|s| state_keys(s).contains(key));
        match (present, since) {
            (true, None) => {
                since = Some(*at);
                from_start = i == 0;
            }
            (false, Some(_)) => {
                since = None;
                from_start = false;
            }
            _ => {}
        }
    }
    if from_start { None } else { since }
}

/// Model group index → deployed rules at `at_ms` (for flows no Terraform rule explains).
pub(super) fn deployed_at<'a>(
    view: &'a EvidenceView,
    id: &str,
    at_ms: i64,
) -> Option<&'a GroupState> {
    let history = view.groups.get(id)?;
    history
        .iter()
        .rev()
        .find(|(t, _)| *t <= at_ms)
        .or_else(|| history.first())
        .and_then(|(_, s)| s.as_ref())
}
