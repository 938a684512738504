//! Ingest stage: the result of `tighten athena-sql` as Athena writes it (CSV with a header row,
//! values quoted, NULL as an empty field, gzip optional) turned back into the aggregate that
//! `ingest flow-logs` would have built, so that the store merges it by the same code.

use std::collections::HashMap;
use std::io::Read as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::athena::{COLUMNS, Meta, kind};
use crate::ingest::flowlog::aggregate::{
    ClientKey, Coverage, FileEvidence, GroupKey, Initiator, Stats,
};
use crate::ingest::flowlog::record::Action;
use crate::ingest::sketch::Sketch;

/// What is wrong with a result file. Nothing of a file with an error is stored.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EvidenceError {
    #[error("{}: cannot read: {source}", path.display())]
    #[diagnostic(
        code(tighten::ingest::io),
        help("check that the path exists and is readable")
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:1: the header lacks the column{} {missing}", path.display(), if *count == 1 { "" } else { "s" })]
    #[diagnostic(
        code(tighten::ingest::evidence_columns),
        help(
            "import the result of the query `tighten athena-sql` prints (every column, with a header row); nothing of this file was stored"
        )
    )]
    MissingColumns {
        path: PathBuf,
        missing: String,
        count: usize,
    },
    #[error("{}:{line}: {reason}", path.display())]
    #[diagnostic(
        code(tighten::ingest::evidence_row),
        help(
            "the file is not an unchanged result of `tighten athena-sql`; re-run the query and import its CSV as Athena wrote it; nothing of this file was stored"
        )
    )]
    Bad {
        path: PathBuf,
        line: u64,
        reason: String,
    },
}

/// A result read to the end.
#[derive(Debug)]
pub struct EvidenceRead {
    pub evidence: FileEvidence,
    pub meta: Meta,
    /// Data rows read (every kind).
    pub rows: u64,
    /// Rows skipped for an address that is not IPv4 or IPv6: the engine passed on a text that
    /// `ingest flow-logs` would have counted as a malformed line.
    pub unreadable: u64,
}

/// Reads one result (gzip when it starts with the gzip magic bytes); `path` names it in messages.
pub fn read_evidence(path: &Path, bytes: &[u8]) -> Result<EvidenceRead, EvidenceError> {
    let mut text = String::new();
    let decoded = if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map(|_| ())
    } else {
        std::str::from_utf8(bytes)
            .map(|t| t.clone_into(&mut text))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    };
    decoded.map_err(|source| EvidenceError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut records = Records::new(&text);
    let bad = |line: u64, reason: String| EvidenceError::Bad {
        path: path.to_owned(),
        line,
        reason,
    };
    let Some((_, header)) = records.next().transpose().map_err(|(l, r)| bad(l, r))? else {
        return Err(bad(1, "the file is empty: no header row".to_owned()));
    };
    let index: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !index.contains_key(c))
        .collect();
    if !missing.is_empty() {
        return Err(EvidenceError::MissingColumns {
            path: path.to_owned(),
            missing: missing
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            count: missing.len(),
        });
    }
    let positions: Vec<usize> = COLUMNS.iter().map(|c| index[c]).collect();
    let mut import = Import {
        evidence: FileEvidence::new(usize::MAX),
        meta: None,
        own: HashMap::new(),
        unreadable: 0,
    };
    let mut rows = 0u64;
    for record in records {
        let (line, values) = record.map_err(|(l, r)| bad(l, r))?;
        if values.len() == 1 && values[0].is_empty() {
            continue;
        }
        if values.len() != header.len() {
            return Err(bad(
                line,
                format!(
                    "{} values, the header has {} columns",
                    values.len(),
                    header.len()
                ),
            ));
        }
        let row = Row {
            values: &values,
            positions: &positions,
        };
        import.row(&row).map_err(|reason| bad(line, reason))?;
        rows += 1;
    }
    let Some(meta) = import.meta else {
        return Err(bad(
            1,
            "no `meta` row: the result was cut short or did not come from `tighten athena-sql`"
                .to_owned(),
        ));
    };
    for (interface, (records, addrs)) in import.own {
        let facts = &mut import.evidence.facts[interface as usize];
        facts.own.records = records;
        facts.own.addrs = addrs;
    }
    Ok(EvidenceRead {
        evidence: import.evidence,
        meta,
        rows,
        unreadable: import.unreadable,
    })
}

struct Import {
    evidence: FileEvidence,
    meta: Option<Meta>,
    /// Per interface: its traffic records and the addresses present in all of them.
    own: HashMap<u32, (u64, Vec<IpAddr>)>,
    unreadable: u64,
}

