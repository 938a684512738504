//! CloudWatch Logs as a source: `cloudwatch://LOG_GROUP[:STREAM_PREFIX]`. Events are read with
//! `FilterLogEvents` over the `--since/--until` range, page by page; each page's new events are
//! parsed as headerless flow-log records (in the flow log's `LogFormat` when it is known) and
//! committed in one transaction with their event ids, so a rerun reads only what is new and an
//! interrupted run resumes without counting anything twice.
//!
//! Exactness: an event counts iff its (stream, id) is not stored yet, and the id is stored in the
//! transaction that stores its evidence. Ids are forgotten only before a stream's position, which
//! moves (after a complete run) to an hour before the newest event seen: CloudWatch takes late
//! events up to then, and events before a stream's position are dropped unread.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::{Observer, Report, RunOptions, Source, Stopped, formats};
use crate::aws::{Aws, AwsError, EventQuery, LogEvent, STREAMS_PER_QUERY};
use crate::ingest::flowlog::parallel::hash_bytes;
use crate::ingest::flowlog::{Layout, ReadOptions, Shape, read_bytes_with};
use crate::store::cloudwatch::EventKey;
use crate::store::{Committed, LedgerEntry, Store};

/// How far back from the newest event a rerun looks again for events that arrived late.
pub const LOOKBACK_MS: i64 = 3_600_000;

const DAY_MS: i64 = 86_400_000;

/// `cloudwatch://GROUP[:PREFIX]` (`rest` is what follows the scheme). Log group names keep their
/// slashes (`cloudwatch:///aws/vpc/flow-logs`); stream names cannot hold a colon, group names
/// neither, so the prefix follows one.
pub(super) fn parse_url(url: &str, rest: &str) -> Result<Source, AwsError> {
    let (group, prefix) = rest.split_once(':').unwrap_or((rest, ""));
    let valid = !group.is_empty()
        && group.len() <= 512
        && group
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b));
    if !valid {
        return Err(AwsError::BadUrl {
            url: url.to_owned(),
        });
    }
    Ok(Source::CloudWatch {
        group: group.to_owned(),
        stream_prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
    })
}

/// Reads the new events of `group` (streams under `prefix`) into the store.
pub(super) fn ingest(
    aws: &Aws,
    store: &mut Store,
    group: &str,
    prefix: Option<&str>,
    options: &RunOptions,
    observer: &dyn Observer,
    report: &mut Report,
) -> miette::Result<()> {
    // --log-format, else the flow log's own format, else the record's width decides (AWS's
    // default format, or all fields of one version).
    let looked_up = match &options.log_format {
        Some(_) => None,
        None => match formats::for_group(aws, store, group, observer)? {
            None => None,
            Some(format) => match Layout::from_log_format(&format) {
                Ok(layout) => Some(layout),
                Err(problem) => {
                    observer.note(&format!(
                        "note: cloudwatch://{group}: its flow log's LogFormat cannot be used \
                         ({problem}); records are read by their width"
                    ));
                    None
                }
            },
        },
    };
    let layout = options.log_format.as_ref().or(looked_up.as_ref());
    let read = ReadOptions {
        part_rows: 0,
        ..options.read
    };
    let streams = aws.log_streams(group, prefix)?;
    if streams.is_empty() {
        observer.note(&format!(
            "note: cloudwatch://{group}: no log streams{}",
            prefix.map(|p| format!(" named {p}…")).unwrap_or_default()
        ));
        return Ok(());
    }
    let positions = store.stream_positions(group)?;
    let since = options.since.map(|d| d * DAY_MS);
    let until = options.until.map(|d| (d + 1) * DAY_MS - 1);
    // Every stream from its own position (or its first event); the query from the earliest.
    let start = streams
        .iter()
        .map(|s| {
            positions
                .get(&s.name)
                .copied()
                .or(s.first_event)
                .or(s.creation_time)
                .unwrap_or(0)
        })
        .min()
        .map(|start| since.map_or(start, |s| s.max(start)))
        .filter(|&start| start > 0);
    let mut reader = PageReader {
        store,
        group,
        read,
        layout,
        assumed_noted: false,
        positions,
        seen: HashSet::new(),
        newest: HashMap::new(),
        observer,
        report,
    };
    reader.seen = reader.store.seen_events(group)?;
    // Without a prefix the whole group is read in one query (new streams included).
    let batches: Vec<Option<Vec<String>>> = if prefix.is_some() {
        streams
            .chunks(STREAMS_PER_QUERY)
            .map(|c| Some(c.iter().map(|s| s.name.clone()).collect()))
            .collect()
    } else {
        vec![None]
    };
    for streams in batches {
        let query = EventQuery {
            group: group.to_owned(),
            streams,
            start,
            end: until,
            limit: options.page_limit,
        };
        let mut token = None;
        loop {
            let page = aws.log_events_page(&query, token)?;
            reader.page(page.events)?;
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
    }
    let advanced: Vec<(String, i64)> = reader
        .newest
        .into_iter()
        .map(|(stream, newest)| (stream, newest - LOOKBACK_MS))
        .collect();
    store.advance_streams(group, &advanced)?;
    Ok(())
}

struct PageReader<'a> {
    store: &'a mut Store,
    group: &'a str,
    read: ReadOptions,
    /// The flow log's format, when known.
    layout: Option<&'a Layout>,
    /// Whether the note about records read by their width was printed.
    assumed_noted: bool,
    /// Per stream: events before this were read by an earlier run.
    positions: HashMap<String, i64>,
    seen: HashSet<(String, String)>,
    /// Per stream: the newest event timestamp this run saw.
    newest: HashMap<String, i64>,
    observer: &'a dyn Observer,
    report: &'a mut Report,
}

