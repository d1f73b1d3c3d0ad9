//! Message rules and the phrase matcher behind them.
//!
//! A rule is an AND of groups, each an OR of phrases; it also names phrases
//! that veto it. Phrases match case-insensitively and only on word
//! boundaries ("500" inside "2500" does not match); a phrase ending in `*`
//! matches any word it starts ("expir*" matches "expired", "expiry").
//! Every phrase of every rule goes into one Aho-Corasick automaton, so a
//! message is scanned once however many rules there are.

use aho_corasick::MatchKind;
use aho_corasick::dfa::DFA;
use helix_core::{Category, FailureCode, Platform, Severity};

use crate::perception::extract::{Extractor, Located};
use crate::perception::marks::{MARKERS, Marks};
use crate::perception::table::Table;

/// One message rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Name for docs and tests.
    pub name: &'static str,
    /// Classification when it matches.
    pub code: FailureCode,
    /// Classification when it matches.
    pub category: Category,
    /// Classification when it matches.
    pub severity: Severity,
    /// Platform when the signal does not say.
    pub platform: Platform,
    /// Every group must have a phrase in the message.
    pub all: &'static [&'static [&'static str]],
    /// Any of these phrases vetoes the rule.
    pub none: &'static [&'static str],
    /// Optional fact extraction.
    pub extract: Option<&'static Extractor>,
}

impl Rule {
    /// A rule of medium severity with no veto and no extraction.
    pub const fn new(
        platform: Platform,
        name: &'static str,
        code: FailureCode,
        category: Category,
        all: &'static [&'static [&'static str]],
    ) -> Self {
        Rule {
            name,
            code,
            category,
            severity: Severity::Medium,
            platform,
            all,
            none: &[],
            extract: None,
        }
    }

    /// Builder-style: phrases that veto the rule.
    pub const fn unless(mut self, none: &'static [&'static str]) -> Self {
        self.none = none;
        self
    }

    /// Builder-style: severity.
    pub const fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    /// Builder-style: fact extraction.
    pub const fn extract(mut self, x: &'static Extractor) -> Self {
        self.extract = Some(x);
        self
    }
}

const WORDS: usize = 12;

/// Which phrases occur in a message (up to 768 distinct phrases).
#[derive(Clone, Copy, Default)]
pub struct Hits([u64; WORDS]);

impl Hits {
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn has(&self, i: u16) -> bool {
        let i = i as usize;
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    /// Whether a phrase of `other` occurred.
    fn meets(&self, other: &Hits) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }

    /// No phrase occurred.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

/// Extraction keys the scan locates (see [`crate::perception::extract`]).
const MAX_KEYS: usize = 40;
/// 64-bit words of rule bits: at most 128 rules.
const RULE_WORDS: usize = 2;
/// Extraction keys of one rule.
const MAX_RULE_KEYS: usize = 16;

/// What one scan found: the phrases, and where each extraction key first ends.
pub struct Scan {
    /// Phrases on word boundaries.
    pub hits: Hits,
    key_end: [u16; MAX_KEYS],
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            hits: Hits::default(),
            key_end: [0; MAX_KEYS],
        }
    }
}

impl Scan {
    /// Where the structured readers' markers first occur in the scanned
    /// `text`. Positions past `u16::MAX` are not kept, so a longer text
    /// leaves every reader to search it whole.
    pub fn marks(&self, text: &str) -> Marks {
        if text.len() > usize::from(u16::MAX) {
            return Marks::EVERYWHERE;
        }
        let mut first = [None; 4];
        for (slot, (m, f)) in MARKERS.iter().zip(&mut first).enumerate() {
            let end = usize::from(self.key_end[slot]);
            *f = (end != 0).then(|| end - m.len());
        }
        Marks::new(first)
    }
}

/// A rule as phrase ids, while the set is built.
struct Compiled {
    groups: Vec<Vec<u16>>,
    none: Vec<u16>,
    /// Global key slot of each of the rule's extraction keys (flattened).
    key_slots: Vec<u16>,
}

/// What an automaton pattern stands for.
#[derive(Clone, Copy)]
enum Pat {
    /// A rule phrase: its id, and whether it matches any word it starts.
    Phrase(u16, bool),
    /// An extraction key (matched anywhere, no word bounds): its slot.
    Key(u16),
}

