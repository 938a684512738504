//! Analysis stage: the narrowest cover of a rule's observed sources by at most k CIDR prefixes
//! inside the rule's network, solved exactly by a dynamic program over a path-compressed trie.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// One cover: at most k prefixes inside the rule's network that contain every observed source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Cover {
    /// Sorted, disjoint, each inside `within`.
    pub(crate) prefixes: Vec<IpNet>,
    /// Addresses the prefixes grant, saturating at `u128::MAX` (only `::/0` grants 2^128).
    pub(crate) granted: u128,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CoverLimits {
    /// K: covers are computed for every budget 1..=K. Zero gives no covers.
    pub(crate) max_prefixes: usize,
    /// No proposed prefix shorter (wider) than this, e.g. `Some(16)` forbids a /8.
    pub(crate) shortest: Option<u8>,
    /// No proposed prefix longer than this, e.g. `Some(28)` rounds hosts to their /28.
    pub(crate) longest: Option<u8>,
}

/// For k = 1..=`limits.max_prefixes`, the optimal cover with at most k prefixes (index k-1), or
/// `None` for a k where no cover satisfies the limits (e.g. sources spread over more /shortest
/// blocks than k, or `shortest` longer than the clamped `longest`).
///
/// Optimal means fewest granted addresses, then fewest prefixes, then the lexicographically
/// smallest prefix list. Sources of the other address family than `within`, or outside it, are
/// ignored: the caller is expected to have filtered them. No sources gives an empty Vec. The
/// output holds O(K²) prefixes, so K is meant to be small (a configured budget).
pub(crate) fn best_covers(
    within: IpNet,
    sources: &[IpAddr],
    limits: CoverLimits,
) -> Vec<Option<Cover>> {
    let bits = within.max_prefix_len();
    let base = within.prefix_len();
    let longest = limits.longest.unwrap_or(bits).clamp(base, bits);
    let shortest = limits.shortest.map_or(base, |s| s.max(base));
    // Rounding every source to its /longest block first makes each trie leaf a legal prefix.
    let mut keys: Vec<u128> = sources
        .iter()
        .filter(|ip| within.contains(*ip))
        .map(|&ip| left_aligned(ip) & mask(longest))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Vec::new();
    }
    if shortest > longest {
        return vec![None; limits.max_prefixes];
    }
    let mut solver = Solver {
        bits,
        shortest,
        budget: limits.max_prefixes.min(keys.len()),
        nodes: Vec::with_capacity(2 * keys.len()),
        entries: Vec::new(),
        ranking: Vec::new(),
    };
    let root = solver.build(&keys, longest);
    let v6 = matches!(within, IpNet::V6(_));
    let mut covers: Vec<Option<Cover>> = Vec::new();
    for k in 1..=limits.max_prefixes {
        let cover = match covers.last() {
            Some(last) if k > solver.nodes[root].cap => last.clone(),
            _ => solver.cover(root, k, v6),
        };
        covers.push(cover);
    }
    covers
}

/// The seed's method, for comparison: the single smallest prefix inside `within` that contains
/// all sources (those outside `within` or of the other family ignored); `None` without any.
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "the baseline for reports; drop this once one shows it"
    )
)]
pub(crate) fn smallest_supernet(within: IpNet, sources: &[IpAddr]) -> Option<IpNet> {
    let mut inside = sources
        .iter()
        .filter(|ip| within.contains(*ip))
        .map(|&ip| left_aligned(ip));
    let first = inside.next()?;
    let (low, high) = inside.fold((first, first), |(l, h), k| (l.min(k), h.max(k)));
    let len = ((low ^ high).leading_zeros() as u8).min(within.max_prefix_len());
    Some(prefix(matches!(within, IpNet::V6(_)), low & mask(len), len))
}

/// IPv4 sits in the top 32 bits so one mask and one common-prefix count serve both families.
fn left_aligned(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
        IpAddr::V6(a) => u128::from(a),
    }
}

fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

fn prefix(v6: bool, key: u128, len: u8) -> IpNet {
    let net = if v6 {
        Ipv6Net::new(Ipv6Addr::from(key), len).map(IpNet::V6)
    } else {
        Ipv4Net::new(Ipv4Addr::from((key >> 96) as u32), len).map(IpNet::V4)
    };
    net.expect("trie depths never exceed the family width")
}

