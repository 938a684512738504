//! One flow-log line turned into a typed record, or the reason it cannot be.

use std::net::IpAddr;

use super::format::{Field, Layout};

/// Whether the traffic was let through by security groups and network ACLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Accept,
    Reject,
    /// `-`: no action recorded (for example traffic that never reached a decision).
    None,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "ACCEPT",
            Action::Reject => "REJECT",
            Action::None => "-",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Action::Accept => 1,
            Action::Reject => 2,
            Action::None => 0,
        }
    }

    pub(crate) fn from_code(code: i64) -> Action {
        match code {
            1 => Action::Accept,
            2 => Action::Reject,
            _ => Action::None,
        }
    }
}

/// The `flow-direction` field (version 5+), relative to the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FlowDirection {
    Ingress,
    Egress,
}

/// A record carrying traffic (`log-status` OK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Traffic<'a> {
    pub(crate) interface: &'a str,
    /// Addresses as the interface saw them (`srcaddr`, `dstaddr`).
    pub(crate) if_src: IpAddr,
    pub(crate) if_dst: IpAddr,
    /// The packet's real addresses (`pkt-srcaddr`/`pkt-dstaddr` when present, else as above).
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) sport: u16,
    pub(crate) dport: u16,
    pub(crate) protocol: u8,
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    /// Seconds since the epoch (millisecond inputs are converted).
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) action: Action,
    pub(crate) tcp_flags: Option<u8>,
    pub(crate) direction: Option<FlowDirection>,
}

/// What a line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    Traffic(Traffic<'a>, Option<u8>),
    /// NODATA or SKIPDATA: an interval with no record or with records lost.
    Gap {
        interface: &'a str,
        start: i64,
        end: i64,
        skipped: bool,
        version: Option<u8>,
    },
}

/// Why a line is malformed. The text is stable: it is counted by reason in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    FieldCount { expected: usize, found: usize },
    BadNumber { field: &'static str, value: String },
    BadAddress { field: &'static str, value: String },
    BadValue { field: &'static str, value: String },
    Missing { field: &'static str },
    NotUtf8,
    Truncated,
}

impl Malformed {
    /// A short, stable category used for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            Malformed::FieldCount { .. } => "wrong field count",
            Malformed::BadNumber { .. } => "bad number",
            Malformed::BadAddress { .. } => "bad address",
            Malformed::BadValue { .. } => "bad value",
            Malformed::Missing { .. } => "missing value",
            Malformed::NotUtf8 => "not UTF-8",
            Malformed::Truncated => "truncated",
        }
    }
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::FieldCount { expected, found } => {
                write!(f, "expected {expected} fields, found {found}")
            }
            Malformed::BadNumber { field, value } => {
                write!(f, "{field}: `{value}` is not a valid number")
            }
            Malformed::BadAddress { field, value } => {
                write!(f, "{field}: `{value}` is not an IPv4 or IPv6 address")
            }
            Malformed::BadValue { field, value } => {
                write!(f, "{field}: unexpected value `{value}`")
            }
            Malformed::Missing { field } => {
                write!(f, "{field} is `-` in a record with log-status OK")
            }
            Malformed::NotUtf8 => f.write_str("the line is not valid UTF-8"),
            Malformed::Truncated => {
                f.write_str("the file ends in the middle of this line (truncated)")
            }
        }
    }
}

/// Calls `token(start, end)` for every run of non-space bytes. Eight bytes at a time (SWAR): this
/// is the hottest loop of ingest, and a byte-by-byte scan spent about ten instructions per byte.
fn for_each_token(bytes: &[u8], mut token: impl FnMut(usize, usize)) {
    const SPACES: u64 = 0x2020_2020_2020_2020;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let mut start = 0;
    let mut emit = |pos: usize, start: &mut usize| {
        if pos > *start {
            token(*start, pos);
        }
        *start = pos + 1;
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ SPACES;
        // High bit set exactly in the bytes of `x` that are zero (the spaces).
        let mut spaces = !(((x & LOW7) + LOW7) | x | LOW7);
        while spaces != 0 {
            let pos = base + (spaces.trailing_zeros() / 8) as usize;
            emit(pos, &mut start);
            spaces &= spaces - 1;
        }
        base += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        if b == b' ' {
            emit(base + i, &mut start);
        }
    }
    if bytes.len() > start {
        token(start, bytes.len());
    }
}

