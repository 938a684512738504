//! CloudWatch Logs as a flow-log source against a real moto server: streams under a prefix,
//! `--since/--until` passed as the API's time range, pagination, the flow log's `LogFormat` looked
//! up once with `DescribeFlowLogs` and cached, incremental reruns, an interrupted run resumed
//! without double counting, and CloudWatch exports (timestamp-prefixed lines) from a file and
//! from S3. The evidence is compared with the same records read from a file with a header.

mod common_moto;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use common_moto::{REGION, Setup, http, runtime, scenario, setup_config};
use tighten::aws::AwsOptions;
use tighten::ingest::flowlog::ReadOptions;
use tighten::sources::{Observer, Report, RunOptions, Source};
use tighten::store::Store;

const GROUP: &str = "/vpc/flow-logs";
/// The flow log's custom format: no account id, so the default v2 layout cannot read it.
const FORMAT: &str = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";
const HEADER: &str = "version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
const DAY_MS: i64 = 86_400_000;

fn record(interface: &str, i: i64) -> String {
    let start = 1_709_769_600 + i * 60;
    format!(
        "2 {interface} 10.0.{}.{} 10.0.1.10 {} {} 6 3 180 {start} {} ACCEPT OK",
        i / 200,
        i % 200 + 1,
        40_000 + i,
        [443, 22, 8080][(i % 3) as usize],
        start + 60
    )
}

/// Counts commits, and stops the run after `fail_after` of them when set.
#[derive(Default)]
struct Counter {
    commits: AtomicUsize,
    fail_after: Option<usize>,
    notes: std::sync::Mutex<Vec<String>>,
}

impl Observer for Counter {
    fn note(&self, line: &str) {
        self.notes.lock().unwrap().push(line.to_owned());
    }
    fn committed(&self) -> Result<(), String> {
        let n = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
        match self.fail_after {
            Some(limit) if n >= limit => Err(format!("injected failure after {n} pages")),
            _ => Ok(()),
        }
    }
}

fn options(endpoint: &str, since: i64, until: i64) -> RunOptions {
    RunOptions {
        aws: AwsOptions {
            regions: vec![REGION.to_owned()],
            profile: None,
            endpoint_url: Some(endpoint.to_owned()),
        },
        since: Some(since),
        until: Some(until),
        page_limit: Some(4),
        read: ReadOptions {
            source_cap: 64,
            strict: false,
            part_rows: 0,
        },
        ..RunOptions::default()
    }
}

