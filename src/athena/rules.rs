//! The facts `ingest flow-logs` derives from one record, described once as data: who opened the
//! connection (the initiator), which end is the server, which client port is kept, and the codes
//! the store uses. `athena-sql` renders its SQL from this description and nothing else; the tests
//! below check every rule against the Rust aggregation (`aggregate::initiator_of` and friends) on
//! every input class, so that the two cannot drift apart.

use crate::ingest::flowlog::aggregate::{Initiator, direction_code, port_class};
use crate::ingest::flowlog::record::{Action, FlowDirection};

/// tcp-flags bits (OR-ed over the aggregation interval).
pub(crate) const SYN: u8 = 0x02;
pub(crate) const SYN_ACK: u8 = 0x12;

/// The port class of port 0 (ICMP and other protocols without ports): it never tells.
pub(crate) const NO_PORT_CLASS: u8 = 3;

/// One end of the record, as its source or destination port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Src,
    Dst,
}

/// A condition on one record: the protocol, its tcp-flags and the classes of its two ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cond {
    /// protocol = 6.
    Tcp,
    /// The record has a tcp-flags value (v3+ field set, not `-`).
    HasFlags,
    /// Every bit of the mask is set in tcp-flags.
    FlagsAll(u8),
    /// Some bit of the mask is set in tcp-flags.
    FlagsAny(u8),
    /// The first end's port class is below the second's (more service-like).
    ClassBelow(End, End),
    /// Both ports are of one class.
    SameClass,
    /// This end's port is of the class that never tells (port 0).
    NoClass(End),
}

/// The first rule whose conditions all hold decides; the last has none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub(crate) when: &'static [Cond],
    pub(crate) then: Initiator,
}

/// Who opened the connection, from the record alone (tcp-flags first, then the port heuristic).
pub(crate) const INITIATOR_RULES: &[Rule] = &[
    Rule {
        when: &[Cond::Tcp, Cond::HasFlags, Cond::FlagsAll(SYN_ACK)],
        then: Initiator::DstByFlags,
    },
    Rule {
        when: &[Cond::Tcp, Cond::HasFlags, Cond::FlagsAny(SYN)],
        then: Initiator::SrcByFlags,
    },
    Rule {
        when: &[
            Cond::Tcp,
            Cond::HasFlags,
            Cond::ClassBelow(End::Src, End::Dst),
        ],
        then: Initiator::UndecidedReversed,
    },
    Rule {
        when: &[Cond::Tcp, Cond::HasFlags],
        then: Initiator::Undecided,
    },
    Rule {
        when: &[Cond::NoClass(End::Src)],
        then: Initiator::Unknown,
    },
    Rule {
        when: &[Cond::NoClass(End::Dst)],
        then: Initiator::Unknown,
    },
    Rule {
        when: &[Cond::SameClass],
        then: Initiator::Unknown,
    },
    Rule {
        when: &[Cond::ClassBelow(End::Dst, End::Src)],
        then: Initiator::SrcByPort,
    },
    Rule {
        when: &[],
        then: Initiator::DstByPort,
    },
];

/// Every initiator, by its stored code.
pub(crate) fn initiators() -> impl Iterator<Item = Initiator> {
    (0..).map_while(Initiator::from_code)
}

/// Codes of the initiators whose server end is the record's source.
pub(crate) fn server_is_src_codes() -> Vec<u8> {
    initiators()
        .filter(|i| i.server_is_src())
        .map(|i| i as u8)
        .collect()
}

/// Codes of the initiators that keep the client's port.
pub(crate) fn keeps_client_port_codes() -> Vec<u8> {
    initiators()
        .filter(|i| i.keeps_client_port())
        .map(|i| i as u8)
        .collect()
}

/// The port classes as inclusive ranges `(first, last, class)`, read off `port_class` itself.
pub(crate) fn port_class_ranges() -> Vec<(u16, u16, u8)> {
    let mut ranges: Vec<(u16, u16, u8)> = Vec::new();
    for port in 0..=u16::MAX {
        let class = port_class(port);
        match ranges.last_mut() {
            Some((_, last, c)) if *c == class => *last = port,
            _ => ranges.push((port, port, class)),
        }
    }
    ranges
}