/// Timestamps above this are milliseconds (1e11 seconds is the year 5138).
pub(crate) const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Parses one line (without its newline) in the given layout.
pub(crate) fn parse_line<'a>(layout: &Layout, line: &'a str) -> Result<Line<'a>, Malformed> {
    let mut values: [&str; 17] = ["-"; 17];
    let mut found = 0usize;
    // Fields are separated by single spaces; runs of spaces are tolerated.
    for_each_token(line.as_bytes(), |start, end| {
        if let Some(Some(field)) = layout.by_column.get(found) {
            // Both ends sit next to an ASCII space or the ends of the line: char boundaries.
            values[*field as usize] = line.get(start..end).unwrap_or("-");
        }
        found += 1;
    });
    if found != layout.width {
        return Err(Malformed::FieldCount {
            expected: layout.width,
            found,
        });
    }
    let get = |f: Field| values[f as usize];

    let version = match get(Field::Version) {
        "-" => None,
        v => Some(number::<u8>(Field::Version, v)?),
    };
    let interface = get(Field::InterfaceId);
    if interface == "-" {
        return Err(Malformed::Missing {
            field: Field::InterfaceId.name(),
        });
    }
    let start = timestamp(Field::Start, get(Field::Start))?;
    let end = match get(Field::End) {
        "-" => start,
        v => timestamp(Field::End, v)?,
    };
    match get(Field::LogStatus) {
        "OK" | "-" => {}
        "NODATA" => {
            return Ok(Line::Gap {
                interface,
                start,
                end,
                skipped: false,
                version,
            });
        }
        "SKIPDATA" => {
            return Ok(Line::Gap {
                interface,
                start,
                end,
                skipped: true,
                version,
            });
        }
        other => {
            return Err(Malformed::BadValue {
                field: Field::LogStatus.name(),
                value: other.into(),
            });
        }
    }
    let if_src = address(Field::SrcAddr, get(Field::SrcAddr))?;
    let if_dst = address(Field::DstAddr, get(Field::DstAddr))?;
    let src = optional_address(Field::PktSrcAddr, get(Field::PktSrcAddr))?.unwrap_or(if_src);
    let dst = optional_address(Field::PktDstAddr, get(Field::PktDstAddr))?.unwrap_or(if_dst);
    let action = match get(Field::Action) {
        "ACCEPT" => Action::Accept,
        "REJECT" => Action::Reject,
        "-" => Action::None,
        other => {
            return Err(Malformed::BadValue {
                field: Field::Action.name(),
                value: other.into(),
            });
        }
    };
    let tcp_flags = match get(Field::TcpFlags) {
        "-" => None,
        v => Some(number::<u8>(Field::TcpFlags, v)?),
    };
    let direction = match get(Field::FlowDirection) {
        "-" => None,
        "ingress" => Some(FlowDirection::Ingress),
        "egress" => Some(FlowDirection::Egress),
        other => {
            return Err(Malformed::BadValue {
                field: Field::FlowDirection.name(),
                value: other.into(),
            });
        }
    };
    Ok(Line::Traffic(
        Traffic {
            interface,
            if_src,
            if_dst,
            src,
            dst,
            sport: dash_or_number(Field::SrcPort, get(Field::SrcPort))?,
            dport: dash_or_number(Field::DstPort, get(Field::DstPort))?,
            protocol: dash_or_number(Field::Protocol, get(Field::Protocol))?,
            packets: dash_or_number(Field::Packets, get(Field::Packets))?,
            bytes: dash_or_number(Field::Bytes, get(Field::Bytes))?,
            start,
            end,
            action,
            tcp_flags,
            direction,
        },
        version,
    ))
}

