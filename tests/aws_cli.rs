//! The live-AWS sources through the CLI, against a real moto server: flow logs and AWS Config
//! from S3 give the same evidence as the same files read locally, and an EC2 snapshot tells which
//! groups each interface has.

mod common;
mod common_moto;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use common::{succeed, tighten};
use common_moto::{REGION, Setup, ec2_action, runtime, scenario, setup_config, xml_value};

const BUCKET: &str = "org-logs";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/aws-config")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn put_objects(endpoint: &str, objects: &[(&str, Vec<u8>)]) {
    let rt = runtime();
    let config = setup_config(&rt, endpoint);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    rt.block_on(async {
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        for (key, body) in objects {
            s3.put_object()
                .bucket(BUCKET)
                .key(*key)
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .unwrap();
        }
    });
}

/// The one file of a fixture folder whose name contains `part`.
fn fixture_file(part: &str) -> PathBuf {
    fn find(dir: &Path, part: &str) -> Option<PathBuf> {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if let Some(found) = find(&path, part) {
                    return Some(found);
                }
            } else if path.to_string_lossy().contains(part) {
                return Some(path);
            }
        }
        None
    }
    find(&fixtures(), part).unwrap()
}

fn with_endpoint<'a>(
    cmd: &'a mut assert_cmd::Command,
    endpoint: &str,
    db: &Path,
) -> &'a mut assert_cmd::Command {
    cmd.args(["--endpoint-url", endpoint, "--region", "us-east-1", "--db"])
        .arg(db)
}

