//! `tighten ingest flow-logs`: files and directories of flow logs into the evidence store.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::Outcome;
use super::progress::Progress;
use crate::ingest::IngestError;
use crate::ingest::flowlog::parallel::{self, Job};
use crate::ingest::flowlog::{Layout, ReadOptions, Shape, walk};
use crate::store::{Committed, DEFAULT_SOURCE_CAP, FileFacts, LedgerEntry, Store};

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
    /// The evidence store (`SQLite` file); created when missing.
    #[arg(long, env = "TIGHTEN_DB", default_value = ".tighten/evidence.db")]
    pub(crate) db: PathBuf,
    /// Files, directories (walked recursively; .log, .log.gz, .gz, .txt, .parquet and files
    /// without an extension are tried, others skipped; Parquet is recognised by its content) or `s3://bucket/prefix` (default and Hive-style key
    /// layouts; objects pruned by the date in their key with --since/--until).
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
    /// of version 3, 4, 5, 7 or 8 in AWS's order (21, 25, 29, 39 or 40 fields). A file with a
    /// header line is read by its header.
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

/// What one ingest run did, for its summary line.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) stored: u64,
    pub(crate) records: u64,
    pub(crate) malformed: u64,
    pub(crate) rows: u64,
    pub(crate) unchanged: u64,
    pub(crate) duplicates: u64,
    pub(crate) skipped: u64,
    pub(crate) pruned: u64,
    pub(crate) failed: u64,
    /// Files ingested before that grew: only their new records were added.
    pub(crate) continued: u64,
    /// Files ingested with --accept-incomplete whose compressed stream was cut short.
    pub(crate) incomplete: u64,
}

impl Report {
    pub(crate) fn line(&self) -> String {
        let mut line = format!(
            "ingested {} file{} ({} records, {} malformed lines skipped, {} rows merged)",
            self.stored,
            if self.stored == 1 { "" } else { "s" },
            self.records,
            self.malformed,
            self.rows
        );
        for (n, what) in [
            (
                self.continued,
                "ingested before and since grown (only the new records added)",
            ),
            (self.incomplete, "incomplete (marked so in the ledger)"),
            (self.unchanged, "already ingested, unchanged"),
            (self.duplicates, "same content as an ingested file"),
            (self.skipped, "skipped for their extension or key"),
            (self.pruned, "S3 objects outside --since/--until"),
            (self.failed, "failed"),
        ] {
            if n > 0 {
                let _ = write!(line, "; {n} {what}");
            }
        }
        line
    }
}

