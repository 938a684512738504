//! The text format of VPC Flow Logs: field names, the header line and the default (v2) layout.
//!
//! A file either starts with a header naming its fields (S3 delivery and custom formats, any order,
//! versions 2–8) or has none, in which case every line has the 14 default version-2 fields.

/// The fields tighten reads. Every other field a header names is accepted and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    Version,
    InterfaceId,
    SrcAddr,
    DstAddr,
    SrcPort,
    DstPort,
    Protocol,
    Packets,
    Bytes,
    Start,
    End,
    Action,
    LogStatus,
    PktSrcAddr,
    PktDstAddr,
    TcpFlags,
    FlowDirection,
}

impl Field {
    /// The fields without which a record cannot be turned into evidence. The others default when a
    /// custom format leaves them out: packets and bytes 0, `end` = `start`, `action` unknown (`-`,
    /// which later checks treat as possibly accepted), `log-status` OK.
    pub(crate) const REQUIRED: [Field; 7] = [
        Field::InterfaceId,
        Field::SrcAddr,
        Field::DstAddr,
        Field::SrcPort,
        Field::DstPort,
        Field::Protocol,
        Field::Start,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::Version => "version",
            Field::InterfaceId => "interface-id",
            Field::SrcAddr => "srcaddr",
            Field::DstAddr => "dstaddr",
            Field::SrcPort => "srcport",
            Field::DstPort => "dstport",
            Field::Protocol => "protocol",
            Field::Packets => "packets",
            Field::Bytes => "bytes",
            Field::Start => "start",
            Field::End => "end",
            Field::Action => "action",
            Field::LogStatus => "log-status",
            Field::PktSrcAddr => "pkt-srcaddr",
            Field::PktDstAddr => "pkt-dstaddr",
            Field::TcpFlags => "tcp-flags",
            Field::FlowDirection => "flow-direction",
        }
    }

    fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "version" => Field::Version,
            "interface-id" => Field::InterfaceId,
            "srcaddr" => Field::SrcAddr,
            "dstaddr" => Field::DstAddr,
            "srcport" => Field::SrcPort,
            "dstport" => Field::DstPort,
            "protocol" => Field::Protocol,
            "packets" => Field::Packets,
            "bytes" => Field::Bytes,
            "start" => Field::Start,
            "end" => Field::End,
            "action" => Field::Action,
            "log-status" => Field::LogStatus,
            "pkt-srcaddr" => Field::PktSrcAddr,
            "pkt-dstaddr" => Field::PktDstAddr,
            "tcp-flags" => Field::TcpFlags,
            "flow-direction" => Field::FlowDirection,
            _ => return None,
        })
    }
}

/// Field names of versions 2–8 that tighten does not read; a header may name them.
const OTHER_KNOWN_FIELDS: &[&str] = &[
    "account-id",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "type",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
    "resource-id",
    "encryption-status",
];

/// The default format (version 2), used when a file has no header line.
const DEFAULT_V2: [&str; 14] = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// Where each field we read sits in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Number of fields on every line.
    pub(crate) width: usize,
    /// `(column, field)` for the columns tighten reads, in column order.
    pub(crate) columns: Vec<(usize, Field)>,
    /// The field of each column, `None` for columns tighten does not read.
    pub(crate) by_column: Vec<Option<Field>>,
    /// The field names as the file gives them (or the default v2 set), for the ledger.
    pub(crate) names: String,
    /// Whether the layout came from a header line (which then is line 1 and no record).
    pub(crate) from_header: bool,
}

/// Why a first line is not a usable header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderProblem {
    /// The line does not look like a header at all (not flow-log field names).
    NotAHeader,
    /// A header that names flow-log fields but lacks one tighten needs.
    MissingField(&'static str),
    /// A header that names the same field twice.
    Duplicate(String),
}

impl Layout {
    /// The default version-2 layout for files without a header.
    pub(crate) fn default_v2() -> Layout {
        Layout::from_names(&DEFAULT_V2, false)
            .unwrap_or_else(|_| unreachable!("v2 names are valid"))
    }

    /// Reads a header line. A line is a header when every token is a field name of some version;
    /// tokens of the right shape that no version defines are accepted as future fields.
    pub(crate) fn parse_header(line: &str) -> Result<Layout, HeaderProblem> {
        let names: Vec<&str> = line.split_ascii_whitespace().collect();
        let shaped = |n: &str| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                && !n.starts_with('-')
        };
        let known = |n: &str| Field::from_name(n).is_some() || OTHER_KNOWN_FIELDS.contains(&n);
        if names.is_empty() || !names.iter().all(|n| shaped(n)) || !names.iter().any(|n| known(n)) {
            return Err(HeaderProblem::NotAHeader);
        }
        Layout::from_names(&names, true)
    }

    fn from_names(names: &[&str], from_header: bool) -> Result<Layout, HeaderProblem> {
        let mut columns = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(HeaderProblem::Duplicate((*name).to_owned()));
            }
            if let Some(field) = Field::from_name(name) {
                columns.push((i, field));
            }
        }
        for required in Field::REQUIRED {
            if !columns.iter().any(|(_, f)| *f == required) {
                return Err(HeaderProblem::MissingField(required.name()));
            }
        }
        let mut by_column = vec![None; names.len()];
        for &(i, field) in &columns {
            by_column[i] = Some(field);
        }
        Ok(Layout {
            width: names.len(),
            columns,
            by_column,
            names: names.join(" "),
            from_header,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_reads_fourteen_columns() {
        let layout = Layout::default_v2();
        assert_eq!(layout.width, 14);
        assert_eq!(layout.columns.len(), 13);
        assert!(!layout.from_header);
    }

    #[test]
    fn header_in_any_order_with_unknown_fields() {
        let layout = Layout::parse_header(
            "log-status action end start bytes packets protocol dstport srcport dstaddr srcaddr \
             interface-id vpc-id some-future-field",
        )
        .unwrap();
        assert_eq!(layout.width, 14);
        assert_eq!(layout.columns[0], (0, Field::LogStatus));
        assert_eq!(layout.columns[11], (11, Field::InterfaceId));
        assert_eq!(layout.columns.len(), 12);
        let minimal =
            Layout::parse_header("interface-id srcaddr dstaddr srcport dstport protocol start")
                .unwrap();
        assert_eq!(minimal.width, 7);
    }

    #[test]
    fn header_missing_a_needed_field_names_it() {
        assert_eq!(
            Layout::parse_header("version srcaddr dstaddr srcport dstport protocol packets start"),
            Err(HeaderProblem::MissingField("interface-id"))
        );
    }

    #[test]
    fn duplicate_field_is_refused() {
        assert_eq!(
            Layout::parse_header(
                "interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end \
                 action log-status srcaddr"
            ),
            Err(HeaderProblem::Duplicate("srcaddr".into()))
        );
    }

    #[test]
    fn records_and_prose_are_not_headers() {
        let record = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK";
        assert_eq!(Layout::parse_header(record), Err(HeaderProblem::NotAHeader));
        assert_eq!(
            Layout::parse_header("{\"a\": 1}"),
            Err(HeaderProblem::NotAHeader)
        );
        assert_eq!(
            Layout::parse_header("hello world"),
            Err(HeaderProblem::NotAHeader)
        );
    }
}
