//! Terraform stage: evaluation of expressions on what is known statically (variables, locals,
//! `each`, `count`, dynamic-block iterators and a set of common functions on literals), with
//! `hcl::eval`. Anything else (resource attributes, data sources, unset variables) fails to
//! evaluate and the caller marks the value unknown; nothing is guessed.

#![expect(
    clippy::needless_pass_by_value,
    reason = "hcl::eval::Func takes its arguments by value"
)]

use std::rc::Rc;

use hcl::Value;
use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl_edit::expr::{Expression, Traversal, TraversalOperator};
use hcl_edit::visit_mut::{VisitMut, visit_expr_mut};

/// Upper bound on collection sizes we expand (`count`, `for_each`, `range`): larger ones are
/// treated as unknown rather than risking memory on hostile input.
pub(crate) const MAX_EXPANSION: usize = 4096;

/// Names visible to an expression: `var`, `local`, `path`, and per-instance `each`, `count` and
/// `dynamic` iterators.
///
/// Evaluation first replaces every reference to these names by the value it points at (walking
/// the values by reference), then evaluates the rest with `hcl::eval` in a context holding only
/// the functions. `hcl::eval` clones a variable's whole value on every reference, which made
/// `var.rules[...]` in a module with a large rule table cost a copy of every variable.
#[derive(Clone)]
pub(crate) struct Scope {
    /// `var`, `local`, `path`.
    names: Rc<Vec<(String, Value)>>,
    /// `each`, `count`, iterators; later entries shadow earlier ones.
    extra: Rc<Vec<(String, Value)>>,
    funcs: Rc<Context<'static>>,
}

impl Scope {
    /// A scope with the module's variables and locals (objects of known values only).
    pub(crate) fn new(vars: hcl::Map<String, Value>, locals: hcl::Map<String, Value>) -> Self {
        let mut path = hcl::Map::new();
        path.insert("module".to_owned(), Value::String(".".to_owned()));
        path.insert("root".to_owned(), Value::String(".".to_owned()));
        let mut funcs = Context::new();
        declare_functions(&mut funcs);
        Self {
            names: Rc::new(vec![
                ("var".to_owned(), Value::Object(vars)),
                ("local".to_owned(), Value::Object(locals)),
                ("path".to_owned(), Value::Object(path)),
            ]),
            extra: Rc::new(Vec::new()),
            funcs: Rc::new(funcs),
        }
    }

    /// This scope plus one more name (`each`, `count`, a `dynamic` iterator).
    pub(crate) fn with(&self, name: &str, value: Value) -> Self {
        let mut extra = (*self.extra).clone();
        extra.push((name.to_owned(), value));
        Self {
            names: Rc::clone(&self.names),
            extra: Rc::new(extra),
            funcs: Rc::clone(&self.funcs),
        }
    }

    fn lookup(&self, name: &str) -> Option<&Value> {
        self.extra
            .iter()
            .rev()
            .chain(self.names.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Evaluates `expr`; `None` when anything in it is not known statically.
    pub(crate) fn eval(&self, expr: &Expression) -> Option<Value> {
        let mut expr = expr.clone();
        Resolver { scope: self }.visit_expr_mut(&mut expr);
        let expr: hcl::Expression = expr.into();
        expr.evaluate(&self.funcs).ok()
    }
}

/// Replaces references to scope names by their values.
struct Resolver<'a> {
    scope: &'a Scope,
}

impl VisitMut for Resolver<'_> {
    fn visit_expr_mut(&mut self, node: &mut Expression) {
        match node {
            Expression::Variable(v) => {
                if let Some(value) = self.scope.lookup(v.as_str()) {
                    *node = literal(value);
                }
            }
            Expression::Traversal(t) => {
                for op in &mut t.operators {
                    if let TraversalOperator::Index(e) = op.value_mut() {
                        self.visit_expr_mut(e);
                    }
                }
                let Expression::Variable(root) = &t.expr else {
                    self.visit_expr_mut(&mut t.expr);
                    return;
                };
                // An unknown name, or a missing key, stays: evaluating it fails (unknown).
                if let Some(base) = self.scope.lookup(root.as_str())
                    && let Some(resolved) = navigate(base, &t.operators, &self.scope.funcs)
                {
                    *node = resolved;
                }
            }
            _ => visit_expr_mut(self, node),
        }
    }
}

