//! The `LogFormat` of headerless sources, looked up with `ec2:DescribeFlowLogs` (read-only) by the
//! flow-log id in S3 keys, or by the log group for CloudWatch Logs, and cached in the store. A
//! lookup that fails (no permission, no credentials) is a note, never an error: the reader then
//! falls back to the header or the default version-2 layout.

use std::collections::{BTreeSet, HashMap};

use super::Observer;
use crate::aws::{Aws, FlowLogFilter, FlowLogFormat, S3Object};
use crate::store::Store;

/// The flow-log id (`fl-…`) in a key of the default or Hive layout: the file name is
/// `ACCOUNT_vpcflowlogs_REGION_fl-xxxx_YYYYMMDDTHHmmZ_HASH.log.gz`.
pub fn flow_log_id(key: &str) -> Option<&str> {
    let name = key.rsplit('/').next()?;
    name.split('_').find(|part| {
        part.strip_prefix("fl-")
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
    })
}

/// The formats of the flow logs the objects' keys name: from the store, else one
/// `DescribeFlowLogs` call for the ids not cached yet.
pub(super) fn for_objects(
    aws: &Aws,
    store: &mut Store,
    objects: &[S3Object],
    observer: &dyn Observer,
) -> miette::Result<HashMap<String, String>> {
    let ids: Vec<String> = objects
        .iter()
        .filter_map(|o| flow_log_id(&o.key))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_owned)
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let cached = store.flow_log_formats(&ids)?;
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !cached.contains_key(*id))
        .cloned()
        .collect();
    let mut formats: HashMap<String, String> = cached
        .into_iter()
        .filter_map(|(id, format)| Some((id, format?)))
        .collect();
    if !missing.is_empty() {
        match aws.flow_log_formats(&FlowLogFilter::Ids(missing)) {
            Ok(found) => {
                cache(store, &found)?;
                for flow_log in found {
                    if let Some(format) = flow_log.log_format {
                        formats.insert(flow_log.id, format);
                    }
                }
            }
            Err(error) => observer.note(&unavailable(&error)),
        }
    }
    Ok(formats)
}

/// The format of the flow logs delivering to `group`, when they agree on one.
pub(super) fn for_group(
    aws: &Aws,
    store: &mut Store,
    group: &str,
    observer: &dyn Observer,
) -> miette::Result<Option<String>> {
    let mut formats = store.flow_log_formats_of_group(group)?;
    if formats.is_empty() {
        match aws.flow_log_formats(&FlowLogFilter::LogGroup(group.to_owned())) {
            Ok(found) => {
                cache(store, &found)?;
                formats = found
                    .into_iter()
                    .filter_map(|f| f.log_format)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
            }
            Err(error) => {
                observer.note(&unavailable(&error));
                return Ok(None);
            }
        }
    }
    match formats.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        several => {
            observer.note(&format!(
                "note: {} flow logs with different formats deliver to the log group {group}; its events are read with the default version-2 layout",
                several.len()
            ));
            Ok(None)
        }
    }
}

fn cache(store: &mut Store, found: &[FlowLogFormat]) -> miette::Result<()> {
    let rows: Vec<_> = found
        .iter()
        .map(|f| (f.id.clone(), f.log_group.clone(), f.log_format.clone()))
        .collect();
    store.cache_flow_log_formats(&rows)?;
    Ok(())
}

fn unavailable(error: &crate::aws::AwsError) -> String {
    format!(
        "note: the flow logs' format could not be looked up ({error}); records without a header are read as the default version-2 format (allow ec2:DescribeFlowLogs, or pass --log-format)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_log_id_comes_out_of_delivered_keys() {
        assert_eq!(
            flow_log_id(
                "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/07/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f67890_20240307T0000Z_ab12cd34.log.gz"
            ),
            Some("fl-0a1b2c3d4e5f67890")
        );
        assert_eq!(flow_log_id("copies/plain.log"), None);
        assert_eq!(flow_log_id("AWSLogs/x/fl-_y.log"), None);
    }
}
