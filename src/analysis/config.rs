//! Analysis stage: `tighten.toml`. Found upward from the linted directory, or given with
//! `--config`. Unknown keys and bad values are located errors.
//!
//! ```toml
//! [world]
//! ipv4_prefix_max = 0        # sources this wide or wider count as "the internet"
//! ipv6_prefix_max = 0
//!
//! [ports]
//! admin = [22, 3389, "5985-5986"]
//! database = [3306, 5432]
//! http = [80]
//!
//! [evidence]               # the evidence checks of `lint --db` (defaults shown)
//! min_days = 14              # days of complete flow logs below which nothing is proposed
//! wildcard_threshold = 8     # a 0.0.0.0/0 or ::/0 rule used by more distinct sources is kept
//! max_prefixes = 4           # budget k of prefixes a narrowed source may become
//! min_prefix_len = 8         # optional: never propose a prefix wider than this
//! max_prefix_len = 28        # optional: round sources up to this prefix (default /32, /128)
//! max_port_ranges = 4        # budget of port ranges a narrowed rule may keep
//! max_fill_percent = 10      # narrow a CIDR or port range only when the cover grants at most this share
//!
//! [checks.SG005]
//! enabled = false
//!
//! [checks.SG004]
//! severity = "warning"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;

use super::{CheckCode, Severity};
use crate::model::PortRange;

/// The name looked for.
pub const FILE_NAME: &str = "tighten.toml";

/// Effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Remote-administration ports (SG001).
    pub admin_ports: Vec<PortRange>,
    /// Database, cache and search ports (SG002).
    pub database_ports: Vec<PortRange>,
    /// Plain-HTTP ports (SG004).
    pub http_ports: Vec<PortRange>,
    /// What counts as the internet.
    pub world: World,
    /// Per-check overrides.
    pub checks: BTreeMap<CheckCode, CheckConfig>,
    /// Settings of the evidence checks.
    pub evidence: EvidenceSettings,
    /// The file read, if any.
    pub path: Option<PathBuf>,
}

/// Widest prefixes that count as "the internet".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct World {
    /// IPv4 prefix length at or below which a CIDR is public (default 0: only `0.0.0.0/0`).
    pub ipv4_prefix_max: u8,
    /// IPv6 prefix length at or below which a CIDR is public (default 0: only `::/0`).
    pub ipv6_prefix_max: u8,
}

/// Settings of the evidence checks (`[evidence]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceSettings {
    /// Days of complete flow-log coverage below which the evidence checks propose nothing.
    pub min_days: u32,
    /// A wildcard rule used by more distinct sources than this is accepted as it is.
    pub wildcard_threshold: u64,
    /// Budget of prefixes a narrowed source may become.
    pub max_prefixes: usize,
    /// No proposed prefix is wider than this.
    pub min_prefix_len: Option<u8>,
    /// No proposed prefix is narrower than this (sources are rounded up to it).
    pub max_prefix_len: Option<u8>,
    /// Budget of port ranges a narrowed rule may keep.
    pub max_port_ranges: usize,
    /// A CIDR or port range is narrowed only when the cover grants at most this percentage of it.
    pub max_fill_percent: u8,
    /// Inbound rule entries a group may hold (the AWS default quota).
    pub rules_per_group: usize,
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        Self {
            min_days: 14,
            wildcard_threshold: 8,
            max_prefixes: 4,
            min_prefix_len: None,
            max_prefix_len: None,
            max_port_ranges: 4,
            max_fill_percent: 10,
            rules_per_group: 60,
        }
    }
}

/// Per-check settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckConfig {
    /// `false` turns the check off.
    pub enabled: Option<bool>,
    /// Replaces the default severity.
    pub severity: Option<Severity>,
}

fn ranges(list: &[(i64, i64)]) -> Vec<PortRange> {
    list.iter().map(|(a, b)| PortRange::new(*a, *b)).collect()
}

impl Default for Config {
    fn default() -> Self {
        Self {
            admin_ports: ranges(&[(22, 22), (23, 23), (3389, 3389), (5900, 5900), (5985, 5986)]),
            database_ports: ranges(&[
                (1433, 1433),
                (1521, 1521),
                (2375, 2376),
                (2379, 2379),
                (3306, 3306),
                (5432, 5432),
                (5984, 5984),
                (6379, 6379),
                (7000, 7001),
                (9042, 9042),
                (9200, 9200),
                (9300, 9300),
                (11211, 11211),
                (27017, 27019),
            ]),
            http_ports: ranges(&[(80, 80)]),
            world: World {
                ipv4_prefix_max: 0,
                ipv6_prefix_max: 0,
            },
            checks: BTreeMap::new(),
            evidence: EvidenceSettings::default(),
            path: None,
        }
    }
}

impl Config {
    /// Whether `code` runs.
    pub fn enabled(&self, code: CheckCode) -> bool {
        self.checks
            .get(&code)
            .and_then(|c| c.enabled)
            .unwrap_or(code.meta().default_enabled)
    }

    /// The severity `code` reports with.
    pub fn severity(&self, code: CheckCode) -> Severity {
        self.checks
            .get(&code)
            .and_then(|c| c.severity)
            .unwrap_or(code.meta().severity)
    }

    /// Finds `tighten.toml` in `dir` or a parent directory.
    pub fn find(dir: &Path) -> Option<PathBuf> {
        let start = if dir.is_file() { dir.parent()? } else { dir };
        let abs = std::path::absolute(start).ok()?;
        abs.ancestors()
            .map(|d| d.join(FILE_NAME))
            .find(|p| p.is_file())
    }

