//! The request side of the EC2 Query client: form encoding, filters, endpoints, `SigV4` headers,
//! backoff bounds and which failures are retried.

use std::time::UNIX_EPOCH;

use proptest::prelude::*;

use super::*;

#[test]
fn the_form_is_action_version_then_parameters_percent_encoded() {
    assert_eq!(
        form(
            "DescribeFlowLogs",
            &[
                ("Filter.1.Name".to_owned(), "resource-id".to_owned()),
                ("Filter.1.Value.1".to_owned(), "vpc-1a2b".to_owned()),
                ("NextToken".to_owned(), "ab+c/d=e f~_.-é".to_owned()),
            ]
        ),
        "Action=DescribeFlowLogs&Version=2016-11-15&Filter.1.Name=resource-id\
         &Filter.1.Value.1=vpc-1a2b&NextToken=ab%2Bc%2Fd%3De%20f~_.-%C3%A9"
    );
    assert_eq!(
        form("DescribeSecurityGroups", &[]),
        "Action=DescribeSecurityGroups&Version=2016-11-15"
    );
}

fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

proptest! {
    #[test]
    fn encoding_is_unambiguous_and_reversible(text in any::<String>()) {
        let encoded = encode(&text);
        // Nothing that separates or quotes survives, and hex is upper case.
        prop_assert!(encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
        for escape in encoded.split('%').skip(1) {
            let hex = &escape.as_bytes()[..2];
            prop_assert!(hex.iter().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)));
        }
        prop_assert_eq!(decode(&encoded), text.as_bytes());
    }
}

#[test]
fn filters_become_numbered_parameters() {
    let params = filter_params(&[
        Filter::new("resource-id", ["vpc-1", "subnet-2"]),
        Filter::new("log-destination-type", ["s3"]),
    ]);
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        params,
        [
            ("Filter.1.Name", "resource-id"),
            ("Filter.1.Value.1", "vpc-1"),
            ("Filter.1.Value.2", "subnet-2"),
            ("Filter.2.Name", "log-destination-type"),
            ("Filter.2.Value.1", "s3"),
        ]
    );
}

#[test]
fn endpoints_follow_the_partition() {
    assert_eq!(
        default_endpoint("eu-west-1"),
        "https://ec2.eu-west-1.amazonaws.com/"
    );
    assert_eq!(
        default_endpoint("cn-north-1"),
        "https://ec2.cn-north-1.amazonaws.com.cn/"
    );
    assert_eq!(
        default_endpoint("us-gov-west-1"),
        "https://ec2.us-gov-west-1.amazonaws.com/"
    );
    let client = |endpoint: Option<&str>| {
        Ec2Query::new(
            None,
            endpoint.map(str::to_owned),
            Limits::default(),
            Arc::default(),
        )
    };
    assert_eq!(
        client(None).url("ap-south-1"),
        "https://ec2.ap-south-1.amazonaws.com/"
    );
    assert_eq!(
        client(Some("http://127.0.0.1:5000/")).url("ap-south-1"),
        "http://127.0.0.1:5000/"
    );
    assert_eq!(
        client(Some("https://vpce-1.ec2.eu-west-1.vpce.amazonaws.com")).url("eu-west-1"),
        "https://vpce-1.ec2.eu-west-1.vpce.amazonaws.com/"
    );
}

fn header<'a>(request: &'a http::Request<SdkBody>, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

#[test]
fn requests_are_signed_for_ec2_in_the_region() {
    // 2015-08-30T12:36:00Z, the date of the SigV4 test suite.
    let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    let credentials = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "test",
    );
    let body = "Action=DescribeSecurityGroups&Version=2016-11-15";
    let request = signed_request(
        "https://ec2.eu-central-1.amazonaws.com/",
        "eu-central-1",
        body,
        &credentials,
        now,
    )
    .unwrap();
    assert_eq!(request.method(), "POST");
    assert_eq!(request.uri(), "https://ec2.eu-central-1.amazonaws.com/");
    assert_eq!(header(&request, "content-type"), Some(CONTENT_TYPE));
    assert_eq!(header(&request, "x-amz-date"), Some("20150830T123600Z"));
    assert_eq!(header(&request, "x-amz-security-token"), None);
    let authorization = header(&request, "authorization").unwrap();
    let (head, signature) = authorization.split_once(", Signature=").unwrap();
    assert_eq!(
        head,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-central-1/ec2/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date"
    );
    assert_eq!(signature.len(), 64);
    assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(request.body().bytes(), Some(body.as_bytes()));

    // Deterministic for the same input; any change of body, region or key changes it.
    let again = signed_request(
        "https://ec2.eu-central-1.amazonaws.com/",
        "eu-central-1",
        body,
        &credentials,
        now,
    )
    .unwrap();
    assert_eq!(header(&again, "authorization"), Some(authorization));
    let other_body = signed_request(
        "https://ec2.eu-central-1.amazonaws.com/",
        "eu-central-1",
        "Action=DescribeFlowLogs&Version=2016-11-15",
        &credentials,
        now,
    )
    .unwrap();
    assert_ne!(header(&other_body, "authorization"), Some(authorization));

    // Temporary credentials carry their session token.
    let session = Credentials::new(
        "ASIAEXAMPLE",
        "secret",
        Some("token==".to_owned()),
        None,
        "t",
    );
    let request = signed_request(
        "https://ec2.cn-north-1.amazonaws.com.cn/",
        "cn-north-1",
        body,
        &session,
        now,
    )
    .unwrap();
    assert_eq!(header(&request, "x-amz-security-token"), Some("token=="));
    let authorization = header(&request, "authorization").unwrap();
    assert!(
        authorization.starts_with(
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20150830/cn-north-1/ec2/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
        ),
        "{authorization}"
    );
}

#[test]
fn backoff_grows_is_jittered_and_capped() {
    let initial = Duration::from_millis(100);
    for attempt in 1..=40 {
        let ceiling = (initial * 2u32.pow((attempt - 1).min(16))).min(MAX_BACKOFF);
        for _ in 0..20 {
            assert!(backoff(initial, attempt) <= ceiling, "attempt {attempt}");
        }
    }
    // Jitter: not always the same wait.
    let waits: std::collections::BTreeSet<Duration> = (0..20)
        .map(|_| backoff(Duration::from_secs(1), 3))
        .collect();
    assert!(waits.len() > 1, "{waits:?}");
}

#[test]
fn throttling_server_errors_and_lost_connections_are_retried() {
    let service = |status: u16, code: Option<&str>| Failure::Service {
        status,
        code: code.map(str::to_owned),
        message: None,
    };
    for failure in [
        service(400, Some("RequestLimitExceeded")),
        service(400, Some("Throttling")),
        service(400, Some("ThrottlingException")),
        service(503, Some("Unavailable")),
        service(500, None),
        service(429, None),
        Failure::Timeout(Duration::from_secs(1)),
        Failure::Unreachable("connection refused".to_owned()),
    ] {
        assert!(failure.is_transient(), "{failure:?}");
    }
    for failure in [
        service(403, Some("UnauthorizedOperation")),
        service(401, Some("AuthFailure")),
        service(400, Some("InvalidParameterValue")),
        Failure::Refused,
        Failure::NoCredentials("none".to_owned()),
        Failure::Malformed("x".to_owned()),
    ] {
        assert!(!failure.is_transient(), "{failure:?}");
    }
}
