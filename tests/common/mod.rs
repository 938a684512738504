//! Helpers shared by the integration tests: synthetic flow records and ways to write them.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::io::Write;
use std::path::{Path, PathBuf};

pub const V5_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction";

/// Turns a store's groups back into version 6's: each names its interface by its id (text), and
/// there is no `interface` table. The store is left at version 6.
pub const GROUPS_BACK_TO_VERSION_6: &str = "
PRAGMA foreign_keys = OFF;
CREATE TABLE source_group_v6 (
    id INTEGER PRIMARY KEY,
    interface TEXT NOT NULL,
    day INTEGER NOT NULL,
    protocol INTEGER NOT NULL,
    action INTEGER NOT NULL,
    initiator INTEGER NOT NULL,
    direction INTEGER NOT NULL,
    server BLOB NOT NULL,
    server_port INTEGER NOT NULL,
    client_rows INTEGER NOT NULL,
    clients BLOB NOT NULL,
    sketch BLOB,
    UNIQUE (interface, day, protocol, action, initiator, direction, server, server_port)
);
INSERT INTO source_group_v6
    SELECT g.id, i.name, g.day, g.protocol, g.action, g.initiator, g.direction, g.server,
           g.server_port, g.client_rows, g.clients, g.sketch
    FROM source_group AS g JOIN interface AS i ON i.id = g.interface;
DROP TABLE source_group;
ALTER TABLE source_group_v6 RENAME TO source_group;
DROP TABLE interface;
PRAGMA user_version = 6;
";

/// One synthetic flow record (log-status OK unless `gap` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub interface: String,
    pub src: String,
    pub dst: String,
    pub sport: u16,
    pub dport: u16,
    pub protocol: u8,
    pub packets: u64,
    pub bytes: u64,
    pub start: i64,
    pub action: &'static str,
    /// `None` renders `-`.
    pub flags: Option<u8>,
    /// "ingress", "egress" or "-".
    pub direction: &'static str,
    /// Some("NODATA") or Some("SKIPDATA") for a gap row.
    pub gap: Option<&'static str>,
}

impl Rec {
    pub fn v5_line(&self) -> String {
        if let Some(status) = self.gap {
            return format!(
                "5 123456789012 {} - - - - - - - {} {} - {status} - -",
                self.interface,
                self.start,
                self.start + 60
            );
        }
        format!(
            "5 123456789012 {} {} {} {} {} {} {} {} {} {} {} OK {} {}",
            self.interface,
            self.src,
            self.dst,
            self.sport,
            self.dport,
            self.protocol,
            self.packets,
            self.bytes,
            self.start,
            self.start + 60,
            self.action,
            self.flags.map_or_else(|| "-".to_owned(), |f| f.to_string()),
            self.direction
        )
    }
}

/// Records as the text of one v5 file with a header line.
pub fn v5_text(recs: &[Rec]) -> String {
    let mut text = String::from(V5_HEADER);
    text.push('\n');
    for r in recs {
        text.push_str(&r.v5_line());
        text.push('\n');
    }
    text
}

/// Writes records as one v5 file with a header; gzip when the name ends in `.gz`.
pub fn write_v5(path: &Path, recs: &[Rec]) {
    write_maybe_gz(path, v5_text(recs).as_bytes());
}

pub fn write_maybe_gz(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    if path.extension().is_some_and(|e| e == "gz") {
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap();
    } else {
        std::fs::write(path, bytes).unwrap();
    }
}