impl PageReader<'_> {
    fn page(&mut self, events: Vec<LogEvent>) -> miette::Result<()> {
        let mut fresh = Vec::with_capacity(events.len());
        for event in events {
            let newest = self.newest.entry(event.stream.clone()).or_insert(i64::MIN);
            *newest = (*newest).max(event.timestamp);
            let before = self
                .positions
                .get(&event.stream)
                .is_some_and(|&p| event.timestamp < p);
            if before
                || self
                    .seen
                    .contains(&(event.stream.clone(), event.id.clone()))
            {
                self.report.events_seen += 1;
            } else {
                fresh.push(event);
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for event in &fresh {
            // One record per event: a newline inside a message would shift every later one.
            text.push_str(&event.message.replace(['\n', '\r'], " "));
            text.push('\n');
        }
        let keys: Vec<EventKey> = fresh
            .iter()
            .map(|e| (e.stream.clone(), e.id.clone(), e.timestamp))
            .collect();
        let mut identity = self.group.to_owned();
        for (stream, id, _) in &keys {
            identity.push('\n');
            identity.push_str(stream);
            identity.push(' ');
            identity.push_str(id);
        }
        let (first, last) = fresh.iter().fold((i64::MAX, i64::MIN), |(a, b), e| {
            (a.min(e.timestamp), b.max(e.timestamp))
        });
        let source = format!("cloudwatch://{}@{first}-{last}", self.group);
        let name = PathBuf::from(&source);
        let shape = Shape {
            layout: self.layout,
            ..Shape::default()
        };
        let read = read_bytes_with(&name, text.as_bytes(), self.read, shape, &mut |_| Ok(()))?;
        if let (Some(version), false) = (read.assumed, self.assumed_noted) {
            self.assumed_noted = true;
            self.observer.note(&format!(
                "note: cloudwatch://{}: the flow log's format is not known (no \
                 ec2:DescribeFlowLogs): events read as all fields of version {version} in AWS's \
                 documented order by their width; pass --log-format if it uses a custom format",
                self.group
            ));
        }
        for (line, reason) in &read.problems {
            if let Some(event) = usize::try_from(*line)
                .ok()
                .and_then(|l| fresh.get(l.wrapping_sub(1)))
            {
                self.observer.note(&format!(
                    "warning: cloudwatch://{}:{} event {}: {reason}",
                    self.group, event.stream, event.id
                ));
            }
        }
        let entry = LedgerEntry {
            kind: "flow-log",
            source,
            size: text.len() as u64,
            mtime: fresh.iter().map(|e| e.ingestion_time / 1000).max(),
            content_hash: format!("cw:{}", hash_bytes(identity.as_bytes())),
            fields: read.fields.clone(),
        };
        let (records, malformed) = (read.evidence.records, read.evidence.malformed_total());
        match self
            .store
            .commit_events(&entry, read.evidence, self.group, &keys)?
        {
            Committed::Stored { rows } => {
                self.report.stored += 1;
                self.report.pages += 1;
                self.report.records += records;
                self.report.malformed += malformed;
                self.report.rows += rows as u64;
            }
            Committed::Duplicate { .. } => self.report.duplicates += 1,
        }
        for (stream, id, _) in keys {
            self.seen.insert((stream, id));
        }
        self.observer.object_done(0, records);
        if let Err(stop) = self.observer.committed() {
            // What was merged before the stop stays.
            self.store.flush()?;
            return Err(Stopped(stop).into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_group_and_an_optional_stream_prefix() {
        let parse = |u: &str| parse_url(u, u.strip_prefix("cloudwatch://").unwrap());
        assert_eq!(
            parse("cloudwatch:///aws/vpc/flow-logs").unwrap(),
            Source::CloudWatch {
                group: "/aws/vpc/flow-logs".to_owned(),
                stream_prefix: None
            }
        );
        assert_eq!(
            parse("cloudwatch://flow-logs:eni-0abc").unwrap(),
            Source::CloudWatch {
                group: "flow-logs".to_owned(),
                stream_prefix: Some("eni-0abc".to_owned())
            }
        );
        assert!(parse("cloudwatch://").is_err());
        assert!(parse("cloudwatch://a b").is_err());
    }
}
