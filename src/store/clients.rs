//! The packed client list of a group: exact client rows sorted by key, in one blob.
//!
//! Why a blob and not one SQLite row per client: a busy store merges hundreds of thousands of
//! client rows per file, and a B-tree upsert per row (about 5 µs) made the single writer the
//! bottleneck of ingest. Merging two sorted lists in memory costs tens of nanoseconds a row, and a
//! group is read and written once per file that touches it. The list is bounded by the source cap.
//!
//! Encoding (version 1): a version byte, then per row: client, `if_src`, `if_dst` as an address
//! (a length byte 0, 4 or 16 and the bytes), the client port as two bytes little-endian, then
//! `flows`, `packets`, `bytes`, `first_seen`, `last_seen − first_seen` as LEB128 varints and the tcp-flags
//! byte. A list that does not decode is reported as a damaged store, never guessed at.

use std::net::IpAddr;

use crate::ingest::flowlog::aggregate::{ClientKey, Stats};

const VERSION: u8 = 1;

pub(crate) fn encode(rows: &[(ClientKey, Stats)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + rows.len() * 24);
    out.push(VERSION);
    for (k, s) in rows {
        encode_row(&mut out, k, s);
    }
    out
}

fn encode_row(out: &mut Vec<u8>, k: &ClientKey, s: &Stats) {
    addr(out, k.client);
    addr(out, k.if_src);
    addr(out, k.if_dst);
    out.extend_from_slice(&k.client_port.to_le_bytes());
    varint(out, s.flows);
    varint(out, s.packets);
    varint(out, s.bytes);
    varint(out, s.first_seen as u64);
    varint(out, s.last_seen.wrapping_sub(s.first_seen) as u64);
    out.push(s.tcp_flags);
}

/// Decodes a list; `None` when the bytes are not a list this version wrote.
pub(crate) fn decode(bytes: &[u8]) -> Option<Vec<(ClientKey, Stats)>> {
    let mut rest = rows_of(bytes)?;
    let mut rows = Vec::new();
    while !rest.is_empty() {
        rows.push(read_row(&mut rest)?.0);
    }
    Some(rows)
}

/// The rows of a list (past its version byte); `None` for another version.
fn rows_of(bytes: &[u8]) -> Option<&[u8]> {
    let (&version, rest) = bytes.split_first()?;
    (version == VERSION).then_some(rest)
}

/// Reads one row, and returns it with the bytes it was read from.
fn read_row<'a>(rest: &mut &'a [u8]) -> Option<((ClientKey, Stats), &'a [u8])> {
    let whole = *rest;
    let client = read_addr(rest)?;
    let if_src = read_addr(rest)?;
    let if_dst = read_addr(rest)?;
    let (port, tail) = rest.split_first_chunk::<2>()?;
    *rest = tail;
    let flows = read_varint(rest)?;
    let packets = read_varint(rest)?;
    let bytes = read_varint(rest)?;
    let first_seen = read_varint(rest)? as i64;
    let last_seen = first_seen.wrapping_add(read_varint(rest)? as i64);
    let (&tcp_flags, tail) = rest.split_first()?;
    *rest = tail;
    let row = (
        ClientKey {
            client,
            client_port: u16::from_le_bytes(*port),
            if_src,
            if_dst,
        },
        Stats {
            flows,
            packets,
            bytes,
            first_seen,
            last_seen,
            tcp_flags,
        },
    );
    Some((row, &whole[..whole.len() - rest.len()]))
}

/// `encode(&merge_sorted(decode(stored), rows))` without decoding what does not change: a stored
/// row that no new row matches is copied as it is (a group touched by many files is merged once
/// per file, and most of its stored clients are not in the new file). Returns the list and its
/// number of rows; `None` when `stored` does not decode.
pub(crate) fn merge_encoded(
    stored: &[u8],
    rows: &[(ClientKey, Stats)],
) -> Option<(Vec<u8>, usize)> {
    let mut rest = rows_of(stored)?;
    let mut out = Vec::with_capacity(stored.len() + rows.len() * 24);
    out.push(VERSION);
    let mut count = 0;
    let mut new = rows.iter().peekable();
    let mut old = if rest.is_empty() {
        None
    } else {
        Some(read_row(&mut rest)?)
    };
    loop {
        let take_old = match (&old, new.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(((key, stats), _)), Some((new_key, new_stats))) => match key.cmp(new_key) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Equal => {
                    let mut merged = *stats;
                    merged.merge(new_stats);
                    encode_row(&mut out, key, &merged);
                    new.next();
                    old = next_row(&mut rest)?;
                    count += 1;
                    continue;
                }
            },
        };
        if take_old {
            if let Some((_, bytes)) = &old {
                out.extend_from_slice(bytes);
            }
            old = next_row(&mut rest)?;
        } else if let Some((key, stats)) = new.next() {
            encode_row(&mut out, key, stats);
        }
        count += 1;
    }
    Some((out, count))
}

/// The next stored row: `Some(None)` at the end, `None` when the bytes do not decode.
#[expect(clippy::type_complexity, reason = "a row and its bytes, as read_row")]
fn next_row<'a>(rest: &mut &'a [u8]) -> Option<Option<((ClientKey, Stats), &'a [u8])>> {
    if rest.is_empty() {
        Some(None)
    } else {
        read_row(rest).map(Some)
    }
}

