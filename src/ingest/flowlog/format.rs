//! The text format of VPC Flow Logs: field names, the header line, `LogFormat` strings and the
//! layouts of headerless records.
//!
//! A file either starts with a header naming its fields (S3 delivery, any order, versions 2–8) or
//! has none (`CloudWatch` Logs, exports, most tools' fixtures). A headerless file is read with the
//! flow log's `LogFormat` when the user gives it; otherwise its field count decides: 14 is AWS's
//! default (version 2) format, and 21, 25, 29, 39 or 40 are "all fields of version 3, 4, 5, 7 or
//! 8" in AWS's documented order. Transit-gateway flow logs are recognised and refused: they
//! describe gateway attachments, not interfaces, and carry no security-group information.

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

/// Every field of versions 2–8 in AWS's documented order ("all fields of version N" is a prefix
/// of this list), with the version that introduced it. Version 6 added no VPC field.
const ALL_FIELDS: [(&str, u8); 40] = [
    ("version", 2),
    ("account-id", 2),
    ("interface-id", 2),
    ("srcaddr", 2),
    ("dstaddr", 2),
    ("srcport", 2),
    ("dstport", 2),
    ("protocol", 2),
    ("packets", 2),
    ("bytes", 2),
    ("start", 2),
    ("end", 2),
    ("action", 2),
    ("log-status", 2),
    ("vpc-id", 3),
    ("subnet-id", 3),
    ("instance-id", 3),
    ("tcp-flags", 3),
    ("type", 3),
    ("pkt-srcaddr", 3),
    ("pkt-dstaddr", 3),
    ("region", 4),
    ("az-id", 4),
    ("sublocation-type", 4),
    ("sublocation-id", 4),
    ("pkt-src-aws-service", 5),
    ("pkt-dst-aws-service", 5),
    ("flow-direction", 5),
    ("traffic-path", 5),
    ("ecs-cluster-arn", 7),
    ("ecs-cluster-name", 7),
    ("ecs-container-instance-arn", 7),
    ("ecs-container-instance-id", 7),
    ("ecs-container-id", 7),
    ("ecs-second-container-id", 7),
    ("ecs-service-name", 7),
    ("ecs-task-definition-arn", 7),
    ("ecs-task-arn", 7),
    ("ecs-task-id", 7),
    ("reject-reason", 8),
];

/// Field names a header or a log format may hold besides `ALL_FIELDS` (newer, not numbered).
const LATER_FIELDS: &[&str] = &["resource-id", "encryption-status"];

/// Fields only transit-gateway flow logs have (they describe attachments, not interfaces).
const TRANSIT_GATEWAY_FIELDS: &[&str] = &[
    "resource-type",
    "tgw-id",
    "tgw-attachment-id",
    "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id",
    "tgw-src-vpc-id",
    "tgw-dst-vpc-id",
    "tgw-src-subnet-id",
    "tgw-dst-subnet-id",
    "tgw-src-eni",
    "tgw-dst-eni",
    "tgw-src-az-id",
    "tgw-dst-az-id",
    "tgw-pair-attachment-id",
    "packets-lost-no-route",
    "packets-lost-blackhole",
    "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
];

/// Headerless widths read as "all fields of version N in AWS's order": (fields, version).
pub(crate) const ALL_FIELDS_WIDTHS: [(usize, u8); 6] =
    [(14, 2), (21, 3), (25, 4), (29, 5), (39, 7), (40, 8)];

fn known_field(name: &str) -> bool {
    ALL_FIELDS.iter().any(|(n, _)| *n == name) || LATER_FIELDS.contains(&name)
}

fn transit_gateway_field(name: &str) -> bool {
    TRANSIT_GATEWAY_FIELDS.contains(&name) || name.starts_with("tgw-")
}

/// Whether a headerless record carries values only transit-gateway flow logs have: the resource
/// type `TransitGateway`/`TransitGatewayAttachment`, or a `tgw-…` id.
pub(crate) fn transit_gateway_record(line: &str) -> bool {
    line.split_ascii_whitespace().any(|v| {
        matches!(v, "TransitGateway" | "TransitGatewayAttachment")
            || v.strip_prefix("tgw-").is_some_and(|id| {
                let id = id.strip_prefix("attach-").unwrap_or(id);
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit())
            })
    })
}

/// Why a `LogFormat` string (`${version} ${account-id} …`) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogFormatError {
    #[error(
        "`{0}` is not a `${{field}}` token (a log format is `${{version}} ${{account-id}} …`, as `aws ec2 describe-flow-logs` prints it)"
    )]
    NotAToken(String),
    #[error("`${{{name}}}` is not a VPC flow-log field; the fields are: {valid}")]
    UnknownField { name: String, valid: String },
    #[error("the format names `${{{0}}}` twice")]
    Duplicate(String),
    #[error(
        "the format lacks `${{{0}}}`, which tighten needs (needed: interface-id srcaddr dstaddr srcport dstport protocol start)"
    )]
    MissingField(&'static str),
    #[error("the format is empty")]
    Empty,
    #[error(
        "the format names `${{{0}}}`: it is a transit-gateway flow log, which describes gateway attachments and carries no security-group information"
    )]
    TransitGateway(String),
}

/// Where each field we read sits in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
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
    /// A transit-gateway flow log's header (it names this field).
    TransitGateway(String),
}

impl Layout {
    /// The field names, space-separated, as the ledger records them.
    pub fn names(&self) -> &str {
        &self.names
    }

