//! Terraform stage: evaluating one module instance (its variables, locals, resources and module
//! calls) into model groups and rules, following local modules with their inputs.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use hcl::Value;
use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body};

use super::eval::{self, Scope};
use super::files::SourceFile;
use super::refs::refs;
use super::registry;
use super::rules::{self, Decl, RuleKind, Site};
use crate::model::address::ModuleStep;
use crate::model::{
    Address, Direction, GroupRef, InstanceKey, Known, Loc, Model, RuleStyle, SecurityGroup,
    UnknownSite,
};

/// Deepest module nesting we follow (hostile input stops here).
const MAX_DEPTH: usize = 8;

/// Most groups plus rules one load builds: beyond, expansion stops (hostile `count`s).
const MAX_MODEL_SIZE: usize = 200_000;

const GROUP_KINDS: [&str; 2] = ["aws_security_group", "aws_default_security_group"];

/// All parsed files, by directory.
pub(crate) struct Files<'a> {
    pub(crate) by_dir: BTreeMap<PathBuf, Vec<&'a SourceFile>>,
}

/// A module instance to evaluate.
pub(crate) struct Instance {
    /// The root module directory this instance descends from.
    pub(crate) root: PathBuf,
    /// Directories of the calling modules, outermost first (a call back into one is a cycle).
    pub(crate) stack: Vec<PathBuf>,
    pub(crate) dir: PathBuf,
    pub(crate) path: Vec<ModuleStep>,
    /// Values set by the caller, with the call address (for origins).
    pub(crate) inputs: hcl::Map<String, Value>,
    /// Where each input is set in the caller.
    pub(crate) input_locs: BTreeMap<String, Loc>,
    pub(crate) call: Option<String>,
    /// Extra `.tfvars` files (root modules only).
    pub(crate) var_files: Vec<(PathBuf, String)>,
    pub(crate) depth: usize,
}

