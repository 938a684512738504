//! Faults of the live-AWS sources, each against a real local server (a stub that answers like AWS
//! does when things go wrong): missing or rejected credentials, access denied, a bucket in another
//! region, throttling (retried, bounded), malformed responses, an endpoint that is down or never
//! answers. Every message says what failed and what to do, and none contains a credential.

mod common_moto;

use std::time::{Duration, Instant};

use common_moto::{
    Answer, FAKE_SECRET, FAKE_SESSION_TOKEN, REGION, Setup, Stub, closed_port, scenario,
};
use tighten::aws::{Aws, AwsError, AwsOptions, Limits, S3Object};

fn options(endpoint: &str) -> AwsOptions {
    AwsOptions {
        regions: vec![REGION.to_owned()],
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
    }
}

/// Short bounds so that the slow cases finish quickly.
fn quick() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_millis(400),
        attempt_timeout: Duration::from_secs(2),
        operation_timeout: Duration::from_secs(6),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
    }
}

/// Every rendering of the error (message, debug, the miette report with help) is free of the
/// credentials, and the report carries a help line.
fn rendered(err: &AwsError) -> String {
    let mut report = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut report, err)
        .unwrap();
    for text in [err.to_string(), format!("{err:?}"), report.clone()] {
        assert!(!text.contains(FAKE_SECRET), "secret in {text}");
        assert!(
            !text.contains(FAKE_SESSION_TOKEN),
            "session token in {text}"
        );
    }
    assert!(report.contains("help:"), "{report}");
    report
}

fn xml(status: &'static str, body: &str) -> Answer {
    Answer::Respond {
        status,
        headers: vec![("Content-Type", "application/xml".to_owned())],
        body: body.to_owned(),
    }
}

fn s3_error(status: &'static str, code: &str, message: &str) -> Answer {
    xml(
        status,
        &format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>R1</RequestId><HostId>H1</HostId></Error>"
        ),
    )
}

fn ec2_error(status: &'static str, code: &str, message: &str) -> Answer {
    xml(
        status,
        &format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>r1</RequestID></Response>"
        ),
    )
}

const KEY: &str = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/07/a.log.gz";

fn listing() -> Answer {
    xml(
        "200 OK",
        &format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>logs</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>{KEY}</Key><LastModified>2024-03-07T10:00:00.000Z</LastModified><ETag>&quot;abc123&quot;</ETag><Size>42</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
        ),
    )
}

fn object() -> S3Object {
    S3Object {
        bucket: "logs".to_owned(),
        key: KEY.to_owned(),
        size: 42,
        etag: "abc123".to_owned(),
        last_modified: 1_709_805_600,
        info: None,
    }
}

