//! Terraform stage: `.tf.json` files, turned into an HCL body so that the same model code reads
//! them. Strings holding `${…}` interpolations become HCL templates. Spans are synthetic, so the
//! model places findings at the start of the file and never offers fixes there.

use hcl_edit::structure::Body;
use serde_json::Value;

/// Converts Terraform JSON syntax to an HCL body; errors carry a message and a byte offset.
pub(crate) fn to_body(text: &str) -> Result<Body, (String, usize)> {
    let root: Value = serde_json::from_str(text).map_err(|e| {
        let offset = text
            .lines()
            .take(e.line().saturating_sub(1))
            .map(|l| l.len() + 1)
            .sum::<usize>()
            + e.column().saturating_sub(1);
        (e.to_string(), offset)
    })?;
    let Value::Object(top) = root else {
        return Err(("a .tf.json file must hold an object".to_owned(), 0));
    };
    let mut out = String::new();
    for (kind, v) in &top {
        let labels = match kind.as_str() {
            "resource" | "data" => 2,
            "variable" | "module" | "output" | "provider" => 1,
            _ => 0,
        };
        write_blocks(&mut out, kind, labels, v, &mut Vec::new());
    }
    hcl_edit::parser::parse_body(&out)
        .map_err(|e| (format!("unsupported JSON construct: {}", e.message()), 0))
}

fn write_blocks(
    out: &mut String,
    kind: &str,
    labels_left: usize,
    v: &Value,
    labels: &mut Vec<String>,
) {
    match (labels_left, v) {
        (0, Value::Object(body)) => {
            out.push_str(kind);
            for l in labels.iter() {
                out.push(' ');
                out.push_str(&Value::String(l.clone()).to_string());
            }
            out.push_str(" {\n");
            for (k, v) in body {
                if is_ident(k) && k != "dynamic" {
                    out.push_str(k);
                    out.push_str(" = ");
                    write_expr(out, v);
                    out.push('\n');
                }
            }
            out.push_str("}\n");
        }
        (0, Value::Array(items)) => {
            for i in items {
                write_blocks(out, kind, 0, i, labels);
            }
        }
        (n, Value::Object(m)) => {
            for (label, inner) in m {
                labels.push(label.clone());
                write_blocks(out, kind, n - 1, inner, labels);
                labels.pop();
            }
        }
        _ => {}
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn write_expr(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => {
            if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
                && !inner.contains("${")
                && inner.parse::<hcl_edit::expr::Expression>().is_ok()
            {
                out.push('(');
                out.push_str(inner);
                out.push(')');
            } else {
                // JSON string escapes are valid HCL escapes; `${` stays a template.
                out.push_str(&v.to_string());
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, item);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push_str("{\n");
            for (k, v) in m {
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(" = ");
                write_expr(out, v);
                out.push('\n');
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn resources_and_interpolations_convert() {
        let body = super::to_body(
            r#"{"resource": {"aws_security_group": {"web": {"description": "d", "ingress": [{"from_port": 22, "cidr_blocks": ["${var.cidr}"]}]}}}}"#,
        )
        .unwrap();
        let block = body.blocks().next().unwrap();
        assert_eq!(block.ident.as_str(), "resource");
        assert_eq!(block.labels.len(), 2);
        assert_eq!(block.body.attributes().count(), 2);
    }
}