fn number<T: TryFrom<u64>>(field: Field, value: &str) -> Result<T, Malformed> {
    decimal(value.as_bytes())
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| Malformed::BadNumber {
            field: field.name(),
            value: value.into(),
        })
}

/// A plain decimal (digits only, at most 19 of them, so it cannot overflow): the form every
/// numeric flow-log field takes. Anything else is not a number here.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut value = 0u64;
    for &d in digits {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u64::from(digit);
    }
    Some(value)
}

fn dash_or_number<T: TryFrom<u64> + Default>(field: Field, value: &str) -> Result<T, Malformed> {
    if value == "-" {
        Ok(T::default())
    } else {
        number(field, value)
    }
}

fn timestamp(field: Field, value: &str) -> Result<i64, Malformed> {
    if value == "-" {
        return Err(Malformed::Missing {
            field: field.name(),
        });
    }
    let t: i64 = number(field, value)?;
    Ok(if t >= MILLIS_THRESHOLD { t / 1000 } else { t })
}

fn address(field: Field, value: &str) -> Result<IpAddr, Malformed> {
    optional_address(field, value)?.ok_or(Malformed::Missing {
        field: field.name(),
    })
}

fn optional_address(field: Field, value: &str) -> Result<Option<IpAddr>, Malformed> {
    if value == "-" {
        return Ok(None);
    }
    if let Some(v4) = fast_ipv4(value.as_bytes()) {
        return Ok(Some(IpAddr::V4(v4)));
    }
    value.parse().map(Some).map_err(|_| Malformed::BadAddress {
        field: field.name(),
        value: value.into(),
    })
}

