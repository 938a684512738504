//! Protocols (normalised to IANA numbers) and port ranges as AWS understands them.

use std::fmt;

use serde::{Serialize, Serializer};

/// An IP protocol. Terraform accepts names (`tcp`) and numbers (`6`); `-1`/`all` means every
/// protocol and every port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `-1`: all protocols, all ports.
    All,
    /// An IANA protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6).
    Number(u8),
}

impl Protocol {
    /// TCP.
    pub const TCP: Self = Self::Number(6);
    /// UDP.
    pub const UDP: Self = Self::Number(17);
    /// ICMP.
    pub const ICMP: Self = Self::Number(1);
    /// `ICMPv6`.
    pub const ICMPV6: Self = Self::Number(58);

    /// Parses what Terraform accepts in `protocol`/`ip_protocol`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "-1" | "all" => Some(Self::All),
            "tcp" => Some(Self::TCP),
            "udp" => Some(Self::UDP),
            "icmp" => Some(Self::ICMP),
            "icmpv6" | "icmp-v6" => Some(Self::ICMPV6),
            n => n.parse::<u8>().ok().map(Self::Number),
        }
    }

    /// Whether the protocol has ports (TCP, UDP) rather than ICMP types or nothing.
    pub fn has_ports(self) -> bool {
        matches!(self, Self::Number(6 | 17))
    }

    /// Whether the protocol is ICMP or `ICMPv6`, where "ports" are type and code.
    pub fn is_icmp(self) -> bool {
        matches!(self, Self::Number(1 | 58))
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Number(6) => f.write_str("tcp"),
            Self::Number(17) => f.write_str("udp"),
            Self::Number(1) => f.write_str("icmp"),
            Self::Number(58) => f.write_str("icmpv6"),
            Self::Number(n) => write!(f, "protocol {n}"),
        }
    }
}

impl Serialize for Protocol {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::All => serializer.serialize_i64(-1),
            Self::Number(n) => serializer.serialize_i64(i64::from(*n)),
        }
    }
}

/// `from_port`/`to_port` as written (for ICMP: type and code). `-1` is kept as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PortRange {
    /// `from_port`.
    pub from: i64,
    /// `to_port`.
    pub to: i64,
}

impl PortRange {
    /// Every TCP/UDP port.
    pub const ALL: Self = Self { from: 0, to: 65535 };

    /// A range `from..=to`.
    pub fn new(from: i64, to: i64) -> Self {
        Self { from, to }
    }

    /// The TCP/UDP ports this range opens for `protocol`, as an inclusive range, or `None` for a
    /// protocol without ports. `-1` on either end, and every port of protocol `-1`, mean all ports
    /// (as the AWS console shows them).
    pub fn effective(self, protocol: Protocol) -> Option<(u16, u16)> {
        match protocol {
            Protocol::All => Some((0, 65535)),
            p if p.has_ports() => {
                if self.from == -1 || self.to == -1 {
                    return Some((0, 65535));
                }
                let from = u16::try_from(self.from.clamp(0, 65535)).unwrap_or(0);
                let to = u16::try_from(self.to.clamp(0, 65535)).unwrap_or(u16::MAX);
                (from <= to).then_some((from, to))
            }
            Protocol::Number(_) => None,
        }
    }

    /// Whether every port is open for `protocol`.
    pub fn is_all(self, protocol: Protocol) -> bool {
        self.effective(protocol) == Some((0, 65535))
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "port {}", self.from)
        } else {
            write!(f, "ports {}-{}", self.from, self.to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_and_numbers_normalise() {
        assert_eq!(Protocol::parse("tcp"), Some(Protocol::TCP));
        assert_eq!(Protocol::parse("6"), Some(Protocol::TCP));
        assert_eq!(Protocol::parse("-1"), Some(Protocol::All));
        assert_eq!(Protocol::parse("ALL"), Some(Protocol::All));
        assert_eq!(Protocol::parse("icmpv6"), Some(Protocol::ICMPV6));
        assert_eq!(Protocol::parse("bogus"), None);
    }

    #[test]
    fn effective_ports() {
        assert_eq!(
            PortRange::new(22, 22).effective(Protocol::TCP),
            Some((22, 22))
        );
        assert_eq!(
            PortRange::new(-1, -1).effective(Protocol::TCP),
            Some((0, 65535))
        );
        assert_eq!(
            PortRange::new(0, 0).effective(Protocol::All),
            Some((0, 65535))
        );
        assert_eq!(PortRange::new(0, 0).effective(Protocol::TCP), Some((0, 0)));
        assert_eq!(PortRange::new(30, 20).effective(Protocol::TCP), None);
        assert_eq!(PortRange::new(8, 0).effective(Protocol::ICMP), None);
    }
}