fn evidence_csv(db: &Path) -> String {
    let out = assert_cmd::Command::cargo_bin("tighten")
        .unwrap()
        .args(["evidence", "--format", "csv", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The same records, from a file with a header, in a store of their own.
fn reference(dir: &Path, name: &str, records: &[String]) -> String {
    let file = dir.join(format!("{name}.log"));
    std::fs::write(&file, format!("{HEADER}\n{}\n", records.join("\n"))).unwrap();
    let db = dir.join(format!("{name}.db"));
    let mut store = Store::open(&db, 64).unwrap();
    let opts = RunOptions {
        read: ReadOptions {
            source_cap: 64,
            ..ReadOptions::default()
        },
        ..RunOptions::default()
    };
    let report = tighten::sources::flow_logs(
        &mut store,
        &[Source::Local(file)],
        &opts,
        &Counter::default(),
    )
    .unwrap();
    assert_eq!(report.records, records.len() as u64);
    drop(store);
    evidence_csv(&db)
}

fn put_events(
    rt: &tokio::runtime::Runtime,
    logs: &aws_sdk_cloudwatchlogs::Client,
    stream: &str,
    events: &[(i64, String)],
) {
    let events: Vec<InputLogEvent> = events
        .iter()
        .map(|(ts, m)| {
            InputLogEvent::builder()
                .timestamp(*ts)
                .message(m)
                .build()
                .unwrap()
        })
        .collect();
    let put = rt
        .block_on(
            logs.put_log_events()
                .log_group_name(GROUP)
                .log_stream_name(stream)
                .set_log_events(Some(events))
                .send(),
        )
        .unwrap();
    assert!(put.rejected_log_events_info().is_none(), "{put:?}");
}

/// moto's recorded requests of one operation, as their JSON bodies.
fn recorded(port: u16, target: &str) -> Vec<serde_json::Value> {
    let (status, recording) = http(port, "GET", "/moto-api/recorder/download-recording").unwrap();
    assert_eq!(status, 200);
    recording
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| {
            e["headers"]["X-Amz-Target"]
                .as_str()
                .or(e["headers"]["x-amz-target"].as_str())
                .is_some_and(|t| t.ends_with(target))
        })
        .map(|e| {
            let body = e["body"].as_str().unwrap_or_default();
            let body = if e["body_encoded"].as_bool().unwrap_or(false) {
                String::from_utf8(common_moto::base64_decode(body)).unwrap()
            } else {
                body.to_owned()
            };
            serde_json::from_str(&body).unwrap()
        })
        .collect()
}

fn operations(port: u16) -> BTreeMap<String, usize> {
    let (_, recording) = http(port, "GET", "/moto-api/recorder/download-recording").unwrap();
    let mut counts = BTreeMap::new();
    for line in recording.lines().filter(|l| !l.trim().is_empty()) {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let op = if let Some(t) = e["headers"]["X-Amz-Target"].as_str() {
            format!("Logs.{}", t.rsplit('.').next().unwrap())
        } else {
            let body = e["body"].as_str().unwrap_or_default();
            let body = if e["body_encoded"].as_bool().unwrap_or(false) {
                String::from_utf8(common_moto::base64_decode(body)).unwrap()
            } else {
                body.to_owned()
            };
            body.split('&')
                .find_map(|p| p.strip_prefix("Action="))
                .map_or_else(
                    || format!("{} {}", e["method"], e["url"]),
                    |a| format!("EC2.{a}"),
                )
        };
        *counts.entry(op).or_insert(0) += 1;
    }
    counts
}

#[test]
fn cloudwatch_logs_are_read_incrementally_and_exactly_once() {
    scenario(
        "cloudwatch_logs_are_read_incrementally_and_exactly_once",
        Setup::Moto,
        |s| {
            let endpoint = s.endpoint.clone().unwrap();
            let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
            let rt = runtime();
            let config = setup_config(&rt, &endpoint);
            let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
            let now_day = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64
                / DAY_MS;
            // Read: days D and D+1. Outside: D-1 and D+2.
            let d = now_day - 4;
            rt.block_on(async {
                logs.create_log_group()
                    .log_group_name(GROUP)
                    .send()
                    .await
                    .unwrap();
                for stream in ["eni-aaa-all", "eni-bbb-all", "other-stream"] {
                    logs.create_log_stream()
                        .log_group_name(GROUP)
                        .log_stream_name(stream)
                        .send()
                        .await
                        .unwrap();
                }
            });
            // The flow log that delivers to the group, created through EC2's Query API.
            let vpc = common_moto::xml_value(
                &common_moto::ec2_action(
                    &endpoint,
                    REGION,
                    "CreateVpc",
                    &[("CidrBlock", "10.0.0.0/16")],
                ),
                "vpcId",
            );
            common_moto::ec2_action(
                &endpoint,
                REGION,
                "CreateFlowLogs",
                &[
                    ("ResourceId.1", &vpc),
                    ("ResourceType", "VPC"),
                    ("TrafficType", "ALL"),
                    ("LogGroupName", GROUP),
                    (
                        "DeliverLogsPermissionArn",
                        "arn:aws:iam::123456789012:role/flow-logs",
                    ),
                    ("LogFormat", FORMAT),
                ],
            );
            // 25 events in one stream (pairs share a timestamp), 5 in another; one on each side
            // of the window and 3 in a stream outside the prefix, none of them read.
            let aaa: Vec<String> = (0..25).map(|i| record("eni-aaa", i)).collect();
            let bbb: Vec<String> = (100..105).map(|i| record("eni-bbb", i)).collect();
            let mut aaa_events: Vec<(i64, String)> =
                vec![(d * DAY_MS - 5000, record("eni-aaa", 900))];
            aaa_events.extend(
                aaa.iter()
                    .enumerate()
                    .map(|(i, m)| (d * DAY_MS + 1000 * (i as i64 / 2), m.clone())),
            );
            aaa_events.push(((d + 2) * DAY_MS + 1000, record("eni-aaa", 901)));
            put_events(&rt, &logs, "eni-aaa-all", &aaa_events);
            let bbb_events: Vec<(i64, String)> = bbb
                .iter()
                .enumerate()
                .map(|(i, m)| ((d + 1) * DAY_MS + 7000 * i as i64, m.clone()))
                .collect();
            put_events(&rt, &logs, "eni-bbb-all", &bbb_events);
            let other: Vec<(i64, String)> = (0..3)
                .map(|i| (d * DAY_MS + i, record("eni-ccc", 300 + i)))
                .collect();
            put_events(&rt, &logs, "other-stream", &other);

            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("cw.db");
            let source = [Source::parse(Path::new(&format!("cloudwatch://{GROUP}:eni-"))).unwrap()];
            let opts = options(&endpoint, d, d + 1);
            let run = |observer: &Counter, db: &Path| -> miette::Result<Report> {
                let mut store = Store::open(db, 64).unwrap();
                tighten::sources::flow_logs(&mut store, &source, &opts, observer)
            };

            http(port, "POST", "/moto-api/recorder/reset-recording").unwrap();
            http(port, "POST", "/moto-api/recorder/start-recording").unwrap();
            let first = run(&Counter::default(), &db).unwrap();
            http(port, "POST", "/moto-api/recorder/stop-recording").unwrap();
            assert_eq!(first.records, 30, "{first:?}");
            assert_eq!(first.malformed, 0, "{first:?}");
            // 30 events in pages of 4 (the events of both streams come in one query).
            assert_eq!(first.pages, 8, "{first:?}");
            let mut expected: Vec<String> = aaa.clone();
            expected.extend(bbb.iter().cloned());
            assert_eq!(evidence_csv(&db), reference(dir.path(), "first", &expected));

            // The API got the window and the page size; only read-only calls went out.
            let calls = recorded(port, "FilterLogEvents");
            assert_eq!(calls.len(), 8);
            for call in &calls {
                assert_eq!(call["logGroupName"], GROUP);
                assert_eq!(call["endTime"], (d + 2) * DAY_MS - 1);
                assert!(call["startTime"].as_i64().unwrap() >= d * DAY_MS, "{call}");
                assert_eq!(call["limit"], 4);
                assert_eq!(
                    call["logStreamNames"],
                    serde_json::json!(["eni-aaa-all", "eni-bbb-all"])
                );
            }
            let seen_ops = operations(port);
            assert_eq!(
                seen_ops.keys().cloned().collect::<Vec<_>>(),
                [
                    "EC2.DescribeFlowLogs",
                    "Logs.DescribeLogStreams",
                    "Logs.FilterLogEvents"
                ]
            );
            for op in seen_ops.keys() {
                assert!(
                    tighten::aws::READ_ONLY_OPERATIONS.contains(&op.as_str()),
                    "{op}"
                );
            }

            // A rerun adds nothing, and the format comes from the store, not from EC2.
            http(port, "POST", "/moto-api/recorder/reset-recording").unwrap();
            http(port, "POST", "/moto-api/recorder/start-recording").unwrap();
            let again = run(&Counter::default(), &db).unwrap();
            http(port, "POST", "/moto-api/recorder/stop-recording").unwrap();
            assert_eq!(
                (again.records, again.stored, again.rows),
                (0, 0, 0),
                "{again:?}"
            );
            assert!(!operations(port).contains_key("EC2.DescribeFlowLogs"));
            let before = evidence_csv(&db);

            // A new event (sharing its timestamp with a stored one) adds exactly itself.
            let new = record("eni-bbb", 150);
            put_events(
                &rt,
                &logs,
                "eni-bbb-all",
                &[((d + 1) * DAY_MS + 7000, new.clone())],
            );
            let third = run(&Counter::default(), &db).unwrap();
            assert_eq!((third.records, third.stored), (1, 1), "{third:?}");
            assert_ne!(evidence_csv(&db), before);
            expected.push(new);
            let whole = reference(dir.path(), "whole", &expected);
            assert_eq!(evidence_csv(&db), whole);

            // An interrupted run (stopped after 3 pages), then a rerun: the same evidence.
            let db2 = dir.path().join("interrupted.db");
            let stopping = Counter {
                fail_after: Some(3),
                ..Counter::default()
            };
            let err = run(&stopping, &db2).unwrap_err();
            assert!(
                format!("{err:?}").contains("injected failure after 3 pages"),
                "{err:?}"
            );
            let resumed = run(&Counter::default(), &db2).unwrap();
            assert_eq!(resumed.records, 31 - 12, "{resumed:?}");
            assert_eq!(evidence_csv(&db2), whole);
        },
    );
}

#[test]
fn the_cli_reads_cloudwatch_and_refuses_it_for_aws_config() {
    scenario(
        "the_cli_reads_cloudwatch_and_refuses_it_for_aws_config",
        Setup::Moto,
        |s| {
            let endpoint = s.endpoint.clone().unwrap();
            let rt = runtime();
            let config = setup_config(&rt, &endpoint);
            let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
            rt.block_on(async {
                logs.create_log_group()
                    .log_group_name(GROUP)
                    .send()
                    .await
                    .unwrap();
                logs.create_log_stream()
                    .log_group_name(GROUP)
                    .log_stream_name("eni-aaa-all")
                    .send()
                    .await
                    .unwrap();
            });
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            // No flow log in EC2: the default v2 layout (account id included).
            let events: Vec<(i64, String)> = (0..3)
                .map(|i| {
                    (
                        now - 60_000 + i,
                        format!("2 123456789012 eni-aaa 10.0.0.{i} 10.0.1.10 4000{i} 443 6 1 60 1709769600 1709769660 ACCEPT OK"),
                    )
                })
                .collect();
            put_events(&rt, &logs, "eni-aaa-all", &events);
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("e.db");
            let url = format!("cloudwatch://{GROUP}");
            let ingest = |args: &[&str]| {
                assert_cmd::Command::cargo_bin("tighten")
                    .unwrap()
                    .args(args)
                    .args(["--endpoint-url", &endpoint, "--region", REGION, "--db"])
                    .arg(&db)
                    .output()
                    .unwrap()
            };
            let out = ingest(&["ingest", "flow-logs", &url]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stderr}");
            assert!(
                stderr.contains(
                    "ingested 0 files and 1 CloudWatch Logs page (3 records, 0 malformed lines skipped"
                ),
                "{stderr}"
            );
            let out = ingest(&["ingest", "flow-logs", &url]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("ingested 0 files (0 records"), "{stderr}");
            assert!(
                stderr.contains("; 3 CloudWatch Logs events already ingested"),
                "{stderr}"
            );
            let out = ingest(&["ingest", "aws-config", &url]);
            assert_eq!(out.status.code(), Some(2));
            assert!(
                String::from_utf8_lossy(&out.stderr)
                    .contains("AWS Config does not deliver to CloudWatch Logs")
            );
        },
    );
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn cloudwatch_exports_read_from_a_file_and_from_s3() {
    scenario(
        "cloudwatch_exports_read_from_a_file_and_from_s3",
        Setup::Moto,
        |s| {
            let endpoint = s.endpoint.clone().unwrap();
            let records: Vec<String> = (0..6)
                .map(|i| {
                    format!("2 123456789012 eni-aaa 10.0.0.{i} 10.0.1.10 4000{i} 443 6 1 60 1709769600 1709769660 ACCEPT OK")
                })
                .collect();
            let export: String = records.iter().fold(String::new(), |mut out, r| {
                let _ = writeln!(out, "2024-03-07T00:00:0{}.000Z {r}", r.len() % 10);
                out
            });
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("000000.gz");
            std::fs::write(&file, gzip(&export)).unwrap();
            let db = dir.path().join("local.db");
            let mut store = Store::open(&db, 64).unwrap();
            let opts = RunOptions {
                aws: AwsOptions {
                    regions: vec![REGION.to_owned()],
                    profile: None,
                    endpoint_url: Some(endpoint.clone()),
                },
                read: ReadOptions {
                    source_cap: 64,
                    ..ReadOptions::default()
                },
                ..RunOptions::default()
            };
            let report = tighten::sources::flow_logs(
                &mut store,
                &[Source::Local(file)],
                &opts,
                &Counter::default(),
            )
            .unwrap();
            assert_eq!((report.records, report.malformed), (6, 0), "{report:?}");
            drop(store);
            let local = evidence_csv(&db);
            // The reference: the records without their timestamps, in the default v2 layout.
            let plain = dir.path().join("plain.log");
            std::fs::write(&plain, format!("{}\n", records.join("\n"))).unwrap();
            let plain_db = dir.path().join("plain.db");
            let mut store = Store::open(&plain_db, 64).unwrap();
            tighten::sources::flow_logs(
                &mut store,
                &[Source::Local(plain)],
                &opts,
                &Counter::default(),
            )
            .unwrap();
            drop(store);
            assert_eq!(local, evidence_csv(&plain_db));

            let rt = runtime();
            let config = setup_config(&rt, &endpoint);
            let s3 = aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&config)
                    .force_path_style(true)
                    .build(),
            );
            rt.block_on(async {
                s3.create_bucket().bucket("exports").send().await.unwrap();
                s3.put_object()
                    .bucket("exports")
                    .key("flow-exports/0f1e2d3c-task/eni-aaa-all/000000.gz")
                    .body(gzip(&export).into())
                    .send()
                    .await
                    .unwrap();
            });
            let s3_db = dir.path().join("s3.db");
            let mut store = Store::open(&s3_db, 64).unwrap();
            let report = tighten::sources::flow_logs(
                &mut store,
                &[Source::parse(Path::new("s3://exports/flow-exports/")).unwrap()],
                &opts,
                &Counter::default(),
            )
            .unwrap();
            assert_eq!(
                (report.records, report.malformed, report.stored),
                (6, 0, 1),
                "{report:?}"
            );
            drop(store);
            assert_eq!(evidence_csv(&s3_db), local);
        },
    );
}

/// The same records split between a text file, a Parquet file and CloudWatch Logs events, in
/// several seeded splits, give exactly the evidence of all of them read from one text file.
#[test]
fn any_split_into_text_parquet_and_cloudwatch_gives_the_same_evidence() {
    scenario(
        "any_split_into_text_parquet_and_cloudwatch_gives_the_same_evidence",
        Setup::Moto,
        |s| {
            let endpoint = s.endpoint.clone().unwrap();
            let rt = runtime();
            let config = setup_config(&rt, &endpoint);
            let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
            // AWS's default format (14 fields): CloudWatch events carry no header.
            let records: Vec<String> = (0..90)
                .map(|i| {
                    let start = 1_709_769_600 + i * 97;
                    format!(
                        "2 123456789012 eni-{} 10.0.{}.{} 10.0.1.{} {} {} 6 3 180 {start} {} {} OK",
                        ["aaa", "bbb", "ccc"][(i % 3) as usize],
                        i % 4,
                        i % 7 + 1,
                        10 + i % 2,
                        40_000 + i,
                        [443, 22, 8080, 5432][(i % 4) as usize],
                        start + 60,
                        if i % 11 == 0 { "REJECT" } else { "ACCEPT" },
                    )
                })
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let whole = dir.path().join("whole.log");
            std::fs::write(&whole, records.join("\n") + "\n").unwrap();
            let expected = ingest_file_as_text(&whole, &dir.path().join("whole.db"));
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/flowlog_parquet.py");
            for seed in 1..=4u64 {
                // A seeded split: each record goes to one of the three sources.
                let mut parts: [Vec<&String>; 3] = [Vec::new(), Vec::new(), Vec::new()];
                let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                for r in &records {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    parts[(x % 3) as usize].push(r);
                }
                let case = dir.path().join(format!("split-{seed}"));
                std::fs::create_dir(&case).unwrap();
                let text = case.join("part.log");
                std::fs::write(&text, join(&parts[0])).unwrap();
                let parquet_text = case.join("for-parquet.txt");
                std::fs::write(&parquet_text, join(&parts[1])).unwrap();
                let parquet = case.join("part.parquet");
                let out = std::process::Command::new(&python)
                    .arg(&script)
                    .args(["pyarrow"])
                    .arg(&parquet_text)
                    .arg(&parquet)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                std::fs::remove_file(&parquet_text).unwrap();
                let group = format!("split-{seed}");
                rt.block_on(async {
                    logs.create_log_group()
                        .log_group_name(&group)
                        .send()
                        .await
                        .unwrap();
                    logs.create_log_stream()
                        .log_group_name(&group)
                        .log_stream_name("eni-all")
                        .send()
                        .await
                        .unwrap();
                });
                let events: Vec<InputLogEvent> = parts[2]
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        InputLogEvent::builder()
                            .timestamp(now_ms - 3_600_000 + i as i64)
                            .message(m.as_str())
                            .build()
                            .unwrap()
                    })
                    .collect();
                if !events.is_empty() {
                    rt.block_on(
                        logs.put_log_events()
                            .log_group_name(&group)
                            .log_stream_name("eni-all")
                            .set_log_events(Some(events))
                            .send(),
                    )
                    .unwrap();
                }
                let db = case.join("split.db");
                let mut store = Store::open(&db, 64).unwrap();
                let opts = RunOptions {
                    aws: AwsOptions {
                        regions: vec![REGION.to_owned()],
                        profile: None,
                        endpoint_url: Some(endpoint.clone()),
                    },
                    read: ReadOptions {
                        source_cap: 64,
                        ..ReadOptions::default()
                    },
                    ..RunOptions::default()
                };
                let sources = [
                    Source::Local(case.clone()),
                    Source::CloudWatch {
                        group: group.clone(),
                        stream_prefix: None,
                    },
                ];
                let report =
                    tighten::sources::flow_logs(&mut store, &sources, &opts, &Counter::default())
                        .unwrap();
                assert_eq!(report.records, records.len() as u64, "split {seed}");
                assert_eq!(
                    parts
                        .iter()
                        .map(Vec::len)
                        .collect::<Vec<_>>()
                        .iter()
                        .sum::<usize>(),
                    records.len()
                );
                drop(store);
                assert_eq!(
                    evidence_csv(&db),
                    expected,
                    "split {seed}: {:?}",
                    parts.map(|p| p.len())
                );
            }
        },
    );
}

fn join(lines: &[&String]) -> String {
    lines.iter().fold(String::new(), |mut out, l| {
        let _ = writeln!(out, "{l}");
        out
    })
}

fn ingest_file_as_text(file: &Path, db: &Path) -> String {
    let mut store = Store::open(db, 64).unwrap();
    let opts = RunOptions {
        read: ReadOptions {
            source_cap: 64,
            ..ReadOptions::default()
        },
        ..RunOptions::default()
    };
    tighten::sources::flow_logs(
        &mut store,
        &[Source::Local(file.to_owned())],
        &opts,
        &Counter::default(),
    )
    .unwrap();
    drop(store);
    evidence_csv(db)
}
