//! What can go wrong talking to AWS, each with what to do about it, and the mapping from the SDK's
//! error shapes. Messages name the operation and the resource, never credentials: the SDK's own
//! error text is included only for service errors (AWS's message) and transport failures.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use super::ec2_query::Failure;
use super::guard;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AwsError {
    #[error("`{url}` is not an S3 URL")]
    #[diagnostic(
        code(tighten::aws::bad_url),
        help("write s3://BUCKET or s3://BUCKET/PREFIX (for example s3://my-logs/AWSLogs/)")
    )]
    BadUrl { url: String },

    #[error("no AWS region is configured")]
    #[diagnostic(
        code(tighten::aws::no_region),
        help(
            "pass --region (for example --region eu-west-1), set AWS_REGION, or set `region` in the profile"
        )
    )]
    NoRegion,

    #[error("{operation} on {resource}: no usable AWS credentials ({detail})")]
    #[diagnostic(
        code(tighten::aws::no_credentials),
        help(
            "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, pass --profile NAME (run `aws sso login --profile NAME` first for SSO), or run where an instance or container role is available"
        )
    )]
    NoCredentials {
        operation: &'static str,
        resource: String,
        /// What the credential chain said (never a credential: it failed to find one).
        detail: String,
    },

    #[error("{operation} on {resource}: AWS rejected the credentials ({code})")]
    #[diagnostic(
        code(tighten::aws::bad_credentials),
        help(
            "the access key is unknown, expired or mistyped: refresh the session (`aws sso login`, new temporary keys) or pick another --profile"
        )
    )]
    BadCredentials {
        operation: &'static str,
        resource: String,
        code: String,
    },

    #[error("{operation} on {resource}: access denied ({code})")]
    #[diagnostic(
        code(tighten::aws::access_denied),
        help(
            "the identity needs read-only permissions: s3:ListBucket and s3:GetObject on the bucket, ec2:Describe* and ec2:GetManagedPrefixListEntries, logs:DescribeLogStreams and logs:FilterLogEvents for CloudWatch Logs; the README has a minimal IAM policy (Live AWS: S3 and EC2)"
        )
    )]
    AccessDenied {
        operation: &'static str,
        resource: String,
        code: String,
    },

    #[error("{operation}: the bucket `{bucket}` does not exist")]
    #[diagnostic(
        code(tighten::aws::no_such_bucket),
        help(
            "check the bucket name in the s3:// URL, and that --profile points at the account that owns it"
        )
    )]
    NoSuchBucket {
        operation: &'static str,
        bucket: String,
    },

    #[error("{operation} on {resource}: the bucket is in another region{}", region.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    #[diagnostic(
        code(tighten::aws::wrong_region),
        help("pass --region with the bucket's region{}", region.as_deref().map(|r| format!(": --region {r}")).unwrap_or_default())
    )]
    WrongRegion {
        operation: &'static str,
        resource: String,
        region: Option<String>,
    },

    #[error(
        "{operation} on {resource}: AWS kept throttling the requests ({code}), gave up after {attempts} attempts"
    )]
    #[diagnostic(
        code(tighten::aws::throttled),
        help(
            "run again later, or with fewer concurrent downloads; nothing of the failed object was stored"
        )
    )]
    Throttled {
        operation: &'static str,
        resource: String,
        code: String,
        attempts: u32,
    },

    #[error("{operation} on {resource}: {code}: {message}")]
    #[diagnostic(
        code(tighten::aws::service),
        help(
            "AWS refused the request; the message above is AWS's own. Nothing of the failed object was stored"
        )
    )]
    Service {
        operation: &'static str,
        resource: String,
        code: String,
        message: String,
    },

    #[error("{operation} on {resource}: cannot reach {endpoint}: {detail}")]
    #[diagnostic(
        code(tighten::aws::unreachable),
        help(
            "check the network, a proxy (HTTPS_PROXY) and --endpoint-url; the endpoint refused or dropped the connection"
        )
    )]
    Unreachable {
        operation: &'static str,
        resource: String,
        endpoint: String,
        detail: String,
    },

    #[error("{operation} on {resource}: {endpoint} did not answer in time ({})", humanize(*after))]
    #[diagnostic(
        code(tighten::aws::timeout),
        help(
            "the endpoint accepts connections but does not answer: check --endpoint-url, a proxy or a firewall, then run again"
        )
    )]
    Timeout {
        operation: &'static str,
        resource: String,
        endpoint: String,
        after: Duration,
    },

    #[error("{operation} on {resource}: the response could not be read: {detail}")]
    #[diagnostic(
        code(tighten::aws::malformed),
        help(
            "the endpoint did not answer like AWS does; if --endpoint-url points at an S3-compatible store, check that it supports this operation"
        )
    )]
    Malformed {
        operation: &'static str,
        resource: String,
        detail: String,
    },

    #[error("{operation}: tighten refused to send an operation that is not read-only")]
    #[diagnostic(
        code(tighten::aws::not_read_only),
        help(
            "this is a bug in tighten: it only ever calls Describe/Get/List/Head operations; please report it"
        )
    )]
    NotReadOnly { operation: &'static str },

    #[error("{operation} on {resource}: the request failed: {detail}")]
    #[diagnostic(
        code(tighten::aws::request),
        help("run again; if it persists, report it with this message")
    )]
    Request {
        operation: &'static str,
        resource: String,
        detail: String,
    },

    #[error("cannot start the runtime for AWS calls: {source}")]
    #[diagnostic(
        code(tighten::aws::runtime),
        help("the system is short of threads or memory")
    )]
    Runtime {
        #[source]
        source: std::io::Error,
    },
}

