//! Ingest stage, live AWS: a small client of EC2's Query protocol for the few read-only actions
//! tighten sends (see [`Action`]). A form-encoded POST, signed with `SigV4` (`aws-sigv4`) with the
//! credentials of the SDK's provider chain, sent through the SDK's hyper + rustls connector;
//! answers read from XML. It owns endpoint choice, paging, retries with backoff, timeouts and the
//! read-only guard's check and record. Why not `aws-sdk-ec2`: that crate alone was 182 CPU-s of a
//! release build, on the critical path, for five calls.

mod xml;

use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

pub use xml::FlowLogInfo;
pub(crate) use xml::{NetworkInterface, Page, SecurityGroup, SecurityGroupRule};

use super::Limits;
use super::guard::{self, ReadOnlyGuard};

/// The API version every EC2 Query request names.
const API_VERSION: &str = "2016-11-15";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// The longest wait between two attempts (the SDK's standard mode caps it the same way).
const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// Credentials that expire sooner than this are fetched again before signing.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// The EC2 actions this client has a reader for, every one read-only (a test holds that each is
/// in the guard's list and that the list has nothing else for EC2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    DescribeNetworkInterfaces,
    DescribeSecurityGroups,
    DescribeSecurityGroupRules,
    DescribeManagedPrefixLists,
    GetManagedPrefixListEntries,
    DescribeFlowLogs,
}

impl Action {
    #[cfg(test)]
    pub(crate) const ALL: [Self; 6] = [
        Self::DescribeNetworkInterfaces,
        Self::DescribeSecurityGroups,
        Self::DescribeSecurityGroupRules,
        Self::DescribeManagedPrefixLists,
        Self::GetManagedPrefixListEntries,
        Self::DescribeFlowLogs,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::DescribeNetworkInterfaces => "DescribeNetworkInterfaces",
            Self::DescribeSecurityGroups => "DescribeSecurityGroups",
            Self::DescribeSecurityGroupRules => "DescribeSecurityGroupRules",
            Self::DescribeManagedPrefixLists => "DescribeManagedPrefixLists",
            Self::GetManagedPrefixListEntries => "GetManagedPrefixListEntries",
            Self::DescribeFlowLogs => "DescribeFlowLogs",
        }
    }

    /// `EC2.DescribeSecurityGroups`: the guard's and the diagnostics' spelling.
    pub(crate) fn operation(self) -> &'static str {
        match self {
            Self::DescribeNetworkInterfaces => "EC2.DescribeNetworkInterfaces",
            Self::DescribeSecurityGroups => "EC2.DescribeSecurityGroups",
            Self::DescribeSecurityGroupRules => "EC2.DescribeSecurityGroupRules",
            Self::DescribeManagedPrefixLists => "EC2.DescribeManagedPrefixLists",
            Self::GetManagedPrefixListEntries => "EC2.GetManagedPrefixListEntries",
            Self::DescribeFlowLogs => "EC2.DescribeFlowLogs",
        }
    }

    /// `MaxResults` per page: the largest each action accepts.
    fn page_size(self) -> u32 {
        match self {
            Self::DescribeManagedPrefixLists | Self::GetManagedPrefixListEntries => 100,
            _ => 1000,
        }
    }
}

/// A `Filter.N` of a `Describe*` call: a field name and the values any of which matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

impl Filter {
    pub fn new(
        name: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            name: name.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// The request parameters of `filters` (`Filter.1.Name`, `Filter.1.Value.1`, …).
pub(crate) fn filter_params(filters: &[Filter]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, filter) in filters.iter().enumerate() {
        let n = i + 1;
        out.push((format!("Filter.{n}.Name"), filter.name.clone()));
        for (j, value) in filter.values.iter().enumerate() {
            out.push((format!("Filter.{n}.Value.{}", j + 1), value.clone()));
        }
    }
    out
}

/// Why a call failed, before it is worded for the user (see `error::from_query`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The action is not in the read-only list: nothing was sent.
    Refused,
    /// The credential chain found nothing usable (its own words).
    NoCredentials(String),
    /// AWS (or the endpoint) answered with an error status.
    Service {
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },
    /// No answer within this bound.
    Timeout(Duration),
    /// The connection failed (refused, reset, DNS, TLS).
    Unreachable(String),
    /// A success status with a body that is not this action's answer.
    Malformed(String),
    /// The request could not be built or signed.
    Request(String),
}

