//! Fix stage: where a proposal's edit goes, decided from each value's `Origin` and from which
//! other rules share its bytes. An edit is made only where it changes this rule alone, or every
//! rule sharing the bytes in exactly the way each one's own proposal asks; everything else is left
//! as a note that says why no automatic edit is safe.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Block, Body};
use ipnet::IpNet;

use super::edit::{
    Edit, block_removal, element_removal, indent_of, is_list_element, newline, quote,
    render_elements,
};
use crate::analysis::proposal::ProtocolPorts;
use crate::model::{
    AttrSite, InstanceKey, Known, Model, Origin, Protocol, Rule, RuleStyle, Source,
};
use crate::terraform::Loaded;

/// What one rule is to become.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) remove: bool,
    pub(crate) sources: Option<Vec<IpNet>>,
    pub(crate) ports: Option<Vec<ProtocolPorts>>,
}

/// The edits for one rule, and the resources they create.
#[derive(Debug, Default)]
pub(crate) struct Planned {
    pub(crate) edits: Vec<Edit>,
    pub(crate) creates: Vec<String>,
}

pub(crate) struct Locator<'a> {
    pub(crate) loaded: &'a Loaded,
    pub(crate) model: &'a Model,
    /// The change of every rule that has one (index into `Model::rules`).
    pub(crate) changes: &'a std::collections::BTreeMap<usize, Change>,
}

const SOURCE_ATTRS: [&str; 4] = ["cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6"];