pub(crate) fn ingest_flow_logs(args: &FlowLogsArgs) -> miette::Result<Report> {
    let (s3_urls, local): (Vec<PathBuf>, Vec<PathBuf>) = args
        .sources
        .iter()
        .cloned()
        .partition(|s| super::aws_sources::is_s3(s));
    let log_format = args
        .log_format
        .as_deref()
        .map(Layout::from_log_format)
        .transpose()
        .map_err(|problem| LogFormatArg { problem })?;
    let walked = walk(&local)?;
    let mut store = Store::open(&args.db, args.source_cap)?;
    let mut report = Report {
        skipped: walked.skipped.len() as u64,
        ..Report::default()
    };
    let mut jobs = Vec::new();
    for path in walked.files {
        let mut job = job_for(&path).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        match store.previous_of(&job.source)? {
            Some(p) if p.size == job.size && p.mtime == job.mtime => report.unchanged += 1,
            previous => {
                job.previous = previous;
                jobs.push(job);
            }
        }
    }
    let known = store.known_hashes()?;
    let options = ReadOptions {
        part_rows: args.part_rows,
        source_cap: args.source_cap.max(1),
        strict: args.strict,
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let shape = Shape {
        layout: log_format.as_ref(),
        accept_incomplete: args.accept_incomplete,
        counted: None,
    };
    // Headerless files read as all fields of a version: (files, first file) per version.
    let mut assumed = std::collections::BTreeMap::<u8, (u64, PathBuf)>::new();
    let progress = Progress::bytes(jobs.iter().map(|j| j.size).sum(), args.quiet);
    let result = parallel::read_all(
        &jobs,
        &known,
        options,
        shape,
        threads,
        &|n| progress.bytes_read(n),
        |outcome| -> miette::Result<()> {
            match outcome {
                parallel::Outcome::Part { hash, evidence, .. } => {
                    store.write_part(&hash, *evidence)?;
                }
                parallel::Outcome::Read { job, hash, read } => {
                    for (line, reason) in &read.problems {
                        progress
                            .println(&format!("warning: {}:{line}: {reason}", job.path.display()));
                    }
                    let hidden = read
                        .evidence
                        .malformed_total()
                        .saturating_sub(read.problems.len() as u64);
                    if hidden > 0 {
                        progress.println(&format!(
                            "warning: {}: {hidden} more malformed lines",
                            job.path.display()
                        ));
                    }
                    for note in &read.notes {
                        progress.println(&format!("note: {note}"));
                    }
                    if let Some(version) = read.assumed {
                        // Named by the first file in name order, whatever order workers finish in.
                        let seen = assumed.entry(version).or_insert((0, job.path.clone()));
                        seen.0 += 1;
                        if job.path < seen.1 {
                            seen.1.clone_from(&job.path);
                        }
                    }
                    let entry = LedgerEntry {
                        kind: "flow-log",
                        source: job.source.clone(),
                        size: job.size,
                        mtime: job.mtime,
                        content_hash: hash,
                        fields: read.fields.clone(),
                    };
                    let facts = FileFacts {
                        incomplete: read.incomplete,
                        counted: Some(read.counted.clone()),
                        continues: job.previous.as_ref().map(|p| p.id),
                    };
                    let (records, malformed) =
                        (read.evidence.records, read.evidence.malformed_total());
                    match store.commit_file_with(&entry, read.evidence, &facts)? {
                        Committed::Stored { rows } => {
                            report.stored += 1;
                            report.records += records;
                            report.malformed += malformed;
                            report.rows += rows as u64;
                            report.continued += u64::from(facts.continues.is_some());
                            if read.incomplete {
                                report.incomplete += 1;
                                progress.println(&format!(
                                    "warning: {}: incomplete (the compressed stream ends before its end marker): its {records} whole records were ingested and the file is marked incomplete in the ledger; when the complete file arrives at this path, only the records after them are added",
                                    job.path.display()
                                ));
                            }
                        }
                        Committed::Duplicate { .. } => report.duplicates += 1,
                    }
                    progress.file_done(0, records);
                }
                parallel::Outcome::KnownContent { job, hash } => {
                    // Only the mtime changed: the same content at the same path.
                    if job
                        .previous
                        .as_ref()
                        .is_some_and(|p| p.content_hash == hash)
                    {
                        report.unchanged += 1;
                    } else {
                        report.duplicates += 1;
                    }
                    progress.file_done(job.size, 0);
                }
                parallel::Outcome::Failed { error, .. } => {
                    store.abort_parts();
                    report.failed += 1;
                    progress.println(&format!("{:?}", miette::Report::new(error)));
                    progress.file_done(0, 0);
                }
            }
            Ok(())
        },
    );
    progress.finish();
    for (version, (files, first)) in &assumed {
        let fields = crate::ingest::flowlog::format::ALL_FIELDS_WIDTHS
            .iter()
            .find(|(_, v)| v == version)
            .map_or(0, |(w, _)| *w);
        let which = if *files == 1 {
            format!("{} has", first.display())
        } else {
            format!("{files} files (the first: {}) have", first.display())
        };
        eprintln!(
            "note: {which} no header line and {fields} fields: read as all fields of version {version} in AWS's documented order; pass --log-format if your flow log uses a custom format"
        );
    }
    result?;
    if !s3_urls.is_empty() {
        let quiet = args.quiet;
        super::aws_sources::flow_logs(&mut store, &s3_urls, &args.s3, options, quiet, &mut report)?;
    }
    Ok(report)
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

fn job_for(path: &Path) -> std::io::Result<Job> {
    let meta = std::fs::metadata(path)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    let source = std::fs::canonicalize(path)?.display().to_string();
    Ok(Job {
        path: path.to_owned(),
        source,
        size: meta.len(),
        mtime,
        previous: None,
    })
}
