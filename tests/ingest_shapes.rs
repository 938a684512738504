//! Flow logs in the shapes real deliveries take, end to end through the binary: headerless
//! records (`CloudWatch` Logs, exports) of every documented width or of a given `--log-format`,
//! headers repeated inside a file, transit-gateway logs, and files that are incomplete or that
//! change after they were ingested.

mod common;

use std::path::Path;

use common::{Rec, evidence_csv, realistic, tighten};

fn run(db: &Path, extra: &[&str], sources: &[&Path]) -> (Option<i32>, String) {
    let mut cmd = tighten();
    cmd.args(["ingest", "flow-logs", "--db"])
        .arg(db)
        .args(extra);
    for s in sources {
        cmd.arg(s);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn summary(db: &Path) -> serde_json::Value {
    let out = common::succeed(
        tighten()
            .args(["evidence", "--summary", "--format", "json", "--db"])
            .arg(db),
    );
    serde_json::from_str(&out).unwrap()
}

/// The evidence and the ledger's totals: what "the same store" means here.
fn state(db: &Path) -> (String, serde_json::Value) {
    (evidence_csv(db), summary(db))
}

/// All fields of versions 2–8 in AWS's documented order.
const ALL_FIELDS: [&str; 40] = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
];

/// A record's value for a field (`version` is the given one).
fn value(r: &Rec, field: &str, version: u8) -> String {
    let gap = r.gap.is_some();
    match field {
        "version" => version.to_string(),
        "account-id" => "123456789012".into(),
        "interface-id" => r.interface.clone(),
        "srcaddr" | "pkt-srcaddr" if !gap => r.src.clone(),
        "dstaddr" | "pkt-dstaddr" if !gap => r.dst.clone(),
        "srcport" if !gap => r.sport.to_string(),
        "dstport" if !gap => r.dport.to_string(),
        "protocol" if !gap => r.protocol.to_string(),
        "packets" if !gap => r.packets.to_string(),
        "bytes" if !gap => r.bytes.to_string(),
        "start" => r.start.to_string(),
        "end" => (r.start + 60).to_string(),
        "action" if !gap => r.action.into(),
        "log-status" => r.gap.unwrap_or("OK").into(),
        "tcp-flags" if !gap => r.flags.map_or_else(|| "-".into(), |f| f.to_string()),
        "flow-direction" if !gap => r.direction.into(),
        "vpc-id" => "vpc-0a1b2c3d".into(),
        "type" if !gap => "IPv4".into(),
        "region" => "eu-west-1".into(),
        "ecs-cluster-name" => "shop".into(),
        "reject-reason" if r.action == "REJECT" => "BPA".into(),
        _ => "-".into(),
    }
}

fn render(recs: &[Rec], fields: &[&str], version: u8) -> String {
    recs.iter()
        .map(|r| {
            let line: Vec<String> = fields.iter().map(|f| value(r, f, version)).collect();
            line.join(" ") + "\n"
        })
        .collect()
}

fn write(path: &Path, text: &str) {
    common::write_maybe_gz(path, text.as_bytes());
}

#[test]
fn headerless_records_of_every_documented_width_read_as_with_their_header() {
    let dir = tempfile::tempdir().unwrap();
    for (version, width) in [(2u8, 14usize), (3, 21), (4, 25), (5, 29), (7, 39), (8, 40)] {
        let fields = &ALL_FIELDS[..width];
        let recs = realistic(u64::from(version), 40);
        let headerless = dir.path().join(format!("v{version}/bare"));
        let with_header = dir.path().join(format!("v{version}/header"));
        // Two headerless files of one version: one note for both.
        write(
            &headerless.join("a.log"),
            &render(&recs[..30], fields, version),
        );
        write(
            &headerless.join("b.log.gz"),
            &render(&recs[30..], fields, version),
        );
        let header = fields.join(" ") + "\n";
        write(
            &with_header.join("a.log"),
            &(header + &render(&recs, fields, version)),
        );
        let bare_db = dir.path().join(format!("bare{version}.db"));
        let header_db = dir.path().join(format!("header{version}.db"));
        let (code, err) = run(&bare_db, &[], &[&headerless]);
        assert_eq!(code, Some(0), "{err}");
        let (code, _) = run(&header_db, &[], &[&with_header]);
        assert_eq!(code, Some(0));
        assert_eq!(
            evidence_csv(&bare_db),
            evidence_csv(&header_db),
            "v{version}"
        );
        assert!(!evidence_csv(&bare_db).trim().is_empty());
        let notes: Vec<&str> = err.lines().filter(|l| l.starts_with("note:")).collect();
        if version == 2 {
            // AWS's default format: nothing is assumed.
            assert_eq!(notes, Vec::<&str>::new(), "{err}");
        } else {
            assert_eq!(
                notes,
                [format!(
                    "note: 2 files (the first: {}) have no header line and {width} fields: read as all fields of version {version} in AWS's documented order; pass --log-format if your flow log uses a custom format",
                    headerless.join("a.log").display()
                )],
                "{err}"
            );
        }
        let records = recs.iter().filter(|r| r.gap.is_none()).count();
        assert!(
            err.contains(&format!("ingested 2 files ({records} records, 0 malformed")),
            "{err}"
        );
    }
}

#[test]
fn a_custom_format_without_header_needs_log_format() {
    let dir = tempfile::tempdir().unwrap();
    let fields = [
        "interface-id",
        "srcaddr",
        "dstaddr",
        "srcport",
        "dstport",
        "protocol",
        "packets",
        "bytes",
        "start",
        "end",
        "action",
        "log-status",
        "tcp-flags",
        "flow-direction",
        "pkt-srcaddr",
        "pkt-dstaddr",
    ];
    let recs = realistic(9, 30);
    let bare = dir.path().join("bare.log");
    write(&bare, &render(&recs, &fields, 5));
    let with_header = dir.path().join("header.log");
    write(
        &with_header,
        &(fields.join(" ") + "\n" + &render(&recs, &fields, 5)),
    );
    let db = dir.path().join("e.db");

    let (code, err) = run(&db, &[], &[&bare]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}:1: not a VPC flow log: line 1 is neither a header of flow-log field names nor a record of a known format (16 fields; AWS's default format has 14, all fields of version 3, 4, 5, 7 or 8 have 21, 25, 29, 39 or 40). If this is a flow log without a header line, pass its format with --log-format '${{version}} ${{account-id}} …'",
            bare.display()
        )),
        "{err}"
    );
    assert_eq!(summary(&db)["files"], 0);

    let format: String = fields
        .iter()
        .map(|f| format!("${{{f}}}"))
        .collect::<Vec<_>>()
        .join(" ");
    let (code, err) = run(&db, &["--log-format", &format], &[&bare]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("note:"), "{err}");
    let clean = dir.path().join("clean.db");
    assert_eq!(run(&clean, &[], &[&with_header]).0, Some(0));
    assert_eq!(evidence_csv(&db), evidence_csv(&clean));

    // A header wins over --log-format, and says so when they differ.
    let other = dir.path().join("other.db");
    let v2: String = ALL_FIELDS[..14]
        .iter()
        .map(|f| format!("${{{f}}}"))
        .collect::<Vec<_>>()
        .join(" ");
    let (code, err) = run(&other, &["--log-format", &v2], &[&with_header]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "note: {}: its header line differs from --log-format; the header was used",
            with_header.display()
        )),
        "{err}"
    );
    assert_eq!(evidence_csv(&other), evidence_csv(&clean));

    // A record of a documented width that is not in AWS's order is not guessed at.
    let shuffled = dir.path().join("shuffled.log");
    let mut order = ALL_FIELDS[..29].to_vec();
    order.rotate_left(2);
    write(&shuffled, &render(&recs, &order, 5));
    let (code, err) = run(&dir.path().join("s.db"), &[], &[&shuffled]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("line 1 has 29 fields, as all fields of version 5 have, but"),
        "{err}"
    );
    assert!(err.contains("pass its format with --log-format"), "{err}");
}

