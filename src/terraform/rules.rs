//! Terraform stage: turning one resource instance (or one inline block, list element or module
//! table entry) into model rules: protocol, ports, description and one rule per source, each with
//! the bytes that define it and where its value came from.

use std::ops::Range;

use hcl::Value;
use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::Body;

use super::eval::{Scope, as_bool, as_int, as_string, is_unknown_marker};
use super::refs::refs;
use crate::model::{
    Address, AttrSite, Direction, GroupRef, Known, Loc, Origin, PortRange, Protocol, Rule,
    RuleStyle, Source,
};

/// Reason given for a rule that names no source at all.
pub const NO_SOURCE: &str = "the rule names no source";

/// Where values are read in: the file, the scope, and how to name origins.
pub(crate) struct Site<'a> {
    pub(crate) root: &'a std::path::Path,
    pub(crate) file: &'a std::path::Path,
    pub(crate) text: &'a str,
    /// Synthetic spans (`.tf.json`): every location is the file start.
    pub(crate) json: bool,
    pub(crate) scope: Scope,
    /// Variables set by the module call that instantiated this module: name, call address and
    /// where the caller sets it.
    pub(crate) inputs: &'a [(String, String, Loc)],
    /// Names of `dynamic` iterators in scope.
    pub(crate) iterators: Vec<String>,
}

impl Site<'_> {
    pub(crate) fn loc(&self, span: Option<Range<usize>>, fallback: &Loc) -> Loc {
        match span {
            Some(r) if !self.json && r.end <= self.text.len() => Loc::new(self.file, r),
            _ => fallback.clone(),
        }
    }

    pub(crate) fn text_of(&self, expr: &Expression) -> String {
        match expr.span() {
            Some(r) if !self.json => self.text.get(r).unwrap_or_default().trim().to_owned(),
            _ => expr.to_string().trim().to_owned(),
        }
    }

    /// The bytes to point at for a value: the caller's input when the value comes from a
    /// module input (that is where a change would be made), else `here`.
    pub(crate) fn value_loc(&self, origin: &Origin, here: Loc) -> Loc {
        match origin {
            Origin::ModuleInput { name, .. } => self
                .inputs
                .iter()
                .find(|(n, _, _)| n == name)
                .map_or(here, |(_, _, loc)| loc.clone()),
            _ => here,
        }
    }

    /// Where the value of `expr` came from.
    pub(crate) fn origin(&self, expr: &Expression) -> Origin {
        let rs = refs(expr);
        let mut origins: Vec<Origin> = Vec::new();
        for r in &rs {
            let o = match (r.root.as_str(), r.attrs.first()) {
                ("var", Some(name)) => self.inputs.iter().find(|(n, _, _)| n == name).map_or_else(
                    || Origin::Variable { name: name.clone() },
                    |(n, call, _)| Origin::ModuleInput {
                        call: call.clone(),
                        name: n.clone(),
                    },
                ),
                ("local", Some(name)) => Origin::Local { name: name.clone() },
                ("each", _) => Origin::ForEach,
                ("count", _) => Origin::CountIndex,
                (root, _) if self.iterators.iter().any(|i| i == root) => Origin::ForEach,
                _ => Origin::Expression,
            };
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
        match origins.len() {
            0 => Origin::Literal,
            1 => origins.remove(0),
            _ => Origin::Expression,
        }
    }
}

/// A value that defines one field of a rule.
pub(crate) enum FieldVal<'a> {
    /// An expression to evaluate.
    Expr(&'a Expression),
    /// A value already evaluated (an element of an evaluated list).
    Value(Value),
    /// A value that is not known statically, with the text of the expression behind it.
    Unknown(String),
}

/// One field of a rule declaration with its location and origin.
pub(crate) struct Field<'a> {
    pub(crate) name: String,
    pub(crate) val: FieldVal<'a>,
    pub(crate) loc: Loc,
    pub(crate) origin: Origin,
}

/// The fields of one rule declaration (block, object, table entry) and where it is.
pub(crate) struct Decl<'a> {
    pub(crate) fields: Vec<Field<'a>>,
    pub(crate) loc: Loc,
}

impl<'a> Decl<'a> {
    /// Fields from a block body's attributes.
    pub(crate) fn from_body(body: &'a Body, loc: Loc, site: &Site<'_>) -> Self {
        let fields = body
            .attributes()
            .map(|a| {
                let origin = site.origin(&a.value);
                Field {
                    name: a.key.as_str().to_owned(),
                    val: FieldVal::Expr(&a.value),
                    loc: site.value_loc(&origin, site.loc(a.value.span(), &loc)),
                    origin,
                }
            })
            .collect();
        Self { fields, loc }
    }