/// Block size minus one: costs are stored as "granted − 1" so `::/0` (2^128) fits, and sums of
/// disjoint blocks (never above 2^128) stay exact; `a + b` becomes `a + b + 1`.
fn block_cost(bits: u8, len: u8) -> u128 {
    let host = u32::from(bits.saturating_sub(len));
    if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    }
}

/// A trie node: a leaf (one /longest block) or a branching node; single-child chains are
/// compressed away because one prefix over such a chain is best at its deepest point.
struct Node {
    key: u128,
    depth: u8,
    children: Option<(usize, usize)>,
    offset: usize,
    /// Budgets above `cap` (min of K and the leaf count) cannot help: one prefix per leaf suffices.
    cap: usize,
}

/// The best cover of a node's leaves with at most j prefixes.
#[derive(Clone, Copy)]
struct Entry {
    cost: u128,
    /// Zero marks "no cover within the limits".
    count: u32,
    /// Budget given to the left child; zero means one prefix at the node itself.
    split: u32,
    /// Dense rank of this entry's prefix list among the node's entries, for lexicographic ties.
    rank: u32,
}

const INFEASIBLE: Entry = Entry {
    cost: u128::MAX,
    count: 0,
    split: 0,
    rank: u32::MAX,
};

struct Solver {
    bits: u8,
    shortest: u8,
    budget: usize,
    nodes: Vec<Node>,
    entries: Vec<Entry>,
    ranking: Vec<((u8, u32, u32), usize)>,
}

impl Solver {
    /// Builds the trie bottom-up from sorted distinct keys with a stack of pending left subtrees
    /// (at most one per depth, so ≤ 129 deep) and fills each node's table as it is created.
    fn build(&mut self, keys: &[u128], longest: u8) -> usize {
        let mut pending: Vec<(usize, u8)> = Vec::new();
        let mut root = 0;
        for (i, &key) in keys.iter().enumerate() {
            let mut cur = self.push_node(key, longest, None);
            let next = keys.get(i + 1).map(|&n| (key ^ n).leading_zeros() as u8);
            // Adjacent distinct keys never share their branching depth, so `>` is strict.
            while let Some(&(left, depth)) = pending.last() {
                if next.is_some_and(|n| n > depth) {
                    break;
                }
                pending.pop();
                cur = self.push_node(key & mask(depth), depth, Some((left, cur)));
            }
            match next {
                Some(n) => pending.push((cur, n)),
                None => root = cur,
            }
        }
        root
    }

    fn push_node(&mut self, key: u128, depth: u8, children: Option<(usize, usize)>) -> usize {
        let offset = self.entries.len();
        let whole = (depth >= self.shortest).then(|| Entry {
            cost: block_cost(self.bits, depth),
            count: 1,
            split: 0,
            rank: 0,
        });
        let cap = match children {
            None => {
                self.entries.push(whole.unwrap_or(INFEASIBLE));
                1
            }
            Some((l, r)) => self.fill_branch(l, r, whole),
        };
        self.nodes.push(Node {
            key,
            depth,
            children,
            offset,
            cap,
        });
        self.nodes.len() - 1
    }

    /// f(v, j) = min(one prefix at v, min over a + b = j of f(l, a) + f(r, b)); a + b < j is
    /// dominated because children's tables are non-increasing in the budget.
    fn fill_branch(&mut self, l: usize, r: usize, whole: Option<Entry>) -> usize {
        let (lo, lcap) = (self.nodes[l].offset, self.nodes[l].cap);
        let (ro, rcap) = (self.nodes[r].offset, self.nodes[r].cap);
        let cap = (lcap + rcap).min(self.budget);
        let start = self.entries.len();
        for j in 1..=cap {
            let mut best = whole.unwrap_or(INFEASIBLE);
            let mut best_key = (best.count == 0, best.cost, best.count, 0, 0, 0);
            for a in j.saturating_sub(rcap).max(1)..=lcap.min(j - 1) {
                let (el, er) = (self.entries[lo + a - 1], self.entries[ro + j - a - 1]);
                if el.count == 0 || er.count == 0 {
                    continue;
                }
                let cost = el.cost.saturating_add(er.cost).saturating_add(1);
                let count = el.count + er.count;
                // A single prefix starts at the block's first address with the shortest
                // length, so it sorts before every split; splits compare left list first.
                let key = (false, cost, count, 1, el.rank, er.rank);
                if key < best_key {
                    best_key = key;
                    best = Entry {
                        cost,
                        count,
                        split: a as u32,
                        rank: 0,
                    };
                }
            }
            self.entries.push(best);
        }
        self.ranking.clear();
        for (i, e) in self.entries[start..].iter().enumerate() {
            let key = match e.split as usize {
                0 => (0, 0, 0),
                a => (
                    1,
                    self.entries[lo + a - 1].rank,
                    self.entries[ro + i - a].rank,
                ),
            };
            self.ranking.push((key, start + i));
        }
        self.ranking.sort_unstable();
        let mut rank = 0;
        for w in 0..self.ranking.len() {
            if w > 0 && self.ranking[w].0 != self.ranking[w - 1].0 {
                rank += 1;
            }
            self.entries[self.ranking[w].1].rank = rank;
        }
        cap
    }