/// A small deterministic generator (xorshift), so tests need no RNG crate.
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Realistic connections: both halves of inbound and outbound TCP connections with flags, later
/// intervals without flags, UDP, rejects, records without flow-direction, and gaps.
pub fn realistic(seed: u64, connections: usize) -> Vec<Rec> {
    let mut g = Gen::new(seed);
    let interfaces = [
        ("eni-aaa", "10.0.0.1"),
        ("eni-bbb", "10.0.0.2"),
        ("eni-ccc", "10.0.0.3"),
        ("eni-ddd", "fd00::4"),
    ];
    let remotes: Vec<String> = (0..40).map(|i| format!("203.0.113.{i}")).collect();
    let remotes6: Vec<String> = (0..5).map(|i| format!("2001:db8::{i:x}")).collect();
    let day0 = 1_790_812_800i64;
    let mut out = Vec::new();
    for _ in 0..connections {
        let (iface, local) = *g.pick(&interfaces);
        let remote = if local.contains(':') {
            g.pick(&remotes6).clone()
        } else {
            g.pick(&remotes).clone()
        };
        let eph = 32768 + g.below(28000) as u16;
        let start = day0 + g.below(3 * 86_400) as i64;
        let kind = g.below(10);
        let with_dir = g.below(4) != 0;
        let dir = |d: &'static str| if with_dir { d } else { "-" };
        let rec = |src: &str, dst: &str, sport, dport, protocol, flags, direction, start| Rec {
            interface: iface.to_owned(),
            src: src.to_owned(),
            dst: dst.to_owned(),
            sport,
            dport,
            protocol,
            packets: 1 + g_packets(start),
            bytes: 40 * (1 + g_packets(start)),
            start,
            action: "ACCEPT",
            flags,
            direction,
            gap: None,
        };
        match kind {
            0..=4 => {
                let port = *g.pick(&[22u16, 443, 5432, 8080]);
                out.push(rec(
                    &remote,
                    local,
                    eph,
                    port,
                    6,
                    Some(2),
                    dir("ingress"),
                    start,
                ));
                out.push(rec(
                    local,
                    &remote,
                    port,
                    eph,
                    6,
                    Some(19),
                    dir("egress"),
                    start,
                ));
                if g.below(3) == 0 {
                    out.push(rec(
                        &remote,
                        local,
                        eph,
                        port,
                        6,
                        Some(0),
                        dir("ingress"),
                        start + 60,
                    ));
                    out.push(rec(
                        local,
                        &remote,
                        port,
                        eph,
                        6,
                        Some(0),
                        dir("egress"),
                        start + 60,
                    ));
                }
            }
            5..=6 => {
                let port = *g.pick(&[443u16, 53]);
                out.push(rec(
                    local,
                    &remote,
                    eph,
                    port,
                    6,
                    Some(3),
                    dir("egress"),
                    start,
                ));
                out.push(rec(
                    &remote,
                    local,
                    port,
                    eph,
                    6,
                    Some(18),
                    dir("ingress"),
                    start,
                ));
                if g.below(2) == 0 {
                    out.push(rec(
                        &remote,
                        local,
                        port,
                        eph,
                        6,
                        Some(0),
                        dir("ingress"),
                        start + 600,
                    ));
                }
            }
            7 => {
                // DNS, or UDP between two ephemeral ports (who opened it cannot be told).
                let port = if g.below(2) == 0 {
                    53
                } else {
                    50000 + g.below(10) as u16
                };
                out.push(rec(
                    local,
                    &remote,
                    eph,
                    port,
                    17,
                    None,
                    dir("egress"),
                    start,
                ));
                out.push(rec(
                    &remote,
                    local,
                    port,
                    eph,
                    17,
                    None,
                    dir("ingress"),
                    start,
                ));
            }
            8 => {
                let mut r = rec(&remote, local, eph, 3389, 6, Some(2), dir("ingress"), start);
                r.action = "REJECT";
                out.push(r);
            }
            _ => {
                let mut r = rec("", "", 0, 0, 0, None, "-", start);
                r.gap = Some(if g.below(4) == 0 {
                    "SKIPDATA"
                } else {
                    "NODATA"
                });
                out.push(r);
            }
        }
    }
    out
}

fn g_packets(start: i64) -> u64 {
    (start as u64 * 2_654_435_761) % 50
}

pub fn tighten() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("tighten").unwrap();
    cmd.env_remove("TIGHTEN_DB").env("NO_COLOR", "1");
    cmd
}

/// Runs a command that must succeed; its stdout.
pub fn succeed(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The evidence CSV of a store.
pub fn evidence_csv(db: &Path) -> String {
    succeed(
        tighten()
            .args(["evidence", "--format", "csv", "--db"])
            .arg(db),
    )
}

pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

pub mod view;

/// Ingests the shop example's flow logs (both formats) and AWS Config files into `db`.
pub fn ingest_shop(db: &Path) {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
    for kind in ["flow-logs", "aws-config"] {
        succeed(
            tighten()
                .args(["ingest", kind, "--quiet", "--db"])
                .arg(db)
                .arg(shop.join(kind)),
        );
    }
}

/// A new store holding the shop example (in a temporary folder kept alive by the first value).
pub fn shop_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    ingest_shop(&db);
    (dir, db)
}

/// Runs git in `root` (with a throwaway identity) and asserts that it succeeds; its stdout.
pub fn git(root: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(root)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
