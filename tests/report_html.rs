//! The evidence report (`tighten report --html`, and `tighten demo`): the structure of the demo's
//! page (snapshot), every chart paired with the table of its numbers, nothing fetched, hostile
//! text escaped, and the size of a report for 300 groups.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use common::{succeed, tighten};

/// The page with chart bodies, style and script elided, one block element per line: the
/// structure a reviewer of the snapshot can read.
fn outline(html: &str) -> String {
    let mut s = elide(html, "<svg ", "</svg>", "<svg …/>");
    s = elide(&s, "<style>", "</style>", "<style>…</style>");
    s = elide(&s, "<script>", "</script>", "<script>…</script>");
    for tag in [
        "<section",
        "<article",
        "<h1",
        "<h2",
        "<h3",
        "<h4",
        "<p",
        "<tr",
        "<li",
        "<figure",
        "<figcaption",
        "<table",
        "<caption",
        "<pre",
        "<dl",
        "<div",
        "<details",
        "<ul",
        "<header",
        "<footer",
        "<main",
        "<head",
        "<body",
        "<meta",
        "<title",
        "<style",
        "<script",
        "<svg",
    ] {
        s = s.replace(tag, &format!("\n{tag}"));
    }
    s
}

fn elide(html: &str, open: &str, close: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find(close) else {
            break;
        };
        out.push_str(with);
        rest = &rest[i + j + close.len()..];
    }
    out.push_str(rest);
    out
}

/// Every chart names the table of its numbers, and that table exists; returns the chart count.
fn charts_have_tables(html: &str) -> usize {
    let mut charts = 0;
    for (i, _) in html.match_indices("<svg ") {
        charts += 1;
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        let id = tag
            .split("aria-describedby=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("chart without aria-describedby: {tag}"));
        let at = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no element {id}"));
        let open = html[..at].rfind('<').unwrap();
        assert!(html[open..].starts_with("<table"), "{id} is not a table");
        assert!(tag.contains("role=\"img\"") && tag.contains("aria-labelledby=\""));
    }
    charts
}

/// Nothing on the page can make a browser fetch: no tag with `src`, `href` or `url()`, no stylesheet
/// import, and a policy forbidding it. (Escaped text may say `src=`: it is text.)
fn fetches_nothing(html: &str) {
    for (i, _) in html.match_indices('<') {
        let tag = &html[i..i + html[i..].find('>').unwrap_or(html.len() - i)];
        for needle in [
            " src=", " href=", "url(", "<link", "<iframe", "<object", "<img",
        ] {
            assert!(!tag.contains(needle), "a tag contains {needle}: {tag}");
        }
    }
    assert!(!html.contains("@import") && !html.contains("url("));
    assert!(html.contains("default-src 'none'"));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
}

#[test]
fn the_demo_writes_the_report_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let stdout = succeed(
        tighten()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["demo", "--report"])
            .arg(&out),
    );
    assert!(
        stdout.contains(&format!("evidence report written to {}", out.display())),
        "{stdout}"
    );
    let html = std::fs::read_to_string(&out).unwrap();
    // Web groups: timeline + calendar for each of the 4 linked groups with interfaces, at least.
    let charts = charts_have_tables(&html);
    assert!(charts >= 8, "{charts} charts");
    fetches_nothing(&html);
    // The narrowing's cover table and a verified diff are on the page.
    assert!(html.contains("Cover table: the best cover with at most k prefixes"));
    assert!(html.contains("class=\"chosen\""));
    assert!(html.contains("Verified diff of <code>terraform/main.tf</code>"));
    // Stable: a second run gives the same page.
    let again = dir.path().join("again.html");
    succeed(
        tighten()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["demo", "--report"])
            .arg(&again),
    );
    assert_eq!(std::fs::read_to_string(&again).unwrap(), html);
    insta::assert_snapshot!("demo_report_outline", outline(&html));
}

#[test]
fn report_needs_a_store_and_writes_nothing_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let o = tighten()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["report", "examples/shop/terraform", "--html"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("tighten report needs an evidence store"));
    let o = tighten()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["report", "examples/shop/terraform", "--db"])
        .arg(dir.path().join("missing.db"))
        .arg("--html")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn report_takes_lint_inputs_and_shows_the_run_history() {
    let (dir, db) = common::shop_store();
    let tf = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop/terraform");
    // One recorded run.
    let _ = tighten()
        .args(["lint", "--format", "json", "--db"])
        .arg(&db)
        .arg(&tf)
        .output()
        .unwrap();
    let out = dir.path().join("r.html");
    let o = tighten()
        .args(["report", "--db"])
        .arg(&db)
        .arg(&tf)
        .args(["--since", "2026-10-05", "--html"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("evidence report written to"));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.contains("2026-10-05..2026-10-20"),
        "the window follows --since"
    );
    assert!(html.contains("Recorded lint --db runs"));
    assert!(!html.contains("No `lint --db` run is recorded"));
}