    /// The default version-2 layout for files without a header.
    pub(crate) fn default_v2() -> Layout {
        Layout::all_fields_of(2).unwrap_or_else(|| unreachable!("v2 names are valid"))
    }

    /// All fields of `version` in AWS's documented order (what a flow log created with every
    /// field of that version writes), or `None` for a version without its own field set.
    pub(crate) fn all_fields_of(version: u8) -> Option<Layout> {
        let width = ALL_FIELDS_WIDTHS.iter().find(|(_, v)| *v == version)?.0;
        let names: Vec<&str> = ALL_FIELDS[..width].iter().map(|(n, _)| *n).collect();
        Layout::from_names(&names, false).ok()
    }

    /// Reads a flow log's `LogFormat` as AWS prints it (`aws ec2 describe-flow-logs`, the
    /// console, Terraform's `log_format`): `${field}` tokens separated by spaces.
    pub fn from_log_format(format: &str) -> Result<Layout, LogFormatError> {
        let mut names = Vec::new();
        for token in format.split_ascii_whitespace() {
            let name = token
                .strip_prefix("${")
                .and_then(|t| t.strip_suffix('}'))
                .ok_or_else(|| LogFormatError::NotAToken(token.to_owned()))?;
            if transit_gateway_field(name) {
                return Err(LogFormatError::TransitGateway(name.to_owned()));
            }
            if !known_field(name) {
                let valid = ALL_FIELDS
                    .iter()
                    .map(|(n, _)| *n)
                    .chain(LATER_FIELDS.iter().copied())
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(LogFormatError::UnknownField {
                    name: name.to_owned(),
                    valid,
                });
            }
            names.push(name);
        }
        if names.is_empty() {
            return Err(LogFormatError::Empty);
        }
        Layout::from_names(&names, false).map_err(|problem| match problem {
            HeaderProblem::MissingField(f) => LogFormatError::MissingField(f),
            HeaderProblem::Duplicate(f) => LogFormatError::Duplicate(f),
            HeaderProblem::TransitGateway(f) => LogFormatError::TransitGateway(f),
            HeaderProblem::NotAHeader => LogFormatError::Empty,
        })
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
        let known = |n: &str| known_field(n) || transit_gateway_field(n);
        if names.is_empty() || !names.iter().all(|n| shaped(n)) || !names.iter().any(|n| known(n)) {
            return Err(HeaderProblem::NotAHeader);
        }
        if let Some(tgw) = names.iter().find(|n| transit_gateway_field(n)) {
            return Err(HeaderProblem::TransitGateway((*tgw).to_owned()));
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

    #[test]
    fn all_fields_widths_follow_the_documented_order() {
        for (width, version) in ALL_FIELDS_WIDTHS {
            let layout = Layout::all_fields_of(version).unwrap();
            assert_eq!(layout.width, width);
            // "All fields of version N" ends with the last field version N introduced.
            assert_eq!(ALL_FIELDS[width - 1].1, version);
            assert!(ALL_FIELDS.get(width).is_none_or(|(_, v)| *v > version));
        }
        assert_eq!(Layout::all_fields_of(6), None);
        assert_eq!(Layout::all_fields_of(2), Some(Layout::default_v2()));
        let v5 = Layout::all_fields_of(5).unwrap();
        assert_eq!(v5.by_column[17], Some(Field::TcpFlags));
        assert_eq!(v5.by_column[19], Some(Field::PktSrcAddr));
        assert_eq!(v5.by_column[27], Some(Field::FlowDirection));
    }

    #[test]
    fn log_format_as_aws_prints_it() {
        let format = ALL_FIELDS[..29]
            .iter()
            .map(|(n, _)| format!("${{{n}}}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            Layout::from_log_format(&format),
            Ok(Layout::all_fields_of(5).unwrap())
        );
        let short = Layout::from_log_format(
            "${srcaddr}  ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${interface-id}\n",
        )
        .unwrap();
        assert_eq!((short.width, short.from_header), (7, false));
        assert_eq!(
            Layout::from_log_format("${interface-id} ${srcaddr} ${srcaddr}"),
            Err(LogFormatError::Duplicate("srcaddr".into()))
        );
        assert_eq!(Layout::from_log_format("  "), Err(LogFormatError::Empty));
        assert_eq!(
            Layout::from_log_format("${tgw-id} ${srcaddr}"),
            Err(LogFormatError::TransitGateway("tgw-id".into()))
        );
        assert!(matches!(
            Layout::from_log_format("${version} ${src-addr}"),
            Err(LogFormatError::UnknownField { name, .. }) if name == "src-addr"
        ));
        assert_eq!(
            Layout::from_log_format("${version} interface-id"),
            Err(LogFormatError::NotAToken("interface-id".into()))
        );
    }

    #[test]
    fn transit_gateway_headers_and_records() {
        assert_eq!(
            Layout::parse_header("version resource-type account-id tgw-id srcaddr"),
            Err(HeaderProblem::TransitGateway("resource-type".into()))
        );
        assert!(transit_gateway_record(
            "6 TransitGatewayAttachment 123 tgw-0abc tgw-attach-0def 10.0.0.1"
        ));
        assert!(transit_gateway_record("6 - 123 tgw-0a1b2c 10.0.0.1"));
        assert!(!transit_gateway_record(
            "2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK"
        ));
        assert!(!transit_gateway_record("2 tgw-notes here"));
    }
}
