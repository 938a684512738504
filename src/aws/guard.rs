//! The read-only guard: an interceptor on the S3 client and a check in the EC2 Query client
//! (`ec2_query`). It refuses, before anything is serialised or sent, any operation that is not in
//! [`READ_ONLY_OPERATIONS`], and records each attempt that does go out.

use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Every AWS operation tighten may call, as `Service.Operation`. Only Describe/Get/List/Head/Filter
/// operations belong here (a unit test holds that); the guard refuses anything else.
pub const READ_ONLY_OPERATIONS: &[&str] = &[
    "S3.ListObjectsV2",
    "S3.GetObject",
    "EC2.DescribeNetworkInterfaces",
    "EC2.DescribeSecurityGroups",
    "EC2.DescribeSecurityGroupRules",
    "EC2.DescribeManagedPrefixLists",
    "EC2.GetManagedPrefixListEntries",
    "EC2.DescribeFlowLogs",
    "Logs.DescribeLogStreams",
    "Logs.FilterLogEvents",
];

/// The message of the error the guard raises; the error mapping recognises it.
pub(crate) const REFUSED: &str = "tighten refused to send a non-read-only AWS operation";

#[derive(Debug, Default)]
pub(crate) struct ReadOnlyGuard {
    sent: Mutex<Vec<String>>,
}

impl ReadOnlyGuard {
    pub(crate) fn sent(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Notes one attempt of an allowed operation, just before it is sent.
    pub(crate) fn record(&self, operation: String) {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(operation);
    }
}

/// The guard as the SDK holds it (shared by the S3 and EC2 clients of one [`super::Aws`]).
#[derive(Debug, Clone)]
pub(crate) struct SharedGuard(pub(crate) Arc<ReadOnlyGuard>);

fn operation(cfg: &ConfigBag) -> Option<String> {
    let metadata = cfg.load::<Metadata>()?;
    Some(format!(
        "{}.{}",
        service_prefix(metadata.service()),
        metadata.name()
    ))
}

/// The SDK's service names are `s3`/`ec2` (model ids) and `CloudWatch Logs`; the list uses the
/// usual spelling (`Logs` as in IAM's `logs:` prefix).
fn service_prefix(service: &str) -> String {
    match service {
        "CloudWatch Logs" => "Logs".to_owned(),
        other => other.to_ascii_uppercase(),
    }
}

pub(crate) fn is_allowed(operation: &str) -> bool {
    READ_ONLY_OPERATIONS.contains(&operation)
}

impl Intercept for SharedGuard {
    fn name(&self) -> &'static str {
        "tighten-read-only-guard"
    }

    // Not `read_before_execution`: for a client-level interceptor that runs before the
    // operation's configuration (which names it) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match operation(cfg) {
            Some(op) if is_allowed(&op) => Ok(()),
            Some(op) => Err(format!("{REFUSED}: {op}").into()),
            None => Err(format!("{REFUSED}: unnamed operation").into()),
        }
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0
            .record(operation(cfg).unwrap_or_else(|| "unnamed".to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowed_operations_are_read_only_and_unique() {
        for op in READ_ONLY_OPERATIONS {
            let (service, name) = op.split_once('.').expect("Service.Operation");
            assert!(["S3", "EC2", "Logs"].contains(&service), "{op}");
            assert!(
                ["Describe", "Get", "List", "Head", "Filter"]
                    .iter()
                    .any(|verb| name.starts_with(verb)),
                "{op} is not a read-only operation"
            );
        }
        let mut sorted = READ_ONLY_OPERATIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), READ_ONLY_OPERATIONS.len());
    }

    #[test]
    fn the_allowed_list_is_exactly_what_the_code_calls() {
        // Every fluent call on the S3 client, in snake case, and every EC2 Query action the code
        // names must map to an allowed operation, and every allowed operation must be used: a
        // new call cannot slip in without the list (and its review) changing.
        // (Whitespace removed: rustfmt splits call chains over lines.)
        let s3 = include_str!("s3.rs").split_whitespace().collect::<String>();
        let mut called: Vec<String> = Vec::new();
        for (index, _) in s3.match_indices("client.") {
            let rest = &s3[index + "client.".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `client.clone()` hands the client to a task; it is no operation.
            if rest[name.len()..].starts_with("()") && name != "clone" {
                called.push(format!("S3.{name}"));
            }
        }
        let logs = include_str!("logs.rs")
            .split_whitespace()
            .collect::<String>();
        for (index, _) in logs.match_indices("client.") {
            let rest = &logs[index + "client.".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if rest[name.len()..].starts_with("()") && name != "clone" {
                called.push(format!("Logs.{name}"));
            }
        }
        let ec2 = include_str!("ec2.rs");
        for action in super::super::ec2_query::Action::ALL {
            let named = format!("Action::{action:?}");
            assert_eq!(action.name(), format!("{action:?}"));
            assert_eq!(action.operation(), format!("EC2.{}", action.name()));
            if ec2.contains(&named) {
                called.push(format!("EC2.{}", snake_case(action.name())));
            }
        }
        called.sort_unstable();
        called.dedup();
        let mut allowed: Vec<String> = READ_ONLY_OPERATIONS
            .iter()
            .map(|op| {
                let (service, name) = op.split_once('.').expect("Service.Operation");
                format!("{service}.{}", snake_case(name))
            })
            .collect();
        allowed.sort_unstable();
        assert_eq!(called, allowed);
    }

    fn snake_case(name: &str) -> String {
        let mut out = String::new();
        let chars: Vec<char> = name.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            let boundary = i > 0
                && c.is_ascii_uppercase()
                && (chars[i - 1].is_ascii_lowercase()
                    || chars.get(i + 1).is_some_and(char::is_ascii_lowercase));
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    #[test]
    fn snake_case_matches_the_sdk_method_names() {
        assert_eq!(snake_case("ListObjectsV2"), "list_objects_v2");
        assert_eq!(
            snake_case("DescribeSecurityGroupRules"),
            "describe_security_group_rules"
        );
    }
}
