//! Terraform stage: calls of the registry module `terraform-aws-modules/security-group/aws`
//! (and its `//modules/NAME` presets), read from the call's inputs and the module's named-rule
//! table (shipped as data, see `data/terraform-aws-security-group/NOTICE.md`). The resource
//! addresses are the module's own (`module.X.aws_security_group_rule.ingress_rules[0]`).

use std::sync::OnceLock;

use hcl::Value;
use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::Block;

use super::eval::{Scope, as_bool, as_string};
use super::rules::{self, Decl, Field, FieldVal, RuleKind, Site};
use crate::model::address::ModuleStep;
use crate::model::{
    Address, Direction, GroupRef, InstanceKey, Known, Loc, Model, Origin, RuleStyle, SecurityGroup,
    UnknownSite,
};

const RULES_TF: &str = include_str!("../../data/terraform-aws-security-group/rules.tf");

/// The module's `rules` and `auto_groups` defaults.
struct Table {
    rules: hcl::Map<String, Value>,
    auto_groups: hcl::Map<String, Value>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let scope = Scope::new(hcl::Map::new(), hcl::Map::new());
        let mut t = Table {
            rules: hcl::Map::new(),
            auto_groups: hcl::Map::new(),
        };
        let Ok(body) = hcl_edit::parser::parse_body(RULES_TF) else {
            return t;
        };
        for b in body.blocks().filter(|b| b.ident.as_str() == "variable") {
            let default = b
                .body
                .get_attribute("default")
                .and_then(|d| scope.eval(&d.value));
            if let Some(Value::Object(m)) = default {
                match b
                    .labels
                    .first()
                    .map(hcl_edit::structure::BlockLabel::as_str)
                {
                    Some("rules") => t.rules = m,
                    Some("auto_groups") => t.auto_groups = m,
                    _ => {}
                }
            }
        }
        t
    })
}

/// Number of named rules in the shipped table (for tests and docs).
pub fn named_rule_count() -> usize {
    table().rules.len()
}

/// Whether `source` is the registry security-group module (or one of its presets).
pub(crate) fn is_security_group_module(source: &str) -> bool {
    let s = source
        .trim()
        .trim_start_matches("registry.terraform.io/")
        .trim_start_matches("app.terraform.io/");
    s == "terraform-aws-modules/security-group/aws"
        || s.starts_with("terraform-aws-modules/security-group/aws//")
}

/// One input of the call: its expression, location and (for literal lists) elements.
struct Input<'a> {
    expr: &'a Expression,
    loc: Loc,
    origin: Origin,
}

struct Call<'a, 'b> {
    block: &'a Block,
    site: &'b Site<'b>,
    address: &'b str,
    block_loc: &'b Loc,
}

impl<'a> Call<'a, '_> {
    fn input(&self, name: &str) -> Option<Input<'a>> {
        let a = self.block.body.get_attribute(name)?;
        Some(Input {
            expr: &a.value,
            loc: self.site.loc(a.value.span(), self.block_loc),
            origin: Origin::ModuleInput {
                call: self.address.to_owned(),
                name: name.to_owned(),
            },
        })
    }

    fn value(&self, name: &str) -> Option<Value> {
        self.site.scope.eval(self.input(name)?.expr)
    }

    fn flag(&self, name: &str, default: bool) -> bool {
        self.value(name)
            .and_then(|v| as_bool(&v))
            .unwrap_or(default)
    }
}