/// Merges two lists sorted by key into one sorted list, summing rows with equal keys.
pub(crate) fn merge_sorted<B>(a: Vec<(ClientKey, Stats)>, b: B) -> Vec<(ClientKey, Stats)>
where
    B: IntoIterator<Item = (ClientKey, Stats)>,
    B::IntoIter: ExactSizeIterator,
{
    let b = b.into_iter();
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut a = a.into_iter().peekable();
    let mut b = b.peekable();
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => match x.0.cmp(&y.0) {
                std::cmp::Ordering::Less => a.next(),
                std::cmp::Ordering::Greater => b.next(),
                std::cmp::Ordering::Equal => a.next().map(|(key, mut stats)| {
                    if let Some((_, other)) = b.next() {
                        stats.merge(&other);
                    }
                    (key, stats)
                }),
            },
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        if let Some(row) = next {
            out.push(row);
        }
    }
    out
}

fn addr(out: &mut Vec<u8>, a: Option<IpAddr>) {
    match a {
        None => out.push(0),
        Some(IpAddr::V4(a)) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            out.push(16);
            out.extend_from_slice(&a.octets());
        }
    }
}

#[expect(
    clippy::option_option,
    reason = "outer: the bytes do not decode; inner: the empty address"
)]
fn read_addr(rest: &mut &[u8]) -> Option<Option<IpAddr>> {
    let (&len, tail) = rest.split_first()?;
    let (bytes, tail) = tail.split_at_checked(usize::from(len))?;
    *rest = tail;
    match len {
        0 => Some(None),
        4 => Some(Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?))),
        16 => Some(Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?))),
        _ => None,
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(rest: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, tail) = rest.split_first()?;
        *rest = tail;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(last: u8, port: u16, flows: u64) -> (ClientKey, Stats) {
        (
            ClientKey {
                client: Some(IpAddr::from([10, 0, 0, last])),
                client_port: port,
                if_src: None,
                if_dst: Some(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])),
            },
            Stats {
                flows,
                packets: 300,
                bytes: u64::MAX,
                first_seen: 1_700_000_000,
                last_seen: 1_700_000_060,
                tcp_flags: 19,
            },
        )
    }

    #[test]
    fn round_trip_and_damage() {
        let rows = vec![row(1, 0, 1), row(2, 40000, 2)];
        let bytes = encode(&rows);
        assert_eq!(decode(&bytes), Some(rows));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode(&[2]), None);
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[1]), Some(vec![]));
    }

    /// A sorted list of distinct clients drawn from a small space, so that two lists share some.
    fn list() -> impl proptest::strategy::Strategy<Value = Vec<(ClientKey, Stats)>> {
        use proptest::prelude::*;
        let key = (
            0u8..12,
            prop_oneof![Just(0u16), Just(443), Just(40000)],
            any::<bool>(),
        );
        let stats = (
            1u64..1000,
            any::<u64>(),
            0i64..2_000_000_000,
            0i64..86_400,
            any::<u8>(),
        );
        proptest::collection::btree_map(key, stats, 0..20).prop_map(|m| {
            m.into_iter()
                .map(|((last, port, v6), (flows, bytes, first, span, flags))| {
                    let client = if v6 {
                        IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(last)])
                    } else {
                        IpAddr::from([10, 0, 0, last])
                    };
                    let key = ClientKey {
                        client: Some(client),
                        client_port: port,
                        if_src: (last % 5 == 0).then(|| IpAddr::from([192, 0, 2, last])),
                        if_dst: None,
                    };
                    let stats = Stats {
                        flows,
                        packets: flows * 3,
                        bytes,
                        first_seen: first,
                        last_seen: first + span,
                        tcp_flags: flags,
                    };
                    (key, stats)
                })
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .collect()
        })
    }

    proptest::proptest! {
        /// Merging in the encoded form gives exactly the bytes of decoding, merging and encoding.
        #[test]
        fn merging_encoded_equals_merging_decoded(stored in list(), new in list()) {
            let expected = merge_sorted(stored.clone(), new.clone());
            let merged = merge_encoded(&encode(&stored), &new);
            proptest::prop_assert_eq!(merged, Some((encode(&expected), expected.len())));
        }
    }

    #[test]
    fn merging_a_damaged_list_is_refused() {
        let bytes = encode(&[row(1, 0, 1), row(2, 0, 1)]);
        assert_eq!(
            merge_encoded(&bytes[..bytes.len() - 1], &[row(3, 0, 1)]),
            None
        );
        assert_eq!(merge_encoded(&[2], &[]), None);
        assert_eq!(merge_encoded(&[1], &[]), Some((vec![1], 0)));
    }

    #[test]
    fn merge_sums_equal_keys_and_keeps_order() {
        let merged = merge_sorted(
            vec![row(1, 0, 1), row(3, 0, 1)],
            vec![row(2, 0, 5), row(3, 0, 2)],
        );
        let keys: Vec<u8> = merged
            .iter()
            .map(|(k, _)| match k.client {
                Some(IpAddr::V4(a)) => a.octets()[3],
                _ => 0,
            })
            .collect();
        assert_eq!(keys, [1, 2, 3]);
        assert_eq!(merged[2].1.flows, 3);
    }
}