/// Lexically normalises `dir/source` (no file-system access: the target may not exist).
pub(crate) fn join_source(dir: &Path, source: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in dir.join(source).components() {
        match c {
            Component::ParentDir => {
                let last_is_parent = matches!(
                    out.components().next_back(),
                    Some(Component::ParentDir) | None
                );
                if last_is_parent || !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The string value of attribute `name` in `body`, when it is a literal string.
pub(crate) fn literal_attr(body: &Body, name: &str) -> Option<String> {
    match &body.get_attribute(name)?.value {
        Expression::String(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// Whether a module `source` points at a local directory.
pub(crate) fn is_local(source: &str) -> bool {
    source.starts_with("./") || source.starts_with("../") || source == "." || source == ".."
}

struct Blocks<'a> {
    vars: Vec<(&'a SourceFile, &'a Block)>,
    locals: Vec<(&'a SourceFile, &'a hcl_edit::structure::Attribute)>,
    resources: Vec<(&'a SourceFile, &'a Block)>,
    modules: Vec<(&'a SourceFile, &'a Block)>,
}

fn blocks<'a>(files: &[&'a SourceFile]) -> Blocks<'a> {
    let mut b = Blocks {
        vars: Vec::new(),
        locals: Vec::new(),
        resources: Vec::new(),
        modules: Vec::new(),
    };
    for f in files {
        let Some(body) = &f.body else { continue };
        for block in body.blocks() {
            match block.ident.as_str() {
                "variable" => b.vars.push((f, block)),
                "locals" => b.locals.extend(block.body.attributes().map(|a| (*f, a))),
                "resource" => b.resources.push((f, block)),
                "module" => b.modules.push((f, block)),
                _ => {}
            }
        }
    }
    b
}

fn label(block: &Block, i: usize) -> &str {
    block.labels.get(i).map_or("", |l| l.as_str())
}

/// Evaluates one module instance into `model`.
#[expect(
    clippy::too_many_lines,
    reason = "variables, locals, resources, calls: one pass in Terraform's order"
)]
pub(crate) fn evaluate(files: &Files<'_>, inst: &Instance, model: &mut Model) {
    let Some(dir_files) = files.by_dir.get(&inst.dir) else {
        return;
    };
    if model.rules.len() + model.groups.len() > MAX_MODEL_SIZE {
        return;
    }
    let b = blocks(dir_files);
    let empty = Scope::new(hcl::Map::new(), hcl::Map::new());

    // Variables: defaults, then tfvars (root), then the caller's inputs.
    let mut vars = hcl::Map::new();
    for (_, v) in &b.vars {
        if let Some(d) = v.body.get_attribute("default")
            && let Some(val) = empty.eval(&d.value)
        {
            vars.insert(label(v, 0).to_owned(), val);
        }
    }
    if inst.call.is_none() {
        for (path, text) in tfvars(dir_files, &inst.var_files) {
            let _ = path;
            if let Ok((body, _)) = super::repeated::parse_body(&text) {
                for a in body.attributes() {
                    if let Some(val) = empty.eval(&a.value) {
                        vars.insert(a.key.as_str().to_owned(), val);
                    }
                }
            }
        }
    }
    vars.extend(inst.inputs.iter().map(|(k, v)| (k.clone(), v.clone())));

    // Locals: evaluate until nothing changes (locals may refer to each other in any order).
    let mut locals = hcl::Map::new();
    loop {
        let scope = Scope::new(vars.clone(), locals.clone());
        let before = locals.len();
        for (_, a) in &b.locals {
            let key = a.key.as_str();
            if !locals.contains_key(key)
                && let Some(v) = scope.eval(&a.value)
            {
                locals.insert(key.to_owned(), v);
            }
        }
        if locals.len() == before {
            break;
        }
    }
    let scope = Scope::new(vars, locals);
    let input_names: Vec<(String, String, Loc)> = inst
        .call
        .as_ref()
        .map(|call| {
            inst.input_locs
                .iter()
                .map(|(k, loc)| (k.clone(), call.clone(), loc.clone()))
                .collect()
        })
        .unwrap_or_default();

    // Instances of every group resource first, so that rules can be linked to them.
    let mut group_instances: BTreeMap<(String, String), Vec<Option<InstanceKey>>> = BTreeMap::new();
    let mut expanded = Vec::new();
    for (file, block) in &b.resources {
        let (kind, name) = (label(block, 0), label(block, 1));
        if !is_interesting(kind) {
            continue;
        }
        let site = site(&inst.root, file, scope.clone(), &input_names);
        let block_loc = site.loc(block.span(), &Loc::new(&file.path, 0..0));
        let Some(insts) = expand(block, &scope) else {
            model.unknown_expansions.push(UnknownSite {
                address: format!("{}{kind}.{name}", prefix(&inst.path)),
                what: "count/for_each is not known statically".to_owned(),
                loc: block_loc,
            });
            continue;
        };
        if GROUP_KINDS.contains(&kind) {
            group_instances.insert(
                (kind.to_owned(), name.to_owned()),
                insts.iter().map(|(k, _)| k.clone()).collect(),
            );
        }
        expanded.push((*file, *block, insts, block_loc));
    }

    let linker = Linker {
        path: &inst.path,
        groups: &group_instances,
        locals: &b.locals,
    };
    for (file, block, insts, block_loc) in expanded {
        let (kind, name) = (label(block, 0), label(block, 1));
        for (key, inst_scope) in insts {
            let address = Address {
                module: inst.path.clone(),
                kind: kind.to_owned(),
                name: name.to_owned(),
                key,
            };
            let site = site(&inst.root, file, inst_scope, &input_names);
            match kind {
                "aws_security_group" | "aws_default_security_group" => {
                    group(block, &address, &site, &block_loc, model);
                }
                "aws_security_group_rule" => {
                    let Some(direction) = decl_type(block, &site) else {
                        continue;
                    };
                    let decl = Decl::from_body(&block.body, block_loc.clone(), &site);
                    let group = linker.resolve(&block.body, &site);
                    let kind = RuleKind {
                        direction,
                        style: RuleStyle::SecurityGroupRule,
                    };
                    model
                        .rules
                        .extend(rules::build(&decl, &kind, &address, &group, &site));
                }
                "aws_vpc_security_group_ingress_rule" | "aws_vpc_security_group_egress_rule" => {
                    let direction = if kind.ends_with("ingress_rule") {
                        Direction::Ingress
                    } else {
                        Direction::Egress
                    };
                    let decl = Decl::from_body(&block.body, block_loc.clone(), &site);
                    let group = linker.resolve(&block.body, &site);
                    let kind = RuleKind {
                        direction,
                        style: RuleStyle::VpcRule,
                    };
                    model
                        .rules
                        .extend(rules::build(&decl, &kind, &address, &group, &site));
                }
                _ => {}
            }
        }
    }

    // Module calls.
    for (file, block) in &b.modules {
        let name = label(block, 0);
        let Some(source) = literal_attr(&block.body, "source") else {
            continue;
        };
        let site0 = site(&inst.root, file, scope.clone(), &input_names);
        let block_loc = site0.loc(block.span(), &Loc::new(&file.path, 0..0));
        let Some(insts) = expand(block, &scope) else {
            model.unknown_expansions.push(UnknownSite {
                address: format!("{}module.{name}", prefix(&inst.path)),
                what: "count/for_each is not known statically".to_owned(),
                loc: block_loc,
            });
            continue;
        };
        for (key, call_scope) in insts {
            let mut path = inst.path.clone();
            path.push(ModuleStep {
                name: name.to_owned(),
                key,
            });
            let call = prefix(&path).trim_end_matches('.').to_owned();
            let site = site(&inst.root, file, call_scope, &input_names);
            if registry::is_security_group_module(&source) {
                registry::expand(block, &source, &path, &call, &site, &block_loc, model);
                continue;
            }
            let target = join_source(&inst.dir, &source);
            if !is_local(&source)
                || inst.depth >= MAX_DEPTH
                || target == inst.dir
                || inst.stack.contains(&target)
            {
                continue;
            }
            let mut inputs = hcl::Map::new();
            let mut input_locs = BTreeMap::new();
            for a in block.body.attributes() {
                let k = a.key.as_str();
                if matches!(
                    k,
                    "source" | "version" | "count" | "for_each" | "providers" | "depends_on"
                ) {
                    continue;
                }
                inputs.insert(k.to_owned(), site.scope.eval_partial(&a.value));
                let here = site.loc(a.value.span(), &block_loc);
                input_locs.insert(k.to_owned(), site.value_loc(&site.origin(&a.value), here));
            }
            let mut stack = inst.stack.clone();
            stack.push(inst.dir.clone());
            let child = Instance {
                root: inst.root.clone(),
                stack,
                dir: target,
                path,
                inputs,
                input_locs,
                call: Some(call),
                var_files: Vec::new(),
                depth: inst.depth + 1,
            };
            evaluate(files, &child, model);
        }
    }
}

fn site<'a>(
    root: &'a Path,
    file: &'a SourceFile,
    scope: Scope,
    inputs: &'a [(String, String, Loc)],
) -> Site<'a> {
    Site {
        root,
        file: &file.path,
        text: &file.text,
        json: file.json,
        scope,
        inputs,
        iterators: Vec::new(),
    }
}