/// Adds the group and rules of one registry-module call instance to `model`.
pub(crate) fn expand(
    block: &Block,
    source: &str,
    path: &[ModuleStep],
    call: &str,
    site: &Site<'_>,
    block_loc: &Loc,
    model: &mut Model,
) {
    let c = Call {
        block,
        site,
        address: call,
        block_loc,
    };
    if !c.flag("create", true) {
        return;
    }
    let create_sg = c.flag("create_sg", true);
    let group_address = Address {
        module: path.to_vec(),
        kind: "aws_security_group".to_owned(),
        name: if c.flag("use_name_prefix", true) {
            "this_name_prefix"
        } else {
            "this"
        }
        .to_owned(),
        key: Some(InstanceKey::Index(0)),
    };
    let group = if create_sg {
        let name = c.value("name").and_then(|v| as_string(&v));
        let description = match c.input("description") {
            None => Known::Known(Some("Security Group managed by Terraform".to_owned())),
            Some(i) => match site.scope.eval(i.expr) {
                Some(v) => Known::Known(as_string(&v).filter(|s| !s.trim().is_empty())),
                None => Known::Unknown("description is not known statically".to_owned()),
            },
        };
        model.groups.push(SecurityGroup {
            root: site.root.to_path_buf(),
            address: group_address.clone(),
            description,
            loc: block_loc.clone(),
            description_loc: c.input("description").map(|i| i.loc),
            has_inline_rules: false,
            deployed_id: None,
            // The module names the group `name` or, by default, `name_prefix = "${name}-"`.
            name: name.clone().filter(|_| !c.flag("use_name_prefix", true)),
            name_prefix: name
                .filter(|_| c.flag("use_name_prefix", true))
                .map(|n| format!("{n}-")),
            vpc_id: c.value("vpc_id").and_then(|v| as_string(&v)),
        });
        GroupRef::Address(group_address.to_string())
    } else {
        match c.value("security_group_id").and_then(|v| as_string(&v)) {
            Some(id) => GroupRef::Id(id),
            None => GroupRef::Unknown,
        }
    };
    let preset = source.split("//modules/").nth(1).map(str::to_owned);
    for direction in [Direction::Ingress, Direction::Egress] {
        directional(&c, direction, preset.as_deref(), path, &group, model);
    }
}

