//! The live-AWS sources against a real moto server: S3 listing (every documented key layout,
//! pagination, date pruning), fetching into memory, the EC2 snapshot, and the read-only proof
//! from moto's own request recording and tighten's operation log.

mod common_moto;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Write};
use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use common_moto::{REGION, Setup, ec2_action, http, runtime, scenario, setup_config, xml_value};
use tighten::aws::{
    Aws, AwsError, AwsOptions, Filter, FlowLogInfo, KeyKind, READ_ONLY_OPERATIONS, days_from_civil,
};
use tighten::ingest::flowlog::{ReadOptions, read_lines};
use tighten::ingest::inventory::{DeployedRule, RuleSource};

const BUCKET: &str = "flow-logs";
const ACCOUNT: &str = "123456789012";
const FLOW_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

fn options(endpoint: &str, regions: &[&str]) -> AwsOptions {
    AwsOptions {
        regions: regions.iter().map(|r| (*r).to_owned()).collect(),
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
    }
}

fn day(y: i64, m: u32, d: u32) -> i64 {
    days_from_civil(y, m, d).unwrap()
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

fn flow_log(interface: &str, dport: u16) -> Vec<u8> {
    gzip(&format!(
        "{FLOW_HEADER}\n5 {ACCOUNT} {interface} 10.0.0.5 10.0.1.10 50000 {dport} 6 3 180 1709769600 1709769660 ACCEPT OK\n"
    ))
}

/// The keys the S3 scenario puts, with whether `list(since=03-07, until=03-09)` keeps them.
fn layout_keys() -> Vec<(String, Vec<u8>, bool)> {
    let a = ACCOUNT;
    vec![
        (format!("AWSLogs/{a}/vpcflowlogs/us-east-1/2024/03/06/old.log.gz"), flow_log("eni-1", 22), false),
        (format!("AWSLogs/{a}/vpcflowlogs/us-east-1/2024/03/07/first.log.gz"), flow_log("eni-1", 443), true),
        (format!("AWSLogs/{a}/vpcflowlogs/eu-west-1/2024/03/08/13/hourly.log.gz"), flow_log("eni-2", 80), true),
        (
            "org/o-abc/AWSLogs/aws-account-id=210987654321/aws-service=vpcflowlogs/aws-region=us-west-2/year=2024/month=03/day=09/hour=00/hive.log.gz".to_owned(),
            flow_log("eni-3", 8080),
            true,
        ),
        (
            "AWSLogs/aws-account-id=210987654321/aws-service=vpcflowlogs/aws-region=us-west-2/year=2024/month=03/day=10/late.log.gz".to_owned(),
            flow_log("eni-3", 9090),
            false,
        ),
        (format!("AWSLogs/{a}/vpcflowlogs/us-east-1/2024/03/10/late.log.gz"), flow_log("eni-1", 25), false),
        (
            format!("AWSLogs/{a}/Config/us-east-1/2024/3/7/ConfigSnapshot/{a}_Config_us-east-1_ConfigSnapshot_20240307T000000Z_x.json.gz"),
            gzip("{\"configurationItems\":[]}"),
            true,
        ),
        (
            format!("AWSLogs/{a}/Config/us-east-1/2024/3/9/ConfigHistory/{a}_Config_us-east-1_ConfigHistory_AWS::EC2::NetworkInterface_1.json.gz"),
            gzip("{\"configurationItems\":[]}"),
            true,
        ),
        (format!("AWSLogs/{a}/Config/ConfigWritabilityCheckFile"), b"check".to_vec(), false),
        (format!("AWSLogs/{a}/vpcflowlogs/us-east-1/2024/03/07/"), Vec::new(), false),
        ("copies/plain.log".to_owned(), format!("{FLOW_HEADER}\n").into_bytes(), true),
    ]
}

/// What a key says, flattened for comparison: kind, account/region, day, hour.
type Described = (Option<KeyKind>, Option<String>, Option<i64>, Option<u8>);

/// A rule without its id: protocol, ports, source, description.
type RuleShape = (i32, Option<i32>, Option<i32>, RuleSource, Option<String>);

fn put_objects(endpoint: &str, objects: &[(String, Vec<u8>)]) -> BTreeMap<String, String> {
    let rt = runtime();
    let config = setup_config(&rt, endpoint);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    rt.block_on(async {
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        let mut etags = BTreeMap::new();
        for (key, body) in objects {
            let put = s3
                .put_object()
                .bucket(BUCKET)
                .key(key)
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .unwrap();
            etags.insert(
                key.clone(),
                put.e_tag().unwrap().trim_matches('"').to_owned(),
            );
        }
        etags
    })
}

#[test]
fn s3_lists_every_layout_and_prunes_by_key_date() {
    scenario(
        "s3_lists_every_layout_and_prunes_by_key_date",
        Setup::Moto,
        |s| {
            let endpoint = s.endpoint.as_deref().unwrap();
            let keys = layout_keys();
            let etags = put_objects(
                endpoint,
                &keys
                    .iter()
                    .map(|(k, b, _)| (k.clone(), b.clone()))
                    .collect::<Vec<_>>(),
            );
            let aws = Aws::connect(&options(endpoint, &[REGION])).unwrap();

            let listing = aws
                .s3_list(
                    &format!("s3://{BUCKET}"),
                    Some(day(2024, 3, 7)),
                    Some(day(2024, 3, 9)),
                )
                .unwrap();
            let expected: Vec<&str> = {
                let mut kept: Vec<&str> =
                    keys.iter().filter(|k| k.2).map(|k| k.0.as_str()).collect();
                kept.sort_unstable();
                kept
            };
            let listed: Vec<&str> = listing.objects.iter().map(|o| o.key.as_str()).collect();
            assert_eq!(listed, expected);
            assert_eq!(
                (listing.pruned, listing.skipped, listing.undated),
                (3, 2, 1)
            );

            // Every kept object carries its size, ETag, date and what its key says.
            for object in &listing.objects {
                let body = &keys.iter().find(|k| k.0 == object.key).unwrap().1;
                assert_eq!(object.bucket, BUCKET);
                assert_eq!(object.size, body.len() as u64);
                assert_eq!(object.etag, etags[&object.key]);
                assert_eq!(
                    object.content_hash(),
                    format!("etag:{}", etags[&object.key])
                );
                assert_eq!(object.source(), format!("s3://{BUCKET}/{}", object.key));
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                assert!((now - 600..=now + 60).contains(&object.last_modified));
            }
            let kinds: Vec<Described> = listing
                .objects
                .iter()
                .map(|o| {
                    let info = o.info.as_ref();
                    (
                        info.map(|i| i.kind),
                        info.map(|i| format!("{}/{}", i.account, i.region)),
                        info.map(|i| i.day),
                        info.and_then(|i| i.hour),
                    )
                })
                .collect();
            let flow = Some(KeyKind::FlowLog);
            let ours = |r: &str| Some(format!("{ACCOUNT}/{r}"));
            assert_eq!(
                kinds,
                vec![
                    (
                        Some(KeyKind::ConfigSnapshot),
                        ours("us-east-1"),
                        Some(day(2024, 3, 7)),
                        None
                    ),
                    (
                        Some(KeyKind::ConfigHistory),
                        ours("us-east-1"),
                        Some(day(2024, 3, 9)),
                        None
                    ),
                    (flow, ours("eu-west-1"), Some(day(2024, 3, 8)), Some(13)),
                    (flow, ours("us-east-1"), Some(day(2024, 3, 7)), None),
                    (None, None, None, None),
                    (
                        flow,
                        Some("210987654321/us-west-2".to_owned()),
                        Some(day(2024, 3, 9)),
                        Some(0)
                    ),
                ]
            );

            // A prefix narrows the listing; no dates means no pruning.
            let hive = aws
                .s3_list(
                    &format!("s3://{BUCKET}/AWSLogs/aws-account-id="),
                    None,
                    None,
                )
                .unwrap();
            assert_eq!(hive.objects.len(), 1);
            assert!(hive.objects[0].key.ends_with("late.log.gz"));
            assert_eq!((hive.pruned, hive.skipped, hive.undated), (0, 0, 0));

            // Fetch: every byte as put, consumed on this thread, bounded concurrency.
            let caller = std::thread::current().id();
            let mut got = BTreeMap::new();
            let stats = aws
                .s3_fetch(
                    listing.objects.clone(),
                    3,
                    |object, bytes| -> Result<(), AwsError> {
                        assert_eq!(std::thread::current().id(), caller);
                        got.insert(object.key.clone(), (object, bytes?));
                        Ok(())
                    },
                )
                .unwrap();
            assert_eq!(stats.objects, 6);
            let total: usize = keys.iter().filter(|k| k.2).map(|k| k.1.len()).sum();
            assert_eq!(stats.bytes, total as u64);
            for (key, (object, bytes)) in &got {
                let body = &keys.iter().find(|k| &k.0 == key).unwrap().1;
                assert_eq!(bytes, body, "{key}");
                assert_eq!(object.etag, etags[key]);
            }
            // A fetched flow log goes straight into the flow-log reader.
            let key = format!("AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/2024/03/07/first.log.gz");
            let (object, bytes) = &got[&key];
            let read = read_lines(
                Path::new(&object.source()),
                BufReader::new(flate2::read::GzDecoder::new(bytes.as_slice())),
                ReadOptions {
                    source_cap: 16,
                    strict: true,
                    part_rows: 0,
                },
            )
            .unwrap();
            assert!(read.problems.is_empty());
            assert_eq!(read.fields, FLOW_HEADER);

            // An error from the consumer stops the fetch and comes back as is.
            let mut calls = 0;
            let stopped = aws.s3_fetch(listing.objects.clone(), 2, |_, _| {
                calls += 1;
                Err("stop")
            });
            assert_eq!(stopped, Err("stop"));
            assert_eq!(calls, 1);
        },
    );
}

#[test]
fn s3_listing_follows_every_page() {
    scenario("s3_listing_follows_every_page", Setup::Moto, |s| {
        let endpoint = s.endpoint.as_deref().unwrap();
        let objects: Vec<(String, Vec<u8>)> = (0..1003)
            .map(|i| {
                (
                    format!("AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/2024/03/07/f{i:04}.log.gz"),
                    vec![b'x'; i % 7],
                )
            })
            .collect();
        put_objects(endpoint, &objects);
        let aws = Aws::connect(&options(endpoint, &[REGION])).unwrap();
        let listing = aws
            .s3_list(&format!("s3://{BUCKET}/AWSLogs/"), None, None)
            .unwrap();
        let listed: Vec<String> = listing.objects.iter().map(|o| o.key.clone()).collect();
        let mut expected: Vec<String> = objects.into_iter().map(|(k, _)| k).collect();
        expected.sort();
        assert_eq!(listed, expected);
        assert_eq!(
            aws.operations_sent(),
            vec!["S3.ListObjectsV2", "S3.ListObjectsV2"]
        );
    });
}

#[test]
fn s3_missing_bucket_is_a_clear_error() {
    scenario("s3_missing_bucket_is_a_clear_error", Setup::Moto, |s| {
        let endpoint = s.endpoint.as_deref().unwrap();
        let aws = Aws::connect(&options(endpoint, &[REGION])).unwrap();
        let err = aws
            .s3_list("s3://no-such-bucket/AWSLogs/", None, None)
            .unwrap_err();
        assert!(
            matches!(&err, AwsError::NoSuchBucket { bucket, .. } if bucket == "no-such-bucket"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "S3.ListObjectsV2: the bucket `no-such-bucket` does not exist"
        );
    });
}

/// Builds a small estate in moto: a VPC with two groups (CIDR, group and prefix-list sources),
/// an interface in both groups with a secondary address, and a group in a second region.
struct Estate {
    vpc: String,
    subnet: String,
    web: String,
    db: String,
    prefix_list: String,
    interface: String,
    west_group: String,
}

fn build_estate(endpoint: &str) -> Estate {
    let ec2 = |action: &str, params: &[(&str, &str)]| ec2_action(endpoint, REGION, action, params);
    let vpc = xml_value(&ec2("CreateVpc", &[("CidrBlock", "10.0.0.0/16")]), "vpcId");
    let subnet = xml_value(
        &ec2(
            "CreateSubnet",
            &[("VpcId", &vpc), ("CidrBlock", "10.0.1.0/24")],
        ),
        "subnetId",
    );
    let group = |name: &str| {
        xml_value(
            &ec2(
                "CreateSecurityGroup",
                &[
                    ("GroupName", name),
                    ("GroupDescription", name),
                    ("VpcId", &vpc),
                ],
            ),
            "groupId",
        )
    };
    let web = group("web");
    let db = group("db");
    let prefix_list = xml_value(
        &ec2(
            "CreateManagedPrefixList",
            &[
                ("PrefixListName", "offices"),
                ("AddressFamily", "IPv4"),
                ("MaxEntries", "5"),
                ("Entry.1.Cidr", "192.168.0.0/24"),
                ("Entry.2.Cidr", "172.16.0.0/16"),
            ],
        ),
        "prefixListId",
    );
    ec2(
        "AuthorizeSecurityGroupIngress",
        &[
            ("GroupId", &web),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "443"),
            ("IpPermissions.1.ToPort", "443"),
            ("IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0"),
            ("IpPermissions.2.IpProtocol", "tcp"),
            ("IpPermissions.2.FromPort", "22"),
            ("IpPermissions.2.ToPort", "22"),
            ("IpPermissions.2.IpRanges.1.CidrIp", "10.0.0.0/8"),
            ("IpPermissions.2.IpRanges.1.Description", "ops"),
            ("IpPermissions.3.IpProtocol", "tcp"),
            ("IpPermissions.3.FromPort", "8080"),
            ("IpPermissions.3.ToPort", "8080"),
            ("IpPermissions.3.PrefixListIds.1.PrefixListId", &prefix_list),
        ],
    );
    ec2(
        "AuthorizeSecurityGroupIngress",
        &[
            ("GroupId", &db),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "5432"),
            ("IpPermissions.1.ToPort", "5432"),
            ("IpPermissions.1.Groups.1.GroupId", &web),
        ],
    );
    let interface = xml_value(
        &ec2(
            "CreateNetworkInterface",
            &[
                ("SubnetId", &subnet),
                ("SecurityGroupId.1", &web),
                ("SecurityGroupId.2", &db),
                ("PrivateIpAddress", "10.0.1.10"),
            ],
        ),
        "networkInterfaceId",
    );
    ec2(
        "AssignPrivateIpAddresses",
        &[
            ("NetworkInterfaceId", &interface),
            ("PrivateIpAddress.1", "10.0.1.11"),
        ],
    );
    let west =
        |action: &str, params: &[(&str, &str)]| ec2_action(endpoint, "eu-west-1", action, params);
    let west_vpc = xml_value(&west("CreateVpc", &[("CidrBlock", "10.9.0.0/16")]), "vpcId");
    let west_group = xml_value(
        &west(
            "CreateSecurityGroup",
            &[
                ("GroupName", "west"),
                ("GroupDescription", "west"),
                ("VpcId", &west_vpc),
            ],
        ),
        "groupId",
    );
    Estate {
        vpc,
        subnet,
        web,
        db,
        prefix_list,
        interface,
        west_group,
    }
}