    fn cover(&self, root: usize, k: usize, v6: bool) -> Option<Cover> {
        let k = k.min(self.nodes[root].cap);
        let top = self.entries[self.nodes[root].offset + k - 1];
        if top.count == 0 {
            return None;
        }
        let mut prefixes = Vec::with_capacity(top.count as usize);
        let mut todo = vec![(root, k)];
        while let Some((v, j)) = todo.pop() {
            let node = &self.nodes[v];
            let split = self.entries[node.offset + j - 1].split as usize;
            match node.children {
                Some((l, r)) if split > 0 => todo.extend([(r, j - split), (l, split)]),
                _ => prefixes.push(prefix(v6, node.key, node.depth)),
            }
        }
        Some(Cover {
            prefixes,
            granted: top.cost.saturating_add(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Blocks of `within | sources | k shortest longest` (`-` for no limit), then one indented
    /// line per k: the cover as `prefixes =granted`, or `-` for none.
    const CASES: &str = "
10.0.0.0/8 | 10.1.2.3 10.1.2.9 10.200.0.1 | 4 - -
    10.0.0.0/8 =16777216
    10.1.2.0/28 10.200.0.1/32 =17
    10.1.2.3/32 10.1.2.9/32 10.200.0.1/32 =3
    10.1.2.3/32 10.1.2.9/32 10.200.0.1/32 =3
2001:db8::/32 | 2001:db8::1 2001:db8::ff 2001:db8:0:1::1 | 3 - -
    2001:db8::/63 =36893488147419103232
    2001:db8::/120 2001:db8:0:1::1/128 =257
    2001:db8::1/128 2001:db8::ff/128 2001:db8:0:1::1/128 =3
10.0.0.0/24 | 10.0.0.0 10.0.0.2 10.0.0.128 10.0.0.130 | 3 - -
    10.0.0.0/24 =256
    10.0.0.0/30 10.0.0.128/30 =8
    10.0.0.0/30 10.0.0.128/32 10.0.0.130/32 =6
::/0 | :: 7fff:: 8000:: | 2 - -
    ::/0 =340282366920938463463374607431768211455
    ::/1 8000::/128 =170141183460469231731687303715884105729
10.0.0.0/22 | 10.0.2.22 10.0.1.234 10.0.0.241 10.0.3.240 10.0.3.143 10.0.1.16 10.0.1.146 \
    10.0.1.65 10.0.0.131 10.0.0.202 10.0.3.195 10.0.1.68 | 6 - -
    10.0.0.0/22 =1024
    10.0.0.0/22 =1024
    10.0.0.0/23 10.0.2.22/32 10.0.3.128/25 =641
    10.0.0.128/25 10.0.1.0/24 10.0.2.22/32 10.0.3.128/25 =513
    10.0.0.128/25 10.0.1.0/24 10.0.2.22/32 10.0.3.143/32 10.0.3.192/26 =450
    10.0.0.128/25 10.0.1.0/25 10.0.1.146/32 10.0.1.234/32 10.0.2.22/32 10.0.3.128/25 =387
10.1.2.3/8 | 10.0.0.1 192.168.0.1 ::1 | 1 - -
    10.0.0.1/32 =1
10.0.0.0/8 | 192.168.0.1 ::1 | 3 - -
10.0.0.0/8 | | 3 - -
10.0.0.0/8 | 10.0.0.1 | 0 - -
10.0.0.0/8 | 10.1.0.1 10.1.0.2 10.2.0.1 | 2 16 -
    -
    10.1.0.0/30 10.2.0.1/32 =5
10.0.0.0/8 | 10.1.0.1 10.1.0.2 10.2.0.1 | 3 16 24
    -
    10.1.0.0/24 10.2.0.0/24 =512
    10.1.0.0/24 10.2.0.0/24 =512
192.168.0.0/16 | 192.168.1.1 192.168.1.2 | 2 - 28
    192.168.1.0/28 =16
    192.168.1.0/28 =16
10.0.0.0/8 | 10.1.0.1 10.2.0.1 | 1 - 4
    10.0.0.0/8 =16777216
10.0.0.0/8 | 10.1.0.1 10.2.0.1 | 2 30 24
    -
    -
";

    fn run(header: &str) -> Vec<String> {
        let cols: Vec<&str> = header.split('|').map(str::trim).collect();
        let sources: Vec<IpAddr> = cols[1].split_whitespace().map(ip).collect();
        let nums: Vec<&str> = cols[2].split_whitespace().collect();
        let limit = |s: &str| s.parse::<u8>().ok();
        let limits = CoverLimits {
            max_prefixes: nums[0].parse().unwrap(),
            shortest: limit(nums[1]),
            longest: limit(nums[2]),
        };
        let show = |c: &Option<Cover>| {
            c.as_ref().map_or("-".to_owned(), |c| {
                let ps: Vec<String> = c.prefixes.iter().map(ToString::to_string).collect();
                format!("{} ={}", ps.join(" "), c.granted)
            })
        };
        let covers = best_covers(cols[0].parse().unwrap(), &sources, limits);
        covers.iter().map(show).collect()
    }

    #[test]
    fn hand_cases() {
        let mut blocks: Vec<(&str, Vec<&str>)> = Vec::new();
        for line in CASES.lines().filter(|l| !l.is_empty()) {
            match (line.strip_prefix("    "), blocks.last_mut()) {
                (Some(expected), Some((_, lines))) => lines.push(expected),
                _ => blocks.push((line, Vec::new())),
            }
        }
        assert_eq!(blocks.len(), 14);
        for (header, expected) in blocks {
            assert_eq!(run(header), expected, "{header}");
        }
        let sources = [ip("10.1.2.3"), ip("10.1.2.9"), ip("10.200.0.1"), ip("::1")];
        let supernet = |w: &str| smallest_supernet(w.parse().unwrap(), &sources);
        assert_eq!(supernet("10.0.0.0/8"), Some("10.0.0.0/8".parse().unwrap()));
        assert_eq!(
            supernet("10.1.0.0/16"),
            Some("10.1.2.0/28".parse().unwrap())
        );
        assert_eq!(supernet("192.168.0.0/16"), None);
    }

    #[test]
    fn hundred_thousand_sources() {
        let sources: Vec<IpAddr> = (0u32..100_000)
            .map(|i| Ipv4Addr::from(0x0a00_0000 | (i.wrapping_mul(2_654_435_761) >> 8)).into())
            .collect();
        let limits = CoverLimits {
            max_prefixes: 16,
            shortest: Some(12),
            longest: None,
        };
        let got = best_covers("10.0.0.0/8".parse().unwrap(), &sources, limits);
        let last = got[15].as_ref().unwrap();
        assert_eq!(
            (got.len(), got[14].is_none(), last.prefixes.len()),
            (16, true, 16)
        );
        assert!(
            sources
                .iter()
                .all(|s| last.prefixes.iter().any(|p| p.contains(s)))
        );
    }

    /// Every set of at most k prefixes in [lo, hi] that each hold a source, scored like the DP.
    fn brute(inside: &[IpAddr], lo: u8, hi: u8, k: usize) -> Option<Cover> {
        let mut cands: Vec<IpNet> = inside
            .iter()
            .flat_map(|&s| (lo..=hi).map(move |len| IpNet::new(s, len).unwrap().trunc()))
            .collect();
        cands.sort_unstable();
        cands.dedup();
        let mut best: Option<Cover> = None;
        let mut stack: Vec<Vec<IpNet>> = vec![vec![]];
        while let Some(ps) = stack.pop() {
            let next = ps.last().map_or(0, |p| cands.partition_point(|c| c <= p));
            if ps.len() < k {
                stack.extend(
                    cands[next..]
                        .iter()
                        .map(|&c| [ps.as_slice(), &[c]].concat()),
                );
            }
            let disjoint = ps.windows(2).all(|w| !w[0].contains(&w[1].network()));
            if ps.is_empty()
                || !disjoint
                || !inside.iter().all(|s| ps.iter().any(|p| p.contains(s)))
            {
                continue;
            }
            let granted = ps
                .iter()
                .map(|p| 1u128 << (p.max_prefix_len() - p.prefix_len()))
                .sum();
            let key = |c: &Cover| (c.granted, c.prefixes.len(), c.prefixes.clone());
            let cand = Cover {
                prefixes: ps,
                granted,
            };
            if best.as_ref().is_none_or(|b| key(&cand) < key(b)) {
                best = Some(cand);
            }
        }
        best
    }

    type Scored = Option<(u128, usize, Vec<IpNet>)>;

    /// The same recurrence on the uncompressed trie, carrying whole lists so that ties compare
    /// the lists themselves: checks the rank bookkeeping on inputs too big for `brute`. Index j
    /// holds the best cover with at most j prefixes.
    fn reference(net: IpNet, inside: &[IpAddr], lo: u8, hi: u8, k: usize) -> Vec<Scored> {
        let mine: Vec<IpAddr> = inside.iter().copied().filter(|s| net.contains(s)).collect();
        if mine.is_empty() {
            return vec![Some((0, 0, Vec::new())); k + 1];
        }
        let len = net.prefix_len();
        let whole = (lo..=hi).contains(&len).then(|| {
            let size = 1u128.checked_shl(u32::from(net.max_prefix_len() - len));
            (size.unwrap_or(u128::MAX), 1, vec![net])
        });
        let mut best = vec![whole; k + 1];
        best[0] = None;
        if len < hi {
            let halves: Vec<IpNet> = net.subnets(len + 1).unwrap().collect();
            let l = reference(halves[0], &mine, lo, hi, k);
            let r = reference(halves[1], &mine, lo, hi, k);
            for (j, slot) in best.iter_mut().enumerate().skip(1) {
                for (a, b) in (0..=j).flat_map(|a| (0..=j - a).map(move |b| (a, b))) {
                    if let (Some(x), Some(y)) = (&l[a], &r[b]) {
                        let cand = (x.0 + y.0, x.1 + y.1, [x.2.as_slice(), &y.2].concat());
                        if slot.as_ref().is_none_or(|b| cand < *b) {
                            *slot = Some(cand);
                        }
                    }
                }
            }
        }
        best
    }

    /// The spec's length bounds, restated independently of `best_covers`.
    fn bounds(within: IpNet, shortest: Option<u8>, longest: Option<u8>) -> (u8, u8) {
        let (len, bits) = (within.prefix_len(), within.max_prefix_len());
        (
            shortest.unwrap_or(0).max(len),
            longest.unwrap_or(bits).clamp(len, bits),
        )
    }

    /// A network from a seed, sources clustered near its start (the host part shifted down) so
    /// that they share prefixes, foreign addresses that must be ignored, and the sources inside.
    fn case(
        v6: bool,
        seed: u128,
        len: u8,
        raw: &[(u128, u32)],
    ) -> (IpNet, Vec<IpAddr>, Vec<IpAddr>) {
        let (bits, net) = (if v6 { 128 } else { 32 }, seed & mask(len));
        let host_bits = u32::from(bits - len);
        let host = |(x, s): &(u128, u32)| {
            let offset = (x >> (128 - host_bits)) >> (s % host_bits);
            prefix(v6, net | (offset << (128 - bits)), bits).addr()
        };
        let mut sources: Vec<IpAddr> = raw.iter().map(host).collect();
        sources.extend([ip("192.0.2.1"), ip("2001:db8::1"), ip("::ffff:10.0.0.1")]);
        let within = prefix(v6, net, len);
        let inside = sources
            .iter()
            .copied()
            .filter(|s| within.contains(s))
            .collect();
        (within, sources, inside)
    }

    proptest! {
        #[test]
        fn minimal_against_brute_force(
            v6 in any::<bool>(), seed in any::<u128>(), len in 22u8..=27,
            raw in prop::collection::vec((any::<u128>(), 0u32..128), 1..=6),
            shortest in prop::option::of(20u8..=32), longest in prop::option::of(20u8..=32),
        ) {
            let wide = if v6 { 96 } else { 0 };
            let (within, sources, inside) = case(v6, seed, len + wide, &raw);
            let (shortest, longest) = (shortest.map(|s| s + wide), longest.map(|l| l + wide));
            let limits = CoverLimits { max_prefixes: 3, shortest, longest };
            let got = best_covers(within, &sources, limits);
            let (lo, hi) = bounds(within, shortest, longest);
            for (k, c) in got.iter().enumerate() {
                prop_assert_eq!(c, &brute(&inside, lo, hi, k + 1), "k = {}", k + 1);
            }
        }

        #[test]
        fn covers_are_sound_monotone_and_beat_the_supernet(
            v6 in any::<bool>(), seed in any::<u128>(), len_seed in any::<u8>(),
            raw in prop::collection::vec((any::<u128>(), 0u32..128), 1..200),
            k in 1usize..=8,
            shortest in prop::option::of(0u8..=128), longest in prop::option::of(0u8..=128),
        ) {
            let len = if v6 { 32 + len_seed % 93 } else { 8 + len_seed % 23 };
            let (within, sources, inside) = case(v6, seed, len, &raw);
            let supernet = smallest_supernet(within, &sources).unwrap();
            let bits = within.max_prefix_len();
            for (sh, lg) in [(None, None), (shortest, longest)] {
                let limits = CoverLimits { max_prefixes: k, shortest: sh, longest: lg };
                let got = best_covers(within, &sources, limits);
                prop_assert_eq!(got.len(), k);
                let (lo, hi) = bounds(within, sh, lg);
                let mut blocks: Vec<IpNet> =
                    inside.iter().map(|&s| IpNet::new(s, hi).unwrap().trunc()).collect();
                blocks.sort_unstable();
                blocks.dedup();
                // One prefix fits iff the supernet is long enough; one per /hi block always fits.
                prop_assert_eq!(got[0].is_some(), lo <= hi.min(supernet.prefix_len()));
                prop_assert!(lo > hi || k < blocks.len() || got[k - 1].is_some());
                let mut last: Option<u128> = None;
                for (i, c) in got.iter().enumerate() {
                    let Some(c) = c else { prop_assert!(last.is_none()); continue; };
                    let ps = &c.prefixes;
                    prop_assert!(!ps.is_empty() && ps.len() <= i + 1);
                    prop_assert!(ps.windows(2).all(|w| w[0].broadcast() < w[1].network()));
                    let legal = |p: &IpNet| (lo..=hi).contains(&p.prefix_len());
                    prop_assert!(ps.iter().all(|p| within.contains(p) && legal(p)));
                    prop_assert!(inside.iter().all(|s| ps.iter().any(|p| p.contains(s))));
                    let size: u128 = ps.iter().map(|p| 1u128 << (bits - p.prefix_len())).sum();
                    prop_assert_eq!(c.granted, size);
                    prop_assert!(last.is_none_or(|l| c.granted <= l));
                    last = Some(c.granted);
                    if sh.is_none() && lg.is_none() {
                        prop_assert!(c.granted <= 1u128 << (bits - supernet.prefix_len()));
                        prop_assert!(i > 0 || ps == &vec![supernet]);
                    }
                }
            }
        }

        #[test]
        fn ties_match_the_list_carrying_reference(
            v6 in any::<bool>(), seed in any::<u128>(), len_seed in any::<u8>(),
            raw in prop::collection::vec((any::<u128>(), 0u32..128), 1..40),
            shortest in prop::option::of(0u8..=16), longest in prop::option::of(0u8..=24),
        ) {
            let len = if v6 { 104 + len_seed % 17 } else { 8 + len_seed % 17 };
            let (within, sources, inside) = case(v6, seed, len, &raw);
            let (shortest, longest) = (shortest.map(|s| s + len), longest.map(|l| l + len));
            let limits = CoverLimits { max_prefixes: 8, shortest, longest };
            let got = best_covers(within, &sources, limits);
            let (lo, hi) = bounds(within, shortest, longest);
            let want = reference(within, &inside, lo, hi, 8);
            for (c, w) in got.iter().zip(&want[1..]) {
                let w = w.clone().map(|(granted, _, prefixes)| Cover { prefixes, granted });
                prop_assert_eq!(c, &w);
            }
        }
    }
}