#[expect(
    clippy::many_single_char_names,
    reason = "c (the call) and d (the direction word) are used on every line"
)]
#[expect(
    clippy::too_many_lines,
    reason = "one straight pass over the module's inputs, in the module's order"
)]
fn directional(
    c: &Call<'_, '_>,
    direction: Direction,
    preset: Option<&str>,
    path: &[ModuleStep],
    group: &GroupRef,
    model: &mut Model,
) {
    let d = match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    };
    let kind = RuleKind {
        direction,
        style: RuleStyle::SecurityGroupRule,
    };
    let address = |name: &str, i: usize| Address {
        module: path.to_vec(),
        kind: "aws_security_group_rule".to_owned(),
        name: name.to_owned(),
        key: Some(InstanceKey::Index(i as u64)),
    };
    let default_cidrs = |v6: bool| -> Value {
        match (direction, v6) {
            (Direction::Egress, false) => Value::Array(vec![Value::from("0.0.0.0/0")]),
            (Direction::Egress, true) => Value::Array(vec![Value::from("::/0")]),
            _ => Value::Array(Vec::new()),
        }
    };
    // The shared source lists: `{d}_cidr_blocks`, `{d}_ipv6_cidr_blocks`, `{d}_prefix_list_ids`.
    let shared = |suffix: &str, default: Value| -> (Option<Value>, Loc, Origin) {
        let name = format!("{d}_{suffix}");
        match c.input(&name) {
            Some(i) => (c.site.scope.eval(i.expr), i.loc, i.origin),
            None => (
                Some(default),
                c.block_loc.clone(),
                Origin::ModuleInput {
                    call: c.address.to_owned(),
                    name,
                },
            ),
        }
    };
    let cidrs = shared("cidr_blocks", default_cidrs(false));
    let ipv6 = shared("ipv6_cidr_blocks", default_cidrs(true));
    let prefix_lists = shared("prefix_list_ids", Value::Array(Vec::new()));

    // Computed inputs: their values are not known before apply.
    for computed in [
        format!("computed_{d}_rules"),
        format!("computed_{d}_with_self"),
        format!("computed_{d}_with_cidr_blocks"),
        format!("computed_{d}_with_ipv6_cidr_blocks"),
        format!("computed_{d}_with_source_security_group_id"),
        format!("computed_{d}_with_prefix_list_ids"),
    ] {
        if let Some(i) = c.input(&computed) {
            model.unknown_expansions.push(UnknownSite {
                address: format!("{}.{computed}", c.address),
                what: format!("`{computed}` is computed: its rules are known only after apply"),
                loc: i.loc,
            });
        }
    }

    // Named rules applied to the shared sources.
    let mut named: Vec<(Value, Loc, Origin)> = Vec::new();
    if let Some(i) = c.input(&format!("{d}_rules")) {
        elements(c, &i, &mut named);
    }
    if let Some(p) = preset
        && let Some(Value::Object(auto)) = table().auto_groups.get(p)
        && let Some(Value::Array(names)) = auto.get(&format!("{d}_rules"))
    {
        let origin = Origin::ModuleInput {
            call: c.address.to_owned(),
            name: format!("auto_{d}_rules"),
        };
        named.extend(
            names
                .iter()
                .map(|n| (n.clone(), c.block_loc.clone(), origin.clone())),
        );
    }
    for (i, (name, loc, origin)) in named.iter().enumerate() {
        let mut fields = rule_fields(name, loc, origin);
        for (field, (value, src_loc, src_origin)) in [
            ("cidr_blocks", &cidrs),
            ("ipv6_cidr_blocks", &ipv6),
            ("prefix_list_ids", &prefix_lists),
        ] {
            fields.push(field_of(field, value.clone(), src_loc, src_origin));
        }
        let decl = Decl {
            fields,
            loc: loc.clone(),
        };
        model.rules.extend(rules::build(
            &decl,
            &kind,
            &address(&format!("{d}_rules"), i),
            group,
            c.site,
        ));
    }

    // Lists of maps.
    for (suffix, source_key) in [
        ("with_cidr_blocks", Some("cidr_blocks")),
        ("with_ipv6_cidr_blocks", Some("ipv6_cidr_blocks")),
        (
            "with_source_security_group_id",
            Some("source_security_group_id"),
        ),
        ("with_prefix_list_ids", Some("prefix_list_ids")),
        ("with_self", None),
    ] {
        let name = format!("{d}_{suffix}");
        let Some(input) = c.input(&name) else {
            continue;
        };
        let mut entries = Vec::new();
        elements(c, &input, &mut entries);
        for (i, (entry, loc, origin)) in entries.into_iter().enumerate() {
            let Value::Object(map) = &entry else { continue };
            let rule_name = map.get("rule").cloned().unwrap_or(Value::from("_"));
            let mut fields = rule_fields(&rule_name, &loc, &origin);
            for key in ["from_port", "to_port", "protocol", "description"] {
                if let Some(v) = map.get(key) {
                    fields.retain(|f| f.name != key);
                    fields.push(field_of(key, Some(v.clone()), &loc, &origin));
                }
            }
            if !fields.iter().any(|f| f.name == "description") {
                let default = if direction == Direction::Ingress {
                    "Ingress Rule"
                } else {
                    "Egress Rule"
                };
                fields.push(field_of(
                    "description",
                    Some(Value::from(default)),
                    &loc,
                    &origin,
                ));
            }
            match source_key {
                None => fields.push(field_of("self", Some(Value::Bool(true)), &loc, &origin)),
                Some("source_security_group_id") => {
                    let v = map.get("source_security_group_id").cloned();
                    fields.push(field_of("source_security_group_id", v, &loc, &origin));
                }
                Some(key) => {
                    // Comma-separated strings in the map, else the shared list.
                    let (v, l, o) = match map.get(key) {
                        Some(Value::String(s)) => (
                            Some(Value::Array(
                                s.split(',')
                                    .map(str::trim)
                                    .filter(|p| !p.is_empty())
                                    .map(Value::from)
                                    .collect(),
                            )),
                            loc.clone(),
                            origin.clone(),
                        ),
                        Some(other) => (Some(other.clone()), loc.clone(), origin.clone()),
                        None => match key {
                            "cidr_blocks" => cidrs.clone(),
                            "ipv6_cidr_blocks" => ipv6.clone(),
                            _ => prefix_lists.clone(),
                        },
                    };
                    fields.push(field_of(key, v, &l, &o));
                }
            }
            let decl = Decl { fields, loc };
            model.rules.extend(rules::build(
                &decl,
                &kind,
                &address(&name, i),
                group,
                c.site,
            ));
        }
    }
}