/// `action` text to stored code.
pub(crate) fn action_codes() -> [(&'static str, u8); 3] {
    [Action::None, Action::Accept, Action::Reject].map(|a| (a.as_str(), a.code()))
}

/// `flow-direction` text to stored code.
pub(crate) fn direction_codes() -> [(&'static str, u8); 2] {
    [
        ("ingress", direction_code(Some(FlowDirection::Ingress))),
        ("egress", direction_code(Some(FlowDirection::Egress))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::flowlog::aggregate::initiator_of;
    use proptest::prelude::*;

    /// The inputs a condition looks at.
    #[derive(Debug, Clone, Copy)]
    struct Facts {
        protocol: u8,
        tcp_flags: Option<u8>,
        sport: u16,
        dport: u16,
    }

    impl Cond {
        fn holds(self, f: Facts) -> bool {
            let class = |end| match end {
                End::Src => port_class(f.sport),
                End::Dst => port_class(f.dport),
            };
            match self {
                Cond::Tcp => f.protocol == 6,
                Cond::HasFlags => f.tcp_flags.is_some(),
                Cond::FlagsAll(m) => f.tcp_flags.is_some_and(|t| t & m == m),
                Cond::FlagsAny(m) => f.tcp_flags.is_some_and(|t| t & m != 0),
                Cond::ClassBelow(a, b) => class(a) < class(b),
                Cond::SameClass => class(End::Src) == class(End::Dst),
                Cond::NoClass(end) => class(end) == NO_PORT_CLASS,
            }
        }
    }

    /// The initiator the rules give (the reference the SQL is rendered from).
    fn initiator(f: Facts) -> Initiator {
        INITIATOR_RULES
            .iter()
            .find(|r| r.when.iter().all(|c| c.holds(f)))
            .map_or(Initiator::Unknown, |r| r.then)
    }

    fn ports() -> impl Strategy<Value = u16> {
        prop_oneof![
            Just(0u16),
            1u16..1024,
            1024u16..32768,
            32768u16..=u16::MAX,
            prop::sample::select(vec![1u16, 1023, 1024, 32767, 32768, 65535, 443, 53]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn rules_agree_with_the_aggregation(
            protocol in prop_oneof![Just(6u8), Just(17u8), Just(1u8), any::<u8>()],
            tcp_flags in proptest::option::of(any::<u8>()),
            sport in ports(),
            dport in ports(),
        ) {
            let f = Facts { protocol, tcp_flags, sport, dport };
            prop_assert_eq!(initiator(f), initiator_of(protocol, tcp_flags, sport, dport));
        }
    }

    #[test]
    fn every_flag_value_and_port_class_pair_agrees() {
        let ports = [0u16, 22, 1023, 1024, 5432, 32767, 32768, 50000, 65535];
        for protocol in [1u8, 6, 17] {
            for flags in std::iter::once(None).chain((0..=255u8).map(Some)) {
                for &sport in &ports {
                    for &dport in &ports {
                        let f = Facts {
                            protocol,
                            tcp_flags: flags,
                            sport,
                            dport,
                        };
                        assert_eq!(
                            initiator(f),
                            initiator_of(protocol, flags, sport, dport),
                            "{f:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn derived_tables() {
        assert_eq!(
            port_class_ranges(),
            vec![(0, 0, 3), (1, 1023, 0), (1024, 32767, 1), (32768, 65535, 2)]
        );
        assert_eq!(port_class(0), NO_PORT_CLASS);
        assert_eq!(server_is_src_codes(), vec![2, 4, 6]);
        assert_eq!(keeps_client_port_codes(), vec![0, 5, 6]);
        assert_eq!(initiators().count(), 7);
        assert_eq!(action_codes(), [("-", 0), ("ACCEPT", 1), ("REJECT", 2)]);
        assert_eq!(direction_codes(), [("ingress", 1), ("egress", 2)]);
    }
}