fn prefix(path: &[ModuleStep]) -> String {
    Address {
        module: path.to_vec(),
        ..Address::default()
    }
    .module_prefix()
}

fn is_interesting(kind: &str) -> bool {
    matches!(
        kind,
        "aws_security_group"
            | "aws_default_security_group"
            | "aws_security_group_rule"
            | "aws_vpc_security_group_ingress_rule"
            | "aws_vpc_security_group_egress_rule"
    )
}

fn decl_type(block: &Block, site: &Site<'_>) -> Option<Direction> {
    let v = site.scope.eval(&block.body.get_attribute("type")?.value)?;
    match v.as_str()? {
        "ingress" => Some(Direction::Ingress),
        "egress" => Some(Direction::Egress),
        _ => None,
    }
}

/// `terraform.tfvars`, then `*.auto.tfvars` (sorted), then the `--var-file`s, as Terraform
/// reads them.
fn tfvars(files: &[&SourceFile], extra: &[(PathBuf, String)]) -> Vec<(PathBuf, String)> {
    let Some(dir) = files.first().map(|f| f.dir().to_path_buf()) else {
        return extra.to_vec();
    };
    let mut out = Vec::new();
    let main = dir.join("terraform.tfvars");
    if let Ok(text) = std::fs::read_to_string(&main) {
        out.push((main, text));
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut autos: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".auto.tfvars"))
            .collect();
        autos.sort();
        for p in autos {
            if let Ok(text) = std::fs::read_to_string(&p) {
                out.push((p, text));
            }
        }
    }
    out.extend(extra.iter().cloned());
    out
}