const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

#[test]
fn hostile_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let tf = dir.path().join("tf");
    std::fs::create_dir(&tf).unwrap();
    std::fs::write(
        tf.join("we<i>rd&\"quote'.tf"),
        r#"resource "aws_security_group" "x" {
  name        = "x"
  description = "<script>alert(1)</script>"
  ingress {
    description = "</code><img src=x onerror=alert(2)>"
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"#,
    )
    .unwrap();
    // The interface id comes from the flow logs and AWS Config: untrusted text in the chart's
    // labels and tables.
    let eni = "eni-<b>x</b>&\"q";
    std::fs::write(
        tf.join("terraform.tfstate"),
        serde_json::json!({"version": 4, "resources": [{"mode": "managed", "type": "aws_security_group", "name": "x",
            "instances": [{"attributes": {"id": "sg-x"}}]}]})
        .to_string(),
    )
    .unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        serde_json::json!({"configurationItems": [{
            "configuration": {"groups": [{"groupName": "x", "groupId": "sg-x"}], "networkInterfaceId": eni,
                "privateIpAddress": "10.0.0.5", "privateIpAddresses": [{"primary": true, "privateIpAddress": "10.0.0.5"}],
                "ipv6Addresses": [], "vpcId": "vpc-1", "status": "in-use"},
            "configurationItemCaptureTime": "2026-09-21T00:00:00.000Z", "configurationItemStatus": "OK",
            "resourceType": "AWS::EC2::NetworkInterface", "resourceId": eni,
            "awsAccountId": "123456789012", "awsRegion": "us-east-1"}]})
        .to_string(),
    )
    .unwrap();
    let log = dir.path().join("flows.log");
    std::fs::write(
        &log,
        format!(
            "{}\n5 123456789012 {eni} 203.0.113.5 10.0.0.5 40000 22 6 1 60 1790812800 1790812860 ACCEPT OK 2 ingress\n",
            common::V5_HEADER
        ),
    )
    .unwrap();
    let db = dir.path().join("e.db");
    succeed(
        tighten()
            .args(["ingest", "flow-logs", "--quiet", "--db"])
            .arg(&db)
            .arg(&log),
    );
    succeed(
        tighten()
            .args(["ingest", "aws-config", "--quiet", "--db"])
            .arg(&db)
            .arg(&config),
    );
    let out = dir.path().join("r.html");
    succeed(
        tighten()
            .args(["report", "--db"])
            .arg(&db)
            .arg(&tf)
            .arg("--html")
            .arg(&out),
    );
    let html = std::fs::read_to_string(&out).unwrap();
    fetches_nothing(&html);
    assert_eq!(
        charts_have_tables(&html),
        2,
        "timeline and calendar of sg-x"
    );
    for raw in ["<script>alert", "<img", "<b>x", "<i>rd"] {
        assert!(!html.contains(raw), "{raw} is not escaped");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;/code&gt;&lt;img src=x onerror=alert(2)&gt;"));
    assert!(html.contains("we&lt;i&gt;rd&amp;&quot;quote'.tf"));
    // In the calendar chart's label and in its table.
    assert!(html.matches("eni-&lt;b&gt;x&lt;/b&gt;&amp;&quot;q").count() >= 2);
}