fn stderr_of(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn flow_logs_and_config_from_s3_equal_the_same_files_read_locally() {
    scenario(
        "flow_logs_and_config_from_s3_equal_the_same_files_read_locally",
        Setup::Moto,
        |s| {
            let endpoint = s.endpoint.clone().unwrap();
            let flows = std::fs::read(fixtures().join("flows-v2.log")).unwrap();
            let history = fixture_file("ConfigHistory");
            let snapshot = fixture_file("ConfigSnapshot");
            put_objects(
                &endpoint,
                &[
                    (
                        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/10/01/123456789012_vpcflowlogs_us-east-1_fl-01_20261001T0000Z_a1.log.gz",
                        gzip(&flows),
                    ),
                    (
                        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/09/01/123456789012_vpcflowlogs_us-east-1_fl-01_20260901T0000Z_b2.log.gz",
                        gzip(b"not read: pruned by date"),
                    ),
                    (
                        "AWSLogs/123456789012/Config/us-east-1/2026/10/3/ConfigHistory/history.json.gz",
                        std::fs::read(&history).unwrap(),
                    ),
                    (
                        "AWSLogs/123456789012/Config/us-east-1/2026/10/4/ConfigSnapshot/snapshot.json.gz",
                        std::fs::read(&snapshot).unwrap(),
                    ),
                    (
                        "AWSLogs/123456789012/Config/us-east-1/2026/10/4/ConfigWritabilityCheckFile",
                        Vec::new(),
                    ),
                ],
            );
            let dir = tempfile::tempdir().unwrap();
            let (remote, local) = (dir.path().join("s3.db"), dir.path().join("local.db"));
            let url = format!("s3://{BUCKET}/AWSLogs/");

            let line = stderr_of(with_endpoint(
                tighten().args(["ingest", "flow-logs", &url, "--since", "2026-10-01"]),
                &endpoint,
                &remote,
            ));
            assert!(
                line.starts_with("ingested 1 file (163 records, 0 malformed lines skipped"),
                "{line}"
            );
            assert!(
                line.contains("; 1 S3 objects outside --since/--until"),
                "{line}"
            );
            let line = stderr_of(with_endpoint(
                tighten().args(["ingest", "aws-config", &url]),
                &endpoint,
                &remote,
            ));
            assert!(
                line.starts_with("ingested 2 AWS Config files (6 configuration items"),
                "{line}"
            );
            // Again: nothing new, said so.
            let again = stderr_of(with_endpoint(
                tighten().args(["ingest", "flow-logs", &url, "--since", "2026-10-01"]),
                &endpoint,
                &remote,
            ));
            assert!(
                again.contains("ingested 0 files")
                    && again.contains("1 already ingested, unchanged"),
                "{again}"
            );

            succeed(
                tighten()
                    .args(["ingest", "flow-logs", "-q", "--db"])
                    .arg(&local)
                    .arg(fixtures().join("flows-v2.log")),
            );
            succeed(
                tighten()
                    .args(["ingest", "aws-config", "-q", "--db"])
                    .arg(&local)
                    .arg(&history)
                    .arg(&snapshot),
            );
            for view in [
                &["evidence", "--format", "csv"][..],
                &["evidence", "--by-group", "--format", "csv"],
                &["evidence", "--membership", "--format", "csv"],
            ] {
                let ours = succeed(tighten().args(view).arg("--db").arg(&remote));
                let theirs = succeed(tighten().args(view).arg("--db").arg(&local));
                assert_eq!(ours, theirs, "{view:?}");
                assert!(ours.lines().count() > 3, "{view:?}: {ours}");
            }
            let ledger = rusqlite::Connection::open(&remote).unwrap();
            let sources: Vec<String> = ledger
            .prepare("SELECT source || ' ' || substr(content_hash, 1, 5) FROM ledger ORDER BY source")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
            assert_eq!(
                sources,
                [
                    "s3://org-logs/AWSLogs/123456789012/Config/us-east-1/2026/10/3/ConfigHistory/history.json.gz etag:",
                    "s3://org-logs/AWSLogs/123456789012/Config/us-east-1/2026/10/4/ConfigSnapshot/snapshot.json.gz etag:",
                    "s3://org-logs/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/10/01/123456789012_vpcflowlogs_us-east-1_fl-01_20261001T0000Z_a1.log.gz etag:",
                ]
            );
        },
    );
}

#[test]
fn an_ec2_snapshot_gives_interfaces_their_groups() {
    scenario(
        "an_ec2_snapshot_gives_interfaces_their_groups",
        Setup::Moto,
        |s| {
            let endpoint = s.endpoint.clone().unwrap();
            let ec2 = |action: &str, params: &[(&str, &str)]| {
                ec2_action(&endpoint, REGION, action, params)
            };
            let vpc = xml_value(&ec2("CreateVpc", &[("CidrBlock", "10.0.0.0/16")]), "vpcId");
            let subnet = xml_value(
                &ec2(
                    "CreateSubnet",
                    &[("VpcId", &vpc), ("CidrBlock", "10.0.1.0/24")],
                ),
                "subnetId",
            );
            let group = xml_value(
                &ec2(
                    "CreateSecurityGroup",
                    &[
                        ("GroupName", "web"),
                        ("GroupDescription", "web"),
                        ("VpcId", &vpc),
                    ],
                ),
                "groupId",
            );
            let eni = xml_value(
                &ec2(
                    "CreateNetworkInterface",
                    &[
                        ("SubnetId", &subnet),
                        ("PrivateIpAddress", "10.0.1.10"),
                        ("SecurityGroupId.1", &group),
                    ],
                ),
                "networkInterfaceId",
            );
            let list = xml_value(
                &ec2(
                    "CreateManagedPrefixList",
                    &[
                        ("PrefixListName", "offices"),
                        ("AddressFamily", "IPv4"),
                        ("MaxEntries", "5"),
                        ("Entry.1.Cidr", "198.51.100.0/24"),
                    ],
                ),
                "prefixListId",
            );
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("e.db");
            let line = stderr_of(with_endpoint(
                tighten().args(["ingest", "ec2"]),
                &endpoint,
                &db,
            ));
            assert!(
                line.starts_with("ec2 us-east-1: 1 network interfaces, "),
                "{line}"
            );
            let store = tighten::store::Store::open_existing(&db).unwrap();
            let lists = store.prefix_list_states().unwrap();
            let offices = lists[&list].last().unwrap().1.as_ref().unwrap();
            assert_eq!(offices.entries, ["198.51.100.0/24"]);
            assert_eq!(offices.name.as_deref(), Some("offices"));
            let membership = succeed(
                tighten()
                    .args(["evidence", "--membership", "--format", "csv", "--db"])
                    .arg(&db),
            );
            let rows: Vec<&str> = membership.lines().skip(1).collect();
            assert_eq!(rows.len(), 1, "{membership}");
            let prefix = format!("10.0.1.10,{eni},{group},");
            assert!(
                rows[0].starts_with(&prefix) && rows[0].ends_with(",-"),
                "{membership}"
            );
        },
    );
}

/// An oversized item's change notification delivered to S3 points at the object that holds the
/// item: `ingest aws-config s3://…` follows it, whatever the object's key date.
#[test]
fn oversized_notifications_on_s3_are_followed() {
    scenario(
        "oversized_notifications_on_s3_are_followed",
        Setup::Moto,
        |s| {
            let endpoint = s.endpoint.clone().unwrap();
            let item = serde_json::json!({
                "resourceType": "AWS::EC2::NetworkInterface",
                "resourceId": "eni-0big",
                "configurationItemCaptureTime": "2026-10-05T00:00:00.000Z",
                "configurationStateId": "1",
                "configurationItemStatus": "OK",
                "configuration": {
                    "networkInterfaceId": "eni-0big",
                    "privateIpAddress": "10.0.9.9",
                    "groups": [{"groupId": "sg-0big", "groupName": "big"}]
                }
            });
            let held = "AWSLogs/123456789012/Config/us-east-1/2026/10/5/OversizedChangeNotification/AWS::EC2::NetworkInterface/eni-0big/item.json.gz";
            let pointer = serde_json::json!({
                "configurationItemSummary": {"resourceType": "AWS::EC2::NetworkInterface", "resourceId": "eni-0big"},
                "s3DeliverySummary": {"s3BucketLocation": format!("{BUCKET}/{held}"), "errorCode": null},
                "messageType": "OversizedConfigurationItemChangeNotification"
            });
            let full = serde_json::json!({
                "configurationItem": item,
                "messageType": "ConfigurationItemChangeNotification"
            });
            put_objects(
                &endpoint,
                &[
                    (
                        "notifications/2026-10-05/messages.json",
                        serde_json::to_vec(&serde_json::json!({"Type": "Notification", "Message": pointer.to_string()})).unwrap(),
                    ),
                    (held, gzip(full.to_string().as_bytes())),
                ],
            );
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("e.db");
            let line = stderr_of(with_endpoint(
                tighten().args([
                    "ingest",
                    "aws-config",
                    &format!("s3://{BUCKET}/notifications/"),
                ]),
                &endpoint,
                &db,
            ));
            assert!(
                line.starts_with("ingested 2 AWS Config files (1 configuration items"),
                "{line}"
            );
            let membership = succeed(
                tighten()
                    .args(["evidence", "--membership", "--format", "csv", "--db"])
                    .arg(&db),
            );
            assert!(membership.contains("eni-0big"), "{membership}");
            assert!(membership.contains("sg-0big"), "{membership}");
        },
    );
}