#[test]
fn a_bad_log_format_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let log = dir.path().join("a.log");
    write(&log, &render(&realistic(1, 3), &ALL_FIELDS[..14], 2));
    for (format, message) in [
        (
            "${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${colour}",
            "--log-format: `${colour}` is not a VPC flow-log field; the fields are: version account-id interface-id",
        ),
        (
            "version interface-id",
            "--log-format: `version` is not a `${field}` token",
        ),
        (
            "${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start}",
            "--log-format: the format lacks `${interface-id}`, which tighten needs",
        ),
        (
            "${version} ${resource-type} ${tgw-id} ${srcaddr}",
            "--log-format: the format names `${resource-type}`: it is a transit-gateway flow log, which describes gateway attachments and carries no security-group information",
        ),
    ] {
        let (code, err) = run(&db, &["--log-format", format], &[&log]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(message), "{format}: {err}");
    }
    assert!(!db.exists() || summary(&db)["files"] == 0);
}

#[test]
fn repeated_headers_switch_the_field_map() {
    let dir = tempfile::tempdir().unwrap();
    let recs = realistic(4, 60);
    let v5 = &ALL_FIELDS[..29];
    let mut reversed = ALL_FIELDS[..21].to_vec();
    reversed.reverse();
    let first = v5.join(" ") + "\n" + &render(&recs[..20], v5, 5);
    let second = reversed.join(" ") + "\n" + &render(&recs[20..40], &reversed, 3);
    let third = v5.join(" ") + "\n" + &render(&recs[40..], v5, 5);
    // Deliveries joined with `cat`, plain and as gzip members.
    let joined = dir.path().join("joined.log");
    write(&joined, &(first.clone() + &second + &third));
    let members = dir.path().join("members.log.gz");
    let mut bytes = Vec::new();
    for part in [&first, &second, &third] {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, part.as_bytes()).unwrap();
        bytes.extend(enc.finish().unwrap());
    }
    std::fs::write(&members, bytes).unwrap();
    let apart = dir.path().join("apart");
    write(&apart.join("1.log"), &first);
    write(&apart.join("2.log"), &second);
    write(&apart.join("3.log"), &third);

    let clean = dir.path().join("clean.db");
    assert_eq!(run(&clean, &[], &[&apart]).0, Some(0));
    for file in [&joined, &members] {
        let db = dir.path().join(format!(
            "{}.db",
            file.file_name().unwrap().to_string_lossy()
        ));
        let (code, err) = run(&db, &[], &[file]);
        assert_eq!(code, Some(0), "{err}");
        let records = recs.iter().filter(|r| r.gap.is_none()).count();
        assert!(
            err.contains(&format!(
                "ingested 1 file ({records} records, 0 malformed lines skipped"
            )),
            "{err}"
        );
        assert_eq!(evidence_csv(&db), evidence_csv(&clean));
    }
}

