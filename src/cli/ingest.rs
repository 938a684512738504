//! `tighten ingest flow-logs`: files, directories, `s3://` prefixes and CloudWatch Logs groups of
//! flow logs into the evidence store (arguments here; the run is `sources::flow_logs`).

use std::path::PathBuf;

use super::Outcome;
use super::progress::Progress;
use crate::ingest::flowlog::{Layout, ReadOptions};
use crate::sources::{Observer, Report, RunOptions};
use crate::store::{DEFAULT_SOURCE_CAP, Store};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum IngestCommand {
    /// VPC Flow Logs: text files, plain or gzip, with or without a header line, and Parquet.
    FlowLogs(FlowLogsArgs),
    /// AWS Config snapshots and history: which groups and addresses each interface had, when.
    AwsConfig(super::ingest_config::AwsConfigArgs),
    /// A live, read-only snapshot of network interfaces and security groups (EC2 Describe calls).
    Ec2(super::aws_sources::Ec2Args),
    /// The result of the query `tighten athena-sql` prints (CSV as Athena writes it, gzip
    /// optional), from files or the Athena output location `s3://…`.
    Evidence(super::ingest_evidence::EvidenceArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct FlowLogsArgs {
    /// The evidence store (SQLite file); created when missing.
    #[arg(long, env = "TIGHTEN_DB", default_value = ".tighten/evidence.db")]
    pub(crate) db: PathBuf,
    /// Files, directories (walked recursively; .log, .log.gz, .gz, .txt, .parquet and files
    /// without an extension are tried, others skipped; Parquet is recognised by its content),
    /// `s3://bucket/prefix` (default and Hive-style key layouts; objects pruned by the date in
    /// their key with --since/--until) or
    /// `cloudwatch://LOG_GROUP[:STREAM_PREFIX]` (CloudWatch Logs; only events not read before).
    #[arg(required = true)]
    pub(crate) sources: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) s3: super::aws_sources::S3Options,
    /// Refuse a file with any malformed line (nothing of it is stored).
    #[arg(long)]
    pub(crate) strict: bool,
    /// The flow log's format, for files without a header line, as AWS prints it
    /// (`aws ec2 describe-flow-logs --query 'FlowLogs[].LogFormat'`): '${version} ${account-id} …'.
    /// Without it a headerless file is read as AWS's default format (14 fields) or as all fields
    /// of version 3, 4, 5, 7 or 8 in AWS's order (21, 25, 29, 39 or 40 fields); S3 objects and
    /// CloudWatch Logs groups use their flow log's format when `ec2:DescribeFlowLogs` gives it. A
    /// file with a header line is read by its header.
    #[arg(long, value_name = "FORMAT")]
    pub(crate) log_format: Option<String>,
    /// Ingest the whole records of a compressed file that ends before its end marker (an
    /// interrupted download) and mark it incomplete in the ledger, instead of refusing it. When
    /// the complete file later arrives at the same path, only the records after them are added.
    #[arg(long)]
    pub(crate) accept_incomplete: bool,
    /// Exact sources kept per interface, day and service port before they are folded into one
    /// "many sources" row with an estimated distinct count.
    #[arg(long, default_value_t = DEFAULT_SOURCE_CAP)]
    pub(crate) source_cap: usize,
    /// Rows after which a file's aggregate is stored in parts (within the file's transaction), so
    /// that memory stays bounded whatever the size of one file.
    #[arg(long, default_value_t = DEFAULT_PART_ROWS, hide = true)]
    pub(crate) part_rows: usize,
    /// Seconds of work committed together: files are stored in batches, one transaction each
    /// (a kill loses at most the open batch; its files are not in the ledger and a rerun reads
    /// them again). 0 commits every file on its own, which writes more.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = commit_interval)]
    pub(crate) commit_interval: f64,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

fn commit_interval(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=3600.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "'{text}' is not a number of seconds from 0 to 3600 (0: commit every file)"
        )),
    }
}

/// About 50 MB of aggregate per worker: 128 MB peak for a whole ingest on two workers (100k
/// rows gave 78 MB, but re-reading the groups a file's earlier parts wrote cost 8 % more work).
pub(crate) const DEFAULT_PART_ROWS: usize = 200_000;

pub(crate) fn run(cmd: IngestCommand) -> miette::Result<Outcome> {
    match cmd {
        IngestCommand::AwsConfig(args) => super::ingest_config::run(&args),
        IngestCommand::Ec2(args) => super::aws_sources::ec2(&args),
        IngestCommand::Evidence(args) => super::ingest_evidence::run(&args),
        IngestCommand::FlowLogs(args) => {
            let report = ingest_flow_logs(&args)?;
            if !args.quiet {
                eprintln!("{}", report.line());
            }
            Ok(if report.failed > 0 {
                Outcome::PartialFailure
            } else {
                Outcome::Success
            })
        }
    }
}

/// The progress bar hears the run.
impl Observer for Progress {
    fn add_total(&self, bytes: u64) {
        self.add_length(bytes);
    }
    fn bytes_read(&self, bytes: u64) {
        Progress::bytes_read(self, bytes);
    }
    fn object_done(&self, unreported: u64, records: u64) {
        self.file_done(unreported, records);
    }
    fn note(&self, line: &str) {
        self.println(line);
    }
}

pub(crate) fn ingest_flow_logs(args: &FlowLogsArgs) -> miette::Result<Report> {
    let sources = super::aws_sources::parse_sources(&args.sources)?;
    let log_format = args
        .log_format
        .as_deref()
        .map(Layout::from_log_format)
        .transpose()
        .map_err(|problem| LogFormatArg { problem })?;
    let mut store = Store::open(&args.db, args.source_cap)?;
    store.set_commit_interval(std::time::Duration::from_secs_f64(args.commit_interval));
    let options = RunOptions {
        threads: args.threads.unwrap_or(0),
        read: ReadOptions {
            part_rows: args.part_rows,
            source_cap: args.source_cap.max(1),
            strict: args.strict,
        },
        log_format,
        accept_incomplete: args.accept_incomplete,
        ..args.s3.run_options()
    };
    let progress = Progress::bytes(0, args.quiet);
    let report = crate::sources::flow_logs(&mut store, &sources, &options, &progress);
    progress.finish();
    report
}

/// A `--log-format` that cannot be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("--log-format: {problem}")]
#[diagnostic(
    code(tighten::ingest::log_format),
    help(
        "pass the flow log's format as AWS prints it, e.g. --log-format '${{version}} ${{account-id}} ${{interface-id}} ${{srcaddr}} ${{dstaddr}} ${{srcport}} ${{dstport}} ${{protocol}} ${{packets}} ${{bytes}} ${{start}} ${{end}} ${{action}} ${{log-status}}' (aws ec2 describe-flow-logs --query 'FlowLogs[].LogFormat')"
    )
)]
pub(crate) struct LogFormatArg {
    problem: crate::ingest::flowlog::LogFormatError,
}
