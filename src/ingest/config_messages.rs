//! Ingest stage: which JSON documents carry AWS Config configuration items, and where the
//! items are inside them. Delivered snapshot and history files and the API output hold a
//! `configurationItems` array; change notifications hold one `configurationItem`, delivered
//! bare (one JSON object per line or an array), inside an SNS envelope (`Message` is the
//! notification as a JSON string), inside SQS messages (`Body`), Lambda event `Records`, or an
//! EventBridge event's `detail`. An oversized item's notification only points at the S3 object
//! that holds it.

use serde_json::Value;

/// Where an oversized configuration item was delivered instead of the notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OversizedItem {
    /// `s3DeliverySummary.s3BucketLocation`: `bucket/key`.
    pub location: Option<String>,
    /// `s3DeliverySummary.errorCode` when Config could not deliver it.
    pub error: Option<String>,
    pub resource_type: String,
    pub resource_id: String,
}

impl OversizedItem {
    /// The `s3://` URL of the delivered item, when Config delivered it.
    pub fn url(&self) -> Option<String> {
        let location = self.location.as_deref()?.trim_start_matches("s3://");
        location.contains('/').then(|| format!("s3://{location}"))
    }
}

/// What the documents held besides items.
#[derive(Debug, Default)]
pub struct Found {
    pub oversized: Vec<OversizedItem>,
    /// Config notifications of other kinds (delivery completed, compliance change, …).
    pub other_messages: u64,
}

/// Wrappers nest a few levels at most (SQS → SNS → notification).
const MAX_DEPTH: usize = 8;

/// Calls `on_item` for every configuration item in `doc`.
pub fn visit(
    doc: &Value,
    found: &mut Found,
    on_item: &mut dyn FnMut(&Value) -> Result<(), String>,
) -> Result<(), String> {
    visit_at(doc, 0, found, on_item)
}

fn visit_at(
    doc: &Value,
    depth: usize,
    found: &mut Found,
    on_item: &mut dyn FnMut(&Value) -> Result<(), String>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("messages nested too deeply".into());
    }
    let o = match doc {
        Value::Array(elements) => {
            for e in elements {
                if e.get("resourceType").is_some() {
                    on_item(e)?;
                } else {
                    visit_at(e, depth + 1, found, on_item)?;
                }
            }
            return Ok(());
        }
        Value::Object(o) => o,
        _ => return Err(NOT_CONFIG.into()),
    };
    let nested_json = |name: &str, s: &str| {
        serde_json::from_str::<Value>(s)
            .map_err(|e| format!("`{name}` is a string but not JSON ({e})"))
    };
    if let Some(items) = o.get("configurationItems") {
        let Value::Array(items) = items else {
            return Err("`configurationItems` is not an array".into());
        };
        for item in items {
            on_item(item)?;
        }
        return Ok(());
    }
    if let Some(item) = o.get("configurationItem").filter(|v| v.is_object()) {
        return on_item(item);
    }
    match o.get("messageType").and_then(Value::as_str) {
        Some("OversizedConfigurationItemChangeNotification") => {
            found.oversized.push(oversized(doc));
            return Ok(());
        }
        Some(_) => {
            found.other_messages += 1;
            return Ok(());
        }
        None => {}
    }
    // EventBridge: the notification is the event's `detail`.
    if let Some(detail) = o.get("detail").filter(|v| v.is_object()) {
        return visit_at(detail, depth + 1, found, on_item);
    }
    // SNS envelope (HTTP, email-json, SQS without raw delivery): `Message` is a JSON string.
    if let Some(Value::String(message)) = o.get("Message") {
        return visit_at(&nested_json("Message", message)?, depth + 1, found, on_item);
    }
    // SQS: one message, or `aws sqs receive-message` output.
    if let Some(Value::String(body)) = o.get("Body").or_else(|| o.get("body")) {
        return visit_at(&nested_json("Body", body)?, depth + 1, found, on_item);
    }
    for list in ["Messages", "Records"] {
        if let Some(Value::Array(entries)) = o.get(list) {
            for entry in entries {
                // A Lambda event's SNS record carries the envelope under `Sns`.
                let entry = entry.get("Sns").unwrap_or(entry);
                visit_at(entry, depth + 1, found, on_item)?;
            }
            return Ok(());
        }
    }
    Err(NOT_CONFIG.into())
}

