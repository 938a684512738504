//! Terraform stage: state files. `terraform.tfstate` version 4 and `terraform show -json`
//! output (state or plan) give, per resource instance address, the deployed id (`sg-…`,
//! `sgr-…`) and the deployed attributes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// One deployed resource instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    /// Full instance address, e.g. `module.sg.aws_security_group.this_name_prefix[0]`.
    pub address: String,
    /// Resource type.
    pub kind: String,
    /// The `id` attribute.
    pub id: Option<String>,
    /// All attributes as recorded.
    pub attributes: Value,
}

/// Deployed resources by address, managed resources only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// By instance address.
    pub resources: BTreeMap<String, Deployed>,
}

impl State {
    /// The deployed id of `address`.
    pub fn id(&self, address: &str) -> Option<&str> {
        self.resources.get(address)?.id.as_deref()
    }
}

/// Why a state file could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StateError {
    /// The file could not be read.
    #[error("cannot read state file {path}")]
    #[diagnostic(code(tighten::state::io))]
    Io {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON.
    #[error("state file {path} is not JSON: {source}")]
    #[diagnostic(code(tighten::state::json))]
    Json {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// A `terraform.tfstate` of another format version.
    #[error("unsupported state version {version} in {path} (tighten reads version 4)")]
    #[diagnostic(
        code(tighten::state::version),
        help(
            "run `terraform show -json > state.json` with a current Terraform and pass that file"
        )
    )]
    Version {
        /// Path.
        path: String,
        /// The version found.
        version: u64,
    },
    /// JSON, but neither a state nor `terraform show -json` output.
    #[error("{path} is neither a terraform.tfstate nor `terraform show -json` output")]
    #[diagnostic(code(tighten::state::format))]
    Format {
        /// Path.
        path: String,
    },
}

/// Reads a state file from disk.
pub fn read(path: &Path) -> Result<State, StateError> {
    let text = std::fs::read_to_string(path).map_err(|source| StateError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses state text; `path` is for messages.
pub fn parse(text: &str, path: &str) -> Result<State, StateError> {
    let v: Value = serde_json::from_str(text).map_err(|source| StateError::Json {
        path: path.to_owned(),
        source,
    })?;
    let mut state = State::default();
    if let Some(version) = v.get("version").and_then(Value::as_u64) {
        if version != 4 {
            return Err(StateError::Version {
                path: path.to_owned(),
                version,
            });
        }
        for r in v
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            read_v4_resource(r, &mut state);
        }
        return Ok(state);
    }
    if v.get("format_version").is_some() {
        let values = v
            .pointer("/values")
            .or_else(|| v.pointer("/prior_state/values"))
            .or_else(|| v.pointer("/planned_values"));
        if let Some(root) = values.and_then(|x| x.get("root_module")) {
            read_show_module(root, &mut state);
        }
        return Ok(state);
    }
    Err(StateError::Format {
        path: path.to_owned(),
    })
}

fn read_v4_resource(r: &Value, state: &mut State) {
    if r.get("mode").and_then(Value::as_str) != Some("managed") {
        return;
    }
    let (Some(kind), Some(name)) = (
        r.get("type").and_then(Value::as_str),
        r.get("name").and_then(Value::as_str),
    ) else {
        return;
    };
    let module = r
        .get("module")
        .and_then(Value::as_str)
        .map_or(String::new(), |m| format!("{m}."));
    for inst in r
        .get("instances")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = match inst.get("index_key") {
            Some(Value::Number(n)) => format!("[{n}]"),
            Some(Value::String(s)) => format!("[{}]", Value::String(s.clone())),
            _ => String::new(),
        };
        let attributes = inst.get("attributes").cloned().unwrap_or(Value::Null);
        let address = format!("{module}{kind}.{name}{key}");
        state.resources.insert(
            address.clone(),
            Deployed {
                address,
                kind: kind.to_owned(),
                id: attributes
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                attributes,
            },
        );
    }
}

fn read_show_module(m: &Value, state: &mut State) {
    for r in m
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if r.get("mode").and_then(Value::as_str) != Some("managed") {
            continue;
        }
        let (Some(address), Some(kind)) = (
            r.get("address").and_then(Value::as_str),
            r.get("type").and_then(Value::as_str),
        ) else {
            continue;
        };
        let attributes = r.get("values").cloned().unwrap_or(Value::Null);
        state.resources.insert(
            address.to_owned(),
            Deployed {
                address: address.to_owned(),
                kind: kind.to_owned(),
                id: attributes
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                attributes,
            },
        );
    }
    for child in m
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        read_show_module(child, state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_json_child_modules_and_keys() {
        let text = r#"{"format_version":"1.0","values":{"root_module":{"resources":[],"child_modules":[{"address":"module.sg","resources":[{"address":"module.sg.aws_security_group.this[\"a\"]","mode":"managed","type":"aws_security_group","name":"this","index":"a","values":{"id":"sg-1"}}]}]}}}"#;
        let s = parse(text, "x").unwrap();
        assert_eq!(
            s.id("module.sg.aws_security_group.this[\"a\"]"),
            Some("sg-1")
        );
    }

    #[test]
    fn old_versions_are_refused() {
        let err = parse(r#"{"version": 3, "modules": []}"#, "old.tfstate").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported state version 3 in old.tfstate (tighten reads version 4)"
        );
    }
}