/// Follows `operators` from `base` by reference; the value reached (with any splat and the
/// operators after it left to `hcl::eval`), or `None` when a key or index is missing.
fn navigate(
    base: &Value,
    operators: &[hcl_edit::Decorated<TraversalOperator>],
    funcs: &Context<'static>,
) -> Option<Expression> {
    let mut cur = base;
    let mut consumed = 0;
    for op in operators {
        cur = match op.value() {
            TraversalOperator::GetAttr(name) => cur.as_object()?.get(name.as_str())?,
            TraversalOperator::Index(e) => {
                let key = hcl::Expression::from(e.clone()).evaluate(funcs).ok()?;
                match (cur, key) {
                    (Value::Object(m), Value::String(k)) => m.get(&k)?,
                    (Value::Array(a), k) => a.get(usize::try_from(as_int(&k)?).ok()?)?,
                    _ => return None,
                }
            }
            TraversalOperator::LegacyIndex(i) => {
                cur.as_array()?.get(usize::try_from(*i.value()).ok()?)?
            }
            _ => break,
        };
        consumed += 1;
    }
    let value = literal(cur);
    if consumed == operators.len() {
        Some(value)
    } else {
        Some(Expression::Traversal(Box::new(Traversal::new(
            value,
            operators[consumed..].to_vec(),
        ))))
    }
}

fn literal(v: &Value) -> Expression {
    hcl::Expression::from(v.clone()).into()
}

impl Scope {
    /// Evaluates `expr`, keeping the known parts of lists and objects: a part that cannot be
    /// evaluated becomes the marker string `${TEXT}` (see [`is_unknown_marker`]), so that one
    /// unknown group id does not hide the ports next to it.
    pub(crate) fn eval_partial(&self, expr: &Expression) -> Value {
        if let Some(v) = self.eval(expr) {
            return v;
        }
        match expr {
            Expression::Array(items) => {
                Value::Array(items.iter().map(|i| self.eval_partial(i)).collect())
            }
            Expression::Object(obj) => {
                let mut m = hcl::Map::new();
                for (k, v) in obj {
                    let key = match k {
                        hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_owned(),
                        hcl_edit::expr::ObjectKey::Expression(Expression::Variable(v)) => {
                            v.as_str().to_owned()
                        }
                        hcl_edit::expr::ObjectKey::Expression(e) => match self.eval(e) {
                            Some(Value::String(s)) => s,
                            _ => return unknown_marker(expr),
                        },
                    };
                    m.insert(key, self.eval_partial(v.expr()));
                }
                Value::Object(m)
            }
            other => unknown_marker(other),
        }
    }
}

fn unknown_marker(expr: &Expression) -> Value {
    Value::String(format!("${{{}}}", expr.to_string().trim()))
}

/// Whether a string holds a value that was not known statically (see [`Scope::eval_partial`]).
pub(crate) fn is_unknown_marker(s: &str) -> bool {
    s.contains("${")
}

/// `each = { key, value }` for one `for_each` entry.
pub(crate) fn each_value(key: &str, value: Value) -> Value {
    let mut m = hcl::Map::new();
    m.insert("key".to_owned(), Value::String(key.to_owned()));
    m.insert("value".to_owned(), value);
    Value::Object(m)
}

/// `count = { index }`.
pub(crate) fn count_value(index: u64) -> Value {
    let mut m = hcl::Map::new();
    m.insert("index".to_owned(), Value::from(index));
    Value::Object(m)
}

/// The entries of a `for_each` collection: objects and maps by key (sorted, as Terraform does),
/// sets and lists of strings by value. `None` for anything else.
pub(crate) fn for_each_entries(v: &Value) -> Option<Vec<(String, Value)>> {
    let mut out: Vec<(String, Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(|s| (s.to_owned(), i.clone())))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    if out.len() > MAX_EXPANSION {
        return None;
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    Some(out)
}

/// The elements a `dynamic` block iterates over, with their keys (list index or map key).
pub(crate) fn dynamic_entries(v: &Value) -> Option<Vec<(Value, Value)>> {
    match v {
        Value::Object(m) => {
            // Terraform iterates maps and objects in lexical key order.
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Some(
                entries
                    .into_iter()
                    .map(|(k, v)| (Value::String(k.clone()), v.clone()))
                    .collect(),
            )
        }
        Value::Array(items) if items.len() <= MAX_EXPANSION => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i as u64), v.clone()))
                .collect(),
        ),
        _ => None,
    }
}