/// Dotted-quad IPv4 without leading zeros, the form flow logs use; anything else (IPv6, odd forms)
/// goes to the standard parser, which decides.
fn fast_ipv4(s: &[u8]) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        let start = i;
        let mut value: u32 = 0;
        while i < s.len() && s[i].is_ascii_digit() && i - start < 3 {
            value = value * 10 + u32::from(s[i] - b'0');
            i += 1;
        }
        let len = i - start;
        if len == 0 || value > 255 || (len > 1 && s[start] == b'0') {
            return None;
        }
        *octet = value as u8;
        if n < 3 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    (i == s.len()).then_some(std::net::Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(line: &str) -> Result<Line<'_>, Malformed> {
        parse_line(&Layout::default_v2(), line)
    }

    #[test]
    fn v2_accept_record() {
        let Ok(Line::Traffic(t, version)) = v2(
            "2 123456789010 eni-102010ab 198.51.100.1 192.0.2.1 443 49152 6 10 840 1439387263 1439387264 ACCEPT OK",
        ) else {
            panic!("not traffic")
        };
        assert_eq!(version, Some(2));
        assert_eq!(t.interface, "eni-102010ab");
        assert_eq!(t.src, "198.51.100.1".parse::<IpAddr>().unwrap());
        assert_eq!(t.if_dst, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_eq!((t.sport, t.dport, t.protocol), (443, 49152, 6));
        assert_eq!(
            (t.packets, t.bytes, t.start, t.end),
            (10, 840, 1_439_387_263, 1_439_387_264)
        );
        assert_eq!(t.action, Action::Accept);
        assert_eq!((t.tcp_flags, t.direction), (None, None));
    }

    #[test]
    fn nodata_skipdata_and_unknown_account() {
        assert_eq!(
            v2("2 unknown eni-1a2b3c4d - - - - - - - 1431280876 1431280934 - NODATA"),
            Ok(Line::Gap {
                interface: "eni-1a2b3c4d",
                start: 1_431_280_876,
                end: 1_431_280_934,
                skipped: false,
                version: Some(2)
            })
        );
        assert_eq!(
            v2("2 123456789010 eni-4b118871 - - - - - - - 1512564058000 1512564059000 - SKIPDATA"),
            Ok(Line::Gap {
                interface: "eni-4b118871",
                start: 1_512_564_058,
                end: 1_512_564_059,
                skipped: true,
                version: Some(2)
            })
        );
    }

    #[test]
    fn optional_fields_default() {
        let layout =
            Layout::parse_header("interface-id srcaddr dstaddr srcport dstport protocol start")
                .unwrap();
        let Ok(Line::Traffic(t, version)) =
            parse_line(&layout, "eni-1 10.0.0.1 10.0.0.2 40000 22 6 1600000000")
        else {
            panic!("not traffic")
        };
        assert_eq!(version, None);
        assert_eq!(
            (t.packets, t.bytes, t.start, t.end, t.action),
            (0, 0, 1_600_000_000, 1_600_000_000, Action::None)
        );
    }

    #[test]
    fn ipv6_and_icmp() {
        let Ok(Line::Traffic(t, _)) =
            v2("2 123 eni-1 2001:db8::1 2001:db8::2 0 0 58 3 300 1600000000 1600000060 ACCEPT OK")
        else {
            panic!("not traffic")
        };
        assert_eq!(t.src, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!((t.protocol, t.sport, t.dport), (58, 0, 0));
    }

    /// Field sets of versions 2 to 8 (each version adds to the previous one).
    const V2: &[&str] = &[
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
    const V3: &[&str] = &[
        "vpc-id",
        "subnet-id",
        "instance-id",
        "tcp-flags",
        "type",
        "pkt-srcaddr",
        "pkt-dstaddr",
    ];
    const V4: &[&str] = &["region", "az-id", "sublocation-type", "sublocation-id"];
    const V5: &[&str] = &[
        "pkt-src-aws-service",
        "pkt-dst-aws-service",
        "flow-direction",
        "traffic-path",
    ];
    const V7: &[&str] = &[
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
    ];
    const V8: &[&str] = &["reject-reason"];

    fn value_of(field: &str) -> &'static str {
        match field {
            "version" => "8",
            "account-id" => "unknown",
            "interface-id" => "eni-0123",
            "srcaddr" => "10.0.0.9",
            "dstaddr" | "pkt-dstaddr" => "10.0.0.1",
            "srcport" => "40000",
            "dstport" => "22",
            "protocol" => "6",
            "packets" => "3",
            "bytes" => "180",
            "start" => "1600000000",
            "end" => "1600000060",
            "action" => "ACCEPT",
            "log-status" => "OK",
            "tcp-flags" => "2",
            "pkt-srcaddr" => "192.0.2.7",
            "flow-direction" => "ingress",
            "type" => "IPv4",
            _ => "-",
        }
    }

    #[test]
    fn every_version_in_shuffled_orders() {
        let mut fields: Vec<&str> = Vec::new();
        for (version, added) in [
            (2, V2),
            (3, V3),
            (4, V4),
            (5, V5),
            (6, &[][..]),
            (7, V7),
            (8, V8),
        ] {
            fields.extend_from_slice(added);
            for rotation in [0, 5, 11] {
                let mut order = fields.clone();
                let by = rotation % order.len();
                order.rotate_left(by);
                if rotation == 11 {
                    order.reverse();
                }
                let layout = Layout::parse_header(&order.join(" ")).unwrap();
                let line = order
                    .iter()
                    .map(|f| value_of(f))
                    .collect::<Vec<_>>()
                    .join(" ");
                let Ok(Line::Traffic(t, v)) = parse_line(&layout, &line) else {
                    panic!("version {version} rotation {rotation}: not traffic")
                };
                assert_eq!(v, Some(8));
                assert_eq!(
                    (
                        t.interface,
                        t.sport,
                        t.dport,
                        t.protocol,
                        t.packets,
                        t.bytes
                    ),
                    ("eni-0123", 40000, 22, 6, 3, 180)
                );
                assert_eq!(
                    (t.start, t.end, t.action),
                    (1_600_000_000, 1_600_000_060, Action::Accept)
                );
                let pkt = version >= 3;
                assert_eq!(
                    t.src.to_string(),
                    if pkt { "192.0.2.7" } else { "10.0.0.9" },
                    "version {version}"
                );
                assert_eq!(t.if_src.to_string(), "10.0.0.9");
                assert_eq!(t.tcp_flags, pkt.then_some(2));
                assert_eq!(
                    t.direction,
                    (version >= 5).then_some(FlowDirection::Ingress)
                );
            }
        }
    }

    #[test]
    fn tokens_split_on_runs_of_spaces() {
        for line in [
            "",
            " ",
            "a",
            "a b",
            "  a  b  ",
            "12345678 abcdefgh",
            "1234567 9abcdefgh ij",
            "x                 y",
        ] {
            let mut ours = Vec::new();
            for_each_token(line.as_bytes(), |s, e| ours.push(&line[s..e]));
            let theirs: Vec<&str> = line.split(' ').filter(|t| !t.is_empty()).collect();
            assert_eq!(ours, theirs, "{line:?}");
        }
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(b"0"), Some(0));
        assert_eq!(decimal(b"1614866511"), Some(1_614_866_511));
        assert_eq!(
            decimal(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b"1.5",
            b"12a",
            b"99999999999999999999",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn fast_ipv4_agrees_with_the_standard_parser() {
        for text in [
            "0.0.0.0",
            "10.0.0.1",
            "255.255.255.255",
            "256.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1.2.3.4 ",
            "a.b.c.d",
            "1..2.3",
            "1.2.3.04",
            "1234.1.1.1",
            "",
        ] {
            assert_eq!(fast_ipv4(text.as_bytes()), text.parse().ok(), "{text:?}");
        }
    }

    #[test]
    fn every_malformed_kind() {
        let cases = [
            (
                "2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT",
                "expected 14 fields, found 13",
            ),
            (
                "2 123 eni-1 10.0.0.1 10.0.0.2 x 2 6 1 1 1 2 ACCEPT OK",
                "srcport: `x` is not a valid number",
            ),
            (
                "2 123 eni-1 10.0.0.1 10.0.0.2 70000 2 6 1 1 1 2 ACCEPT OK",
                "srcport: `70000` is not a valid number",
            ),
            (
                "2 123 eni-1 10.0.0.300 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK",
                "srcaddr: `10.0.0.300` is not an IPv4 or IPv6 address",
            ),
            (
                "2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ALLOW OK",
                "action: unexpected value `ALLOW`",
            ),
            (
                "2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT FINE",
                "log-status: unexpected value `FINE`",
            ),
            (
                "2 123 eni-1 - 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK",
                "srcaddr is `-` in a record with log-status OK",
            ),
            (
                "2 123 - 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK",
                "interface-id is `-` in a record with log-status OK",
            ),
            (
                "2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 -5 2 ACCEPT OK",
                "start: `-5` is not a valid number",
            ),
            (
                "x 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK",
                "version: `x` is not a valid number",
            ),
        ];
        for (line, message) in cases {
            assert_eq!(
                v2(line).map(|_| ()).unwrap_err().to_string(),
                message,
                "{line}"
            );
        }
    }

    #[test]
    fn v5_header_uses_packet_addresses_flags_and_direction() {
        let layout = Layout::parse_header(
            "account-id action az-id bytes dstaddr dstport end flow-direction instance-id interface-id \
             log-status packets pkt-dst-aws-service pkt-dstaddr pkt-src-aws-service pkt-srcaddr protocol \
             region srcaddr srcport start sublocation-id sublocation-type subnet-id tcp-flags traffic-path \
             type version vpc-id",
        )
        .unwrap();
        let line = "999999999999 ACCEPT use2-az2 4895 192.0.2.156 50318 1614866511 ingress \
                    i-00123456789abcdef eni-00123456789abcdef OK 15 - 192.0.2.156 S3 198.51.100.6 6 \
                    us-east-2 198.51.100.7 443 1614866493 - - subnet-0123456789abcdef 19 - IPv4 5 \
                    vpc-04456ab739938ee3f";
        let Ok(Line::Traffic(t, version)) = parse_line(&layout, line) else {
            panic!("not traffic")
        };
        assert_eq!(version, Some(5));
        assert_eq!(t.src, "198.51.100.6".parse::<IpAddr>().unwrap());
        assert_eq!(t.if_src, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(t.tcp_flags, Some(19));
        assert_eq!(t.direction, Some(FlowDirection::Ingress));
    }
}