const NOT_CONFIG: &str = "neither an AWS Config snapshot, history file or \
     get-resource-config-history output (`configurationItems`) nor a configuration item change \
     notification (`configurationItem`, bare or inside SNS, SQS or EventBridge messages)";

fn oversized(doc: &Value) -> OversizedItem {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let summary = doc.get("configurationItemSummary");
    let delivery = doc.get("s3DeliverySummary");
    OversizedItem {
        location: text(delivery.and_then(|d| d.get("s3BucketLocation"))),
        error: text(delivery.and_then(|d| d.get("errorCode"))),
        resource_type: text(summary.and_then(|s| s.get("resourceType"))).unwrap_or_default(),
        resource_id: text(summary.and_then(|s| s.get("resourceId"))).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(doc: &Value) -> (Vec<String>, Found) {
        let mut found = Found::default();
        let mut out = Vec::new();
        visit(doc, &mut found, &mut |item| {
            out.push(item["resourceId"].as_str().unwrap_or("?").to_owned());
            Ok(())
        })
        .unwrap();
        (out, found)
    }

    #[test]
    fn every_wrapper_reaches_the_item() {
        let note = json!({
            "configurationItemDiff": null,
            "configurationItem": { "resourceType": "AWS::EC2::NetworkInterface", "resourceId": "eni-1" },
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3"
        });
        let sns = json!({ "Type": "Notification", "Message": note.to_string() });
        let sqs = json!({ "Messages": [ { "MessageId": "m", "Body": sns.to_string() } ] });
        let lambda = json!({ "Records": [ { "Sns": sns.clone() }, { "body": note.to_string() } ] });
        let events = json!({ "source": "aws.config", "detail": note.clone() });
        assert_eq!(ids(&note).0, ["eni-1"]);
        assert_eq!(ids(&sns).0, ["eni-1"]);
        assert_eq!(ids(&sqs).0, ["eni-1"]);
        assert_eq!(ids(&lambda).0, ["eni-1", "eni-1"]);
        assert_eq!(ids(&events).0, ["eni-1"]);
        assert_eq!(ids(&json!([note, events])).0, ["eni-1", "eni-1"]);
    }

    #[test]
    fn oversized_and_other_messages() {
        let doc = json!([
            {
                "configurationItemSummary": { "resourceType": "AWS::EC2::SecurityGroup", "resourceId": "sg-1" },
                "s3DeliverySummary": { "s3BucketLocation": "bkt/AWSLogs/1/Config/x.json.gz", "errorCode": null },
                "messageType": "OversizedConfigurationItemChangeNotification"
            },
            { "messageType": "ConfigurationSnapshotDeliveryCompleted" }
        ]);
        let (items, found) = ids(&doc);
        assert!(items.is_empty());
        assert_eq!(found.other_messages, 1);
        assert_eq!(found.oversized.len(), 1);
        assert_eq!(
            found.oversized[0].url().as_deref(),
            Some("s3://bkt/AWSLogs/1/Config/x.json.gz")
        );
        assert_eq!(found.oversized[0].resource_id, "sg-1");
    }

    #[test]
    fn anything_else_is_refused() {
        let mut found = Found::default();
        let e = visit(&json!({"a": 1}), &mut found, &mut |_| Ok(())).unwrap_err();
        assert!(e.starts_with("neither an AWS Config snapshot"), "{e}");
        let e = visit(&json!({"Message": "{"}), &mut found, &mut |_| Ok(())).unwrap_err();
        assert!(e.starts_with("`Message` is a string but not JSON"), "{e}");
    }
}