/// All rules of all platforms, compiled.
pub struct RuleSet {
    table: Table,
    /// What each pattern of the automaton stands for.
    patterns: Vec<Pat>,
    rules: Vec<Rule>,
    /// Per rule, the global key slot of each of its extraction keys.
    key_slots: Vec<Vec<u16>>,
    /// For each phrase id, the rules whose first group has it, as bits.
    triggers: Vec<[u64; RULE_WORDS]>,
    /// Every rule's remaining test in one array, so trying a rule reads
    /// one short run instead of chasing a vector per group: rule `ri`'s
    /// groups after the first stand at `tests[test_at[ri][0]..test_at[ri][1]]`, each
    /// as its length then its phrase ids, and its vetoes at
    /// `tests[test_at[ri][1]..test_at[ri][2]]`.
    tests: Vec<u16>,
    test_at: Vec<[u32; 3]>,
    /// The phrases of [`SUCCESS`] and of [`FAILURE_WORDS`], as bits.
    success: Hits,
    failure_words: Hits,
    phrase_count: usize,
}

/// A message reporting success: never a failure unless a failure word is there too.
const SUCCESS: &[&str] = &[
    "succeeded",
    "success",
    "successful",
    "successfully",
    "confirmed",
    "completed",
    "settled",
    "approved",
];

/// Words that make a message a failure report even when it also says "success".
const FAILURE_WORDS: &[&str] = &[
    "fail*",
    "error*",
    "revert*",
    "denied",
    "declin*",
    "insufficient",
    "expir*",
    "invalid",
    "reject*",
    "unable",
    "cannot",
    "can't",
    "could not",
    "not",
    "exceed*",
    "mismatch*",
    "timeout",
    "timed out",
    "unavailable",
    "blocked",
    "paused",
    "forbid*",
    "stuck",
    "unsupported",
    "refused",
    "but",
    "however",
    "although",
    "closed before",
];

impl RuleSet {
    /// Compiles rules (earlier rules win).
    ///
    /// # Panics
    ///
    /// At construction only, on a rule table with more than 768 distinct
    /// phrases, more than 128 rules, 36 extraction keys (16 for one rule) or an empty
    /// phrase: a programming error in a built-in table, caught by the
    /// crate's tests.
    pub fn new(rules: Vec<Rule>) -> Self {
        let mut phrases: Vec<&'static str> = Vec::new();
        let mut id_of = |p: &'static str| -> u16 {
            assert!(!p.is_empty() && p != "*", "empty phrase");
            match phrases.iter().position(|q| q.eq_ignore_ascii_case(p)) {
                Some(i) => i as u16,
                None => {
                    assert!(phrases.len() < WORDS * 64, "too many phrases");
                    phrases.push(p);
                    (phrases.len() - 1) as u16
                }
            }
        };
        // The structured readers' markers take the first key slots.
        let mut keys: Vec<&'static str> = MARKERS.to_vec();
        let compiled: Vec<Compiled> = rules
            .iter()
            .map(|r| Compiled {
                groups: r
                    .all
                    .iter()
                    .map(|g| g.iter().map(|p| id_of(p)).collect())
                    .collect(),
                none: r.none.iter().map(|p| id_of(p)).collect(),
                key_slots: r
                    .extract
                    .iter()
                    .flat_map(|x| x.keys.iter().flat_map(|g| g.iter()))
                    .map(|k| {
                        let slot = match keys.iter().position(|q| q.eq_ignore_ascii_case(k)) {
                            Some(i) => i,
                            None => {
                                keys.push(k);
                                keys.len() - 1
                            }
                        };
                        slot as u16
                    })
                    .collect(),
            })
            .collect();
        assert!(keys.len() <= MAX_KEYS, "too many extraction keys");
        assert!(
            compiled.iter().all(|c| c.key_slots.len() <= MAX_RULE_KEYS),
            "a rule with too many extraction keys"
        );
        let mut success = Hits::default();
        for p in SUCCESS {
            success.set(usize::from(id_of(p)));
        }
        let mut failure_words = Hits::default();
        for p in FAILURE_WORDS {
            failure_words.set(usize::from(id_of(p)));
        }
        assert!(phrases.len() <= WORDS * 64, "too many phrases");