    /// Reads and validates a config file.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut c = Self::parse(&text, &path.display().to_string())?;
        c.path = Some(path.to_path_buf());
        Ok(c)
    }

    /// Parses config text; `name` is used in errors.
    pub fn parse(text: &str, name: &str) -> Result<Self, ConfigError> {
        let bad = |message: String, span: Option<std::ops::Range<usize>>| ConfigError::Invalid {
            message,
            src: NamedSource::new(name, text.to_owned()),
            at: span.map(SourceSpan::from),
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| bad(e.message().to_owned(), e.span()))?;
        let mut c = Self::default();
        if let Some(w) = raw.world {
            c.world.ipv4_prefix_max = w.ipv4_prefix_max.unwrap_or(0);
            c.world.ipv6_prefix_max = w.ipv6_prefix_max.unwrap_or(0);
        }
        if let Some(p) = raw.ports {
            for (list, target) in [
                (p.admin, &mut c.admin_ports),
                (p.database, &mut c.database_ports),
                (p.http, &mut c.http_ports),
            ] {
                if let Some(list) = list {
                    *target = list
                        .into_iter()
                        .map(|spec| {
                            spec.parse().ok_or_else(|| {
                                bad(
                                    format!(
                                        "`{}` is not a port or a range like \"5985-5986\"",
                                        spec.text()
                                    ),
                                    locate(text, &spec.text()),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
            }
        }
        if let Some(e) = raw.evidence {
            let d = &mut c.evidence;
            let positive = |v: u64, key: &str| {
                if (1..=64).contains(&v) {
                    Ok(v)
                } else {
                    Err(bad(
                        format!("`{key}` must be between 1 and 64"),
                        locate(text, key),
                    ))
                }
            };
            if let Some(v) = e.min_days {
                d.min_days = v;
            }
            if let Some(v) = e.wildcard_threshold {
                d.wildcard_threshold = v;
            }
            if let Some(v) = e.max_prefixes {
                d.max_prefixes = positive(v, "max_prefixes")? as usize;
            }
            if let Some(v) = e.max_port_ranges {
                d.max_port_ranges = positive(v, "max_port_ranges")? as usize;
            }
            if let Some(v) = e.max_fill_percent {
                if v > 100 {
                    return Err(bad(
                        "`max_fill_percent` is a percentage (0-100)".to_owned(),
                        locate(text, "max_fill_percent"),
                    ));
                }
                d.max_fill_percent = v;
            }
            for (key, value, target) in [
                ("min_prefix_len", e.min_prefix_len, &mut d.min_prefix_len),
                ("max_prefix_len", e.max_prefix_len, &mut d.max_prefix_len),
            ] {
                if let Some(v) = value {
                    if v > 128 {
                        return Err(bad(
                            format!("`{key}` must be a prefix length (0-128)"),
                            locate(text, key),
                        ));
                    }
                    *target = Some(v);
                }
            }
            if let (Some(a), Some(b)) = (d.min_prefix_len, d.max_prefix_len)
                && a > b
            {
                return Err(bad(
                    "`min_prefix_len` is larger than `max_prefix_len`".to_owned(),
                    locate(text, "min_prefix_len"),
                ));
            }
        }
        for (key, check) in raw.checks.unwrap_or_default() {
            let code = CheckCode::parse(&key).ok_or_else(|| {
                bad(
                    format!("unknown check `{key}` (see `tighten explain`)"),
                    locate(text, &key),
                )
            })?;
            c.checks.insert(
                code,
                CheckConfig {
                    enabled: check.enabled,
                    severity: check.severity,
                },
            );
        }
        Ok(c)
    }
}

fn locate(text: &str, needle: &str) -> Option<std::ops::Range<usize>> {
    text.find(needle).map(|i| i..i + needle.len())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    world: Option<RawWorld>,
    ports: Option<RawPorts>,
    evidence: Option<RawEvidence>,
    checks: Option<BTreeMap<String, RawCheck>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    min_days: Option<u32>,
    wildcard_threshold: Option<u64>,
    max_prefixes: Option<u64>,
    min_prefix_len: Option<u8>,
    max_prefix_len: Option<u8>,
    max_port_ranges: Option<u64>,
    max_fill_percent: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorld {
    ipv4_prefix_max: Option<u8>,
    ipv6_prefix_max: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPorts {
    admin: Option<Vec<PortSpec>>,
    database: Option<Vec<PortSpec>>,
    http: Option<Vec<PortSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    enabled: Option<bool>,
    severity: Option<Severity>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PortSpec {
    Number(i64),
    Range(String),
}

impl PortSpec {
    fn text(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Range(s) => s.clone(),
        }
    }

    fn parse(&self) -> Option<PortRange> {
        let (a, b) = match self {
            Self::Number(n) => (*n, *n),
            Self::Range(s) => {
                let (a, b) = s.split_once('-').unwrap_or((s, s));
                (a.trim().parse().ok()?, b.trim().parse().ok()?)
            }
        };
        ((0..=65535).contains(&a) && (0..=65535).contains(&b) && a <= b)
            .then(|| PortRange::new(a, b))
    }
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    /// Unreadable.
    #[error("cannot read {path}")]
    #[diagnostic(code(tighten::config::io))]
    Io {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A bad key or value.
    #[error("invalid tighten.toml: {message}")]
    #[diagnostic(code(tighten::config::invalid))]
    Invalid {
        /// What is wrong.
        message: String,
        /// The file.
        #[source_code]
        src: NamedSource<String>,
        /// Where.
        #[label("here")]
        at: Option<SourceSpan>,
    },
}