#[test]
fn missing_credentials_are_reported_and_nothing_is_sent() {
    scenario(
        "missing_credentials_are_reported_and_nothing_is_sent",
        Setup::NoCredentials,
        |_| {
            let stub = Stub::start(vec![listing()]);
            // No region anywhere (no --region, no AWS_REGION, no profile).
            let mut no_region = options(&stub.url());
            no_region.regions.clear();
            let err = Aws::connect(&no_region).unwrap_err();
            assert!(matches!(err, AwsError::NoRegion), "{err:?}");
            assert!(rendered(&err).contains("--region"));

            let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
            let err = aws.s3_list("s3://logs/AWSLogs/", None, None).unwrap_err();
            assert!(matches!(err, AwsError::NoCredentials { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                "S3.ListObjectsV2 on s3://logs/AWSLogs/: no usable AWS credentials (the credential provider was not enabled: no providers in chain provided credentials)"
            );
            assert!(rendered(&err).contains("--profile"));
            let err = aws.ec2_snapshot().unwrap_err();
            assert!(matches!(err, AwsError::NoCredentials { .. }), "{err:?}");
            rendered(&err);
            assert!(stub.seen().is_empty(), "{:?}", stub.seen());
            assert!(aws.operations_sent().is_empty());
        },
    );
}

#[test]
fn access_denied_says_which_permissions_are_needed() {
    scenario(
        "access_denied_says_which_permissions_are_needed",
        Setup::NoServer,
        |_| {
            let s3 = Stub::start(vec![s3_error(
                "403 Forbidden",
                "AccessDenied",
                "Access Denied",
            )]);
            let aws = Aws::connect_with(&options(&s3.url()), quick()).unwrap();
            let err = aws.s3_list("s3://logs/AWSLogs/", None, None).unwrap_err();
            assert_eq!(
                err.to_string(),
                "S3.ListObjectsV2 on s3://logs/AWSLogs/: access denied (AccessDenied)"
            );
            assert!(rendered(&err).contains("s3:ListBucket"));
            // Not retried: a denial does not go away.
            assert_eq!(s3.seen().len(), 1);
            assert!(
                s3.seen()[0]
                    .request_line
                    .starts_with("GET /logs/?list-type=2"),
                "{:?}",
                s3.seen()
            );

            // A denied download reaches the consumer as that object's error.
            let mut results = Vec::new();
            let stats = aws
                .s3_fetch(vec![object()], 8, |object, bytes| -> Result<(), AwsError> {
                    results.push((object.key, bytes.map_err(|e| e.to_string())));
                    Ok(())
                })
                .unwrap();
            assert_eq!((stats.objects, stats.bytes), (1, 0));
            assert_eq!(
                results,
                vec![(
                    KEY.to_owned(),
                    Err(format!(
                        "S3.GetObject on s3://logs/{KEY}: access denied (AccessDenied)"
                    ))
                )]
            );

            let ec2 = Stub::start(vec![ec2_error(
                "403 Forbidden",
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            )]);
            let aws = Aws::connect_with(&options(&ec2.url()), quick()).unwrap();
            let err = aws.ec2_snapshot().unwrap_err();
            assert_eq!(
                err.to_string(),
                "EC2.DescribeNetworkInterfaces on EC2 in us-east-1: access denied (UnauthorizedOperation)"
            );
            assert!(rendered(&err).contains("ec2:Describe*"));
            assert!(
                ec2.seen()[0]
                    .body
                    .contains("Action=DescribeNetworkInterfaces")
            );

            let rejected = Stub::start(vec![s3_error(
                "403 Forbidden",
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            )]);
            let aws = Aws::connect_with(&options(&rejected.url()), quick()).unwrap();
            let err = aws.s3_list("s3://logs", None, None).unwrap_err();
            assert!(
                matches!(&err, AwsError::BadCredentials { code, .. } if code == "InvalidAccessKeyId"),
                "{err:?}"
            );
            rendered(&err);
        },
    );
}

#[test]
fn a_bucket_in_another_region_names_that_region() {
    scenario(
        "a_bucket_in_another_region_names_that_region",
        Setup::NoServer,
        |_| {
            let stub = Stub::start(vec![Answer::Respond {
            status: "301 Moved Permanently",
            headers: vec![
                ("Content-Type", "application/xml".to_owned()),
                ("x-amz-bucket-region", "eu-west-1".to_owned()),
            ],
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><Endpoint>logs.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>logs</Bucket></Error>".to_owned(),
        }]);
            let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
            let err = aws.s3_list("s3://logs/AWSLogs/", None, None).unwrap_err();
            assert_eq!(
                err.to_string(),
                "S3.ListObjectsV2 on s3://logs/AWSLogs/: the bucket is in another region (eu-west-1)"
            );
            assert!(rendered(&err).contains("--region eu-west-1"));

            let stub = Stub::start(vec![s3_error(
                "400 Bad Request",
                "AuthorizationHeaderMalformed",
                "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'ap-south-1'",
            )]);
            let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
            let err = aws.s3_list("s3://logs", None, None).unwrap_err();
            assert!(
                matches!(&err, AwsError::WrongRegion { region: Some(r), .. } if r == "ap-south-1"),
                "{err:?}"
            );
            rendered(&err);
        },
    );
}

#[test]
fn throttling_is_retried_with_a_bound() {
    scenario(
        "throttling_is_retried_with_a_bound",
        Setup::NoServer,
        |_| {
            let slow_down = || {
                s3_error(
                    "503 Slow Down",
                    "SlowDown",
                    "Please reduce your request rate.",
                )
            };
            // Two throttled attempts, then an answer: the caller sees only the answer.
            let stub = Stub::start(vec![slow_down(), slow_down(), listing()]);
            let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
            let listed = aws.s3_list("s3://logs", None, None).unwrap();
            assert_eq!(
                listed
                    .objects
                    .iter()
                    .map(|o| o.key.as_str())
                    .collect::<Vec<_>>(),
                [KEY]
            );
            assert_eq!(listed.objects[0].etag, "abc123");
            assert_eq!(stub.seen().len(), 3);
            assert_eq!(aws.operations_sent().len(), 3);

            // Throttled for good: three attempts, then a clear error.
            let stub = Stub::start(vec![slow_down()]);
            let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
            let err = aws.s3_list("s3://logs", None, None).unwrap_err();
            assert_eq!(
                err.to_string(),
                "S3.ListObjectsV2 on s3://logs: AWS kept throttling the requests (SlowDown), gave up after 3 attempts"
            );
            rendered(&err);
            assert_eq!(stub.seen().len(), 3);

            let stub = Stub::start(vec![ec2_error(
                "503 Service Unavailable",
                "RequestLimitExceeded",
                "Request limit exceeded.",
            )]);
            let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
            let err = aws.ec2_snapshot().unwrap_err();
            assert!(matches!(err, AwsError::Throttled { .. }), "{err:?}");
            assert_eq!(stub.seen().len(), 3);
        },
    );
}

#[test]
fn malformed_responses_are_reported() {
    scenario("malformed_responses_are_reported", Setup::NoServer, |_| {
        let stub = Stub::start(vec![xml(
            "200 OK",
            "<ListBucketResult><Contents><Key>x</Key><Size>not a number</Size>",
        )]);
        let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
        let err = aws.s3_list("s3://logs", None, None).unwrap_err();
        assert!(matches!(err, AwsError::Malformed { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("S3.ListObjectsV2 on s3://logs: the response could not be read"),
            "{err}"
        );
        rendered(&err);

        let stub = Stub::start(vec![xml("200 OK", "this is not XML at all")]);
        let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
        let err = aws.ec2_snapshot().unwrap_err();
        assert!(matches!(err, AwsError::Malformed { .. }), "{err:?}");
        rendered(&err);

        // An empty 200 body to a listing: nothing listed, no error.
        let stub = Stub::start(vec![xml("200 OK", "")]);
        let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
        let result = aws.s3_list("s3://logs", None, None);
        assert!(
            matches!(&result, Ok(l) if l.objects.is_empty())
                || matches!(&result, Err(AwsError::Malformed { .. })),
            "{result:?}"
        );
    });
}

#[test]
fn an_endpoint_that_is_down_is_reported() {
    scenario(
        "an_endpoint_that_is_down_is_reported",
        Setup::NoServer,
        |_| {
            let url = format!("http://127.0.0.1:{}", closed_port());
            let aws = Aws::connect_with(&options(&url), quick()).unwrap();
            let started = Instant::now();
            let err = aws.s3_list("s3://logs", None, None).unwrap_err();
            assert!(started.elapsed() < Duration::from_secs(10));
            assert!(
                matches!(&err, AwsError::Unreachable { endpoint, .. } if *endpoint == url),
                "{err:?}"
            );
            assert!(
                err.to_string().starts_with(&format!(
                    "S3.ListObjectsV2 on s3://logs: cannot reach {url}"
                )),
                "{err}"
            );
            rendered(&err);
            let err = aws.ec2_snapshot().unwrap_err();
            assert!(matches!(err, AwsError::Unreachable { .. }), "{err:?}");
        },
    );
}

#[test]
fn an_endpoint_that_never_answers_times_out() {
    scenario(
        "an_endpoint_that_never_answers_times_out",
        Setup::NoServer,
        |_| {
            let stub = Stub::start(vec![Answer::Silence]);
            let limits = Limits {
                max_attempts: 2,
                ..quick()
            };
            let aws = Aws::connect_with(&options(&stub.url()), limits).unwrap();
            let started = Instant::now();
            let err = aws.s3_list("s3://logs", None, None).unwrap_err();
            let elapsed = started.elapsed();
            assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
            assert!(matches!(err, AwsError::Timeout { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                format!(
                    "S3.ListObjectsV2 on s3://logs: {} did not answer in time (400 ms)",
                    stub.url()
                )
            );
            rendered(&err);
            let err = aws.ec2_snapshot().unwrap_err();
            assert!(matches!(err, AwsError::Timeout { .. }), "{err:?}");
        },
    );
}

#[test]
fn bad_s3_urls_are_refused_before_any_call() {
    let aws = Aws::connect(&AwsOptions {
        regions: vec![REGION.to_owned()],
        profile: None,
        endpoint_url: Some(format!("http://127.0.0.1:{}", closed_port())),
    })
    .unwrap();
    let err = aws
        .s3_list("https://logs/AWSLogs/", None, None)
        .unwrap_err();
    assert_eq!(err.to_string(), "`https://logs/AWSLogs/` is not an S3 URL");
    rendered(&err);
    assert!(aws.operations_sent().is_empty());
}

#[test]
fn ec2_pages_are_followed_and_every_request_is_signed_for_its_region() {
    scenario(
        "ec2_pages_are_followed_and_every_request_is_signed_for_its_region",
        Setup::NoServer,
        |_| {
            let page = |items: &str, token: &str| {
                xml(
                    "200 OK",
                    &format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeFlowLogsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><flowLogSet>{items}</flowLogSet>{token}</DescribeFlowLogsResponse>"
                    ),
                )
            };
            let stub = Stub::start(vec![
                page(
                    "<item><flowLogId>fl-1</flowLogId><resourceId>vpc-1</resourceId></item>",
                    "<nextToken>tok+en/1=</nextToken>",
                ),
                // A throttled second page is retried, then read.
                ec2_error(
                    "503 Service Unavailable",
                    "RequestLimitExceeded",
                    "Request limit exceeded.",
                ),
                page(
                    "<item><flowLogId>fl-2</flowLogId><resourceId>vpc-2</resourceId></item>",
                    "",
                ),
            ]);
            let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
            let logs = aws
                .describe_flow_logs(
                    "eu-west-1",
                    &[tighten::aws::Filter::new("resource-id", ["vpc-1", "vpc-2"])],
                )
                .unwrap();
            let ids: Vec<_> = logs.iter().map(|l| l.flow_log_id.as_deref()).collect();
            assert_eq!(ids, [Some("fl-1"), Some("fl-2")]);
            let seen = stub.seen();
            let bodies: Vec<&str> = seen.iter().map(|s| s.body.as_str()).collect();
            let first = "Action=DescribeFlowLogs&Version=2016-11-15&Filter.1.Name=resource-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2&MaxResults=1000";
            let next = format!("{first}&NextToken=tok%2Ben%2F1%3D");
            assert_eq!(bodies, [first, next.as_str(), next.as_str()]);
            for request in &seen {
                assert_eq!(request.request_line, "POST / HTTP/1.1");
                let header = |name: &str| {
                    request
                        .headers
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.as_str())
                };
                assert_eq!(
                    header("content-type"),
                    Some("application/x-www-form-urlencoded; charset=utf-8")
                );
                let authorization = header("authorization").unwrap();
                assert!(
                    authorization.starts_with("AWS4-HMAC-SHA256 Credential=")
                        && authorization.contains("/eu-west-1/ec2/aws4_request, SignedHeaders="),
                    "{authorization}"
                );
                assert!(!authorization.contains(FAKE_SECRET));
                assert_eq!(header("x-amz-security-token"), Some(FAKE_SESSION_TOKEN));
            }
            assert_eq!(
                aws.operations_sent(),
                ["EC2.DescribeFlowLogs"; 3].map(str::to_owned)
            );

            // A server that hands back the same token forever is stopped, not followed.
            let stub = Stub::start(vec![page("", "<nextToken>again</nextToken>")]);
            let aws = Aws::connect_with(&options(&stub.url()), quick()).unwrap();
            let err = aws.describe_flow_logs(REGION, &[]).unwrap_err();
            assert_eq!(
                err.to_string(),
                "EC2.DescribeFlowLogs on EC2 in us-east-1: the response could not be read: the same NextToken came back twice"
            );
            assert_eq!(stub.seen().len(), 2);
        },
    );
}