        assert!(compiled.len() <= RULE_WORDS * 64, "too many rules");
        let mut triggers = vec![[0u64; RULE_WORDS]; phrases.len()];
        for (ri, c) in compiled.iter().enumerate() {
            if let Some(first) = c.groups.first() {
                for &p in first {
                    triggers[p as usize][ri / 64] |= 1 << (ri % 64);
                }
            }
        }
        let mut tests: Vec<u16> = Vec::new();
        let mut test_at = Vec::with_capacity(compiled.len());
        for c in &compiled {
            let from = tests.len() as u32;
            // The first group is what put the rule among the candidates.
            for g in c.groups.iter().skip(1) {
                tests.push(u16::try_from(g.len()).expect("a group of fewer than 65,536 phrases"));
                tests.extend(g);
            }
            let vetoes = tests.len() as u32;
            tests.extend(&c.none);
            test_at.push([from, vetoes, tests.len() as u32]);
        }
        let patterns: Vec<Pat> = phrases
            .iter()
            .enumerate()
            .map(|(i, p)| Pat::Phrase(i as u16, p.ends_with('*')))
            .chain((0..keys.len()).map(|i| Pat::Key(i as u16)))
            .collect();
        let needles: Vec<&str> = phrases
            .iter()
            .map(|p| p.trim_end_matches('*'))
            .chain(keys.iter().copied())
            .collect();
        // A full DFA (built once), copied into a flat table walked byte by
        // byte in `scan`: the fastest overlapping search per message.
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(aho_corasick::StartKind::Unanchored)
            .prefilter(false)
            .build(&needles)
            .expect("phrase automaton builds");
        RuleSet {
            table: Table::new(&dfa, &needles),
            patterns,
            rules,
            key_slots: compiled.into_iter().map(|c| c.key_slots).collect(),
            triggers,
            tests,
            test_at,
            success,
            failure_words,
            phrase_count: phrases.len(),
        }
    }

    /// Distinct phrases in the automaton (at most 64 x `WORDS`).
    pub fn phrase_count(&self) -> usize {
        self.phrase_count
    }

    /// Which phrases occur in `text`, on word boundaries.
    pub fn scan(&self, text: &str) -> Hits {
        self.scan_all(text).hits
    }

    /// The phrases of `text` and where its extraction keys end.
    ///
    /// The automaton is walked directly: one table lookup a byte, and work
    /// only in match states, where every pattern ending at that byte is
    /// listed (standard semantics), so overlapping phrases are all seen.
    pub fn scan_all(&self, text: &str) -> Scan {
        let mut out = Scan::default();
        self.scan_into(text, &mut out);
        out
    }

    /// [`Self::scan_all`] into a scan the caller holds (empty), so the
    /// result is not copied on its way out.
    pub fn scan_into(&self, text: &str, out: &mut Scan) {
        let bytes = text.as_bytes();
        self.table.walk(bytes, |end, endings| {
            let end_is_boundary = bytes.get(end).is_none_or(|&c| !is_word(c));
            for e in endings {
                match self.patterns[e.pattern as usize] {
                    Pat::Phrase(id, prefix) => {
                        let start = end - e.len as usize;
                        let start_ok = start == 0 || !is_word(bytes[start - 1]);
                        if start_ok && (prefix || end_is_boundary) {
                            out.hits.set(id as usize);
                        }
                    }
                    // The walk reports matches out of order: keep the
                    // earliest. Messages are bounded far below u16::MAX; a
                    // longer text's later keys are simply not located.
                    Pat::Key(slot) => {
                        let k = &mut out.key_end[slot as usize];
                        if let Ok(e) = u16::try_from(end)
                            && (*k == 0 || e < *k)
                        {
                            *k = e;
                        }
                    }
                }
            }
        });
    }

    /// Runs rule `ri`'s extraction (if any) with the key positions of `scan`.
    pub fn extract(&self, ri: usize, text: &str, scan: &Scan, facts: &mut helix_core::Facts) {
        let Some(x) = self.rules.get(ri).and_then(|r| r.extract) else {
            return;
        };
        let mut ends = [None; MAX_RULE_KEYS];
        let slots = &self.key_slots[ri];
        for (j, &slot) in slots.iter().enumerate() {
            let e = scan.key_end[slot as usize];
            ends[j] = (e != 0).then_some(e);
        }
        let n = slots.len();
        (x.run)(&Located::new(text, x.keys, &ends[..n]), facts);
    }

    /// Whether the message reports success and nothing that reads as failure.
    pub fn reports_success(&self, hits: &Hits) -> bool {
        hits.meets(&self.success) && !hits.meets(&self.failure_words)
    }

    /// The first rule (in table order) that the hits satisfy.
    pub fn first_match(&self, hits: &Hits) -> Option<&Rule> {
        self.first_match_at(hits).map(|i| &self.rules[i])
    }

    /// The index of the first rule (in table order) that the hits satisfy.
    pub fn first_match_at(&self, hits: &Hits) -> Option<usize> {
        // Only rules whose first group was hit can match: gather them as a
        // bit set, then try them in order.
        let mut maybe = [0u64; RULE_WORDS];
        for (w, &word) in hits.0.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let pid = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(t) = self.triggers.get(pid) {
                    for (m, t) in maybe.iter_mut().zip(t) {
                        *m |= t;
                    }
                }
            }
        }
        for (w, &word) in maybe.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let ri = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if self.satisfied(ri, hits) {
                    return Some(ri);
                }
            }
        }
        None
    }

    /// Whether candidate rule `ri` (its first group hit) holds.
    fn satisfied(&self, ri: usize, hits: &Hits) -> bool {
        let [from, vetoes, to] = self.test_at[ri];
        let (groups, vetoes) = (
            &self.tests[from as usize..vetoes as usize],
            &self.tests[vetoes as usize..to as usize],
        );
        let mut rest = groups;
        while let Some((&n, tail)) = rest.split_first() {
            let (group, after) = tail.split_at(usize::from(n));
            if !group.iter().any(|&p| hits.has(p)) {
                return false;
            }
            rest = after;
        }
        !vetoes.iter().any(|&p| hits.has(p))
    }

    /// Every rule, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

