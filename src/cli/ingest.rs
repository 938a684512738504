//! `tighten ingest flow-logs`: files, directories, `s3://` prefixes and CloudWatch Logs groups of
//! flow logs into the evidence store (arguments here; the run is `sources::flow_logs`).

use std::path::PathBuf;

use super::Outcome;
use super::progress::Progress;
use crate::ingest::flowlog::ReadOptions;
use crate::sources::{Observer, Report, RunOptions};
use crate::store::{DEFAULT_SOURCE_CAP, Store};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum IngestCommand {
    /// VPC Flow Logs: text files, plain or gzip, with or without a header line.
    FlowLogs(FlowLogsArgs),
    /// AWS Config snapshots and history: which groups and addresses each interface had, when.
    AwsConfig(super::ingest_config::AwsConfigArgs),
    /// A live, read-only snapshot of network interfaces and security groups (EC2 Describe calls).
    Ec2(super::aws_sources::Ec2Args),
}

#[derive(Debug, clap::Args)]
pub(crate) struct FlowLogsArgs {
    /// The evidence store (`SQLite` file); created when missing.
    #[arg(long, env = "TIGHTEN_DB", default_value = ".tighten/evidence.db")]
    pub(crate) db: PathBuf,
    /// Files, directories (walked recursively; .log, .log.gz, .gz, .txt and files without an
    /// extension are tried, others skipped), `s3://bucket/prefix` (default and Hive-style key
    /// layouts; objects pruned by the date in their key with --since/--until) or
    /// `cloudwatch://LOG_GROUP[:STREAM_PREFIX]` (CloudWatch Logs; only events not read before).
    #[arg(required = true)]
    pub(crate) sources: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) s3: super::aws_sources::S3Options,
    /// Refuse a file with any malformed line (nothing of it is stored).
    #[arg(long)]
    pub(crate) strict: bool,
    /// Exact sources kept per interface, day and service port before they are folded into one
    /// "many sources" row with an estimated distinct count.
    #[arg(long, default_value_t = DEFAULT_SOURCE_CAP)]
    pub(crate) source_cap: usize,
    /// Rows after which a file's aggregate is stored in parts (within the file's transaction), so
    /// that memory stays bounded whatever the size of one file.
    #[arg(long, default_value_t = DEFAULT_PART_ROWS, hide = true)]
    pub(crate) part_rows: usize,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// About 50 MB of aggregate per worker: 128 MB peak for a whole ingest on two workers (100k
/// rows gave 78 MB, but re-reading the groups a file's earlier parts wrote cost 8 % more work).
pub(crate) const DEFAULT_PART_ROWS: usize = 200_000;

pub(crate) fn run(cmd: IngestCommand) -> miette::Result<Outcome> {
    match cmd {
        IngestCommand::AwsConfig(args) => super::ingest_config::run(&args),
        IngestCommand::Ec2(args) => super::aws_sources::ec2(&args),
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
    let mut store = Store::open(&args.db, args.source_cap)?;
    let options = RunOptions {
        threads: args.threads.unwrap_or(0),
        read: ReadOptions {
            part_rows: args.part_rows,
            source_cap: args.source_cap.max(1),
            strict: args.strict,
            log_format: None,
        },
        ..args.s3.run_options()
    };
    let progress = Progress::bytes(0, args.quiet);
    let report = crate::sources::flow_logs(&mut store, &sources, &options, &progress);
    progress.finish();
    report
}
