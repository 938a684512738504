//! Ingest stage, live AWS: read-only S3 listing/fetching and CloudWatch Logs events through the
//! AWS SDK, EC2 `Describe*` snapshots and flow-log formats through a small Query-protocol client
//! (`ec2_query`). Owns the client set-up (credential chain, region, endpoint, timeouts, retries),
//! the guard that lets only read-only operations out, and the mapping of failures to diagnostics.
//!
//! The API is synchronous: [`Aws`] owns a single-threaded tokio runtime that a background thread
//! drives (so downloads go on while the caller's thread parses what arrived), and the calling
//! thread blocks on it. Nothing here writes to disk.

mod ec2;
mod ec2_query;
mod error;
mod guard;
mod keys;
mod logs;
mod s3;

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

pub use ec2::{Ec2Snapshot, FlowLogFilter, FlowLogFormat, PrefixList};
pub use ec2_query::{Filter, FlowLogInfo};
pub use error::AwsError;
pub use guard::READ_ONLY_OPERATIONS;
pub use keys::{KeyInfo, KeyKind, KeyParse, days_from_civil, parse_key, parse_s3_url};
pub use logs::{EventPage, EventQuery, LogEvent, LogStream, STREAMS_PER_QUERY};
pub use s3::{DEFAULT_CONCURRENCY, FetchStats, S3Listing, S3Object};

/// Where and as whom to call AWS. Flattened into the commands that read S3 or EC2.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsOptions {
    /// AWS region (default: from the environment or profile). Repeat for `ingest ec2` to
    /// snapshot several regions; S3 uses the first.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Named profile from ~/.aws/config (SSO, role assumption and `credential_process` work).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send requests to this endpoint instead of AWS (an S3-compatible store, a VPC endpoint,
    /// a local test server). S3 then uses path-style addressing (`URL/bucket/key`).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// How long one TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the first byte of a response.
const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on one attempt (an S3 object download included), and on one call with its retries.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(300);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(900);
/// Attempts per call, the first included: throttling and transient errors are retried with
/// exponential backoff (the SDK's standard mode), then reported.
const MAX_ATTEMPTS: u32 = 3;

/// Timeouts and retries, adjustable so that the fault tests need not wait for the real bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub attempt_timeout: Duration,
    pub operation_timeout: Duration,
    pub max_attempts: u32,
    /// First backoff step; the SDK doubles it per attempt, with jitter.
    pub initial_backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect_timeout: CONNECT_TIMEOUT,
            read_timeout: READ_TIMEOUT,
            attempt_timeout: ATTEMPT_TIMEOUT,
            operation_timeout: OPERATION_TIMEOUT,
            max_attempts: MAX_ATTEMPTS,
            initial_backoff: Duration::from_secs(1),
        }
    }
}

/// A connection to AWS: resolved configuration, the runtime the SDK runs on, and the log of the
/// operations sent (for the read-only proof and for `--verbose` style reporting).
#[derive(Debug)]
pub struct Aws {
    config: SdkConfig,
    /// The regions to snapshot; never empty.
    regions: Vec<String>,
    endpoint_url: Option<String>,
    limits: Limits,
    guard: Arc<guard::ReadOnlyGuard>,
    ec2: ec2_query::Ec2Query,
    /// Last: dropped after everything that may hold connections of it.
    runtime: Driver,
}

impl Aws {
    /// Resolves configuration (region, credentials provider chain) without calling AWS yet:
    /// missing credentials show up at the first call.
    pub fn connect(options: &AwsOptions) -> Result<Self, AwsError> {
        Self::connect_with(options, Limits::default())
    }