impl Locator<'_> {
    fn text(&self, rule: &Rule) -> Option<&str> {
        self.loaded
            .files
            .iter()
            .find(|f| f.path == rule.loc.file)
            .filter(|f| !f.json)
            .map(|f| f.text.as_str())
    }

    /// Rules whose declaration is these bytes.
    fn sharing_decl<'m>(&'m self, rule: &'m Rule) -> impl Iterator<Item = (usize, &'m Rule)> {
        self.model
            .rules
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.loc == rule.loc)
    }

    fn sharing_site<'m>(
        &'m self,
        site: &'m AttrSite,
    ) -> impl Iterator<Item = (usize, &'m Rule)> + 'm {
        self.model
            .rules
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.attr(&site.name).is_some_and(|a| a.loc == site.loc))
    }

    fn change(&self, i: usize) -> Option<&Change> {
        self.changes.get(&i)
    }

    /// Every name of a `kind` resource declared in the module of `rule` (whatever its count or
    /// `for_each`), so that a new sibling never reuses one.
    fn taken_names(&self, rule: &Rule) -> BTreeSet<String> {
        let dir = rule.loc.file.parent();
        self.loaded
            .files
            .iter()
            .filter(|f| Some(f.dir()) == dir)
            .filter_map(|f| f.body.as_ref())
            .flat_map(|b| b.blocks())
            .filter(|b| b.ident.as_str() == "resource")
            .filter(|b| {
                b.labels
                    .first()
                    .is_some_and(|l| l.as_str() == rule.address.kind)
            })
            .filter_map(|b| b.labels.get(1).map(|l| l.as_str().to_owned()))
            .collect()
    }

    /// Places in the module of `rule` that refer to its resource (outputs, `depends_on`, other
    /// resources): deleting the resource would leave them dangling.
    fn references(&self, rule: &Rule) -> usize {
        let dir = rule.loc.file.parent();
        let name = format!("{}.{}", rule.address.kind, rule.address.name);
        self.loaded
            .files
            .iter()
            .filter(|f| Some(f.dir()) == dir)
            .map(|f| count_references(&f.text, &name))
            .sum()
    }

    /// The edits that make `rule` (index `i`) what `change` says.
    pub(crate) fn plan(&self, i: usize, change: &Change) -> Result<Planned, String> {
        let rule = &self.model.rules[i];
        let text = self
            .text(rule)
            .ok_or("the rule is in a JSON file (.tf.json), which tighten does not edit")?;
        if change.remove {
            return self.remove(i, rule, text);
        }
        let mut planned = Planned::default();
        // Ports first: sibling resources created for extra prefixes copy them too.
        let (ports, copies) = match &change.ports {
            Some(ports) => self.ports(i, rule, text, ports)?,
            None => (Vec::new(), Vec::new()),
        };
        planned.creates.extend(copies);
        if let Some(prefixes) = &change.sources {
            let p = self.sources(i, rule, text, prefixes, &ports)?;
            planned.edits.extend(p.edits);
            planned.creates.extend(p.creates);
        }
        planned.edits.extend(ports);
        Ok(planned)
    }

    fn remove(&self, i: usize, rule: &Rule, text: &str) -> Result<Planned, String> {
        // The rules of a `dynamic` block share its `content` bytes: removing those would leave a
        // dynamic block without content, and the element that produced a rule is in its
        // for_each collection, which tighten does not edit.
        if text
            .get(rule.loc.bytes.clone())
            .is_some_and(|t| t.trim_start().starts_with("content"))
        {
            return Err(
                "the rule comes from an element of a dynamic block's for_each collection: \
                 remove that element by hand"
                    .to_owned(),
            );
        }
        let all_removed = self
            .sharing_decl(rule)
            .all(|(j, _)| self.change(j).is_some_and(|c| c.remove));
        if all_removed {
            // The whole declaration goes; only the first of its rules carries the edit.
            let first = self.sharing_decl(rule).map(|(j, _)| j).min();
            if first != Some(i) {
                return Ok(Planned::default());
            }
            if rule.style != RuleStyle::Inline {
                let refs = self.references(rule);
                if refs > 0 {
                    return Err(format!(
                        "{refs} reference(s) to {}.{} in the module (outputs, depends_on, …) \
                         would be left dangling: remove them with the rule by hand",
                        rule.address.kind, rule.address.name
                    ));
                }
            }
            return Ok(Planned {
                edits: vec![Edit {
                    file: rule.loc.file.clone(),
                    range: block_removal(text, &rule.loc.bytes),
                    text: String::new(),
                }],
                creates: Vec::new(),
            });
        }
        if rule.style != RuleStyle::Inline
            && let Some(InstanceKey::Key(key)) = &rule.address.key
            && self
                .sharing_decl(rule)
                .filter(|(_, r)| r.address == rule.address)
                .all(|(j, _)| self.change(j).is_some_and(|c| c.remove))
        {
            let refs = self.references(rule);
            if refs > 0 {
                return Err(format!(
                    "{refs} reference(s) to {}.{} in the module would be left dangling",
                    rule.address.kind, rule.address.name
                ));
            }
            let entry = self.for_each_entry(rule, key)?;
            // An entry alone on its lines goes with them; one among others on a line goes with
            // its separator.
            let own_line = {
                let t = &entry.1;
                let ls = super::edit::line_start(t, entry.2.start);
                let le = super::edit::line_end(t, entry.2.end);
                t[ls..entry.2.start].trim().is_empty()
                    && t[entry.2.end..le]
                        .trim()
                        .trim_start_matches(',')
                        .trim()
                        .is_empty()
            };
            let range = if own_line {
                block_removal(&entry.1, &entry.2)
            } else {
                element_removal(&entry.1, &entry.2)
            };
            return Ok(Planned {
                edits: vec![Edit {
                    file: entry.0,
                    range,
                    text: String::new(),
                }],
                creates: Vec::new(),
            });
        }
        if let Some(InstanceKey::Index(_)) = &rule.address.key {
            return Err(
                "the rule is one instance of a `count`: removing it renumbers the later \
                        instances (remove it by hand, or use for_each)"
                    .to_owned(),
            );
        }
        let site =
            source_site(rule).ok_or("the rule's source is not a CIDR list that can be edited")?;
        if site.origin != Origin::Literal || !is_list_element(text, &site.loc.bytes) {
            return Err(format!(
                "`{}` comes from {}; removing one of its values would change other rules",
                site.name,
                origin_text(&site.origin)
            ));
        }
        let others = self
            .sharing_site(site)
            .filter(|(j, _)| !self.change(*j).is_some_and(|c| c.remove))
            .count();
        if others > 0 {
            return Err(format!(
                "the value is shared by {others} other rule(s) (instances of count, for_each or a \
                 dynamic block) that still use it"
            ));
        }
        let first = self.sharing_site(site).map(|(j, _)| j).min();
        if first != Some(i) {
            return Ok(Planned::default());
        }
        Ok(Planned {
            edits: vec![Edit {
                file: site.loc.file.clone(),
                range: element_removal(text, &site.loc.bytes),
                text: String::new(),
            }],
            creates: Vec::new(),
        })
    }

    fn sources(
        &self,
        i: usize,
        rule: &Rule,
        text: &str,
        prefixes: &[IpNet],
        port_edits: &[Edit],
    ) -> Result<Planned, String> {
        let site = source_site(rule).ok_or("the rule's source is not a CIDR that can be edited")?;
        // Every rule sharing these bytes must ask for exactly the same prefixes (a for_each value
        // is edited in its collection entry, which feeds this instance alone).
        for (j, r) in self.sharing_site(site) {
            if j == i || site.origin == Origin::ForEach {
                continue;
            }
            let same = self
                .change(j)
                .and_then(|c| c.sources.as_deref())
                .is_some_and(|p| p == prefixes);
            let shares_bytes_as_list =
                r.address == rule.address && !is_list_element(text, &site.loc.bytes);
            if !same && !shares_bytes_as_list {
                return Err(format!(
                    "`{}` of this rule is also the value of {} (another instance or entry) whose \
                     evidence differs",
                    site.name, r.address
                ));
            }
        }
        let first = self.sharing_site(site).map(|(j, _)| j).min();
        let quoted: Vec<String> = prefixes.iter().map(|p| quote(&p.to_string())).collect();
        let scalar = matches!(site.name.as_str(), "cidr_ipv4" | "cidr_ipv6");
        match &site.origin {
            Origin::ForEach if scalar && prefixes.len() == 1 => {
                let Some(InstanceKey::Key(key)) = &rule.address.key else {
                    return Err("the value comes from a for_each without a key".to_owned());
                };
                let (file, etext, _, value) = self.for_each_entry(rule, key)?;
                let _ = etext;
                Ok(Planned {
                    edits: vec![Edit {
                        file,
                        range: value,
                        text: quoted[0].clone(),
                    }],
                    creates: Vec::new(),
                })
            }
            Origin::ForEach => Err(format!(
                "`{}` comes from the for_each collection and {} prefixes are needed: add them as \
                 entries by hand",
                site.name,
                prefixes.len()
            )),
            Origin::Literal | Origin::Variable { .. } | Origin::Local { .. } if scalar => {
                if first != Some(i) {
                    return Ok(Planned::default());
                }
                let mut planned = Planned {
                    edits: vec![Edit {
                        file: site.loc.file.clone(),
                        range: site.loc.bytes.clone(),
                        text: quoted[0].clone(),
                    }],
                    creates: Vec::new(),
                };
                if prefixes.len() > 1 {
                    self.siblings(rule, text, site, &quoted[1..], port_edits, &mut planned)?;
                }
                Ok(planned)
            }
            Origin::Literal | Origin::Variable { .. } | Origin::Local { .. }
                if is_list_element(text, &site.loc.bytes) =>
            {
                if first != Some(i) {
                    return Ok(Planned::default());
                }
                Ok(Planned {
                    edits: vec![Edit {
                        file: site.loc.file.clone(),
                        range: site.loc.bytes.clone(),
                        text: render_elements(text, &site.loc.bytes, &quoted),
                    }],
                    creates: Vec::new(),
                })
            }
            Origin::Variable { .. } | Origin::Local { .. } => {
                // `cidr_blocks = var.x`: replace the reference in this declaration only by the
                // literal list of every entry it gave, each as its own proposal says.
                if first != Some(i) {
                    return Ok(Planned::default());
                }
                let mut entries: Vec<(usize, &Rule)> = self.sharing_site(site).collect();
                if entries.iter().any(|(_, r)| r.address != rule.address) {
                    return Err(format!(
                        "`{}` is shared by several instances; edit {} by hand",
                        site.name,
                        origin_text(&site.origin)
                    ));
                }
                entries.sort_by_key(|(_, r)| r.entry);
                let mut values: Vec<String> = Vec::new();
                for (j, r) in entries {
                    match self.change(j) {
                        Some(c) if c.remove => {}
                        Some(Change {
                            sources: Some(p), ..
                        }) => values.extend(p.iter().map(|p| quote(&p.to_string()))),
                        _ => match &r.source {
                            Known::Known(Source::Cidr(n)) => values.push(quote(&n.to_string())),
                            _ => return Err("another value of the list is not known".to_owned()),
                        },
                    }
                }
                Ok(Planned {
                    edits: vec![Edit {
                        file: site.loc.file.clone(),
                        range: site.loc.bytes.clone(),
                        text: format!("[{}]", values.join(", ")),
                    }],
                    creates: Vec::new(),
                })
            }
            other => Err(format!(
                "`{}` comes from {}; no automatic edit is safe",
                site.name,
                origin_text(other)
            )),
        }
    }

    /// New resources next to a one-source rule resource, one per extra prefix.
    fn siblings(
        &self,
        rule: &Rule,
        text: &str,
        site: &AttrSite,
        extra: &[String],
        port_edits: &[Edit],
        planned: &mut Planned,
    ) -> Result<(), String> {
        if rule.style == RuleStyle::Inline || rule.address.key.is_some() {
            return Err(
                "more than one prefix is needed and the rule cannot be copied (an \
                        instance of count/for_each)"
                    .to_owned(),
            );
        }
        let block = &rule.loc.bytes;
        let inner = site.loc.bytes.start - block.start..site.loc.bytes.end - block.start;
        let body = &text[block.clone()];
        let label = format!("\"{}\"", rule.address.name);
        let label_at = body
            .find(&label)
            .ok_or("the resource's name label was not found")?;
        let taken = self.taken_names(rule);
        let nl = newline(text);
        let mut n = 2;
        let mut insert = String::new();
        for value in extra {
            while taken.contains(&format!("{}_{n}", rule.address.name)) {
                n += 1;
            }
            let name = format!("{}_{n}", rule.address.name);
            // The copy: the new name, this prefix, and the rule's port edits.
            let relative = |range: &std::ops::Range<usize>, text: String| Edit {
                file: rule.loc.file.clone(),
                range: range.start - block.start..range.end - block.start,
                text,
            };
            let mut edits = vec![
                Edit {
                    file: rule.loc.file.clone(),
                    range: label_at..label_at + label.len(),
                    text: format!("\"{name}\""),
                },
                Edit {
                    file: rule.loc.file.clone(),
                    range: inner.clone(),
                    text: value.clone(),
                },
            ];
            for e in port_edits {
                if e.range.start < block.start || e.range.end > block.end {
                    return Err("the ports are edited outside the rule's block".to_owned());
                }
                edits.push(relative(&e.range, e.text.clone()));
            }
            let refs: Vec<&Edit> = edits.iter().collect();
            let copy = super::edit::apply(body, &refs)
                .map_err(|_| "the copy's edits overlap".to_owned())?;
            insert.push_str(nl);
            insert.push_str(nl);
            insert.push_str(&copy);
            planned.creates.push(format!(
                "{}{}.{name}",
                rule.address.module_prefix(),
                rule.address.kind
            ));
            n += 1;
        }
        planned.edits.push(Edit {
            file: rule.loc.file.clone(),
            range: block.end..block.end,
            text: insert,
        });
        Ok(())
    }

    fn ports(
        &self,
        i: usize,
        rule: &Rule,
        text: &str,
        ports: &[ProtocolPorts],
    ) -> Result<(Vec<Edit>, Vec<String>), String> {
        // One (protocol, range) per rule the proposal needs; ICMP is kept whole.
        let mut pieces: Vec<(u8, Option<(u16, u16)>)> = Vec::new();
        for k in ports {
            match (k.protocol, k.ranges.as_slice()) {
                (Protocol::Number(n @ (6 | 17)), ranges) if !ranges.is_empty() => {
                    pieces.extend(ranges.iter().map(|r| (n, Some(*r))));
                }
                (Protocol::Number(n @ (1 | 58)), []) => pieces.push((n, None)),
                (p, _) => {
                    return Err(format!(
                        "the evidence used protocol {p}, which is not narrowed automatically"
                    ));
                }
            }
        }
        let Some((first, rest)) = pieces.split_first() else {
            return Err("the proposal keeps no port".to_owned());
        };
        // Every rule declared by these bytes (and not removed) must want exactly this; the first
        // carries the edit.
        for (j, r) in self.sharing_decl(rule) {
            if self.change(j).is_some_and(|c| c.remove) {
                continue;
            }
            let same = self.change(j).and_then(|c| c.ports.as_deref()) == Some(ports);
            if !same {
                return Err(format!(
                    "the ports are shared with {} ({}), whose evidence differs",
                    r.address,
                    r.summary()
                ));
            }
        }
        let carrier = self
            .sharing_decl(rule)
            .map(|(j, _)| j)
            .find(|j| !self.change(*j).is_some_and(|c| c.remove));
        if carrier != Some(i) {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut edits = piece_edits(rule, text, *first)?;
        if rest.is_empty() {
            return Ok((edits, Vec::new()));
        }
        // More ranges or protocols than one rule holds: the declaration is copied once per extra
        // piece, right after it — only where nothing else of it changes and it has one instance.
        if rule.address.key.is_some() {
            return Err(format!(
                "the used ports need {} rules and this one is an instance of count/for_each: \
                 split it by hand",
                pieces.len()
            ));
        }
        if self
            .sharing_decl(rule)
            .any(|(j, _)| self.change(j).is_some_and(|c| c.sources.is_some()))
        {
            return Err(format!(
                "the used ports need {} rules and the sources change too: apply this fix, then \
                 run again",
                pieces.len()
            ));
        }
        let block = &rule.loc.bytes;
        let body = &text[block.clone()];
        // The copies are of the declaration as it will be: the entries removed from it (their
        // own edits, in the original) stay out of the copies too. A removal that cannot be
        // planned fails for its own rule, and the plan is made again without it.
        let mut removals: Vec<Edit> = Vec::new();
        for (j, r) in self.sharing_decl(rule).filter(|(j, _)| *j != i) {
            if !self.change(j).is_some_and(|c| c.remove) {
                continue;
            }
            let Ok(p) = self.remove(j, r, text) else {
                continue;
            };
            removals.extend(p.edits);
        }
        let nl = newline(text);
        let indent = indent_of(text, block.start).to_owned();
        let taken = self.taken_names(rule);
        let label = format!("\"{}\"", rule.address.name);
        let mut n = 2;
        let mut insert = String::new();
        let mut creates = Vec::new();
        for piece in rest {
            let mut relative: Vec<Edit> = Vec::new();
            for e in piece_edits(rule, text, *piece)?
                .into_iter()
                .chain(removals.iter().cloned())
            {
                if e.range.start < block.start || e.range.end > block.end {
                    return Err("the rule's edits fall outside its block".to_owned());
                }
                relative.push(Edit {
                    file: e.file,
                    range: e.range.start - block.start..e.range.end - block.start,
                    text: e.text,
                });
            }
            if rule.style != RuleStyle::Inline {
                while taken.contains(&format!("{}_{n}", rule.address.name)) {
                    n += 1;
                }
                let at = body
                    .find(&label)
                    .ok_or("the resource's name label was not found")?;
                relative.push(Edit {
                    file: rule.loc.file.clone(),
                    range: at..at + label.len(),
                    text: format!("\"{}_{n}\"", rule.address.name),
                });
                creates.push(format!(
                    "{}{}.{}_{n}",
                    rule.address.module_prefix(),
                    rule.address.kind,
                    rule.address.name
                ));
                n += 1;
            }
            let refs: Vec<&Edit> = relative.iter().collect();
            let copy = super::edit::apply(body, &refs)
                .map_err(|_| "the copy's edits overlap".to_owned())?;
            let _ = write!(insert, "{nl}{nl}{indent}{copy}");
        }
        edits.push(Edit {
            file: rule.loc.file.clone(),
            range: block.end..block.end,
            text: insert,
        });
        Ok((edits, creates))
    }

    /// The `for_each` entry that produced instance `key`: (file, file text, the entry's bytes,
    /// the value's bytes). Only a literal map in the resource, or a variable default / local
    /// that nothing else references, is edited.
    fn for_each_entry(
        &self,
        rule: &Rule,
        key: &str,
    ) -> Result<
        (
            std::path::PathBuf,
            String,
            std::ops::Range<usize>,
            std::ops::Range<usize>,
        ),
        String,
    > {
        let file = self
            .loaded
            .files
            .iter()
            .find(|f| f.path == rule.loc.file)
            .ok_or("the rule's file was not found")?;
        let body = file.body.as_ref().ok_or("the rule's file did not parse")?;
        let block = body
            .blocks()
            .find(|b| b.span() == Some(rule.loc.bytes.clone()))
            .ok_or("the rule's resource block was not found")?;
        let fe = block
            .body
            .get_attribute("for_each")
            .ok_or("the resource has no for_each")?;
        if let Expression::Object(_) = &fe.value {
            let (entry, value) = object_entry(&fe.value, key)?;
            return Ok((file.path.clone(), file.text.clone(), entry, value));
        }
        let reference = file
            .text
            .get(fe.value.span().ok_or("no span")?)
            .unwrap_or_default()
            .trim()
            .to_owned();
        let (kind, name) = reference
            .split_once('.')
            .filter(|(k, n)| matches!(*k, "var" | "local") && !n.contains(['.', '[', '(']))
            .ok_or_else(|| format!("for_each is `{reference}`; no automatic edit is safe"))?;
        let dir = file.dir();
        let uses: usize = self
            .loaded
            .files
            .iter()
            .filter(|f| f.dir() == dir)
            .map(|f| count_references(&f.text, &reference))
            .sum();
        if uses != 1 {
            return Err(format!(
                "`{reference}` is used {uses} times; editing it would change other resources"
            ));
        }
        if kind == "var" && set_elsewhere(dir, name) {
            return Err(format!(
                "`{reference}` is set in a .tfvars file; edit the value there by hand"
            ));
        }
        for f in self
            .loaded
            .files
            .iter()
            .filter(|f| f.dir() == dir && !f.json)
        {
            let Some(body) = &f.body else { continue };
            let expr = if kind == "var" {
                body.blocks()
                    .filter(|b| b.ident.as_str() == "variable")
                    .find(|b| label_is(b, name))
                    .and_then(|b| b.body.get_attribute("default"))
                    .map(|a| &a.value)
            } else {
                locals_entry(body, name)
            };
            if let Some(expr) = expr {
                let (entry, value) = object_entry(expr, key)?;
                return Ok((f.path.clone(), f.text.clone(), entry, value));
            }
        }
        Err(format!(
            "the value of `{reference}` was not found as a literal map"
        ))
    }
}