impl Import {
    fn row(&mut self, row: &Row<'_>) -> Result<(), String> {
        let kind = row.text("kind")?;
        let addresses: &[&str] = match kind {
            kind::CLIENT => &["server", "client", "if_src", "if_dst"],
            kind::MANY => &["server"],
            kind::ADDRESS => &["client"],
            _ => &[],
        };
        if addresses
            .iter()
            .any(|c| !matches!(row.raw(c), "" | "-") && row.raw(c).parse::<IpAddr>().is_err())
        {
            self.unreadable += 1;
            return Ok(());
        }
        match kind {
            kind::CLIENT => {
                let (key, stats) = self.group(row)?;
                let client = ClientKey {
                    client: Some(row.addr("client")?),
                    client_port: row.number("client_port")?,
                    if_src: row.optional_addr("if_src")?,
                    if_dst: row.optional_addr("if_dst")?,
                };
                let group = self.evidence.groups.entry(key).or_default();
                group.merge_client(client, &stats);
            }
            kind::MANY => {
                let (key, stats) = self.group(row)?;
                let sketch = Sketch::with_estimate(row.number("sources")?);
                let group = self.evidence.groups.entry(key).or_default();
                group.merge_folded(&stats, &sketch);
            }
            kind::COVERAGE => {
                let interface = self.evidence.interface(row.text("interface")?);
                let day = row.number("day")?;
                let coverage = Coverage {
                    records: row.number("flows")?,
                    nodata: row.number("nodata")?,
                    skipdata: row.number("skipdata")?,
                    first: row.number("first_seen")?,
                    last: row.number("last_seen")?,
                };
                self.evidence.records += coverage.records;
                self.evidence.nodata += coverage.nodata;
                self.evidence.skipdata += coverage.skipdata;
                self.evidence.facts[interface as usize]
                    .day(day)
                    .merge(&coverage);
            }
            kind::ADDRESS => {
                let interface = self.evidence.interface(row.text("interface")?);
                let addr = row.addr("client")?;
                let records: u64 = row.number("flows")?;
                let (known, addrs) = self.own.entry(interface).or_insert((records, Vec::new()));
                if *known != records {
                    return Err(format!(
                        "two `address` rows of one interface count {known} and {records} records"
                    ));
                }
                addrs.push(addr);
            }
            kind::META => {
                if self.meta.is_some() {
                    return Err("a second `meta` row: results of two queries were joined".into());
                }
                self.meta = Some(Meta::parse(row.text("meta")?)?);
            }
            other => return Err(format!("unknown row kind `{other}`")),
        }
        Ok(())
    }

    fn group(&mut self, row: &Row<'_>) -> Result<(GroupKey, Stats), String> {
        let interface = self.evidence.interface(row.text("interface")?);
        let initiator: i64 = row.number("initiator")?;
        let action: i64 = row.number("action")?;
        let direction: u8 = row.number("direction")?;
        if !(0..=2).contains(&action) || direction > 2 {
            return Err(format!(
                "action {action} or direction {direction} is not a code tighten writes"
            ));
        }
        let key = GroupKey {
            interface,
            day: row.number("day")?,
            protocol: row.number("protocol")?,
            action: Action::from_code(action),
            initiator: Initiator::from_code(initiator)
                .ok_or_else(|| format!("initiator {initiator} is not a code tighten writes"))?,
            direction,
            server: row.addr("server")?,
            server_port: row.number("server_port")?,
        };
        let stats = Stats {
            flows: row.number("flows")?,
            packets: row.number("packets")?,
            bytes: row.number("bytes")?,
            first_seen: row.number("first_seen")?,
            last_seen: row.number("last_seen")?,
            tcp_flags: row.number("tcp_flags")?,
        };
        if stats.flows == 0 {
            return Err("a group row with 0 flows".into());
        }
        Ok((key, stats))
    }
}

/// One data row, read by column name.
struct Row<'a> {
    values: &'a [String],
    /// Position of each of `COLUMNS` in the file.
    positions: &'a [usize],
}

impl Row<'_> {
    fn raw(&self, column: &str) -> &str {
        COLUMNS
            .iter()
            .position(|c| *c == column)
            .and_then(|i| self.values.get(self.positions[i]))
            .map_or("", String::as_str)
    }

    fn text(&self, column: &'static str) -> Result<&str, String> {
        match self.raw(column) {
            "" => Err(format!("`{column}` is empty")),
            v => Ok(v),
        }
    }

    fn number<T: std::str::FromStr>(&self, column: &'static str) -> Result<T, String> {
        let v = self.text(column)?;
        v.parse()
            .map_err(|_| format!("`{column}`: `{v}` is not a number in range"))
    }

    fn addr(&self, column: &'static str) -> Result<IpAddr, String> {
        let v = self.text(column)?;
        v.parse()
            .map_err(|_| format!("`{column}`: `{v}` is not an IPv4 or IPv6 address"))
    }

    fn optional_addr(&self, column: &'static str) -> Result<Option<IpAddr>, String> {
        match self.raw(column) {
            "" | "-" => Ok(None),
            _ => self.addr(column).map(Some),
        }
    }
}

/// RFC 4180 records: fields separated by commas, optionally quoted (`""` inside quotes is one
/// quote; quoted fields may hold commas and newlines). Yields (line of the record's start, values).
struct Records<'a> {
    rest: &'a str,
    line: u64,
}

