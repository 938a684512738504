//! Terraform resource addresses with module path and instance keys, as `terraform state list`
//! prints them: `module.sg["a"].aws_security_group_rule.this[0]`.

use std::fmt;

use serde::{Serialize, Serializer};

/// The key of one instance of a resource or module with `count` or `for_each`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceKey {
    /// `count` index.
    Index(u64),
    /// `for_each` key.
    Key(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Index(i) => write!(f, "[{i}]"),
            Self::Key(k) => write!(f, "[{}]", serde_json::Value::String(k.clone())),
        }
    }
}

/// One step of a module path: the call name and its instance key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleStep {
    /// Name of the `module` block.
    pub name: String,
    /// Instance key when the call has `count`/`for_each`.
    pub key: Option<InstanceKey>,
}

/// A resource instance address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address {
    /// Module calls from the root, outermost first.
    pub module: Vec<ModuleStep>,
    /// Resource type, e.g. `aws_security_group`.
    pub kind: String,
    /// Resource name.
    pub name: String,
    /// Instance key when the resource has `count`/`for_each`.
    pub key: Option<InstanceKey>,
}

impl Address {
    /// The address without the instance key of the resource itself.
    pub fn resource(&self) -> String {
        let mut s = self.module_prefix();
        s.push_str(&self.kind);
        s.push('.');
        s.push_str(&self.name);
        s
    }

    /// `module.a.module.b.` (empty for the root module).
    pub fn module_prefix(&self) -> String {
        let mut s = String::new();
        for step in &self.module {
            s.push_str("module.");
            s.push_str(&step.name);
            if let Some(k) = &step.key {
                s.push_str(&k.to_string());
            }
            s.push('.');
        }
        s
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.resource())?;
        if let Some(k) = &self.key {
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_terraform_state_list() {
        let a = Address {
            module: vec![ModuleStep {
                name: "sg".into(),
                key: Some(InstanceKey::Key("a".into())),
            }],
            kind: "aws_security_group_rule".into(),
            name: "this".into(),
            key: Some(InstanceKey::Index(0)),
        };
        assert_eq!(
            a.to_string(),
            "module.sg[\"a\"].aws_security_group_rule.this[0]"
        );
        assert_eq!(
            a.resource(),
            "module.sg[\"a\"].aws_security_group_rule.this"
        );
    }
}
