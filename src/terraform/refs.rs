//! Terraform stage: the references an expression makes (`var.x`, `local.y`, `each.value`,
//! `aws_security_group.web[0].id`), to tell where a value came from and which group a rule
//! points at.

use hcl_edit::expr::{Expression, Traversal, TraversalOperator};

/// One reference: the root name, the attribute names that follow it, and the first index
/// operator after the second name (`aws_security_group.web[0]`).
#[derive(Debug, Clone)]
pub(crate) struct Ref<'a> {
    pub(crate) root: String,
    pub(crate) attrs: Vec<String>,
    pub(crate) index: Option<&'a Expression>,
}

#[derive(Default)]
struct Collector<'a> {
    refs: Vec<Ref<'a>>,
}

impl<'a> Collector<'a> {
    fn traversal(&mut self, node: &'a Traversal) {
        if let Expression::Variable(root) = &node.expr {
            let mut attrs = Vec::new();
            let mut index = None;
            for op in &node.operators {
                match op.value() {
                    TraversalOperator::GetAttr(name) => attrs.push(name.as_str().to_owned()),
                    TraversalOperator::Index(e) if attrs.len() == 1 && index.is_none() => {
                        index = Some(e);
                    }
                    TraversalOperator::LegacyIndex(_) if attrs.len() == 1 => {}
                    _ => break,
                }
            }
            self.refs.push(Ref {
                root: root.as_str().to_owned(),
                attrs,
                index,
            });
        }
    }
}

/// Every reference in `expr`, outermost first.
pub(crate) fn refs(expr: &Expression) -> Vec<Ref<'_>> {
    let mut c = Collector::default();
    walk(expr, &mut c);
    c.refs
}

fn walk<'a>(expr: &'a Expression, c: &mut Collector<'a>) {
    match expr {
        Expression::Traversal(t) => {
            c.traversal(t);
            if !matches!(t.expr, Expression::Variable(_)) {
                walk(&t.expr, c);
            }
            for op in &t.operators {
                if let TraversalOperator::Index(e) = op.value() {
                    walk(e, c);
                }
            }
        }
        Expression::Variable(v) => c.refs.push(Ref {
            root: v.as_str().to_owned(),
            attrs: Vec::new(),
            index: None,
        }),
        Expression::Array(a) => a.iter().for_each(|e| walk(e, c)),
        Expression::Object(o) => o.iter().for_each(|(k, v)| {
            if let hcl_edit::expr::ObjectKey::Expression(k) = k {
                walk(k, c);
            }
            walk(v.expr(), c);
        }),
        Expression::Parenthesis(p) => walk(p.inner(), c),
        Expression::Conditional(x) => {
            walk(&x.cond_expr, c);
            walk(&x.true_expr, c);
            walk(&x.false_expr, c);
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|e| walk(e, c)),
        Expression::UnaryOp(u) => walk(&u.expr, c),
        Expression::BinaryOp(b) => {
            walk(&b.lhs_expr, c);
            walk(&b.rhs_expr, c);
        }
        Expression::ForExpr(f) => {
            walk(&f.intro.collection_expr, c);
            if let Some(k) = &f.key_expr {
                walk(k, c);
            }
            walk(&f.value_expr, c);
        }
        Expression::StringTemplate(t) => {
            for el in t {
                if let hcl_edit::template::Element::Interpolation(i) = el {
                    walk(&i.expr, c);
                }
            }
        }
        _ => {}
    }
}
