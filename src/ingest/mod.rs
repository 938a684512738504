//! Ingest stage: parsing the outside world into typed records and per-file aggregates, with
//! provenance (file and line) for every problem.

pub mod awsconfig;
pub mod evidence_csv;
pub mod files;
pub mod flowlog;
pub mod inventory;
pub mod sketch;

use std::path::PathBuf;

/// What can go wrong reading an input. Each names the input and says what to do.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum IngestError {
    #[error("{}: cannot read: {source}", path.display())]
    #[diagnostic(
        code(tighten::ingest::io),
        help("check that the path exists and is readable")
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: not a VPC flow log: {reason}", path.display())]
    #[diagnostic(
        code(tighten::ingest::not_flow_log),
        help(
            "pass flow-log text files (plain or gzip) or directories of them; nothing of this file was stored"
        )
    )]
    NotFlowLog {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{}:1: the header lacks the field `{field}`, which tighten needs", path.display())]
    #[diagnostic(
        code(tighten::ingest::missing_field),
        help(
            "add `{field}` to the flow log's custom format (needed: interface-id srcaddr dstaddr srcport dstport protocol start); nothing of this file was stored"
        )
    )]
    MissingField { path: PathBuf, field: &'static str },
    #[error("{}:{line}: {reason}", path.display())]
    #[diagnostic(
        code(tighten::ingest::malformed),
        help(
            "--strict refuses files with malformed lines; nothing of this file was stored. Run without --strict to skip and count such lines"
        )
    )]
    Strict {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{}:{line}: not an AWS Config file: {reason}", path.display())]
    #[diagnostic(
        code(tighten::ingest::not_aws_config),
        help(
            "pass AWS Config snapshot or history files (JSON, plain or gzip) or the output of `aws configservice get-resource-config-history`; nothing of this file was stored"
        )
    )]
    NotAwsConfig {
        path: PathBuf,
        line: u64,
        reason: String,
    },
}