/// A value as an integer (numbers and numeric strings, as Terraform converts them).
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as a string (strings, numbers and booleans, as Terraform converts them).
pub(crate) fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A value as a boolean (`true`, `"true"`).
pub(crate) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn declare_functions(ctx: &mut Context<'_>) {
    let variadic = |f| FuncDef::builder().variadic_param(ParamType::Any).build(f);
    let table: [(&str, hcl::eval::Func); 28] = [
        ("sort", sort),
        ("concat", concat),
        ("flatten", flatten),
        ("tolist", identity),
        ("toset", toset),
        ("tomap", identity),
        ("distinct", distinct),
        ("lookup", lookup),
        ("merge", merge),
        ("cidrsubnet", cidrsubnet),
        ("split", split),
        ("join", join),
        ("format", format),
        ("length", length),
        ("element", element),
        ("compact", compact),
        ("keys", keys),
        ("values", values),
        ("lower", lower),
        ("upper", upper),
        ("tostring", tostring),
        ("tonumber", tonumber),
        ("coalesce", coalesce),
        ("contains", contains),
        ("try", coalesce_ok),
        ("range", range),
        ("zipmap", zipmap),
        ("trimspace", trimspace),
    ];
    for (name, f) in table {
        ctx.declare_func(name, variadic(f));
    }
}

/// Whether `v` holds an unknown marker anywhere: functions refuse such arguments, so that an
/// unknown value never turns into a wrong known one (`length("${…}")`).
fn has_marker(v: &Value) -> bool {
    match v {
        Value::String(s) => is_unknown_marker(s),
        Value::Array(a) => a.iter().any(has_marker),
        Value::Object(m) => m.values().any(has_marker),
        _ => false,
    }
}

fn arg(args: &FuncArgs, i: usize) -> Result<&Value, String> {
    if args.iter().any(has_marker) {
        return Err("argument not known statically".to_owned());
    }
    args.get(i)
        .ok_or_else(|| format!("missing argument {}", i + 1))
}

fn sort(args: FuncArgs) -> R {
    let mut items: Vec<String> = arr(arg(&args, 0)?)?
        .iter()
        .map(string)
        .collect::<Result<_, _>>()?;
    items.sort();
    Ok(Value::Array(items.into_iter().map(Value::String).collect()))
}

type R = Result<Value, String>;

fn arr(v: &Value) -> Result<&Vec<Value>, String> {
    v.as_array().ok_or_else(|| "expected a list".to_owned())
}

fn string(v: &Value) -> Result<String, String> {
    as_string(v).ok_or_else(|| "expected a string".to_owned())
}

fn concat(args: FuncArgs) -> R {
    if args.iter().any(has_marker) {
        return Err("argument not known statically".to_owned());
    }
    let mut out = Vec::new();
    for a in args.iter() {
        out.extend(arr(a)?.iter().cloned());
    }
    Ok(Value::Array(out))
}

fn flatten_into(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten_into(i, out)),
        other => out.push(other.clone()),
    }
}

fn flatten(args: FuncArgs) -> R {
    let mut out = Vec::new();
    flatten_into(arg(&args, 0)?, &mut out);
    Ok(Value::Array(out))
}

fn identity(args: FuncArgs) -> R {
    arg(&args, 0).cloned()
}

