//! Addresses as stored: 4 bytes for IPv4, 16 for IPv6, empty for "every client" (a folded group)
//! or "same as the packet address" (`if_src`/`if_dst`).

use std::net::IpAddr;

pub(crate) fn to_blob(addr: Option<IpAddr>) -> Vec<u8> {
    match addr {
        None => Vec::new(),
        Some(IpAddr::V4(a)) => a.octets().to_vec(),
        Some(IpAddr::V6(a)) => a.octets().to_vec(),
    }
}

pub(crate) fn from_blob(blob: &[u8]) -> Option<IpAddr> {
    match blob.len() {
        4 => <[u8; 4]>::try_from(blob).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(blob).ok().map(IpAddr::from),
        _ => None,
    }
}