    /// Fields from an object literal (`ingress = [{ … }]`).
    pub(crate) fn from_object(obj: &'a hcl_edit::expr::Object, loc: Loc, site: &Site<'_>) -> Self {
        let fields = obj
            .iter()
            .filter_map(|(k, v)| {
                let name = match k {
                    ObjectKey::Ident(i) => i.as_str().to_owned(),
                    ObjectKey::Expression(Expression::Variable(v)) => v.as_str().to_owned(),
                    ObjectKey::Expression(Expression::String(s)) => s.as_str().to_owned(),
                    ObjectKey::Expression(_) => return None,
                };
                let origin = site.origin(v.expr());
                Some(Field {
                    name,
                    val: FieldVal::Expr(v.expr()),
                    loc: site.value_loc(&origin, site.loc(v.expr().span(), &loc)),
                    origin,
                })
            })
            .collect();
        Self { fields, loc }
    }

    /// Fields from an evaluated object; all share `loc` and `origin`.
    pub(crate) fn from_value(obj: &hcl::Map<String, Value>, loc: &Loc, origin: &Origin) -> Self {
        let fields = obj
            .iter()
            .map(|(k, v)| Field {
                name: k.clone(),
                val: FieldVal::Value(v.clone()),
                loc: loc.clone(),
                origin: origin.clone(),
            })
            .collect();
        Self {
            fields,
            loc: loc.clone(),
        }
    }

    fn get(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Evaluates the field: `None` when absent (or null), `Some(None)` when unknown.
    #[expect(
        clippy::option_option,
        reason = "absent and unknown are different answers"
    )]
    pub(crate) fn value(&self, name: &str, scope: &Scope) -> Option<Option<Value>> {
        let f = self.get(name)?;
        let v = match &f.val {
            FieldVal::Expr(e) => scope.eval(e),
            FieldVal::Value(v) => Some(v.clone()),
            FieldVal::Unknown(_) => None,
        };
        match v {
            Some(Value::Null) => None,
            other => Some(other),
        }
    }
}

/// What kind of declaration the fields come from.
pub(crate) struct RuleKind {
    pub(crate) direction: Direction,
    pub(crate) style: RuleStyle,
}

/// Builds the rules of one declaration: one per source.
pub(crate) fn build(
    decl: &Decl<'_>,
    kind: &RuleKind,
    address: &Address,
    group: &GroupRef,
    site: &Site<'_>,
) -> Vec<Rule> {
    let scope = &site.scope;
    let vpc = kind.style == RuleStyle::VpcRule;
    let proto_field = if vpc { "ip_protocol" } else { "protocol" };
    let protocol = match decl.value(proto_field, scope) {
        Some(Some(Value::String(s))) if is_unknown_marker(&s) => {
            Known::Unknown("protocol is not known statically".to_owned())
        }
        Some(Some(v)) => match as_string(&v).and_then(|s| Protocol::parse(&s)) {
            Some(p) => Known::Known(p),
            None => Known::Unknown(format!("protocol {v:?} is not recognised")),
        },
        Some(None) => Known::Unknown("protocol is not known statically".to_owned()),
        None => Known::Unknown("protocol is not set".to_owned()),
    };
    let port = |name: &str| match decl.value(name, scope) {
        Some(Some(v)) => as_int(&v).ok_or(()),
        Some(None) => Err(()),
        None => Ok(if vpc { -1 } else { 0 }),
    };
    let ports = match (port("from_port"), port("to_port")) {
        (Ok(from), Ok(to)) => Known::Known(PortRange::new(from, to)),
        _ => Known::Unknown("ports are not known statically".to_owned()),
    };
    let description = match decl.value("description", scope) {
        Some(Some(Value::String(s))) if is_unknown_marker(&s) => {
            Known::Unknown("description is not known statically".to_owned())
        }
        Some(Some(v)) => Known::Known(as_string(&v).filter(|s| !s.trim().is_empty())),
        Some(None) => Known::Unknown("description is not known statically".to_owned()),
        None => Known::Known(None),
    };
    let common: Vec<AttrSite> = decl
        .fields
        .iter()
        .filter(|f| {
            matches!(
                f.name.as_str(),
                "protocol"
                    | "ip_protocol"
                    | "from_port"
                    | "to_port"
                    | "description"
                    | "type"
                    | "security_group_id"
            )
        })
        .map(|f| AttrSite {
            name: f.name.clone(),
            loc: f.loc.clone(),
            origin: f.origin.clone(),
        })
        .collect();

    let sources = sources(decl, vpc, site);
    let make = |entry: usize, source: Known<Source>, site_attr: Option<AttrSite>| {
        let mut attrs = common.clone();
        attrs.extend(site_attr);
        Rule {
            root: site.root.to_path_buf(),
            address: address.clone(),
            group: group.clone(),
            direction: kind.direction,
            style: kind.style,
            protocol: protocol.clone(),
            ports: ports.clone(),
            source,
            description: description.clone(),
            loc: decl.loc.clone(),
            attrs,
            deployed_id: None,
            entry,
        }
    };
    if sources.is_empty() {
        return vec![make(0, Known::Unknown(NO_SOURCE.to_owned()), None)];
    }
    sources
        .into_iter()
        .enumerate()
        .map(|(i, (s, a))| make(i, s, Some(a)))
        .collect()
}

