//! Analysis stage: the narrowest cover of a rule's used ports by at most r inclusive ranges
//! inside its allowed range, exact by keeping the widest gaps between used ports open.

use std::cmp::Reverse;

/// Optimal ≤ r inclusive ranges covering every used port, inside `allowed`, with the fewest
/// granted ports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct PortCover {
    /// Sorted, disjoint and non-adjacent.
    pub(crate) ranges: Vec<(u16, u16)>,
    pub(crate) granted: u32,
}

/// For r = 1..=`max_ranges`, the optimal cover with at most r ranges (index r-1).
///
/// Used ports outside `allowed` (an inverted `allowed` holds none) are ignored and duplicates are
/// fine; no used port gives an empty Vec. Ties (equal gaps) keep the earliest gap open, which
/// gives the lexicographically smallest range list. The output holds O(`max_ranges` × runs)
/// ranges, so `max_ranges` is meant to be small (a configured budget).
pub(crate) fn best_port_covers(
    allowed: (u16, u16),
    used: &[u16],
    max_ranges: usize,
) -> Vec<PortCover> {
    let (from, to) = allowed;
    let mut ports: Vec<u16> = used
        .iter()
        .copied()
        .filter(|p| (from..=to).contains(p))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let mut runs: Vec<(u16, u16)> = Vec::new();
    for p in ports {
        match runs.last_mut() {
            Some((_, end)) if u32::from(*end) + 1 == u32::from(p) => *end = p,
            _ => runs.push((p, p)),
        }
    }
    if runs.is_empty() {
        return Vec::new();
    }
    // Closing gap i (between runs i and i+1) costs exactly its width, independently of the
    // other gaps, so the optimum for r ranges keeps the r − 1 widest gaps open.
    let width = |i: usize| u32::from(runs[i + 1].0) - u32::from(runs[i].1) - 1;
    let mut widest: Vec<usize> = (0..runs.len() - 1).collect();
    widest.sort_by_key(|&i| (Reverse(width(i)), i));
    let mut open = vec![false; widest.len()];
    let mut covers: Vec<PortCover> = Vec::new();
    for r in 1..=max_ranges {
        let cover = match covers.last() {
            Some(last) if r > runs.len() => last.clone(),
            _ => {
                if let Some(&g) = r.checked_sub(2).and_then(|i| widest.get(i)) {
                    open[g] = true;
                }
                merge(&runs, &open)
            }
        };
        covers.push(cover);
    }
    covers
}