/// The instances of a resource or module block: `(key, scope)` per instance. `None` when
/// `count`/`for_each` cannot be evaluated.
pub(crate) fn expand(block: &Block, scope: &Scope) -> Option<Vec<(Option<InstanceKey>, Scope)>> {
    if let Some(count) = block.body.get_attribute("count") {
        let n = eval::as_int(&scope.eval(&count.value)?)?;
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= eval::MAX_EXPANSION)?;
        return Some(
            (0..n as u64)
                .map(|i| {
                    (
                        Some(InstanceKey::Index(i)),
                        scope.with("count", eval::count_value(i)),
                    )
                })
                .collect(),
        );
    }
    if let Some(fe) = block.body.get_attribute("for_each") {
        let entries = eval::for_each_entries(&scope.eval(&fe.value)?)?;
        return Some(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let s = scope.with("each", eval::each_value(&k, v));
                    (Some(InstanceKey::Key(k)), s)
                })
                .collect(),
        );
    }
    Some(vec![(None, scope.clone())])
}

/// An `aws_security_group` instance and its inline rules.
fn group(block: &Block, address: &Address, site: &Site<'_>, block_loc: &Loc, model: &mut Model) {
    let body = &block.body;
    let description_attr = body.get_attribute("description");
    let description = match description_attr {
        None => Known::Known(None),
        Some(a) => match site.scope.eval(&a.value) {
            Some(Value::Null) => Known::Known(None),
            Some(v) => Known::Known(eval::as_string(&v).filter(|s| !s.trim().is_empty())),
            None => Known::Unknown("description is not known statically".to_owned()),
        },
    };
    let group_ref = GroupRef::Address(address.to_string());
    let mut has_inline = false;
    for direction in [Direction::Ingress, Direction::Egress] {
        let word = match direction {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        };
        let kind = RuleKind {
            direction,
            style: RuleStyle::Inline,
        };
        // Block form.
        for b in body.blocks().filter(|b| b.ident.as_str() == word) {
            has_inline = true;
            let decl = Decl::from_body(&b.body, site.loc(b.span(), block_loc), site);
            model
                .rules
                .extend(rules::build(&decl, &kind, address, &group_ref, site));
        }
        // Dynamic blocks.
        for b in body
            .blocks()
            .filter(|b| b.ident.as_str() == "dynamic" && label(b, 0) == word)
        {
            has_inline = true;
            dynamic(b, word, &kind, address, &group_ref, site, block_loc, model);
        }
        // Attribute form: `ingress = [{ … }]` or an expression giving such a list.
        if let Some(a) = body.get_attribute(word) {
            has_inline = true;
            let attr_loc = site.loc(a.value.span(), block_loc);
            if let Expression::Array(items) = &a.value {
                for item in items {
                    let loc = site.loc(item.span(), &attr_loc);
                    if let Expression::Object(obj) = item {
                        let decl = Decl::from_object(obj, loc, site);
                        model
                            .rules
                            .extend(rules::build(&decl, &kind, address, &group_ref, site));
                    } else {
                        evaluated_list(item, &loc, &kind, address, &group_ref, site, model);
                    }
                }
            } else {
                evaluated_list(&a.value, &attr_loc, &kind, address, &group_ref, site, model);
            }
        }
    }
    model.groups.push(SecurityGroup {
        root: site.root.to_path_buf(),
        address: address.clone(),
        description,
        loc: block_loc.clone(),
        description_loc: description_attr.map(|a| site.loc(a.value.span(), block_loc)),
        has_inline_rules: has_inline,
        deployed_id: None,
        name: literal_string(body, "name", site),
        name_prefix: literal_string(body, "name_prefix", site),
        vpc_id: literal_string(body, "vpc_id", site),
    });
}

/// The value of attribute `name` when it evaluates to a string.
fn literal_string(body: &hcl_edit::structure::Body, name: &str, site: &Site<'_>) -> Option<String> {
    let attr = body.get_attribute(name)?;
    site.scope
        .eval(&attr.value)
        .and_then(|v| eval::as_string(&v))
        .filter(|s| !s.is_empty())
}