fn is_word(b: u8) -> bool {
    WORD[b as usize]
}

/// Word bytes (ASCII letters, digits, `_`) as a table: one load instead of
/// three range tests, on every match the scan reports.
const WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    const R: &[Rule] = &[
        Rule {
            name: "server",
            code: FailureCode::ServerError,
            category: Category::Service,
            severity: Severity::Medium,
            platform: Platform::Http,
            all: &[&["500"], &["internal server error", "http"]],
            none: &[],
            extract: None,
        },
        Rule {
            name: "expired",
            code: FailureCode::PaymentExpired,
            category: Category::Session,
            severity: Severity::Medium,
            platform: Platform::Tempo,
            all: &[&["expir*"]],
            none: &["card"],
            extract: None,
        },
    ];

    #[test]
    fn phrases_match_whole_words_only() {
        let rs = RuleSet::new(R.to_vec());
        let m = |t: &str| rs.first_match(&rs.scan(t)).map(|r| r.name);
        assert_eq!(m("HTTP 500 from upstream"), Some("server"));
        assert_eq!(m("Requested: 2500 USDC over http"), None);
        assert_eq!(m("limit is 500 USDC"), None);
        assert_eq!(m("the challenge EXPIRED"), Some("expired"));
        assert_eq!(m("the challenge expiry passed"), Some("expired"));
        assert_eq!(m("unexpired"), None);
        assert_eq!(m("your card expired"), None, "vetoed");
    }

    #[test]
    fn success_reports_are_recognised() {
        let rs = RuleSet::new(R.to_vec());
        assert!(rs.reports_success(&rs.scan("Payment succeeded, tx confirmed")));
        assert!(!rs.reports_success(&rs.scan("payment succeeded but delivery failed")));
        assert!(!rs.reports_success(&rs.scan("not successful")));
    }
}

#[cfg(test)]
mod located {
    use crate::perception::extract::Located;
    use helix_core::Facts;

    /// Facts read at the positions the scan found equal facts read by
    /// searching the message, for every rule that extracts and messages
    /// that put its keys in different places, cases and repeats.
    #[test]
    fn located_extraction_equals_searching() {
        let c = crate::builtin();
        let rs = c.rules();
        let texts = [
            "nonce too low: next nonce 7, tx nonce 3",
            "Nonce too high. Expected nonce to be 12 but got 9; expected 12",
            "wallet internal nonce=47 but CHAIN NONCE=45",
            "insufficient balance: have 100 want 250",
            "Balance 1,000.5 available 3 required 2.25 requested 9",
            "batch call 2 reverted: execution reverted",
            "call index 4 failed, call 1 ok",
            "chain id mismatch: expected 42431, got 1 (chainId: 42431)",
            "limits single transfer to 500 USDC. Requested: 2,500.25 USDC",
            "max 10 maximum 20 limit is 30 amount: 7",
            "nothing numeric here: next nonce, have, want",
        ];
        let mut checked = 0;
        for (ri, r) in rs.rules().iter().enumerate() {
            let Some(x) = r.extract else { continue };
            for t in texts {
                let scan = rs.scan_all(t);
                let mut located = Facts::default();
                rs.extract(ri, t, &scan, &mut located);
                let mut searched = Facts::default();
                (x.run)(&Located::unscanned(t), &mut searched);
                assert_eq!(
                    serde_json::to_value(&located).unwrap(),
                    serde_json::to_value(&searched).unwrap(),
                    "rule {} on {t:?}",
                    r.name
                );
                checked += 1;
            }
        }
        assert!(checked > 50, "{checked}");
    }
}