fn merge(runs: &[(u16, u16)], open: &[bool]) -> PortCover {
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for (i, &(start, end)) in runs.iter().enumerate() {
        match ranges.last_mut() {
            Some((_, last_end)) if i > 0 && !open[i - 1] => *last_end = end,
            _ => ranges.push((start, end)),
        }
    }
    let granted = ranges
        .iter()
        .map(|&(s, e)| u32::from(e) - u32::from(s) + 1)
        .sum();
    PortCover { ranges, granted }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pc(ranges: &[(u16, u16)], granted: u32) -> PortCover {
        PortCover {
            ranges: ranges.to_vec(),
            granted,
        }
    }

    #[test]
    fn web_ports_by_budget() {
        let used = [443, 22, 8080, 80, 8081, 8443, 443];
        let got = best_port_covers((0, 65535), &used, 6);
        let runs = [(22, 22), (80, 80), (443, 443), (8080, 8081), (8443, 8443)];
        assert_eq!(
            got,
            vec![
                pc(&[(22, 8443)], 8422),
                pc(&[(22, 443), (8080, 8443)], 786),
                pc(&[(22, 80), (443, 443), (8080, 8443)], 424),
                pc(&[(22, 80), (443, 443), (8080, 8081), (8443, 8443)], 63),
                pc(&runs, 6),
                pc(&runs, 6),
            ]
        );
    }

    #[test]
    fn edges() {
        assert_eq!(
            best_port_covers((0, 65535), &[1, 3, 5], 2)[1],
            pc(&[(1, 1), (3, 5)], 4)
        );
        assert_eq!(
            best_port_covers((0, 65535), &[65535, 0], 1),
            vec![pc(&[(0, 65535)], 65536)]
        );
        let outside = best_port_covers((1000, 2000), &[80, 1500, 1500, 3000], 2);
        assert_eq!(
            outside,
            vec![pc(&[(1500, 1500)], 1), pc(&[(1500, 1500)], 1)]
        );
        assert_eq!(best_port_covers((0, 65535), &[], 3), vec![]);
        assert_eq!(best_port_covers((2000, 1000), &[1500], 3), vec![]);
        assert_eq!(best_port_covers((0, 65535), &[22], 0), vec![]);
    }

    /// Every set of at most r ranges with used endpoints, scored by (union, count, list).
    fn brute(allowed: (u16, u16), used: &[u16], r: usize) -> PortCover {
        let mut ports: Vec<u16> = used
            .iter()
            .copied()
            .filter(|p| (allowed.0..=allowed.1).contains(p))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        let cands: Vec<(u16, u16)> = ports
            .iter()
            .flat_map(|&a| ports.iter().filter(move |&&b| b >= a).map(move |&b| (a, b)))
            .collect();
        let mut best: Option<PortCover> = None;
        let mut stack: Vec<Vec<usize>> = vec![vec![]];
        while let Some(set) = stack.pop() {
            let next = set.last().map_or(0, |&i| i + 1);
            if set.len() < r {
                stack.extend((next..cands.len()).map(|i| [set.as_slice(), &[i]].concat()));
            }
            let rs: Vec<(u16, u16)> = set.iter().map(|&i| cands[i]).collect();
            let inside = |p: u16| rs.iter().any(|&(a, b)| (a..=b).contains(&p));
            if rs.is_empty() || !ports.iter().all(|&p| inside(p)) {
                continue;
            }
            let granted = (ports[0]..=ports[ports.len() - 1])
                .filter(|&p| inside(p))
                .count();
            let cand = PortCover {
                granted: granted as u32,
                ranges: rs,
            };
            let key = |c: &PortCover| (c.granted, c.ranges.len(), c.ranges.clone());
            if best.as_ref().is_none_or(|b| key(&cand) < key(b)) {
                best = Some(cand);
            }
        }
        best.unwrap()
    }

    proptest! {
        #[test]
        fn minimal_against_brute_force(
            base in any::<u16>(), offs in prop::collection::vec(0u16..24, 1..=6), lo in 0u16..4,
        ) {
            let used: Vec<u16> = offs.iter().map(|o| base.saturating_add(*o)).collect();
            let allowed = (base.saturating_add(lo), base.saturating_add(22));
            let got = best_port_covers(allowed, &used, 3);
            if used.iter().all(|p| !(allowed.0..=allowed.1).contains(p)) {
                prop_assert!(got.is_empty());
            } else {
                for (i, c) in got.iter().enumerate() {
                    prop_assert_eq!(c, &brute(allowed, &used, i + 1), "r = {}", i + 1);
                }
            }
        }

        #[test]
        fn covers_are_sound_and_monotone(
            from in any::<u16>(), to in any::<u16>(),
            used in prop::collection::vec(any::<u16>(), 0..300), r in 1usize..=12,
        ) {
            let inside: Vec<u16> =
                used.iter().copied().filter(|p| (from..=to).contains(p)).collect();
            let got = best_port_covers((from, to), &used, r);
            prop_assert_eq!(got.len(), if inside.is_empty() { 0 } else { r });
            let mut distinct = inside.clone();
            distinct.sort_unstable();
            distinct.dedup();
            let runs = distinct.windows(2).filter(|w| w[1] - w[0] > 1).count() + 1;
            let mut last = u32::MAX;
            for (i, c) in got.iter().enumerate() {
                let rs = &c.ranges;
                prop_assert!(!rs.is_empty() && rs.len() <= i + 1);
                prop_assert!(rs.iter().all(|&(s, e)| from <= s && s <= e && e <= to));
                prop_assert!(rs.windows(2).all(|w| u32::from(w[0].1) + 1 < u32::from(w[1].0)));
                prop_assert!(inside.iter().all(|&p| rs.iter().any(|&(s, e)| (s..=e).contains(&p))));
                let size: u32 = rs.iter().map(|&(s, e)| u32::from(e - s) + 1).sum();
                prop_assert_eq!(c.granted, size);
                prop_assert!(c.granted <= last);
                last = c.granted;
                if i + 1 >= runs {
                    prop_assert_eq!(c.granted as usize, distinct.len());
                }
            }
        }
    }
}