type Record = Result<(u64, Vec<String>), (u64, String)>;

impl<'a> Records<'a> {
    fn new(text: &'a str) -> Records<'a> {
        Records {
            rest: text.strip_prefix('\u{feff}').unwrap_or(text),
            line: 1,
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.rest.is_empty() {
            return None;
        }
        let start = self.line;
        let mut values = Vec::new();
        let mut field = String::new();
        let mut chars = self.rest.char_indices().peekable();
        let mut quoted = false;
        let mut was_quoted = false;
        let mut end = self.rest.len();
        while let Some((i, c)) = chars.next() {
            if quoted {
                match c {
                    '"' if chars.peek().is_some_and(|(_, n)| *n == '"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    '\n' => {
                        self.line += 1;
                        field.push(c);
                    }
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                '"' if field.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                }
                ',' => {
                    values.push(std::mem::take(&mut field));
                    was_quoted = false;
                }
                '\r' if chars.peek().is_some_and(|(_, n)| *n == '\n') => {}
                '\n' => {
                    end = i + 1;
                    break;
                }
                '"' => {
                    self.rest = "";
                    return Some(Err((
                        start,
                        "a quote inside an unquoted value (not CSV as Athena writes it)".into(),
                    )));
                }
                _ => field.push(c),
            }
        }
        if quoted {
            self.rest = "";
            return Some(Err((start, "a quoted value is not closed".into())));
        }
        values.push(field);
        self.rest = &self.rest[end..];
        self.line += 1;
        Some(Ok((start, values)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Record> {
        Records::new(text).collect()
    }

    #[test]
    fn csv_quoting_as_athena_writes_it() {
        assert_eq!(
            parse("\"a\",\"b,c\"\r\n\"say \"\"hi\"\"\",,\"\"\n\"multi\nline\",x\n"),
            vec![
                Ok((1, vec!["a".into(), "b,c".into()])),
                Ok((2, vec!["say \"hi\"".into(), String::new(), String::new()])),
                Ok((3, vec!["multi\nline".into(), "x".into()])),
            ]
        );
        assert_eq!(
            parse("a,\"open\n"),
            vec![Err((1, "a quoted value is not closed".into()))]
        );
        assert_eq!(parse("x,y"), vec![Ok((1, vec!["x".into(), "y".into()]))]);
    }

    fn header() -> String {
        COLUMNS
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn missing_columns_are_named() {
        let text = header()
            .replace("\"sources\",", "")
            .replace(",\"meta\"", "");
        let err = read_evidence(Path::new("r.csv"), text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.csv:1: the header lacks the columns `sources`, `meta`"
        );
    }

    #[test]
    fn a_result_without_meta_is_refused() {
        let err =
            read_evidence(Path::new("r.csv"), format!("{}\n", header()).as_bytes()).unwrap_err();
        assert!(
            err.to_string().starts_with("r.csv:1: no `meta` row"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_value_is_located() {
        let mut cells = vec![String::new(); COLUMNS.len()];
        cells[0] = "coverage".into();
        cells[1] = "eni-1".into();
        cells[2] = "x".into();
        let text = format!("{}\n{}\n", header(), cells.join(","));
        let err = read_evidence(Path::new("r.csv"), text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.csv:2: `day`: `x` is not a number in range"
        );
    }

    #[test]
    fn a_row_with_an_unreadable_address_is_skipped_and_counted() {
        let row = |kind: &str, client: &str| {
            let mut cells = vec![String::new(); COLUMNS.len()];
            for (column, value) in [
                ("kind", kind),
                ("interface", "eni-1"),
                ("day", "20727"),
                ("protocol", "6"),
                ("action", "1"),
                ("initiator", "1"),
                ("direction", "1"),
                ("server", "10.0.0.1"),
                ("server_port", "443"),
                ("client", client),
                ("client_port", "0"),
                ("flows", "2"),
                ("packets", "3"),
                ("bytes", "4"),
                ("first_seen", "5"),
                ("last_seen", "6"),
                ("tcp_flags", "2"),
            ] {
                cells[COLUMNS.iter().position(|c| *c == column).unwrap()] = value.to_owned();
            }
            cells.join(",")
        };
        let mut meta = vec![String::new(); COLUMNS.len()];
        meta[0] = "meta".into();
        meta[COLUMNS.len() - 1] = "tighten-evidence/1 fields=v5 cap=10".into();
        let text = format!(
            "{}\n{}\n{}\n{}\n",
            header(),
            row("client", "192.0.2.7"),
            row("client", "not-an-address"),
            meta.join(",")
        );
        let read = read_evidence(Path::new("r.csv"), text.as_bytes()).unwrap();
        assert_eq!((read.rows, read.unreadable), (3, 1));
        assert_eq!(read.evidence.groups.len(), 1);
        let group = read.evidence.groups.values().next().unwrap();
        assert_eq!(group.len(), 1);
        assert_eq!(read.meta.cap, 10);
    }
}