/// The edits that make `rule` allow `piece`: protocol and ports in place (ports added under
/// the protocol line, aligned, where the rule had none).
fn piece_edits(
    rule: &Rule,
    text: &str,
    (number, range): (u8, Option<(u16, u16)>),
) -> Result<Vec<Edit>, String> {
    let proto_name = if rule.style == RuleStyle::VpcRule {
        "ip_protocol"
    } else {
        "protocol"
    };
    let mut edits = Vec::new();
    let mut missing = Vec::new();
    let protocol_text = quote(match number {
        6 => "tcp",
        17 => "udp",
        1 => "icmp",
        _ => "icmpv6",
    });
    let current = match &rule.protocol {
        Known::Known(p) => *p,
        Known::Unknown(_) => return Err("the protocol is not known".to_owned()),
    };
    let (from, to) = range.map_or((-1, -1), |(a, b)| (i64::from(a), i64::from(b)));
    for (name, value) in [
        (proto_name, protocol_text),
        ("from_port", from.to_string()),
        ("to_port", to.to_string()),
    ] {
        match rule.attr(name) {
            Some(a) if a.origin == Origin::Literal => {
                if name == proto_name && current == Protocol::Number(number) {
                    continue;
                }
                edits.push(Edit {
                    file: a.loc.file.clone(),
                    range: a.loc.bytes.clone(),
                    text: value,
                });
            }
            Some(a) => {
                return Err(format!(
                    "`{name}` comes from {}; no automatic edit is safe",
                    origin_text(&a.origin)
                ));
            }
            None => missing.push((name, value)),
        }
    }
    if !missing.is_empty() {
        // `ip_protocol = "-1"` has no ports: add them under the protocol line.
        let anchor = rule
            .attr(proto_name)
            .ok_or("the protocol attribute was not found")?;
        let end = super::edit::line_end(text, anchor.loc.bytes.end);
        let indent = indent_of(text, anchor.loc.bytes.start).to_owned();
        let nl = newline(text);
        // Align `=` with the protocol line's, as the block does.
        let line = &text[super::edit::line_start(text, anchor.loc.bytes.start)..end];
        let width = line.find('=').map_or(0, |eq| {
            line[..eq].trim_end().len().saturating_sub(indent.len())
        });
        let mut lines = String::new();
        for (n, v) in &missing {
            let _ = write!(lines, "{indent}{n:<width$} = {v}{nl}");
        }
        edits.push(Edit {
            file: rule.loc.file.clone(),
            range: end..end,
            text: lines,
        });
    }
    Ok(edits)
}

