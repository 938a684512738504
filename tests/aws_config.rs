//! AWS Config ingestion, attribution of evidence to security groups, and group membership over
//! time, through the real binary and real `SQLite` files.

mod common;

use std::path::{Path, PathBuf};

use common::tighten;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/aws-config")
}

fn run(db: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = tighten().args(args).arg("--db").arg(db).output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ingest_flows(db: &Path) {
    let (code, _, err) = run(
        db,
        &[
            "ingest",
            "flow-logs",
            fixtures().join("flows-v2.log").to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
}

fn ingest_config(db: &Path) -> String {
    let (code, _, err) = run(db, &["ingest", "aws-config", fixtures().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    err
}

#[test]
fn flows_of_a_terminated_instance_count_for_its_groups_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    ingest_flows(&a);
    let (_, before, note) = run(&a, &["evidence", "--by-group", "--format", "csv"]);
    assert_eq!(
        before.lines().count(),
        1,
        "nothing attributed before AWS Config: {before}"
    );
    assert!(
        note.contains("note: 163 records on 3 interfaces have no known security groups"),
        "{note}"
    );
    let line = ingest_config(&a);
    assert_eq!(
        line.trim(),
        "ingested 3 AWS Config files (7 configuration items of interfaces, instances and security groups, 7 new); 3 skipped (not .json, .jsonl, .ndjson or .gz, or ConfigWritabilityCheckFile)"
    );
    // The other order: AWS Config first, flows after.
    ingest_config(&b);
    ingest_flows(&b);
    let (_, by_group_a, note_a) = run(&a, &["evidence", "--by-group", "--format", "csv"]);
    let (_, by_group_b, _) = run(&b, &["evidence", "--by-group", "--format", "csv"]);
    assert_eq!(by_group_a, by_group_b);
    assert_eq!(
        run(&a, &["evidence", "--format", "csv"]).1,
        run(&b, &["evidence", "--format", "csv"]).1
    );
    insta::assert_snapshot!("by_group_csv", by_group_a);
    // eni-0web1 no longer exists, yet its two days of HTTPS count for sg-0web.
    assert!(
        by_group_a
            .contains("\nsg-0web,6,443,ACCEPT,40,400,160000,7,false,1790812800,1790956260,1,2,0\n"),
        "{by_group_a}"
    );
    assert!(note_a.contains("note: 1 records on 1 interface have no known security groups at the time of their records (eni-0unknown)"), "{note_a}");
}

#[test]
fn config_addresses_decide_direction_where_learning_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    ingest_flows(&db);
    // eni-0db1 talks to one peer only: both addresses are in every record, so the records alone
    // cannot tell which one is the interface's.
    let roles = |db: &Path| -> Vec<String> {
        run(db, &["evidence", "--format", "csv"])
            .1
            .lines()
            .filter(|l| l.starts_with("eni-0db1,"))
            .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(
        roles(&db),
        [
            "eni-0db1,2026-10-01,unknown,6,5432",
            "eni-0db1,2026-10-01,unknown,6,5432",
            "eni-0db1,2026-10-02,unknown,6,5432",
            "eni-0db1,2026-10-02,unknown,6,5432"
        ]
    );
    ingest_config(&db);
    assert_eq!(
        roles(&db),
        [
            "eni-0db1,2026-10-01,inbound,6,5432",
            "eni-0db1,2026-10-01,outbound,6,5432",
            "eni-0db1,2026-10-02,inbound,6,5432",
            "eni-0db1,2026-10-02,outbound,6,5432"
        ]
    );
}

#[test]
fn membership_over_time_closes_at_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    ingest_config(&db);
    let (code, out, _) = run(&db, &["evidence", "--membership", "--format", "csv"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "address,interface,groups,valid_from,valid_to\n\
         10.0.1.50,eni-0web1,sg-0web,2026-10-01T00:00:00.000Z,2026-10-02T12:00:00.000Z\n\
         10.0.1.50,eni-0web1,sg-0ssh sg-0web,2026-10-02T12:00:00.000Z,2026-10-03T00:00:00.000Z\n\
         10.0.2.20,eni-0db1,sg-0db,2026-09-20T08:00:00.000Z,-\n\
         10.0.2.21,eni-0db1,sg-0db,2026-09-20T08:00:00.000Z,-\n"
    );
    let store = tighten::store::Store::open_existing(&db).unwrap();
    let inventory = store.inventory().unwrap();
    let at = |iso: &str| tighten::ingest::awsconfig::parse_iso8601_ms(iso).unwrap() / 1000;
    let ip = "10.0.1.50".parse().unwrap();
    assert_eq!(
        inventory.groups_of_address(ip, at("2026-10-01T06:00:00Z")),
        ["sg-0web"]
    );
    assert_eq!(
        inventory.groups_of_address(ip, at("2026-10-02T18:00:00Z")),
        ["sg-0ssh", "sg-0web"]
    );
    assert!(
        inventory
            .groups_of_address(ip, at("2026-10-03T06:00:00Z"))
            .is_empty()
    );
}

#[test]
fn deployed_rules_count_each_source_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    ingest_config(&db);
    let store = tighten::store::Store::open_existing(&db).unwrap();
    let groups = store.group_states().unwrap();
    let web = groups["sg-0web"][0].1.as_ref().unwrap();
    let sources: Vec<String> = web
        .ingress
        .iter()
        .map(|r| {
            format!(
                "{}:{:?}-{:?} {:?}",
                r.protocol, r.from_port, r.to_port, r.source
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            "6:Some(443)-Some(443) Cidr(\"0.0.0.0/0\")",
            "6:Some(443)-Some(443) Cidr(\"::/0\")",
            "6:Some(8080)-Some(8080) Cidr(\"10.0.0.0/8\")"
        ]
    );
    assert_eq!(web.egress.len(), 1);
    let db_group = groups["sg-0db"][0].1.as_ref().unwrap();
    assert_eq!(
        db_group.ingress[0].source,
        tighten::ingest::inventory::RuleSource::Group("sg-0web".into())
    );
}

#[test]
fn ingesting_config_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    ingest_config(&db);
    let first = run(&db, &["evidence", "--membership", "--format", "csv"]).1;
    let again = ingest_config(&db);
    assert!(again.contains("ingested 0 AWS Config files (0 configuration items of interfaces, instances and security groups, 0 new); 3 already ingested"), "{again}");
    assert_eq!(
        run(&db, &["evidence", "--membership", "--format", "csv"]).1,
        first
    );
}

#[test]
fn bad_config_files_fail_alone_with_a_located_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("a-truncated.json"),
        "{\"configurationItems\": [\n {\"resourceType\": \"AWS::EC2::NetworkInterface\",\n",
    )
    .unwrap();
    std::fs::write(bad.join("b-other-shape.json"), "{\"Reservations\": []}").unwrap();
    std::fs::write(bad.join("c-empty.json"), "{}").unwrap();
    std::fs::write(bad.join("d-item.json"), "{\"configurationItems\": [{\"resourceType\": \"AWS::EC2::NetworkInterface\", \"resourceId\": \"eni-1\", \"configurationItemCaptureTime\": \"last tuesday\"}]}").unwrap();
    std::fs::write(bad.join("e-flowlog.gz"), b"\x1f\x8b not really gzip").unwrap();
    let (code, _, err) = run(&db, &["ingest", "aws-config", bad.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    let p = |n: &str| bad.join(n).display().to_string();
    assert!(
        err.contains(&format!(
            "{}:3: not an AWS Config file: not valid JSON: EOF while parsing",
            p("a-truncated.json")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:1: not an AWS Config file: neither an AWS Config snapshot, history file or \
             get-resource-config-history output (`configurationItems`) nor a configuration item \
             change notification",
            p("b-other-shape.json")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:1: not an AWS Config file: neither an AWS Config snapshot",
            p("c-empty.json")
        )),
        "{err}"
    );
    assert!(err.contains(&format!("{}:1: not an AWS Config file: configuration item 1: `configurationItemCaptureTime` `last tuesday` is not an ISO 8601 time", p("d-item.json"))), "{err}");
    assert!(
        err.contains(&format!(
            "{}:1: not an AWS Config file: the gzip data cannot be read",
            p("e-flowlog.gz")
        )),
        "{err}"
    );
    assert!(
        err.contains("ingested 0 AWS Config files") && err.contains("; 5 failed"),
        "{err}"
    );
    // Nothing was recorded: fixing a file and rerunning picks it up.
    std::fs::write(bad.join("c-empty.json"), "{\"configurationItems\": []}").unwrap();
    let (code, _, err) = run(
        &db,
        &[
            "ingest",
            "aws-config",
            bad.join("c-empty.json").to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("ingested 1 AWS Config file (0 configuration items"),
        "{err}"
    );
}

#[test]
fn a_version_1_store_migrates_forward_keeping_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    ingest_flows(&db);
    let before = run(&db, &["evidence", "--format", "csv"]).1;
    {
        // Make it a version-1 store: the tables and columns of versions 2 to 7 did not exist then.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(common::GROUPS_BACK_TO_VERSION_6)
            .unwrap();
        conn.execute_batch(
            "DROP TABLE observation; DROP TABLE run_finding; DROP TABLE run;
             DROP TABLE superseded; ALTER TABLE ledger DROP COLUMN complete;
             ALTER TABLE ledger DROP COLUMN counted_bytes;
             ALTER TABLE ledger DROP COLUMN counted_hash;
             DROP TABLE cloudwatch_stream; DROP TABLE cloudwatch_event; DROP TABLE flow_log_format;
             DROP TABLE client_run;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    assert_eq!(run(&db, &["evidence", "--format", "csv"]).1, before);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 7);
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'observation'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);
}

/// Every configuration item of the fixture files, as stored there.
fn fixture_items() -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    let mut paths = vec![fixtures().join("get-resource-config-history-i-0web1.json")];
    let mut stack = vec![fixtures().join("AWSLogs")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".json.gz") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    for p in paths {
        let bytes = std::fs::read(&p).unwrap();
        let text = if p.extension().is_some_and(|e| e == "gz") {
            let mut out = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
                .unwrap();
            out
        } else {
            String::from_utf8(bytes).unwrap()
        };
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        items.extend(
            doc["configurationItems"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
    }
    items
}

#[test]
fn change_notifications_give_the_same_membership_as_snapshots_and_history() {
    use serde_json::json;
    let items = fixture_items();
    // Seven of interfaces, instances and groups, one of another resource type.
    assert_eq!(items.len(), 8);
    let dir = tempfile::tempdir().unwrap();
    let messages = dir.path().join("messages");
    std::fs::create_dir(&messages).unwrap();
    let notification = |item: &serde_json::Value| {
        json!({
            "configurationItemDiff": null,
            "configurationItem": item,
            "notificationCreationTime": "2026-10-05T00:00:00.000Z",
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3"
        })
    };
    // Three deliveries: SNS envelopes one per line, EventBridge events as an array, an SQS
    // receive-message dump; plus messages of other kinds and an oversized item's pointer.
    let mut lines = String::new();
    for item in &items[..3] {
        let sns = json!({"Type": "Notification", "MessageId": "m", "Message": notification(item).to_string()});
        lines.push_str(&sns.to_string());
        lines.push('\n');
    }
    lines.push_str(&json!({"messageType": "ConfigurationHistoryDeliveryCompleted"}).to_string());
    lines.push('\n');
    std::fs::write(messages.join("sns.jsonl"), lines).unwrap();
    let events: Vec<_> = items[3..5]
        .iter()
        .map(|i| json!({"source": "aws.config", "detail-type": "Config Configuration Item Change", "detail": notification(i)}))
        .collect();
    std::fs::write(
        messages.join("eventbridge.json"),
        serde_json::to_string_pretty(&events).unwrap(),
    )
    .unwrap();
    let sqs = json!({"Messages": items[5..].iter().map(|i| json!({
        "MessageId": "q",
        "Body": json!({"Type": "Notification", "Message": notification(i).to_string()}).to_string()
    })).chain([json!({"Body": json!({
        "configurationItemSummary": {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": "sg-0big"},
        "s3DeliverySummary": {"s3BucketLocation": "config-bucket/AWSLogs/123456789012/Config/us-east-1/2026/10/5/OversizedChangeNotification/sg-0big.json.gz", "errorCode": null},
        "messageType": "OversizedConfigurationItemChangeNotification"
    }).to_string()})]).collect::<Vec<_>>()});
    std::fs::write(messages.join("sqs.json"), sqs.to_string()).unwrap();

    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    ingest_flows(&a);
    ingest_config(&a);
    ingest_flows(&b);
    let (code, _, err) = run(&b, &["ingest", "aws-config", messages.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(
            "ingested 3 AWS Config files (7 configuration items of interfaces, instances and security groups, 7 new)"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "sqs.json: the configuration item of AWS::EC2::SecurityGroup sg-0big was too large for its change notification; AWS Config delivered it to s3://config-bucket/AWSLogs/123456789012/Config/us-east-1/2026/10/5/OversizedChangeNotification/sg-0big.json.gz: ingest that object too"
        ),
        "{err}"
    );
    for what in ["--membership", "--by-group"] {
        assert_eq!(
            run(&a, &["evidence", what, "--format", "csv"]).1,
            run(&b, &["evidence", what, "--format", "csv"]).1,
            "{what}"
        );
    }
    // The same items again, from history files: nothing new.
    let again = ingest_config(&b);
    assert!(
        again.contains("7 configuration items of interfaces, instances and security groups, 0 new"),
        "{again}"
    );
}

#[test]
fn a_broken_notification_line_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("n.jsonl");
    std::fs::write(
        &file,
        "{\"messageType\": \"ConfigurationHistoryDeliveryCompleted\"}\n{\"Type\": \"Notification\", \"Message\": \"{\"}\n",
    )
    .unwrap();
    let (code, _, err) = run(
        &dir.path().join("e.db"),
        &["ingest", "aws-config", file.to_str().unwrap()],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("n.jsonl:2"), "{err}");
    assert!(err.contains("`Message` is a string but not JSON"), "{err}");
}