fn humanize(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) {
        format!("{} s", millis / 1000)
    } else {
        format!("{millis} ms")
    }
}

/// What a failed call was doing, for the message.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a> {
    pub operation: &'static str,
    pub resource: String,
    /// The bucket, for S3 calls.
    pub bucket: Option<&'a str>,
    pub endpoint: String,
    pub limits: super::Limits,
}

/// Error codes that mean "the credentials are not valid" rather than "not allowed".
const BAD_CREDENTIAL_CODES: &[&str] = &[
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidToken",
    "TokenRefreshRequired",
];
const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AllAccessDisabled",
    "Forbidden",
];
pub(crate) const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "SlowDown",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "InternalError",
];

pub(crate) fn from_sdk<E>(err: &SdkError<E, Response>, call: Call<'_>) -> AwsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let Call {
        operation,
        resource,
        bucket,
        endpoint,
        limits,
    } = call;
    match err {
        SdkError::ServiceError(context) => {
            let raw = context.raw();
            let service_error = context.err();
            service(
                Answer {
                    status: raw.status().as_u16(),
                    code: service_error.code().map(str::to_owned),
                    message: service_error
                        .message()
                        .map(str::to_owned)
                        .unwrap_or_default(),
                    bucket_region: raw.headers().get("x-amz-bucket-region").map(str::to_owned),
                },
                operation,
                resource,
                bucket,
                limits,
            )
        }
        // The SDK's attempt (or whole-call) bound ran out.
        SdkError::TimeoutError(_) => AwsError::Timeout {
            operation,
            resource,
            endpoint,
            after: limits.attempt_timeout,
        },
        SdkError::DispatchFailure(failure) => {
            if refused(err) {
                return AwsError::NotReadOnly { operation };
            }
            if let Some(detail) = credentials_failure(err) {
                return AwsError::NoCredentials {
                    operation,
                    resource,
                    detail,
                };
            }
            if failure.is_timeout() {
                AwsError::Timeout {
                    operation,
                    resource,
                    endpoint,
                    after: limits.read_timeout,
                }
            } else {
                AwsError::Unreachable {
                    operation,
                    resource,
                    endpoint,
                    detail: chain(err),
                }
            }
        }
        SdkError::ResponseError(_) => AwsError::Malformed {
            operation,
            resource,
            detail: chain(err),
        },
        _ => {
            if refused(err) {
                return AwsError::NotReadOnly { operation };
            }
            if let Some(detail) = credentials_failure(err) {
                return AwsError::NoCredentials {
                    operation,
                    resource,
                    detail,
                };
            }
            AwsError::Request {
                operation,
                resource,
                detail: chain(err),
            }
        }
    }
}

/// An error answer of AWS (or of the endpoint), as far as it could be read.
pub(crate) struct Answer {
    pub status: u16,
    pub code: Option<String>,
    /// Empty when the answer had none.
    pub message: String,
    /// S3's `x-amz-bucket-region` header.
    pub bucket_region: Option<String>,
}

