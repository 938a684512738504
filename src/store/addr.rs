//! Addresses as stored: 4 bytes for IPv4, 16 for IPv6, empty for "every client" (a folded group)
//! or "same as the packet address" (`if_src`/`if_dst`).

use std::net::IpAddr;

/// An address's stored bytes, without allocating (the ingest hot path binds millions).
#[derive(Clone, Copy)]
pub(crate) struct Blob {
    bytes: [u8; 16],
    len: u8,
}

impl Blob {
    pub(crate) fn of(addr: Option<IpAddr>) -> Blob {
        let mut bytes = [0u8; 16];
        let len = match addr {
            None => 0,
            Some(IpAddr::V4(a)) => {
                bytes[..4].copy_from_slice(&a.octets());
                4
            }
            Some(IpAddr::V6(a)) => {
                bytes = a.octets();
                16
            }
        };
        Blob { bytes, len }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

pub(crate) fn from_blob(blob: &[u8]) -> Option<IpAddr> {
    match blob.len() {
        4 => <[u8; 4]>::try_from(blob).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(blob).ok().map(IpAddr::from),
        _ => None,
    }
}
