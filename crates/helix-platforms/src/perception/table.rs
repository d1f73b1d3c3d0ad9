//! The phrase automaton as a flat transition table, walked one byte at a
//! time: a class lookup, an add and a load per byte, and one comparison to
//! tell a match state. aho-corasick builds the automaton (trie, failure
//! links, full DFA); this copies it into the tightest loop we could write
//! in safe Rust, because classification throughput is bound by this walk.
//!
//! Each step waits on the load of the one before, so a longer text is
//! walked as two halves at once: two chains of loads the CPU overlaps. The
//! second half starts afresh; the first runs on past the middle only while
//! a match that began before the middle may still be in progress, which
//! the depth of its state tells (docs/BENCHMARKS.md has the figures).

use std::collections::HashMap;

use aho_corasick::Anchored;
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;

/// One pattern ending in a match state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ending {
    /// The automaton's pattern index.
    pub pattern: u32,
    /// Its length in bytes.
    pub len: u32,
}

/// The automaton as a table.
///
/// Column-major with 16-bit entries: all states' transitions on one byte
/// class are contiguous, and states are numbered breadth-first, so the
/// shallow states most bytes lead to share cache lines. Against row-major
/// 32-bit rows this halves the table and cuts the walk's L1 misses from
/// 42 % to 30 % of bytes (callgrind's cache simulation).
///
/// Match states are numbered from a power of two, `match_bit`, and every
/// state is below twice that, so one OR and one bit test tell whether
/// either of two walks is in a match state. The transitions live in an
/// array of fixed power-of-two length indexed through a mask: the walk
/// needs no bounds check, and an index can never leave the array.
pub(crate) struct Table {
    /// Byte to the start of its class's column (class x column height);
    /// every byte no pattern contains shares column 0.
    column: [u32; 256],
    /// `trans[column + state]`: the next state.
    trans: Box<[u16; TRANS_SLOTS]>,
    start: u32,
    /// The bit every match state has and no other state has.
    match_bit: u32,
    /// Per state, the length of the longest pattern prefix it has seen:
    /// how far back a match in progress may have started.
    depth: Vec<u8>,
    /// For match state `match_bit + k`, its endings are
    /// `endings[spans[k].0..spans[k].1]`.
    spans: Vec<(u32, u32)>,
    endings: Vec<Ending>,
}

/// Transition slots: the built-in rules use 103,000 (42 byte classes by
/// 2,444 rows); construction panics past this, which the crate's tests
/// would catch. Slots never written are zero pages the walk never touches.
const TRANS_SLOTS: usize = 1 << 19;

/// An index into `trans`, always in bounds.
#[inline(always)]
fn slot(i: u32) -> usize {
    i as usize & (TRANS_SLOTS - 1)
}