/// The elements of a list input with their locations: literal elements keep their own bytes;
/// object elements are evaluated field by field, so that one unknown field (a group id from a
/// data source) does not hide the others.
fn elements(c: &Call<'_, '_>, input: &Input<'_>, out: &mut Vec<(Value, Loc, Origin)>) {
    if let Expression::Array(items) = input.expr {
        for item in items {
            let loc = c.site.loc(item.span(), &input.loc);
            let value = match item {
                Expression::Object(obj) => {
                    let mut m = hcl::Map::new();
                    for (k, v) in obj {
                        let key = match k {
                            ObjectKey::Ident(i) => i.as_str().to_owned(),
                            ObjectKey::Expression(Expression::Variable(v)) => v.as_str().to_owned(),
                            ObjectKey::Expression(Expression::String(s)) => s.as_str().to_owned(),
                            ObjectKey::Expression(_) => continue,
                        };
                        let val = c.site.scope.eval(v.expr()).unwrap_or_else(|| {
                            // Unknown: keep the reference text, marked so it is not read as data.
                            Value::String(format!("${{{}}}", c.site.text_of(v.expr())))
                        });
                        m.insert(key, val);
                    }
                    Value::Object(m)
                }
                other => match c.site.scope.eval(other) {
                    Some(v) => v,
                    None => continue,
                },
            };
            out.push((value, loc, input.origin.clone()));
        }
    } else if let Some(Value::Array(items)) = c.site.scope.eval(input.expr) {
        out.extend(
            items
                .into_iter()
                .map(|v| (v, input.loc.clone(), input.origin.clone())),
        );
    } else {
        out.push((
            Value::String(format!("${{{}}}", c.site.text_of(input.expr))),
            input.loc.clone(),
            input.origin.clone(),
        ));
    }
}

/// `from_port`, `to_port`, `protocol`, `description` of a named rule (`_` or an unknown name
/// gives no fields, so the ports must come from the map).
fn rule_fields<'a>(name: &Value, loc: &Loc, origin: &Origin) -> Vec<Field<'a>> {
    let Some(Value::Array(spec)) = name.as_str().and_then(|n| table().rules.get(n)) else {
        return Vec::new();
    };
    ["from_port", "to_port", "protocol", "description"]
        .iter()
        .zip(spec)
        .map(|(k, v)| field_of(k, Some(v.clone()), loc, origin))
        .collect()
}

fn field_of<'a>(name: &str, value: Option<Value>, loc: &Loc, origin: &Origin) -> Field<'a> {
    // `${…}` marks a value that was not known: it stays unknown (or a group reference).
    let value = match value {
        Some(Value::String(s)) if s.starts_with("${") => {
            return Field {
                name: name.to_owned(),
                val: FieldVal::Unknown(s.trim_start_matches("${").trim_end_matches('}').to_owned()),
                loc: loc.clone(),
                origin: origin.clone(),
            };
        }
        Some(v) => v,
        None => Value::Null,
    };
    Field {
        name: name.to_owned(),
        val: FieldVal::Value(value),
        loc: loc.clone(),
        origin: origin.clone(),
    }
}