/// `toset`: duplicates removed; a set of strings iterates in lexical order, as in Terraform.
fn toset(args: FuncArgs) -> R {
    let mut out = distinct_values(arr(arg(&args, 0)?)?);
    if out.iter().all(Value::is_string) {
        out.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    Ok(Value::Array(out))
}

fn distinct(args: FuncArgs) -> R {
    Ok(Value::Array(distinct_values(arr(arg(&args, 0)?)?)))
}

fn distinct_values(items: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in items {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

fn lookup(args: FuncArgs) -> R {
    let map = arg(&args, 0)?
        .as_object()
        .ok_or_else(|| "lookup: expected a map".to_owned())?;
    let key = string(arg(&args, 1)?)?;
    match (map.get(&key), args.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(format!("lookup: no key {key}")),
    }
}

fn merge(args: FuncArgs) -> R {
    if args.iter().any(has_marker) {
        return Err("argument not known statically".to_owned());
    }
    let mut out = hcl::Map::new();
    for a in args.iter() {
        match a {
            Value::Object(m) => out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Value::Null => {}
            _ => return Err("merge: expected maps".to_owned()),
        }
    }
    Ok(Value::Object(out))
}

fn cidrsubnet(args: FuncArgs) -> R {
    let net: ipnet::IpNet = string(arg(&args, 0)?)?
        .parse()
        .map_err(|e| format!("cidrsubnet: {e}"))?;
    let newbits = as_int(arg(&args, 1)?).ok_or("cidrsubnet: newbits")?;
    let num = as_int(arg(&args, 2)?).ok_or("cidrsubnet: netnum")?;
    let newbits = u8::try_from(newbits).map_err(|_| "cidrsubnet: newbits")?;
    let new_len = net
        .prefix_len()
        .checked_add(newbits)
        .filter(|l| *l <= net.max_prefix_len())
        .ok_or("cidrsubnet: prefix too long")?;
    let num = u128::try_from(num).map_err(|_| "cidrsubnet: netnum")?;
    if newbits < 128 && num >> newbits != 0 {
        return Err("cidrsubnet: netnum too large".to_owned());
    }
    let host_bits = u32::from(net.max_prefix_len() - new_len);
    let base = match net.network() {
        std::net::IpAddr::V4(a) => u128::from(u32::from(a)),
        std::net::IpAddr::V6(a) => u128::from(a),
    };
    let addr = base | num.checked_shl(host_bits).unwrap_or(0);
    let ip = match net {
        ipnet::IpNet::V4(_) => std::net::IpAddr::V4(std::net::Ipv4Addr::from(addr as u32)),
        ipnet::IpNet::V6(_) => std::net::IpAddr::V6(std::net::Ipv6Addr::from(addr)),
    };
    let sub = ipnet::IpNet::new(ip, new_len).map_err(|e| e.to_string())?;
    Ok(Value::String(sub.to_string()))
}

fn split(args: FuncArgs) -> R {
    let sep = string(arg(&args, 0)?)?;
    let s = string(arg(&args, 1)?)?;
    if sep.is_empty() {
        return Err("split: empty separator".to_owned());
    }
    Ok(Value::Array(
        s.split(sep.as_str())
            .map(|p| Value::String(p.to_owned()))
            .collect(),
    ))
}

fn join(args: FuncArgs) -> R {
    if args.iter().any(has_marker) {
        return Err("argument not known statically".to_owned());
    }
    let sep = string(arg(&args, 0)?)?;
    let mut parts = Vec::new();
    for a in args.iter().skip(1) {
        for v in arr(a)? {
            parts.push(string(v)?);
        }
    }
    Ok(Value::String(parts.join(&sep)))
}

fn format(args: FuncArgs) -> R {
    if args.iter().any(has_marker) {
        return Err("argument not known statically".to_owned());
    }
    let spec = string(arg(&args, 0)?)?;
    let mut rest = args.iter().skip(1);
    let mut out = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s' | 'd' | 'v') => {
                let v = rest.next().ok_or("format: too few arguments")?;
                out.push_str(&string(v)?);
            }
            _ => return Err("format: unsupported verb".to_owned()),
        }
    }
    Ok(Value::String(out))
}

fn length(args: FuncArgs) -> R {
    let n = match arg(&args, 0)? {
        Value::Array(a) => a.len(),
        Value::Object(m) => m.len(),
        Value::String(s) => s.chars().count(),
        _ => return Err("length: unsupported type".to_owned()),
    };
    Ok(Value::from(n as u64))
}

fn element(args: FuncArgs) -> R {
    let items = arr(arg(&args, 0)?)?;
    let i = as_int(arg(&args, 1)?).ok_or("element: index")?;
    if items.is_empty() || i < 0 {
        return Err("element: empty list or negative index".to_owned());
    }
    Ok(items[(i as usize) % items.len()].clone())
}