impl Table {
    /// Copies `dfa` (unanchored, ASCII case-insensitive over `needles`).
    pub fn new(dfa: &DFA, needles: &[&str]) -> Self {
        let mut classes = [0u8; 256];
        let mut reps: Vec<u8> = vec![0];
        for n in needles {
            assert!(!n.contains('\0'), "a phrase with a NUL byte");
            for b in n.bytes() {
                let b = b.to_ascii_lowercase();
                if classes[b as usize] == 0 {
                    let c = u8::try_from(reps.len()).expect("fewer than 256 byte classes");
                    reps.push(b);
                    classes[b as usize] = c;
                    classes[b.to_ascii_uppercase() as usize] = c;
                }
            }
        }
        // Column 0, represented by NUL, is every byte no pattern contains.

        let start = dfa
            .start_state(Anchored::No)
            .expect("an unanchored automaton has an unanchored start");

        // Every reachable state, breadth first: a state's distance from
        // the start is the length of the pattern prefix it stands for.
        let mut order: Vec<StateID> = vec![start];
        let mut depth_of: HashMap<StateID, usize> = HashMap::from([(start, 0)]);
        let mut i = 0;
        while i < order.len() {
            let sid = order[i];
            let d = depth_of[&sid];
            i += 1;
            for &b in &reps {
                let next = dfa.next_state(Anchored::No, sid, b);
                if let std::collections::hash_map::Entry::Vacant(e) = depth_of.entry(next) {
                    e.insert(d + 1);
                    order.push(next);
                }
            }
        }
        // Non-match states first, numbered from 0; match states from the
        // next power of two (at least the match count), so the match bit
        // alone tells them apart in the loop.
        let (dense, matches): (Vec<StateID>, Vec<StateID>) =
            order.into_iter().partition(|&s| !dfa.is_match(s));
        let match_bit = dense.len().max(matches.len()).next_power_of_two();
        let height = match_bit + matches.len();
        assert!(
            height <= usize::from(u16::MAX),
            "too many states for 16-bit entries"
        );
        assert!(
            height * reps.len() <= TRANS_SLOTS,
            "too many states for the table"
        );
        let number: HashMap<StateID, u16> = dense
            .iter()
            .enumerate()
            .chain(matches.iter().enumerate().map(|(k, s)| (match_bit + k, s)))
            .map(|(i, &s)| (s, i as u16))
            .collect();
        let mut trans = vec![0u16; TRANS_SLOTS];
        for (c, &b) in reps.iter().enumerate() {
            for &sid in dense.iter().chain(&matches) {
                trans[c * height + usize::from(number[&sid])] =
                    number[&dfa.next_state(Anchored::No, sid, b)];
            }
        }
        let trans: Box<[u16; TRANS_SLOTS]> = trans
            .into_boxed_slice()
            .try_into()
            .expect("the table has TRANS_SLOTS slots");
        let mut column = [0u32; 256];
        for (slot, class) in column.iter_mut().zip(classes) {
            *slot = u32::from(class) * height as u32;
        }
        let mut spans = Vec::with_capacity(matches.len());
        let mut endings = Vec::new();
        for &sid in &matches {
            let from = endings.len() as u32;
            for k in 0..dfa.match_len(sid) {
                let pid = dfa.match_pattern(sid, k);
                endings.push(Ending {
                    pattern: pid.as_u32(),
                    len: dfa.pattern_len(pid) as u32,
                });
            }
            spans.push((from, endings.len() as u32));
        }
        let mut depth = vec![0u8; height];
        for &sid in dense.iter().chain(&matches) {
            depth[usize::from(number[&sid])] =
                u8::try_from(depth_of[&sid]).expect("patterns under 256 bytes");
        }
        Table {
            column,
            trans,
            start: u32::from(number[&start]),
            match_bit: match_bit as u32,
            depth,
            spans,
            endings,
        }
    }

    /// Calls `on_match(end, endings)` for every byte position where a
    /// pattern ends (`end` is one past its last byte): all of them, but
    /// not in order, and a match may be reported twice.
    #[inline]
    pub fn walk(&self, bytes: &[u8], mut on_match: impl FnMut(usize, &[Ending])) {
        let n = bytes.len();
        if n < SPLIT_FROM {
            self.walk_from(bytes, 0, n, self.start, &mut on_match);
            return;
        }
        let mid = n / 2;
        let (first, second) = bytes.split_at(mid);
        // One loop, two chains of loads; matches are handled in place
        // (leaving the loop for each cost more than the work).
        let (trans, column, bit) = (&*self.trans, &self.column, self.match_bit);
        let (mut a, mut b) = (self.start, self.start);
        let mut end = 0;
        for (&x, &y) in first.iter().zip(second) {
            end += 1;
            a = u32::from(trans[slot(column[usize::from(x)] + a)]);
            b = u32::from(trans[slot(column[usize::from(y)] + b)]);
            if (a | b) & bit != 0 {
                if a & bit != 0 {
                    self.report(end, a, &mut on_match);
                }
                if b & bit != 0 {
                    self.report(mid + end, b, &mut on_match);
                }
            }
        }
        // The second half is a byte longer when n is odd.
        self.walk_from(bytes, 2 * mid, n, b, &mut on_match);
        // The first walk goes on while a match in progress began before
        // the middle; any that began later, the second walk found.
        let mut p = mid;
        while p < n && usize::from(self.depth[a as usize]) > p - mid {
            a = self.step(a, bytes[p]);
            p += 1;
            if a & bit != 0 {
                self.report(p, a, &mut on_match);
            }
        }
    }

