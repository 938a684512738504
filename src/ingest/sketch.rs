//! A `HyperLogLog` sketch: the estimated number of distinct sources once a group passes its cap.
//!
//! Precision 12 (4096 one-byte registers, about 1.6 % standard error). Merging is a register-wise
//! maximum, so the estimate does not depend on the order in which files were ingested.

use std::net::IpAddr;

use xxhash_rust::xxh3::xxh3_64;

const PRECISION: u32 = 12;
const REGISTERS: usize = 1 << PRECISION;

#[derive(Clone, PartialEq, Eq)]
pub struct Sketch {
    registers: Box<[u8; REGISTERS]>,
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sketch(~{})", self.estimate())
    }
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch {
            registers: Box::new([0; REGISTERS]),
        }
    }
}

impl Sketch {
    pub fn insert(&mut self, addr: IpAddr) {
        let hash = match addr {
            IpAddr::V4(a) => xxh3_64(&a.octets()),
            IpAddr::V6(a) => xxh3_64(&a.octets()),
        };
        let index = (hash >> (64 - PRECISION)) as usize;
        let rest = hash << PRECISION;
        let rank = (rest.leading_zeros() + 1).min(64 - PRECISION + 1) as u8;
        let slot = &mut self.registers[index];
        *slot = (*slot).max(rank);
    }

    /// A sketch that estimates about `count` distinct sources, for a distinct count computed
    /// elsewhere (an engine's `approx_distinct`): `count` synthetic addresses from the
    /// discard-only prefix `100::/64` (RFC 6666), which no flow carries. Merged with a sketch of
    /// real addresses it counts the two as disjoint; merged with another synthetic one it gives
    /// the larger count (documented in README, "Large accounts").
    pub fn with_estimate(count: u64) -> Sketch {
        let mut sketch = Sketch::default();
        for i in 0..count.min(1 << 32) {
            sketch.insert(IpAddr::V6(std::net::Ipv6Addr::from(
                (0x0100_u128 << 112) | u128::from(i),
            )));
        }
        sketch
    }

    pub fn merge(&mut self, other: &Sketch) {
        for (mine, theirs) in self.registers.iter_mut().zip(other.registers.iter()) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// The estimated number of distinct addresses inserted.
    pub fn estimate(&self) -> u64 {
        let m = REGISTERS as f64;
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            // Linear counting is more accurate for small cardinalities.
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.registers.to_vec()
    }

    /// Reads stored registers; `None` when the blob is not a sketch of this precision.
    pub fn from_bytes(bytes: &[u8]) -> Option<Sketch> {
        let registers: Box<[u8; REGISTERS]> = bytes.to_vec().into_boxed_slice().try_into().ok()?;
        Some(Sketch { registers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn sketch_of(range: std::ops::Range<u32>) -> Sketch {
        let mut s = Sketch::default();
        for i in range {
            s.insert(IpAddr::V4(Ipv4Addr::from(i)));
        }
        s
    }

    #[test]
    fn estimates_within_five_percent() {
        for n in [100u32, 5_000, 100_000] {
            let estimate = sketch_of(0..n).estimate() as f64;
            let error = (estimate - f64::from(n)).abs() / f64::from(n);
            assert!(error < 0.05, "n={n} estimate={estimate}");
        }
    }

    #[test]
    fn synthetic_sketch_estimates_its_count() {
        for n in [0u64, 1, 31, 500, 5_000, 50_000] {
            let estimate = Sketch::with_estimate(n).estimate() as f64;
            let error = (estimate - n as f64).abs() / (n as f64).max(1.0);
            assert!(error < 0.03, "n={n} estimate={estimate}");
        }
        assert_eq!(Sketch::with_estimate(40).estimate(), 40);
    }

    #[test]
    fn merge_is_union_and_round_trips() {
        let mut a = sketch_of(0..3000);
        let b = sketch_of(2000..6000);
        a.merge(&b);
        assert_eq!(a, sketch_of(0..6000));
        assert_eq!(Sketch::from_bytes(&a.to_bytes()), Some(a));
        assert_eq!(Sketch::from_bytes(&[1, 2, 3]), None);
    }
}