#[test]
fn transit_gateway_flow_logs_are_refused() {
    const TGW: &str = "version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service";
    const RECORD: &str = "6 TransitGateway 123456789012 tgw-0a1b2c3d4e5f60718 tgw-attach-0a1b2c3d4e5f60718 123456789012 210987654321 vpc-0a1b2c3d vpc-0d3c2b1a subnet-0a1b2c3d subnet-0d3c2b1a eni-0a1b2c3d eni-0d3c2b1a use1-az1 use1-az2 tgw-attach-0d3c2b1a4e5f60718 10.0.0.9 10.1.0.1 40000 443 6 10 840 1600000000 1600000060 OK IPv4 0 0 0 0 2 us-east-1 ingress - -";
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let header = dir.path().join("tgw-header.log.gz");
    write(&header, &format!("{TGW}\n{RECORD}\n"));
    let bare = dir.path().join("tgw-cloudwatch.log");
    write(&bare, &format!("{RECORD}\n"));
    for (file, what) in [
        (&header, "its header names `resource-type`"),
        (
            &bare,
            "line 1 holds a transit gateway's resource type or id",
        ),
    ] {
        let (code, err) = run(&db, &[], &[file]);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "{}:1: a transit-gateway flow log ({what}): it describes gateway attachments, not network interfaces, and carries no security-group information",
                file.display()
            )),
            "{err}"
        );
    }
    assert_eq!(summary(&db)["files"], 0);
}