    #[inline]
    fn step(&self, s: u32, b: u8) -> u32 {
        u32::from(self.trans[slot(self.column[usize::from(b)] + s)])
    }

    #[inline(always)]
    fn report(&self, end: usize, s: u32, on_match: &mut impl FnMut(usize, &[Ending])) {
        let (from, to) = self.spans[(s & !self.match_bit) as usize];
        on_match(end, &self.endings[from as usize..to as usize]);
    }

    /// Walks `bytes[at..to]` from state `s`, reporting matches.
    fn walk_from(
        &self,
        bytes: &[u8],
        at: usize,
        to: usize,
        s: u32,
        on_match: &mut impl FnMut(usize, &[Ending]),
    ) {
        let (trans, column, bit) = (&*self.trans, &self.column, self.match_bit);
        let mut s = s;
        for (i, &c) in bytes[..to].iter().enumerate().skip(at) {
            s = u32::from(trans[slot(column[usize::from(c)] + s)]);
            if s & bit != 0 {
                self.report(i + 1, s, on_match);
            }
        }
    }
}

/// Texts shorter than this are walked in one piece.
const SPLIT_FROM: usize = 32;

#[cfg(test)]
mod tests {
    use aho_corasick::MatchKind;

    use super::*;

    /// (end, pattern) of every match, sorted, each once.
    type Found = Vec<(usize, u32)>;

    fn both(needles: &[&str], text: &str) -> (Found, Found) {
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(needles)
            .unwrap();
        let t = Table::new(&dfa, needles);
        let mut got = Vec::new();
        t.walk(text.as_bytes(), |end, es| {
            got.extend(es.iter().map(|e| (end, e.pattern)))
        });
        let mut want = Vec::new();
        let mut sid = dfa.start_state(Anchored::No).unwrap();
        for (i, &b) in text.as_bytes().iter().enumerate() {
            sid = dfa.next_state(Anchored::No, sid, b);
            if dfa.is_match(sid) {
                for k in 0..dfa.match_len(sid) {
                    want.push((i + 1, dfa.match_pattern(sid, k).as_u32()));
                }
            }
        }
        got.sort_unstable();
        got.dedup();
        (got, want)
    }

    #[test]
    fn the_table_finds_exactly_what_the_automaton_finds() {
        let needles = [
            "nonce",
            "nonce too low",
            "too",
            "low",
            "-32003",
            "0x",
            "expir",
            "é",
        ];
        for text in [
            "Nonce too LOW: next nonce 5",
            "error code -32003: insufficient fee token 0xABC",
            "Payment EXPIRED at 17; café",
            "",
            "\u{0}\u{ff} nothing \u{1} here",
        ] {
            let (got, want) = both(&needles, text);
            assert_eq!(got, want, "{text:?}");
        }
        let (got, _) = both(&needles, "nonce too low");
        assert_eq!(got.len(), 4, "nonce, too, low and the whole phrase");
    }

    /// Longer texts are walked as two halves: matches across the middle,
    /// at either end and in every position are all still found.
    #[test]
    fn two_half_walks_find_what_one_walk_finds() {
        let needles = [
            "nonce too low",
            "nonce",
            "insufficient funds for gas * price + value",
            "o",
            "lowlowlow",
            "-32003",
            "expir",
        ];
        let pieces = [
            "nonce ",
            "too ",
            "low",
            "lowlow",
            "insufficient funds ",
            "for gas * price + value",
            "-32003",
            "EXPIR",
            "x",
            " ",
            "é",
            "NONCE TOO LOW",
        ];
        for text in
            crate::perception::testutil::generated_texts(&pieces, 3_000, 140, 0x2545_F491_4F6C_DD1D)
        {
            let (got, want) = both(&needles, &text);
            assert_eq!(got, want, "{text:?}");
        }
        let across = format!("{}nonce too low{}", "x".repeat(30), "y".repeat(30));
        let (got, want) = both(&needles, &across);
        assert_eq!(got, want);
        assert!(
            got.contains(&(43, 0)),
            "the phrase across the middle: {got:?}"
        );
    }
}