type Sourced = (Known<Source>, AttrSite);
type MakeSource = fn(String) -> Option<Source>;

fn sources(decl: &Decl<'_>, vpc: bool, site: &Site<'_>) -> Vec<Sourced> {
    let mut out = Vec::new();
    let lists: &[(&str, MakeSource)] = if vpc {
        &[
            ("cidr_ipv4", cidr),
            ("cidr_ipv6", cidr),
            ("prefix_list_id", |s| Some(Source::PrefixList(s))),
            ("referenced_security_group_id", |s| Some(Source::Group(s))),
        ]
    } else {
        &[
            ("cidr_blocks", cidr),
            ("ipv6_cidr_blocks", cidr),
            ("prefix_list_ids", |s| Some(Source::PrefixList(s))),
            ("security_groups", |s| Some(Source::Group(s))),
            ("source_security_group_id", |s| Some(Source::Group(s))),
        ]
    };
    for (name, make) in lists {
        let Some(field) = decl.get(name) else {
            continue;
        };
        let is_cidr = name.contains("cidr");
        list_field(field, is_cidr, *make, site, &mut out);
    }
    if let Some(f) = decl.get("self") {
        match decl.value("self", &site.scope) {
            Some(Some(v)) if as_bool(&v) == Some(true) => {
                out.push((Known::Known(Source::SelfGroup), attr_site(f, f.loc.clone())));
            }
            Some(None) => out.push((
                Known::Unknown("`self` is not known statically".to_owned()),
                attr_site(f, f.loc.clone()),
            )),
            _ => {}
        }
    }
    out
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "shares the signature of the other source constructors"
)]
fn cidr(s: String) -> Option<Source> {
    s.trim().parse::<ipnet::IpNet>().ok().map(Source::Cidr)
}

fn attr_site(f: &Field<'_>, loc: Loc) -> AttrSite {
    AttrSite {
        name: f.name.clone(),
        loc,
        origin: f.origin.clone(),
    }
}

fn from_value(
    v: &Value,
    is_cidr: bool,
    make: fn(String) -> Option<Source>,
    what: &str,
) -> Known<Source> {
    match as_string(v) {
        Some(s) if is_unknown_marker(&s) => {
            let text = s.trim_start_matches("${").trim_end_matches('}').to_owned();
            if is_cidr {
                Known::Unknown(format!("`{text}` is not known statically"))
            } else {
                Known::Known(make(text.clone()).unwrap_or(Source::Group(text)))
            }
        }
        Some(s) => make(s.clone()).map_or_else(
            || Known::Unknown(format!("`{s}` is not a valid {what}")),
            Known::Known,
        ),
        None => Known::Unknown(format!("{what} is not a string")),
    }
}

fn list_field(
    f: &Field<'_>,
    is_cidr: bool,
    make: fn(String) -> Option<Source>,
    site: &Site<'_>,
    out: &mut Vec<Sourced>,
) {
    let what = if is_cidr { "CIDR" } else { "id" };
    match &f.val {
        FieldVal::Expr(Expression::Array(items)) => {
            for item in items {
                let origin = site.origin(item);
                let loc = site.value_loc(&origin, site.loc(item.span(), &f.loc));
                let site_attr = AttrSite {
                    name: f.name.clone(),
                    loc,
                    origin,
                };
                let source = match site.scope.eval(item) {
                    Some(Value::Null) => continue,
                    Some(Value::Array(vs)) => {
                        for v in vs {
                            out.push((from_value(&v, is_cidr, make, what), site_attr.clone()));
                        }
                        continue;
                    }
                    Some(v) => from_value(&v, is_cidr, make, what),
                    None if !is_cidr => Known::Known(
                        make(site.text_of(item)).unwrap_or(Source::Group(site.text_of(item))),
                    ),
                    None => {
                        Known::Unknown(format!("`{}` is not known statically", site.text_of(item)))
                    }
                };
                out.push((source, site_attr));
            }
        }
        val => {
            let v = match val {
                FieldVal::Expr(e) => site.scope.eval(e).ok_or_else(|| site.text_of(e)),
                FieldVal::Value(v) => Ok(v.clone()),
                FieldVal::Unknown(text) => Err(text.clone()),
            };
            let site_attr = attr_site(f, f.loc.clone());
            match v {
                Ok(Value::Null) => {}
                Ok(Value::Array(vs)) => {
                    for v in vs {
                        if !matches!(v, Value::Null) {
                            out.push((from_value(&v, is_cidr, make, what), site_attr.clone()));
                        }
                    }
                }
                Ok(v) => out.push((from_value(&v, is_cidr, make, what), site_attr)),
                Err(text)
                    if !is_cidr && !text.starts_with("var.") && !text.starts_with("local.") =>
                {
                    out.push((
                        Known::Known(make(text.clone()).unwrap_or(Source::Group(text))),
                        site_attr,
                    ));
                }
                Err(text) => out.push((
                    Known::Unknown(format!("`{text}` is not known statically")),
                    site_attr,
                )),
            }
        }
    }
}