fn source_site(rule: &Rule) -> Option<&AttrSite> {
    rule.attrs
        .iter()
        .find(|a| SOURCE_ATTRS.contains(&a.name.as_str()))
}

fn label_is(b: &Block, name: &str) -> bool {
    b.labels.first().is_some_and(|l| l.as_str() == name)
}

fn locals_entry<'b>(body: &'b Body, name: &str) -> Option<&'b Expression> {
    body.blocks()
        .filter(|b| b.ident.as_str() == "locals")
        .find_map(|b| b.body.get_attribute(name))
        .map(|a| &a.value)
}

/// The bytes of entry `key` of a literal object, and of its value.
fn object_entry(
    expr: &Expression,
    key: &str,
) -> Result<(std::ops::Range<usize>, std::ops::Range<usize>), String> {
    let Expression::Object(object) = expr else {
        return Err("the for_each collection is not a literal map".to_owned());
    };
    for (k, v) in object {
        let name = match k {
            ObjectKey::Ident(i) => i.as_str().to_owned(),
            ObjectKey::Expression(Expression::String(s)) => s.as_str().to_owned(),
            ObjectKey::Expression(_) => continue,
        };
        if name != key {
            continue;
        }
        let (Some(ks), Some(vs)) = (k.span(), v.expr().span()) else {
            return Err("the map entry has no position".to_owned());
        };
        return Ok((ks.start..vs.end, vs));
    }
    Err(format!("the key `{key}` was not found in the for_each map"))
}

