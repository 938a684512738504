//! S3 as a source: list the objects under an `s3://bucket/prefix` (paginated), prune them by the
//! date in their keys, and download them with bounded concurrency into memory only.

use tokio::task::JoinSet;

use super::Aws;
use super::error::{AwsError, Call, from_sdk};
use super::keys::{KeyInfo, KeyParse, parse_key, parse_s3_url};

/// One object to read, as listed (and, once fetched, as downloaded).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// The `ETag` without its quotes.
    pub etag: String,
    /// `LastModified`, seconds since the epoch.
    pub last_modified: i64,
    /// What the key says (`None`: not a documented layout).
    pub info: Option<KeyInfo>,
}

impl S3Object {
    /// `s3://bucket/key`: the object's name in the ledger and in messages.
    pub fn source(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The ledger's content hash of an S3 object: `etag:<ETag>`.
    pub fn content_hash(&self) -> String {
        format!("etag:{}", self.etag)
    }
}

/// The result of listing a prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Listing {
    /// The objects to read, in key order.
    pub objects: Vec<S3Object>,
    /// Objects outside `since..=until` by the date in their key (never downloaded).
    pub pruned: u64,
    /// Folder markers and AWS Config writability checks.
    pub skipped: u64,
    /// Objects of no documented layout, kept without date pruning.
    pub undated: u64,
}

/// What a fetch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Objects handed to the consumer (with their bytes or their error).
    pub objects: u64,
    /// Bytes downloaded.
    pub bytes: u64,
}

/// How many downloads run at once unless the caller says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 8;

impl Aws {
    /// Lists `s3://bucket/prefix` (every page), keeping the objects whose key date is within
    /// `since..=until` (days since 1970-01-01, UTC, inclusive; `None` is open).
    pub fn s3_list(
        &self,
        url: &str,
        since: Option<i64>,
        until: Option<i64>,
    ) -> Result<S3Listing, AwsError> {
        let (bucket, prefix) = parse_s3_url(url)?;
        let client = self.s3_client();
        let call = || Call {
            operation: "S3.ListObjectsV2",
            resource: url.to_owned(),
            bucket: Some(&bucket),
            endpoint: self.endpoint_name(),
            limits: self.limits,
        };
        self.runtime.block_on(async {
            let mut listing = S3Listing::default();
            let mut pages = client
                .list_objects_v2()
                .bucket(&bucket)
                .prefix(&prefix)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|err| from_sdk(&err, call()))?;
                for object in page.contents() {
                    let Some(key) = object.key() else {
                        return Err(AwsError::Malformed {
                            operation: "S3.ListObjectsV2",
                            resource: url.to_owned(),
                            detail: "an object without a key".to_owned(),
                        });
                    };
                    let info = match parse_key(key) {
                        KeyParse::Skip => {
                            listing.skipped += 1;
                            continue;
                        }
                        KeyParse::Other => {
                            listing.undated += 1;
                            None
                        }
                        KeyParse::Known(info) => {
                            let after_until = until.is_some_and(|u| info.day > u);
                            let before_since = since.is_some_and(|s| info.day < s);
                            if after_until || before_since {
                                listing.pruned += 1;
                                continue;
                            }
                            Some(info)
                        }
                    };
                    listing.objects.push(S3Object {
                        bucket: bucket.clone(),
                        key: key.to_owned(),
                        size: object.size().unwrap_or(0).max(0) as u64,
                        etag: unquote(object.e_tag().unwrap_or_default()),
                        last_modified: object
                            .last_modified()
                            .map_or(0, aws_sdk_s3::primitives::DateTime::secs),
                        info,
                    });
                }
            }
            listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(listing)
        })
    }

    /// Downloads `objects`, at most `concurrency` at a time, into memory (nothing touches the
    /// disk), and hands each to `consume` on the calling thread, in completion order, with its
    /// bytes or with the error that stopped its download. The object passed along carries the
    /// size, `ETag` and date of what was actually downloaded (it may have changed since the
    /// listing). An error from `consume` stops the fetch (downloads in flight are dropped) and
    /// is returned.
    pub fn s3_fetch<E>(
        &self,
        objects: Vec<S3Object>,
        concurrency: usize,
        mut consume: impl FnMut(S3Object, Result<Vec<u8>, AwsError>) -> Result<(), E>,
    ) -> Result<FetchStats, E> {
        let client = self.s3_client();
        let concurrency = concurrency.max(1);
        let mut stats = FetchStats::default();
        let mut queue = objects.into_iter();
        let mut running = JoinSet::new();
        loop {
            while running.len() < concurrency {
                let Some(object) = queue.next() else { break };
                let download = download(client.clone(), object, self.endpoint_name(), self.limits);
                running.spawn_on(download, self.runtime.handle());
            }
            let Some(done) = self.runtime.block_on(running.join_next()) else {
                break;
            };
            let (object, result) = match done {
                Ok(pair) => pair,
                // A download task panicked or was cancelled: not something a retry fixes.
                Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
            };
            stats.objects += 1;
            if let Ok(bytes) = &result {
                stats.bytes += bytes.len() as u64;
            }
            consume(object, result)?;
        }
        Ok(stats)
    }
}

async fn download(
    client: aws_sdk_s3::Client,
    mut object: S3Object,
    endpoint: String,
    limits: super::Limits,
) -> (S3Object, Result<Vec<u8>, AwsError>) {
    let resource = object.source();
    let call = || Call {
        operation: "S3.GetObject",
        resource: resource.clone(),
        bucket: Some(&object.bucket),
        endpoint: endpoint.clone(),
        limits,
    };
    let response = match client
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .send()
        .await
    {
        Ok(response) => response,
        Err(err) => {
            let error = from_sdk(&err, call());
            return (object, Err(error));
        }
    };
    let etag = response.e_tag().map(unquote);
    let last_modified = response
        .last_modified()
        .map(aws_sdk_s3::primitives::DateTime::secs);
    // The SDK's timeouts end when the headers arrive; the body gets the attempt bound too.
    let body = tokio::time::timeout(limits.attempt_timeout, response.body.collect()).await;
    let bytes = match body {
        Ok(Ok(aggregated)) => aggregated.into_bytes().to_vec(),
        Ok(Err(err)) => {
            let error = AwsError::Unreachable {
                operation: "S3.GetObject",
                resource,
                endpoint,
                detail: format!("the download broke off: {err}"),
            };
            return (object, Err(error));
        }
        Err(_) => {
            let error = AwsError::Timeout {
                operation: "S3.GetObject",
                resource,
                endpoint,
                after: limits.attempt_timeout,
            };
            return (object, Err(error));
        }
    };
    if let Some(etag) = etag {
        object.etag = etag;
    }
    if let Some(secs) = last_modified {
        object.last_modified = secs;
    }
    object.size = bytes.len() as u64;
    (object, Ok(bytes))
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}