impl Failure {
    /// Throttling, server-side failures and lost connections are worth another attempt.
    fn is_transient(&self) -> bool {
        match self {
            Self::Service { status, code, .. } => {
                code.as_deref()
                    .is_some_and(|c| super::error::THROTTLING_CODES.contains(&c))
                    || matches!(status, 429 | 500 | 502 | 503 | 504)
            }
            Self::Timeout(_) | Self::Unreachable(_) => true,
            Self::Refused | Self::NoCredentials(_) | Self::Malformed(_) | Self::Request(_) => false,
        }
    }
}

/// The default endpoint of EC2 in `region`; China's regions are in their own partition.
pub(crate) fn default_endpoint(region: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://ec2.{region}.{domain}/")
}

/// `application/x-www-form-urlencoded` as `SigV4` expects it: every byte but the unreserved
/// ones (`A-Z a-z 0-9 - _ . ~`) percent-encoded, in upper-case hex.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The request body: `Action`, `Version`, then the parameters in order.
pub(crate) fn form(action: &str, params: &[(String, String)]) -> String {
    let mut out = format!("Action={}&Version={API_VERSION}", encode(action));
    for (key, value) in params {
        out.push('&');
        out.push_str(&encode(key));
        out.push('=');
        out.push_str(&encode(value));
    }
    out
}

/// The wait before attempt `attempt + 1`: exponential from `initial`, capped, with full jitter.
fn backoff(initial: Duration, attempt: u32) -> Duration {
    let base = initial
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    // A fresh `RandomState` is randomly keyed: enough randomness to spread retries.
    let random = RandomState::new().hash_one(attempt);
    base.mul_f64((random >> 11) as f64 / (1u64 << 53) as f64)
}

