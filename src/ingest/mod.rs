//! Ingest stage: parsing the outside world into typed records and per-file aggregates, with
//! provenance (file and line) for every problem.

pub mod awsconfig;
pub mod config_messages;
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
    #[error("{}:{line}: the header lacks the field `{field}`, which tighten needs", path.display())]
    #[diagnostic(
        code(tighten::ingest::missing_field),
        help(
            "add `{field}` to the flow log's custom format (needed: interface-id srcaddr dstaddr srcport dstport protocol start); nothing of this file was stored"
        )
    )]
    MissingField {
        path: PathBuf,
        line: u64,
        field: &'static str,
    },
    #[error("{}:{line}: a transit-gateway flow log ({what}): it describes gateway attachments, not network interfaces, and carries no security-group information", path.display())]
    #[diagnostic(
        code(tighten::ingest::transit_gateway),
        help(
            "pass VPC flow logs of the VPCs, subnets or network interfaces behind the security groups (resource type VPC, Subnet or NetworkInterface); nothing of this file was stored"
        )
    )]
    TransitGateway {
        path: PathBuf,
        line: u64,
        what: String,
    },
    #[error("{}: incomplete: the compressed stream ends before its end marker, after {lines} whole lines (an interrupted download?)", path.display())]
    #[diagnostic(
        code(tighten::ingest::incomplete),
        help(
            "nothing of this file was stored and it is not in the ledger: download it again and rerun (the complete file is then read as new). Or pass --accept-incomplete to keep its whole records now; the file is then marked incomplete in the ledger, and when the complete file arrives at the same path only the records after them are added"
        )
    )]
    Incomplete { path: PathBuf, lines: u64 },
    #[error("{}:{line}: the compressed data is corrupt ({reason})", path.display())]
    #[diagnostic(
        code(tighten::ingest::corrupt),
        help("nothing of this file was stored and it is not in the ledger: fetch the file again")
    )]
    Corrupt {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{}: changed since it was ingested{since}: {change}; its content does not continue what was counted then", path.display())]
    #[diagnostic(
        code(tighten::ingest::changed),
        help(
            "its earlier records are in the store and cannot be taken out, so it was not ingested again (nothing of it was stored). If it is another delivery that reuses the name, give it a name of its own and ingest it; if it replaces the earlier content, build a new store from the final files (`tighten ingest flow-logs --db NEW.db …`)"
        )
    )]
    Changed {
        path: PathBuf,
        /// ` on DATE (size A → B bytes, …)`, or empty when unknown.
        since: String,
        change: String,
    },
    #[error("{}: the Parquet file has no column `{column}`, which tighten needs", path.display())]
    #[diagnostic(
        code(tighten::ingest::missing_column),
        help(
            "AWS names Parquet columns after the flow-log fields with `_` for `-`; add the field to the flow log's format (needed: interface_id srcaddr dstaddr srcport dstport protocol start); nothing of this file was stored"
        )
    )]
    MissingColumn { path: PathBuf, column: String },
    #[error("{}: cannot read the Parquet file: {reason}", path.display())]
    #[diagnostic(
        code(tighten::ingest::parquet),
        help(
            "the file starts with the Parquet magic bytes `PAR1` but is truncated, corrupt or not a flow log (columns are INT32, INT64 or strings, one value per row; codecs: uncompressed, gzip, snappy); nothing of this file was stored"
        )
    )]
    Parquet { path: PathBuf, reason: String },
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
            "pass AWS Config snapshot or history files (JSON, plain or gzip), the output of `aws configservice get-resource-config-history`, or configuration item change notifications (SNS, SQS or EventBridge messages, one per line or an array); nothing of this file was stored"
        )
    )]
    NotAwsConfig {
        path: PathBuf,
        line: u64,
        reason: String,
    },
}