/// The diagnostic for an error answer: the same for the SDK's S3 client and the EC2 client.
fn service(
    answer: Answer,
    operation: &'static str,
    resource: String,
    bucket: Option<&str>,
    limits: super::Limits,
) -> AwsError {
    let Answer {
        status,
        code,
        message,
        bucket_region,
    } = answer;
    let code_str = code.as_deref().unwrap_or("");
    if code_str == "NoSuchBucket" {
        return AwsError::NoSuchBucket {
            operation,
            bucket: bucket.unwrap_or_default().to_owned(),
        };
    }
    if matches!(
        code_str,
        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException"
    ) || status == 301
    {
        let region = bucket_region.or_else(|| region_in_message(&message));
        return AwsError::WrongRegion {
            operation,
            resource,
            region,
        };
    }
    if BAD_CREDENTIAL_CODES.contains(&code_str) {
        return AwsError::BadCredentials {
            operation,
            resource,
            code: code_str.to_owned(),
        };
    }
    if ACCESS_DENIED_CODES.contains(&code_str) || (code.is_none() && status == 403) {
        return AwsError::AccessDenied {
            operation,
            resource,
            code: code.unwrap_or_else(|| "HTTP 403".to_owned()),
        };
    }
    if code.is_none() && (200..300).contains(&status) {
        // A success status whose body the SDK could not read as this operation's output.
        return AwsError::Malformed {
            operation,
            resource,
            detail: format!("HTTP {status} with a body that is not this operation's response"),
        };
    }
    if THROTTLING_CODES.contains(&code_str) || (code.is_none() && matches!(status, 429 | 503)) {
        return AwsError::Throttled {
            operation,
            resource,
            code: code.unwrap_or_else(|| format!("HTTP {status}")),
            attempts: limits.max_attempts,
        };
    }
    AwsError::Service {
        operation,
        resource,
        code: code.unwrap_or_else(|| format!("HTTP {status}")),
        message: if message.is_empty() {
            "(no message)".to_owned()
        } else {
            message
        },
    }
}

/// The diagnostic for a failed EC2 Query call.
pub(crate) fn from_query(failure: Failure, call: Call<'_>) -> AwsError {
    let Call {
        operation,
        resource,
        bucket,
        endpoint,
        limits,
    } = call;
    match failure {
        Failure::Refused => AwsError::NotReadOnly { operation },
        Failure::NoCredentials(detail) => AwsError::NoCredentials {
            operation,
            resource,
            detail,
        },
        Failure::Service {
            status,
            code,
            message,
        } => service(
            Answer {
                status,
                code,
                message: message.unwrap_or_default(),
                bucket_region: None,
            },
            operation,
            resource,
            bucket,
            limits,
        ),
        Failure::Timeout(after) => AwsError::Timeout {
            operation,
            resource,
            endpoint,
            after,
        },
        Failure::Unreachable(detail) => AwsError::Unreachable {
            operation,
            resource,
            endpoint,
            detail,
        },
        Failure::Malformed(detail) => AwsError::Malformed {
            operation,
            resource,
            detail,
        },
        Failure::Request(detail) => AwsError::Request {
            operation,
            resource,
            detail,
        },
    }
}

/// The text of an error and its sources, de-duplicated (the SDK repeats itself).
pub(crate) fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = String::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            let _ = write!(out, "{text}");
        }
        current = e.source();
    }
    out
}

/// The credential chain's own error, when that is what failed.
fn credentials_failure(err: &(dyn StdError + 'static)) -> Option<String> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<CredentialsError>().is_some() {
            return Some(chain(e));
        }
        current = e.source();
    }
    None
}

fn refused(err: &(dyn StdError + 'static)) -> bool {
    chain(err).contains(guard::REFUSED)
}

/// S3's `AuthorizationHeaderMalformed` says "the region 'us-east-1' is wrong; expecting 'eu-west-1'".
fn region_in_message(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("expecting '")?;
    let (region, _) = rest.split_once('\'')?;
    Some(region.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_region_comes_out_of_s3_messages() {
        assert_eq!(
            region_in_message(
                "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'"
            )
            .as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_in_message("Access Denied"), None);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(humanize(Duration::from_secs(20)), "20 s");
        assert_eq!(humanize(Duration::from_millis(300)), "300 ms");
    }
}