/// Occurrences of `reference` as a whole reference (not a prefix of a longer name).
fn count_references(text: &str, reference: &str) -> usize {
    text.match_indices(reference)
        .filter(|(i, _)| {
            let after = text[i + reference.len()..].chars().next();
            let before = text[..*i].chars().next_back();
            !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
                && !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        })
        .count()
}

/// Whether a `.tfvars` file of `dir` sets variable `name`.
fn set_elsewhere(dir: &std::path::Path, name: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        let is_tfvars = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".tfvars") || n.ends_with(".tfvars.json"));
        is_tfvars
            && std::fs::read_to_string(&p).is_ok_and(|t| {
                t.lines().any(|l| {
                    let l = l.trim_start().trim_start_matches('"');
                    l.strip_prefix(name).is_some_and(|rest| {
                        rest.trim_start()
                            .trim_start_matches('"')
                            .trim_start()
                            .starts_with(['=', ':'])
                    })
                })
            })
    })
}

fn origin_text(o: &Origin) -> String {
    match o {
        Origin::Literal => "a literal".to_owned(),
        Origin::Variable { name } => format!("`var.{name}`"),
        Origin::Local { name } => format!("`local.{name}`"),
        Origin::ForEach => "the for_each collection".to_owned(),
        Origin::CountIndex => "`count.index`".to_owned(),
        Origin::ModuleInput { call, name } => format!("the input `{name}` of {call}"),
        Origin::Expression => "an expression".to_owned(),
    }
}