/// 300 groups with two rules each, a month of traffic on 300 interfaces: the page stays small.
#[test]
fn a_report_for_300_groups_stays_under_5_mb() {
    const GROUPS: usize = 300;
    const DAY0: i64 = 1_790_812_800; // 2026-10-01
    let dir = tempfile::tempdir().unwrap();
    let tf = dir.path().join("tf");
    std::fs::create_dir(&tf).unwrap();
    let mut main = String::new();
    let mut state = Vec::new();
    let mut items = Vec::new();
    for g in 0..GROUPS {
        let _ = write!(
            main,
            r#"resource "aws_security_group" "g{g}" {{
  name        = "g{g}"
  description = "group {g}"
  ingress {{
    description = "ssh"
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["10.0.0.0/8"]
  }}
  ingress {{
    description = "https"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }}
}}
"#
        );
        state.push(serde_json::json!({
            "mode": "managed", "type": "aws_security_group", "name": format!("g{g}"),
            "instances": [{"schema_version": 0, "attributes": {"id": format!("sg-{g:04}")}}]
        }));
        items.push(serde_json::json!({
            "configuration": {
                "groups": [{"groupName": format!("g{g}"), "groupId": format!("sg-{g:04}")}],
                "networkInterfaceId": format!("eni-{g:04}"),
                "privateIpAddress": format!("10.1.{}.{}", g / 250, g % 250 + 1),
                "privateIpAddresses": [{"primary": true, "privateIpAddress": format!("10.1.{}.{}", g / 250, g % 250 + 1)}],
                "ipv6Addresses": [],
                "vpcId": "vpc-1",
                "status": "in-use"
            },
            "configurationItemCaptureTime": "2026-09-21T00:00:00.000Z",
            "configurationItemStatus": "OK",
            "resourceType": "AWS::EC2::NetworkInterface",
            "resourceId": format!("eni-{g:04}"),
            "awsAccountId": "123456789012",
            "awsRegion": "us-east-1"
        }));
    }
    std::fs::write(tf.join("main.tf"), main).unwrap();
    std::fs::write(
        tf.join("terraform.tfstate"),
        serde_json::json!({"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "x", "outputs": {}, "resources": state}).to_string(),
    )
    .unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        serde_json::json!({"fileVersion": "1.0", "configurationItems": items}).to_string(),
    )
    .unwrap();
    let mut log = format!("{HEADER}\n");
    for g in 0..GROUPS {
        let me = format!("10.1.{}.{}", g / 250, g % 250 + 1);
        for day in 0..30 {
            let t = DAY0 + day * 86_400 + 3600;
            for s in 0..3 {
                let _ = writeln!(
                    log,
                    "2 123456789012 eni-{g:04} 10.2.{s}.{} {me} 40000 22 6 1 60 {t} {} ACCEPT OK",
                    day + 1,
                    t + 60
                );
                let _ = writeln!(
                    log,
                    "2 123456789012 eni-{g:04} 198.51.100.{s} {me} 40001 443 6 1 60 {t} {} ACCEPT OK",
                    t + 60
                );
            }
        }
    }
    let flows = dir.path().join("flows.log");
    std::fs::write(&flows, log).unwrap();
    let db = dir.path().join("e.db");
    succeed(
        tighten()
            .args(["ingest", "flow-logs", "--quiet", "--db"])
            .arg(&db)
            .arg(&flows),
    );
    succeed(
        tighten()
            .args(["ingest", "aws-config", "--quiet", "--db"])
            .arg(&db)
            .arg(&config),
    );
    let out = dir.path().join("r.html");
    succeed(
        tighten()
            .args(["report", "--db"])
            .arg(&db)
            .arg(&tf)
            .arg("--html")
            .arg(&out),
    );
    let html = std::fs::read_to_string(&out).unwrap();
    // Every group got its two charts (the evidence reached it), and the page stays small.
    assert_eq!(charts_have_tables(&html), 2 * GROUPS);
    assert_eq!(html.matches("<section class=\"group\"").count(), GROUPS);
    let size = html.len();
    eprintln!("report for {GROUPS} groups: {} KB", size / 1024);
    // 3.9 MB when written: two rules per group, each with a finding, a proposal, its cover
    // table, top sources and the verified diff.
    assert!(size < 5 << 20, "{} KB", size / 1024);
}

/// Every finding reaches the page: an egress rule's finding, and the rules of a group that this
/// Terraform does not define (a literal `sg-…` id).
#[test]
fn findings_of_egress_rules_and_outside_groups_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    let tf = dir.path().join("tf");
    std::fs::create_dir(&tf).unwrap();
    std::fs::write(
        tf.join("main.tf"),
        r#"resource "aws_security_group" "app" {
  name        = "app"
  description = "App tier"
  egress {
    description = "anywhere out"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group_rule" "legacy_ssh" {
  type              = "ingress"
  description       = "ssh into a group made by hand"
  security_group_id = "sg-0handmade"
  protocol          = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_blocks       = ["0.0.0.0/0"]
}
"#,
    )
    .unwrap();
    // SG012 (public egress) is opt-in.
    std::fs::write(tf.join("tighten.toml"), "[checks.SG012]\nenabled = true\n").unwrap();
    let log = dir.path().join("flows.log");
    std::fs::write(
        &log,
        format!(
            "{}\n5 123456789012 eni-1 203.0.113.5 10.0.0.5 40000 22 6 1 60 1790812800 1790812860 ACCEPT OK 2 ingress\n",
            common::V5_HEADER
        ),
    )
    .unwrap();
    let db = dir.path().join("e.db");
    succeed(
        tighten()
            .args(["ingest", "flow-logs", "--quiet", "--db"])
            .arg(&db)
            .arg(&log),
    );
    let out = dir.path().join("r.html");
    succeed(
        tighten()
            .args(["report", "--db"])
            .arg(&db)
            .arg(&tf)
            .arg("--html")
            .arg(&out),
    );
    let html = std::fs::read_to_string(&out).unwrap();
    fetches_nothing(&html);
    assert!(html.contains("SG012"), "the egress rule's finding is shown");
    assert!(
        html.contains("Rules of groups defined outside this Terraform"),
        "the section of outside groups"
    );
    assert!(
        html.contains("SG001"),
        "the outside group's rule's finding is shown"
    );
    assert!(html.contains("aws_security_group_rule.legacy_ssh"));
}