#[test]
fn ec2_snapshot_describes_interfaces_groups_rules_and_prefix_lists() {
    scenario(
        "ec2_snapshot_describes_interfaces_groups_rules_and_prefix_lists",
        Setup::Moto,
        |s| {
            let endpoint = s.endpoint.as_deref().unwrap();
            let estate = build_estate(endpoint);
            let aws = Aws::connect(&options(endpoint, &[REGION, "eu-west-1", REGION])).unwrap();
            assert_eq!(aws.regions(), [REGION, "eu-west-1"]);
            let before = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let snapshots = aws.ec2_snapshot().unwrap();
            assert_eq!(snapshots.len(), 2);
            let (east, west) = (&snapshots[0], &snapshots[1]);
            assert_eq!(
                (east.region.as_str(), west.region.as_str()),
                (REGION, "eu-west-1")
            );
            assert!((before..=before + 60).contains(&east.taken_at));

            let eni = east
                .interfaces
                .iter()
                .find(|i| i.interface_id == estate.interface)
                .expect("the interface");
            let mut groups = vec![estate.web.clone(), estate.db.clone()];
            groups.sort();
            assert_eq!(eni.groups, groups);
            assert_eq!(
                eni.private_ipv4,
                vec![
                    "10.0.1.10".parse::<std::net::IpAddr>().unwrap(),
                    "10.0.1.11".parse().unwrap()
                ]
            );
            assert_eq!(eni.vpc_id.as_deref(), Some(estate.vpc.as_str()));
            assert_eq!(eni.subnet_id.as_deref(), Some(estate.subnet.as_str()));
            assert_eq!(eni.owner_id.as_deref(), Some(ACCOUNT));
            assert_eq!(eni.instance_id, None);
            assert!(eni.ipv6.is_empty());

            let web = east
                .groups
                .iter()
                .find(|g| g.group_id == estate.web)
                .expect("web");
            assert_eq!(web.group_name.as_deref(), Some("web"));
            assert_eq!(web.vpc_id.as_deref(), Some(estate.vpc.as_str()));
            let strip = |rules: &[DeployedRule]| -> BTreeSet<RuleShape> {
                rules
                    .iter()
                    .map(|r| {
                        assert!(
                            r.rule_id
                                .as_deref()
                                .is_some_and(|id| id.starts_with("sgr-")),
                            "{r:?}"
                        );
                        (
                            r.protocol,
                            r.from_port,
                            r.to_port,
                            r.source.clone(),
                            r.description.clone(),
                        )
                    })
                    .collect()
            };
            assert_eq!(
                strip(&web.ingress),
                BTreeSet::from([
                    (
                        6,
                        Some(443),
                        Some(443),
                        RuleSource::Cidr("0.0.0.0/0".to_owned()),
                        None
                    ),
                    (
                        6,
                        Some(22),
                        Some(22),
                        RuleSource::Cidr("10.0.0.0/8".to_owned()),
                        Some("ops".to_owned())
                    ),
                    (
                        6,
                        Some(8080),
                        Some(8080),
                        RuleSource::PrefixList(estate.prefix_list.clone()),
                        None
                    ),
                ])
            );
            // A new group's default egress rule: all protocols, no ports.
            assert_eq!(
                strip(&web.egress),
                BTreeSet::from([(
                    -1,
                    None,
                    None,
                    RuleSource::Cidr("0.0.0.0/0".to_owned()),
                    None
                )])
            );
            let db = east
                .groups
                .iter()
                .find(|g| g.group_id == estate.db)
                .expect("db");
            assert_eq!(
                strip(&db.ingress),
                BTreeSet::from([(
                    6,
                    Some(5432),
                    Some(5432),
                    RuleSource::Group(estate.web.clone()),
                    None
                )])
            );
            let ids: BTreeSet<&str> = east
                .groups
                .iter()
                .flat_map(|g| g.ingress.iter().chain(&g.egress))
                .filter_map(|r| r.rule_id.as_deref())
                .collect();
            assert_eq!(
                ids.len(),
                east.groups
                    .iter()
                    .map(|g| g.ingress.len() + g.egress.len())
                    .sum::<usize>(),
                "rule ids are unique"
            );

            let list = east
                .prefix_lists
                .iter()
                .find(|p| p.id == estate.prefix_list)
                .expect("the prefix list");
            assert_eq!(list.name.as_deref(), Some("offices"));
            assert_eq!(list.entries, vec!["172.16.0.0/16", "192.168.0.0/24"]);

            // Each region sees only its own.
            assert!(west.groups.iter().any(|g| g.group_id == estate.west_group));
            assert!(!east.groups.iter().any(|g| g.group_id == estate.west_group));
            assert!(!west.groups.iter().any(|g| g.group_id == estate.web));
            // Sorted output.
            assert!(
                east.groups
                    .windows(2)
                    .all(|w| w[0].group_id < w[1].group_id)
            );
            assert!(
                east.interfaces
                    .windows(2)
                    .all(|w| w[0].interface_id < w[1].interface_id)
            );
        },
    );
}