    /// [`Aws::connect`] with other timeouts and retry bounds.
    pub fn connect_with(options: &AwsOptions, limits: Limits) -> Result<Self, AwsError> {
        let runtime = Driver::start().map_err(|source| AwsError::Runtime { source })?;
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(limits.connect_timeout)
                    .read_timeout(limits.read_timeout)
                    .operation_attempt_timeout(limits.attempt_timeout)
                    .operation_timeout(limits.operation_timeout)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(limits.max_attempts.max(1))
                    .with_initial_backoff(limits.initial_backoff),
            );
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = options.regions.first() {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = runtime.block_on(loader.load());
        let regions = if options.regions.is_empty() {
            match config.region() {
                Some(region) => vec![region.to_string()],
                None => return Err(AwsError::NoRegion),
            }
        } else {
            dedup_keep_order(&options.regions)
        };
        let guard = Arc::new(guard::ReadOnlyGuard::default());
        // The SDK's precedence: the option, then the EC2-specific variable, then the general one
        // (which the loader put into the configuration, like a profile's `endpoint_url`).
        let ec2_endpoint = options
            .endpoint_url
            .clone()
            .or_else(|| {
                std::env::var("AWS_ENDPOINT_URL_EC2")
                    .ok()
                    .filter(|url| !url.is_empty())
            })
            .or_else(|| config.endpoint_url().map(str::to_owned));
        let ec2 = ec2_query::Ec2Query::new(
            config.credentials_provider(),
            ec2_endpoint,
            limits,
            Arc::clone(&guard),
        );
        Ok(Self {
            config,
            regions,
            endpoint_url: options.endpoint_url.clone(),
            limits,
            guard,
            ec2,
            runtime,
        })
    }

    /// The regions this connection covers (`--region` in order, or the configured default).
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// Every operation attempt sent so far, as `Service.Operation` (`S3.ListObjectsV2`), in
    /// order; retries appear once per attempt.
    pub fn operations_sent(&self) -> Vec<String> {
        self.guard.sent()
    }

    /// The endpoint, for messages: the override, or AWS itself.
    fn endpoint_name(&self) -> String {
        self.endpoint_url
            .clone()
            .unwrap_or_else(|| "the AWS endpoint".to_owned())
    }

    fn s3_client(&self) -> aws_sdk_s3::Client {
        let mut builder = aws_sdk_s3::config::Builder::from(&self.config)
            .interceptor(guard::SharedGuard(Arc::clone(&self.guard)));
        if self.endpoint_url.is_some() {
            builder = builder.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(builder.build())
    }

    fn logs_client(&self) -> aws_sdk_cloudwatchlogs::Client {
        let builder = aws_sdk_cloudwatchlogs::config::Builder::from(&self.config)
            .interceptor(guard::SharedGuard(Arc::clone(&self.guard)));
        aws_sdk_cloudwatchlogs::Client::from_conf(builder.build())
    }
}

/// A current-thread runtime driven by its own thread until dropped. Calls block on its handle
/// from the caller's thread; spawned tasks (downloads) run on the driver thread meanwhile.
#[derive(Debug)]
struct Driver {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Driver {
    fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tighten-aws".to_owned())
            .spawn(move || {
                runtime.block_on(async {
                    // Either a stop signal or the sender dropped: both mean stop.
                    let _ = stopped.await;
                });
            })?;
        Ok(Self {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the driver thread has already been reported by the panic hook.
            let _ = thread.join();
        }
    }
}

fn dedup_keep_order(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_refuses_a_mutating_operation_before_sending_it() {
        // Port 9 (discard): were the request sent, the error would be a connection error.
        let aws = Aws::connect(&AwsOptions {
            regions: vec!["us-east-1".to_owned()],
            profile: None,
            endpoint_url: Some("http://127.0.0.1:9".to_owned()),
        })
        .unwrap();
        let client = aws.s3_client();
        let result = aws
            .runtime
            .block_on(client.delete_bucket().bucket("logs").send());
        let err = error::from_sdk(
            &result.unwrap_err(),
            error::Call {
                operation: "S3.DeleteBucket",
                resource: "s3://logs".to_owned(),
                bucket: Some("logs"),
                endpoint: aws.endpoint_name(),
                limits: Limits::default(),
            },
        );
        assert!(
            matches!(
                err,
                AwsError::NotReadOnly {
                    operation: "S3.DeleteBucket"
                }
            ),
            "{err:?}"
        );
        // The EC2 client takes any action name at its lowest level; the guard stops the
        // mutating ones there, before credentials are even looked up.
        for action in [
            "RevokeSecurityGroupIngress",
            "ModifyNetworkInterfaceAttribute",
        ] {
            let result = aws.runtime.block_on(aws.ec2.call(
                "us-east-1",
                action,
                &[("GroupId".to_owned(), "sg-1".to_owned())],
            ));
            assert_eq!(result, Err(ec2_query::Failure::Refused), "{action}");
        }
        assert!(aws.operations_sent().is_empty());
    }

    #[test]
    fn repeated_regions_are_snapshotted_once() {
        let regions = ["a", "b", "a", "c", "b"].map(str::to_owned);
        assert_eq!(dedup_keep_order(&regions), ["a", "b", "c"]);
    }
}