/// A gzip file of `recs` in v5 with a header, its bytes.
fn gz_v5(recs: &[Rec]) -> Vec<u8> {
    let mut text = String::from(common::V5_HEADER) + "\n";
    for r in recs {
        text.push_str(&r.v5_line());
        text.push('\n');
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

fn ledger_rows(db: &Path) -> Vec<(i64, i64, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT complete, records, size FROM ledger ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn truncated_then_complete_ends_as_a_clean_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let recs = realistic(7, 120);
    let whole = gz_v5(&recs);
    let logs = dir.path().join("logs");
    let path = logs.join("flows.log.gz");
    write(
        &logs.join("other.log"),
        &render(&realistic(8, 20), &ALL_FIELDS[..14], 2),
    );
    std::fs::write(&path, &whole[..whole.len() * 2 / 3]).unwrap();
    let db = dir.path().join("e.db");

    // Refused by default: nothing stored, nothing in the ledger, the other file goes in.
    let (code, err) = run(&db, &[], &[&logs]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: incomplete: the compressed stream ends before its end marker",
            path.display()
        )),
        "{err}"
    );
    assert!(err.contains("--accept-incomplete"), "{err}");
    assert_eq!(ledger_rows(&db).len(), 1);
    let only_other = state(&db);

    // Accepted: its whole records are stored, the ledger says incomplete.
    let (code, err) = run(&db, &["--accept-incomplete"], &[&logs]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("1 incomplete (marked so in the ledger)"),
        "{err}"
    );
    assert!(err.contains("is marked incomplete in the ledger"), "{err}");
    let rows = ledger_rows(&db);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].0, 0, "incomplete in the ledger");
    assert_eq!(summary(&db)["incomplete_files"], 1);
    let records = recs.iter().filter(|r| r.gap.is_none()).count() as i64;
    assert!(rows[1].1 > 0 && rows[1].1 < records, "{rows:?}");
    assert_ne!(state(&db), only_other);

    // The complete file arrives at the same path: only the rest is added.
    std::fs::write(&path, &whole).unwrap();
    let (code, err) = run(&db, &[], &[&logs]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("1 ingested before and since grown (only the new records added)"),
        "{err}"
    );
    assert_eq!(ledger_rows(&db)[1], (1, records, whole.len() as i64));
    assert_eq!(summary(&db).get("incomplete_files"), None);
    let clean = dir.path().join("clean.db");
    assert_eq!(run(&clean, &[], &[&logs]).0, Some(0));
    assert_eq!(state(&db), state(&clean));

    // Nothing more happens on a rerun, nor when the cut copy shows up under another name.
    std::fs::write(dir.path().join("cut.log.gz"), &whole[..whole.len() * 2 / 3]).unwrap();
    let (code, err) = run(
        &db,
        &["--accept-incomplete"],
        &[&logs, &dir.path().join("cut.log.gz")],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("ingested 0 files"), "{err}");
    assert_eq!(state(&db), state(&clean));
}

#[test]
fn a_grown_file_is_continued_and_a_changed_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let recs = realistic(11, 90);
    let text = String::from(common::V5_HEADER)
        + "\n"
        + &recs.iter().map(|r| r.v5_line() + "\n").collect::<String>();
    let path = dir.path().join("flows.log");
    let db = dir.path().join("e.db");
    // A plain file read while it was being written: its last line is cut.
    let cut = text.len() / 2;
    std::fs::write(&path, &text[..cut]).unwrap();
    let (code, err) = run(&db, &[], &[&path]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("(truncated)"), "{err}");
    assert_eq!(summary(&db)["malformed"]["truncated"], 1);
    // It grows (appended by the same writer), twice.
    std::fs::write(&path, &text[..cut + text.len() / 4]).unwrap();
    assert_eq!(run(&db, &[], &[&path]).0, Some(0));
    std::fs::write(&path, &text).unwrap();
    let (code, err) = run(&db, &[], &[&path]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("1 ingested before and since grown"), "{err}");
    let clean = dir.path().join("clean.db");
    let final_copy = dir.path().join("final").join("flows.log");
    write(&final_copy, &text);
    assert_eq!(run(&clean, &[], &[&final_copy]).0, Some(0));
    assert_eq!(state(&db), state(&clean));
    assert_eq!(summary(&db)["malformed"], serde_json::json!({}));

    // Different content at the same path: refused, the store unchanged.
    let other = realistic(12, 30);
    let changed = String::from(common::V5_HEADER)
        + "\n"
        + &other.iter().map(|r| r.v5_line() + "\n").collect::<String>();
    std::fs::write(&path, &changed).unwrap();
    let (code, err) = run(&db, &[], &[&path]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: changed since it was ingested on ",
            path.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "(size {} → {} bytes, content hash ",
            text.len(),
            changed.len()
        )),
        "{err}"
    );
    assert!(
        err.contains("its content does not continue what was counted then"),
        "{err}"
    );
    assert!(err.contains("give it a name of its own"), "{err}");
    assert_eq!(state(&db), state(&clean));
    // As the message says: under a name of its own it is another file.
    let renamed = dir.path().join("flows-2.log");
    std::fs::rename(&path, &renamed).unwrap();
    assert_eq!(run(&db, &[], &[&renamed]).0, Some(0));
    assert_eq!(summary(&db)["files"], 2);
}

#[test]
fn a_changed_file_from_an_older_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.log.gz");
    let db = dir.path().join("e.db");
    let recs = realistic(3, 40);
    std::fs::write(&path, gz_v5(&recs[..20])).unwrap();
    assert_eq!(run(&db, &[], &[&path]).0, Some(0));
    // Rows written before schema version 4 do not say what they counted.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE ledger SET counted_bytes = NULL, counted_hash = NULL")
        .unwrap();
    let before = state(&db);
    std::fs::write(&path, gz_v5(&recs)).unwrap();
    let (code, err) = run(&db, &[], &[&path]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "the ledger row was written by an older tighten that did not record what it counted"
        ),
        "{err}"
    );
    assert_eq!(state(&db), before);
}