/// Classifies one request of moto's recording as `Service.Operation`.
fn recorded_operation(entry: &serde_json::Value) -> String {
    let method = entry["method"].as_str().unwrap();
    let url = entry["url"].as_str().unwrap();
    // CloudWatch Logs speaks JSON: the operation is in the target header.
    if let Some(target) = entry["headers"]["X-Amz-Target"].as_str() {
        return format!("Logs.{}", target.rsplit('.').next().unwrap());
    }
    let body = entry["body"].as_str().unwrap_or_default();
    let body = if entry["body_encoded"].as_bool().unwrap_or(false) {
        String::from_utf8(common_moto::base64_decode(body)).unwrap()
    } else {
        body.to_owned()
    };
    if let Some(action) = body
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
    {
        return format!("EC2.{action}");
    }
    match method {
        "GET" if url.contains("list-type=2") => "S3.ListObjectsV2".to_owned(),
        "GET" if !url.contains('?') || url.contains("x-id=GetObject") => "S3.GetObject".to_owned(),
        _ => format!("{method} {url}"),
    }
}

#[test]
fn only_read_only_operations_reach_aws() {
    scenario("only_read_only_operations_reach_aws", Setup::Moto, |s| {
        let endpoint = s.endpoint.as_deref().unwrap();
        let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
        put_objects(
            endpoint,
            &layout_keys()
                .into_iter()
                .map(|(k, b, _)| (k, b))
                .collect::<Vec<_>>(),
        );
        let estate = build_estate(endpoint);
        let flow_log = xml_value(
            &ec2_action(
                endpoint,
                REGION,
                "CreateFlowLogs",
                &[
                    ("ResourceId.1", &estate.vpc),
                    ("ResourceType", "VPC"),
                    ("TrafficType", "REJECT"),
                    ("LogDestinationType", "s3"),
                    ("LogDestination", &format!("arn:aws:s3:::{BUCKET}")),
                ],
            ),
            "item",
        );
        assert!(flow_log.starts_with("fl-"), "{flow_log}");
        let rt = runtime();
        let config = setup_config(&rt, endpoint);
        let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
        rt.block_on(async {
            logs.create_log_group()
                .log_group_name("fl")
                .send()
                .await
                .unwrap();
            logs.create_log_stream()
                .log_group_name("fl")
                .log_stream_name("eni-1-all")
                .send()
                .await
                .unwrap();
        });
        assert_eq!(
            http(port, "POST", "/moto-api/recorder/reset-recording")
                .unwrap()
                .0,
            200
        );
        assert_eq!(
            http(port, "POST", "/moto-api/recorder/start-recording")
                .unwrap()
                .0,
            200
        );

        // Every AWS-touching function of tighten.
        let aws = Aws::connect(&options(endpoint, &[REGION, "eu-west-1"])).unwrap();
        let listing = aws.s3_list(&format!("s3://{BUCKET}/"), None, None).unwrap();
        let fetched = aws
            .s3_fetch(listing.objects, 4, |_, bytes| bytes.map(drop))
            .unwrap();
        assert_eq!(fetched.objects, 9);
        let snapshots = aws.ec2_snapshot().unwrap();
        assert_eq!(snapshots.len(), 2);
        let flow_logs = aws
            .describe_flow_logs(REGION, &[Filter::new("resource-id", [&estate.vpc])])
            .unwrap();
        assert_eq!(
            flow_logs,
            vec![FlowLogInfo {
                flow_log_id: Some(flow_log.clone()),
                log_format: flow_logs[0].log_format.clone(),
                log_destination: Some(format!("arn:aws:s3:::{BUCKET}")),
                log_destination_type: Some("s3".to_owned()),
                log_group_name: None,
                resource_id: Some(estate.vpc.clone()),
                traffic_type: Some("REJECT".to_owned()),
            }]
        );
        assert!(
            aws.describe_flow_logs("eu-west-1", &[]).unwrap().is_empty(),
            "flow logs are per region"
        );
        let streams = aws.log_streams("fl", Some("eni-")).unwrap();
        assert_eq!(streams.len(), 1);
        let query = tighten::aws::EventQuery {
            group: "fl".to_owned(),
            ..Default::default()
        };
        assert!(aws.log_events_page(&query, None).unwrap().events.is_empty());
        let formats = aws
            .flow_log_formats(&tighten::aws::FlowLogFilter::LogGroup("fl".to_owned()))
            .unwrap();
        assert!(formats.is_empty());

        assert_eq!(
            http(port, "POST", "/moto-api/recorder/stop-recording")
                .unwrap()
                .0,
            200
        );
        let (status, recording) =
            http(port, "GET", "/moto-api/recorder/download-recording").unwrap();
        assert_eq!(status, 200);
        let from_moto: Vec<String> = recording
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| recorded_operation(&serde_json::from_str(l).unwrap()))
            .collect();
        let from_guard = aws.operations_sent();
        // The server saw exactly what tighten's guard let out, request for request.
        let count = |ops: &[String]| {
            let mut counts = BTreeMap::new();
            for op in ops {
                *counts.entry(op.clone()).or_insert(0) += 1;
            }
            counts
        };
        assert_eq!(count(&from_moto), count(&from_guard));
        // Only allowed operations, and every allowed operation was exercised.
        let seen: BTreeSet<&str> = from_moto.iter().map(String::as_str).collect();
        let allowed: BTreeSet<&str> = READ_ONLY_OPERATIONS.iter().copied().collect();
        assert_eq!(seen, allowed);
        for op in &from_moto {
            let name = op.split_once('.').unwrap().1;
            assert!(
                ["Describe", "Get", "List", "Head", "Filter"]
                    .iter()
                    .any(|v| name.starts_with(v)),
                "{op}"
            );
        }
        // Two regions' worth of EC2 calls, nine objects downloaded (every key but the two skipped).
        assert_eq!(count(&from_moto)["EC2.DescribeSecurityGroups"], 2);
        assert_eq!(count(&from_moto)["EC2.DescribeFlowLogs"], 3);
        assert_eq!(count(&from_moto)["S3.GetObject"], 9);
    });
}