/// Signs a POST of `body` to `url` for `ec2` in `region`.
pub(crate) fn signed_request(
    url: &str,
    region: &str,
    body: &str,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<http::Request<SdkBody>, Failure> {
    let identity = Identity::from(credentials.clone());
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ec2")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Failure::Request(e.to_string()))?
        .into();
    let headers = [("content-type", CONTENT_TYPE)];
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| Failure::Request(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| Failure::Request(e.to_string()))?
        .into_parts();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", CONTENT_TYPE)
        .header("user-agent", concat!("tighten/", env!("CARGO_PKG_VERSION")))
        .body(SdkBody::from(body.to_owned()))
        .map_err(|e| Failure::Request(e.to_string()))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

/// One EC2 Query client for every region of an [`super::Aws`].
#[derive(Debug)]
pub(crate) struct Ec2Query {
    credentials: Option<SharedCredentialsProvider>,
    /// The last credentials, reused until they near expiry (the SDK's identity cache does the
    /// same: SSO and role providers call AWS themselves).
    cached: tokio::sync::Mutex<Option<Credentials>>,
    /// `--endpoint-url`, `AWS_ENDPOINT_URL_EC2` or `AWS_ENDPOINT_URL`; else AWS's own.
    endpoint: Option<String>,
    limits: Limits,
    guard: Arc<ReadOnlyGuard>,
    connector: OnceLock<Connector>,
}

impl Ec2Query {
    pub(crate) fn new(
        credentials: Option<SharedCredentialsProvider>,
        endpoint: Option<String>,
        limits: Limits,
        guard: Arc<ReadOnlyGuard>,
    ) -> Self {
        Self {
            credentials,
            cached: tokio::sync::Mutex::new(None),
            endpoint,
            limits,
            guard,
            connector: OnceLock::new(),
        }
    }

    fn url(&self, region: &str) -> String {
        match &self.endpoint {
            Some(url) => format!("{}/", url.trim_end_matches('/')),
            None => default_endpoint(region),
        }
    }

    /// Built on first use: loading the trusted roots is not free, and S3-only runs skip it.
    fn connector(&self) -> &Connector {
        self.connector.get_or_init(|| {
            Connector::builder()
                .connector_settings(
                    HttpConnectorSettings::builder()
                        .connect_timeout(self.limits.connect_timeout)
                        .read_timeout(self.limits.read_timeout)
                        .build(),
                )
                .sleep_impl(aws_smithy_async_sleep())
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build()
        })
    }

    async fn credentials(&self) -> Result<Credentials, Failure> {
        let Some(provider) = &self.credentials else {
            return Err(Failure::NoCredentials(
                "no credentials provider is configured".to_owned(),
            ));
        };
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| Failure::NoCredentials(super::error::chain(&e)))?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// Every page of `action` in `region`, read by `read`.
    pub(crate) async fn pages<T>(
        &self,
        region: &str,
        action: Action,
        params: &[(String, String)],
        read: fn(&str) -> Result<Page<T>, aws_smithy_xml::decode::XmlDecodeError>,
    ) -> Result<Vec<T>, Failure> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut page_params = params.to_vec();
            page_params.push(("MaxResults".to_owned(), action.page_size().to_string()));
            if let Some(token) = &token {
                page_params.push(("NextToken".to_owned(), token.clone()));
            }
            let body = self.call(region, action.name(), &page_params).await?;
            let page = read(&body).map_err(|e| Failure::Malformed(e.to_string()))?;
            out.extend(page.items);
            match page.next_token {
                None => return Ok(out),
                Some(next) if token.as_ref() == Some(&next) => {
                    return Err(Failure::Malformed(
                        "the same NextToken came back twice".to_owned(),
                    ));
                }
                Some(next) => token = Some(next),
            }
        }
    }

    /// Sends `action` with retries; the answer's body on success. Refuses, before anything else,
    /// an action the read-only guard does not allow.
    pub(crate) async fn call(
        &self,
        region: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, Failure> {
        let operation = format!("EC2.{action}");
        if !guard::is_allowed(&operation) {
            return Err(Failure::Refused);
        }
        let body = form(action, params);
        let url = self.url(region);
        let attempts = async {
            let max = self.limits.max_attempts.max(1);
            let mut attempt = 1;
            loop {
                let result = tokio::time::timeout(
                    self.limits.attempt_timeout,
                    self.attempt(region, &url, &body, &operation),
                )
                .await
                .unwrap_or(Err(Failure::Timeout(self.limits.attempt_timeout)));
                match result {
                    Err(failure) if failure.is_transient() && attempt < max => {
                        tokio::time::sleep(backoff(self.limits.initial_backoff, attempt)).await;
                        attempt += 1;
                    }
                    other => return other,
                }
            }
        };
        tokio::time::timeout(self.limits.operation_timeout, attempts)
            .await
            .unwrap_or(Err(Failure::Timeout(self.limits.operation_timeout)))
    }

    async fn attempt(
        &self,
        region: &str,
        url: &str,
        body: &str,
        operation: &str,
    ) -> Result<String, Failure> {
        let credentials = self.credentials().await?;
        let request = signed_request(url, region, body, &credentials, SystemTime::now())?;
        let request =
            HttpRequest::try_from(request).map_err(|e| Failure::Request(e.to_string()))?;
        self.guard.record(operation.to_owned());
        let response = self.connector().call(request).await.map_err(|e| {
            if e.is_timeout() {
                Failure::Timeout(self.limits.read_timeout)
            } else {
                Failure::Unreachable(super::error::chain(&e))
            }
        })?;
        let status = response.status().as_u16();
        let bytes = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| Failure::Unreachable(super::error::chain(&e)))?
            .into_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let error = xml::error(&text).unwrap_or_default();
        Err(Failure::Service {
            status,
            code: error.code,
            message: error.message,
        })
    }
}

fn aws_smithy_async_sleep() -> impl aws_smithy_async::rt::sleep::AsyncSleep + 'static {
    aws_smithy_async::rt::sleep::TokioSleep::new()
}

pub(crate) use xml::{
    flow_logs, managed_prefix_lists, network_interfaces, prefix_list_entries, security_group_rules,
    security_groups,
};

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
