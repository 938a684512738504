//! CloudWatch Logs as a source, read-only: the streams of a log group (`DescribeLogStreams`,
//! optionally under a name prefix) and its events page by page (`FilterLogEvents`), with the time
//! range passed to the API. The caller decides what a page contributes and remembers how far it
//! read; nothing here keeps state between calls.

use super::Aws;
use super::error::{AwsError, Call, from_sdk};

/// One log stream of a group (for flow logs: one per network interface, `eni-…-all`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStream {
    pub name: String,
    /// Milliseconds since the epoch; `None` for a stream without events yet.
    pub first_event: Option<i64>,
    pub creation_time: Option<i64>,
}

/// One log event as `FilterLogEvents` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub stream: String,
    /// CloudWatch's id of the event, unique within the group.
    pub id: String,
    /// The event's timestamp, milliseconds since the epoch.
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
}

/// What to ask `FilterLogEvents` for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub group: String,
    /// At most 100 names (the API's bound); `None` reads every stream of the group.
    pub streams: Option<Vec<String>>,
    /// Inclusive bounds, milliseconds since the epoch.
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// Events per page (the API's default, 10 000, when `None`).
    pub limit: Option<i32>,
}

/// One page of events and the token of the next (`None`: this was the last page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<LogEvent>,
    pub next: Option<String>,
}

/// The most stream names one `FilterLogEvents` call may name.
pub const STREAMS_PER_QUERY: usize = 100;

impl Aws {
    fn logs_call(&self, operation: &'static str, group: &str) -> Call<'static> {
        Call {
            operation,
            resource: format!("cloudwatch://{group}"),
            bucket: None,
            endpoint: self.endpoint_name(),
            limits: self.limits,
        }
    }

    /// The streams of `group` whose names start with `prefix` (every page), in name order.
    pub fn log_streams(
        &self,
        group: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<LogStream>, AwsError> {
        let client = self.logs_client();
        self.runtime.block_on(async {
            let mut streams = Vec::new();
            let mut pages = client
                .describe_log_streams()
                .log_group_name(group)
                .set_log_stream_name_prefix(prefix.filter(|p| !p.is_empty()).map(str::to_owned))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page
                    .map_err(|e| from_sdk(&e, self.logs_call("Logs.DescribeLogStreams", group)))?;
                for stream in page.log_streams() {
                    let Some(name) = stream.log_stream_name() else {
                        return Err(AwsError::Malformed {
                            operation: "Logs.DescribeLogStreams",
                            resource: format!("cloudwatch://{group}"),
                            detail: "a stream without a name".to_owned(),
                        });
                    };
                    streams.push(LogStream {
                        name: name.to_owned(),
                        first_event: stream.first_event_timestamp(),
                        creation_time: stream.creation_time(),
                    });
                }
            }
            streams.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(streams)
        })
    }

    /// One page of `query`'s events, starting at `token` (`None`: the first page).
    pub fn log_events_page(
        &self,
        query: &EventQuery,
        token: Option<String>,
    ) -> Result<EventPage, AwsError> {
        let client = self.logs_client();
        let group = &query.group;
        self.runtime.block_on(async {
            let page = client
                .filter_log_events()
                .log_group_name(group)
                .set_log_stream_names(query.streams.clone())
                .set_start_time(query.start)
                .set_end_time(query.end)
                .set_limit(query.limit)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| from_sdk(&e, self.logs_call("Logs.FilterLogEvents", group)))?;
            let malformed = |what: &str| AwsError::Malformed {
                operation: "Logs.FilterLogEvents",
                resource: format!("cloudwatch://{group}"),
                detail: format!("an event without {what}"),
            };
            let mut events = Vec::with_capacity(page.events().len());
            for event in page.events() {
                events.push(LogEvent {
                    stream: event
                        .log_stream_name()
                        .ok_or_else(|| malformed("a stream name"))?
                        .to_owned(),
                    id: event
                        .event_id()
                        .ok_or_else(|| malformed("an id"))?
                        .to_owned(),
                    timestamp: event.timestamp().ok_or_else(|| malformed("a timestamp"))?,
                    ingestion_time: event.ingestion_time().unwrap_or(0),
                    message: event.message().unwrap_or_default().to_owned(),
                });
            }
            Ok(EventPage {
                events,
                next: page
                    .next_token()
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            })
        })
    }
}