fn compact(args: FuncArgs) -> R {
    Ok(Value::Array(
        arr(arg(&args, 0)?)?
            .iter()
            .filter(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
            .cloned()
            .collect(),
    ))
}

fn keys(args: FuncArgs) -> R {
    let m = arg(&args, 0)?.as_object().ok_or("keys: expected a map")?;
    let mut k: Vec<&String> = m.keys().collect();
    k.sort();
    Ok(Value::Array(
        k.into_iter().map(|s| Value::String(s.clone())).collect(),
    ))
}

fn values(args: FuncArgs) -> R {
    let m = arg(&args, 0)?.as_object().ok_or("values: expected a map")?;
    let mut e: Vec<(&String, &Value)> = m.iter().collect();
    e.sort_by(|a, b| a.0.cmp(b.0));
    Ok(Value::Array(
        e.into_iter().map(|(_, v)| v.clone()).collect(),
    ))
}

fn lower(args: FuncArgs) -> R {
    Ok(Value::String(string(arg(&args, 0)?)?.to_lowercase()))
}

fn upper(args: FuncArgs) -> R {
    Ok(Value::String(string(arg(&args, 0)?)?.to_uppercase()))
}

fn trimspace(args: FuncArgs) -> R {
    Ok(Value::String(string(arg(&args, 0)?)?.trim().to_owned()))
}

fn tostring(args: FuncArgs) -> R {
    Ok(Value::String(string(arg(&args, 0)?)?))
}

fn tonumber(args: FuncArgs) -> R {
    as_int(arg(&args, 0)?)
        .map(Value::from)
        .ok_or_else(|| "tonumber: not a number".to_owned())
}

fn coalesce(args: FuncArgs) -> R {
    if args.iter().any(has_marker) {
        return Err("argument not known statically".to_owned());
    }
    args.iter()
        .find(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "coalesce: no non-null argument".to_owned())
}

/// `try(a, b)`: arguments that failed never reach a function here, so the call only evaluates
/// when all of them did; the first is then the answer.
fn coalesce_ok(args: FuncArgs) -> R {
    arg(&args, 0).cloned()
}

fn contains(args: FuncArgs) -> R {
    let items = arr(arg(&args, 0)?)?;
    Ok(Value::Bool(items.contains(arg(&args, 1)?)))
}

fn range(args: FuncArgs) -> R {
    if args.iter().any(has_marker) {
        return Err("argument not known statically".to_owned());
    }
    let nums: Vec<i64> = args
        .iter()
        .map(|v| as_int(v).ok_or("range: expected numbers"))
        .collect::<Result<_, _>>()?;
    let (start, end, step) = match nums.as_slice() {
        [end] => (0, *end, 1),
        [start, end] => (*start, *end, 1),
        [start, end, step] if *step != 0 => (*start, *end, *step),
        _ => return Err("range: bad arguments".to_owned()),
    };
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < end) || (step < 0 && i > end) {
        if out.len() >= MAX_EXPANSION {
            return Err("range: too long".to_owned());
        }
        out.push(Value::from(i));
        i += step;
    }
    Ok(Value::Array(out))
}

fn zipmap(args: FuncArgs) -> R {
    let k = arr(arg(&args, 0)?)?;
    let v = arr(arg(&args, 1)?)?;
    if k.len() != v.len() {
        return Err("zipmap: lengths differ".to_owned());
    }
    let mut out = hcl::Map::new();
    for (k, v) in k.iter().zip(v) {
        out.insert(string(k)?, v.clone());
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> Option<Value> {
        let scope = Scope::new(hcl::Map::new(), hcl::Map::new());
        let expr: Expression = src.parse().ok()?;
        scope.eval(&expr)
    }

    #[test]
    fn functions_on_literals() {
        assert_eq!(
            eval(r#"cidrsubnet("10.0.0.0/16", 8, 2)"#),
            Some(Value::from("10.0.2.0/24"))
        );
        assert_eq!(
            eval(r#"split(",", "10.0.0.0/8,192.168.0.0/16")"#),
            Some(Value::Array(vec![
                "10.0.0.0/8".into(),
                "192.168.0.0/16".into()
            ]))
        );
        assert_eq!(eval(r#"format("%s-%d", "a", 3)"#), Some(Value::from("a-3")));
        assert_eq!(eval(r#"lookup({a = 1}, "b", 7)"#), Some(Value::from(7)));
        assert_eq!(
            eval("concat([1], [2, 3])"),
            Some(Value::Array(vec![1.into(), 2.into(), 3.into()]))
        );
        assert_eq!(
            eval("flatten([[1], [2, [3]]])"),
            Some(Value::Array(vec![1.into(), 2.into(), 3.into()]))
        );
        assert_eq!(
            eval("length(merge({a = 1}, {b = 2}))"),
            Some(Value::from(2))
        );
    }

    #[test]
    fn references_to_resources_are_unknown() {
        assert_eq!(eval("aws_vpc.main.cidr_block"), None);
        assert_eq!(eval("var.missing"), None);
    }
}