fn evaluated_list(
    expr: &Expression,
    loc: &Loc,
    kind: &RuleKind,
    address: &Address,
    group: &GroupRef,
    site: &Site<'_>,
    model: &mut Model,
) {
    let origin = site.origin(expr);
    let items = match site.scope.eval(expr) {
        Some(Value::Array(items)) => items,
        Some(Value::Object(o)) => vec![Value::Object(o)],
        Some(Value::Null) => return,
        _ => {
            model.unknown_expansions.push(UnknownSite {
                address: address.to_string(),
                what: format!("`{}` is not known statically", site.text_of(expr)),
                loc: loc.clone(),
            });
            return;
        }
    };
    for item in items {
        if let Value::Object(obj) = item {
            let decl = Decl::from_value(&obj, loc, &origin);
            model
                .rules
                .extend(rules::build(&decl, kind, address, group, site));
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
fn dynamic(
    b: &Block,
    word: &str,
    kind: &RuleKind,
    address: &Address,
    group: &GroupRef,
    site: &Site<'_>,
    block_loc: &Loc,
    model: &mut Model,
) {
    let loc = site.loc(b.span(), block_loc);
    let iterator = match b.body.get_attribute("iterator").map(|a| &a.value) {
        Some(Expression::Variable(v)) => v.as_str().to_owned(),
        _ => word.to_owned(),
    };
    let Some(content) = b.body.blocks().find(|c| c.ident.as_str() == "content") else {
        return;
    };
    let collection = b
        .body
        .get_attribute("for_each")
        .and_then(|fe| site.scope.eval(&fe.value))
        .and_then(|v| eval::dynamic_entries(&v));
    let Some(entries) = collection else {
        model.unknown_expansions.push(UnknownSite {
            address: address.to_string(),
            what: format!("dynamic \"{word}\" for_each is not known statically"),
            loc,
        });
        return;
    };
    let content_loc = site.loc(content.span(), &loc);
    let first = model.rules.len();
    for (key, value) in entries {
        let mut m = hcl::Map::new();
        m.insert("key".to_owned(), key);
        m.insert("value".to_owned(), value);
        let mut inner = Site {
            root: site.root,
            file: site.file,
            text: site.text,
            json: site.json,
            scope: site.scope.with(&iterator, Value::Object(m)),
            inputs: site.inputs,
            iterators: site.iterators.clone(),
        };
        inner.iterators.push(iterator.clone());
        let decl = Decl::from_body(&content.body, content_loc.clone(), &inner);
        model
            .rules
            .extend(rules::build(&decl, kind, address, group, &inner));
    }
    // Every element's rules share the content's bytes: number them across the whole block, so
    // that (address, entry, location) names one rule.
    for (n, r) in model.rules[first..].iter_mut().enumerate() {
        r.entry = n;
    }
}

/// Links standalone rules to the group they attach to.
struct Linker<'a> {
    path: &'a [ModuleStep],
    groups: &'a BTreeMap<(String, String), Vec<Option<InstanceKey>>>,
    locals: &'a [(&'a SourceFile, &'a hcl_edit::structure::Attribute)],
}

impl Linker<'_> {
    fn resolve(&self, body: &Body, site: &Site<'_>) -> GroupRef {
        let Some(attr) = body.get_attribute("security_group_id") else {
            return GroupRef::Unknown;
        };
        if let Some(v) = site
            .scope
            .eval(&attr.value)
            .and_then(|v| eval::as_string(&v))
        {
            return GroupRef::Id(v);
        }
        let mut candidates = Vec::new();
        self.collect(&attr.value, site, &mut candidates, 0);
        candidates.sort();
        candidates.dedup();
        match candidates.as_slice() {
            [one] => GroupRef::Address(one.clone()),
            _ => GroupRef::Unknown,
        }
    }

    fn collect(&self, expr: &Expression, site: &Site<'_>, out: &mut Vec<String>, depth: usize) {
        for r in refs(expr) {
            if r.root == "local"
                && depth < 4
                && let Some(name) = r.attrs.first()
                && let Some((_, a)) = self.locals.iter().find(|(_, a)| a.key.as_str() == name)
            {
                self.collect(&a.value, site, out, depth + 1);
                continue;
            }
            if !GROUP_KINDS.contains(&r.root.as_str()) {
                continue;
            }
            let Some(name) = r.attrs.first() else {
                continue;
            };
            let Some(keys) = self.groups.get(&(r.root.clone(), name.clone())) else {
                continue;
            };
            let key = match (keys.as_slice(), r.index) {
                ([], _) => continue,
                ([only], None) => only.clone(),
                (_, Some(ix)) => match site.scope.eval(ix) {
                    Some(Value::String(s)) => Some(InstanceKey::Key(s)),
                    Some(v) => match eval::as_int(&v) {
                        Some(i) => Some(InstanceKey::Index(i as u64)),
                        None => continue,
                    },
                    None => continue,
                },
                _ => continue,
            };
            if !keys.contains(&key) {
                continue;
            }
            out.push(
                Address {
                    module: self.path.to_vec(),
                    kind: r.root.clone(),
                    name: name.clone(),
                    key,
                }
                .to_string(),
            );
        }
    }
}
